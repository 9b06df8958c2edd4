package log

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// ---- helpers ----

// mustOpen opens a log, on a fresh temp dir unless opts.Dir is set, and closes
// it when the test ends (Close is idempotent, so tests may close earlier).
func mustOpen(tb testing.TB, opts Options) *Log {
	tb.Helper()
	if opts.Dir == "" {
		opts.Dir = tb.TempDir()
	}
	l, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", opts.Dir, err)
	}
	tb.Cleanup(func() {
		if err := l.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return l
}

func intVal(i int64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: i}} }

// rowCS is a change set writing one row (table t, integer pk) of db.
func rowCS(db string, pk int64, op marmotv1.Op) *marmotv1.ChangeSet {
	r := &marmotv1.RowChange{Table: "t", Op: op, Pk: []*marmotv1.Value{intVal(pk)}, Columns: []string{"id", "v"}}
	if op != marmotv1.Op_OP_DELETE {
		r.After = []*marmotv1.Value{intVal(pk), {Kind: &marmotv1.Value_Text{Text: []byte(fmt.Sprint("v", pk))}}}
	}
	return &marmotv1.ChangeSet{Id: []byte(fmt.Sprintf("tx-%d-%d", pk, rand.Int64())), Database: db, Rows: []*marmotv1.RowChange{r}}
}

// remoteCS is a change set as a peer would ship it.
func remoteCS(db string, origin, seq uint64, hlc Timestamp, pk int64, op marmotv1.Op) *marmotv1.ChangeSet {
	cs := rowCS(db, pk, op)
	cs.Origin, cs.Seq = origin, seq
	hlc.Node = origin
	cs.Hlc = hlc.Proto()
	return cs
}

func mustCommit(tb testing.TB, l *Log, cs *marmotv1.ChangeSet, seen Watermark) *marmotv1.ChangeSet {
	tb.Helper()
	if err := l.Commit(context.Background(), cs, seen); err != nil {
		tb.Fatalf("Commit: %v", err)
	}
	return cs
}

func mustIngest(tb testing.TB, l *Log, cs *marmotv1.ChangeSet) {
	tb.Helper()
	if err := l.Ingest(context.Background(), cs); err != nil {
		tb.Fatalf("Ingest origin %d seq %d: %v", cs.Origin, cs.Seq, err)
	}
}

func scanAll(tb testing.TB, l *Log) []*marmotv1.ChangeSet {
	tb.Helper()
	var out []*marmotv1.ChangeSet
	if err := l.Scan(Timestamp{}, func(cs *marmotv1.ChangeSet) error { out = append(out, cs); return nil }); err != nil {
		tb.Fatalf("Scan: %v", err)
	}
	return out
}

func seqs(css []*marmotv1.ChangeSet) []uint64 {
	out := make([]uint64, len(css))
	for i, cs := range css {
		out[i] = cs.Seq
	}
	return out
}

func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

func scanOrigin(tb testing.TB, l *Log, origin, after uint64) []*marmotv1.ChangeSet {
	tb.Helper()
	var out []*marmotv1.ChangeSet
	if err := l.ScanOrigin(origin, after, func(cs *marmotv1.ChangeSet) error { out = append(out, cs); return nil }); err != nil {
		tb.Fatalf("ScanOrigin: %v", err)
	}
	return out
}

// waitFor spins (yielding, not sleeping) until cond holds, failing after 10s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

// walFS wraps a vfs.FS to count syncs of Pebble's WAL files (*.log) and,
// when armed, to hold the next WAL sync until released.
type walFS struct {
	vfs.FS
	syncs atomic.Int64

	mu   sync.Mutex
	gate *syncGate
}

type syncGate struct {
	blocked chan struct{} // closed when a WAL sync is being held
	release chan struct{} // close to let it proceed
}

func newWALFS(fs vfs.FS) *walFS { return &walFS{FS: fs} }

// holdNextSync makes the next WAL sync block. It returns a channel closed once
// a sync is held, and a release func (safe to call more than once).
func (fs *walFS) holdNextSync() (<-chan struct{}, func()) {
	g := &syncGate{blocked: make(chan struct{}), release: make(chan struct{})}
	fs.mu.Lock()
	fs.gate = g
	fs.mu.Unlock()
	var once sync.Once
	return g.blocked, func() {
		fs.mu.Lock()
		if fs.gate == g {
			fs.gate = nil
		}
		fs.mu.Unlock()
		once.Do(func() { close(g.release) })
	}
}

func (fs *walFS) beforeSync() {
	fs.syncs.Add(1)
	fs.mu.Lock()
	g := fs.gate
	fs.gate = nil
	fs.mu.Unlock()
	if g != nil {
		close(g.blocked)
		<-g.release
	}
}

func (fs *walFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !strings.HasSuffix(name, ".log") {
		return f, err
	}
	return &walFile{File: f, fs: fs}, nil
}

func (fs *walFS) Create(name string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, c)
	return fs.wrap(name, f, err)
}

func (fs *walFS) ReuseForWrite(oldname, newname string, c vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, c)
	return fs.wrap(newname, f, err)
}

func (fs *walFS) OpenReadWrite(name string, c vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := fs.FS.OpenReadWrite(name, c, opts...)
	return fs.wrap(name, f, err)
}

type walFile struct {
	vfs.File
	fs *walFS
}

func (f *walFile) Sync() error     { f.fs.beforeSync(); return f.File.Sync() }
func (f *walFile) SyncData() error { f.fs.beforeSync(); return f.File.SyncData() }

// ---- HLC across restarts ----

func TestHLCMonotonicAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{Dir: dir, NodeID: 4, Now: mc.Now})
	var maxTS Timestamp
	for i := 0; i < 20; i++ {
		// Steps of 0 and 300ms: readings share wall times and cross
		// several leases.
		if i%2 == 0 {
			mc.Add(300 * time.Millisecond)
		}
		cs := mustCommit(t, l, rowCS("db", int64(i), marmotv1.Op_OP_INSERT), nil)
		ts := FromProto(cs.Hlc)
		if ts.Compare(maxTS) <= 0 {
			t.Fatalf("commit %d: HLC %v not after %v", i, ts, maxTS)
		}
		maxTS = ts
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	// The machine comes back with its clock an hour behind.
	earlier := newManualClock(1_700_000_000_000 - int64(time.Hour/time.Millisecond))
	l2 := mustOpen(t, Options{Dir: dir, Now: earlier.Now})
	if l2.Node() != 4 {
		t.Fatalf("node after reopen = %d, want 4", l2.Node())
	}
	for i := 0; i < 5; i++ {
		cs := mustCommit(t, l2, rowCS("db", int64(100+i), marmotv1.Op_OP_INSERT), nil)
		ts := FromProto(cs.Hlc)
		if ts.Compare(maxTS) <= 0 {
			t.Fatalf("commit %d after restart: HLC %v not after %v", i, ts, maxTS)
		}
		maxTS = ts
	}
	if got := len(scanAll(t, l2)); got != 25 {
		t.Fatalf("Scan after restart: %d entries, want 25", got)
	}
}

// TestHLCMonotonicAcrossRestartAtLeaseEnd commits several change sets whose
// wall time is exactly the persisted high-water mark (no new mark is
// persisted for them: wall <= mark), then restarts with an earlier clock.
// The restarted clock starts at {mark, 0} and reissues {mark, 1}, ... —
// HLCs already used, so the new entry overwrites an old one under h/<hlc>.
func TestHLCMonotonicAcrossRestartAtLeaseEnd(t *testing.T) {
	dir := t.TempDir()
	const t0 = 1_700_000_000_000
	mc := newManualClock(t0)
	l := mustOpen(t, Options{Dir: dir, NodeID: 4, Now: mc.Now})
	mustCommit(t, l, rowCS("db", 0, marmotv1.Op_OP_INSERT), nil) // persists mark t0+lease
	mc.SetMS(t0 + clockLease.Milliseconds())
	var before []*marmotv1.ChangeSet
	for i := 1; i <= 3; i++ {
		before = append(before, mustCommit(t, l, rowCS("db", int64(i), marmotv1.Op_OP_INSERT), nil))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l2 := mustOpen(t, Options{Dir: dir, NodeID: 4, Now: newManualClock(t0).Now})
	cs := mustCommit(t, l2, rowCS("db", 99, marmotv1.Op_OP_INSERT), nil)
	ts := FromProto(cs.Hlc)
	for _, b := range before {
		if bt := FromProto(b.Hlc); ts.Compare(bt) <= 0 {
			t.Errorf("after restart: commit seq %d got HLC %v, not after seq %d's %v", cs.Seq, ts, b.Seq, bt)
		}
	}
	for _, b := range before {
		got, err := l2.GetBySeq(4, b.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if !proto.Equal(got, b) {
			t.Errorf("GetBySeq(4, %d) returns seq %d: entry overwritten by a reused HLC", b.Seq, got.Seq)
		}
	}
	if n := len(scanAll(t, l2)); n != 5 {
		t.Errorf("Scan: %d entries, want 5", n)
	}
}

// ---- node id ----

func TestNodeIDGeneratedAndStable(t *testing.T) {
	for i := 0; i < 5; i++ {
		dir := t.TempDir()
		l := mustOpen(t, Options{Dir: dir})
		id := l.Node()
		if id < 1 || id > 1023 {
			t.Fatalf("generated node id %d, want 1..1023", id)
		}
		if l.Clock().Node() != id {
			t.Fatalf("clock node %d, log node %d", l.Clock().Node(), id)
		}
		cs := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)
		if cs.Origin != id || FromProto(cs.Hlc).Node != id {
			t.Fatalf("commit origin %d hlc node %d, want %d", cs.Origin, cs.Hlc.NodeId, id)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}

		l = mustOpen(t, Options{Dir: dir})
		if l.Node() != id {
			t.Fatalf("reopen with 0: node %d, want %d", l.Node(), id)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}

		l = mustOpen(t, Options{Dir: dir, NodeID: id})
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}

		other := id%1023 + 1
		_, err := Open(Options{Dir: dir, NodeID: other})
		if err == nil {
			t.Fatalf("reopen node %d's dir as node %d succeeded", id, other)
		}
		msg := err.Error()
		for _, want := range []string{fmt.Sprint(id), fmt.Sprintf("node_id = %d", id), "empty data_dir"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not mention %q", msg, want)
			}
		}

		// The failed open released the directory.
		l = mustOpen(t, Options{Dir: dir})
		if l.Node() != id {
			t.Fatalf("node after failed open %d, want %d", l.Node(), id)
		}
	}
}

func TestNodeIDExplicitStored(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 42})
	if l.Node() != 42 {
		t.Fatalf("node %d, want 42", l.Node())
	}
	l.Close()
	l = mustOpen(t, Options{Dir: dir})
	if l.Node() != 42 {
		t.Fatalf("reopen with 0: node %d, want 42", l.Node())
	}
}

// ---- sequences, reads, scans ----

