package materializer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// keptInsert runs one statement as a kept capture the way the frontend
// does: append, wait for durability, settle, wait for the view.
func keptInsert(ctx context.Context, l *txlog.Log, d *DB, q string) (*marmotv1.ChangeSet, error) {
	return insertAs(ctx, l, d, q, true)
}

// insertAs runs one statement as a kept capture (keep) or an ordinary
// one. Either way the change set is appended holding the writer, as the
// frontend does: an append outside it could land between a kept group's
// members, which the group's watermark would then claim.
func insertAs(ctx context.Context, l *txlog.Log, d *DB, q string, keep bool) (*marmotv1.ChangeSet, error) {
	var t *Txn
	err := ErrNotKept
	if keep {
		t, err = d.BeginKept(ctx)
	}
	if errors.Is(err, ErrNotKept) {
		// The view lags an ordinary commit: run as the frontend would.
		if t, err = d.Begin(ctx, false); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, err
	}
	if _, err := t.Conn().ExecContext(ctx, q); err != nil {
		_ = t.Rollback()
		return nil, err
	}
	var a *txlog.Appending
	cs, err := t.Finish(ctx, func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error {
		if len(cs.Rows) == 0 {
			return nil
		}
		var err error
		a, err = l.Append(cs, seen)
		return err
	})
	if err != nil || a == nil {
		return cs, err
	}
	err = a.Wait(ctx)
	t.Settle()
	if err != nil {
		return cs, err
	}
	return cs, d.WaitApplied(ctx, cs.Origin, cs.Seq)
}

func TestKeptCapturesConcurrent(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	ctx := context.Background()
	const workers, each = 8, 50
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := w*1000 + i
				if _, err := keptInsert(ctx, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, 'x')", id)); err != nil {
					errs <- err
					return
				}
				// Read your write: the row is in the view when OK is due.
				if got := dump(t, d, fmt.Sprintf("SELECT count(*) FROM t WHERE id = %d", id)); got != "1;" {
					errs <- fmt.Errorf("row %d not visible after its commit", id)
					return
				}
				// A failing statement in the group leaves the others alone.
				if _, err := keptInsert(ctx, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, NULL)", id+500)); err == nil {
					errs <- fmt.Errorf("NULL into NOT NULL accepted")
					return
				}
			}
		}()
	}
	// Ordinary captures and DDL-free appliers interleave with the groups.
	for i := range 20 {
		if _, err := insertAs(ctx, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, 'plain')", 90000+i), false); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := dump(t, d, "SELECT count(*) FROM t"); got != fmt.Sprintf("%d;", workers*each+20) {
		t.Fatalf("rows %s, want %d", got, workers*each+20)
	}
	// The file's watermark equals the log's: nothing left for the applier,
	// nothing claimed that the log lacks.
	durable := l.Durable()
	if got := dump(t, d, "SELECT seq FROM __marmot_applied WHERE origin = 1"); got != fmt.Sprintf("%d;", durable[1]) {
		t.Fatalf("file watermark %s, log durable %d", got, durable[1])
	}
}

// TestKeptGroupSurvivesRestart: change sets of a group that never
// committed (the process stopped first) are applied from the log at the
// next start.
func TestKeptGroupSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	l, m := mustOpen(t, dir)
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	ctx := context.Background()
	keptDurable(t, l, d, "INSERT INTO t VALUES (7)")
	// Lose the open group as a crash would: roll it back behind the
	// materializer's back (not through lockAs, which would commit it),
	// then restart.
	if err := d.wl.lock(ctx, nil, true); err != nil {
		t.Fatal(err)
	}
	if d.group == nil {
		d.wl.unlock()
		t.Fatal("no open group after the capture")
	}
	_, err := d.wconn.ExecContext(ctx, "ROLLBACK")
	d.group = nil
	d.wl.unlock()
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	l.Close()
	_, m2 := mustOpen(t, dir)
	d2, err := m2.DB("app")
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(t, d2, "SELECT id FROM t"); got != "7;" {
		t.Fatalf("after restart: %q, want the durable row", got)
	}
}

// TestKeptOrphanGroupCommits: a capture that is not its group's closer
// commits the group itself when nobody else does (the waiter that made it
// step aside gave up).
func TestKeptOrphanGroupCommits(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	ctx := context.Background()
	tx, cs := keptDurable(t, l, d, "INSERT INTO t VALUES (1)")
	tx.closer = false // as if a waiter had been queued at its release
	tx.Settle()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := d.WaitApplied(wctx, cs.Origin, cs.Seq); err != nil {
		t.Fatalf("orphaned group never committed: %v", err)
	}
	if got := dump(t, d, "SELECT id FROM t"); got != "1;" {
		t.Fatalf("rows %q", got)
	}
}

