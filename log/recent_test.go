package log

import (
	"testing"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestRecentBounds(t *testing.T) {
	cs := func(seq uint64) *marmotv1.ChangeSet { return &marmotv1.ChangeSet{Origin: 1, Seq: seq} }
	cases := []struct {
		name     string
		maxBytes int
		dataLen  int
		adds     uint64 // seqs 1..adds
		oldest   uint64 // oldest seq still cached
	}{
		{"under both bounds", 1 << 30, 10, 100, 1},
		{"count bound", 1 << 30, 10, recentSize + 50, 51},
		// each entry: 3*1000+256 = 3,256 bytes; 10 fit in 32,560
		{"byte bound", 32560, 1000, 25, 16},
		{"one entry larger than the budget stays alone", 100, 1000, 3, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &recent{maxBytes: c.maxBytes}
			for seq := uint64(1); seq <= c.adds; seq++ {
				r.add(cs(seq), make([]byte, c.dataLen))
			}
			if c.oldest > 1 {
				if _, ok := r.get(1, c.oldest-1); ok {
					t.Errorf("seq %d still cached", c.oldest-1)
				}
			}
			got, ok := r.rangeOf(1, c.oldest, c.adds)
			if !ok || len(got) != int(c.adds-c.oldest+1) {
				t.Fatalf("rangeOf(%d..%d) = %d entries, %v", c.oldest, c.adds, len(got), ok)
			}
			want := 0
			for range got {
				want += entryMemory(make([]byte, c.dataLen))
			}
			if r.bytes != want || len(r.m) != r.n || r.n != len(got) {
				t.Errorf("bytes %d (want %d), map %d, ring %d, entries %d", r.bytes, want, len(r.m), r.n, len(got))
			}
		})
	}
}

func TestRecentReAddKeepsAccounting(t *testing.T) {
	r := &recent{maxBytes: 10 * entryMemory(make([]byte, 10))}
	for i := 0; i < 50; i++ {
		seq := uint64(i%3 + 1) // the same three keys, again and again
		r.add(&marmotv1.ChangeSet{Origin: 2, Seq: seq}, make([]byte, 10))
	}
	sum := 0
	for _, e := range r.m {
		sum += e.size
	}
	if r.bytes != sum || r.bytes > r.maxBytes {
		t.Fatalf("bytes %d, entries hold %d, budget %d", r.bytes, sum, r.maxBytes)
	}
	if _, ok := r.get(2, 3); !ok {
		t.Fatal("the newest entry is gone")
	}
}
