package e2e

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/frontend"
	"github.com/marmotdb/marmot/materializer"
)

// startSecretNode starts a single marmotd on dir with a cluster secret and
// no seeds: the configuration under which a lone node serves the peer RPCs
// marmotctl backup uses.
func startSecretNode(t *testing.T, dir, secret string) *Node {
	t.Helper()
	n := &Node{t: t, Dir: dir, MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t),
		Env: []string{"MARMOT_CLUSTER_SECRET=" + secret}}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

type backupJSON struct {
	Dir        string            `json:"dir"`
	ID         string            `json:"id"`
	SourceNode uint64            `json:"source_node"`
	Watermark  map[string]uint64 `json:"watermark"`
	Files      int               `json:"files"`
	Bytes      uint64            `json:"bytes"`
	Resumed    bool              `json:"resumed"`
}

type restoreJSON struct {
	DataDir   string   `json:"data_dir"`
	NodeID    uint64   `json:"node_id"`
	Backup    string   `json:"backup"`
	Databases []string `json:"databases"`
}

func runBackup(t *testing.T, secret string, n *Node, out string) backupJSON {
	t.Helper()
	s, code := ctl(t, secret, "backup", "--addr", fmt.Sprintf("127.0.0.1:%d", n.HTTPPort), "--out", out, "--json")
	if code != 0 {
		t.Fatalf("marmotctl backup exited %d: %s\nnode log:\n%s", code, s, n.Logs())
	}
	var b backupJSON
	if err := json.Unmarshal([]byte(s), &b); err != nil {
		t.Fatalf("backup --json: %v: %q", err, s)
	}
	return b
}

func runRestore(t *testing.T, from, dataDir string, extra ...string) restoreJSON {
	t.Helper()
	s, code := ctl(t, "", append([]string{"restore", "--from", from, "--data-dir", dataDir, "--json"}, extra...)...)
	if code != 0 {
		t.Fatalf("marmotctl restore exited %d: %s", code, s)
	}
	var r restoreJSON
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatalf("restore --json: %v: %q", err, s)
	}
	return r
}

// rowsOf returns count and sum of ids of table: enough to tell "exactly
// the rows as of the backup" from "also some later ones".
func rowsOf(t *testing.T, db *sql.DB, table string) (count, sum int64) {
	t.Helper()
	if err := db.QueryRow("SELECT COUNT(*), COALESCE(SUM(id), 0) FROM "+table).Scan(&count, &sum); err != nil {
		t.Fatal(err)
	}
	return count, sum
}

func sumRange(from, to int64) int64 { return (from + to) * (to - from + 1) / 2 }

