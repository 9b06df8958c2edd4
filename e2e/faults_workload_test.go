package e2e

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The fault suite's clients. Every operation is recorded with its outcome:
// ok (acknowledged), fail (definitely not applied: 1213, or a transaction
// that never reached COMMIT) or info (unknown: any other error, such as a
// connection cut by kill -9, a timeout, or 1180, which may come after the
// commit point). The checkers settle info operations from the logs.
//
// Workloads (tables in database fz):
//   - set (s): unique inserts, one client per node per level ONE, QUORUM, ALL;
//   - lww (r): REPLACE/DELETE of lwwKeys keys at ONE, each write a unique token;
//   - counter (c): UPDATE v = v + 1 at QUORUM;
//   - bank (a): transfers in explicit transactions at QUORUM, and a reader
//     per node checking the total on every read;
//   - lin (g): read-modify-write transactions and blind writes of unique
//     values on linKeys registers, at QUORUM (nodes 1, 3) and ALL (node 2).

const (
	bankAccounts = 5
	bankInitial  = 1000
	linKeys      = 3
	lwwKeys      = 4
	// faultsThink is the pause between a client's operations: enough load
	// to overlap every fault, not so much that two cores starve the nodes.
	faultsThink = 10 * time.Millisecond
)

type faultWorkloads struct {
	r       *faultsRun
	stopped chan struct{}
	wg      sync.WaitGroup
	nextTok atomic.Int64
	reads   atomic.Int64 // bank reads checked
	client  atomic.Int64
}

// openQuiet opens a pool of one connection on n at level ("" for the
// node's default), with timeouts short enough that a paused node turns
// into an info operation rather than a hung client.
func openQuiet(n *Node, db string, level ...string) (*sql.DB, error) {
	dsn := n.DSN(db) + "&readTimeout=10s&writeTimeout=10s"
	if len(level) > 0 && level[0] != "" {
		dsn += "&marmot_write_consistency=" + url.QueryEscape("'"+level[0]+"'")
	}
	pool, err := sql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(1)
	return pool, nil
}

func (r *faultsRun) startWorkloads() *faultWorkloads {
	w := &faultWorkloads{r: r, stopped: make(chan struct{})}
	w.nextTok.Store(1000)
	for i := range r.nodes {
		for _, lvl := range []string{"ONE", "QUORUM", "ALL"} {
			w.run(i, lvl, w.setOp)
		}
		w.run(i, "ONE", w.lwwOp)
		w.run(i, "QUORUM", w.counterOp)
		w.run(i, "QUORUM", w.bankOp)
		w.run(i, "", w.bankRead)
		lvl := "QUORUM"
		if i == 1 {
			lvl = "ALL"
		}
		w.run(i, lvl, w.linOp)
	}
	return w
}

// run starts a client on node i at level that calls op until stopped.
func (w *faultWorkloads) run(i int, level string, op func(c *faultClient)) {
	db, err := openQuiet(w.r.nodes[i], "fz", level)
	if err != nil {
		w.r.t.Fatal(err)
	}
	c := &faultClient{w: w, id: int(w.client.Add(1)), node: i + 1, level: level, db: db,
		rng: rand.New(rand.NewPCG(w.r.seed, uint64(w.client.Load())))}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		defer db.Close()
		for {
			select {
			case <-w.stopped:
				return
			default:
			}
			op(c)
			time.Sleep(faultsThink)
		}
	}()
}

func (w *faultWorkloads) stop() {
	close(w.stopped)
	w.wg.Wait()
}

type faultClient struct {
	w     *faultWorkloads
	id    int
	node  int
	level string
	db    *sql.DB
	rng   *rand.Rand
}

// do runs f as one operation of the history.
func (c *faultClient) do(op *faultOp, f func() (string, error)) {
	op.Client, op.Node, op.Level = c.id, c.node, c.level
	op.Start = c.w.r.since()
	result, err := f()
	op.End = c.w.r.since()
	op.Result = result
	if err != nil {
		op.Err = err.Error()
	}
	c.w.r.record(op)
}

// outcome classifies the error of a statement that may have committed.
// Definitely not applied: 1213 (lost a conflict), a refused connection
// (nothing was sent), and 1180 "not reached" (too few nodes prepared:
// README says nothing is written anywhere; the checkers hold it to that).
// 1180 "is committed on this node" is info, and must be in the log.
func outcome(err error) (string, error) {
	switch {
	case err == nil:
		return "ok", nil
	case isRetryable(err), strings.Contains(err.Error(), "connect: connection refused"),
		mysqlErrno(err) == 1180 && strings.Contains(err.Error(), "not reached"):
		return "fail", err
	}
	return "info", err
}