func TestSequencesAndReads(t *testing.T) {
	dir := t.TempDir()
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{Dir: dir, NodeID: 7, Now: mc.Now})
	dbs := []string{"alpha", "beta", "gamma"}
	var local []*marmotv1.ChangeSet
	var remote []*marmotv1.ChangeSet
	for i := 1; i <= 100; i++ {
		mc.Add(time.Millisecond)
		cs := mustCommit(t, l, rowCS(dbs[i%3], int64(i), marmotv1.Op_OP_INSERT), nil)
		if cs.Origin != 7 || cs.Seq != uint64(i) {
			t.Fatalf("commit %d: origin %d seq %d, want 7/%d", i, cs.Origin, cs.Seq, i)
		}
		local = append(local, cs)
		if i%10 == 0 {
			// A peer's change set, interleaved in HLC order.
			r := remoteCS("alpha", 9, uint64(i/10), Timestamp{WallMS: mc.Now().UnixMilli()}, int64(1000+i), marmotv1.Op_OP_INSERT)
			mustIngest(t, l, r)
			remote = append(remote, r)
		}
	}
	if got := l.Durable(); got[7] != 100 || got[9] != 10 || len(got) != 2 {
		t.Fatalf("Durable() = %v, want {7:100 9:10}", got)
	}

	check := func(t *testing.T, l *Log) {
		for _, want := range local {
			got, err := l.GetBySeq(7, want.Seq)
			if err != nil {
				t.Fatalf("GetBySeq(7, %d): %v", want.Seq, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("GetBySeq(7, %d) = %v, want %v", want.Seq, got, want)
			}
			got, err = l.Get(FromProto(want.Hlc))
			if err != nil {
				t.Fatalf("Get(%v): %v", FromProto(want.Hlc), err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("Get(%v) = seq %d", FromProto(want.Hlc), got.Seq)
			}
		}
		if _, err := l.GetBySeq(7, 101); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetBySeq(7, 101): err = %v, want ErrNotFound", err)
		}
		if _, err := l.GetBySeq(8, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetBySeq(8, 1): err = %v, want ErrNotFound", err)
		}
		if _, err := l.Get(Timestamp{WallMS: 1, Node: 7}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown): err = %v, want ErrNotFound", err)
		}

		// Scan: everything, in HLC order.
		all := scanAll(t, l)
		if len(all) != 110 {
			t.Fatalf("Scan: %d entries, want 110", len(all))
		}
		for i := 1; i < len(all); i++ {
			if a, b := FromProto(all[i-1].Hlc), FromProto(all[i].Hlc); a.Compare(b) >= 0 {
				t.Fatalf("Scan out of HLC order at %d: %v then %v", i, a, b)
			}
		}
		// Scan from the middle, inclusive.
		from := FromProto(local[49].Hlc)
		var tail []*marmotv1.ChangeSet
		if err := l.Scan(from, func(cs *marmotv1.ChangeSet) error { tail = append(tail, cs); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(tail) == 0 || !proto.Equal(tail[0], local[49]) {
			t.Fatalf("Scan(from seq 50's HLC) does not start at seq 50")
		}
		for _, cs := range tail {
			if FromProto(cs.Hlc).Compare(from) < 0 {
				t.Fatalf("Scan(from) returned %v before %v", FromProto(cs.Hlc), from)
			}
		}
		// Stop ends the scan without error.
		n := 0
		if err := l.Scan(Timestamp{}, func(*marmotv1.ChangeSet) error {
			if n++; n == 3 {
				return Stop
			}
			return nil
		}); err != nil || n != 3 {
			t.Fatalf("Scan with Stop: err %v after %d, want nil after 3", err, n)
		}
		boom := errors.New("boom")
		if err := l.Scan(Timestamp{}, func(*marmotv1.ChangeSet) error { return boom }); !errors.Is(err, boom) {
			t.Fatalf("Scan callback error: got %v", err)
		}

		// ScanOrigin.
		if got := seqs(scanOrigin(t, l, 7, 40)); !slices.Equal(got, seqRange(41, 100)) {
			t.Fatalf("ScanOrigin(7, 40) = %v", got)
		}
		for _, cs := range scanOrigin(t, l, 7, 0) {
			if cs.Origin != 7 {
				t.Fatalf("ScanOrigin(7) returned origin %d", cs.Origin)
			}
		}
		rem := scanOrigin(t, l, 9, 0)
		if got := seqs(rem); !slices.Equal(got, seqRange(1, 10)) {
			t.Fatalf("ScanOrigin(9, 0) = %v", got)
		}
		for i, cs := range rem {
			if !proto.Equal(cs, remote[i]) {
				t.Fatalf("ScanOrigin(9) entry %d differs from the ingested one", i)
			}
		}
		if got := scanOrigin(t, l, 7, 100); len(got) != 0 {
			t.Fatalf("ScanOrigin(7, 100) = %v, want nothing", seqs(got))
		}
		if got := scanOrigin(t, l, 8, 0); len(got) != 0 {
			t.Fatalf("ScanOrigin(unknown) = %v, want nothing", seqs(got))
		}

		// ScanDatabase.
		for i, db := range dbs {
			var want []uint64
			for s := uint64(1); s <= 100; s++ {
				if dbs[s%3] == db && s > 10 {
					want = append(want, s)
				}
			}
			var got []uint64
			if err := l.ScanDatabase(db, 7, 10, func(cs *marmotv1.ChangeSet) error {
				if cs.Database != db || cs.Origin != 7 {
					t.Errorf("ScanDatabase(%s, 7) returned %s/%d", db, cs.Database, cs.Origin)
				}
				got = append(got, cs.Seq)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("ScanDatabase(%s, 7, 10) #%d = %v, want %v", db, i, got, want)
			}
		}
		var gotRemote []uint64
		if err := l.ScanDatabase("alpha", 9, 3, func(cs *marmotv1.ChangeSet) error { gotRemote = append(gotRemote, cs.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gotRemote, seqRange(4, 10)) {
			t.Fatalf("ScanDatabase(alpha, 9, 3) = %v", gotRemote)
		}
		if err := l.ScanDatabase("beta", 9, 0, func(cs *marmotv1.ChangeSet) error {
			t.Fatalf("ScanDatabase(beta, 9) returned seq %d", cs.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		// Database lists.
		names, err := l.Databases()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, dbs) {
			t.Fatalf("Databases() = %v, want %v", names, dbs)
		}
		mem := l.DatabaseNames()
		slices.Sort(mem)
		if !slices.Equal(mem, dbs) {
			t.Fatalf("DatabaseNames() = %v, want %v", mem, dbs)
		}
	}
	t.Run("open", func(t *testing.T) { check(t, l) })
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := mustOpen(t, Options{Dir: dir, Now: mc.Now})
	t.Run("reopened", func(t *testing.T) { check(t, l2) })
	cs := mustCommit(t, l2, rowCS("delta", 1, marmotv1.Op_OP_INSERT), nil)
	if cs.Seq != 101 {
		t.Fatalf("first commit after reopen: seq %d, want 101", cs.Seq)
	}
	if names := l2.DatabaseNames(); !slices.Contains(names, "delta") {
		t.Fatalf("DatabaseNames() after commit to delta = %v", names)
	}
}

func TestDatabasesPrefixNames(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	want := []string{"", "a", "a\x01", "ab", "b"}
	for i, db := range []string{"b", "ab", "a", "a\x01", "", "a", "b"} {
		mustCommit(t, l, rowCS(db, int64(i), marmotv1.Op_OP_INSERT), nil)
	}
	got, err := l.Databases()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Databases() = %q, want %q", got, want)
	}
}

// ---- group commit ----

func TestGroupCommitConcurrent(t *testing.T) {
	fs := newWALFS(vfs.Default)
	l := mustOpen(t, Options{FS: fs, NodeID: 3})
	const goroutines, per = 64, 50
	const total = goroutines * per
	fs.syncs.Store(0)

	got := make(chan uint64, total)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Go(func() {
			for i := 0; i < per; i++ {
				cs := rowCS("db", int64(g*per+i), marmotv1.Op_OP_INSERT)
				if err := l.Commit(context.Background(), cs, nil); err != nil {
					t.Errorf("goroutine %d commit %d: %v", g, i, err)
					return
				}
				if cs.Origin != 3 {
					t.Errorf("origin %d", cs.Origin)
				}
				got <- cs.Seq
			}
		})
	}
	wg.Wait()
	close(got)
	syncs := fs.syncs.Load()
	var all []uint64
	for s := range got {
		all = append(all, s)
	}
	slices.Sort(all)
	if !slices.Equal(all, seqRange(1, total)) {
		t.Fatalf("sequences are not exactly 1..%d: %d values, first %v last %v", total, len(all), all[:min(5, len(all))], all[max(0, len(all)-5):])
	}
	if d := l.Durable()[3]; d != total {
		t.Fatalf("Durable()[3] = %d, want %d", d, total)
	}
	if got := seqs(scanOrigin(t, l, 3, 0)); !slices.Equal(got, seqRange(1, total)) {
		t.Fatalf("ScanOrigin: %d entries, not 1..%d in order", len(got), total)
	}
	// HLC order agrees with sequence order for one origin.
	var prev Timestamp
	for i, cs := range scanAll(t, l) {
		if cs.Seq != uint64(i+1) {
			t.Fatalf("Scan position %d holds seq %d", i, cs.Seq)
		}
		if FromProto(cs.Hlc).Compare(prev) <= 0 {
			t.Fatalf("HLC not increasing with seq at %d", cs.Seq)
		}
		prev = FromProto(cs.Hlc)
	}
	t.Logf("%d commits, %d WAL syncs (%.1f commits/sync)", total, syncs, float64(total)/float64(max(syncs, 1)))
	if syncs == 0 {
		t.Fatal("counted no WAL syncs: the FS wrapper does not see Pebble's WAL")
	}
	if syncs >= total/2 {
		t.Fatalf("%d WAL syncs for %d commits: commits are not batched", syncs, total)
	}
}

func TestCommitAfterClose(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := l.Commit(context.Background(), rowCS("db", 2, marmotv1.Op_OP_INSERT), nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close: err = %v, want ErrClosed", err)
	}
	if err := l.Ingest(context.Background(), remoteCS("db", 2, 1, Timestamp{WallMS: 1}, 1, marmotv1.Op_OP_INSERT)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Ingest after Close: err = %v, want ErrClosed", err)
	}
}

func TestChangedSignalsDurableEntries(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	ch := l.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any append")
	default:
	}
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed after a commit returned")
	}
}

// ---- conflict detection ----

func TestCommitConflict(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 5})
	first := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), Watermark{})
	if first.Seq != 1 {
		t.Fatalf("first seq %d", first.Seq)
	}

	err := l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_UPDATE), Watermark{})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("second write of r with seen={}: err = %v, want ErrConflict", err)
	}
	// A change set with an unrelated row and the stale one: all or nothing.
	multi := rowCS("db", 2, marmotv1.Op_OP_INSERT)
	multi.Rows = append(multi.Rows, rowCS("db", 1, marmotv1.Op_OP_UPDATE).Rows...)
	if err := l.Commit(context.Background(), multi, Watermark{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("multi-row with one stale row: err = %v, want ErrConflict", err)
	}
	if d := l.Durable()[5]; d != 1 {
		t.Fatalf("conflicting commits appended: durable %d, want 1", d)
	}
	if _, ok, _ := l.RowVersion("db", "t", []*marmotv1.Value{intVal(2)}); ok {
		t.Fatal("row 2 of the rejected change set has a version")
	}
	// Same pk in another table or database does not conflict.
	other := rowCS("otherdb", 1, marmotv1.Op_OP_INSERT)
	mustCommit(t, l, other, Watermark{})
	otherTable := rowCS("db", 1, marmotv1.Op_OP_INSERT)
	otherTable.Rows[0].Table = "u"
	mustCommit(t, l, otherTable, Watermark{})

	// Seen covering the first commit: ok, and no sequence was burnt.
	second := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_UPDATE), Watermark{5: first.Seq})
	if second.Seq != 4 {
		t.Fatalf("seq after conflicts %d, want 4", second.Seq)
	}
	// The first commit's watermark no longer suffices.
	if err := l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_DELETE), Watermark{5: first.Seq}); !errors.Is(err, ErrConflict) {
		t.Fatalf("stale seen: err = %v, want ErrConflict", err)
	}
	del := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_DELETE), l.Durable())
	v, ok, err := l.RowVersion("db", "t", []*marmotv1.Value{intVal(1)})
	if err != nil || !ok {
		t.Fatalf("RowVersion: ok=%v err=%v", ok, err)
	}
	if want := (Version{HLC: FromProto(del.Hlc), Seq: del.Seq, Deleted: true}); v != want {
		t.Fatalf("RowVersion = %+v, want %+v", v, want)
	}
	// Re-inserting a deleted row must have seen the delete.
	if err := l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_INSERT), Watermark{5: second.Seq}); !errors.Is(err, ErrConflict) {
		t.Fatalf("insert over unseen tombstone: err = %v, want ErrConflict", err)
	}
}

