package materializer

import (
	"context"
	"testing"
)

// TestDropMissing: after a snapshot that lacks a database, the view goes
// if the local log holds nothing of it beyond the snapshot's position, and
// stays if it does (newer history than the snapshot).
func TestDropMissing(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	createDB(t, l, m, "old", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	at := l.Durable()
	createDB(t, l, m, "fresh", "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	ctx := context.Background()
	if dropped, err := m.DropMissing(ctx, "fresh", at); err != nil || dropped {
		t.Fatalf("DropMissing(fresh) = %v, %v: its history is newer than the snapshot", dropped, err)
	}
	if dropped, err := m.DropMissing(ctx, "old", at); err != nil || !dropped {
		t.Fatalf("DropMissing(old) = %v, %v", dropped, err)
	}
	if _, err := m.DB("old"); err == nil {
		t.Fatal("old still served after DropMissing")
	}
	if _, err := m.DB("fresh"); err != nil {
		t.Fatal(err)
	}
}
