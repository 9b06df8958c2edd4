package e2e

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCoordinatorKilledAtCommitPoint: the window a fault run reached
// (docs/testing.md, seed 1795698578879542065). Node 1 exits, as a kill -9
// would, right after a transfer is durable in its own log (the commit
// point) and before any member hears of it. The members' intents outlive
// their lease, but the rows stay locked: a transfer on node 2 that reads
// them gets 1213 rather than committing over a transaction it cannot see.
// Both members then crash and restart: the claims they granted survive,
// and the rows stay locked. Once node 1 is back, its transfer reaches
// every node whole, node 2's retry commits on top of it, and the total
// never changed anywhere.
func TestCoordinatorKilledAtCommitPoint(t *testing.T) {
	const lease = 5 // seconds; must exceed a prepare and a commit round (2 s each by default)
	nodes := startClusterAt(t, 3, "commit-point", "QUORUM", fmt.Sprintf("MARMOT_TRANSACTION_HEARTBEAT_TIMEOUT_SECONDS=%d", lease))
	setupTable(t, nodes, "bank", "CREATE TABLE acct (id INT PRIMARY KEY, balance INT NOT NULL)")
	mustExec(t, nodes[0].DB(t, "bank"), "INSERT INTO acct VALUES (1, 100), (2, 100)")
	total := func(v int64) error {
		if v != 200 {
			return fmt.Errorf("total %d, want 200", v)
		}
		return nil
	}
	converged(t, nodes, "bank", "SELECT SUM(balance) FROM acct", 30*time.Second, total)

	setFaults(t, nodes[:1], func(_ *Node, f *faultFile) { f.ExitAtCommitPoint = true })
	// Until node 1 reaches a commit point: under load a prepare round may
	// time out (1180) and commit nothing, which the client may retry.
	deadline := time.Now().Add(60 * time.Second)
	for exited := false; !exited; {
		err := transfer(nodes[0].DB(t, "bank"), 1, 2, 30)
		if err == nil {
			t.Fatal("node 1 acknowledged a commit it was to die in")
		}
		select {
		case <-nodes[0].exited:
			exited = true
		case <-time.After(time.Second): // a dying process takes a moment to be reaped
			if time.Now().After(deadline) {
				t.Fatalf("node 1 never reached its commit point: %v", err)
			}
		}
	}
	if !strings.Contains(nodes[0].Logs(), "exiting at the commit point") {
		t.Fatalf("node 1 exited, but not at its commit point:\n%s", nodes[0].Logs())
	}
	nodes[0].Kill() // reap

	// Past the lease, the member that voted yes (node 2 or 3: one vote
	// was enough, and the other prepare may not have arrived before node 1
	// died) knows the transaction is overdue and cannot ask node 1: the
	// rows stay locked. Any transfer over them needs that member's vote.
	eventually(t, time.Duration(lease+20)*time.Second, func() error {
		var overdue float64
		for _, n := range nodes[1:] {
			overdue += max(0, metricValue(scrape(t, n), "marmot_overdue_transactions", nil))
		}
		if overdue < 1 {
			return fmt.Errorf("nodes 2 and 3 report %v overdue transactions, want at least 1", overdue)
		}
		return nil
	})
	held := func(when string) {
		t.Helper()
		for i := range 3 {
			err := transfer(nodes[1].DB(t, "bank"), 1, 2, 5)
			if err == nil {
				t.Fatalf("%s, attempt %d: node 2 committed a transfer over the rows of a transaction its coordinator may have committed", when, i+1)
			}
			if !isRetryable(err) {
				t.Fatalf("%s, attempt %d: want 1213 while the rows are held, got %v", when, i+1, err)
			}
		}
	}
	held("node 1 down")

	// Both members crash and come back while node 1 is still down. Their
	// yes votes were durable promises: the claims are restored, overdue
	// at once, and still hold the rows (a member that forgot them would
	// let nodes 2 and 3 form a quorum over them).
	for _, n := range nodes[1:] {
		n.Kill()
	}
	for _, n := range nodes[1:] {
		n.Start()
	}
	waitMembers(t, nodes[1:], 2)
	eventually(t, 30*time.Second, func() error {
		var overdue float64
		for _, n := range nodes[1:] {
			overdue += max(0, metricValue(scrape(t, n), "marmot_overdue_transactions", nil))
		}
		if overdue < 1 {
			return fmt.Errorf("after restarting, nodes 2 and 3 report %v overdue transactions, want at least 1", overdue)
		}
		return nil
	})
	held("node 1 down, nodes 2 and 3 restarted")

	setFaults(t, nodes[:1], func(_ *Node, f *faultFile) { f.ExitAtCommitPoint = false })
	nodes[0].Start()
	// The transfer was committed (durable at its commit point): it reaches
	// every node whole.
	converged(t, nodes, "bank", "SELECT balance FROM acct WHERE id = 1", 60*time.Second, func(v int64) error {
		if v != 70 {
			return fmt.Errorf("account 1 has %d, want 70 (node 1's transfer applied)", v)
		}
		return nil
	})
	converged(t, nodes, "bank", "SELECT SUM(balance) FROM acct", 30*time.Second, total)
	var retries atomic.Int64
	if err := untilCommitted(&retries, func() error { return transfer(nodes[1].DB(t, "bank"), 1, 2, 5) }); err != nil {
		t.Fatal(err)
	}
	converged(t, nodes, "bank", "SELECT balance FROM acct WHERE id = 1", 30*time.Second, func(v int64) error {
		if v != 65 {
			return fmt.Errorf("account 1 has %d, want 65", v)
		}
		return nil
	})
	converged(t, nodes, "bank", "SELECT SUM(balance) FROM acct", 30*time.Second, total)
}
