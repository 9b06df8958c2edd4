package log

import (
	"context"
	"errors"
	"testing"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestVersionCacheFloors(t *testing.T) {
	c := newVersionCache(2)
	key := func(db string, pk int64) string {
		return string(RowKey(db, "t", []*marmotv1.Value{intVal(pk)}))
	}
	v := func(origin, seq uint64) Version {
		return Version{HLC: Timestamp{WallMS: int64(seq), Node: origin}, Seq: seq}
	}
	c.put(key("a", 1), v(1, 10))
	c.put(key("a", 2), v(2, 5))
	c.put(key("a", 1), v(1, 11)) // rewrite: the old slot goes stale
	if !c.covered("a", Watermark{}) {
		t.Fatal("nothing evicted yet, but not covered")
	}
	c.put(key("b", 1), v(1, 12)) // evicts a/2 (origin 2 seq 5), the oldest live
	if _, ok := c.get(key("a", 2)); ok {
		t.Fatal("a/2 not evicted")
	}
	if got, _ := c.get(key("a", 1)); got.Seq != 11 {
		t.Fatalf("a/1 = %+v, want seq 11", got)
	}
	for _, tc := range []struct {
		db   string
		seen Watermark
		want bool
	}{
		{"a", Watermark{}, false},
		{"a", Watermark{2: 4}, false},
		{"a", Watermark{2: 5}, true},
		{"b", Watermark{}, true}, // b lost nothing
	} {
		if got := c.covered(tc.db, tc.seen); got != tc.want {
			t.Errorf("covered(%s, %v) = %v, want %v", tc.db, tc.seen, got, tc.want)
		}
	}
	c.forgetAll(Watermark{3: 7})
	if _, ok := c.get(key("a", 1)); ok || c.covered("b", Watermark{}) || !c.covered("b", Watermark{3: 7}) {
		t.Fatal("forgetAll kept entries or did not raise the floor")
	}
	if got := rowKeyDB(key("db1", 9)); got != "db1" {
		t.Fatalf("rowKeyDB = %q", got)
	}
}

// TestConflictCheckWithoutReads: rows missing from the version cache
// (evicted, or written before a restart) still conflict against a stale
// seen, and RowVersion stays exact for a row whose durable version the
// check did not read.
func TestConflictCheckWithoutReads(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 5})
	l.vc = newVersionCache(4)
	first := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), Watermark{})
	for pk := int64(100); pk < 120; pk++ { // evicts row 1
		mustCommit(t, l, rowCS("db", pk, marmotv1.Op_OP_INSERT), l.Durable())
	}
	if _, ok := l.vc.get(string(RowKey("db", "t", []*marmotv1.Value{intVal(1)}))); ok {
		t.Fatal("row 1 still cached")
	}
	stale := Watermark{5: first.Seq - 1}
	if err := l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_UPDATE), stale); !errors.Is(err, ErrConflict) {
		t.Fatalf("evicted row, stale seen: err = %v, want ErrConflict", err)
	}
	// A new row with an up-to-date seen needs no read and commits; the
	// applier's view of its version is exact.
	fresh := mustCommit(t, l, rowCS("db", 500, marmotv1.Op_OP_INSERT), l.Durable())
	got, ok, err := l.RowVersion("db", "t", []*marmotv1.Value{intVal(500)})
	if err != nil || !ok || got.Seq != fresh.Seq {
		t.Fatalf("RowVersion(500) = %+v %v %v, want seq %d", got, ok, err, fresh.Seq)
	}
	// An unknown shadow: queue a write of a never-read row and ask for its
	// durable version while the write may still be in flight.
	a, err := l.Append(rowCS("db", 600, marmotv1.Op_OP_INSERT), l.Durable())
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, err := l.RowVersion("db", "t", []*marmotv1.Value{intVal(600)}); err != nil || (ok && v.Seq != a.req.cs.Seq) {
		t.Fatalf("RowVersion(600) during its write = %+v %v %v", v, ok, err)
	}
	if err := a.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	last := l.Durable()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// After a restart nothing is cached: the floors come from the index.
	l2 := mustOpen(t, Options{Dir: dir, NodeID: 5})
	if err := l2.Commit(context.Background(), rowCS("db", 500, marmotv1.Op_OP_UPDATE), Watermark{5: fresh.Seq - 1}); !errors.Is(err, ErrConflict) {
		t.Fatalf("after restart, stale seen: err = %v, want ErrConflict", err)
	}
	if l2.vc.covered("db", Watermark{5: last[5] - 1}) || !l2.vc.covered("db", last) {
		t.Fatalf("floors after restart: %v", l2.vc.dbFloor)
	}
	mustCommit(t, l2, rowCS("db", 500, marmotv1.Op_OP_UPDATE), last)
}

