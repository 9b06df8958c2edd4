package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Faults on real nodes. Every node the harness starts watches its own
// faults file (MARMOT_TEST_FAULTS, see peer/faults.go): it cuts its peer
// links (HTTP and gossip) to the node ids listed there, shifts its HLC's
// physical clock, and stalls or slows the fsyncs of its log. All nodes
// share 127.0.0.1, so links cannot be cut outside the processes. The
// helpers write both ends of every link they cut and wait until each
// running node logs that it applied the change, so a test proceeds only
// once the fault is in force.

// faultFile is the faults file's JSON (peer.faultSpec).
type faultFile struct {
	Blocked       []uint64 `json:"blocked"`
	ClockOffsetMS int64    `json:"clock_offset_ms"`
	PausePeers    bool     `json:"pause_peers"`
	StallFsync    bool     `json:"stall_fsync"`
	FsyncDelayMS  int64    `json:"fsync_delay_ms"`
	// ExitAtCommitPoint: the node exits at its next distributed commit
	// point, before telling the members (TestCoordinatorKilledAtCommitPoint).
	ExitAtCommitPoint bool   `json:"exit_at_commit_point"`
	Tag               string `json:"tag"`
}

// nodeFaults is a node's faults file and what the harness last wrote to it.
type nodeFaults struct {
	path string
	spec faultFile
}

var faultTags atomic.Int64

// faultsEnv gives the node its faults file, the same across restarts, so a
// restarted node comes back with the faults it had.
func (n *Node) faultsEnv() string {
	if n.faults == nil {
		n.faults = &nodeFaults{path: filepath.Join(n.t.TempDir(), "faults.json")}
	}
	return "MARMOT_TEST_FAULTS=" + n.faults.path
}

// nodeID is the node id the harness gave n (startClusterAt: index + 1).
func nodeID(t testing.TB, n *Node) uint64 {
	t.Helper()
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "MARMOT_NODE_ID="); ok {
			id, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("MARMOT_NODE_ID=%q: %v", v, err)
			}
			return id
		}
	}
	t.Fatal("node has no MARMOT_NODE_ID in its Env; the fault helpers need it")
	return 0
}

// setFaults rewrites the faults of each node in change (edit changes its
// spec) and waits until every running one of them has applied them.
func setFaults(t testing.TB, change []*Node, edit func(n *Node, f *faultFile)) {
	t.Helper()
	tags := map[*Node]string{}
	for _, n := range change {
		n.faultsEnv() // a node not started yet gets its file now
		spec := n.faults.spec
		edit(n, &spec)
		spec.Tag = fmt.Sprintf("f%d", faultTags.Add(1))
		b, err := json.Marshal(spec)
		if err != nil {
			t.Fatal(err)
		}
		tmp := n.faults.path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, n.faults.path); err != nil { // the node never reads half a file
			t.Fatal(err)
		}
		n.faults.spec = spec
		tags[n] = spec.Tag
	}
	for _, n := range change {
		if n.cmd == nil {
			continue // reads the file when it starts
		}
		tag := tags[n]
		eventually(t, 10*time.Second, func() error {
			logs := n.Logs()
			if strings.Contains(logs, " tag="+tag+"\n") || strings.Contains(logs, `"tag":"`+tag+`"`) {
				return nil
			}
			return fmt.Errorf("node on port %d has not applied faults %s", n.MySQLPort, tag)
		})
	}
}

// partition cuts every link between nodes of different groups (indexes
// into nodes); nodes in no group form one more group. Links inside a group
// are restored.
func partition(t testing.TB, nodes []*Node, groups ...[]int) {
	t.Helper()
	group := make([]int, len(nodes))
	for i := range group {
		group[i] = len(groups)
	}
	for g, members := range groups {
		for _, i := range members {
			group[i] = g
		}
	}
	ids := make([]uint64, len(nodes))
	for i, n := range nodes {
		ids[i] = nodeID(t, n)
	}
	setFaults(t, nodes, func(n *Node, f *faultFile) {
		i := slices.Index(nodes, n)
		f.Blocked = nil
		for j := range nodes {
			if group[j] != group[i] {
				f.Blocked = append(f.Blocked, ids[j])
			}
		}
	})
}

// isolate cuts node i off from every other node.
func isolate(t testing.TB, nodes []*Node, i int) {
	t.Helper()
	partition(t, nodes, []int{i})
}