// A remote write is versioned under its origin; a local transaction must have
// seen it.
func TestCommitConflictWithIngested(t *testing.T) {
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{NodeID: 1, Now: mc.Now, MaxClockSkew: time.Second})
	mustIngest(t, l, remoteCS("db", 2, 1, Timestamp{WallMS: mc.Now().UnixMilli() + 500, Logical: 4}, 10, marmotv1.Op_OP_INSERT))
	if err := l.Commit(context.Background(), rowCS("db", 10, marmotv1.Op_OP_UPDATE), Watermark{1: 100}); !errors.Is(err, ErrConflict) {
		t.Fatalf("unseen remote write: err = %v, want ErrConflict", err)
	}
	cs := mustCommit(t, l, rowCS("db", 10, marmotv1.Op_OP_UPDATE), Watermark{2: 1})
	if ts := FromProto(cs.Hlc); ts.Compare(Timestamp{WallMS: mc.Now().UnixMilli() + 500, Logical: 4, Node: 2}) <= 0 {
		t.Fatalf("local commit %v not after the ingested HLC", ts)
	}
}

// The conflict check sees appends that are queued but not yet durable.
func TestCommitConflictWithInFlight(t *testing.T) {
	fs := newWALFS(vfs.NewMem())
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{Dir: "/db", FS: fs, NodeID: 1, Now: mc.Now})
	mustCommit(t, l, rowCS("db", 0, marmotv1.Op_OP_INSERT), nil)

	blocked, release := fs.holdNextSync()
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_INSERT), Watermark{}) }()
	<-blocked
	waitFor(t, "the first commit to be queued", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.lastSeq[1] == 2
	})
	if err := l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_INSERT), l.Durable()); !errors.Is(err, ErrConflict) {
		t.Fatalf("write over an in-flight write: err = %v, want ErrConflict", err)
	}
	release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_UPDATE), Watermark{1: 2})
}

