package antientropy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/peer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Views is what snapshots need of the materializer.
type Views interface {
	Databases() []string
	// SnapshotTo copies database name, consistent and including every
	// change set of at, to path; it returns the watermark inside the copy.
	SnapshotTo(ctx context.Context, name, path string, at txlog.Watermark) (txlog.Watermark, error)
	// Install replaces database name's view with the file at src.
	Install(ctx context.Context, name, src string) error
	// DropMissing removes a view the snapshot at w does not hold, unless
	// the local log has newer history of it; it reports whether it did.
	DropMissing(ctx context.Context, name string, w txlog.Watermark) (bool, error)
}

const (
	versionsFile = "versions"
	manifestFile = "manifest.json"
	chunkSize    = 1 << 20
)

// Source makes snapshots and serves their files to peers (and to
// marmotctl backup). A snapshot lives in Dir/<id>/ as one file per
// database plus the row versions and a manifest; it is reused for
// requests within Reuse of its creation and for a caller resuming it (a
// broken transfer continues against the same files), and deleted after
// Keep without a fetch.
type Source struct {
	Dir    string
	Log    *txlog.Log
	Views  Views
	Logger *slog.Logger
	Reuse  time.Duration
	Keep   time.Duration

	mu      sync.Mutex
	current *marmotv1.SnapshotManifest
	touched map[string]time.Time // snapshot id -> last fetch
}

var _ peer.SnapshotSource = (*Source)(nil)

// Prepare returns the snapshot the caller resumes (it holds part of it)
// when still usable, a snapshot made moments ago that covers the caller's
// AtLeast (nodes joining together share it), or a new one. A snapshot is usable while this log
// still holds everything after its position: the caller continues from
// there by delta sync.
func (s *Source) Prepare(ctx context.Context, req *marmotv1.PrepareSnapshotRequest) (*marmotv1.SnapshotManifest, error) {
	resumeID := req.GetResumeId()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked()
	if resumeID != "" && safeName(resumeID) {
		if m, err := ReadManifest(filepath.Join(s.Dir, resumeID, manifestFile)); err == nil && s.joinsLog(m) {
			s.touchLocked(m.Id)
			return m, nil
		}
	}
	if c := s.current; c != nil && time.Since(time.UnixMilli(c.CreatedUnixMs)) < s.reuse() && s.joinsLog(c) && covers(c.Watermark, req.GetAtLeast()) {
		if _, err := os.Stat(filepath.Join(s.Dir, c.Id, manifestFile)); err == nil {
			return c, nil
		}
	}
	m, err := s.make(ctx)
	if err != nil {
		return nil, err
	}
	s.current = m
	s.touchLocked(m.Id)
	return m, nil
}

func (s *Source) reuse() time.Duration {
	if s.Reuse > 0 {
		return s.Reuse
	}
	return 5 * time.Second
}

func covers(have, want map[uint64]uint64) bool {
	for o, seq := range want {
		if have[o] < seq {
			return false
		}
	}
	return true
}

// joinsLog reports whether the log still holds every change set after m's
// position, so a node that installs m can stream the rest.
func (s *Source) joinsLog(m *marmotv1.SnapshotManifest) bool {
	for o, f := range s.Log.Floors() {
		if m.Watermark[o] < f {
			return false
		}
	}
	return true
}

// Make writes a new snapshot into dir (which must not exist) and returns
// its manifest. marmotctl backup uses it directly.
func Make(ctx context.Context, dir string, l *txlog.Log, views Views) (*marmotv1.SnapshotManifest, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// The log position first, then the views (each waits until it holds
	// everything up to it), then the versions: versions only move
	// forward, so they are at least as new as every view.
	at := l.Durable()
	m := &marmotv1.SnapshotManifest{Id: filepath.Base(dir), SourceNode: l.Node(), Watermark: at}
	for _, db := range views.Databases() {
		path := filepath.Join(dir, db+".db")
		if _, err := views.SnapshotTo(ctx, db, path, at); err != nil {
			return nil, err
		}
		f, err := describe(path, db+".db", db)
		if err != nil {
			return nil, err
		}
		m.Files = append(m.Files, f)
	}
	vf, err := os.Create(filepath.Join(dir, versionsFile))
	if err != nil {
		return nil, err
	}
	if _, err := l.ExportVersions(vf); err != nil {
		vf.Close()
		return nil, err
	}
	if err := vf.Sync(); err != nil {
		vf.Close()
		return nil, err
	}
	vf.Close()
	f, err := describe(filepath.Join(dir, versionsFile), versionsFile, "")
	if err != nil {
		return nil, err
	}
	m.Files = append(m.Files, f)
	m.CreatedUnixMs = time.Now().UnixMilli()
	if err := writeManifest(filepath.Join(dir, manifestFile), m); err != nil {
		return nil, err
	}
	return m, nil
}