// cutLink cuts the one link between nodes a and b; their links to other
// nodes stay as they are.
func cutLink(t testing.TB, a, b *Node) {
	t.Helper()
	ida, idb := nodeID(t, a), nodeID(t, b)
	setFaults(t, []*Node{a, b}, func(n *Node, f *faultFile) {
		other := idb
		if n == b {
			other = ida
		}
		if !slices.Contains(f.Blocked, other) {
			f.Blocked = append(f.Blocked, other)
		}
	})
}

// heal restores every link between nodes (clock offsets stay).
func heal(t testing.TB, nodes []*Node) {
	t.Helper()
	setFaults(t, nodes, func(_ *Node, f *faultFile) { f.Blocked = nil })
}

// skewClock shifts the physical clock under n's HLC by offset from real
// time (replacing an earlier offset); negative is behind.
func skewClock(t testing.TB, n *Node, offset time.Duration) {
	t.Helper()
	setFaults(t, []*Node{n}, func(_ *Node, f *faultFile) { f.ClockOffsetMS = offset.Milliseconds() })
}

// pausePeers stalls (on) or resumes all of n's peer links: its peer calls
// hang instead of failing, and its gossip is lost.
func pausePeers(t testing.TB, n *Node, on bool) {
	t.Helper()
	setFaults(t, []*Node{n}, func(_ *Node, f *faultFile) { f.PausePeers = on })
}

// stallFsync holds (on) or releases every fsync of n's transaction log:
// its commits wait at their commit point, as on a hung disk.
func stallFsync(t testing.TB, n *Node, on bool) {
	t.Helper()
	setFaults(t, []*Node{n}, func(_ *Node, f *faultFile) { f.StallFsync = on })
}

// slowFsync makes every fsync of n's transaction log take d longer (0:
// back to normal).
func slowFsync(t testing.TB, n *Node, d time.Duration) {
	t.Helper()
	setFaults(t, []*Node{n}, func(_ *Node, f *faultFile) { f.FsyncDelayMS = d.Milliseconds() })
}