// ---- durable-only reads ----

// While a commit's WAL sync is outstanding Pebble already shows its batch to
// readers; the log's readers must not.
func TestReadersSeeOnlyDurableEntries(t *testing.T) {
	fs := newWALFS(vfs.NewMem())
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{Dir: "/db", FS: fs, NodeID: 1, Now: mc.Now})
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)

	blocked, release := fs.holdNextSync()
	defer release()
	errc := make(chan error, 1)
	go func() { errc <- l.Commit(context.Background(), rowCS("newdb", 2, marmotv1.Op_OP_INSERT), nil) }()
	<-blocked
	waitFor(t, "the in-flight batch to be visible in Pebble", func() bool {
		_, ok, err := l.storedVersion(RowKey("newdb", "t", []*marmotv1.Value{intVal(2)}))
		return ok && err == nil
	})

	if d := l.Durable(); d[1] != 1 {
		t.Errorf("Durable() = %v during sync, want {1:1}", d)
	}
	if n := len(scanAll(t, l)); n != 1 {
		t.Errorf("Scan during sync: %d entries, want 1", n)
	}
	if got := seqs(scanOrigin(t, l, 1, 0)); !slices.Equal(got, []uint64{1}) {
		t.Errorf("ScanOrigin during sync = %v, want [1]", got)
	}
	if err := l.ScanDatabase("newdb", 1, 0, func(cs *marmotv1.ChangeSet) error {
		t.Errorf("ScanDatabase(newdb) during sync returned seq %d", cs.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if names := l.DatabaseNames(); slices.Contains(names, "newdb") {
		t.Errorf("DatabaseNames() during sync = %v, includes newdb", names)
	}
	if _, ok, _ := l.RowVersion("newdb", "t", []*marmotv1.Value{intVal(2)}); ok {
		t.Error("RowVersion shows the version of a non-durable write")
	}
	select {
	case <-errc:
		t.Fatal("Commit returned before its sync")
	default:
	}

	release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if n := len(scanAll(t, l)); n != 2 {
		t.Errorf("Scan after sync: %d entries, want 2", n)
	}
	if _, ok, _ := l.RowVersion("newdb", "t", []*marmotv1.Value{intVal(2)}); !ok {
		t.Error("RowVersion hides a durable write")
	}
}

// TestRowVersionDuringNextWriteSync: row r has a durable version v1; a
// second commit of r is waiting for its WAL sync, so Pebble already returns
// v2 for r. RowVersion must still report v1 — the latest durable version —
// but it reports "no version at all". The materializer treats that as
// "no newer durable write owns this row" and applies any older change over
// the durable v1 (e.g. resurrects a row v1 deleted).
func TestRowVersionDuringNextWriteSync(t *testing.T) {
	fs := newWALFS(vfs.NewMem())
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{Dir: "/db", FS: fs, NodeID: 1, Now: mc.Now})
	pk := []*marmotv1.Value{intVal(1)}
	v1cs := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_DELETE), nil)
	v1 := Version{HLC: FromProto(v1cs.Hlc), Seq: v1cs.Seq, Deleted: true}
	if got, ok, err := l.RowVersion("db", "t", pk); err != nil || !ok || got != v1 {
		t.Fatalf("RowVersion after first commit = %+v, %v, %v; want %+v", got, ok, err, v1)
	}

	blocked, release := fs.holdNextSync()
	defer release()
	errc := make(chan error, 1)
	mc.Add(time.Millisecond)
	go func() { errc <- l.Commit(context.Background(), rowCS("db", 1, marmotv1.Op_OP_INSERT), l.Durable()) }()
	<-blocked
	waitFor(t, "the in-flight version to be visible in Pebble", func() bool {
		v, ok, err := l.storedVersion(RowKey("db", "t", pk))
		return ok && err == nil && v.Seq == 2
	})

	got, ok, err := l.RowVersion("db", "t", pk)
	if err != nil {
		t.Fatal(err)
	}
	if !ok || got != v1 {
		t.Errorf("RowVersion while the next write syncs = %+v, ok=%v; want the durable %+v, ok=true", got, ok, v1)
	}
	release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// ---- ingest ----

