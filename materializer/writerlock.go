package materializer

import (
	"context"
	"sync"
)

// writerLock guards a database's writer connection. Appliers go first: a
// client's commit is acknowledged only after the applier has made the view
// include it, so an applier queued behind every waiting capture would make
// every client wait for all the others. Safe for concurrent use.
type writerLock struct {
	mu     sync.Mutex
	held   bool
	urgent int           // appliers waiting
	wake   chan struct{} // closed and replaced on every release
}

func newWriterLock() *writerLock { return &writerLock{wake: make(chan struct{})} }

// lock waits for the writer until ctx ends or stop closes (nil: never).
// urgent callers (the applier) overtake non-urgent ones.
func (w *writerLock) lock(ctx context.Context, stop <-chan struct{}, urgent bool) error {
	w.mu.Lock()
	if urgent {
		w.urgent++
	}
	for w.held || (!urgent && w.urgent > 0) {
		ch := w.wake
		w.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		case <-stop:
			err = errStopped
		}
		w.mu.Lock()
		if err != nil {
			if urgent {
				w.urgent--
				w.broadcastLocked() // captures held back for us may go
			}
			w.mu.Unlock()
			return err
		}
	}
	w.held = true
	if urgent {
		w.urgent--
	}
	w.mu.Unlock()
	return nil
}

func (w *writerLock) unlock() {
	w.mu.Lock()
	w.held = false
	w.broadcastLocked()
	w.mu.Unlock()
}

func (w *writerLock) broadcastLocked() {
	close(w.wake)
	w.wake = make(chan struct{})
}
