package materializer

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func mustOpen(tb testing.TB, dir string) (*txlog.Log, *Materializer) {
	tb.Helper()
	return mustOpenWith(tb, dir, Options{})
}

// mustOpenWith is mustOpen with options (Dir and Log are set here).
func mustOpenWith(tb testing.TB, dir string, opts Options) (*txlog.Log, *Materializer) {
	tb.Helper()
	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(dir, "log"), NodeID: 1})
	if err != nil {
		tb.Fatal(err)
	}
	opts.Dir, opts.Log = filepath.Join(dir, "db"), l
	m, err := Open(context.Background(), opts)
	if err != nil {
		l.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close(); l.Close() })
	return l, m
}

func commit(tb testing.TB, l *txlog.Log, m *Materializer, cs *marmotv1.ChangeSet, seen txlog.Watermark) error {
	tb.Helper()
	if err := l.Commit(context.Background(), cs, seen); err != nil {
		return err
	}
	return m.WaitApplied(context.Background(), cs.Database, cs.Origin, cs.Seq)
}

func createDB(tb testing.TB, l *txlog.Log, m *Materializer, name string, ddl ...string) *DB {
	tb.Helper()
	if err := commit(tb, l, m, &marmotv1.ChangeSet{Database: name, DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE}, nil); err != nil {
		tb.Fatal(err)
	}
	for _, q := range ddl {
		if err := commit(tb, l, m, &marmotv1.ChangeSet{Database: name, Ddl: q}, nil); err != nil {
			tb.Fatal(err)
		}
	}
	d, err := m.DB(name)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// capture runs statements in a capture transaction and returns the change set.
func capture(tb testing.TB, d *DB, stmts ...string) (*marmotv1.ChangeSet, txlog.Watermark) {
	tb.Helper()
	ctx := context.Background()
	t, err := d.Begin(ctx, false)
	if err != nil {
		tb.Fatal(err)
	}
	for _, q := range stmts {
		if _, err := t.Conn().ExecContext(ctx, q); err != nil {
			t.Rollback()
			tb.Fatalf("%s: %v", q, err)
		}
	}
	cs, err := t.Finish(ctx, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if len(cs.Rows) == 0 {
		return nil, t.Seen()
	}
	return cs, t.Seen()
}

func dump(tb testing.TB, d *DB, q string) string {
	tb.Helper()
	c, err := d.ReadConn(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := ""
	for rows.Next() {
		v := make([]any, len(cols))
		p := make([]any, len(cols))
		for i := range v {
			p[i] = &v[i]
		}
		rows.Scan(p...)
		out += fmt.Sprint(v...) + ";"
	}
	return out
}

func TestCaptureNetChanges(t *testing.T) {
	_, m := mustOpen(t, t.TempDir())
	l := m.log
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, b BLOB)`)
	cases := []struct {
		name  string
		stmts []string
		want  string // op:pk per row
	}{
		{"insert", []string{`INSERT INTO t VALUES (1,'a',x'00')`, `INSERT INTO t VALUES (2,'b',NULL)`}, "OP_INSERT:1 OP_INSERT:2"},
		{"insert then update is insert", []string{`INSERT INTO t VALUES (3,'c',NULL)`, `UPDATE t SET name='cc' WHERE id=3`}, "OP_INSERT:3"},
		{"insert then delete is nothing", []string{`INSERT INTO t VALUES (4,'d',NULL)`, `DELETE FROM t WHERE id=4`}, ""},
		{"update then delete is delete", []string{`UPDATE t SET name='x' WHERE id=1`, `DELETE FROM t WHERE id=1`}, "OP_DELETE:1"},
		{"key change is delete+insert", []string{`UPDATE t SET id=20 WHERE id=2`}, "OP_DELETE:2 OP_INSERT:20"},
		{"replace conflicting row is update", []string{`REPLACE INTO t VALUES (3,'r',NULL)`}, "OP_UPDATE:3"},
		// one row change: nothing to fold
		{"one insert", []string{`INSERT INTO t VALUES (5,'e',NULL)`}, "OP_INSERT:5"},
		{"one update", []string{`UPDATE t SET name='ee' WHERE id=5`}, "OP_UPDATE:5"},
		{"one delete", []string{`DELETE FROM t WHERE id=5`}, "OP_DELETE:5"},
		{"no row", []string{`DELETE FROM t WHERE id=5`}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cs, seen := capture(t, d, c.stmts...)
			got := ""
			if cs != nil {
				for i, r := range cs.Rows {
					if i > 0 {
						got += " "
					}
					got += fmt.Sprintf("%s:%d", r.Op, r.Pk[0].GetInt())
				}
			}
			if got != c.want {
				t.Fatalf("got %q want %q", got, c.want)
			}
			if cs != nil {
				if err := commit(t, l, m, cs, seen); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	if got := dump(t, d, "SELECT id, name, typeof(b) FROM t ORDER BY id"); got != "3rnull;20bnull;" {
		t.Fatalf("view: %s", got)
	}
}

func TestRollbackLeavesNoTrace(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	before := l.Durable()
	tx, err := d.Begin(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	tx.Conn().ExecContext(context.Background(), `INSERT INTO t VALUES (1,'x')`)
	tx.Rollback()
	if got := dump(t, d, "SELECT count(*) FROM t"); got != "0;" {
		t.Fatalf("rows after rollback: %s", got)
	}
	if after := l.Durable(); after[1] != before[1] {
		t.Fatalf("log grew on rollback: %v -> %v", before, after)
	}
}

func TestStaleCaptureConflicts(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE c (id INTEGER PRIMARY KEY, v INT)`)
	cs, seen := capture(t, d, `INSERT INTO c VALUES (1, 0)`)
	if err := commit(t, l, m, cs, seen); err != nil {
		t.Fatal(err)
	}
	a, seenA := capture(t, d, `UPDATE c SET v = v + 1`)
	b, seenB := capture(t, d, `UPDATE c SET v = v + 1`) // read the same state as a
	if err := commit(t, l, m, a, seenA); err != nil {
		t.Fatal(err)
	}
	if err := commit(t, l, m, b, seenB); err == nil {
		t.Fatal("second increment from the same state committed: lost update")
	}
	if got := dump(t, d, "SELECT v FROM c"); got != "1;" {
		t.Fatalf("v = %s", got)
	}
}

func TestLastWriterWinsAnyOrder(t *testing.T) {
	mk := func(seq uint64, wall int64, origin uint64, op marmotv1.Op, v string) *marmotv1.ChangeSet {
		rc := &marmotv1.RowChange{Table: "t", Op: op, Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}, Columns: []string{"id", "v"}}
		if op != marmotv1.Op_OP_DELETE {
			rc.After = []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}, {Kind: &marmotv1.Value_Text{Text: []byte(v)}}}
		}
		return &marmotv1.ChangeSet{Origin: origin, Seq: seq, Database: "app", Hlc: &marmotv1.HLC{WallMs: wall, NodeId: origin}, Rows: []*marmotv1.RowChange{rc}}
	}
	// Origin 7 writes "old" then origin 8 deletes later, then origin 7's
	// delayed update (older HLC than the delete) arrives.
	sets := []*marmotv1.ChangeSet{
		mk(1, 1000, 7, marmotv1.Op_OP_INSERT, "old"),
		mk(1, 3000, 8, marmotv1.Op_OP_DELETE, ""),
		mk(2, 2000, 7, marmotv1.Op_OP_UPDATE, "late"),
	}
	orders := [][]int{{0, 1, 2}, {1, 2, 0}, {2, 1, 0}, {1, 0, 2}}
	for _, order := range orders {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			l, m := mustOpen(t, t.TempDir())
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
			ctx := context.Background()
			pending := map[uint64][]*marmotv1.ChangeSet{}
			for _, i := range order {
				cs := sets[i]
				pending[cs.Origin] = append(pending[cs.Origin], cs)
			}
			// Per-origin order must hold (gap-free); interleave origins as given.
			for _, i := range order {
				cs := sets[i]
				if err := l.Ingest(ctx, cs); err != nil && cs.Origin == 7 && cs.Seq == 2 {
					// seq 2 before seq 1: ingest seq 1 first, as replication would.
					if err := l.Ingest(ctx, sets[0]); err != nil {
						t.Fatal(err)
					}
					if err := l.Ingest(ctx, cs); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, cs := range sets {
				if err := d.WaitApplied(ctx, cs.Origin, cs.Seq); err != nil {
					t.Fatal(err)
				}
			}
			if got := dump(t, d, "SELECT count(*) FROM t"); got != "0;" {
				t.Fatalf("deleted row resurrected: %s", got)
			}
		})
	}
}

