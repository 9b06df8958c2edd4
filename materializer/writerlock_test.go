package materializer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestWriterLockApplierFirst: with the lock held and a capture waiting, an
// applier that arrives later gets the lock first.
func TestWriterLockApplierFirst(t *testing.T) {
	w := newWriterLock()
	ctx := context.Background()
	if err := w.lock(ctx, nil, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 2)
	captureWaiting := make(chan struct{})
	go func() {
		close(captureWaiting)
		_ = w.lock(ctx, nil, false)
		order <- "capture"
		w.unlock()
	}()
	<-captureWaiting
	applierQueued := make(chan struct{})
	go func() {
		w.mu.Lock()
		w.mu.Unlock()
		close(applierQueued)
		_ = w.lock(ctx, nil, true)
		order <- "applier"
		w.unlock()
	}()
	<-applierQueued
	// Wait until the applier is registered as waiting before releasing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		n := len(w.urgentQ)
		w.mu.Unlock()
		if n == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond) // polling a condition, not waiting for a result
	}
	w.unlock()
	if first := <-order; first != "applier" {
		t.Fatalf("%s got the lock first, want the applier", first)
	}
	<-order
}

func TestWriterLockGivesUp(t *testing.T) {
	w := newWriterLock()
	if err := w.lock(context.Background(), nil, false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := w.lock(ctx, nil, false); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: got %v", err)
	}
	stop := make(chan struct{})
	close(stop)
	if err := w.lock(context.Background(), stop, true); !errors.Is(err, errStopped) {
		t.Fatalf("stop: got %v", err)
	}
	// The abandoned urgent waiter must not keep captures out.
	w.unlock()
	ctx2, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := w.lock(ctx2, nil, false); err != nil {
		t.Fatalf("capture after an abandoned applier wait: %v", err)
	}
}