// keptDurable runs q as a kept capture up to its change set being durable,
// without settling its group.
func keptDurable(t *testing.T, l *txlog.Log, d *DB, q string) (*Txn, *marmotv1.ChangeSet) {
	t.Helper()
	tx, cs, a := keptAppend(t, d, q, l.Append)
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tx, cs
}

// keptAppend runs q as a kept capture appended by appendFn
// (txlog.Log.Append or AppendDeferred) and returns once the writer is
// released.
func keptAppend(t *testing.T, d *DB, q string, appendFn func(*marmotv1.ChangeSet, txlog.Watermark) (*txlog.Appending, error)) (*Txn, *marmotv1.ChangeSet, *txlog.Appending) {
	t.Helper()
	ctx := context.Background()
	tx, err := d.BeginKept(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Conn().ExecContext(ctx, q); err != nil {
		t.Fatal(err)
	}
	var a *txlog.Appending
	cs, err := tx.Finish(ctx, func(cs *marmotv1.ChangeSet, seen txlog.Watermark) (err error) {
		a, err = appendFn(cs, seen)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tx, cs, a
}

func TestKeptFlushDue(t *testing.T) {
	cases := []struct {
		name   string
		recent [2]int
		n      int
		sealed bool
		want   bool
	}{
		{"first group", [2]int{0, 0}, 1, false, true},
		{"single session", [2]int{1, 1}, 1, false, true},
		{"smaller than both recent groups", [2]int{15, 16}, 9, false, false},
		{"as large as the smaller recent group", [2]int{15, 16}, 15, false, true},
		{"recent groups shrank", [2]int{16, 4}, 4, false, true},
		{"sealed", [2]int{16, 16}, 3, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := &DB{keptSizes: c.recent}
			if got := d.keptFlushDue(&keptGroup{n: c.n, sealed: c.sealed}); got != c.want {
				t.Fatalf("keptFlushDue = %v, want %v", got, c.want)
			}
		})
	}
}

// TestKeptCloserWaitsForExpectedMembers: a closer whose group is smaller
// than the recent ones leaves its entry deferred, so the member that
// completes the group starts the group's one fsync; a group that never
// fills still commits, within the log's DeferMax.
func TestKeptCloserWaitsForExpectedMembers(t *testing.T) {
	ctx := context.Background()
	open := func(t *testing.T, deferMax time.Duration) (*txlog.Log, *DB) {
		dir := t.TempDir()
		l, err := txlog.Open(txlog.Options{Dir: dir + "/log", NodeID: 1, DeferMax: deferMax})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Open(ctx, Options{Dir: dir + "/db", Log: l})
		if err != nil {
			l.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close(); l.Close() })
		return l, createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	}
	durableWithin := func(l *txlog.Log, seq uint64, wait time.Duration) bool {
		for deadline := time.Now().Add(wait); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if l.Durable().Covers(1, seq) {
				return true
			}
		}
		return l.Durable().Covers(1, seq)
	}

	t.Run("the member completing the group flushes", func(t *testing.T) {
		l, d := open(t, time.Hour)
		d.keptSizes = [2]int{2, 2}
		tx1, cs1, a1 := keptAppend(t, d, "INSERT INTO t VALUES (1)", l.AppendDeferred)
		if !tx1.closer {
			t.Fatal("the capture that found nobody waiting is not its group's closer")
		}
		if durableWithin(l, cs1.Seq, 200*time.Millisecond) {
			t.Fatal("a group smaller than the recent ones started its fsync")
		}
		tx2, cs2, a2 := keptAppend(t, d, "INSERT INTO t VALUES (2)", l.AppendDeferred)
		for _, a := range []*txlog.Appending{a1, a2} {
			if err := a.Wait(ctx); err != nil {
				t.Fatal(err)
			}
		}
		tx1.Settle()
		tx2.Settle()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := d.WaitApplied(wctx, 1, cs2.Seq); err != nil {
			t.Fatal(err)
		}
		if d.keptSizes[1] != 2 {
			t.Fatalf("the group committed %d captures, want 2", d.keptSizes[1])
		}
	})
	t.Run("a group that never fills commits within DeferMax", func(t *testing.T) {
		l, d := open(t, 20*time.Millisecond)
		d.keptSizes = [2]int{16, 16}
		tx, cs, a := keptAppend(t, d, "INSERT INTO t VALUES (1)", l.AppendDeferred)
		if err := a.Wait(ctx); err != nil {
			t.Fatal(err)
		}
		tx.Settle()
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := d.WaitApplied(wctx, 1, cs.Seq); err != nil {
			t.Fatal(err)
		}
		if got := dump(t, d, "SELECT id FROM t"); got != "1;" {
			t.Fatalf("rows %q", got)
		}
	})
}
