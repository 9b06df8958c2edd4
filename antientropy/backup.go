package antientropy

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Backups are snapshots kept outside any node. FetchBackup copies one from
// a running node over the same RPCs a joining node uses, into a directory
// of the operator's choosing, laid out as a node keeps a snapshot: one
// SQLite file per database, the row versions, manifest.json. VerifyBackup
// and Restore turn that directory into a new data dir.
//
// manifest.json is written last, so its presence means the backup is
// complete; until then the manifest lives in partialManifest, whose id a
// rerun asks the node to resume.
const partialManifest = "manifest.partial.json"

var (
	// ErrBackupComplete: the directory already holds a finished backup;
	// a backup is never overwritten.
	ErrBackupComplete = errors.New("antientropy: the directory already holds a complete backup; choose a new one")
	// ErrBackupDirInUse: the directory holds files that are not an
	// unfinished backup.
	ErrBackupDirInUse = errors.New("antientropy: the backup directory is not empty and holds no unfinished backup; choose an empty or new one")
	// ErrBackupUnfinished: restore was pointed at a backup whose transfer
	// never completed.
	ErrBackupUnfinished = errors.New("antientropy: the backup is unfinished; run marmotctl backup into the same directory again to complete it")
)

// BackupResult describes a finished FetchBackup.
type BackupResult struct {
	Manifest *marmotv1.SnapshotManifest
	// Resumed: the node still served the snapshot of an earlier, broken
	// run, and the transfer continued from the bytes already in the
	// directory.
	Resumed bool
	// Bytes is the total size of the backup's files.
	Bytes uint64
}

// FetchBackup takes a backup of the node behind client into dir. caller is
// the node id the request names (the source only logs it). A dir holding
// an unfinished backup is resumed if the node still serves that snapshot
// and its log still joins it; otherwise the old partial files are dropped
// and a new snapshot is fetched. RPC failures are returned as the
// *connect.Error they are, so a caller can tell an unreachable node from
// a local failure.
func FetchBackup(ctx context.Context, client marmotv1connect.PeerServiceClient, dir string, caller uint64, progress Progress) (*BackupResult, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, manifestFile)); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrBackupComplete, dir)
	}
	partial := filepath.Join(dir, partialManifest)
	old, err := ReadManifest(partial)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if old == nil {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		if len(entries) > 0 {
			return nil, fmt.Errorf("%w: %s", ErrBackupDirInUse, dir)
		}
	}
	req := &marmotv1.PrepareSnapshotRequest{NodeId: caller}
	if old != nil {
		req.ResumeId = old.Id
	}
	m, err := prepareBackup(ctx, client, req)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if !safeName(f.Name) || f.Name == partialManifest {
			return nil, fmt.Errorf("antientropy: snapshot file name %q refused", f.Name)
		}
	}
	res := &BackupResult{Manifest: m, Resumed: old != nil && old.Id == m.Id}
	if old != nil && !res.Resumed {
		// The node no longer serves the old snapshot: its bytes are of no
		// use, and files of the same name must not be continued.
		for _, f := range old.Files {
			if safeName(f.Name) {
				if err := os.Remove(filepath.Join(dir, f.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return nil, err
				}
			}
		}
	}
	if err := writeManifest(partial, m); err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		res.Bytes += f.Size
	}
	var done uint64
	for _, f := range m.Files {
		n, err := fetchFile(ctx, client, m.Id, f, filepath.Join(dir, f.Name), func(n uint64) {
			if progress != nil {
				progress(done+n, res.Bytes)
			}
		})
		if err != nil {
			return nil, err
		}
		done += n
	}
	if err := writeManifest(filepath.Join(dir, manifestFile), m); err != nil {
		return nil, err
	}
	if err := os.Remove(partial); err != nil {
		return nil, err
	}
	return res, syncDir(dir)
}

// backupWait bounds how long prepareBackup waits for a snapshot that
// covers the node's position; a source reuses a snapshot for seconds.
const backupWait = time.Minute

