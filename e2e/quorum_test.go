package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// isRetryable reports a MySQL deadlock (1213): the client retries.
func isRetryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1213
}

// untilCommitted runs a transaction until it commits, retrying on 1213 as
// a client must (counted in retries); other errors end it.
func untilCommitted(retries *atomic.Int64, tx func() error) error {
	for {
		err := tx()
		if err == nil || !isRetryable(err) {
			return err
		}
		retries.Add(1)
	}
}

// setupTable creates db and a table on node 0 and waits until every node
// can read it.
func setupTable(t *testing.T, nodes []*Node, db string, ddl ...string) {
	t.Helper()
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE "+db)
	for _, q := range ddl {
		mustExec(t, nodes[0].DB(t, db), q)
	}
	eventually(t, 30*time.Second, func() error {
		for i, n := range nodes {
			if _, err := n.DB(t, db).Exec("SELECT 1"); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
		}
		return nil
	})
}

// converged polls until query returns the same single value on every node
// and that value satisfies check.
func converged(t *testing.T, nodes []*Node, db, query string, timeout time.Duration, check func(v int64) error) {
	t.Helper()
	eventually(t, timeout, func() error {
		var first int64
		for i, n := range nodes {
			var v int64
			if err := n.DB(t, db).QueryRow(query).Scan(&v); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			if i == 0 {
				first = v
			} else if v != first {
				return fmt.Errorf("node %d has %d, node 1 has %d", i+1, v, first)
			}
		}
		return check(first)
	})
}

// TestQuorumCounter: a counter incremented concurrently from all three
// nodes at QUORUM, each client retrying on 1213, ends equal to the number
// of acknowledged increments on every node: no update is lost. DDL issued
// on node 2 reaches the others first.
func TestQuorumCounter(t *testing.T) {
	nodes := startClusterAt(t, 3, "quorum-counter", "QUORUM")
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE q")
	eventually(t, 30*time.Second, func() error {
		_, err := nodes[1].DB(t, "q").Exec("SELECT 1")
		return err
	})
	mustExec(t, nodes[1].DB(t, "q"), "CREATE TABLE counter (id INT PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, nodes[1].DB(t, "q"), "INSERT INTO counter VALUES (1, 0)")
	converged(t, nodes, "q", "SELECT v FROM counter WHERE id = 1", 30*time.Second, func(int64) error { return nil })

	start := time.Now()
	const perClient, clientsPerNode = 25, 2
	var acked, retries atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*clientsPerNode)
	for _, n := range nodes {
		db := n.DB(t, "q")
		for c := 0; c < clientsPerNode; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < perClient; k++ {
					err := untilCommitted(&retries, func() error {
						_, err := db.Exec("UPDATE counter SET v = v + 1 WHERE id = 1")
						return err
					})
					if err != nil {
						errs <- err
						return
					}
					acked.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("increments took %v", time.Since(start))
	close(errs)
	for err := range errs {
		t.Fatalf("increment failed: %v", err)
	}
	want := acked.Load()
	if want != len64(nodes)*clientsPerNode*perClient {
		t.Fatalf("acknowledged %d increments, want %d", want, len(nodes)*clientsPerNode*perClient)
	}
	converged(t, nodes, "q", "SELECT v FROM counter WHERE id = 1", 30*time.Second, func(v int64) error {
		if v != want {
			return fmt.Errorf("counter is %d, %d increments were acknowledged", v, want)
		}
		return nil
	})
	t.Logf("%d increments acknowledged, %d client retries on 1213; every node has %d", want, retries.Load(), want)
	if testing.Verbose() {
		t.Log(nodes[0].Logs())
	}
}

func len64[T any](s []T) int64 { return int64(len(s)) }

// TestQuorumMoneyConserved: concurrent transfers between accounts in
// explicit transactions on all nodes at QUORUM; every read on every node,
// during and after, sees the same total.
func TestQuorumMoneyConserved(t *testing.T) {
	nodes := startClusterAt(t, 3, "quorum-money", "QUORUM")
	const accounts, initial = 8, 1000
	setupTable(t, nodes, "bank", "CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT NOT NULL)")
	for i := 0; i < accounts; i++ {
		mustExec(t, nodes[0].DB(t, "bank"), "INSERT INTO acct VALUES (?, ?)", i, initial)
	}
	const total = accounts * initial
	converged(t, nodes, "bank", "SELECT COUNT(*) FROM acct", 30*time.Second, func(v int64) error {
		if v != accounts {
			return fmt.Errorf("%d accounts", v)
		}
		return nil
	})

	stop := make(chan struct{})
	var readers sync.WaitGroup
	var badReads atomic.Int64
	var firstBad atomic.Value
	for i, n := range nodes {
		db := n.DB(t, "bank")
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				var sum int64
				if err := db.QueryRow("SELECT SUM(balance) FROM acct").Scan(&sum); err == nil && sum != total {
					badReads.Add(1)
					firstBad.CompareAndSwap(nil, fmt.Sprintf("node %d read total %d", i+1, sum))
				}
			}
		}()
	}

	var transfers, retries atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*2)
	for _, n := range nodes {
		db := n.DB(t, "bank")
		for c := 0; c < 2; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < 15; k++ {
					from, to := rand.IntN(accounts), rand.IntN(accounts-1)
					if to >= from {
						to++
					}
					amount := rand.IntN(50) + 1
					if err := untilCommitted(&retries, func() error { return transfer(db, from, to, amount) }); err != nil {
						errs <- err
						return
					}
					transfers.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("transfer failed: %v", err)
	}
	if n := badReads.Load(); n > 0 {
		t.Fatalf("%d reads saw a wrong total; first: %v", n, firstBad.Load())
	}
	converged(t, nodes, "bank", "SELECT SUM(balance) FROM acct", 30*time.Second, func(v int64) error {
		if v != total {
			return fmt.Errorf("total is %d, want %d", v, total)
		}
		return nil
	})
	// Converged sums are not enough: every node must hold the same rows.
	converged(t, nodes, "bank", "SELECT SUM(id * 100003 + balance) FROM acct", 30*time.Second, func(int64) error { return nil })
	t.Logf("%d transfers committed, %d retried on 1213", transfers.Load(), retries.Load())
}

