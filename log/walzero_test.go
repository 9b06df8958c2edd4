package log

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"google.golang.org/protobuf/proto"
)

// TestWALZeroFill: on the real filesystem the WAL is written inside a
// zero-filled prefix a chunk ahead of the data (so its fdatasyncs never
// change the file's size), across chunk boundaries, and a log reopened
// after a close, or from a copy of a running log's directory (a crash),
// holds every change set committed.
func TestWALZeroFill(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 3})
	big := bytes.Repeat([]byte("x"), 40<<10)
	var committed []*marmotv1.ChangeSet
	commit := func(n int) {
		for range n {
			cs := rowCS("db", int64(len(committed)+1), marmotv1.Op_OP_INSERT)
			cs.Rows[0].After[1] = &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: big}}
			committed = append(committed, mustCommit(t, l, cs, nil))
		}
	}
	commit(250) // ~10 MiB: crosses two chunk boundaries

	wals, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	if len(wals) == 0 {
		t.Fatal("no WAL file")
	}
	var total int64
	for _, w := range wals {
		st, err := os.Stat(w)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size()%walZeroChunk != 0 {
			t.Fatalf("%s is %d bytes, not a multiple of the %d-byte zero-fill chunk", w, st.Size(), walZeroChunk)
		}
		total += st.Size()
	}
	if total < 10<<20 {
		t.Fatalf("WAL files total %d bytes for ~10 MiB of change sets", total)
	}

	// A copy taken while the log runs is what a kill -9 leaves.
	crashDir := t.TempDir()
	copyDir(t, dir, crashDir)
	check := func(what string, r *Log) {
		t.Helper()
		for _, want := range committed {
			got, err := r.GetBySeq(3, want.Seq)
			if err != nil {
				t.Fatalf("%s: seq %d: %v", what, want.Seq, err)
			}
			if !proto.Equal(got, want) {
				t.Fatalf("%s: seq %d differs", what, want.Seq)
			}
		}
	}
	crashed := mustOpen(t, Options{Dir: crashDir})
	check("after a crash", crashed)
	// The reopened log appends after the zero-filled tail it found.
	before := len(committed)
	lc := l
	l = crashed
	commit(20)
	if got := seqs(scanOrigin(t, crashed, 3, 0)); len(got) != before+20 || got[len(got)-1] != committed[len(committed)-1].Seq {
		t.Fatalf("after the crash and 20 more commits: %d entries, want %d", len(got), before+20)
	}
	if err := crashed.Close(); err != nil {
		t.Fatal(err)
	}
	check("reopened after the crash", mustOpen(t, Options{Dir: crashDir}))

	committed = committed[:before]
	if err := lc.Close(); err != nil {
		t.Fatal(err)
	}
	check("after a close", mustOpen(t, Options{Dir: dir}))
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || e.Name() == "LOCK" {
			continue
		}
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