func TestIngest(t *testing.T) {
	const base = 1_700_000_000_000
	mc := newManualClock(base)
	l := mustOpen(t, Options{NodeID: 1, Now: mc.Now, MaxClockSkew: 10 * time.Second})
	ctx := context.Background()
	pk := []*marmotv1.Value{intVal(1)}

	t.Run("idempotent", func(t *testing.T) {
		cs := remoteCS("db", 2, 1, Timestamp{WallMS: base - 100}, 100, marmotv1.Op_OP_INSERT)
		mustIngest(t, l, cs)
		dup := proto.Clone(cs).(*marmotv1.ChangeSet)
		dup.Rows[0].After = nil // even a different body is ignored
		for i := 0; i < 3; i++ {
			if err := l.Ingest(ctx, dup); err != nil {
				t.Fatalf("duplicate ingest: %v", err)
			}
		}
		got, err := l.GetBySeq(2, 1)
		if err != nil || !proto.Equal(got, cs) {
			t.Fatalf("GetBySeq(2,1) = %v, %v; want the first ingest", got, err)
		}
		if n := len(scanOrigin(t, l, 2, 0)); n != 1 {
			t.Fatalf("origin 2 has %d entries, want 1", n)
		}
	})

	t.Run("gap", func(t *testing.T) {
		err := l.Ingest(ctx, remoteCS("db", 2, 3, Timestamp{WallMS: base - 50}, 101, marmotv1.Op_OP_INSERT))
		if !errors.Is(err, ErrGap) {
			t.Fatalf("seq 3 after 1: err = %v, want ErrGap", err)
		}
		if err := l.Ingest(ctx, remoteCS("db", 6, 2, Timestamp{WallMS: base - 50}, 101, marmotv1.Op_OP_INSERT)); !errors.Is(err, ErrGap) {
			t.Fatalf("first seq 2 of a new origin: err = %v, want ErrGap", err)
		}
		if d := l.Durable(); d[2] != 1 || d[6] != 0 {
			t.Fatalf("gap ingest changed Durable(): %v", d)
		}
		mustIngest(t, l, remoteCS("db", 2, 2, Timestamp{WallMS: base - 50}, 101, marmotv1.Op_OP_INSERT))
		mustIngest(t, l, remoteCS("db", 2, 3, Timestamp{WallMS: base - 40}, 102, marmotv1.Op_OP_INSERT))
		if got := seqs(scanOrigin(t, l, 2, 0)); !slices.Equal(got, []uint64{1, 2, 3}) {
			t.Fatalf("origin 2 = %v", got)
		}
	})

	t.Run("last writer wins", func(t *testing.T) {
		newer := remoteCS("db", 3, 1, Timestamp{WallMS: base + 2_000}, 1, marmotv1.Op_OP_UPDATE)
		older := remoteCS("db", 4, 1, Timestamp{WallMS: base + 1_000}, 1, marmotv1.Op_OP_UPDATE)
		mustIngest(t, l, newer)
		mustIngest(t, l, older)
		v, ok, err := l.RowVersion("db", "t", pk)
		if err != nil || !ok {
			t.Fatalf("RowVersion: %v %v", ok, err)
		}
		if want := (Version{HLC: FromProto(newer.Hlc), Seq: 1}); v != want {
			t.Fatalf("RowVersion = %+v, want the newer %+v", v, want)
		}
		// The older change set is still in the log (the materializer skips it).
		if _, err := l.GetBySeq(4, 1); err != nil {
			t.Fatalf("older change set not logged: %v", err)
		}
		// A newer one from the second origin takes over.
		newest := remoteCS("db", 4, 2, Timestamp{WallMS: base + 3_000}, 1, marmotv1.Op_OP_UPDATE)
		mustIngest(t, l, newest)
		if v, _, _ := l.RowVersion("db", "t", pk); v.HLC != FromProto(newest.Hlc) || v.Seq != 2 {
			t.Fatalf("RowVersion = %+v, want newest", v)
		}
	})

	t.Run("tombstone", func(t *testing.T) {
		del := remoteCS("db", 3, 2, Timestamp{WallMS: base + 5_000}, 1, marmotv1.Op_OP_DELETE)
		mustIngest(t, l, del)
		want := Version{HLC: FromProto(del.Hlc), Seq: 2, Deleted: true}
		if v, ok, _ := l.RowVersion("db", "t", pk); !ok || v != want {
			t.Fatalf("RowVersion after delete = %+v, %v; want tombstone %+v", v, ok, want)
		}
		lateUpdate := remoteCS("db", 4, 3, Timestamp{WallMS: base + 4_000}, 1, marmotv1.Op_OP_UPDATE)
		mustIngest(t, l, lateUpdate)
		lateInsert := remoteCS("db", 5, 1, Timestamp{WallMS: base + 4_500}, 1, marmotv1.Op_OP_INSERT)
		mustIngest(t, l, lateInsert)
		if v, ok, _ := l.RowVersion("db", "t", pk); !ok || v != want {
			t.Fatalf("older writes replaced the tombstone: %+v, want %+v", v, want)
		}
		// The tombstone survives a restart too (checked via the stored key).
		if v, ok, err := l.storedVersion(RowKey("db", "t", pk)); err != nil || !ok || v != want {
			t.Fatalf("stored version %+v %v %v", v, ok, err)
		}
	})

	t.Run("clock skew", func(t *testing.T) {
		far := remoteCS("db", 7, 1, Timestamp{WallMS: base + 60_000}, 200, marmotv1.Op_OP_INSERT)
		if err := l.Ingest(ctx, far); !errors.Is(err, ErrClockSkew) {
			t.Fatalf("ingest 60s ahead with 10s bound: err = %v, want ErrClockSkew", err)
		}
		if _, err := l.GetBySeq(7, 1); !errors.Is(err, ErrNotFound) {
			t.Fatalf("refused change set was appended: %v", err)
		}
		// Once our clock catches up the same change set is accepted.
		mc.Add(55 * time.Second)
		mustIngest(t, l, far)
	})

	t.Run("local commit after ingest", func(t *testing.T) {
		ahead := remoteCS("db", 8, 1, Timestamp{WallMS: mc.Now().UnixMilli() + 5_000, Logical: 9}, 300, marmotv1.Op_OP_INSERT)
		mustIngest(t, l, ahead)
		cs := mustCommit(t, l, rowCS("db", 301, marmotv1.Op_OP_INSERT), nil)
		if FromProto(cs.Hlc).Compare(FromProto(ahead.Hlc)) <= 0 {
			t.Fatalf("local HLC %v not after ingested %v", FromProto(cs.Hlc), FromProto(ahead.Hlc))
		}
	})
}