func (s *Source) make(ctx context.Context) (*marmotv1.SnapshotManifest, error) {
	id := newID()
	dir := filepath.Join(s.Dir, id)
	start := time.Now()
	m, err := Make(ctx, dir, s.Log, s.Views)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("antientropy: make snapshot: %w", err)
	}
	var size uint64
	for _, f := range m.Files {
		size += f.Size
	}
	s.Logger.Info("snapshot made", "snapshot", id, "files", len(m.Files), "bytes", size, "took", time.Since(start).Round(time.Millisecond))
	return m, nil
}

func newID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b)
}

func describe(path, name, db string) (*marmotv1.SnapshotFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return nil, err
	}
	return &marmotv1.SnapshotFile{Name: name, Database: db, Size: uint64(n), Sha256: h.Sum(nil)}, nil
}

// manifestJSON is the manifest on disk: JSON so an operator can read a
// backup's position with cat.
type manifestJSON struct {
	ID          string            `json:"id"`
	SourceNode  uint64            `json:"source_node"`
	CreatedMS   int64             `json:"created_unix_ms"`
	Watermark   map[uint64]uint64 `json:"watermark"`
	Files       []fileJSON        `json:"files"`
	InstallFrom string            `json:"-"`
}

type fileJSON struct {
	Name     string `json:"name"`
	Database string `json:"database,omitempty"`
	Size     uint64 `json:"size"`
	SHA256   string `json:"sha256"`
}

func writeManifest(path string, m *marmotv1.SnapshotManifest) error {
	j := manifestJSON{ID: m.Id, SourceNode: m.SourceNode, CreatedMS: m.CreatedUnixMs, Watermark: m.Watermark}
	for _, f := range m.Files {
		j.Files = append(j.Files, fileJSON{Name: f.Name, Database: f.Database, Size: f.Size, SHA256: hex.EncodeToString(f.Sha256)})
	}
	b, err := json.MarshalIndent(j, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(path, b)
}

// ReadManifest reads a snapshot's manifest.json.
func ReadManifest(path string) (*marmotv1.SnapshotManifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var j manifestJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, fmt.Errorf("antientropy: manifest %s: %w", path, err)
	}
	m := &marmotv1.SnapshotManifest{Id: j.ID, SourceNode: j.SourceNode, CreatedUnixMs: j.CreatedMS, Watermark: j.Watermark}
	for _, f := range j.Files {
		sum, err := hex.DecodeString(f.SHA256)
		if err != nil {
			return nil, fmt.Errorf("antientropy: manifest %s: %w", path, err)
		}
		m.Files = append(m.Files, &marmotv1.SnapshotFile{Name: f.Name, Database: f.Database, Size: f.Size, Sha256: sum})
	}
	return m, nil
}

func writeFileSync(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Fetch streams one file of snapshot id from offset.
func (s *Source) Fetch(ctx context.Context, id, name string, offset uint64, send func(*marmotv1.SnapshotChunk) error) error {
	if strings.ContainsAny(id, `/\`) || strings.ContainsAny(name, `/\`) || id == "" || name == "" || strings.HasPrefix(id, ".") || strings.HasPrefix(name, ".") || name == manifestFile {
		return fmt.Errorf("%w: %q/%q", peer.ErrNoSnapshot, id, name)
	}
	s.mu.Lock()
	s.touchLocked(id)
	s.mu.Unlock()
	f, err := os.Open(filepath.Join(s.Dir, id, name))
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: %s/%s", peer.ErrNoSnapshot, id, name)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(int64(offset), io.SeekStart); err != nil {
		return err
	}
	buf := make([]byte, chunkSize)
	pos := offset
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(f, buf)
		if n > 0 {
			chunk := &marmotv1.SnapshotChunk{Offset: pos, Data: buf[:n], Crc32C: crc32.Checksum(buf[:n], castagnoli)}
			if err := send(chunk); err != nil {
				return err
			}
			metricSnapshotBytes.WithLabelValues("sent").Add(float64(n))
			pos += uint64(n)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func (s *Source) touchLocked(id string) {
	if s.touched == nil {
		s.touched = map[string]time.Time{}
	}
	s.touched[id] = time.Now()
}

// expireLocked deletes snapshots nobody fetched for Keep (and leftovers of
// an earlier run, which nobody can be fetching).
func (s *Source) expireLocked() {
	keep := s.Keep
	if keep <= 0 {
		keep = time.Hour
	}
	entries, _ := os.ReadDir(s.Dir)
	for _, e := range entries {
		last, ok := s.touched[e.Name()]
		if ok && time.Since(last) < keep {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.Dir, e.Name())); err == nil {
			delete(s.touched, e.Name())
			if s.current != nil && s.current.Id == e.Name() {
				s.current = nil
			}
		}
	}
}
