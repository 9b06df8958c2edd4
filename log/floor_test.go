package log

import (
	"bytes"
	"context"
	"errors"
	"testing"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestTrimRaisesFloorAndRefusesReadsBelowIt(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	for i := int64(1); i <= 2500; i++ {
		mustCommit(t, l, rowCS("db", i%7, marmotv1.Op_OP_INSERT), l.Durable())
	}
	n, err := l.Trim(1, 2100)
	if err != nil || n != 2100 {
		t.Fatalf("Trim = %d, %v; want 2100 entries", n, err)
	}
	if got := l.Floors()[1]; got != 2100 {
		t.Fatalf("floor = %d, want 2100", got)
	}
	var te *TrimmedError
	if err := l.ScanOriginRaw(1, 5, func(uint64, []byte) error { return nil }); !errors.As(err, &te) || te.Floor != 2100 {
		t.Fatalf("scan below floor: %v, want TrimmedError floor 2100", err)
	}
	if got := seqs(scanOrigin(t, l, 1, 2100)); !equalSeqs(got, seqRange(2101, 2500)) {
		t.Fatalf("scan above floor: %v", got)
	}
	if got := len(scanAll(t, l)); got != 400 {
		t.Fatalf("entries left = %d, want 400", got)
	}
	// A row's version outlives the trimmed entry that wrote it.
	if _, ok, _ := l.RowVersion("db", "t", []*marmotv1.Value{intVal(3)}); !ok {
		t.Fatal("row version lost with the trimmed entry")
	}
	l.Close()
	l = mustOpen(t, Options{Dir: dir})
	if got := l.Floors()[1]; got != 2100 {
		t.Fatalf("floor after reopen = %d", got)
	}
	cs := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_UPDATE), l.Durable())
	if cs.Seq != 2501 {
		t.Fatalf("seq after trim and reopen = %d, want 2501", cs.Seq)
	}
	if n, _ := l.Trim(1, 99999); n != 401 || l.Floors()[1] != 2501 {
		t.Fatalf("trimming everything: n=%d floor=%d", n, l.Floors()[1])
	}
	l.Close()
	// Everything trimmed: the sequence must still continue, from the floor.
	l = mustOpen(t, Options{Dir: dir})
	if cs := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_UPDATE), l.Durable()); cs.Seq != 2502 {
		t.Fatalf("seq after trimming all = %d, want 2502", cs.Seq)
	}
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestInstallSnapshotMergesVersionsAndContinuesSequences(t *testing.T) {
	src := mustOpen(t, Options{NodeID: 1})
	for i := int64(1); i <= 50; i++ {
		mustCommit(t, src, rowCS("db", i, marmotv1.Op_OP_INSERT), src.Durable())
	}
	mustCommit(t, src, rowCS("db", 7, marmotv1.Op_OP_DELETE), src.Durable())
	var buf bytes.Buffer
	if n, err := src.ExportVersions(&buf); err != nil || n != 50 {
		t.Fatalf("ExportVersions = %d, %v", n, err)
	}
	at := src.Durable()

	dst := mustOpen(t, Options{NodeID: 2})
	// The receiver wrote row 9 itself after the source's write: its own,
	// newer version must survive the install.
	ts := src.Clock().Last()
	ts.WallMS += 10_000
	mustIngest(t, dst, remoteCS("db", 3, 1, ts, 9, marmotv1.Op_OP_UPDATE))
	if err := dst.InstallSnapshot(at, &buf); err != nil {
		t.Fatal(err)
	}
	if got := dst.Durable()[1]; got != 51 {
		t.Fatalf("durable[1] after install = %d, want 51", got)
	}
	if v, ok, _ := dst.RowVersion("db", "t", []*marmotv1.Value{intVal(7)}); !ok || !v.Deleted {
		t.Fatalf("tombstone of row 7 not installed: %+v %v", v, ok)
	}
	if v, _, _ := dst.RowVersion("db", "t", []*marmotv1.Value{intVal(9)}); v.HLC.Node != 3 {
		t.Fatalf("receiver's newer version of row 9 overwritten: %+v", v)
	}
	// Sequences continue above the snapshot: the next entry is ingested,
	// an older one is a no-op, a gap is still refused.
	next := mustCommit(t, src, rowCS("db", 60, marmotv1.Op_OP_INSERT), src.Durable())
	mustIngest(t, dst, next)
	mustIngest(t, dst, remoteCS("db", 1, 3, src.Clock().Last(), 3, marmotv1.Op_OP_UPDATE))
	if err := dst.Ingest(context.Background(), remoteCS("db", 1, 60, src.Clock().Last(), 3, marmotv1.Op_OP_UPDATE)); !errors.Is(err, ErrGap) {
		t.Fatalf("gap after install: %v", err)
	}
	if err := dst.ScanOriginRaw(1, 10, func(uint64, []byte) error { return nil }); !errors.Is(err, ErrTrimmed) {
		t.Fatalf("serving below the installed floor: %v", err)
	}
}

func TestIngestQueuedSharesFsyncs(t *testing.T) {
	src := mustOpen(t, Options{NodeID: 1})
	var css []*marmotv1.ChangeSet
	for i := int64(1); i <= 300; i++ {
		css = append(css, mustCommit(t, src, rowCS("db", i, marmotv1.Op_OP_INSERT), src.Durable()))
	}
	dst := mustOpen(t, Options{NodeID: 2})
	var last *Appending
	for _, cs := range css {
		a, err := dst.IngestQueued(cs)
		if err != nil {
			t.Fatal(err)
		}
		last = a
	}
	if a, err := dst.IngestQueued(css[5]); a != nil || err != nil {
		t.Fatalf("re-ingest of a held change set: %v, %v", a, err)
	}
	gap := remoteCS("db", 1, 302, src.Clock().Last(), 1, marmotv1.Op_OP_UPDATE)
	if _, err := dst.IngestQueued(gap); !errors.Is(err, ErrGap) {
		t.Fatalf("gap: %v", err)
	}
	if err := last.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := dst.Durable()[1]; got != 300 {
		t.Fatalf("durable = %d after waiting for the last, want 300", got)
	}
}