func TestIngestConcurrentWithCommits(t *testing.T) {
	mc := newManualClock(1_700_000_000_000)
	l := mustOpen(t, Options{NodeID: 1, Now: mc.Now})
	var wg sync.WaitGroup
	for o := uint64(2); o < 6; o++ {
		wg.Go(func() {
			for s := uint64(1); s <= 100; s++ {
				cs := remoteCS("db", o, s, Timestamp{WallMS: 1_700_000_000_000 + int64(s)}, int64(o*1000+s), marmotv1.Op_OP_INSERT)
				if err := l.Ingest(context.Background(), cs); err != nil {
					t.Errorf("ingest %d/%d: %v", o, s, err)
					return
				}
			}
		})
	}
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < 100; i++ {
				if err := l.Commit(context.Background(), rowCS("db", int64(100_000+g*1000+i), marmotv1.Op_OP_INSERT), nil); err != nil {
					t.Errorf("commit: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	want := Watermark{1: 400, 2: 100, 3: 100, 4: 100, 5: 100}
	got := l.Durable()
	for o, s := range want {
		if got[o] != s {
			t.Fatalf("Durable() = %v, want %v", got, want)
		}
		if n := seqs(scanOrigin(t, l, o, 0)); !slices.Equal(n, seqRange(1, s)) {
			t.Fatalf("origin %d: %d entries, not 1..%d", o, len(n), s)
		}
	}
	if n := len(scanAll(t, l)); n != 800 {
		t.Fatalf("Scan: %d entries, want 800", n)
	}
}

// ---- crash durability ----

// TestCrashDurability commits from several goroutines on pebble's crashable
// in-memory FS and takes a crash image while commits are in flight. A log
// opened on the image holds every change set acknowledged before the image
// was taken, and each origin's sequences are gap-free.
func TestCrashDurability(t *testing.T) {
	for _, cfg := range []struct {
		name     string
		unsynced int // percentage of unsynced writes that survive
	}{{"synced only", 0}, {"half of unsynced", 50}, {"all", 100}} {
		t.Run(cfg.name, func(t *testing.T) {
			mem := vfs.NewCrashableMem()
			l := mustOpen(t, Options{Dir: "/data", FS: mem, NodeID: 11})
			ctx := context.Background()
			// Some remote history too.
			for s := uint64(1); s <= 20; s++ {
				mustIngest(t, l, remoteCS("db", 12, s, Timestamp{WallMS: int64(s)}, int64(-int(s)), marmotv1.Op_OP_INSERT))
			}

			const goroutines, per, cloneAt = 8, 80, 300
			var (
				mu      sync.Mutex
				acked   = map[uint64]*marmotv1.ChangeSet{}
				reached = make(chan struct{})
				once    sync.Once
			)
			var wg sync.WaitGroup
			for g := 0; g < goroutines; g++ {
				wg.Go(func() {
					for i := 0; i < per; i++ {
						cs := rowCS(fmt.Sprint("db", g%3), int64(g*per+i), marmotv1.Op_OP_INSERT)
						if err := l.Commit(ctx, cs, nil); err != nil {
							t.Errorf("commit: %v", err)
							return
						}
						mu.Lock()
						acked[cs.Seq] = cs
						if len(acked) >= cloneAt {
							once.Do(func() { close(reached) })
						}
						mu.Unlock()
					}
				})
			}
			<-reached
			mu.Lock()
			before := make(map[uint64]*marmotv1.ChangeSet, len(acked))
			for s, cs := range acked {
				before[s] = cs
			}
			mu.Unlock()
			// Everything in before was acknowledged before this point.
			crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: cfg.unsynced, RNG: rand.New(rand.NewPCG(7, uint64(cfg.unsynced)))})
			wg.Wait()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}

			r := mustOpen(t, Options{Dir: "/data", FS: crashed})
			if r.Node() != 11 {
				t.Fatalf("node after crash %d, want 11", r.Node())
			}
			d := r.Durable()
			if d[12] != 20 {
				t.Fatalf("remote origin after crash: %d, want 20", d[12])
			}
			var maxAcked uint64
			for s, want := range before {
				maxAcked = max(maxAcked, s)
				got, err := r.GetBySeq(11, s)
				if err != nil {
					t.Fatalf("acknowledged seq %d lost in crash: %v", s, err)
				}
				if !proto.Equal(got, want) {
					t.Fatalf("seq %d after crash differs from what was acknowledged", s)
				}
			}
			if d[11] < maxAcked {
				t.Fatalf("Durable()[11] = %d after crash, below acknowledged %d", d[11], maxAcked)
			}
			t.Logf("%d acknowledged before the crash image (max seq %d); %d survived", len(before), maxAcked, d[11])
			for o, last := range d {
				got := seqs(scanOrigin(t, r, o, 0))
				if !slices.Equal(got, seqRange(1, last)) {
					t.Fatalf("origin %d after crash: seqs not 1..%d (%d entries)", o, last, len(got))
				}
				for _, s := range got {
					if _, err := r.GetBySeq(o, s); err != nil {
						t.Fatalf("GetBySeq(%d,%d): %v", o, s, err)
					}
				}
			}
			all := scanAll(t, r)
			if uint64(len(all)) != d[11]+d[12] {
				t.Fatalf("Scan after crash: %d entries, want %d", len(all), d[11]+d[12])
			}
			var maxTS Timestamp
			for _, cs := range all {
				if FromProto(cs.Hlc).Compare(maxTS) > 0 {
					maxTS = FromProto(cs.Hlc)
				}
			}
			// The log carries on: next seq, later HLC.
			next := mustCommit(t, r, rowCS("db0", 1_000_000, marmotv1.Op_OP_INSERT), nil)
			if next.Seq != d[11]+1 {
				t.Fatalf("first seq after crash %d, want %d", next.Seq, d[11]+1)
			}
			if FromProto(next.Hlc).Compare(maxTS) <= 0 {
				t.Fatalf("HLC after crash %v not after %v", FromProto(next.Hlc), maxTS)
			}
		})
	}
}