func TestRestartCatchesUpAndRebuild(t *testing.T) {
	dir := t.TempDir()
	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(dir, "log"), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "db"), Log: l})
	if err != nil {
		t.Fatal(err)
	}
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	for i := 0; i < 50; i++ {
		cs, seen := capture(t, d, fmt.Sprintf(`INSERT INTO t VALUES (%d, 'v%d')`, i, i))
		if err := commit(t, l, m, cs, seen); err != nil {
			t.Fatal(err)
		}
	}
	// Commit to the log without letting the view apply: close the
	// materializer first (a crash between log fsync and SQLite commit).
	m.Close()
	cs := &marmotv1.ChangeSet{Database: "app", Rows: []*marmotv1.RowChange{{Table: "t", Op: marmotv1.Op_OP_INSERT,
		Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 999}}}, Columns: []string{"id", "v"},
		After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 999}}, {Kind: &marmotv1.Value_Text{Text: []byte("late")}}}}}}
	if err := l.Commit(context.Background(), cs, txlog.Watermark{1: 1 << 62}); err != nil {
		t.Fatal(err)
	}
	m, err = Open(context.Background(), Options{Dir: filepath.Join(dir, "db"), Log: l})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { m.Close(); l.Close() }()
	d, _ = m.DB("app")
	want := dump(t, d, "SELECT * FROM t ORDER BY id")
	if got := dump(t, d, "SELECT v FROM t WHERE id=999"); got != "late;" {
		t.Fatalf("start-up did not bring the view up to the log: %q", got)
	}
	if err := m.Rebuild(context.Background(), "app"); err != nil {
		t.Fatal(err)
	}
	d, _ = m.DB("app")
	if got := dump(t, d, "SELECT * FROM t ORDER BY id"); got != want {
		t.Fatalf("rebuild differs:\n%s\n%s", got, want)
	}
}