// TestBackupRestoreSingleNode: a backup of a running single node, restored
// into a new data dir, holds exactly the rows committed before it (not the
// ones written after), and the restored node takes writes. A broken
// transfer resumes from the bytes already there; restore refuses to touch a
// data dir that holds data.
func TestBackupRestoreSingleNode(t *testing.T) {
	const secret = "backup-secret"
	n := startSecretNode(t, t.TempDir(), secret)
	root := n.DB(t, "")
	mustExec(t, root, "CREATE DATABASE shop")
	db := n.DB(t, "shop")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	mustExec(t, db, "CREATE INDEX t_v ON t (v)")
	commitMany(t, db, "t", 1, 300)

	out := filepath.Join(t.TempDir(), "backup")
	b := runBackup(t, secret, n, out)
	if b.Resumed || b.Files != 3 || b.Watermark[fmt.Sprint(b.SourceNode)] == 0 {
		t.Fatalf("backup report: %+v (want 3 files: marmot, shop, versions; a position for node %d)", b, b.SourceNode)
	}
	for _, f := range []string{"manifest.json", "shop.db", "marmot.db", "versions"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Fatalf("backup lacks %s: %v", f, err)
		}
	}
	commitMany(t, db, "t", 301, 100) // after the backup: must not come back

	// A complete backup is never overwritten.
	if s, code := ctl(t, secret, "backup", "--addr", fmt.Sprintf("127.0.0.1:%d", n.HTTPPort), "--out", out); code != 1 || !strings.Contains(s, "complete backup") {
		t.Fatalf("backup into a complete backup: exit %d, %s", code, s)
	}
	// An unfinished one (what a broken transfer leaves: no manifest.json,
	// a file cut short) resumes against the same snapshot.
	partial := filepath.Join(t.TempDir(), "partial")
	copyDir(t, out, partial)
	if err := os.Rename(filepath.Join(partial, "manifest.json"), filepath.Join(partial, "manifest.partial.json")); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(partial, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(filepath.Join(partial, "shop.db"), st.Size()/2); err != nil {
		t.Fatal(err)
	}
	if s, code := ctl(t, "", "restore", "--from", partial, "--data-dir", t.TempDir()); code != 1 || !strings.Contains(s, "unfinished") {
		t.Fatalf("restore of an unfinished backup: exit %d, %s", code, s)
	}
	rb := runBackup(t, secret, n, partial)
	if !rb.Resumed || rb.ID != b.ID {
		t.Fatalf("rerun into an unfinished backup: %+v, want a resume of %s", rb, b.ID)
	}
	if fileSum(t, filepath.Join(partial, "shop.db")) != fileSum(t, filepath.Join(out, "shop.db")) {
		t.Fatal("the resumed backup's shop.db differs from the original's")
	}
	n.Stop()

	dataDir := t.TempDir()
	r := runRestore(t, out, dataDir)
	if r.NodeID == 0 || r.NodeID == b.SourceNode {
		t.Fatalf("restored as node %d; want a new id (source %d)", r.NodeID, b.SourceNode)
	}
	if s, code := ctl(t, "", "restore", "--from", out, "--data-dir", dataDir); code != 1 || !strings.Contains(s, "never overwrites") {
		t.Fatalf("restore into a data dir with a log: exit %d, %s", code, s)
	}
	if s, code := ctl(t, "", "restore", "--from", out, "--data-dir", n.Dir); code != 1 || !strings.Contains(s, "never overwrites") {
		t.Fatalf("restore over the source's data dir: exit %d, %s", code, s)
	}

	restored := startSecretNode(t, dataDir, secret)
	rdb := restored.DB(t, "shop")
	if c, s := rowsOf(t, rdb, "t"); c != 300 || s != sumRange(1, 300) {
		t.Fatalf("restored node has %d rows (id sum %d), want exactly the 300 of the backup (sum %d)", c, s, sumRange(1, 300))
	}
	var v string
	if err := rdb.QueryRow("SELECT v FROM t WHERE v = 'row 42'").Scan(&v); err != nil {
		t.Fatalf("indexed lookup on the restored node: %v", err)
	}
	mustExec(t, rdb, "INSERT INTO t (id, v) VALUES (1000, 'after restore')")
	mustExec(t, rdb, "UPDATE t SET v = 'changed' WHERE id = 1")
	mustExec(t, restored.DB(t, ""), "CREATE DATABASE more")
	if c, _ := rowsOf(t, rdb, "t"); c != 301 {
		t.Fatalf("restored node after a write has %d rows, want 301", c)
	}
	// The writes are in the restored node's own log, under its own id:
	// they survive a restart.
	restored.Stop()
	restored.Start()
	if c, _ := rowsOf(t, restored.DB(t, "shop"), "t"); c != 301 {
		t.Fatalf("restored node after restart has %d rows, want 301\n%s", c, restored.Logs())
	}
}

// TestViewsReadableBySQLite3: the views are ordinary SQLite WAL databases.
// The sqlite3 CLI reads them and copies them with .backup while marmotd
// runs and writes, and both the live file and the copy pass
// integrity_check: the fallback backup for a node without a
// cluster_secret. With [replication] view_commit_delay_ms = 0 every
// acknowledged write is in the file when sqlite3 starts; by default,
// concurrent writes reach it within the delay (1 s).
func TestViewsReadableBySQLite3(t *testing.T) {
	for _, c := range []struct {
		name   string
		env    []string
		strict bool
	}{
		{"no view commit delay", []string{"MARMOT_REPLICATION_VIEW_COMMIT_DELAY_MS=0"}, true},
		{"default view commit delay", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) { viewsReadableBySQLite3(t, c.env, c.strict) })
	}
}

