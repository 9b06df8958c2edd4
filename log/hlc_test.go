package log

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// manualClock is an injectable physical clock. Safe for concurrent use.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock(ms int64) *manualClock { return &manualClock{t: time.UnixMilli(ms)} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) SetMS(ms int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = time.UnixMilli(ms)
}

func (c *manualClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seqClock returns the given wall times (ms) in turn, then repeats the last.
func seqClock(ms ...int64) func() time.Time {
	var mu sync.Mutex
	i := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		v := ms[min(i, len(ms)-1)]
		i++
		return time.UnixMilli(v)
	}
}

func sign(x int) int {
	switch {
	case x < 0:
		return -1
	case x > 0:
		return 1
	}
	return 0
}

func TestTimestampCompare(t *testing.T) {
	tests := []struct {
		name string
		a, b Timestamp
		want int
	}{
		{"zero equal", Timestamp{}, Timestamp{}, 0},
		{"equal", Timestamp{5, 6, 7}, Timestamp{5, 6, 7}, 0},
		{"wall less", Timestamp{4, 9, 9}, Timestamp{5, 0, 0}, -1},
		{"wall greater", Timestamp{6, 0, 0}, Timestamp{5, 9, 9}, 1},
		{"logical less", Timestamp{5, 1, 9}, Timestamp{5, 2, 0}, -1},
		{"logical greater", Timestamp{5, 3, 0}, Timestamp{5, 2, 9}, 1},
		{"node less", Timestamp{5, 2, 1}, Timestamp{5, 2, 2}, -1},
		{"node greater", Timestamp{5, 2, 3}, Timestamp{5, 2, 2}, 1},
		{"max logical", Timestamp{5, math.MaxUint32, 0}, Timestamp{6, 0, 0}, -1},
		{"max node", Timestamp{5, 0, math.MaxUint64}, Timestamp{5, 1, 0}, -1},
		{"zero first", Timestamp{}, Timestamp{0, 0, 1}, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.a.Compare(tc.b); got != tc.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := tc.b.Compare(tc.a); got != -tc.want {
				t.Errorf("%v.Compare(%v) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
			// The encoding must order the same way.
			if got := sign(bytes.Compare(tc.a.Append(nil), tc.b.Append(nil))); got != tc.want {
				t.Errorf("bytes.Compare(enc %v, enc %v) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

func TestTimestampAppendDecodeRoundTrip(t *testing.T) {
	tests := []Timestamp{
		{},
		{WallMS: 1, Logical: 2, Node: 3},
		{WallMS: 1_700_000_000_123, Logical: 0, Node: 1023},
		{WallMS: math.MaxInt64, Logical: math.MaxUint32, Node: math.MaxUint64},
	}
	for _, ts := range tests {
		t.Run(ts.String(), func(t *testing.T) {
			prefix := []byte("prefix")
			b := ts.Append(append([]byte(nil), prefix...))
			if len(b) != len(prefix)+TimestampLen {
				t.Fatalf("encoded length %d, want %d", len(b), len(prefix)+TimestampLen)
			}
			if !bytes.Equal(b[:len(prefix)], prefix) {
				t.Fatalf("Append clobbered its prefix: %q", b[:len(prefix)])
			}
			got, err := DecodeTimestamp(b[len(prefix):])
			if err != nil {
				t.Fatal(err)
			}
			if got != ts {
				t.Fatalf("round trip: got %v, want %v", got, ts)
			}
			if p := FromProto(ts.Proto()); p != ts {
				t.Fatalf("proto round trip: got %v, want %v", p, ts)
			}
		})
	}
	if _, err := DecodeTimestamp(make([]byte, TimestampLen-1)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short timestamp: err = %v, want ErrCorrupt", err)
	}
	if got := FromProto(nil); !got.IsZero() {
		t.Errorf("FromProto(nil) = %v, want zero", got)
	}
	if s := (Timestamp{WallMS: 12, Logical: 3, Node: 4}).String(); s != "12.3@4" {
		t.Errorf("String() = %q", s)
	}
	if tm := (Timestamp{WallMS: 1500}).Time(); !tm.Equal(time.UnixMilli(1500)) || tm.Location() != time.UTC {
		t.Errorf("Time() = %v", tm)
	}
}

// TestTimestampByteOrderMatchesCompare checks on random timestamps that the
// 20-byte encoding sorts exactly like Compare. Wall times are non-negative
// (Unix ms after 1970): the encoding stores WallMS as uint64, so negative
// wall times would sort after positive ones.
func TestTimestampByteOrderMatchesCompare(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gen := func() Timestamp {
		// Draw components from small sets half the time so that ties on the
		// leading components (and so the tie-breakers) are exercised.
		ts := Timestamp{WallMS: r.Int64N(math.MaxInt64), Logical: r.Uint32(), Node: r.Uint64()}
		if r.IntN(2) == 0 {
			ts.WallMS = r.Int64N(3)
		}
		if r.IntN(2) == 0 {
			ts.Logical = r.Uint32N(3)
		}
		if r.IntN(2) == 0 {
			ts.Node = r.Uint64N(3)
		}
		return ts
	}
	for i := 0; i < 20000; i++ {
		a, b := gen(), gen()
		want := a.Compare(b)
		if got := sign(bytes.Compare(a.Append(nil), b.Append(nil))); got != want {
			t.Fatalf("a=%v b=%v: Compare=%d, byte order=%d", a, b, want, got)
		}
		if back := b.Compare(a); back != -want {
			t.Fatalf("Compare not antisymmetric: a=%v b=%v: %d vs %d", a, b, want, back)
		}
	}
}

func TestClockNowStrictlyIncreasing(t *testing.T) {
	tests := []struct {
		name string
		now  func() time.Time
	}{
		{"frozen", seqClock(1_000)},
		{"backwards jumps", seqClock(1_000, 1_000, 999, 500, 1_001, 1_001, 2_000, 100, 2_000, 1_999, 0, 3_000, 2_999)},
		{"epoch", seqClock(0)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewClock(7, tc.now, 0, 0, nil)
			var prev Timestamp
			for i := 0; i < 200; i++ {
				ts, err := c.Now()
				if err != nil {
					t.Fatal(err)
				}
				if ts.Compare(prev) <= 0 {
					t.Fatalf("reading %d: %v not after %v", i, ts, prev)
				}
				if ts.Node != 7 {
					t.Fatalf("reading %d: node %d, want 7", i, ts.Node)
				}
				if c.Last() != ts {
					t.Fatalf("Last() = %v, want %v", c.Last(), ts)
				}
				prev = ts
			}
		})
	}
}

func TestClockNowConcurrentUnique(t *testing.T) {
	c := NewClock(3, seqClock(42), 0, 0, nil)
	const goroutines, per = 8, 500
	out := make(chan Timestamp, goroutines*per)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Go(func() {
			for i := 0; i < per; i++ {
				ts, err := c.Now()
				if err != nil {
					t.Error(err)
					return
				}
				out <- ts
			}
		})
	}
	wg.Wait()
	close(out)
	seen := map[Timestamp]bool{}
	for ts := range out {
		if seen[ts] {
			t.Fatalf("duplicate reading %v", ts)
		}
		seen[ts] = true
	}
	if len(seen) != goroutines*per {
		t.Fatalf("%d readings, want %d", len(seen), goroutines*per)
	}
}

func TestClockUpdate(t *testing.T) {
	const phys = 10_000
	t.Run("ahead within skew advances Now", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), 500*time.Millisecond, 0, nil)
		remote := Timestamp{WallMS: phys + 400, Logical: 3, Node: 2}
		if err := c.Update(remote); err != nil {
			t.Fatal(err)
		}
		ts, err := c.Now()
		if err != nil {
			t.Fatal(err)
		}
		if ts.Compare(remote) <= 0 {
			t.Fatalf("Now() = %v, not after remote %v", ts, remote)
		}
		if ts.WallMS != remote.WallMS || ts.Node != 1 {
			t.Fatalf("Now() = %v, want wall %d node 1", ts, remote.WallMS)
		}
	})
	t.Run("exactly at skew bound accepted", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), 500*time.Millisecond, 0, nil)
		if err := c.Update(Timestamp{WallMS: phys + 500, Node: 2}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("beyond skew refused", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), 500*time.Millisecond, 0, nil)
		before, err := c.Now()
		if err != nil {
			t.Fatal(err)
		}
		err = c.Update(Timestamp{WallMS: phys + 501, Node: 2})
		if !errors.Is(err, ErrClockSkew) {
			t.Fatalf("Update beyond skew: err = %v, want ErrClockSkew", err)
		}
		if c.Last() != before {
			t.Fatalf("refused update moved the clock: Last() = %v, want %v", c.Last(), before)
		}
	})
	t.Run("behind is ignored", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), 500*time.Millisecond, 0, nil)
		first, _ := c.Now()
		if err := c.Update(Timestamp{WallMS: phys - 1_000, Logical: 99, Node: 2}); err != nil {
			t.Fatal(err)
		}
		if c.Last() != first {
			t.Fatalf("older remote changed the clock: %v, want %v", c.Last(), first)
		}
	})
	t.Run("same wall higher logical", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), time.Second, 0, nil)
		if _, err := c.Now(); err != nil {
			t.Fatal(err)
		}
		remote := Timestamp{WallMS: phys, Logical: 50, Node: 9}
		if err := c.Update(remote); err != nil {
			t.Fatal(err)
		}
		ts, _ := c.Now()
		if ts.Compare(remote) <= 0 {
			t.Fatalf("Now() = %v, not after %v", ts, remote)
		}
	})
	t.Run("zero max skew means unbounded", func(t *testing.T) {
		c := NewClock(1, seqClock(phys), 0, 0, nil)
		remote := Timestamp{WallMS: phys + int64(time.Hour/time.Millisecond), Node: 2}
		if err := c.Update(remote); err != nil {
			t.Fatal(err)
		}
		if ts, _ := c.Now(); ts.Compare(remote) <= 0 {
			t.Fatalf("Now() = %v, not after %v", ts, remote)
		}
	})
}

