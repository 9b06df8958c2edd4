package e2e

import (
	"fmt"
	"net/http"
	"testing"

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
}
