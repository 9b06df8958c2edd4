package e2e

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// BenchmarkDeltaSync measures how fast a node that was down catches up by
// delta sync: node 2 is stopped while b.N change sets commit on node 1,
// then restarted; the figure is change sets applied per second from its
// start until it holds them all. Run:
//
//	go test -tags "sqlite_preupdate_hook sqlite_math_functions" -run XXX -bench DeltaSync -benchtime 50000x ./e2e/
func BenchmarkDeltaSync(b *testing.B) {
	nodes := startClusterAt(b, 2, "bench", "ONE", aeEnv(1<<30)...)
	db := nodes[0].DB(b, "")
	mustExec(b, db, "CREATE DATABASE ae")
	mustExec(b, nodes[0].DB(b, "ae"), "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	eventually(b, 30*time.Second, func() error {
		_, err := nodes[1].DB(b, "ae").Exec("SELECT COUNT(*) FROM t")
		return err
	})
	nodes[1].Stop()
	w := nodes[0].DB(b, "ae")
	w.SetMaxOpenConns(16)
	insertN(b, w, b.N)
	b.ResetTimer()
	start := time.Now()
	nodes[1].Start()
	eventually(b, 10*time.Minute, func() error {
		var n int
		if err := nodes[1].DB(b, "ae").QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil {
			return err
		}
		if n != b.N {
			return fmt.Errorf("%d of %d", n, b.N)
		}
		return nil
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "changesets/s")
	if !strings.Contains(nodes[1].Logs(), "anti-entropy: delta sync") {
		b.Fatalf("node 2 did not catch up by delta sync:\n%s", nodes[1].Logs())
	}
}

// BenchmarkSnapshotTransfer measures a new node joining by snapshot: node 1
// serves a database of MARMOT_BENCH_SNAPSHOT_MB megabytes (default 64;
// 1024 for the 1 GB figure), seeded directly into its view file; node 2
// starts with an empty data dir and takes the snapshot before it serves.
// It reports MB/s from start to ready and both nodes' peak RSS: a snapshot
// streams through files in 1 MiB chunks, never through memory.
func BenchmarkSnapshotTransfer(b *testing.B) {
	mb := 64
	if s := os.Getenv("MARMOT_BENCH_SNAPSHOT_MB"); s != "" {
		mb, _ = strconv.Atoi(s)
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		seed := &Node{t: b, Dir: b.TempDir(), MySQLPort: freePort(b), HTTPPort: freePort(b), GossipPort: freePort(b)}
		seedView(b, filepath.Join(seed.Dir, "db", "big.db"), mb)
		n2 := &Node{t: b, Dir: b.TempDir(), MySQLPort: freePort(b), HTTPPort: freePort(b), GossipPort: freePort(b)}
		seed.Env = []string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d", n2.HTTPPort), "MARMOT_CLUSTER_SECRET=bench", "MARMOT_NODE_ID=1",
			"MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=ONE"}
		n2.Env = []string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d", seed.HTTPPort), "MARMOT_CLUSTER_SECRET=bench", "MARMOT_NODE_ID=2",
			"MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=ONE"}
		seed.Start()
		b.StartTimer()
		start := time.Now()
		n2.Start()
		took := time.Since(start)
		b.StopTimer()
		var rows int
		if err := n2.DB(b, "big").QueryRow("SELECT COUNT(*) FROM big").Scan(&rows); err != nil || rows == 0 {
			b.Fatalf("joined node has %d rows: %v\n%s", rows, err, n2.Logs())
		}
		if !strings.Contains(n2.Logs(), "snapshot installed") {
			b.Fatalf("no snapshot:\n%s", n2.Logs())
		}
		b.ReportMetric(float64(mb)/took.Seconds(), "MB/s")
		b.ReportMetric(peakRSSMB(n2), "receiver_peak_rss_MB")
		b.ReportMetric(peakRSSMB(seed), "sender_peak_rss_MB")
		n2.Stop()
		seed.Stop()
	}
}

// seedView writes a view file of about mb megabytes (1 KiB random rows)
// straight into SQLite, as if the log had materialized it.
func seedView(b testing.TB, path string, mb int) {
	b.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.Fatal(err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	mustExec(b, db, "CREATE TABLE big (id INTEGER PRIMARY KEY, v BLOB NOT NULL)")
	payload := make([]byte, 1024)
	rows := mb * 1000
	for done := 0; done < rows; {
		tx, err := db.Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, _ := tx.Prepare("INSERT INTO big (id, v) VALUES (?, ?)")
		for i := 0; i < 10000 && done < rows; i++ {
			_, _ = rand.Read(payload)
			done++
			if _, err := st.Exec(done, payload); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

// peakRSSMB is the process's peak resident set (VmHWM), in MB.
func peakRSSMB(n *Node) float64 {
	if n.cmd == nil || n.cmd.Process == nil {
		return -1
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.Atoi(f[1])
			return float64(kb) / 1024
		}
	}
	return -1
}

func insertN(b *testing.B, db *sql.DB, n int) {
	errs := make(chan error, 16)
	next := make(chan int, 1024)
	go func() {
		for i := 1; i <= n; i++ {
			next <- i
		}
		close(next)
	}()
	for w := 0; w < 16; w++ {
		go func() {
			for i := range next {
				if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, 'x')", i); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < 16; w++ {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}