func TestDropAndRecreateDatabase(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	createDB(t, l, m, "tmp", `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	if err := commit(t, l, m, &marmotv1.ChangeSet{Database: "tmp", DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_DROP}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := m.DB("tmp"); err == nil {
		t.Fatal("dropped database still listed")
	}
	d := createDB(t, l, m, "tmp")
	if got := dump(t, d, "SELECT count(*) FROM sqlite_master WHERE name='t'"); got != "0;" {
		t.Fatalf("re-created database kept old tables: %s", got)
	}
}

// TestLatestCaptureSeesUnappliedCommits: a capture begun with latest=true
// executes on change sets that are committed but not yet in the view, so
// it does not conflict with them.
func TestLatestCaptureSeesUnappliedCommits(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE c (id INTEGER PRIMARY KEY, v INT)`)
	cs, seen := capture(t, d, `INSERT INTO c VALUES (1, 0)`)
	if err := commit(t, l, m, cs, seen); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Append without waiting for the applier: the view lags by one.
	a, seenA := capture(t, d, `UPDATE c SET v = v + 1`)
	if err := l.Commit(ctx, a, seenA); err != nil {
		t.Fatal(err)
	}
	tx, err := d.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Conn().ExecContext(ctx, `UPDATE c SET v = v + 1`); err != nil {
		t.Fatal(err)
	}
	b, err := tx.Finish(ctx, func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error { return l.Commit(ctx, cs, seen) })
	if err != nil {
		t.Fatalf("latest capture conflicted: %v", err)
	}
	if err := m.WaitApplied(ctx, "app", b.Origin, b.Seq); err != nil {
		t.Fatal(err)
	}
	if got := dump(t, d, "SELECT v FROM c"); got != "2;" {
		t.Fatalf("v = %s, want 2", got)
	}
}

