package e2e

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// aeEnv makes anti-entropy quick enough for a test: compare every second,
// snapshot beyond txns change sets.
func aeEnv(txns int) []string {
	return []string{"MARMOT_REPLICATION_ANTI_ENTROPY_INTERVAL_SECONDS=1",
		fmt.Sprintf("MARMOT_REPLICATION_DELTA_SYNC_THRESHOLD_TRANSACTIONS=%d", txns)}
}

// commitMany runs n single-row autocommit inserts (ids from, from+1, ...)
// on db from 8 connections.
func commitMany(t *testing.T, db *sql.DB, table string, from, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := from + w; i < from+n; i += 8 {
				if _, err := db.Exec("INSERT INTO "+table+" (id, v) VALUES (?, ?)", i, fmt.Sprint("row ", i)); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// sameRows waits until every node has want rows in table and the same
// content checksum.
func sameRows(t *testing.T, nodes []*Node, db, table string, want int, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() error {
		var first string
		for i, n := range nodes {
			var count int
			var sum sql.NullString
			q := "SELECT COUNT(*), SUM(id), GROUP_CONCAT(MD5(CONCAT(id, ':', v)) ORDER BY id) FROM " + table
			var ids sql.NullInt64
			if err := n.DB(t, db).QueryRow(q).Scan(&count, &ids, &sum); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			if count != want {
				return fmt.Errorf("node %d has %d rows, want %d", i+1, count, want)
			}
			if i == 0 {
				first = sum.String
			} else if sum.String != first {
				return fmt.Errorf("node %d's rows differ from node 1's", i+1)
			}
		}
		return nil
	})
}

func setupAE(t *testing.T, nodes []*Node) *sql.DB {
	t.Helper()
	db := nodes[0].DB(t, "")
	mustExec(t, db, "CREATE DATABASE ae")
	mustExec(t, nodes[0].DB(t, "ae"), "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	eventually(t, 20*time.Second, func() error {
		for i, n := range nodes {
			if _, err := n.DB(t, "ae").Exec("SELECT COUNT(*) FROM t"); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
		}
		return nil
	})
	return nodes[0].DB(t, "ae")
}

// TestRejoinByDeltaSync: a node stopped while 10,000 transactions commit
// elsewhere comes back through delta sync (the lag is under the
// threshold) and ends with identical rows.
func TestRejoinByDeltaSync(t *testing.T) {
	nodes := startClusterAt(t, 3, "ae-secret", "ONE", aeEnv(50000)...)
	db := setupAE(t, nodes)
	nodes[2].Stop()
	commitMany(t, db, "t", 1, 10000)
	nodes[2].Start()
	sameRows(t, nodes, "ae", "t", 10000, 60*time.Second)
	logs := nodes[2].Logs()
	if !strings.Contains(logs, "anti-entropy: delta sync") || strings.Contains(logs, "snapshot installed") {
		t.Fatalf("node 3 did not rejoin by delta sync alone:\n%s", logs)
	}
}

// TestRejoinBySnapshot: past the threshold, the stopped node takes a
// snapshot, then streams what came after it.
func TestRejoinBySnapshot(t *testing.T) {
	nodes := startClusterAt(t, 3, "ae-secret", "ONE", aeEnv(1000)...)
	db := setupAE(t, nodes)
	commitMany(t, db, "t", 1, 100)
	sameRows(t, nodes, "ae", "t", 100, 30*time.Second)
	nodes[2].Stop()
	commitMany(t, db, "t", 101, 3000)
	mustExec(t, db, "DELETE FROM t WHERE id <= 50")
	nodes[2].Start()
	// Writes continue during and after the rejoin.
	commitMany(t, nodes[1].DB(t, "ae"), "t", 5001, 200)
	sameRows(t, nodes, "ae", "t", 3250, 60*time.Second)
	logs := nodes[2].Logs()
	if !strings.Contains(logs, "snapshot installed") {
		t.Fatalf("node 3 did not rejoin by snapshot:\n%s", logs)
	}
	// A deleted row stays deleted on the snapshot's receiver.
	var n int
	if err := nodes[2].DB(t, "ae").QueryRow("SELECT COUNT(*) FROM t WHERE id <= 50").Scan(&n); err != nil || n != 0 {
		t.Fatalf("deleted rows on node 3: %d, %v", n, err)
	}
}

