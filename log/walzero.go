package log

import (
	"path/filepath"

	"github.com/cockroachdb/pebble/v2/vfs"
	"golang.org/x/sys/unix"
)

// WAL files are zero-filled ahead of the write position. Every commit
// point is an fdatasync of Pebble's WAL, and on ext4 an fdatasync after
// an append that grows the file (or writes into space fallocate reserved
// with KEEP_SIZE, which is what Pebble's preallocation does) must also
// write the inode and extent metadata. Measured on this project's VM: a
// 2,000-byte write plus fdatasync took 308–354 µs on a growing file and
// 198–238 µs on one already zero-filled. Pebble reuses old WAL files (which
// are full-size) once memtables have been flushed, but a node's first WAL,
// and every WAL of a node that writes less than a memtable between
// restarts, grows. So the WAL's writes are kept inside a region already
// written with zeros and synced: each time the write position gets within
// reach of its end, the next walZeroChunk is zero-filled and synced first.
// Pebble's WAL reader treats a zeroed chunk as the end of the log
// (record.ErrZeroedChunk: preallocated tails are expected).

// walZeroChunk is how far ahead of the write position the WAL is
// zero-filled: one extension (a write of this size and an fdatasync, a few
// ms) per 4 MiB of log, roughly every 10,000 change sets.
const walZeroChunk = 4 << 20

type walZeroFS struct{ vfs.FS }

func withWALZeroFill(fs vfs.FS) vfs.FS { return walZeroFS{FS: fs} }

func isWALFile(name string) bool { return filepath.Ext(name) == ".log" }

func (fs walZeroFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.Create(name, category)
	if err != nil || !isWALFile(name) {
		return f, err
	}
	return &walZeroFile{File: f, direct: fs.openDirect(name)}, nil
}

func (fs walZeroFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := fs.FS.ReuseForWrite(oldname, newname, category)
	if err != nil || !isWALFile(newname) {
		return f, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	// A recycled WAL was written to its whole length already.
	return &walZeroFile{File: f, zeroed: st.Size(), direct: fs.openDirect(newname)}, nil
}

// openDirect opens the WAL for direct writes (waldirect.go) when it is on
// the real disk; a filesystem wrapped for tests keeps its own writes.
func (fs walZeroFS) openDirect(name string) *directWriter {
	if fs.FS != vfs.Default {
		return nil
	}
	return openDirect(name)
}

// Unwrap (vfs.FS) is the filesystem under the zero-filling.
func (fs walZeroFS) Unwrap() vfs.FS { return fs.FS }

// walZeroFile is a WAL file written sequentially (Pebble's LogWriter is its
// only writer) inside a zero-filled prefix.
type walZeroFile struct {
	vfs.File
	off    int64         // write position
	zeroed int64         // [0, zeroed) is written and synced (zeros or log)
	direct *directWriter // nil: writes go through the page cache
}

var walZeros = make([]byte, 1<<20)

func (f *walZeroFile) Write(p []byte) (int, error) {
	if end := f.off + int64(len(p)); end > f.zeroed {
		if err := f.extend(end); err != nil {
			return 0, err
		}
	}
	if f.direct != nil {
		if err := f.direct.write(p, f.off); err != nil {
			return 0, err
		}
		f.off += int64(len(p))
		return len(p), nil
	}
	n, err := f.File.Write(p)
	f.off += int64(n)
	return n, err
}

func (f *walZeroFile) Close() error {
	if f.direct != nil {
		_ = f.direct.close()
	}
	return f.File.Close()
}

// extend zero-fills from the end of the filled region to a chunk past
// end, and syncs it, so the log's own fdatasyncs find nothing but data
// to write.
func (f *walZeroFile) extend(end int64) error {
	target := (end/walZeroChunk + 1) * walZeroChunk
	for at := max(f.zeroed, f.off); at < target; {
		n := min(int64(len(walZeros)), target-at)
		if _, err := f.File.WriteAt(walZeros[:n], at); err != nil {
			return err
		}
		at += n
	}
	if err := f.File.SyncData(); err != nil {
		return err
	}
	if f.direct != nil {
		// The log's direct writes bypass these pages: drop them now rather
		// than one by one as each write invalidates its range.
		from := max(f.zeroed, f.off)
		_ = unix.Fadvise(int(f.File.Fd()), from, target-from, unix.FADV_DONTNEED)
	}
	f.zeroed = target
	return nil
}

// Preallocate: the zero-fill is the preallocation. Pebble's own (fallocate
// with KEEP_SIZE) would leave unwritten extents whose conversion costs
// metadata writes at every fdatasync.
func (f *walZeroFile) Preallocate(offset, length int64) error { return nil }