// TestLatestCaptureCommitsReadyLag: a capture that executes on the latest
// state and holds the writer applies the ready lag for real (committed,
// visible to readers), so the applier does not apply it a second time.
func TestLatestCaptureCommitsReadyLag(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE c (id INTEGER PRIMARY KEY, v INT)`)
	ctx := context.Background()
	cs, seen := capture(t, d, `INSERT INTO c VALUES (1, 0)`)
	if err := commit(t, l, m, cs, seen); err != nil {
		t.Fatal(err)
	}
	a, seenA := capture(t, d, `UPDATE c SET v = 5`)
	// Holding the writer, as begin does: the applier cannot run.
	if err := d.lock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(ctx, a, seenA); err != nil {
		d.unlock()
		t.Fatal(err)
	}
	if d.Applied().Covers(a.Origin, a.Seq) {
		d.unlock()
		t.Fatal("the applier ran while the writer was held")
	}
	d.applyReadyLocked(ctx)
	covered := d.Applied().Covers(a.Origin, a.Seq)
	d.unlock()
	if !covered {
		t.Fatalf("ready lag %d/%d not applied", a.Origin, a.Seq)
	}
	if got := dump(t, d, "SELECT v FROM c"); got != "5;" {
		t.Fatalf("readers see v = %s, want 5", got)
	}
}

// TestRecycledReadConnsLeaveNoEnvs: read connections recycled by
// [connection_pool] max_lifetime_seconds take their function environment
// with them, so a long-running node's map of them does not grow.
func TestRecycledReadConnsLeaveNoEnvs(t *testing.T) {
	l, m := mustOpenWith(t, t.TempDir(), Options{ReadConnMaxLifetime: time.Millisecond})
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY)`)
	count := func() int {
		n := 0
		m.envs.Range(func(any, any) bool { n++; return true })
		return n
	}
	for range 200 {
		dump(t, d, "SELECT count(*) FROM t")
		time.Sleep(2 * time.Millisecond) // outlive the connection's 1 ms lifetime
	}
	deadline := time.Now().Add(10 * time.Second)
	for count() > 20 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connection environments kept after 200 recycled connections", count())
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // let the cleanups run
	}
}

// TestStatementMark: a statement of a transaction that fails leaves none
// of its rows in the change set, with a savepoint (multi) or without one;
// one that makes SQLite end the transaction is reported.
func TestStatementMark(t *testing.T) {
	cases := []struct {
		name    string
		multi   bool
		stmt    string // fails
		ended   bool   // SQLite ended the transaction
		wantIDs string // the rows the change set holds
	}{
		{"fails on its second row, no savepoint", false, `INSERT INTO t VALUES (2,'b'), (1,'dup')`, false, "1"},
		{"fails on its second row, savepoint", true, `INSERT INTO t VALUES (2,'b'), (1,'dup')`, false, "1"},
		{"ends the transaction, no savepoint", false, `INSERT INTO u VALUES (1)`, true, ""},
		{"ends the transaction, savepoint", true, `INSERT INTO u VALUES (1)`, true, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, m := mustOpen(t, t.TempDir())
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`,
				`CREATE TABLE u (id INTEGER PRIMARY KEY)`,
				`CREATE TRIGGER u_refuses BEFORE INSERT ON u BEGIN SELECT RAISE(ROLLBACK, 'no'); END`)
			ctx := context.Background()
			tx, err := d.Begin(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			run := func(q string) error {
				mark, err := tx.Mark(ctx, c.multi)
				if err != nil {
					return err
				}
				_, err = tx.Conn().ExecContext(ctx, q)
				if uerr := tx.Unmark(ctx, mark, err != nil); uerr != nil {
					return fmt.Errorf("%w (unmark: %w)", err, uerr)
				}
				return err
			}
			if err := run(`INSERT INTO t VALUES (1,'a')`); err != nil {
				t.Fatal(err)
			}
			err = run(c.stmt)
			if err == nil {
				t.Fatalf("%s succeeded", c.stmt)
			}
			if got := strings.Contains(err.Error(), "unmark"); got != c.ended {
				t.Fatalf("unmark failed: %v, want %v (%v)", got, c.ended, err)
			}
			if c.ended {
				if !c.multi && !errors.Is(err, ErrTxnEnded) {
					t.Fatalf("got %v, want ErrTxnEnded", err)
				}
				_ = tx.Rollback()
				return
			}
			cs, err := tx.Finish(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range cs.Rows {
				ids = append(ids, fmt.Sprint(r.Pk[0].GetInt()))
			}
			if got := strings.Join(ids, ","); got != c.wantIDs {
				t.Fatalf("change set rows %q, want %q", got, c.wantIDs)
			}
		})
	}
}
