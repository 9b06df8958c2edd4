package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	txlog "github.com/marmotdb/marmot/log"
)

var (
	// errInUse: Pebble's LOCK file in <data_dir>/log is held by another
	// process, which in practice is a running marmotd.
	errInUse = errors.New("data dir is in use by a running marmotd; stop it or use --addr")
	// errOnline: --addr was given; the admin API it needs does not exist yet.
	errOnline = errors.New("online mode arrives with the admin API; for now stop marmotd and use --data-dir")
)

// target is where a command reads from: a data dir on disk (offline) or a
// running node (online, --addr).
type target struct {
	cmd     string
	dataDir string
	addr    string
}

func (t *target) register(fs *flag.FlagSet) {
	t.cmd = fs.Name()
	fs.StringVar(&t.dataDir, "data-dir", "", "marmotd data directory, read offline (marmotd must be stopped)")
	fs.StringVar(&t.addr, "addr", "", "admin address of a running marmotd (online; not available yet)")
}

// check validates the flag combination before anything is opened.
func (t *target) check() error {
	switch {
	case t.addr != "" && t.dataDir != "":
		return usageErrorf(t.cmd, "--data-dir and --addr exclude each other")
	case t.addr != "":
		return errOnline
	case t.dataDir == "":
		return usageErrorf(t.cmd, "--data-dir is required (the marmotd data_dir, e.g. ./marmot-data)")
	}
	return nil
}

func (t *target) logDir() string { return filepath.Join(t.dataDir, "log") }
func (t *target) dbDir() string  { return filepath.Join(t.dataDir, "db") }

// openLog opens the data dir's transaction log. It refuses a directory
// without a log rather than creating one, and turns Pebble's lock failure
// into errInUse.
func (t *target) openLog() (*txlog.Log, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	dir := t.logDir()
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no transaction log at %s: is --data-dir the marmotd data_dir?", dir)
	case err != nil:
		return nil, fmt.Errorf("open %s: %w", dir, err)
	case len(entries) == 0:
		return nil, fmt.Errorf("transaction log directory %s is empty: is --data-dir the marmotd data_dir?", dir)
	}
	l, err := txlog.Open(txlog.Options{Dir: dir})
	if err != nil {
		if lockHeld(err) {
			return nil, fmt.Errorf("open %s: %w", t.dataDir, errInUse)
		}
		return nil, err
	}
	return l, nil
}

// lockHeld reports whether err is Pebble failing to take its directory lock.
// Another process holding the fcntl lock shows as a bare EAGAIN or EACCES
// (failing to create the LOCK file would be a *fs.PathError instead); the
// same process holding it shows as Pebble's own message.
func lockHeld(err error) bool {
	if strings.Contains(err.Error(), "lock held by current process") {
		return true
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == syscall.EAGAIN || errno == syscall.EACCES)
}