// TestClockPersistsHighWaterMark: every wall time handed out (by Now or taken
// from a peer by Update) is at or below a mark persisted before it was
// handed out, and marks are written once per lease, not per reading.
func TestClockPersistsHighWaterMark(t *testing.T) {
	mc := newManualClock(1_000_000)
	var marks []int64
	persisted := int64(math.MinInt64)
	c := NewClock(5, mc.Now, time.Minute, 0, func(ms int64) error {
		if ms <= persisted {
			t.Errorf("mark went backwards: %d after %d", ms, persisted)
		}
		marks = append(marks, ms)
		persisted = ms
		return nil
	})
	r := rand.New(rand.NewPCG(3, 4))
	start := mc.Now().UnixMilli()
	var prev Timestamp
	for i := 0; i < 5000; i++ {
		// Mostly forward, sometimes back, sometimes frozen.
		mc.Add(time.Duration(r.IntN(12)-2) * time.Millisecond)
		var ts Timestamp
		if i%50 == 0 {
			remote := Timestamp{WallMS: mc.Now().UnixMilli() + r.Int64N(3_000), Node: 9}
			if err := c.Update(remote); err != nil {
				t.Fatal(err)
			}
			ts = c.Last()
		} else {
			var err error
			if ts, err = c.Now(); err != nil {
				t.Fatal(err)
			}
			if ts.Compare(prev) <= 0 {
				t.Fatalf("%v not after %v", ts, prev)
			}
		}
		if ts.WallMS > persisted {
			t.Fatalf("reading %v handed out above the persisted mark %d", ts, persisted)
		}
		prev = ts
	}
	span := mc.Now().UnixMilli() - start + 3_000
	if limit := span/clockLease.Milliseconds() + 2; int64(len(marks)) > limit {
		t.Errorf("%d marks persisted over %d ms, want at most %d (one per lease)", len(marks), span, limit)
	}
	if len(marks) == 0 {
		t.Fatal("no mark persisted")
	}
}

