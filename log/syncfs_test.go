package log

import (
	"context"
	"sync"
	"testing"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// TestBeforeSyncStallsCommit: with the test hook holding every fsync, a
// commit does not return (its commit point is the WAL fsync); released, it
// returns and the change set is durable. This is the fault suite's
// stall-fsync nemesis on one log.
func TestBeforeSyncStallsCommit(t *testing.T) {
	var mu sync.Mutex
	stalled := false
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	l := mustOpen(t, Options{NodeID: 1, BeforeSync: func() {
		mu.Lock()
		s := stalled
		mu.Unlock()
		if !s {
			return
		}
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}})
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil) // unhooked: syncs pass

	mu.Lock()
	stalled = true
	mu.Unlock()
	done := make(chan error, 1)
	cs := rowCS("db", 2, marmotv1.Op_OP_INSERT)
	go func() { done <- l.Commit(context.Background(), cs, nil) }()
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("commit returned (%v) without its fsync", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no fsync reached the hook within 10 s")
	}
	select {
	case err := <-done:
		t.Fatalf("commit returned (%v) while its fsync is stalled", err)
	default:
	}
	if got := len(scanAll(t, l)); got != 1 {
		t.Fatalf("%d change sets readable while the second one's fsync is stalled, want 1", got)
	}
	mu.Lock()
	stalled = false
	mu.Unlock()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("commit after the stall: %v", err)
	}
	if got := len(scanAll(t, l)); got != 2 {
		t.Fatalf("%d change sets after the stall, want 2", got)
	}
}