// viewsReadableBySQLite3: strict, sqlite3 must see every write
// acknowledged before it starts; else within 5 s (the delay is 1 s).
func viewsReadableBySQLite3(t *testing.T, env []string, strict bool) {
	sqlite3 := need(t, "sqlite3", "sqlite3")
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: env}
	n.Start()
	t.Cleanup(n.Stop)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE shop")
	db := n.DB(t, "shop")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	commitMany(t, db, "t", 1, 200)
	// An index on a character column uses marmot's collation, which the
	// sqlite3 CLI lacks ("no such collation sequence"): its file is
	// checked with the collation registered (collatedIntegrity).
	mustExec(t, n.DB(t, ""), "CREATE DATABASE idx")
	mustExec(t, n.DB(t, "idx"), "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	mustExec(t, n.DB(t, "idx"), "CREATE INDEX t_v ON t (v)")

	var acked atomic.Int64 // highest id whose insert was acknowledged
	acked.Store(200)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	idx := n.DB(t, "idx")
	go func() {
		defer wg.Done()
		for id := int64(201); ; id++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, ?)", id, fmt.Sprint("row ", id)); err != nil {
				writeErr = err
				return
			}
			if _, err := idx.Exec("INSERT INTO t (id, v) VALUES (?, ?)", id, fmt.Sprint("row ", id)); err != nil {
				writeErr = err
				return
			}
			acked.Store(id)
		}
	}()
	stopWriter := sync.OnceFunc(func() { close(stop); wg.Wait() })
	defer stopWriter()

	live := filepath.Join(n.Dir, "db", "shop.db")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(sqlite3, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("sqlite3 %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// rows counts t in path; unless strict, it waits (up to 5 s) for at
	// least want.
	rows := func(path string, want int64) int64 {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			var count int64
			if _, err := fmt.Sscan(run(path, "SELECT COUNT(*) FROM t"), &count); err != nil {
				t.Fatal(err)
			}
			if strict || count >= want || time.Now().After(deadline) {
				return count
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var last int64
	for i := range 3 {
		before := acked.Load()
		count := rows(live, before)
		if count < before || count < last {
			t.Fatalf("sqlite3 read %d rows; %d were acknowledged before it started, %d seen before", count, before, last)
		}
		last = count
		if got := run(live, "PRAGMA integrity_check"); got != "ok" {
			t.Fatalf("integrity_check of the live file: %s", got)
		}
		copyPath := filepath.Join(t.TempDir(), fmt.Sprintf("copy%d.db", i))
		before = acked.Load()
		rows(live, before) // by default, until the file has them
		run(live, ".backup "+copyPath)
		if got := run(copyPath, "PRAGMA integrity_check"); got != "ok" {
			t.Fatalf("integrity_check of the .backup copy: %s", got)
		}
		if count := rows(copyPath, 0); count < before {
			t.Fatalf("the .backup copy holds %d rows, %d were acknowledged before it", count, before)
		}
		idxLive := filepath.Join(n.Dir, "db", "idx.db")
		idxCopy := filepath.Join(t.TempDir(), fmt.Sprintf("idx%d.db", i))
		run(idxLive, ".backup "+idxCopy)
		for _, p := range []string{idxLive, idxCopy} {
			if got := collatedIntegrity(t, p); got != "ok" {
				t.Fatalf("integrity_check of %s with marmot's collation: %s", p, got)
			}
		}
	}
	stopWriter()
	if writeErr != nil {
		t.Fatalf("writes failed while sqlite3 read the file: %v", writeErr)
	}
	if acked.Load() <= 200 {
		t.Fatal("no write was acknowledged while sqlite3 read the file")
	}
}

// collatedIntegrity runs integrity_check on path read-only, with marmot's
// SQL functions and collation registered as marmotd registers them.
func collatedIntegrity(t *testing.T, path string) string {
	t.Helper()
	registerCollated.Do(func() {
		sql.Register("sqlite3_marmot_e2e", &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
			return frontend.ConnectHook(c, &materializer.Env{})
		}})
	})
	db, err := sql.Open("sqlite3_marmot_e2e", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&got); err != nil {
		t.Fatalf("integrity_check %s: %v", path, err)
	}
	return got
}

var registerCollated sync.Once

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func fileSum(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

var _ = time.Second

// TestBackupRestoreClusterMember: a backup of one member of a 3-node
// cluster, restored after that member is gone, comes back as a new node
// (a new id, since the cluster holds change sets the old node wrote after
// the backup) that joins, catches up on everything written since, and
// takes writes that reach the others.
func TestBackupRestoreClusterMember(t *testing.T) {
	const secret = "backup-cluster-secret"
	nodes := startClusterAt(t, 3, secret, "QUORUM")
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE shop")
	mustExec(t, nodes[0].DB(t, "shop"), "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))")
	for i, n := range nodes {
		eventually(t, 20*time.Second, func() error { _, err := n.DB(t, "shop").Exec("SELECT COUNT(*) FROM t"); return err })
		// Every node writes, so every id is an origin in the backup's
		// position and the restored node's new id avoids them all.
		commitMany(t, n.DB(t, "shop"), "t", 1+100*i, 100)
	}
	sameRows(t, nodes, "shop", "t", 300, 30*time.Second)

	out := filepath.Join(t.TempDir(), "backup")
	b := runBackup(t, secret, nodes[0], out)
	if b.SourceNode != 1 {
		t.Fatalf("backup of node %d, want 1", b.SourceNode)
	}
	for _, id := range []string{"1", "2", "3"} {
		if b.Watermark[id] == 0 {
			t.Fatalf("backup position %v lacks origin %s", b.Watermark, id)
		}
	}
	commitMany(t, nodes[0].DB(t, "shop"), "t", 301, 50) // node 1 writes after the backup,
	commitMany(t, nodes[1].DB(t, "shop"), "t", 351, 50) // and so does node 2
	sameRows(t, nodes, "shop", "t", 400, 30*time.Second)

	// Node 1 is lost and removed from the cluster.
	nodes[0].Stop()
	if s, code := ctl(t, secret, "cluster", "remove", "--addr", fmt.Sprintf("127.0.0.1:%d", nodes[1].HTTPPort), "--id", "1"); code != 0 {
		t.Fatalf("cluster remove: exit %d %s", code, s)
	}

	r := runRestore(t, out, t.TempDir())
	if r.NodeID < 1 || r.NodeID > 1023 || r.NodeID <= 3 {
		t.Fatalf("restored as node %d; want a new id in 4..1023", r.NodeID)
	}
	nn := &Node{t: t, Dir: r.DataDir, MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t)}
	nn.Env = []string{fmt.Sprintf("MARMOT_CLUSTER_SEED_NODES=127.0.0.1:%d,127.0.0.1:%d", nodes[1].HTTPPort, nodes[2].HTTPPort),
		"MARMOT_CLUSTER_SECRET=" + secret, "MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=QUORUM"}
	nn.Start()
	t.Cleanup(nn.Stop)
	live := []*Node{nodes[1], nodes[2], nn}
	// Everything written after the backup, node 1's writes included,
	// reaches the restored node from the others.
	sameRows(t, live, "shop", "t", 400, 60*time.Second)
	mustExec(t, nn.DB(t, "shop"), "INSERT INTO t (id, v) VALUES (1000, 'from the restored node')")
	mustExec(t, nodes[2].DB(t, "shop"), "UPDATE t SET v = 'changed' WHERE id = 1")
	sameRows(t, live, "shop", "t", 401, 30*time.Second)
	var v string
	if err := nn.DB(t, "shop").QueryRow("SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "changed" {
		t.Fatalf("restored node reads id 1 as %q (%v), want the update made elsewhere", v, err)
	}
}