// TestPrepareAgainstSeen: a member checks a claim against the state the
// transaction executed on (Claim.Seen), whether the row's version is in
// the cache, was evicted from it, or predates a restart; a new row needs no
// read when Seen covers what the cache lacks.
func TestPrepareAgainstSeen(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	old := remoteCS("db", 5, 1, Timestamp{WallMS: 10}, 1, marmotv1.Op_OP_INSERT)
	mustIngest(t, l, old)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir})
	l.mu.Lock()
	l.vc = newVersionCache(1) // so the next ingest evicts
	if err := l.loadVersionFloors(l.vc); err != nil {
		l.mu.Unlock()
		t.Fatal(err)
	}
	l.mu.Unlock()
	evicted := remoteCS("db", 5, 2, Timestamp{WallMS: 20}, 2, marmotv1.Op_OP_INSERT)
	cached := remoteCS("db", 5, 3, Timestamp{WallMS: 30}, 3, marmotv1.Op_OP_INSERT)
	mustIngest(t, l, evicted)
	mustIngest(t, l, cached)

	isStale := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && !ce.Intent }
	for _, tc := range []struct {
		name  string
		pk    int64
		seen  Watermark
		stale bool
	}{
		{"row from before the restart, seen", 1, Watermark{5: 3}, false},
		{"row from before the restart, not seen", 1, Watermark{5: 0}, true},
		{"evicted row, seen", 2, Watermark{5: 2}, false},
		{"evicted row, not seen", 2, Watermark{5: 1}, true},
		{"cached row, seen", 3, Watermark{5: 3}, false},
		{"cached row, not seen", 3, Watermark{5: 2}, true},
		{"new row", 4, Watermark{5: 3}, false},
		{"new row, seen behind the floors", 4, Watermark{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := rowCS("db", tc.pk, marmotv1.Op_OP_UPDATE)
			err := l.Prepare(Claim{Txn: cs.Id, DB: "db", Rows: intentRow(cs, nil), TTL: time.Minute, Coord: 7, Seen: tc.seen})
			if tc.stale != isStale(err) || (!tc.stale && err != nil) {
				t.Fatalf("Prepare = %v, want stale %v", err, tc.stale)
			}
			l.Release(cs.Id)
		})
	}
}

// TestIngestAgainstDeps: a replicated change set whose deps cover what the
// version cache lacks is checked against the cache alone (no Pebble read
// for a missing row); otherwise the stored version is read, and last
// writer wins either way.
func TestIngestAgainstDeps(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	mustIngest(t, l, remoteCS("db", 5, 1, Timestamp{WallMS: 20}, 1, marmotv1.Op_OP_INSERT))
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir}) // row 1 is in Pebble, not in the cache
	pk := []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}
	for _, tc := range []struct {
		name    string
		seq     uint64
		wall    int64
		deps    map[uint64]uint64
		read    bool  // the stored version had to be read
		winWall int64 // the row's version afterwards
	}{
		{"deps behind the floor: read; older loses", 1, 15, map[uint64]uint64{5: 0}, true, 20},
		{"no deps: read; older loses", 2, 16, nil, true, 20},
		{"deps cover the floor: no read; newer wins", 3, 30, map[uint64]uint64{5: 1}, false, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := remoteCS("db", 6, tc.seq, Timestamp{WallMS: tc.wall}, 1, marmotv1.Op_OP_UPDATE)
			cs.Deps = tc.deps
			a, err := l.IngestQueued(cs)
			if err != nil {
				t.Fatal(err)
			}
			// A loser has no writes: only the stored version could have
			// told it the row is newer, so its outcome shows the read.
			l.mu.Lock()
			for _, w := range a.req.writes {
				if w.read != tc.read {
					t.Errorf("stored version read = %v, want %v", w.read, tc.read)
				}
			}
			l.mu.Unlock()
			if err := a.Wait(context.Background()); err != nil {
				t.Fatal(err)
			}
			v, ok, err := l.RowVersion("db", "t", pk)
			if err != nil || !ok || v.HLC.WallMS != tc.winWall {
				t.Fatalf("row version = %+v %v %v, want wall %d", v, ok, err, tc.winWall)
			}
		})
	}
}
