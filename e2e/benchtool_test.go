package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// benchToolReport is the part of `marmotctl bench --json` the tests check.
type benchToolReport struct {
	Phases []struct {
		Phase        string  `json:"phase"`
		Ops          int64   `json:"ops"`
		Transactions int64   `json:"transactions"`
		OpsPerSec    float64 `json:"ops_per_sec"`
		Errors       int64   `json:"errors"`
		Retries      int64   `json:"retries"`
		LatencyMS    struct {
			P99 float64 `json:"p99"`
		} `json:"latency_ms"`
		OpCounts     map[string]int64  `json:"op_counts"`
		ErrorSamples []json.RawMessage `json:"error_samples"`
	} `json:"phases"`
	Verify *struct {
		OK              bool    `json:"ok"`
		ConvergedAfterS float64 `json:"converged_after_s"`
		Hosts           []struct {
			Host     string `json:"host"`
			Rows     int64  `json:"rows"`
			Checksum string `json:"sha256"`
		} `json:"hosts"`
	} `json:"verify"`
}

// runBenchTool runs the built marmotctl bench against nodes with a small
// workload and returns its JSON report; a non-zero exit fails the test.
func runBenchTool(t *testing.T, nodes []*Node, extra ...string) benchToolReport {
	t.Helper()
	_, marmotctl := binaries(t)
	hosts := make([]string, len(nodes))
	for i, n := range nodes {
		hosts[i] = fmt.Sprintf("127.0.0.1:%d", n.MySQLPort)
	}
	args := append([]string{"bench", "--hosts", strings.Join(hosts, ","), "--records", "2000", "--threads", "4", "--duration", "3s", "--json"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, marmotctl, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("marmotctl %s: %v\nstderr:\n%s\nstdout:\n%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	var r benchToolReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("bench --json output is not JSON: %v\n%s", err, stdout.String())
	}
	return r
}

// checkBenchReport: every phase did work without errors and verify found
// all hosts equal. The row count verify reports is also checked against
// each node directly, so the tool is not its own only witness.
func checkBenchReport(t *testing.T, r benchToolReport, nodes []*Node, phases ...string) {
	t.Helper()
	if len(r.Phases) != len(phases) {
		t.Fatalf("phases %+v, want %v", r.Phases, phases)
	}
	for i, p := range r.Phases {
		if p.Phase != phases[i] || p.Ops <= 0 || p.Transactions <= 0 || p.OpsPerSec <= 0 || p.LatencyMS.P99 <= 0 || p.Errors != 0 {
			t.Fatalf("phase %d: %+v, want %s with ops and no errors", i, p, phases[i])
		}
		t.Logf("%s: %d ops, %.0f ops/s, p99 %.1f ms, %d retries", p.Phase, p.Ops, p.OpsPerSec, p.LatencyMS.P99, p.Retries)
	}
	if mixed := r.Phases[len(r.Phases)-1]; mixed.Phase == "mixed" {
		for _, kind := range []string{"read", "update", "insert", "delete", "upsert"} {
			if mixed.OpCounts[kind] == 0 {
				t.Errorf("mixed phase ran no %s: %v", kind, mixed.OpCounts)
			}
		}
	}
	v := r.Verify
	if v == nil || !v.OK || len(v.Hosts) != len(nodes) {
		t.Fatalf("verify %+v, want OK on %d hosts", v, len(nodes))
	}
	t.Logf("verify: %d rows agree after %.2fs", v.Hosts[0].Rows, v.ConvergedAfterS)
	for i, n := range nodes {
		var rows int64
		if err := n.DB(t, "bench").QueryRow("SELECT COUNT(*) FROM benchmarks").Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if h := v.Hosts[i]; rows != h.Rows || h.Checksum != v.Hosts[0].Checksum || h.Rows < 2000 {
			t.Fatalf("node %d has %d rows; verify reported %+v", i+1, rows, v.Hosts)
		}
	}
}

// TestBenchToolSingleNode: the full benchmark against one node; then a
// second, shorter run on the same table without --drop, with server-side
// prepared statements, must continue the key space without duplicate keys.
func TestBenchToolSingleNode(t *testing.T) {
	n := StartNode(t)
	nodes := []*Node{n}
	r := runBenchTool(t, nodes)
	checkBenchReport(t, r, nodes, "load", "mixed")
	before := r.Verify.Hosts[0].Rows

	r = runBenchTool(t, nodes, "--records", "500", "--duration", "1s", "--interpolate-params=false")
	checkBenchReport(t, r, nodes, "load", "mixed")
	if got := r.Verify.Hosts[0].Rows; got < before+500-int64(r.Phases[1].OpCounts["delete"]) {
		t.Fatalf("second run: %d rows, had %d before and loaded 500 more", got, before)
	}
}

// TestBenchToolCluster: the benchmark spread over three nodes replicating
// at ONE; verify polls until the asynchronous replication converges.
func TestBenchToolCluster(t *testing.T) {
	nodes := startCluster(t, 3, "s3cret-for-bench")
	r := runBenchTool(t, nodes)
	checkBenchReport(t, r, nodes, "load", "mixed")
}
