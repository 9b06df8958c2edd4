package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// latencyRecorder keeps, per received row event, commit -> receipt.
type latencyRecorder struct {
	mu     sync.Mutex
	phase  string
	lat    map[string][]time.Duration
	events map[string]int
	bad    int
}

// sourceTS returns source.ts_ms of a Debezium value without decoding the
// whole envelope (the consumer shares two cores with three nodes).
func sourceTS(v []byte) (int64, bool) {
	i := bytes.Index(v, []byte(`"source":{`))
	if i < 0 {
		return 0, false
	}
	j := bytes.Index(v[i:], []byte(`"ts_ms":`))
	if j < 0 {
		return 0, false
	}
	rest := v[i+j+len(`"ts_ms":`):]
	k := bytes.IndexAny(rest, ",}")
	if k < 0 {
		return 0, false
	}
	ms, err := strconv.ParseInt(string(rest[:k]), 10, 64)
	return ms, err == nil
}

func (r *latencyRecorder) record(m *nats.Msg) {
	now := time.Now()
	ms, ok := sourceTS(m.Data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if !ok {
		r.bad++
		return
	}
	r.events[r.phase]++
	r.lat[r.phase] = append(r.lat[r.phase], now.Sub(time.UnixMilli(ms)))
}

func (r *latencyRecorder) setPhase(p string) {
	r.mu.Lock()
	r.phase = p
	r.mu.Unlock()
}

func (r *latencyRecorder) report(p string) (n int, p50, p99, maxLat time.Duration) {
	r.mu.Lock()
	lat := slices.Clone(r.lat[p])
	r.mu.Unlock()
	if len(lat) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(lat)
	return len(lat), lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
}

// TestOutboxClusterLatencyBench measures commit -> consumer latency of CDC
// events under the cluster benchmark's load: three real marmotd nodes at
// QUORUM, each publishing its own change sets to an in-process NATS
// server with JetStream (stream CDC on marmot.cdc.>), while `marmotctl
// bench` drives them (load phase, then the mixed workload). A core NATS
// subscriber in this process takes each event's commit time from
// source.ts_ms (the commit HLC's wall clock, the same machine clock) and
// its own receipt time. It is a benchmark, not a CI test:
//
//	MARMOT_OUTBOX_BENCH=1 go test -tags "sqlite_preupdate_hook sqlite_math_functions" \
//	    -run TestOutboxClusterLatencyBench -v -timeout 30m ./e2e/
//
// MARMOT_OUTBOX_BENCH_RECORDS (default 200000) and
// MARMOT_OUTBOX_BENCH_DURATION (default 60s) size the load as
// bench/cluster.sh does; MARMOT_OUTBOX_BENCH_THREADS (default 16).
func TestOutboxClusterLatencyBench(t *testing.T) {
	if os.Getenv("MARMOT_OUTBOX_BENCH") == "" {
		t.Skip("a benchmark: set MARMOT_OUTBOX_BENCH=1 to run it")
	}
	records := envOr("MARMOT_OUTBOX_BENCH_RECORDS", "200000")
	duration := envOr("MARMOT_OUTBOX_BENCH_DURATION", "60s")
	threads := envOr("MARMOT_OUTBOX_BENCH_THREADS", "16")

	ns := startNATS(t, freePort(t), t.TempDir())
	t.Cleanup(ns.Shutdown)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "CDC", Subjects: []string{"marmot.cdc.>"}, Duplicates: 2 * time.Minute})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	rec := &latencyRecorder{phase: "setup", lat: map[string][]time.Duration{}, events: map[string]int{}}
	sub, err := nc.Subscribe("marmot.cdc.bench.>", rec.record)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		t.Fatal(err)
	}

	nodes := startClusterAt(t, 3, "outbox-bench-secret", "QUORUM", "MARMOT_PUBLISHER_ENABLED=true",
		"MARMOT_PUBLISHER_TAKEOVER_AFTER_MS=30000", "MARMOT_PUBLISHER_SINKS_0_NAME=nats-bench",
		"MARMOT_PUBLISHER_SINKS_0_TYPE=nats", "MARMOT_PUBLISHER_SINKS_0_NATS_URL="+ns.ClientURL())
	hosts := make([]string, len(nodes))
	for i, n := range nodes {
		hosts[i] = fmt.Sprintf("127.0.0.1:%d", n.MySQLPort)
	}
	_, marmotctl := binaries(t)
	bench := func(phase string, args ...string) benchToolReport {
		rec.setPhase(phase)
		args = append([]string{"bench", "--hosts", strings.Join(hosts, ","), "--records", records, "--threads", threads,
			"--duration", duration, "--json", "--phases", phase}, args...)
		cmd := exec.Command(marmotctl, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("marmotctl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		var r benchToolReport
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("bench output: %v\n%s", err, stdout.String())
		}
		return r
	}
	seconds := map[string]float64{}
	for _, phase := range []string{"load", "mixed"} {
		start := time.Now()
		r := bench(phase)
		for _, p := range r.Phases {
			t.Logf("marmotctl bench %s: %d ops, %.0f ops/s, %d transactions, client p99 %.1f ms, %d errors",
				p.Phase, p.Ops, p.OpsPerSec, p.Transactions, p.LatencyMS.P99, p.Errors)
		}
		// The tail: wait until the publishers are idle (no new event for
		// 2 s), so the phase's last events count in it; its events/s is
		// over the phase and its tail.
		last, lastN := time.Now(), -1
		eventually(t, 5*time.Minute, func() error {
			rec.mu.Lock()
			n := rec.events[phase]
			rec.mu.Unlock()
			if n != lastN {
				last, lastN = time.Now(), n
			}
			if time.Since(last) < 2*time.Second {
				return fmt.Errorf("events still arriving (%d)", n)
			}
			return nil
		})
		seconds[phase] = last.Sub(start).Seconds()
	}
	r := bench("verify")
	if r.Verify == nil || !r.Verify.OK {
		t.Errorf("verify: %+v", r.Verify)
	}
	load, _ := os.ReadFile("/proc/loadavg")
	for _, phase := range []string{"load", "mixed"} {
		n, p50, p99, mx := rec.report(phase)
		t.Logf("%s: %d events in %.1f s (%.0f events/s); commit -> consumer latency P50 %v, P99 %v, max %v", phase, n, seconds[phase],
			float64(n)/seconds[phase], p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond), mx.Round(time.Millisecond))
	}
	t.Logf("unparsable events: %d; load average at the end: %s", rec.bad, strings.TrimSpace(string(load)))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
