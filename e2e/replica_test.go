package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// replicaEnv makes a replica that follows with secret and fails over fast.
func replicaEnv(secret string) []string {
	return []string{"MARMOT_REPLICA_ENABLED=true", "MARMOT_REPLICA_SECRET=" + secret, "MARMOT_NODE_ID=50",
		"MARMOT_REPLICA_DISCOVERY_INTERVAL_SECONDS=1", "MARMOT_REPLICA_RECONNECT_INTERVAL_SECONDS=1",
		"MARMOT_REPLICA_FAILOVER_TIMEOUT_SECONDS=10"}
}

// startReplica starts a replica following the given cluster nodes
// (--follow-addresses) and waits until its MySQL port answers.
func startReplica(t *testing.T, secret string, follow []*Node) *Node {
	t.Helper()
	var addrs []string
	for _, n := range follow {
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", n.HTTPPort))
	}
	r := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: replicaEnv(secret),
		Args: []string{"--follow-addresses", strings.Join(addrs, ",")}}
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

var reSource = regexp.MustCompile(`msg="replica following source".* source=(\S+)`)

// replicaSource is the cluster node the replica said it follows last.
func replicaSource(r *Node) string {
	m := reSource.FindAllStringSubmatch(r.Logs(), -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// rowCount polls-friendly COUNT(*) of table on n.
func rowCount(t *testing.T, n *Node, db, table string) (int, error) {
	var c int
	err := n.DB(t, db).QueryRow("SELECT COUNT(*) FROM " + table).Scan(&c)
	return c, err
}

func waitRows(t *testing.T, n *Node, db, table string, want int) {
	t.Helper()
	eventually(t, 60*time.Second, func() error {
		c, err := rowCount(t, n, db, table)
		if err != nil {
			return err
		}
		if c != want {
			return fmt.Errorf("%d rows in %s.%s, want %d", c, db, table, want)
		}
		return nil
	})
}

// TestReplicaFollowsCluster: a replica of a three-node cluster starts from
// a snapshot, follows writes made on every node, refuses writes with 1290,
// and keeps following when the node it streams from is killed.
func TestReplicaFollowsCluster(t *testing.T) {
	nodes := startClusterAt(t, 3, "cluster-secret", "ONE", "MARMOT_REPLICA_SECRET=replica-secret")
	db := setupAE(t, nodes)
	commitMany(t, db, "t", 1, 200)
	sameRows(t, nodes, "ae", "t", 200, 30*time.Second)

	r := startReplica(t, "replica-secret", nodes)
	waitRows(t, r, "ae", "t", 200)
	if logs := r.Logs(); !strings.Contains(logs, "snapshot installed") {
		t.Fatalf("the replica did not bootstrap from a snapshot:\n%s", logs)
	}

	// Writes on every node reach the replica through its one stream.
	for i, n := range nodes {
		commitMany(t, n.DB(t, "ae"), "t", 1000*(i+1), 50)
	}
	mustExec(t, nodes[1].DB(t, "ae"), "CREATE TABLE u (id INT PRIMARY KEY, v VARCHAR(40))")
	// At ONE the table reaches node 3 asynchronously.
	eventually(t, 30*time.Second, func() error {
		_, err := nodes[2].DB(t, "ae").Exec("SELECT COUNT(*) FROM u")
		return err
	})
	mustExec(t, nodes[2].DB(t, "ae"), "INSERT INTO u VALUES (1, 'ddl followed')")
	sameRows(t, append(nodes, r), "ae", "t", 350, 60*time.Second)
	waitRows(t, r, "ae", "u", 1)

	// Reads work; writes are refused as on a --read-only MySQL.
	rdb := r.DB(t, "ae")
	var ro int
	if err := rdb.QueryRow("SELECT @@read_only").Scan(&ro); err != nil || ro != 1 {
		t.Fatalf("@@read_only = %d, %v; want 1", ro, err)
	}
	for _, q := range []string{"INSERT INTO t (id, v) VALUES (99999, 'x')", "UPDATE t SET v = 'x'", "DELETE FROM t",
		"REPLACE INTO t (id, v) VALUES (1, 'x')", "CREATE TABLE w (id INT PRIMARY KEY)", "DROP TABLE t", "CREATE DATABASE nope", "DROP DATABASE ae"} {
		if _, err := rdb.Exec(q); mysqlCode(err) != 1290 || !strings.Contains(err.Error(), "--read-only") {
			t.Errorf("%s on the replica: %v, want error 1290", q, err)
		}
	}
	conn, err := rdb.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	mustExecConn := func(q string) error {
		_, err := conn.ExecContext(context.Background(), q)
		return err
	}
	if err := mustExecConn("BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := mustExecConn("INSERT INTO t (id, v) VALUES (99999, 'x')"); mysqlCode(err) != 1290 {
		t.Errorf("INSERT in a transaction on the replica: %v, want 1290", err)
	}
	if err := mustExecConn("ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()

	// Kill the node the replica streams from: it fails over to a survivor.
	var source string
	eventually(t, 10*time.Second, func() error {
		if source = replicaSource(r); source == "" {
			return fmt.Errorf("the replica names no source yet")
		}
		return nil
	})
	var survivors []*Node
	killed := false
	for _, n := range nodes {
		if fmt.Sprintf("127.0.0.1:%d", n.HTTPPort) == source {
			n.Kill()
			killed = true
		} else {
			survivors = append(survivors, n)
		}
	}
	if !killed {
		t.Fatalf("the replica's source %s is none of the cluster's nodes", source)
	}
	for i, n := range survivors {
		commitMany(t, n.DB(t, "ae"), "t", 5000+1000*i, 40)
	}
	waitRows(t, r, "ae", "t", 430)
	if now := replicaSource(r); now == source {
		t.Fatalf("the replica still names %s, which was killed, as its source:\n%s", source, r.Logs())
	}
	sameRows(t, append(survivors, r), "ae", "t", 430, 30*time.Second)
}

// TestReplicaWrongSecret: a replica with another secret is refused by the
// cluster (it says so in its log) and receives nothing.
func TestReplicaWrongSecret(t *testing.T) {
	nodes := startClusterAt(t, 1, "cluster-secret", "ONE", "MARMOT_REPLICA_SECRET=replica-secret")
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE guarded")
	r := startReplica(t, "wrong-secret", nodes)
	eventually(t, 30*time.Second, func() error {
		if !strings.Contains(r.Logs(), "refused the replica's credentials") {
			return fmt.Errorf("no authentication error in the replica's log yet")
		}
		return nil
	})
	out, err := r.MySQL(t, "SHOW DATABASES")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if strings.Contains(out, "guarded") || strings.Contains(out, "marmot") {
		t.Fatalf("a replica with the wrong secret got data:\n%s", out)
	}
}

// TestReplicaExcludesClusterMode: replica and cluster settings together
// stop start-up with a message that names both.
func TestReplicaExcludesClusterMode(t *testing.T) {
	marmotd, _ := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, marmotd, "--data-dir", t.TempDir(), "--follow-addresses", "127.0.0.1:1")
	cmd.Env = append(filteredEnv(), "MARMOT_REPLICA_ENABLED=true", "MARMOT_REPLICA_SECRET=r",
		"MARMOT_CLUSTER_SEED_NODES=127.0.0.1:2", "MARMOT_CLUSTER_SECRET=c")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "cluster.seed_nodes") || !strings.Contains(string(out), "mutually exclusive") {
		t.Fatalf("marmotd started with replica and cluster mode, or said nothing useful: %v\n%s", err, out)
	}
}
