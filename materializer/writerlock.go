package materializer

import (
	"context"
	"sync"
)

// writerLock guards a database's writer connection. Appliers go first: a
// client's commit is acknowledged only after the applier has made the view
// include it, so an applier queued behind every waiting capture would make
// every client wait for all the others. Waiters queue in arrival order and
// the lock is handed to the next one directly: a release wakes one
// goroutine, not every waiting session (on two cores a wake-all herd of
// sixteen sessions per commit cost more than the commits). Safe for
// concurrent use.
type writerLock struct {
	mu      sync.Mutex
	held    bool
	urgentQ []*lockWaiter // appliers waiting
	normalQ []*lockWaiter // captures waiting
}

type lockWaiter struct {
	ch      chan struct{} // closed when the lock is handed over
	granted bool          // guarded by writerLock.mu
}

func newWriterLock() *writerLock { return &writerLock{} }

// lock waits for the writer until ctx ends or stop closes (nil: never).
// urgent callers (the applier) overtake non-urgent ones.
func (w *writerLock) lock(ctx context.Context, stop <-chan struct{}, urgent bool) error {
	w.mu.Lock()
	if !w.held && len(w.urgentQ) == 0 && len(w.normalQ) == 0 {
		w.held = true
		w.mu.Unlock()
		return nil
	}
	me := &lockWaiter{ch: make(chan struct{})}
	if urgent {
		w.urgentQ = append(w.urgentQ, me)
	} else {
		w.normalQ = append(w.normalQ, me)
	}
	w.mu.Unlock()
	var err error
	select {
	case <-me.ch:
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-stop:
		err = errStopped
	}
	w.mu.Lock()
	if me.granted {
		// Handed over while giving up: pass it on.
		w.handOffLocked()
	} else if urgent {
		w.urgentQ = remove(w.urgentQ, me)
	} else {
		w.normalQ = remove(w.normalQ, me)
	}
	w.mu.Unlock()
	return err
}

func (w *writerLock) unlock() {
	w.mu.Lock()
	w.handOffLocked()
	w.mu.Unlock()
}

// handOffLocked gives the held lock to the first waiter (appliers first),
// or frees it.
func (w *writerLock) handOffLocked() {
	var next *lockWaiter
	switch {
	case len(w.urgentQ) > 0:
		next, w.urgentQ = w.urgentQ[0], w.urgentQ[1:]
	case len(w.normalQ) > 0:
		next, w.normalQ = w.normalQ[0], w.normalQ[1:]
	default:
		w.held = false
		return
	}
	next.granted = true
	close(next.ch)
}

func remove(q []*lockWaiter, me *lockWaiter) []*lockWaiter {
	for i, x := range q {
		if x == me {
			return append(q[:i], q[i+1:]...)
		}
	}
	return q
}

// waiting reports whether a capture is queued for the lock.
func (w *writerLock) waiting() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.normalQ) > 0
}
