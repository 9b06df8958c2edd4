package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/marmotdb/marmot/frontend"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const rebuildUsage = `
Usage: marmotctl rebuild --data-dir DIR --db NAME

Deletes the SQLite file of database NAME (<data_dir>/db/NAME.db) and
re-applies every change set of NAME from the transaction log. Use it when
the file is damaged or suspected to have diverged from the log. The log must
hold the database's history: a name the log does not know is refused, since
its file could not be rebuilt. marmotd must be stopped.
`

func runRebuild(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("rebuild")
	var t target
	t.register(fs)
	db := fs.String("db", "", "database to rebuild (required)")
	if err := parseFlags(fs, rebuildUsage, args, stdout); err != nil {
		return err
	}
	if *db == "" {
		return usageErrorf(fs.Name(), "--db is required")
	}
	if !materializer.ValidName(*db) {
		return usageErrorf(fs.Name(), "--db %q is not a database name", *db)
	}
	l, err := t.openLog()
	if err != nil {
		return err
	}
	defer l.Close()
	if !slices.Contains(l.DatabaseNames(), *db) {
		return fmt.Errorf("the log at %s has no change sets for database %q; refusing to delete a file that could not be rebuilt", t.logDir(), *db)
	}
	want, err := lastSeqs(ctx, l, *db)
	if err != nil {
		return err
	}

	// Offline, deleting the files and opening the materializer is what
	// Materializer.Rebuild does, without its race: Rebuild right after Open
	// can meet Open's watcher re-creating the database while Rebuild deletes
	// its files, and the rebuilt file ends up unlinked. Open applies the log
	// to a missing file from the start before it returns.
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(t.dbDir(), *db+".db"+suffix)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	stop := rebuildProgress(ctx, stdout, filepath.Join(t.dbDir(), *db+".db"), want)
	// marmotd's connection setup (collation, MySQL functions, capture
	// flag): the files' schemas refer to them.
	m, err := materializer.Open(ctx, materializer.Options{Dir: t.dbDir(), Log: l, ConnectHook: frontend.ConnectHook})
	stop()
	if err != nil {
		return fmt.Errorf("rebuild %s: %w", *db, err)
	}
	d, err := m.DB(*db)
	switch {
	case errors.Is(err, materializer.ErrNoDatabase):
		fmt.Fprintf(stdout, "rebuilt %s: its history ends with DROP DATABASE, so no file remains\n", *db)
	case err != nil:
		m.Close()
		return err
	default:
		applied := d.Applied()
		for origin, seq := range want {
			if !applied.Covers(origin, seq) {
				m.Close()
				return fmt.Errorf("rebuild %s stopped at origin:seq %s of %s: a change set waits for schema the log does not hold yet",
					*db, watermarkString(applied), watermarkString(want))
			}
		}
		fmt.Fprintf(stdout, "rebuilt %s (%s) from the log; applied origin:seq %s\n", *db, d.Path(), watermarkString(applied))
	}
	return m.Close()
}

// lastSeqs is, per origin, the last sequence number among db's change sets:
// the watermark a complete rebuild reaches.
func lastSeqs(ctx context.Context, l *txlog.Log, db string) (txlog.Watermark, error) {
	want := txlog.Watermark{}
	for origin := range l.Durable() {
		err := l.ScanDatabase(db, origin, 0, func(cs *marmotv1.ChangeSet) error {
			want[origin] = cs.Seq
			return ctx.Err()
		})
		if err != nil {
			return nil, err
		}
	}
	return want, nil
}

// rebuildProgress shows how far the replay is, as a share of the log
// positions it must reach, read from the file being rebuilt (its
// watermark commits with every batch), when stdout is a terminal. The
// returned func clears the line.
func rebuildProgress(ctx context.Context, stdout io.Writer, path string, want txlog.Watermark) (stop func()) {
	p := newProgress(stdout)
	if p.w == nil {
		return func() {}
	}
	var total uint64
	for _, seq := range want {
		total += seq
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			w, err := materializer.FileWatermark(ctx, path)
			if err != nil || total == 0 {
				continue
			}
			var at uint64
			for o, seq := range want {
				at += min(w[o], seq)
			}
			fmt.Fprintf(p.w, "\rrebuild: %.0f%% of the log replayed\x1b[K", 100*float64(at)/float64(total))
		}
	}()
	return func() {
		close(done)
		<-finished
		fmt.Fprint(p.w, "\r\x1b[K")
	}
}