// prepareBackup asks for a snapshot holding at least everything durable on
// the node when the backup began (AtLeast), or for the snapshot being
// resumed. A source that predates AtLeast (one that does not honour it)
// still gets its snapshot refused and asked for again.
func prepareBackup(ctx context.Context, client marmotv1connect.PeerServiceClient, req *marmotv1.PrepareSnapshotRequest) (*marmotv1.SnapshotManifest, error) {
	st, err := client.SyncStatus(ctx, connect.NewRequest(&marmotv1.SyncStatusRequest{NodeId: req.NodeId}))
	if err != nil {
		return nil, err
	}
	want := st.Msg.Durable
	req.AtLeast = want
	deadline := time.Now().Add(backupWait)
	for {
		resp, err := client.PrepareSnapshot(ctx, connect.NewRequest(req))
		if err != nil {
			return nil, err
		}
		m := resp.Msg
		if req.ResumeId != "" && m.Id == req.ResumeId {
			return m, nil
		}
		if covers(m.Watermark, want) {
			return m, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("antientropy: the node kept serving snapshot %s, older than the backup's start, for %v", m.Id, backupWait)
		}
		if !sleepCtx(ctx, time.Second) {
			return nil, ctx.Err()
		}
	}
}

// VerifyBackup reads dir's manifest and checks every file it lists against
// its size and SHA-256, so a restore never starts from a damaged copy.
func VerifyBackup(dir string) (*marmotv1.SnapshotManifest, error) {
	m, err := ReadManifest(filepath.Join(dir, manifestFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(filepath.Join(dir, partialManifest)); perr == nil {
			return nil, fmt.Errorf("%w: %s", ErrBackupUnfinished, dir)
		}
		return nil, fmt.Errorf("antientropy: %s is not a marmot backup (no %s)", dir, manifestFile)
	}
	if err != nil {
		return nil, err
	}
	versions := false
	for _, f := range m.Files {
		if !safeName(f.Name) {
			return nil, fmt.Errorf("antientropy: backup file name %q refused", f.Name)
		}
		if f.Name == versionsFile {
			versions = true
		} else if f.Database == "" {
			return nil, fmt.Errorf("antientropy: backup file %q names no database", f.Name)
		}
		path := filepath.Join(dir, f.Name)
		st, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("antientropy: backup file missing: %w", err)
		}
		if uint64(st.Size()) != f.Size {
			return nil, fmt.Errorf("antientropy: backup file %s has %d bytes, the manifest says %d", path, st.Size(), f.Size)
		}
		sum, err := fileSHA256(path)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(sum, f.Sha256) {
			return nil, fmt.Errorf("antientropy: backup file %s fails its sha256: the copy is damaged", path)
		}
	}
	if !versions {
		return nil, fmt.Errorf("antientropy: backup %s has no %s file", dir, versionsFile)
	}
	return m, nil
}

// Restore installs the verified backup in dir into a new data dir: the row
// versions and the backup's position into l (a freshly created log), then
// a copy of each view file into viewsDir through installFile
// (materializer.InstallFile). The backup itself is left untouched, so it
// can be restored again.
func Restore(dir string, m *marmotv1.SnapshotManifest, l *txlog.Log, installFile func(dir, name, src string) error, viewsDir string) error {
	if err := installLog(dir, m, l); err != nil {
		return fmt.Errorf("antientropy: restore the log: %w", err)
	}
	if err := os.MkdirAll(viewsDir, 0o755); err != nil {
		return err
	}
	for _, f := range m.Files {
		if f.Database == "" {
			continue
		}
		tmp := filepath.Join(viewsDir, "."+f.Name+".restore")
		if err := copyFileSync(filepath.Join(dir, f.Name), tmp); err != nil {
			return err
		}
		if err := installFile(viewsDir, f.Database, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	return nil
}

// RestoreNodeID picks a node id for a restored data dir: 1..1023 (so
// compact auto ids stay unique), distinct in its low 10 bits from every
// origin the backup knows, the source included. A restored node is a new
// node: its sequences must not continue one another node already issued.
func RestoreNodeID(m *marmotv1.SnapshotManifest) (uint64, error) {
	taken := map[uint64]bool{m.SourceNode & 1023: true}
	for o := range m.Watermark {
		taken[o&1023] = true
	}
	if len(taken) >= 1023 {
		return 0, errors.New("antientropy: every compact node id is taken by the backup's origins; pass a node id")
	}
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		id := binary.BigEndian.Uint64(b[:])%1023 + 1
		if !taken[id] {
			return id, nil
		}
	}
}

func copyFileSync(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