// TestNewNodeJoinsBySnapshot: a node with an empty data dir joining a
// cluster with data starts from a full snapshot.
func TestNewNodeJoinsBySnapshot(t *testing.T) {
	nodes := startClusterAt(t, 2, "ae-secret", "ONE", aeEnv(50000)...)
	db := setupAE(t, nodes)
	commitMany(t, db, "t", 1, 500)
	n3 := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t)}
	n3.Env = append([]string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d", nodes[0].HTTPPort), "MARMOT_CLUSTER_SECRET=ae-secret",
		"MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=ONE", "MARMOT_NODE_ID=3"}, aeEnv(50000)...)
	n3.Start()
	t.Cleanup(n3.Stop)
	all := append(nodes, n3)
	sameRows(t, all, "ae", "t", 500, 60*time.Second)
	logs := n3.Logs()
	if !strings.Contains(logs, "snapshot installed") || !strings.Contains(logs, "new node") {
		t.Fatalf("the new node did not start from a snapshot:\n%s", logs)
	}
	// And it is a full member afterwards: its writes reach the others.
	mustExec(t, n3.DB(t, "ae"), "INSERT INTO t (id, v) VALUES (9999, 'from the new node')")
	sameRows(t, all, "ae", "t", 501, 30*time.Second)
}

// gcEnv: keep change sets ~1.8 s (the minimum), compare and collect every
// second; maxHours 0 keeps what a peer lacks forever.
func gcEnv(maxHours string) []string {
	return append(aeEnv(50000), "MARMOT_REPLICATION_DELTA_SYNC_THRESHOLD_SECONDS=1",
		"MARMOT_REPLICATION_GC_MIN_RETENTION_HOURS=0.0005", "MARMOT_REPLICATION_GC_MAX_RETENTION_HOURS="+maxHours)
}

// TestGCTrimsWhatEveryoneHolds: old change sets go once both nodes hold
// them; a stopped node holds trimming back, so it rejoins with no gap; under a steady load the log stays bounded.
func TestGCTrimsWhatEveryoneHolds(t *testing.T) {
	nodes := startClusterAt(t, 2, "gc-secret", "ONE", gcEnv("0")...)
	db := setupAE(t, nodes)
	commitMany(t, db, "t", 1, 2000)
	sameRows(t, nodes, "ae", "t", 2000, 30*time.Second)
	eventually(t, 30*time.Second, func() error {
		if got := metricValue(scrape(t, nodes[0]), "marmot_gc_trimmed_entries_total", nil); got < 2000 {
			return fmt.Errorf("node 1 trimmed %v entries, want >= 2000", got)
		}
		return nil
	})

	nodes[1].Stop()
	commitMany(t, db, "t", 3001, 1000)
	// Node 2 is down: node 1 keeps what node 2 lacks, however old.
	time.Sleep(4 * time.Second) // let the retention window pass: GC must still hold back
	nodes[1].Start()
	sameRows(t, nodes, "ae", "t", 3000, 60*time.Second)
	// Its lag is past delta_sync_threshold_seconds, so it may well take a
	// snapshot; but never because node 1 trimmed what it lacked.
	if logs := nodes[1].Logs(); strings.Contains(logs, "already trimmed") {
		t.Fatalf("node 1 trimmed change sets node 2 lacked while it was down:\n%s", logs)
	}

	// Steady updates for a while: the retained log stays bounded.
	deadline := time.Now().Add(8 * time.Second)
	peak := 0.0
	for i := 0; time.Now().Before(deadline); i++ {
		if _, err := db.Exec("UPDATE t SET v = ? WHERE id = ?", fmt.Sprint("u", i), 1+i%500); err != nil {
			t.Fatal(err)
		}
		if i%200 == 0 {
			peak = max(peak, metricValue(scrape(t, nodes[0]), "marmot_log_retained_entries", nil))
		}
	}
	updates := metricValue(scrape(t, nodes[0]), "marmot_transactions_committed_total", nil)
	if peak <= 0 || peak > updates/2 {
		t.Fatalf("retained log peaked at %v entries of %v commits: GC is not keeping up", peak, updates)
	}
	t.Logf("retained entries peaked at %v during %v commits", peak, updates)
}

