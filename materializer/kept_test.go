package materializer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// keptInsert runs one statement as a kept capture the way the frontend
// does: append, wait for durability, settle; a kept capture is answered
// then, others once the view has them.
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
		t, err = d.BeginKept(ctx, false)
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
	t.Settle(err == nil)
	if err != nil || t.Kept() {
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
	if d.group.Load() == nil {
		d.wl.unlock()
		t.Fatal("no open group after the capture")
	}
	_, err := d.wconn.ExecContext(ctx, "ROLLBACK")
	d.group.Store(nil)
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

// keptAppend runs q as a kept capture appended by appendFn and returns
// once the writer is released.
func keptAppend(t *testing.T, d *DB, q string, appendFn func(*marmotv1.ChangeSet, txlog.Watermark) (*txlog.Appending, error)) (*Txn, *marmotv1.ChangeSet, *txlog.Appending) {
	t.Helper()
	ctx := context.Background()
	tx, err := d.BeginKept(ctx, false)
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

// openAckedGroup leaves d with an open kept group holding two durable
// change sets, the first of them acknowledged (Settle(true)) but not
// committed: its capture was the closer when it released the writer, but
// the second joined after, so only the second may commit the group, and
// the test never settles it. It returns the first change set.
func openAckedGroup(t *testing.T, l *txlog.Log, d *DB) *marmotv1.ChangeSet {
	t.Helper()
	var txs []*Txn
	var sets []*marmotv1.ChangeSet
	for i := range 2 {
		tx, cs := keptDurable(t, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, 'kept')", 100+i))
		txs, sets = append(txs, tx), append(sets, cs)
	}
	txs[0].Settle(true)
	// Settle set the linger timer: with a short keptLinger a stalled test
	// machine may already have let it commit the group.
	if keptLinger >= time.Minute && txs[0].kept.ended.Load() {
		t.Fatal("the group committed though its newest member has not settled")
	}
	return sets[0]
}

// fileRows counts t's rows as a process reading the file directly (the
// sqlite3 CLI, an application) sees them: without the materializer.
func fileRows(t *testing.T, d *DB) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+d.Path()+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(n)
}

// TestKeptAckedReadsCommitGroup: a kept capture is answered once durable,
// before its group commits in SQLite; every read through the view, and
// waiting for the change set to be applied, commits the group first, so
// nobody reads around an acknowledged write.
func TestKeptAckedReadsCommitGroup(t *testing.T) {
	linger := keptLinger
	keptLinger = time.Hour // only the read may commit the group
	defer func() { keptLinger = linger }()
	for _, how := range []string{"read", "wait applied", "session conn"} {
		t.Run(how, func(t *testing.T) {
			l, m := mustOpen(t, t.TempDir())
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
			cs := openAckedGroup(t, l, d)
			if got := fileRows(t, d); got != "0" {
				t.Fatalf("the file shows %s rows while the group is open", got)
			}
			ctx := context.Background()
			switch how {
			case "read":
				if got := dump(t, d, "SELECT count(*) FROM t"); got != "2;" {
					t.Fatalf("a read after the acknowledgement sees %s rows", got)
				}
			case "wait applied":
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				defer cancel()
				if err := d.WaitApplied(wctx, cs.Origin, cs.Seq); err != nil {
					t.Fatal(err)
				}
			case "session conn":
				sc, err := d.OpenSessionConn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer sc.Close()
				var n int
				if err := sc.Conn().QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 2 {
					t.Fatalf("a session connection sees %d rows (%v)", n, err)
				}
			}
			if got := fileRows(t, d); got != "2" {
				t.Fatalf("after the %s the file shows %s rows, want 2", how, got)
			}
		})
	}
}

// TestKeptAckedGroupLingers: an acknowledged group nobody commits (its
// newest member never settles, nobody reads) still reaches the file.
func TestKeptAckedGroupLingers(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	openAckedGroup(t, l, d)
	deadline := time.Now().Add(10 * time.Second)
	for fileRows(t, d) != "2" {
		if time.Now().After(deadline) {
			t.Fatal("an acknowledged kept group never committed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The WAL's growth, not the ticker, starts a checkpoint under a steady
// stream of commits.
func TestCheckpointOnWALGrowth(t *testing.T) {
	old := checkpointFrames
	checkpointFrames = 40
	defer func() { checkpointFrames = old }()
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
	ctx := context.Background()
	before := testutil.ToFloat64(metricCheckpoints)
	for i := range 100 {
		if _, err := keptInsert(ctx, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, 'x')", i)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(checkpointInterval / 2)
	for testutil.ToFloat64(metricCheckpoints) == before {
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after 100 commits (WAL at %d frames)", d.rcap.walFrames())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeptGroupPacing: a closer commits a group others joined only when
// pacing allows (keptPace, Options.ViewCommitDelay); until then outside
// readers of the file wait, readers through the view do not, and a timer
// commits the group once due. A closer alone in its group (a client
// writing alone) commits at once.
func TestKeptGroupPacing(t *testing.T) {
	cases := []struct {
		name    string
		delay   time.Duration
		pace    int
		members int // in the second group
		// then: what must happen after the second group's members settle.
		then string
	}{
		{"no delay: the closer commits", 0, keptPace, 2, "file now"},
		{"alone: committed at once", time.Hour, 1 << 30, 1, "file now"},
		{"light load: due within milliseconds", time.Hour, keptPace, 2, "file soon"},
		{"busy: a read commits it", time.Hour, 1 << 30, 2, "read"},
		{"busy: the timer commits it at the delay", 100 * time.Millisecond, 1 << 30, 2, "file soon"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, m := mustOpenWith(t, t.TempDir(), Options{ViewCommitDelay: c.delay})
			m.keptPace = c.pace
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
			// The first group commits at once: no commit was paced yet.
			if _, err := keptInsert(context.Background(), l, d, "INSERT INTO t VALUES (1, 'a')"); err != nil {
				t.Fatal(err)
			}
			if got := fileRows(t, d); got != "1" {
				t.Fatalf("after the first insert the file shows %s rows", got)
			}
			// The second group: its members all durable before any settles,
			// as when sessions join during a closer's fsync.
			var txs []*Txn
			for i := range c.members {
				tx, _ := keptDurable(t, l, d, fmt.Sprintf("INSERT INTO t VALUES (%d, 'b')", 2+i))
				txs = append(txs, tx)
			}
			for _, tx := range txs {
				tx.Settle(true)
			}
			want := fmt.Sprint(1 + c.members)
			switch c.then {
			case "file now":
				if got := fileRows(t, d); got != want {
					t.Fatalf("the file shows %s rows right after the second group settled, want %s", got, want)
				}
			case "read":
				if got := fileRows(t, d); got != "1" {
					t.Fatalf("the file shows %s rows though the group is not due", got)
				}
				if got := dump(t, d, "SELECT count(*) FROM t"); got != want+";" {
					t.Fatalf("a read through the view sees %s rows", got)
				}
				if got := fileRows(t, d); got != want {
					t.Fatalf("after the read the file shows %s rows", got)
				}
			case "file soon":
				deadline := time.Now().Add(10 * time.Second)
				for fileRows(t, d) != want {
					if time.Now().After(deadline) {
						t.Fatal("the group never reached the file")
					}
					time.Sleep(2 * time.Millisecond)
				}
			}
		})
	}
}

// TestKeptUndo: a kept capture that must leave no trace, with a savepoint
// (multi) or without one, takes only its own rows out of the group, or
// rolls the whole group back when it cannot; either way the group's
// earlier, durable member ends up in the view and nothing of the undone
// capture does.
func TestKeptUndo(t *testing.T) {
	linger := keptLinger
	keptLinger = time.Hour // only the test commits the group
	defer func() { keptLinger = linger }()
	refuse := errors.New("refused")
	cases := []struct {
		name  string
		multi bool
		stmts []string // the last may fail
		fails bool     // the last statement fails
		// appendErr: Finish's append fails (after the statements succeeded)
		appendErr error
		aborted   bool // the group is rolled back
	}{
		{name: "failed statement, no savepoint", stmts: []string{"INSERT INTO t VALUES (1, 'dup')"}, fails: true},
		{name: "failed second statement, savepoint", multi: true, stmts: []string{"INSERT INTO t VALUES (2, 'b')", "INSERT INTO t VALUES (3, NULL)"}, fails: true},
		{name: "no row changed, no savepoint", stmts: []string{"UPDATE t SET v = 'z' WHERE id = 99"}},
		{name: "no row changed, savepoint", multi: true, stmts: []string{"UPDATE t SET v = 'z' WHERE id = 99"}},
		{name: "append refused, no savepoint", stmts: []string{"INSERT INTO t VALUES (4, 'd')"}, appendErr: refuse, aborted: true},
		{name: "append refused, savepoint", multi: true, stmts: []string{"INSERT INTO t VALUES (4, 'd')"}, appendErr: refuse},
		// RAISE(ROLLBACK) ends SQLite's transaction, as an interrupt or a
		// full disk does: the group is gone with it.
		{name: "statement ends the transaction", stmts: []string{"INSERT INTO u VALUES (1)"}, fails: true, aborted: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, m := mustOpen(t, t.TempDir())
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`,
				`CREATE TABLE u (id INTEGER PRIMARY KEY)`,
				`CREATE TRIGGER u_refuses BEFORE INSERT ON u BEGIN SELECT RAISE(ROLLBACK, 'no'); END`)
			ctx := context.Background()
			first, firstCS := keptDurable(t, l, d, "INSERT INTO t VALUES (1, 'a')")
			aborts := testutil.ToFloat64(metricKeptAborts)
			tx, err := d.BeginKept(ctx, c.multi)
			if err != nil {
				t.Fatal(err)
			}
			for i, q := range c.stmts {
				_, err = tx.Conn().ExecContext(ctx, q)
				if last := i == len(c.stmts)-1; (err != nil) != (last && c.fails) {
					t.Fatalf("%s: %v", q, err)
				}
			}
			if c.fails {
				if err := tx.Rollback(); err != nil {
					t.Fatal(err)
				}
			} else {
				_, err := tx.Finish(ctx, func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error {
					if len(cs.Rows) == 0 {
						return nil
					}
					return c.appendErr
				})
				if !errors.Is(err, c.appendErr) {
					t.Fatalf("Finish: %v, want %v", err, c.appendErr)
				}
			}
			if got := testutil.ToFloat64(metricKeptAborts) > aborts; got != c.aborted {
				t.Fatalf("group rolled back: %v, want %v", got, c.aborted)
			}
			first.Settle(true)
			if err := d.CommitAcked(ctx); err != nil {
				t.Fatal(err)
			}
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := d.WaitApplied(wctx, firstCS.Origin, firstCS.Seq); err != nil {
				t.Fatal(err)
			}
			if got := dump(t, d, "SELECT id, v FROM t"); got != "1a;" {
				t.Fatalf("view holds %q, want only the durable member's row", got)
			}
			if got := fileRows(t, d); got != "1" {
				t.Fatalf("the file holds %s rows, want 1", got)
			}
		})
	}
}
