package main

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseMix(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    opMix
		wantErr string
	}{
		{in: "read=20,update=30,insert=35,delete=5,upsert=10", want: defaultMix},
		{in: " upsert = 10 , READ=20,update=30,insert=35,delete=5", want: defaultMix},
		{in: "read=1", want: opMix{opRead: 1}},
		{in: "insert=3,delete=0", want: opMix{opInsert: 3}},
		{in: "read=1,foo=2", wantErr: `invalid mix entry "foo=2"`},
		{in: "read", wantErr: `invalid mix entry "read"`},
		{in: "", wantErr: `invalid mix entry ""`},
		{in: "read=1,read=2", wantErr: "read given twice"},
		{in: "read=-1,update=2", wantErr: `invalid mix weight "-1" for read`},
		{in: "read=x", wantErr: `invalid mix weight "x" for read`},
		{in: "read=0,update=0", wantErr: "all weights are 0"},
	} {
		got, err := parseMix(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("parseMix(%q) error %v, want one containing %q", tc.in, err, tc.wantErr)
		case tc.wantErr == "" && err != nil:
			t.Errorf("parseMix(%q): %v", tc.in, err)
		case tc.wantErr == "" && got != tc.want:
			t.Errorf("parseMix(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// Round trip: what String prints, parseMix reads back.
func TestMixString(t *testing.T) {
	if got, want := defaultMix.String(), "read=20,update=30,insert=35,delete=5,upsert=10"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	for _, m := range []opMix{defaultMix, {opDelete: 7}, {1, 2, 3, 4, 5}} {
		if got, err := parseMix(m.String()); err != nil || got != m {
			t.Errorf("parseMix(%q) = %v, %v", m.String(), got, err)
		}
	}
}

// pick gives each kind exactly its weight's share of [0, total).
func TestMixPick(t *testing.T) {
	for _, m := range []opMix{defaultMix, {opRead: 1}, {opUpdate: 2, opUpsert: 3}, {1, 1, 1, 1, 1}} {
		var got opMix
		for r := range m.total() {
			got[m.pick(r)]++
		}
		if got != m {
			t.Errorf("%v: picks over [0, %d) = %v", m, m.total(), got)
		}
	}
}

// planMixed draws kinds by weight (over many draws each share is within a
// percentage point of its weight), gives INSERTs new keys in order and
// draws the others from the existing keys.
func TestPlanMixed(t *testing.T) {
	b := &bench{cfg: benchConfig{mix: defaultMix, opsPerTx: 10}}
	b.keys.reset(1000)
	rng := rand.New(rand.NewPCG(1, 2))
	var counts [numOps]int
	const txs = 10000
	inserted := int64(0)
	for range txs {
		for _, o := range b.planMixed(rng) {
			counts[o.kind]++
			switch {
			case o.kind == opInsert:
				if o.key != 1000+inserted {
					t.Fatalf("insert %d got key %d, want the next new key %d", inserted, o.key, 1000+inserted)
				}
				inserted++
			case o.key < 0 || o.key >= 1000:
				t.Fatalf("%v of key %d outside the existing keys [0, 1000)", o.kind, o.key)
			}
			if o.field < 0 || o.field >= benchFields {
				t.Fatalf("field %d", o.field)
			}
		}
	}
	for k, w := range defaultMix {
		share := float64(counts[k]) / (txs * 10)
		if want := float64(w) / 100; share < want-0.01 || share > want+0.01 {
			t.Errorf("%s: share %.3f, want %.2f", opKind(k), share, want)
		}
	}
}

// The watermark moves past a key only when every key below it finished.
func TestKeySpace(t *testing.T) {
	var k keySpace
	k.reset(10)
	for want := int64(10); want < 14; want++ {
		if got := k.reserve(); got != want {
			t.Fatalf("reserve = %d, want %d", got, want)
		}
	}
	for _, step := range []struct{ finish, size int64 }{{11, 10}, {13, 10}, {10, 12}, {12, 14}} {
		k.finish(step.finish)
		if got := k.size(); got != step.size {
			t.Fatalf("after finish(%d): size %d, want %d", step.finish, got, step.size)
		}
	}
	if got := k.reserve(); got != 14 {
		t.Fatalf("reserve after finishing = %d, want 14", got)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		d := make([]time.Duration, len(xs))
		for i, x := range xs {
			d[i] = time.Duration(x) * time.Millisecond
		}
		return d
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample", ms(7), 50, 7 * time.Millisecond},
		{"one sample p99", ms(7), 99, 7 * time.Millisecond},
		{"1..100 p50", ms(hundred...), 50, 50 * time.Millisecond},
		{"1..100 p90", ms(hundred...), 90, 90 * time.Millisecond},
		{"1..100 p99", ms(hundred...), 99, 99 * time.Millisecond},
		{"1..100 max", ms(hundred...), 100, 100 * time.Millisecond},
		{"nearest rank rounds up", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"nearest rank rounds up p51", ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"tail", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 95, 500 * time.Millisecond},
		{"tail p90", ms(1, 1, 1, 1, 1, 1, 1, 1, 1, 500), 90, 1 * time.Millisecond},
	} {
		if got := percentile(tc.samples, tc.p); got != tc.want {
			t.Errorf("%s: percentile(p%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestPhaseStatsResult(t *testing.T) {
	var a, b phaseStats
	a.commit([]op{{kind: opRead}, {kind: opInsert}}, 30*time.Millisecond)
	b.commit([]op{{kind: opInsert}}, 10*time.Millisecond)
	b.retries, b.errors = 2, 1
	a.merge(&b)
	r := a.result("mixed", 2*time.Second, nil)
	if r.Ops != 3 || r.Transactions != 2 || r.OpsPerSec != 1.5 || r.TxPerSec != 1 || r.Errors != 1 || r.Retries != 2 {
		t.Fatalf("result %+v", r)
	}
	if r.LatencyMS.P50 != 10 || r.LatencyMS.P99 != 30 || r.LatencyMS.Max != 30 {
		t.Fatalf("latency %+v", r.LatencyMS)
	}
	if r.byOp[opInsert] != 2 || r.byOp[opRead] != 1 {
		t.Fatalf("by op %v", r.byOp)
	}
}

func TestErrorLogKeepsFirstDistinct(t *testing.T) {
	var l errorLog
	for i := range 20 {
		l.add(errors.New(strings.Repeat("e", i%7+1)))
	}
	got := l.samples()
	if len(got) != maxErrorSamples || got[0].Message != "e" || got[0].Count != 3 || got[4].Count != 3 {
		t.Fatalf("samples %+v", got)
	}
}

func TestBenchKey(t *testing.T) {
	for _, n := range []int64{0, 1, 199999, 999999999999} {
		k := benchKey(n)
		if got, err := parseBenchKey(k); err != nil || got != n {
			t.Errorf("parseBenchKey(%q) = %d, %v", k, got, err)
		}
	}
	if benchKey(9) >= benchKey(10) {
		t.Errorf("key text order is not numeric order: %q >= %q", benchKey(9), benchKey(10))
	}
	for _, bad := range []string{"", "user", "user12", "x000000000001", "user-00000000001", "user00000000000x"} {
		if _, err := parseBenchKey(bad); err == nil {
			t.Errorf("parseBenchKey(%q) accepted", bad)
		}
	}
}

func TestParseBenchFlags(t *testing.T) {
	cfg, err := parseBenchFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.hosts, []string{"127.0.0.1:3306"}) || cfg.user != "root" || cfg.password != "" || cfg.db != "bench" ||
		cfg.records != 200000 || cfg.threads != 16 || cfg.opsPerTx != 10 || cfg.duration != time.Minute || cfg.mix != defaultMix ||
		cfg.maxRetries != 10 || cfg.verifyTimeout != 30*time.Second || len(cfg.phases) != 3 || cfg.drop || !cfg.interpolate || cfg.asJSON {
		t.Fatalf("defaults %+v", cfg)
	}

	cfg, err = parseBenchFlags([]string{"--hosts", "a:1, b:2,c:3", "--mix", "read=1", "--phases", "verify,load", "--records", "0",
		"--duration", "3s", "--json", "--drop", "--interpolate-params=false"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.hosts, []string{"a:1", "b:2", "c:3"}) || cfg.mix != (opMix{opRead: 1}) || cfg.records != 0 ||
		!cfg.phases["verify"] || !cfg.phases["load"] || cfg.phases["mixed"] || cfg.duration != 3*time.Second || !cfg.asJSON || !cfg.drop || cfg.interpolate {
		t.Fatalf("parsed %+v", cfg)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--hosts", "a:1,,b:2"}, `--hosts: invalid host ""`},
		{[]string{"--hosts", "localhost"}, `invalid host "localhost"`},
		{[]string{"--hosts", "a:"}, `invalid host "a:"`},
		{[]string{"--phases", "load,warmup"}, `unknown phase "warmup"`},
		{[]string{"--mix", "read=0"}, "all weights are 0"},
		{[]string{"--db", "a-b"}, `--db "a-b"`},
		{[]string{"--db", ""}, `--db ""`},
		{[]string{"--records", "-1"}, "--records"},
		{[]string{"--threads", "0"}, "--threads"},
		{[]string{"--ops-per-tx", "0"}, "--ops-per-tx"},
		{[]string{"--duration", "0s"}, "--duration"},
		{[]string{"--max-retries", "-1"}, "--max-retries"},
		{[]string{"--verify-timeout", "0s"}, "--verify-timeout"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		_, err := parseBenchFlags(tc.args, &bytes.Buffer{})
		var ue *usageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want a usage error containing %q", tc.args, err, tc.want)
		}
	}
}

func TestStatesAgree(t *testing.T) {
	ok := hostState{Rows: 3, Checksum: "ab"}
	for _, tc := range []struct {
		name   string
		states []hostState
		want   bool
	}{
		{"one host", []hostState{ok}, true},
		{"equal", []hostState{ok, ok, ok}, true},
		{"row count differs", []hostState{ok, {Rows: 4, Checksum: "ab"}}, false},
		{"checksum differs", []hostState{ok, {Rows: 3, Checksum: "cd"}}, false},
		{"not scanned", []hostState{{Rows: 3}, {Rows: 3}}, false},
		{"error", []hostState{ok, {Rows: 3, Checksum: "ab", Error: "boom"}}, false},
	} {
		if got := statesAgree(tc.states); got != tc.want {
			t.Errorf("%s: statesAgree = %v", tc.name, got)
		}
		// Counts alone agree unless a count or an error differs.
		wantCounts := tc.name != "row count differs" && tc.name != "error"
		if got := countsAgree(tc.states); got != wantCounts {
			t.Errorf("%s: countsAgree = %v", tc.name, got)
		}
	}
}

func TestWriteBenchReport(t *testing.T) {
	r := benchReport{Hosts: []string{"h:1", "h:2"}, DB: "bench", Threads: 4, OpsPerTx: 10, Mix: defaultMix.String(),
		Phases: []phaseResult{{Phase: "mixed", Ops: 10, OpCounts: map[string]int64{"read": 2, "insert": 8},
			ErrorSamples: []errorSample{{Message: "Error 1062", Count: 2}}}},
		Verify: &verifyResult{OK: true, ConvergedAfterS: 1.5, Polls: 3, Hosts: []hostState{{Rows: 5, Checksum: "0123456789abcdef0123"}, {Rows: 5, Checksum: "0123456789abcdef0123"}}}}
	var out bytes.Buffer
	if err := writeBenchReport(&out, r, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p99 ms", "read 2 (20.0%)", "insert 8 (80.0%)", "mixed error (2x): Error 1062", "verify: OK, 2 hosts agree: 5 rows", "converged within 1.50s", "sha256 0123456789abcdef\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}
