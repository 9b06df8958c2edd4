package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches and parses a node's /metrics with the Prometheus text
// parser.
func scrape(t *testing.T, n *Node) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", n.HTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// metricValue sums a counter, gauge or histogram count over the series
// whose labels include want.
func metricValue(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	sum := 0.0
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

// TestClusterMetrics: the commit, log and membership metrics exist and
// move under QUORUM writes.
func TestClusterMetrics(t *testing.T) {
	nodes := startClusterAt(t, 3, "metrics-secret", "QUORUM")
	before := scrape(t, nodes[0])
	db := nodes[0].DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE m (id INT PRIMARY KEY, v INT)")
	for i := 0; i < 20; i++ {
		mustExec(t, db, "INSERT INTO m VALUES (?, ?)", i, i)
	}
	after := scrape(t, nodes[0])
	committed := map[string]string{"level": "QUORUM", "outcome": "committed"}
	if d := metricValue(after, "marmot_distributed_commits_total", committed) - max(0, metricValue(before, "marmot_distributed_commits_total", committed)); d < 21 {
		t.Errorf("marmot_distributed_commits_total{QUORUM,committed} grew by %v, want >= 21", d)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{"marmot_distributed_commit_seconds", map[string]string{"level": "QUORUM"}},
		{"marmot_prepare_votes_total", map[string]string{"vote": "yes"}},
		{"marmot_log_append_seconds", nil},
		{"marmot_log_batch_entries", nil},
		{"marmot_log_entries_total", map[string]string{"origin": "local"}},
	} {
		if v := metricValue(after, c.name, c.labels); v <= 0 {
			t.Errorf("%s%v = %v, want > 0", c.name, c.labels, v)
		}
	}
	if v := metricValue(after, "marmot_cluster_members", map[string]string{"state": "alive"}); v != 3 {
		t.Errorf("marmot_cluster_members{alive} = %v, want 3", v)
	}
	// The other nodes' logs took the writes as remote entries.
	if v := metricValue(scrape(t, nodes[1]), "marmot_log_entries_total", map[string]string{"origin": "remote"}); v < 21 {
		t.Errorf("node 2 marmot_log_entries_total{remote} = %v, want >= 21", v)
	}

	// A transaction on node 2 whose row node 1 changes before its COMMIT
	// conflicts (1213), and node 2 counts the abort.
	db2 := nodes[1].DB(t, "marmot")
	eventually(t, 30*time.Second, func() error {
		var v int
		return db2.QueryRow("SELECT v FROM m WHERE id = 1").Scan(&v)
	})
	conflict := map[string]string{"reason": "conflict"}
	abortedBefore := metricValue(scrape(t, nodes[1]), "marmot_transactions_aborted_total", conflict)
	tx, err := db2.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE m SET v = v + 100 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "UPDATE m SET v = v + 1 WHERE id = 1")
	if err := tx.Commit(); mysqlCode(err) != 1213 {
		t.Fatalf("COMMIT after another node changed the row: %v, want 1213", err)
	}
	if d := metricValue(scrape(t, nodes[1]), "marmot_transactions_aborted_total", conflict) - abortedBefore; d < 1 {
		t.Errorf("node 2 marmot_transactions_aborted_total{conflict} grew by %v, want >= 1", d)
	}
}

// TestMySQLMetrics: the frontend's connection, query and transaction
// metrics and the materializer's apply and lag metrics exist and move
// under a small single-node load.
func TestMySQLMetrics(t *testing.T) {
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t),
		Env: []string{"MARMOT_TRANSACTION_LOCK_WAIT_TIMEOUT_SECONDS=1"}}
	n.Start()
	t.Cleanup(n.Stop)
	before := scrape(t, n)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE q (id INT PRIMARY KEY, v INT)")
	for i := range 10 {
		mustExec(t, db, "INSERT INTO q VALUES (?, ?)", i, i)
	}
	for i := range 3 {
		mustExec(t, db, "UPDATE q SET v = v + 1 WHERE id = ?", i)
	}
	mustExec(t, db, "DELETE FROM q WHERE id >= 8")
	for range 5 {
		var c int
		if err := db.QueryRow("SELECT COUNT(*) FROM q").Scan(&c); err != nil || c != 8 {
			t.Fatalf("count %d, %v", c, err)
		}
	}
	// An open transaction holds the writer: an autocommit write waits for
	// it past lock_wait_timeout (1 s here) and its transaction aborts.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE q SET v = 100 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("UPDATE q SET v = 0 WHERE id = 2"); mysqlCode(err) != 1205 {
		t.Fatalf("write behind an open transaction: %v, want 1205", err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := openDSN(t, fmt.Sprintf("root:wrong@tcp(127.0.0.1:%d)/?timeout=10s", n.MySQLPort)).Ping(); mysqlCode(err) != 1045 {
		t.Fatalf("wrong password: %v, want 1045", err)
	}
	after := scrape(t, n)

	grew := func(name string, labels map[string]string, want float64) {
		t.Helper()
		if d := metricValue(after, name, labels) - max(0, metricValue(before, name, labels)); d < want {
			t.Errorf("%s%v grew by %v, want >= %v", name, labels, d, want)
		}
	}
	grew("marmot_mysql_queries_total", map[string]string{"kind": "ddl"}, 1)
	grew("marmot_mysql_queries_total", map[string]string{"kind": "insert"}, 10)
	grew("marmot_mysql_queries_total", map[string]string{"kind": "update"}, 5)
	grew("marmot_mysql_queries_total", map[string]string{"kind": "delete"}, 1)
	grew("marmot_mysql_queries_total", map[string]string{"kind": "select"}, 5)
	grew("marmot_mysql_queries_total", map[string]string{"kind": "other"}, 2) // BEGIN, COMMIT
	grew("marmot_mysql_connections_total", nil, 3)
	grew("marmot_mysql_connections_refused_total", map[string]string{"reason": "auth"}, 1)
	grew("marmot_transactions_committed_total", nil, 15)
	grew("marmot_commit_seconds", nil, 15)
	grew("marmot_transactions_aborted_total", map[string]string{"reason": "timeout"}, 1)
	grew("marmot_materializer_applied_total", map[string]string{"db": "marmot"}, 15)
	grew("marmot_materializer_apply_seconds", nil, 1)
	if v := metricValue(after, "marmot_mysql_connections", nil); v < 1 {
		t.Errorf("marmot_mysql_connections = %v, want >= 1 (this test's pool)", v)
	}
	for _, name := range []string{"marmot_materializer_pending_change_sets", "marmot_materializer_lag_seconds"} {
		if v := metricValue(after, name, map[string]string{"db": "marmot"}); v < 0 {
			t.Errorf("%s{db=marmot} missing", name)
		}
	}
	for _, reason := range []string{"conflict", "quorum", "other"} {
		if v := metricValue(after, "marmot_transactions_aborted_total", map[string]string{"reason": reason}); v < 0 {
			t.Errorf("marmot_transactions_aborted_total{reason=%q} missing", reason)
		}
	}
}
