package materializer

import (
	"testing"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestCausalPrefix(t *testing.T) {
	cs := func(origin, seq uint64, deps map[uint64]uint64) *marmotv1.ChangeSet {
		return &marmotv1.ChangeSet{Origin: origin, Seq: seq, Deps: deps}
	}
	tests := []struct {
		name      string
		batch     []*marmotv1.ChangeSet
		durable   txlog.Watermark
		scannedTo map[uint64]uint64
		want      int
	}{
		{"no deps", []*marmotv1.ChangeSet{cs(1, 1, nil), cs(2, 1, nil)}, txlog.Watermark{1: 1, 2: 1}, nil, 2},
		{"dep durable", []*marmotv1.ChangeSet{cs(1, 1, nil), cs(2, 1, map[uint64]uint64{1: 1})}, txlog.Watermark{1: 1, 2: 1}, nil, 2},
		{"dep not here yet", []*marmotv1.ChangeSet{cs(3, 1, nil), cs(2, 1, map[uint64]uint64{1: 4})}, txlog.Watermark{1: 3, 2: 1, 3: 1}, nil, 1},
		{"first blocked", []*marmotv1.ChangeSet{cs(2, 1, map[uint64]uint64{1: 4})}, txlog.Watermark{1: 3, 2: 1}, nil, 0},
		{"own origin ignored", []*marmotv1.ChangeSet{cs(2, 5, map[uint64]uint64{2: 9})}, txlog.Watermark{2: 5}, nil, 1},
		{"dep beyond a cut scan", []*marmotv1.ChangeSet{cs(1, 1, nil), cs(2, 1, map[uint64]uint64{1: 3})}, txlog.Watermark{1: 5, 2: 1}, map[uint64]uint64{1: 1}, 1},
		{"dep within a cut scan", []*marmotv1.ChangeSet{cs(1, 1, nil), cs(2, 1, map[uint64]uint64{1: 1})}, txlog.Watermark{1: 5, 2: 1}, map[uint64]uint64{1: 1}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := causalPrefix(tc.batch, tc.durable, tc.scannedTo); got != tc.want {
				t.Fatalf("causalPrefix = %d, want %d", got, tc.want)
			}
		})
	}
}
