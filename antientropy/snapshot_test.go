package antientropy

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/peer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// fakeViews stands in for the materializer: one database whose "copy" is
// a file of random bytes, so transfers of any size are cheap to set up.
type fakeViews struct{ size int }

func (v fakeViews) Databases() []string { return []string{"big"} }

func (v fakeViews) SnapshotTo(_ context.Context, _, path string, at txlog.Watermark) (txlog.Watermark, error) {
	b := make([]byte, v.size)
	_, _ = rand.Read(b)
	return at, os.WriteFile(path, b, 0o644)
}

func (fakeViews) Install(context.Context, string, string) error { return nil }

func (fakeViews) DropMissing(context.Context, string, txlog.Watermark) (bool, error) {
	return false, nil
}

// flaky wraps a Source: it breaks the first fetch of a file after some
// chunks, and can corrupt one chunk's data (keeping its checksum).
type flaky struct {
	*Source
	breakAfter int
	corrupt    bool
	broken     atomic.Bool
	sent       atomic.Int64
}

func (f *flaky) Fetch(ctx context.Context, id, name string, offset uint64, send func(*marmotv1.SnapshotChunk) error) error {
	n := 0
	return f.Source.Fetch(ctx, id, name, offset, func(c *marmotv1.SnapshotChunk) error {
		if name != "big.db" {
			return send(c)
		}
		n++
		if n > f.breakAfter && f.broken.CompareAndSwap(false, true) {
			return errors.New("connection reset (test)")
		}
		if f.corrupt && n == 2 {
			c = &marmotv1.SnapshotChunk{Offset: c.Offset, Data: bytes.Clone(c.Data), Crc32C: c.Crc32C}
			c.Data[0] ^= 0xff
		}
		f.sent.Add(int64(len(c.Data)))
		return send(c)
	})
}

func serve(t *testing.T, src peer.SnapshotSource) (string, *txlog.Log) {
	t.Helper()
	l, err := txlog.Open(txlog.Options{Dir: t.TempDir(), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	svc := &peer.Service{Log: l, Logger: slog.Default(), Snapshots: src}
	path, h, err := svc.Handler("secret")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = peer.ServerProtocols()
	srv.Start()
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), l
}

// TestSnapshotTransferResumes: a transfer broken after 3 of 12 chunks
// continues from the bytes already on disk, and the file checks out.
func TestSnapshotTransferResumes(t *testing.T) {
	src := &Source{Dir: t.TempDir(), Views: fakeViews{size: 12 * chunkSize}, Logger: slog.Default()}
	f := &flaky{Source: src, breakAfter: 3}
	addr, l := serve(t, f)
	src.Log = l
	client := peer.NewClient("secret", 2, addr)
	m, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	if _, err := Download(context.Background(), client, dataDir, m, nil, nil); err == nil {
		t.Fatal("the first transfer should have broken")
	}
	if got := Unfinished(dataDir); got != m.Id {
		t.Fatalf("Unfinished = %q, want %q", got, m.Id)
	}
	again, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{ResumeId: m.Id})
	if err != nil || again.Id != m.Id {
		t.Fatalf("resume prepare: %v, id %q want %q", err, again.GetId(), m.Id)
	}
	dir, err := Download(context.Background(), client, dataDir, again, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sent := f.sent.Load(); sent != 12*chunkSize {
		t.Fatalf("sent %d bytes of big.db in total, want exactly its %d (no byte twice)", sent, 12*chunkSize)
	}
	got, _ := fileSHA256(filepath.Join(dir, "big.db"))
	want, _ := fileSHA256(filepath.Join(src.Dir, m.Id, "big.db"))
	if !bytes.Equal(got, want) {
		t.Fatal("received file differs from the source's")
	}
}

// TestSnapshotCorruptChunkRefused: a chunk whose bytes do not match its
// CRC is never written.
func TestSnapshotCorruptChunkRefused(t *testing.T) {
	src := &Source{Dir: t.TempDir(), Views: fakeViews{size: 4 * chunkSize}, Logger: slog.Default()}
	f := &flaky{Source: src, breakAfter: 1 << 30, corrupt: true}
	addr, l := serve(t, f)
	src.Log = l
	m, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Download(context.Background(), peer.NewClient("secret", 2, addr), t.TempDir(), m, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("corrupt chunk: %v, want a checksum error", err)
	}
}

// TestSnapshotNotReusedPastTheLog: a snapshot whose position the log has
// trimmed past is not served for a resume: the receiver could not stream
// the rest.
func TestSnapshotNotReusedPastTheLog(t *testing.T) {
	src := &Source{Dir: t.TempDir(), Views: fakeViews{size: 10}, Logger: slog.Default()}
	_, l := serve(t, src)
	src.Log = l
	cs := &marmotv1.ChangeSet{Id: []byte("x"), Database: "big", Rows: []*marmotv1.RowChange{{Table: "t", Op: marmotv1.Op_OP_INSERT,
		Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}}}}
	m, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Commit(context.Background(), cs, l.Durable()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Trim(1, 1); err != nil {
		t.Fatal(err)
	}
	again, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{ResumeId: m.Id})
	if err != nil || again.Id == m.Id {
		t.Fatalf("stale snapshot served again: %v", err)
	}
	// Made moments ago, but older than the position the caller asks for.
	if err := l.Commit(context.Background(), &marmotv1.ChangeSet{Id: []byte("y"), Database: "big"}, l.Durable()); err != nil {
		t.Fatal(err)
	}
	third, err := src.Prepare(context.Background(), &marmotv1.PrepareSnapshotRequest{AtLeast: l.Durable()})
	if err != nil || third.Id == again.Id || third.Watermark[1] != 2 {
		t.Fatalf("a recent snapshot older than at_least was shared: %v %v", err, third.GetWatermark())
	}
}
