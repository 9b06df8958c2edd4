package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestDDLUnderConcurrentWrites: schema changes on one node while the two
// others insert and update rows at QUORUM, and one of the writers is
// killed (-9) and restarted in the middle. DDL is applied everywhere in log
// order relative to the DML around it, so every node ends with the same
// schema and the same rows, every acknowledged insert is there, and DML
// that uses a column a DDL added works on every node once it committed.
func TestDDLUnderConcurrentWrites(t *testing.T) {
	nodes := startClusterAt(t, 3, "ddl-under-writes", "QUORUM")
	setupTable(t, nodes, "shop", "CREATE TABLE item (id INT PRIMARY KEY, v INT NOT NULL)")

	var (
		acked   sync.Map // id -> true
		nAcked  atomic.Int64
		retries atomic.Int64
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	writer := func(node, base int) {
		defer wg.Done()
		db, err := sql.Open("mysql", nodes[node].DSN("shop"))
		if err != nil {
			t.Error(err)
			return
		}
		defer db.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := base + i
			err := untilCommitted(&retries, func() error {
				_, err := db.Exec("INSERT INTO item (id, v) VALUES (?, ?)", id, i)
				return err
			})
			if err == nil {
				acked.Store(id, true)
				nAcked.Add(1)
				if i%5 == 4 { // an update of an earlier row of this writer
					_ = untilCommitted(&retries, func() error {
						_, err := db.Exec("UPDATE item SET v = v + 1000 WHERE id = ?", id-2)
						return err
					})
				}
			}
			if err != nil {
				if !transient(err) {
					t.Errorf("node %d insert %d: %v", node+1, id, err)
					return
				}
				time.Sleep(20 * time.Millisecond) // backoff while the node is down
			}
		}
	}
	wg.Add(4)
	go writer(1, 1_000_000)
	go writer(1, 2_000_000)
	go writer(2, 3_000_000)
	go writer(2, 4_000_000)

	ddl := nodes[0].DB(t, "shop")
	waitAcked := func(n int64) {
		eventually(t, 60*time.Second, func() error {
			if got := nAcked.Load(); got < n {
				return fmt.Errorf("%d inserts acknowledged, want %d", got, n)
			}
			return nil
		})
	}
	start := time.Now()
	step := func(q string) {
		t.Helper()
		var r atomic.Int64
		if err := untilCommitted(&r, func() error { _, err := ddl.Exec(q); return err }); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		t.Logf("%6.2fs %d inserts acknowledged: %s", time.Since(start).Seconds(), nAcked.Load(), q)
	}
	more := func() { waitAcked(nAcked.Load() + 50) }
	more()
	step("ALTER TABLE item ADD COLUMN c1 INT NOT NULL DEFAULT 7")
	more()
	step("CREATE INDEX item_v ON item (v)")
	more()
	// Node 3, one of the writers, dies between two schema changes.
	nodes[2].Kill()
	step("ALTER TABLE item ADD COLUMN c2 VARCHAR(10)")
	more()
	step("UPDATE item SET c2 = 'even' WHERE id % 2 = 0")
	nodes[2].Start()
	more()
	step("ALTER TABLE item DROP COLUMN c1")
	more()
	step("ALTER TABLE item RENAME COLUMN c2 TO tag")
	more()
	close(stop)
	wg.Wait()
	t.Logf("%d inserts acknowledged, %d retries on 1213", nAcked.Load(), retries.Load())

	// Every node: the same schema, the same rows, every acknowledged insert.
	want := ""
	eventually(t, 60*time.Second, func() error {
		var first string
		for i, n := range nodes {
			db := n.DB(t, "shop")
			schema, err := showCreate(db, "item")
			if err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			var cnt int64
			var sum string
			if err := db.QueryRow("SELECT COUNT(*), COALESCE(MD5(GROUP_CONCAT(CONCAT_WS(':', id, v, COALESCE(tag, '-')) ORDER BY id)), '') FROM item").Scan(&cnt, &sum); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			state := fmt.Sprintf("%s\n%d rows, %s", schema, cnt, sum)
			if i == 0 {
				first = state
			} else if state != first {
				return fmt.Errorf("node %d differs from node 1:\n%s\nvs\n%s", i+1, state, first)
			}
		}
		want = first
		return nil
	})
	for _, col := range []string{"`tag` varchar(10)", "KEY `item_v`"} {
		if !strings.Contains(want, col) {
			t.Errorf("final schema lacks %s:\n%s", col, want)
		}
	}
	if strings.Contains(want, "`c1`") {
		t.Errorf("final schema still has c1:\n%s", want)
	}
	db := nodes[1].DB(t, "shop")
	missing := 0
	acked.Range(func(k, _ any) bool {
		var one int
		if err := db.QueryRow("SELECT 1 FROM item WHERE id = ?", k).Scan(&one); err != nil {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged inserts missing after the schema changes", missing)
	}
	var tagged int64
	if err := db.QueryRow("SELECT COUNT(*) FROM item WHERE tag = 'even'").Scan(&tagged); err != nil || tagged == 0 {
		t.Fatalf("the UPDATE of the added column did not reach node 2: %d rows, %v", tagged, err)
	}
}

// transient: errors a writer meets while a node it talks to is killed or
// the level cannot be met for a moment (the statement did not commit, or
// its outcome is unknown: only acknowledged inserts are checked).
func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1180 || me.Number == 1205
	}
	return true // connection refused or cut: the node is down
}

var autoIncClause = regexp.MustCompile(` AUTO_INCREMENT=\d+`)

func showCreate(db *sql.DB, table string) (string, error) {
	var name, ddl string
	if err := db.QueryRow("SHOW CREATE TABLE "+table).Scan(&name, &ddl); err != nil {
		return "", err
	}
	return autoIncClause.ReplaceAllString(ddl, ""), nil
}