// memberStates is n's view of the members: state by node id.
func memberStates(n *Node) (map[uint64]string, error) {
	secret := ""
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "MARMOT_CLUSTER_SECRET="); ok {
			secret = v
		}
	}
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/admin/cluster/members", n.HTTPPort), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Marmot-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("members: HTTP %d", resp.StatusCode)
	}
	var body struct {
		Members []struct {
			ID    uint64 `json:"id"`
			State string `json:"state"`
		} `json:"members"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	out := map[uint64]string{}
	for _, m := range body.Members {
		out[m.ID] = m.State
	}
	return out, nil
}

func mysqlErrno(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// TestPartitionHook: an isolated node's QUORUM writes fail with 1180 in the
// write timeout while the majority side keeps writing and replicating; it
// sees the others as gone and gets nothing from them; once healed, it
// catches up and writes at QUORUM again. Then a single cut link leaves the
// other two links up.
func TestPartitionHook(t *testing.T) {
	nodes := startClusterAt(t, 3, "partition-hook", "QUORUM")
	setupTable(t, nodes, "p", "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")

	isolate(t, nodes, 2)
	const writeTimeout = 5 * time.Second // replication.write_timeout_ms default
	start := time.Now()
	_, err := nodes[2].DB(t, "p").Exec("INSERT INTO t VALUES (3, 'isolated')")
	if mysqlErrno(err) != 1180 {
		t.Fatalf("QUORUM write on the isolated node: want error 1180, got %v", err)
	}
	if d := time.Since(start); d > writeTimeout+time.Second {
		t.Fatalf("QUORUM write on the isolated node failed after %v, beyond the write timeout %v", d, writeTimeout)
	}
	t.Logf("isolated node's QUORUM write, after %v: %v", time.Since(start).Round(time.Millisecond), err)
	mustExec(t, nodes[0].DB(t, "p"), "INSERT INTO t VALUES (1, 'majority')")
	mustExec(t, nodes[1].DB(t, "p"), "INSERT INTO t VALUES (2, 'majority')")
	for i, n := range nodes[:2] {
		eventually(t, 30*time.Second, func() error {
			var c int
			if err := n.DB(t, "p").QueryRow("SELECT COUNT(*) FROM t WHERE id IN (1, 2)").Scan(&c); err != nil {
				return err
			}
			if c != 2 {
				return fmt.Errorf("node %d has %d of the majority's 2 rows", i+1, c)
			}
			return nil
		})
	}
	eventually(t, 30*time.Second, func() error {
		states, err := memberStates(nodes[2])
		if err != nil {
			return err
		}
		for _, id := range []uint64{1, 2} {
			if s := states[id]; s != "suspect" && s != "dead" {
				return fmt.Errorf("isolated node sees node %d %s", id, s)
			}
		}
		return nil
	})
	var c int
	if err := nodes[2].DB(t, "p").QueryRow("SELECT COUNT(*) FROM t").Scan(&c); err != nil || c != 0 {
		t.Fatalf("isolated node got rows across the cut: %d rows, err %v", c, err)
	}

	heal(t, nodes)
	eventually(t, 60*time.Second, func() error {
		var ids string
		if err := nodes[2].DB(t, "p").QueryRow("SELECT COALESCE(GROUP_CONCAT(id ORDER BY id), '') FROM t").Scan(&ids); err != nil {
			return err
		}
		if ids != "1,2" {
			return fmt.Errorf("healed node has rows %q, want 1,2", ids)
		}
		return nil
	})
	eventually(t, 60*time.Second, func() error {
		_, err := nodes[2].DB(t, "p").Exec("REPLACE INTO t VALUES (4, 'healed')")
		return err // 1180 until its gossip sees a quorum again
	})

	// One link: nodes 1 and 2 lose each other, both still reach node 3.
	cutLink(t, nodes[0], nodes[1])
	mustExec(t, nodes[0].DB(t, "p"), "INSERT INTO t VALUES (5, 'via 3')") // node 3's vote is the quorum
	eventually(t, 30*time.Second, func() error {
		states, err := memberStates(nodes[0])
		if err != nil {
			return err
		}
		if s := states[2]; s != "suspect" && s != "dead" {
			return fmt.Errorf("node 1 sees node 2 %s across the cut link", s)
		}
		if s := states[3]; s != "alive" {
			return fmt.Errorf("node 1 sees node 3 %s; its link is up", s)
		}
		return nil
	})
	heal(t, nodes)
}

// TestClockSkewHook: a node whose clock runs 10 s ahead commits change sets
// stamped 10 s ahead; set back 10 s behind, it still commits, and its HLC
// holds instead of running backwards.
func TestClockSkewHook(t *testing.T) {
	_, marmotctl := binaries(t)
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE sk")
	db := n.DB(t, "sk")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")

	skewClock(t, n, 10*time.Second)
	before := time.Now()
	mustExec(t, db, "INSERT INTO t VALUES (1)")
	after := time.Now()
	skewClock(t, n, -10*time.Second)
	mustExec(t, db, "INSERT INTO t VALUES (2)")

	n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, marmotctl, "log", "list", "--data-dir", n.Dir, "--db", "sk", "--json").Output()
	if err != nil {
		t.Fatalf("marmotctl log list: %v", err)
	}
	type hlc struct{ wall, logical int64 }
	var rows []hlc
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e struct {
			HLC  string `json:"hlc"`
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if e.Kind != "rows" {
			continue
		}
		var h hlc
		var node uint64
		if _, err := fmt.Sscanf(e.HLC, "%d.%d@%d", &h.wall, &h.logical, &node); err != nil {
			t.Fatalf("HLC %q: %v", e.HLC, err)
		}
		rows = append(rows, h)
	}
	if len(rows) != 2 {
		t.Fatalf("want 2 row change sets, got %d:\n%s", len(rows), out)
	}
	lo, hi := before.Add(10*time.Second).UnixMilli(), after.Add(10*time.Second).UnixMilli()
	if rows[0].wall < lo || rows[0].wall > hi {
		t.Fatalf("change set written 10 s ahead has wall %d, want within [%d, %d] (real time + 10 s)", rows[0].wall, lo, hi)
	}
	if rows[1].wall < rows[0].wall || (rows[1].wall == rows[0].wall && rows[1].logical <= rows[0].logical) {
		t.Fatalf("HLC went backwards after the clock was set back: %v then %v", rows[0], rows[1])
	}
	if rows[1].wall > rows[0].wall+1000 {
		t.Fatalf("HLC after the clock was set back 20 s advanced its wall by %d ms; it must hold", rows[1].wall-rows[0].wall)
	}
}
