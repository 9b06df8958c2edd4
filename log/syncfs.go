package log

import "github.com/cockroachdb/pebble/v2/vfs"

// A test hook for slow disks. The fault-injection suite (e2e, issue 8)
// stalls a real node's fsyncs: Options.BeforeSync, set by marmotd only
// when the test fault hook is on (peer.FaultsEnv), is called before every
// Sync, SyncData and SyncTo of a file or directory Pebble opened (WAL,
// sstables, MANIFEST), so the commit point of every change set (the WAL
// fsync, see doc.go) waits for it. Without the option Pebble gets its
// filesystem unwrapped and none of this runs.

// syncHookFS is fs with hook called before every sync of its files.
type syncHookFS struct {
	vfs.FS
	hook func()
}

func withSyncHook(fs vfs.FS, hook func()) vfs.FS { return &syncHookFS{FS: fs, hook: hook} }

func (fs *syncHookFS) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return &syncHookFile{File: f, hook: fs.hook}, nil
}

func (fs *syncHookFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.Create(name, category))
}

func (fs *syncHookFS) Open(name string, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.Open(name, opts...))
}

func (fs *syncHookFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenReadWrite(name, category, opts...))
}

func (fs *syncHookFS) OpenDir(name string) (vfs.File, error) {
	return fs.wrap(fs.FS.OpenDir(name))
}

func (fs *syncHookFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	return fs.wrap(fs.FS.ReuseForWrite(oldname, newname, category))
}

// Unwrap (vfs.FS) is the filesystem under the hook.
func (fs *syncHookFS) Unwrap() vfs.FS { return fs.FS }

// syncHookFile is a file whose syncs first call hook.
type syncHookFile struct {
	vfs.File
	hook func()
}

func (f *syncHookFile) Sync() error {
	f.hook()
	return f.File.Sync()
}

func (f *syncHookFile) SyncData() error {
	f.hook()
	return f.File.SyncData()
}

func (f *syncHookFile) SyncTo(length int64) (bool, error) {
	f.hook()
	return f.File.SyncTo(length)
}