func (w *faultWorkloads) setOp(c *faultClient) {
	id := w.nextTok.Add(1)
	c.do(&faultOp{Work: "set", Kind: "insert", Key: id, Value: id}, func() (string, error) {
		_, err := c.db.Exec("INSERT INTO s VALUES (?, ?, ?)", id, c.level, c.node)
		return outcome(err)
	})
}

func (w *faultWorkloads) lwwOp(c *faultClient) {
	k := int64(c.rng.IntN(lwwKeys))
	if c.rng.IntN(4) == 0 {
		c.do(&faultOp{Work: "lww", Kind: "delete", Key: k}, func() (string, error) {
			_, err := c.db.Exec("DELETE FROM r WHERE k = ?", k)
			return outcome(err)
		})
		return
	}
	tok := w.nextTok.Add(1)
	c.do(&faultOp{Work: "lww", Kind: "replace", Key: k, Value: tok}, func() (string, error) {
		_, err := c.db.Exec("REPLACE INTO r VALUES (?, ?)", k, tok)
		return outcome(err)
	})
}

func (w *faultWorkloads) counterOp(c *faultClient) {
	c.do(&faultOp{Work: "counter", Kind: "incr", Key: 1, Value: 1}, func() (string, error) {
		_, err := c.db.Exec("UPDATE c SET v = v + 1 WHERE id = 1")
		return outcome(err)
	})
}

func (w *faultWorkloads) bankOp(c *faultClient) {
	from, to := c.rng.IntN(bankAccounts), c.rng.IntN(bankAccounts-1)
	if to >= from {
		to++
	}
	amount := c.rng.IntN(50) + 1
	c.do(&faultOp{Work: "bank", Kind: "transfer", Key: int64(from*100 + to), Value: int64(amount)}, func() (string, error) {
		tx, err := c.db.Begin()
		if err != nil {
			return "fail", err
		}
		var bal int64
		if err := tx.QueryRow("SELECT bal FROM a WHERE id = ? FOR UPDATE", from).Scan(&bal); err != nil {
			tx.Rollback()
			return "fail", err
		}
		if bal < int64(amount) {
			return "fail", tx.Rollback()
		}
		if _, err := tx.Exec("UPDATE a SET bal = bal - ? WHERE id = ?", amount, from); err != nil {
			tx.Rollback()
			return "fail", err
		}
		if _, err := tx.Exec("UPDATE a SET bal = bal + ? WHERE id = ?", amount, to); err != nil {
			tx.Rollback()
			return "fail", err
		}
		return outcome(tx.Commit())
	})
}

// bankRead checks the total on one local read. Only wrong totals go into
// the history; the count of reads is kept.
func (w *faultWorkloads) bankRead(c *faultClient) {
	start := w.r.since()
	var sum int64
	if err := c.db.QueryRow("SELECT SUM(bal) FROM a").Scan(&sum); err != nil {
		return
	}
	w.reads.Add(1)
	if sum != bankAccounts*bankInitial {
		w.r.record(&faultOp{Work: "bank", Kind: "sum", Client: c.id, Node: c.node, Value: sum, Start: start, End: w.r.since(), Result: "ok",
			Err: fmt.Sprintf("total %d, want %d", sum, bankAccounts*bankInitial)})
	}
}

func (w *faultWorkloads) linOp(c *faultClient) {
	k := int64(c.rng.IntN(linKeys))
	val := w.nextTok.Add(1)
	if c.rng.IntN(2) == 0 {
		c.do(&faultOp{Work: "lin", Kind: "write", Key: k, Value: val}, func() (string, error) {
			_, err := c.db.Exec("UPDATE g SET v = ? WHERE k = ?", val, k)
			return outcome(err)
		})
		return
	}
	op := &faultOp{Work: "lin", Kind: "rmw", Key: k, Value: val}
	c.do(op, func() (string, error) {
		tx, err := c.db.Begin()
		if err != nil {
			return "fail", err
		}
		var cur int64
		if err := tx.QueryRow("SELECT v FROM g WHERE k = ? FOR UPDATE", k).Scan(&cur); err != nil {
			tx.Rollback()
			return "fail", err
		}
		op.Read = &cur
		if _, err := tx.Exec("UPDATE g SET v = ? WHERE k = ?", val, k); err != nil {
			tx.Rollback()
			return "fail", err
		}
		return outcome(tx.Commit())
	})
}

// queryInts reads two integer columns into a map.
func queryInts(t *testing.T, db *sql.DB, q string) map[int64]int64 {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var k, v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