// TestScanDatabaseRecentAndStored: the applier's scan returns the same
// change sets, in order, whether the recent cache serves it or Pebble's
// index does (after a restart the cache is empty).
func TestScanDatabaseRecentAndStored(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	want := map[string][]uint64{}
	for i := range 12 {
		db := "a"
		if i%3 == 2 {
			db = "b"
		}
		cs := mustCommit(t, l, rowCS(db, int64(i), marmotv1.Op_OP_INSERT), nil)
		want[db] = append(want[db], cs.Seq)
	}
	scan := func(l *Log, db string, after uint64) []uint64 {
		var got []uint64
		if err := l.ScanDatabase(db, 1, after, func(cs *marmotv1.ChangeSet) error {
			if cs.Database != db {
				t.Fatalf("scan of %q returned a change set of %q", db, cs.Database)
			}
			got = append(got, cs.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	check := func(name string, l *Log) {
		for _, db := range []string{"a", "b"} {
			for _, after := range []uint64{0, 3, 11, 12} {
				var exp []uint64
				for _, s := range want[db] {
					if s > after {
						exp = append(exp, s)
					}
				}
				if got := scan(l, db, after); fmt.Sprint(got) != fmt.Sprint(exp) {
					t.Errorf("%s: ScanDatabase(%q, after %d) = %v, want %v", name, db, after, got, exp)
				}
			}
		}
	}
	check("recent", l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir})
	check("stored", l)
	// Partly cached: the newest are in the cache, the rest are not.
	mustCommit(t, l, rowCS("a", 100, marmotv1.Op_OP_INSERT), nil)
	want["a"] = append(want["a"], 13)
	check("mixed", l)
}

// TestScanOriginRawRecentAndStored: ScanOriginRaw returns the same entries
// whether they come from the recent cache, from Pebble (after a restart)
// or from both.
func TestScanOriginRawRecentAndStored(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	want := map[uint64][]byte{}
	for i := range 10 {
		cs := mustCommit(t, l, rowCS("db", int64(i), marmotv1.Op_OP_INSERT), nil)
		b, err := proto.Marshal(cs)
		if err != nil {
			t.Fatal(err)
		}
		want[cs.Seq] = b
	}
	check := func(name string, l *Log, last uint64) {
		for _, after := range []uint64{0, 4, last - 1, last} {
			var got []uint64
			err := l.ScanOriginRaw(1, after, func(seq uint64, data []byte) error {
				var cs marmotv1.ChangeSet
				if err := proto.Unmarshal(data, &cs); err != nil {
					t.Fatalf("%s: entry %d: %v", name, seq, err)
				}
				if cs.Seq != seq || !bytes.Equal(cs.Id, mustUnmarshal(t, want[seq]).Id) {
					t.Fatalf("%s: entry %d holds change set %d (%s)", name, seq, cs.Seq, cs.Id)
				}
				got = append(got, seq)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var exp []uint64
			for s := after + 1; s <= last; s++ {
				exp = append(exp, s)
			}
			if fmt.Sprint(got) != fmt.Sprint(exp) {
				t.Errorf("%s: ScanOriginRaw(after %d) = %v, want %v", name, after, got, exp)
			}
		}
		// errStop ends the scan without an error.
		n := 0
		if err := l.ScanOriginRaw(1, 0, func(uint64, []byte) error { n++; return errStop }); err != nil || n != 1 {
			t.Errorf("%s: stopped scan: %d entries, err %v", name, n, err)
		}
	}
	check("recent", l, 10)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir})
	check("stored", l, 10)
	cs := mustCommit(t, l, rowCS("db", 100, marmotv1.Op_OP_INSERT), nil)
	b, _ := proto.Marshal(cs)
	want[cs.Seq] = b
	check("mixed", l, 11)
}

func mustUnmarshal(t *testing.T, b []byte) *marmotv1.ChangeSet {
	t.Helper()
	var cs marmotv1.ChangeSet
	if err := proto.Unmarshal(b, &cs); err != nil {
		t.Fatal(err)
	}
	return &cs
}

// TestIngestQueuedRawKeepsWireBytes: a change set ingested with the bytes
// it arrived as is stored as those bytes, not encoded again, and decodes
// to the same change set.
func TestIngestQueuedRawKeepsWireBytes(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	cs := remoteCS("db", 2, 1, Timestamp{WallMS: time.Now().UnixMilli()}, 7, marmotv1.Op_OP_INSERT)
	enc, err := proto.Marshal(cs)
	if err != nil {
		t.Fatal(err)
	}
	// The same message with its fields in another order: valid protobuf
	// that a fresh encoding would not reproduce byte for byte.
	idField := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), cs.Id)
	rest, _ := proto.Marshal(&marmotv1.ChangeSet{Database: cs.Database, Rows: cs.Rows, Origin: cs.Origin, Seq: cs.Seq, Hlc: cs.Hlc})
	wire := append(rest, idField...)
	if bytes.Equal(wire, enc) {
		t.Fatal("test needs a non-canonical encoding")
	}
	decoded := mustUnmarshal(t, wire)
	a, err := l.IngestQueuedRaw(decoded, wire)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	var got []byte
	if err := l.ScanOriginRaw(2, 0, func(_ uint64, data []byte) error { got = data; return nil }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, wire) {
		t.Fatalf("stored %x, want the wire bytes %x", got, wire)
	}
	if !proto.Equal(mustUnmarshal(t, got), cs) {
		t.Fatal("stored bytes decode to another change set")
	}
}

// TestScanDatabaseOriginElsewhere: an origin whose change sets are all in
// other databases yields nothing for this one, before and after a restart,
// and its first change set here is found once it is durable.
func TestScanDatabaseOriginElsewhere(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	hlc := Timestamp{WallMS: time.Now().UnixMilli()}
	for seq := uint64(1); seq <= 5; seq++ {
		hlc.WallMS++
		mustIngest(t, l, remoteCS("other", 2, seq, hlc, int64(seq), marmotv1.Op_OP_INSERT))
	}
	scan := func(l *Log) []uint64 {
		var got []uint64
		if err := l.ScanDatabase("db", 2, 0, func(cs *marmotv1.ChangeSet) error {
			got = append(got, cs.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := scan(l); len(got) != 0 {
		t.Fatalf("db holds nothing of origin 2, scan returned %v", got)
	}
	hlc.WallMS++
	mustIngest(t, l, remoteCS("db", 2, 6, hlc, 6, marmotv1.Op_OP_INSERT))
	if got := scan(l); fmt.Sprint(got) != "[6]" {
		t.Fatalf("after origin 2's first change set of db: %v, want [6]", got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = mustOpen(t, Options{Dir: dir})
	if got := scan(l); fmt.Sprint(got) != "[6]" {
		t.Fatalf("after a restart: %v, want [6]", got)
	}
	hlc.WallMS++
	mustIngest(t, l, remoteCS("other", 2, 7, hlc, 7, marmotv1.Op_OP_INSERT))
	hlc.WallMS++
	mustIngest(t, l, remoteCS("db", 2, 8, hlc, 8, marmotv1.Op_OP_INSERT))
	if got := scan(l); fmt.Sprint(got) != "[6 8]" {
		t.Fatalf("then: %v, want [6 8]", got)
	}
}