// TestGCMaxRetentionServesSnapshot: past gc_max_retention_hours entries go
// even though a peer lacks them; that peer then gets a snapshot (gap
// detection), never a stream with a hole.
func TestGCMaxRetentionServesSnapshot(t *testing.T) {
	nodes := startClusterAt(t, 2, "gc-secret", "ONE", gcEnv("0.001")...)
	db := setupAE(t, nodes)
	commitMany(t, db, "t", 1, 300)
	sameRows(t, nodes, "ae", "t", 300, 30*time.Second)
	nodes[1].Stop()
	commitMany(t, db, "t", 1001, 500)
	eventually(t, 60*time.Second, func() error {
		fams := scrape(t, nodes[0])
		if got := metricValue(fams, "marmot_gc_forced_total", nil); got < 1 {
			return fmt.Errorf("no forced GC yet")
		}
		// The 300 + 500 row change sets (and the schema's) all trimmed,
		// including the 500 node 2 lacks.
		if got := metricValue(fams, "marmot_gc_trimmed_entries_total", nil); got < 800 {
			return fmt.Errorf("node 1 trimmed %v entries", got)
		}
		return nil
	})
	nodes[1].Start()
	sameRows(t, nodes, "ae", "t", 800, 60*time.Second)
	if logs := nodes[1].Logs(); !strings.Contains(logs, "snapshot installed") {
		t.Fatalf("node 2 did not get a snapshot after its entries were trimmed:\n%s", logs)
	}
}

// TestSnapshotKilledHalfwayResumes: a new node is killed (-9) while its
// snapshot streams in; restarted, it resumes from the bytes on disk and
// completes.
func TestSnapshotKilledHalfwayResumes(t *testing.T) {
	seed := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t)}
	seedView(t, filepath.Join(seed.Dir, "db", "big.db"), 100)
	n2 := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t)}
	seed.Env = []string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d", n2.HTTPPort), "MARMOT_CLUSTER_SECRET=ae-secret", "MARMOT_NODE_ID=1"}
	n2.Env = []string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d", seed.HTTPPort), "MARMOT_CLUSTER_SECRET=ae-secret", "MARMOT_NODE_ID=2"}
	seed.Start()
	t.Cleanup(seed.Stop)
	t.Cleanup(n2.Stop)
	var want int
	if err := seed.DB(t, "big").QueryRow("SELECT COUNT(*) FROM big").Scan(&want); err != nil {
		t.Fatal(err)
	}

	// Start without waiting for MySQL (the snapshot comes first) and kill
	// it once part of the view file has arrived.
	n2.StartNoWait()
	eventually(t, 60*time.Second, func() error {
		parts, _ := filepath.Glob(filepath.Join(n2.Dir, "snapshot-incoming", "*", "big.db"))
		if len(parts) == 1 {
			if st, err := os.Stat(parts[0]); err == nil && st.Size() > 4<<20 {
				return nil
			}
		}
		return fmt.Errorf("no partial snapshot file yet")
	})
	n2.Kill()
	parts, _ := filepath.Glob(filepath.Join(n2.Dir, "snapshot-incoming", "*", "big.db"))
	st, err := os.Stat(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d MB of the view received", st.Size()>>20)

	n2.Start()
	var got int
	if err := n2.DB(t, "big").QueryRow("SELECT COUNT(*) FROM big").Scan(&got); err != nil || got != want {
		t.Fatalf("after the resumed snapshot: %d rows (want %d), %v\n%s", got, want, err, n2.Logs())
	}
	if logs := n2.Logs(); !strings.Contains(logs, "snapshot transfer resumes") {
		t.Fatalf("the transfer started over instead of resuming:\n%s", logs)
	}
}
