package materializer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	sqlite3 "github.com/mattn/go-sqlite3"
)

// openWALBufPair opens a database twice: a writer on the WAL-buffering VFS
// (one connection, as the materializer's) and a connection on the default
// VFS, which reads and also writes (as a session connection may).
func openWALBufPair(t *testing.T, writerPragmas ...string) (w, other *sql.Conn) {
	t.Helper()
	if err := registerWALBuf(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "walbuf.db")
	ctx := context.Background()
	open := func(dsn string) *sql.Conn {
		db, err := sql.Open("sqlite3", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	w = open("file:" + path + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&vfs=" + walbufVFS)
	for _, p := range append([]string{"PRAGMA wal_autocheckpoint = 0", "CREATE TABLE t (k INTEGER PRIMARY KEY, v BLOB, n INTEGER)", "CREATE INDEX t_n ON t (n)"}, writerPragmas...) {
		mustExec(t, w, p)
	}
	other = open("file:" + path + "?_busy_timeout=10000")
	return w, other
}

func mustExec(t *testing.T, c *sql.Conn, q string, args ...any) {
	t.Helper()
	if _, err := c.ExecContext(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// tableState is what a connection sees of t: row count and a sum over
// keys and values.
func tableState(t *testing.T, c *sql.Conn) string {
	t.Helper()
	var n, sum int64
	var blobs int64
	err := c.QueryRowContext(context.Background(), "SELECT count(*), coalesce(sum(k * 31 + n), 0), coalesce(sum(length(v)), 0) FROM t").Scan(&n, &sum, &blobs)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("rows=%d sum=%d bytes=%d", n, sum, blobs)
}

// TestWALBufCoalesces: a commit of many pages reaches the WAL in a few
// writes, not two per frame.
func TestWALBufCoalesces(t *testing.T) {
	w, other := openWALBufPair(t)
	ctx := context.Background()
	asked0, written0 := walbufCounts()
	tx, err := w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		if _, err := tx.Exec("INSERT INTO t VALUES (?, randomblob(300), ?)", r.Int64N(1<<40), i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	asked, written := walbufCounts()
	asked, written = asked-asked0, written-written0
	if asked < 60 {
		t.Fatalf("SQLite asked for %d WAL writes; the test wants a commit of many frames", asked)
	}
	if written*10 > asked {
		t.Fatalf("%d WAL writes reached the file for %d asked: not coalesced", written, asked)
	}
	if got, want := tableState(t, other), tableState(t, w); got != want {
		t.Fatalf("other connection sees %s, writer %s", got, want)
	}
}

// TestWALBufEveryCommitVisible: after every commit, another connection
// sees exactly the committed rows, through small and large transactions,
// transactions that spill pages mid-way (a tiny page cache) and roll back,
// writes by the other connection in between, and checkpoints that restart
// the WAL.
func TestWALBufEveryCommitVisible(t *testing.T) {
	w, other := openWALBufPair(t, "PRAGMA cache_size = 16")
	ctx := context.Background()
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		n := 1 + r.IntN(40)
		if round%10 == 0 {
			n = 300 + r.IntN(300) // spills with a 16-page cache
		}
		rollback := round%7 == 3
		tx, err := w.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			k := r.Int64N(5000)
			if r.IntN(4) == 0 {
				_, err = tx.Exec("DELETE FROM t WHERE k = ?", k)
			} else {
				_, err = tx.Exec("INSERT OR REPLACE INTO t VALUES (?, randomblob(?), ?)", k, 50+r.IntN(900), round)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if rollback {
			err = tx.Rollback()
		} else {
			err = tx.Commit()
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tableState(t, other), tableState(t, w); got != want {
			t.Fatalf("round %d: other connection sees %s, writer %s", round, got, want)
		}
		switch round % 13 {
		case 5:
			mustExec(t, other, "INSERT OR REPLACE INTO t VALUES (?, randomblob(100), -1)", r.Int64N(5000))
		case 11:
			mustExec(t, other, "PRAGMA wal_checkpoint(TRUNCATE)")
		}
	}
	for _, c := range []*sql.Conn{w, other} {
		var ok string
		if err := c.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
			t.Fatalf("integrity_check: %q %v", ok, err)
		}
	}
}

// TestWALBufWriteErrorFailsCommit: a write error while flushing a commit
// fails that COMMIT (nothing of it becomes visible), and once the
// transaction is rolled back the writer works again.
func TestWALBufWriteErrorFailsCommit(t *testing.T) {
	w, other := openWALBufPair(t)
	ctx := context.Background()
	mustExec(t, w, "INSERT INTO t VALUES (1, x'01', 1)")
	before := tableState(t, other)

	mustExec(t, w, "BEGIN")
	for i := range 200 {
		mustExec(t, w, "INSERT INTO t VALUES (?, randomblob(500), ?)", 100+i, i)
	}
	walbufFailFlushes(1)
	_, err := w.ExecContext(ctx, "COMMIT")
	walbufFailFlushes(0)
	var se sqlite3.Error
	if err == nil {
		t.Fatal("COMMIT succeeded though its WAL write failed")
	}
	if !errors.As(err, &se) || se.Code != sqlite3.ErrIoErr {
		t.Fatalf("COMMIT error %v, want an I/O error", err)
	}
	_, _ = w.ExecContext(ctx, "ROLLBACK") // SQLite may already have rolled back
	if got := tableState(t, other); got != before {
		t.Fatalf("after the failed commit another connection sees %s, want %s", got, before)
	}
	mustExec(t, w, "INSERT INTO t VALUES (2, x'02', 2)")
	if got, want := tableState(t, other), tableState(t, w); got != want || got == before {
		t.Fatalf("after recovery other sees %s, writer %s (before %s)", got, want, before)
	}
	var ok string
	if err := other.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check: %q %v", ok, err)
	}
}

// TestWALBufApplierRecovers: a write error on the view's WAL while the
// applier commits a batch (a full disk, an I/O error) fails that batch
// only: the applier tries again, and the view ends with every change set
// and an intact file.
func TestWALBufApplierRecovers(t *testing.T) {
	l, m := mustOpen(t, t.TempDir())
	d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)`)
	ctx := context.Background()
	walbufFailFlushes(3)
	defer walbufFailFlushes(0)
	var last *marmotv1.ChangeSet
	for i := range 20 {
		cs := &marmotv1.ChangeSet{Database: "app", Rows: []*marmotv1.RowChange{{
			Table: "t", Op: marmotv1.Op_OP_INSERT, Columns: []string{"id", "v"},
			Pk:    []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: int64(i)}}},
			After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: int64(i)}}, {Kind: &marmotv1.Value_Text{Text: []byte(fmt.Sprint("row ", i))}}},
		}}}
		if err := l.Commit(ctx, cs, nil); err != nil {
			t.Fatal(err)
		}
		last = cs
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.WaitApplied(wctx, last.Origin, last.Seq); err != nil {
		t.Fatalf("the view never caught up after WAL write errors: %v", err)
	}
	if left := walbufFailFlushes(0); left != 0 {
		t.Fatalf("%d injected write errors never happened", left)
	}
	if got := dump(t, d, "SELECT count(*), sum(id) FROM t"); got != "20 190;" {
		t.Fatalf("rows after recovery: %q", got)
	}
	if got := dump(t, d, "PRAGMA integrity_check"); got != "ok;" {
		t.Fatalf("integrity_check: %q", got)
	}
}
