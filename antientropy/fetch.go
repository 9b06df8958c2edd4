package antientropy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// incomingDir holds snapshots being received, one directory per snapshot
// id, so a transfer broken halfway (connection, process) resumes with the
// bytes already on disk.
const incomingDir = "snapshot-incoming"

// installMarker in a snapshot's incoming directory means every file
// arrived and checked out, and installing has begun: at start-up an
// install interrupted by a crash is finished before anything reads the
// views.
const installMarker = "INSTALL"

// Unfinished is the id of a snapshot partly received earlier, "" if none.
func Unfinished(dataDir string) string {
	entries, err := os.ReadDir(filepath.Join(dataDir, incomingDir))
	if err != nil {
		return ""
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(dataDir, incomingDir, e.Name(), installMarker)); err != nil {
			return e.Name()
		}
	}
	return ""
}

// Progress reports a transfer: bytes done of total.
type Progress func(done, total uint64)

// Download fetches snapshot m from client into dataDir's incoming area,
// resuming any file partly received earlier, verifying every chunk's
// CRC-32C and every file's SHA-256. It returns the directory holding the
// complete snapshot.
func Download(ctx context.Context, client marmotv1connect.PeerServiceClient, dataDir string, m *marmotv1.SnapshotManifest, progress Progress, logger *slog.Logger) (string, error) {
	dir := filepath.Join(dataDir, incomingDir, m.Id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Other, older incoming snapshots will never be finished.
	if entries, err := os.ReadDir(filepath.Dir(dir)); err == nil {
		for _, e := range entries {
			if e.Name() != m.Id {
				os.RemoveAll(filepath.Join(filepath.Dir(dir), e.Name()))
			}
		}
	}
	if err := writeManifest(filepath.Join(dir, manifestFile), m); err != nil {
		return "", err
	}
	var total, done uint64
	for _, f := range m.Files {
		total += f.Size
	}
	for _, f := range m.Files {
		if !safeName(f.Name) {
			return "", fmt.Errorf("antientropy: snapshot file name %q refused", f.Name)
		}
		if st, err := os.Stat(filepath.Join(dir, f.Name)); err == nil && st.Size() > 0 && uint64(st.Size()) < f.Size && logger != nil {
			logger.Info("snapshot transfer resumes", "snapshot", m.Id, "file", f.Name, "from_byte", st.Size(), "size", f.Size)
		}
		n, err := fetchFile(ctx, client, m.Id, f, filepath.Join(dir, f.Name), func(n uint64) {
			if progress != nil {
				progress(done+n, total)
			}
		})
		if err != nil {
			return "", err
		}
		done += n
	}
	if logger != nil {
		logger.Info("snapshot received", "snapshot", m.Id, "from", m.SourceNode, "bytes", total)
	}
	return dir, nil
}

func safeName(n string) bool {
	return n != "" && n != "." && n != ".." && n != manifestFile && n != installMarker && filepath.Base(n) == n
}

// fetchFile brings path to f's size and checksum, continuing from what is
// already there.
func fetchFile(ctx context.Context, client marmotv1connect.PeerServiceClient, id string, f *marmotv1.SnapshotFile, path string, progress func(uint64)) (uint64, error) {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	st, err := out.Stat()
	if err != nil {
		return 0, err
	}
	have := uint64(st.Size())
	if have > f.Size {
		have = 0
		if err := out.Truncate(0); err != nil {
			return 0, err
		}
	}
	if have < f.Size {
		stream, err := client.FetchSnapshot(ctx, connect.NewRequest(&marmotv1.FetchSnapshotRequest{Id: id, Name: f.Name, Offset: have}))
		if err != nil {
			return have, err
		}
		for stream.Receive() {
			c := stream.Msg()
			if c.Offset != have {
				stream.Close()
				return have, fmt.Errorf("antientropy: snapshot %s/%s: chunk at %d, expected %d", id, f.Name, c.Offset, have)
			}
			if crc32.Checksum(c.Data, castagnoli) != c.Crc32C {
				stream.Close()
				return have, fmt.Errorf("antientropy: snapshot %s/%s: chunk at %d fails its checksum", id, f.Name, c.Offset)
			}
			if _, err := out.WriteAt(c.Data, int64(have)); err != nil {
				stream.Close()
				return have, err
			}
			have += uint64(len(c.Data))
			metricSnapshotBytes.WithLabelValues("received").Add(float64(len(c.Data)))
			progress(have)
		}
		err = stream.Err()
		stream.Close()
		if err != nil {
			return have, err
		}
		if have != f.Size {
			return have, fmt.Errorf("antientropy: snapshot %s/%s: stream ended at %d of %d bytes", id, f.Name, have, f.Size)
		}
	}
	if err := out.Sync(); err != nil {
		return have, err
	}
	sum, err := fileSHA256(path)
	if err != nil {
		return have, err
	}
	if !bytes.Equal(sum, f.Sha256) {
		// Start this file over next time.
		out.Truncate(0)
		return 0, fmt.Errorf("antientropy: snapshot %s/%s: sha256 mismatch", id, f.Name)
	}
	progress(have)
	return have, nil
}

func fileSHA256(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

// Install makes a downloaded snapshot this node's state: the row versions
// and log floors go into the log, then each view file replaces the local
// one. The marker written first lets ResumeInstall finish the job if the
// process dies in between.
func Install(ctx context.Context, dir string, l *txlog.Log, views Views) error {
	m, err := ReadManifest(filepath.Join(dir, manifestFile))
	if err != nil {
		return err
	}
	if err := writeFileSync(filepath.Join(dir, installMarker), []byte(m.Id)); err != nil {
		return err
	}
	if err := installLog(dir, m, l); err != nil {
		return err
	}
	for _, f := range m.Files {
		if f.Database == "" {
			continue
		}
		src := filepath.Join(dir, f.Name)
		if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
			continue // installed before a crash
		}
		if err := views.Install(ctx, f.Database, src); err != nil {
			return err
		}
	}
	// A database the source no longer has at the snapshot's position was
	// dropped there; its DROP may be among the change sets the snapshot
	// stands in for, so this node would never see it otherwise.
	in := map[string]bool{}
	for _, f := range m.Files {
		in[f.Database] = true
	}
	for _, db := range views.Databases() {
		if in[db] {
			continue
		}
		if _, err := views.DropMissing(ctx, db, m.Watermark); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

func installLog(dir string, m *marmotv1.SnapshotManifest, l *txlog.Log) error {
	vf, err := os.Open(filepath.Join(dir, versionsFile))
	if err != nil {
		return err
	}
	defer vf.Close()
	return l.InstallSnapshot(m.Watermark, vf)
}

// ResumeInstall finishes a snapshot install that a crash interrupted. Call
// it at start-up after opening the log and before opening the views: it
// installs the files directly with InstallFile.
func ResumeInstall(dataDir string, l *txlog.Log, installFile func(dir, name, src string) error, viewsDir string, logger *slog.Logger) error {
	root := filepath.Join(dataDir, incomingDir)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, installMarker)); err != nil {
			continue // not complete: a later transfer resumes it
		}
		m, err := ReadManifest(filepath.Join(dir, manifestFile))
		if err != nil {
			return err
		}
		logger.Warn("finishing a snapshot install interrupted by a crash", "snapshot", m.Id)
		if err := installLog(dir, m, l); err != nil {
			return err
		}
		for _, f := range m.Files {
			src := filepath.Join(dir, f.Name)
			if f.Database == "" {
				continue
			}
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err := installFile(viewsDir, f.Database, src); err != nil {
				return err
			}
		}
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	return nil
}

// backoff for retried transfers.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}
