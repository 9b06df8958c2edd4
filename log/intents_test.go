package log

import (
	"errors"
	"testing"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func intentRow(cs *marmotv1.ChangeSet, expected *Version) []IntentRow {
	return []IntentRow{{Table: cs.Rows[0].Table, PK: cs.Rows[0].Pk, Expected: expected}}
}

// TestIntents: a prepared transaction's rows refuse other prepares and
// appends until it commits, aborts or expires; a stale read refuses.
func TestIntents(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	base := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)
	v1, _, err := l.RowVersion("db", "t", base.Rows[0].Pk)
	if err != nil {
		t.Fatal(err)
	}
	stale := Version{HLC: Timestamp{WallMS: 1, Node: 9}, Seq: 1}
	isIntent := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && ce.Intent }
	isStale := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && !ce.Intent }

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"fresh read prepares", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(cs.Id, "db", intentRow(cs, &v1), false, time.Minute); err != nil {
				t.Fatal(err)
			}
			l.Release(cs.Id)
		}},
		{"stale read refused", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(cs.Id, "db", intentRow(cs, &stale), false, time.Minute); !isStale(err) {
				t.Fatalf("want stale conflict, got %v", err)
			}
			if err := l.Prepare(cs.Id, "db", intentRow(cs, nil), false, time.Minute); !isStale(err) {
				t.Fatalf("row had a version the txn did not see: want conflict, got %v", err)
			}
		}},
		{"held row refuses prepare and append", func(t *testing.T) {
			a, b := rowCS("db", 1, marmotv1.Op_OP_UPDATE), rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(a.Id, "db", intentRow(a, &v1), false, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := l.Prepare(b.Id, "db", intentRow(b, &v1), false, time.Minute); !isIntent(err) {
				t.Fatalf("want intent conflict, got %v", err)
			}
			if _, err := l.Append(b, Watermark{1: 100}); !isIntent(err) {
				t.Fatalf("append over an intent: want intent conflict, got %v", err)
			}
			l.Release(a.Id)
			if err := l.Prepare(a.Id, "db", intentRow(a, &v1), false, time.Minute); !errors.Is(err, ErrFinished) {
				t.Fatalf("prepare after release: want ErrFinished, got %v", err)
			}
			if err := l.Prepare(b.Id, "db", intentRow(b, &v1), false, time.Minute); err != nil {
				t.Fatalf("after release: %v", err)
			}
			l.Release(b.Id)
		}},
		{"expired intent yields", func(t *testing.T) {
			a, b := rowCS("db", 1, marmotv1.Op_OP_UPDATE), rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(a.Id, "db", intentRow(a, &v1), false, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				err := l.Prepare(b.Id, "db", intentRow(b, &v1), false, time.Minute)
				if err == nil {
					break
				}
				if !isIntent(err) || time.Now().After(deadline) {
					t.Fatalf("expired intent still blocks: %v", err)
				}
			}
			l.Release(b.Id)
		}},
		{"ddl lock is exclusive", func(t *testing.T) {
			a, b := rowCS("db", 2, marmotv1.Op_OP_INSERT), rowCS("db", 3, marmotv1.Op_OP_INSERT)
			if err := l.Prepare(a.Id, "db", nil, true, time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := l.Prepare(b.Id, "other", nil, true, time.Minute); !isIntent(err) {
				t.Fatalf("second DDL lock: want intent conflict, got %v", err)
			}
			l.Release(a.Id)
		}},
		{"local prepare then append releases", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			rows, err := l.PrepareLocal(cs, l.Durable(), false, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if rows[0].Expected == nil || *rows[0].Expected != v1 {
				t.Fatalf("expected version %+v, want %+v", rows[0].Expected, v1)
			}
			if l.Intents() != 1 {
				t.Fatalf("intents = %d, want 1", l.Intents())
			}
			a, err := l.Append(cs, l.Durable())
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if l.Intents() != 0 {
				t.Fatalf("intents after append = %d, want 0", l.Intents())
			}
			v, _, _ := l.RowVersion("db", "t", cs.Rows[0].Pk)
			v1 = v
		}},
		{"local prepare on a stale view conflicts", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if _, err := l.PrepareLocal(cs, Watermark{}, false, time.Minute); !isStale(err) {
				t.Fatalf("want stale conflict, got %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestParseConsistency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Consistency
		ok   bool
	}{{"ONE", One, true}, {"quorum", Quorum, true}, {"All", All, true}, {"two", 0, false}, {"", 0, false}} {
		got, err := ParseConsistency(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseConsistency(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestUncleanStart: a log reopened after Close starts clean; one that was
// never closed (a crash) says so, so the node waits out lost intents.
func TestUncleanStart(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.UncleanStart() {
		t.Fatal("fresh log reports an unclean start")
	}
	l.Close()
	l, err = Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.UncleanStart() {
		t.Fatal("log closed cleanly reports an unclean start")
	}
	// Simulate a crash: the Pebble handle is closed without Log.Close.
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	l.db.Close()
	l, err = Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.UncleanStart() {
		t.Fatal("crashed log reports a clean start")
	}
}