// transfer moves amount between two accounts in one explicit transaction,
// refusing to overdraw.
func transfer(db *sql.DB, from, to, amount int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	var bal int64
	if err := tx.QueryRow("SELECT balance FROM acct WHERE id = ?", from).Scan(&bal); err != nil {
		tx.Rollback()
		return err
	}
	if bal < int64(amount) {
		return tx.Rollback()
	}
	if _, err := tx.Exec("UPDATE acct SET balance = balance - ? WHERE id = ?", amount, from); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Exec("UPDATE acct SET balance = balance + ? WHERE id = ?", amount, to); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// TestQuorumMinorityRefuses: with two of three nodes stopped, QUORUM and
// ALL writes fail with a clear error and leave no trace anywhere; ONE
// writes succeed. Restarted, the two catch up, and QUORUM works again.
func TestQuorumMinorityRefuses(t *testing.T) {
	nodes := startClusterAt(t, 3, "quorum-minority", "QUORUM")
	setupTable(t, nodes, "m", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, nodes[0].DB(t, "m"), "INSERT INTO t VALUES (1, 'before')")
	converged(t, nodes, "m", "SELECT COUNT(*) FROM t", 30*time.Second, func(v int64) error {
		if v != 1 {
			return fmt.Errorf("%d rows", v)
		}
		return nil
	})
	nodes[1].Stop()
	nodes[2].Kill()

	db := nodes[0].DB(t, "m")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, level := range []string{"QUORUM", "ALL"} {
		if _, err := conn.ExecContext(t.Context(), "SET marmot_write_consistency = '"+level+"'"); err != nil {
			t.Fatal(err)
		}
		_, err := conn.ExecContext(t.Context(), "INSERT INTO t VALUES (2, ?)", level)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1180 || !strings.Contains(me.Message, level) {
			t.Fatalf("%s write with 2 of 3 nodes down: want error 1180 naming %s, got %v", level, level, err)
		}
		t.Logf("%s: %v", level, err)
	}
	var c int
	if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE id = 2").Scan(&c); err != nil || c != 0 {
		t.Fatalf("refused write left a trace: count %d, err %v", c, err)
	}
	if _, err := conn.ExecContext(t.Context(), "SET marmot_write_consistency = 'ONE'"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "INSERT INTO t VALUES (3, 'one')"); err != nil {
		t.Fatalf("ONE write with 2 of 3 nodes down: %v", err)
	}

	nodes[1].Start()
	nodes[2].Start()
	for i, n := range nodes[1:] {
		eventually(t, 30*time.Second, func() error {
			var ids string
			if err := n.DB(t, "m").QueryRow("SELECT GROUP_CONCAT(id ORDER BY id) FROM t").Scan(&ids); err != nil {
				return err
			}
			if ids != "1,3" {
				return fmt.Errorf("node %d has ids %s, want 1,3", i+2, ids)
			}
			return nil
		})
	}
	waitMembers(t, nodes, 3)
	eventually(t, 30*time.Second, func() error {
		_, err := nodes[0].DB(t, "m").Exec("INSERT INTO t VALUES (4, 'quorum again') ON DUPLICATE KEY UPDATE v = v")
		return err
	})
	converged(t, nodes, "m", "SELECT COUNT(*) FROM t", 30*time.Second, func(v int64) error {
		if v != 3 {
			return fmt.Errorf("%d rows, want 3", v)
		}
		return nil
	})
}

// TestQuorumKill9: kill -9 of one node during a stream of QUORUM writes
// from the other two: every acknowledged write is on both survivors, and
// on the killed node once it restarts.
func TestQuorumKill9(t *testing.T) {
	nodes := startClusterAt(t, 3, "quorum-kill", "QUORUM")
	setupTable(t, nodes, "k", "CREATE TABLE t (id BIGINT PRIMARY KEY, node INT)")

	var mu sync.Mutex
	var acked []int64
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var next atomic.Int64
	for i, n := range nodes[:2] {
		db := n.DB(t, "k")
		for c := 0; c < 3; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					id := next.Add(1)
					if _, err := db.Exec("INSERT INTO t VALUES (?, ?)", id, i+1); err == nil {
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
					}
				}
			}()
		}
	}
	// Kill node 3 once the stream is well under way.
	eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 100 {
			return fmt.Errorf("%d writes acknowledged", len(acked))
		}
		return nil
	})
	nodes[2].Kill()
	// Keep writing without it.
	eventually(t, 30*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 250 {
			return fmt.Errorf("%d writes acknowledged", len(acked))
		}
		return nil
	})
	close(stop)
	wg.Wait()

	check := func(n *Node, name string) {
		t.Helper()
		eventually(t, 30*time.Second, func() error {
			have := map[int64]bool{}
			rows, err := n.DB(t, "k").Query("SELECT id FROM t")
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id int64
				rows.Scan(&id)
				have[id] = true
			}
			for _, id := range acked {
				if !have[id] {
					return fmt.Errorf("%s lacks acknowledged id %d", name, id)
				}
			}
			return rows.Err()
		})
	}
	check(nodes[0], "node 1")
	check(nodes[1], "node 2")
	nodes[2].Start()
	check(nodes[2], "node 3 after restart")
	t.Logf("%d QUORUM writes acknowledged; all on every node", len(acked))
}
