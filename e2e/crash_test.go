package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// TestCrashSafety kills marmotd with SIGKILL while clients commit
// multi-row transactions and autocommit inserts (which a single node runs
// as kept captures, committed to SQLite in groups), restarts it, and
// checks after every crash that every acknowledged transaction is
// complete, no unacknowledged one is half-present, and the view equals a
// rebuild from the log.
func TestCrashSafety(t *testing.T) {
	loops := 5
	if v, err := strconv.Atoi(os.Getenv("MARMOT_CRASH_LOOPS")); err == nil {
		loops = v
	}
	n := StartNode(t)
	setup := n.DB(t, "")
	mustExec(t, setup, "CREATE DATABASE crash")
	mustExec(t, n.DB(t, "crash"), "CREATE TABLE rows3 (id BIGINT PRIMARY KEY, batch BIGINT NOT NULL, k INT NOT NULL)")
	mustExec(t, n.DB(t, "crash"), "CREATE TABLE single (id BIGINT PRIMARY KEY)")

	var nextBatch, nextSingle atomic.Int64
	acked := map[int64]bool{}
	ackedSingle := map[int64]bool{}
	var ackMu sync.Mutex
	for loop := 0; loop < loops; loop++ {
		db, err := sql.Open("mysql", n.DSN("crash")+"&readTimeout=5s&writeTimeout=5s")
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					b := nextBatch.Add(1)
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						return
					}
					ok := true
					for k := 0; k < 3 && ok; k++ {
						_, err = tx.ExecContext(ctx, "INSERT INTO rows3 (id, batch, k) VALUES (?, ?, ?)", b*3+int64(k), b, k)
						ok = err == nil
					}
					if !ok {
						tx.Rollback()
						continue
					}
					if err := tx.Commit(); err == nil {
						ackMu.Lock()
						acked[b] = true
						ackMu.Unlock()
					}
				}
			}()
		}
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					id := nextSingle.Add(1)
					if _, err := db.ExecContext(ctx, "INSERT INTO single (id) VALUES (?)", id); err == nil {
						ackMu.Lock()
						ackedSingle[id] = true
						ackMu.Unlock()
					}
				}
			}()
		}
		// Crash only once this round has acknowledged some transactions
		// and some autocommit inserts (polled), then after a random extra
		// moment.
		ackMu.Lock()
		base, baseSingle := len(acked), len(ackedSingle)
		ackMu.Unlock()
		eventually(t, 30*time.Second, func() error {
			ackMu.Lock()
			defer ackMu.Unlock()
			if len(acked) < base+5 || len(ackedSingle) == baseSingle {
				return fmt.Errorf("%d transactions and %d autocommit inserts acknowledged this round", len(acked)-base, len(ackedSingle)-baseSingle)
			}
			return nil
		})
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond) // a random crash point, not a wait for a result
		n.Kill()
		cancel()
		wg.Wait()
		db.Close()
		n.Start()

		check := n.DB(t, "crash")
		rows, err := check.Query("SELECT batch, COUNT(*) FROM rows3 GROUP BY batch")
		if err != nil {
			t.Fatal(err)
		}
		present := map[int64]int{}
		for rows.Next() {
			var b, c int64
			rows.Scan(&b, &c)
			present[b] = int(c)
		}
		rows.Close()
		ackMu.Lock()
		for b := range acked {
			if present[b] != 3 {
				t.Fatalf("loop %d: acknowledged batch %d has %d of 3 rows", loop, b, present[b])
			}
		}
		nAcked := len(acked)
		var missing []int64
		for id := range ackedSingle {
			var one int
			if err := check.QueryRow("SELECT 1 FROM single WHERE id = ?", id).Scan(&one); err != nil {
				missing = append(missing, id)
			}
		}
		nSingle := len(ackedSingle)
		ackMu.Unlock()
		if len(missing) > 0 {
			t.Fatalf("loop %d: %d acknowledged autocommit inserts lost, e.g. %v", loop, len(missing), missing[:min(5, len(missing))])
		}
		if nSingle == 0 {
			t.Fatalf("loop %d: no autocommit insert was acknowledged; the test proves nothing", loop)
		}
		for b, c := range present {
			if c != 3 {
				t.Fatalf("loop %d: batch %d is half-present (%d rows)", loop, b, c)
			}
		}
		if nAcked == 0 {
			t.Fatalf("loop %d: no transaction was acknowledged; the test proves nothing", loop)
		}
		t.Logf("loop %d: %d acknowledged, %d present, %d autocommit inserts acknowledged", loop, nAcked, len(present), nSingle)
	}
	compareWithRebuild(t, n, "crash", "rows3", "single")
}

// compareWithRebuild stops the node, rebuilds the database from the log in
// a copy of the data dir, and compares the tables of the two SQLite files
// row by row.
func compareWithRebuild(t *testing.T, n *Node, db string, tables ...string) {
	t.Helper()
	n.Stop()
	_, marmotctl := binaries(t)
	cp := t.TempDir()
	if out, err := exec.Command("cp", "-a", n.Dir+"/.", cp).CombinedOutput(); err != nil {
		t.Fatalf("copy data dir: %v %s", err, out)
	}
	if out, err := exec.Command(marmotctl, "rebuild", "--data-dir", cp, "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("marmotctl rebuild: %v\n%s", err, out)
	}
	for _, table := range tables {
		a := dumpTable(t, filepath.Join(n.Dir, "db", db+".db"), table)
		b := dumpTable(t, filepath.Join(cp, "db", db+".db"), table)
		if a != b {
			t.Fatalf("%s: view differs from a rebuild from the log:\nview:    %.300s\nrebuilt: %.300s", table, a, b)
		}
	}
	n.Start()
}

func dumpTable(t *testing.T, path, table string) string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(fmt.Sprintf("SELECT * FROM %q ORDER BY 1", table))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	out := ""
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		out += fmt.Sprintln(vals...)
	}
	return out
}