func TestClockPersistFailure(t *testing.T) {
	boom := errors.New("disk gone")
	mc := newManualClock(10_000)
	fail := false
	c := NewClock(1, mc.Now, 0, 0, func(int64) error {
		if fail {
			return boom
		}
		return nil
	})
	first, err := c.Now()
	if err != nil {
		t.Fatal(err)
	}
	fail = true
	mc.Add(time.Hour)
	if _, err := c.Now(); !errors.Is(err, boom) {
		t.Fatalf("Now with failing persist: err = %v, want %v", err, boom)
	}
	if c.Last() != first {
		t.Fatalf("failed Now moved the clock to %v", c.Last())
	}
}

// TestClockRestartFromMark simulates a restart: a new clock built on the
// persisted mark, with a physical clock that went backwards, must issue
// readings after every reading of the old clock.
func TestClockRestartFromMark(t *testing.T) {
	tests := []struct {
		name string
		// walls the old clock reads, relative to the start; the first
		// reading persists start+lease.
		walls []int64
	}{
		{"within lease", []int64{0, 1, 2, 500, 1_999}},
		{"crossing leases", []int64{0, 1_500, 2_500, 4_100, 7_000}},
		// Readings exactly at the persisted mark: the mark is not above
		// them, so a restarted clock starting at {mark, 0} reissues
		// {mark, 1}.
		{"at the mark", []int64{0, 2_000, 2_000, 2_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const start = 1_000_000
			var mark int64
			persist := func(ms int64) error { mark = ms; return nil }
			walls := make([]int64, len(tc.walls))
			for i, w := range tc.walls {
				walls[i] = start + w
			}
			old := NewClock(1, seqClock(walls...), 0, 0, persist)
			var issued []Timestamp
			for range walls {
				ts, err := old.Now()
				if err != nil {
					t.Fatal(err)
				}
				issued = append(issued, ts)
			}
			restarted := NewClock(1, seqClock(start-60_000), 0, mark, persist)
			for i := 0; i < 3; i++ {
				ts, err := restarted.Now()
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range issued {
					if ts.Compare(o) <= 0 {
						t.Fatalf("after restart on mark %d: reading %v is not after earlier reading %v (earlier: %v)", mark, ts, o, issued)
					}
				}
			}
		})
	}
}

