package materializer

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// SnapshotTo writes a consistent copy of database name to path, once its
// view includes every change set of at (the log position a snapshot
// promises). It returns the applied watermark inside the copy, which covers
// at and may go beyond it. The copy is made by VACUUM INTO inside one read
// transaction: writers are not blocked and the file is compact.
func (m *Materializer) SnapshotTo(ctx context.Context, name, path string, at txlog.Watermark) (txlog.Watermark, error) {
	d, err := m.DB(name)
	if err != nil {
		return nil, err
	}
	for origin, upto := range at {
		seq, ok, err := m.log.LastInDatabase(name, origin, upto)
		if err != nil {
			return nil, err
		}
		if ok {
			if err := d.WaitApplied(ctx, origin, seq); err != nil {
				return nil, err
			}
		}
	}
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	db, err := sql.Open(m.driver, "file:"+d.path+"?mode=ro&_busy_timeout=10000")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return nil, fmt.Errorf("materializer: snapshot %s: %w", name, err)
	}
	return FileWatermark(ctx, path)
}

// FileWatermark reads the applied watermark stored in a view file.
func FileWatermark(ctx context.Context, path string) (txlog.Watermark, error) {
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT origin, seq FROM __marmot_applied`)
	if err != nil {
		return nil, fmt.Errorf("materializer: %s has no applied watermark: %w", path, err)
	}
	defer rows.Close()
	w := txlog.Watermark{}
	for rows.Next() {
		var o, s int64
		if err := rows.Scan(&o, &s); err != nil {
			return nil, err
		}
		w[uint64(o)] = uint64(s)
	}
	return w, rows.Err()
}

// Install replaces database name's view with the file at src (a snapshot
// from a peer), then brings it up to the local log: change sets the log
// holds beyond the file's watermark (this node's own, or newer ones) are
// applied on top, by the usual last-writer-wins rules. The old applier is
// stopped first, so no batch lands in the old file after the swap.
func (m *Materializer) Install(ctx context.Context, name, src string) error {
	if !validName.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	m.mu.Lock()
	if d, ok := m.dbs[name]; ok {
		delete(m.dbs, name)
		d.shutdown()
	}
	err := InstallFile(m.opts.Dir, name, src)
	if err != nil {
		m.mu.Unlock()
		return err
	}
	d, err := m.ensureLocked(name)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return d.catchUp(ctx)
}

// InstallFile moves src into dir as database name's view, replacing the old
// file and its WAL. It is what Install does with the materializer closed
// (a snapshot install resumed at start-up). Renames are atomic and the
// directory is synced, so a crash leaves either file, never a mix.
func InstallFile(dir, name, src string) error {
	dst := filepath.Join(dir, name+".db")
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Remove(dst + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("materializer: install %s: %w", name, err)
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// AppliedFloor is, per origin, the highest sequence at or below which every
// change set in the log is applied to its view. Garbage collection must not
// trim above it: the log is the views' only source.
func (m *Materializer) AppliedFloor() (txlog.Watermark, error) {
	durable := m.log.Durable()
	m.mu.Lock()
	dbs := make([]*DB, 0, len(m.dbs))
	for _, d := range m.dbs {
		dbs = append(dbs, d)
	}
	m.mu.Unlock()
	floor := durable.Clone()
	for _, d := range dbs {
		applied := d.Applied()
		for origin, upto := range durable {
			if applied[origin] >= upto {
				continue
			}
			err := m.log.ScanDatabase(d.name, origin, applied[origin], func(cs *marmotv1.ChangeSet) error {
				floor[origin] = min(floor[origin], cs.Seq-1)
				return txlog.Stop
			})
			if err != nil {
				return nil, err
			}
		}
	}
	return floor, nil
}

// DropMissing removes database name's view after a snapshot at position w
// that does not contain it: on the snapshot's source the database was
// dropped (or never created) as of w. It is kept if this node's log holds
// change sets of it beyond w (it was created again, or written here after
// w): those are newer than the snapshot. It reports whether it dropped.
func (m *Materializer) DropMissing(ctx context.Context, name string, w txlog.Watermark) (bool, error) {
	for origin := range m.log.Durable() {
		newer := false
		err := m.log.ScanDatabase(name, origin, w[origin], func(*marmotv1.ChangeSet) error {
			newer = true
			return txlog.Stop
		})
		if err != nil || newer {
			return false, err
		}
	}
	m.mu.Lock()
	d, ok := m.dbs[name]
	m.mu.Unlock()
	if !ok || d.Dropped() {
		return false, nil
	}
	if err := d.lockApplier(ctx); err != nil {
		return false, err
	}
	defer d.unlock()
	return true, d.drop(&marmotv1.ChangeSet{})
}
