package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/marmotdb/marmot/antientropy"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const restoreUsage = `
Usage: marmotctl restore --from DIR --data-dir D [--node-id N] [--json]

Builds a new marmotd data directory D from the backup in DIR (made by
'marmotctl backup'): checks every file against the sha256 in the backup's
manifest, creates a transaction log at D/log that starts at the backup's
log position, and copies the views into D/db. Start marmotd with
--data-dir D afterwards. The backup itself is not changed.

D must not hold a log or views: a restore never overwrites live data. If a
restore is interrupted, delete D and run it again.

The restored node gets a new node id (one no origin in the backup has)
unless --node-id is given. Keep the new id when the node joins a cluster:
remove the node the backup came from with 'marmotctl cluster remove' if it
is gone. Reusing the source's id is safe only where nothing outside the
node saw what it wrote after the backup (see docs/operations.md, Backups).
`

func runRestore(_ context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("restore")
	from := fs.String("from", "", "backup directory (required)")
	dataDir := fs.String("data-dir", "", "new marmotd data directory to create (required)")
	nodeID := fs.Uint64("node-id", 0, "node id of the restored node (default: a new one)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, restoreUsage, args, stdout); err != nil {
		return err
	}
	if *from == "" || *dataDir == "" {
		return usageErrorf(fs.Name(), "--from and --data-dir are required")
	}
	t := target{cmd: fs.Name(), dataDir: *dataDir}
	if err := refuseLiveData(t); err != nil {
		return err
	}
	m, err := antientropy.VerifyBackup(*from)
	if err != nil {
		return err
	}
	id := *nodeID
	if id == 0 {
		if id, err = antientropy.RestoreNodeID(m); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(t.dataDir, 0o755); err != nil {
		return err
	}
	if err := restoreInto(t, *from, m, id); err != nil {
		// Leave no half-built data dir a marmotd could start on.
		os.RemoveAll(t.logDir())
		for _, f := range m.Files {
			if f.Database != "" {
				os.Remove(filepath.Join(t.dbDir(), f.Database+".db"))
				os.Remove(filepath.Join(t.dbDir(), "."+f.Name+".restore"))
			}
		}
		return fmt.Errorf("restore %s into %s: %w", *from, t.dataDir, err)
	}
	var dbs []string
	for _, f := range m.Files {
		if f.Database != "" {
			dbs = append(dbs, f.Database)
		}
	}
	_, sourceOrigin := m.Watermark[id]
	reused := id == m.SourceNode || sourceOrigin
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"data_dir": t.dataDir, "node_id": id, "backup": m.Id, "source_node": m.SourceNode,
			"watermark": txlog.Watermark(m.Watermark), "databases": dbs, "reuses_backup_origin": reused,
		})
	}
	fmt.Fprintf(stdout, "restored backup %s (node %d, log position %s) into %s as node %d: databases %s\n",
		m.Id, m.SourceNode, watermarkString(m.Watermark), t.dataDir, id, strings.Join(dbs, ", "))
	if reused {
		fmt.Fprintf(stdout, "note: node id %d already wrote change sets the backup covers; do not let it rejoin a cluster that holds its later writes\n", id)
	}
	_, err = fmt.Fprintf(stdout, "start it with: marmotd --data-dir %s (node_id %d or unset)\n", t.dataDir, id)
	return err
}

// refuseLiveData fails when D already holds a log or a view: those are a
// node's data, and a restore must never replace them.
func refuseLiveData(t target) error {
	if entries, err := os.ReadDir(t.logDir()); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s already holds a transaction log; a restore never overwrites data: choose a new --data-dir", t.dataDir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	views, err := filepath.Glob(filepath.Join(t.dbDir(), "*.db"))
	if err != nil {
		return err
	}
	if len(views) > 0 {
		return fmt.Errorf("%s already holds databases (%s); a restore never overwrites data: choose a new --data-dir", t.dataDir, filepath.Base(views[0]))
	}
	return nil
}

func restoreInto(t target, from string, m *marmotv1.SnapshotManifest, id uint64) error {
	l, err := txlog.Open(txlog.Options{Dir: t.logDir(), NodeID: id})
	if err != nil {
		if lockHeld(err) {
			return errInUse
		}
		return err
	}
	if err := antientropy.Restore(from, m, l, materializer.InstallFile, t.dbDir()); err != nil {
		l.Close()
		return err
	}
	return l.Close()
}