func TestWatermark(t *testing.T) {
	w := Watermark{1: 5, 2: 0}
	cases := []struct {
		origin, seq uint64
		want        bool
	}{{1, 1, true}, {1, 5, true}, {1, 6, false}, {2, 1, false}, {3, 1, false}, {3, 0, true}}
	for _, c := range cases {
		if got := w.Covers(c.origin, c.seq); got != c.want {
			t.Errorf("Covers(%d,%d) = %v, want %v", c.origin, c.seq, got, c.want)
		}
	}
	var nilW Watermark
	if nilW.Covers(1, 1) {
		t.Error("nil watermark covers (1,1)")
	}
	c := w.Clone()
	c[1] = 99
	if w[1] != 5 {
		t.Error("Clone shares storage")
	}
}

func TestVersionEncodeRoundTrip(t *testing.T) {
	for _, v := range []Version{
		{},
		{HLC: Timestamp{WallMS: 10, Logical: 2, Node: 3}, Seq: 7},
		{HLC: Timestamp{WallMS: math.MaxInt64, Logical: 1, Node: math.MaxUint64}, Seq: math.MaxUint64, Deleted: true},
	} {
		got, err := decodeVersion(v.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got != v {
			t.Errorf("round trip %+v -> %+v", v, got)
		}
	}
	if _, err := decodeVersion([]byte{1, 2, 3}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("short version: err = %v, want ErrCorrupt", err)
	}
	older := Version{HLC: Timestamp{WallMS: 1}}
	newer := Version{HLC: Timestamp{WallMS: 1, Logical: 1}}
	if !newer.Newer(older) || older.Newer(newer) || newer.Newer(newer) {
		t.Error("Newer does not follow HLC order")
	}
}

func TestRowKeyDistinct(t *testing.T) {
	text := func(s string) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(s)}} }
	blob := func(s string) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: []byte(s)}} }
	null := &marmotv1.Value{Kind: &marmotv1.Value_Null{Null: true}}
	keys := map[string]string{}
	add := func(name string, k []byte) {
		if other, dup := keys[string(k)]; dup {
			t.Errorf("RowKey collision: %s and %s", name, other)
		}
		keys[string(k)] = name
	}
	add("db.t(1)", RowKey("db", "t", []*marmotv1.Value{intVal(1)}))
	add("db.t(-1)", RowKey("db", "t", []*marmotv1.Value{intVal(-1)}))
	add("db.t(1.0)", RowKey("db", "t", []*marmotv1.Value{{Kind: &marmotv1.Value_Real{Real: 1}}}))
	add("db.t('a','b')", RowKey("db", "t", []*marmotv1.Value{text("a"), text("b")}))
	add("db.t('ab')", RowKey("db", "t", []*marmotv1.Value{text("ab")}))
	add("db.t(x'ab')", RowKey("db", "t", []*marmotv1.Value{blob("ab")}))
	add("db.t(NULL)", RowKey("db", "t", []*marmotv1.Value{null}))
	add("db.t2(1)", RowKey("db", "t2", []*marmotv1.Value{intVal(1)}))
	add("db2.t(1)", RowKey("db2", "t", []*marmotv1.Value{intVal(1)}))
	if !bytes.Equal(RowKey("db", "t", []*marmotv1.Value{text("x")}), RowKey("db", "t", []*marmotv1.Value{text("x")})) {
		t.Error("equal rows give different keys")
	}
	if !bytes.HasPrefix(RowKey("db", "t", []*marmotv1.Value{intVal(1)}), tablePrefix("db", "t")) {
		t.Error("RowKey does not start with tablePrefix")
	}
}
