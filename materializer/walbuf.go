package materializer

// A VFS that coalesces the writer's WAL appends. SQLite writes each WAL
// frame as two pwrite calls (a 24-byte header, then the page), so a group
// COMMIT of ~50 dirty pages under sysbench oltp_insert was ~100 syscalls,
// 6.8 per insert, all while holding the database's one writer. The
// "marmot-walbuf" VFS wraps the default one and, for WAL files only,
// buffers contiguous appends in memory and writes them in one call.
//
// What makes this safe is when the buffer reaches the file:
//   - at the end of every commit frame (the frame whose header carries
//     the database size), before xWrite returns: a write error fails the
//     COMMIT, and SQLite publishes a commit in the wal-index header only
//     after all its frames were written, so no other connection (readers,
//     the checkpointer) can be told about a frame that is still buffered;
//   - before any other operation on the WAL file (read, sync, truncate,
//     size, close, file control), so the connection reading back its own
//     spilled pages sees them;
//   - before any shared-memory operation on the database file (locks,
//     barriers, maps), so buffered frames of a rolled-back spill can never
//     land after the write lock passed to another connection;
//   - when a write is not contiguous with the buffer, so writes reach the
//     file in the order SQLite issued them.
// A frame header written alone into an empty buffer (walRewriteChecksums
// rewrites headers in place, each right after reading the frame) goes to
// the file at once, since no page write follows it to trigger the flush.
// If a flush fails the handle is poisoned: every later read or write on it
// fails, so a lost frame can never be read back as a hole.
//
// Other files (the database file, temp files) pass through unchanged.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef long long marmot_i64;
typedef struct sqlite3_file sqlite3_file;
typedef struct sqlite3_io_methods sqlite3_io_methods;
typedef struct sqlite3_vfs sqlite3_vfs;
typedef void (*marmot_syscall_ptr)(void);

// The SQLite VFS ABI (sqlite3.h, io_methods and vfs version 3), declared
// here rather than including go-sqlite3's header.
struct sqlite3_file { const struct sqlite3_io_methods *pMethods; };
struct sqlite3_io_methods {
	int iVersion;
	int (*xClose)(sqlite3_file *);
	int (*xRead)(sqlite3_file *, void *, int, marmot_i64);
	int (*xWrite)(sqlite3_file *, const void *, int, marmot_i64);
	int (*xTruncate)(sqlite3_file *, marmot_i64);
	int (*xSync)(sqlite3_file *, int);
	int (*xFileSize)(sqlite3_file *, marmot_i64 *);
	int (*xLock)(sqlite3_file *, int);
	int (*xUnlock)(sqlite3_file *, int);
	int (*xCheckReservedLock)(sqlite3_file *, int *);
	int (*xFileControl)(sqlite3_file *, int, void *);
	int (*xSectorSize)(sqlite3_file *);
	int (*xDeviceCharacteristics)(sqlite3_file *);
	int (*xShmMap)(sqlite3_file *, int, int, int, void volatile **);
	int (*xShmLock)(sqlite3_file *, int, int, int);
	void (*xShmBarrier)(sqlite3_file *);
	int (*xShmUnmap)(sqlite3_file *, int);
	int (*xFetch)(sqlite3_file *, marmot_i64, int, void **);
	int (*xUnfetch)(sqlite3_file *, marmot_i64, void *);
};
struct sqlite3_vfs {
	int iVersion;
	int szOsFile;
	int mxPathname;
	sqlite3_vfs *pNext;
	const char *zName;
	void *pAppData;
	int (*xOpen)(sqlite3_vfs *, const char *, sqlite3_file *, int, int *);
	int (*xDelete)(sqlite3_vfs *, const char *, int);
	int (*xAccess)(sqlite3_vfs *, const char *, int, int *);
	int (*xFullPathname)(sqlite3_vfs *, const char *, int, char *);
	void *(*xDlOpen)(sqlite3_vfs *, const char *);
	void (*xDlError)(sqlite3_vfs *, int, char *);
	void (*(*xDlSym)(sqlite3_vfs *, void *, const char *))(void);
	void (*xDlClose)(sqlite3_vfs *, void *);
	int (*xRandomness)(sqlite3_vfs *, int, char *);
	int (*xSleep)(sqlite3_vfs *, int);
	int (*xCurrentTime)(sqlite3_vfs *, double *);
	int (*xGetLastError)(sqlite3_vfs *, int, char *);
	int (*xCurrentTimeInt64)(sqlite3_vfs *, marmot_i64 *);
	int (*xSetSystemCall)(sqlite3_vfs *, const char *, marmot_syscall_ptr);
	marmot_syscall_ptr (*xGetSystemCall)(sqlite3_vfs *, const char *);
	const char *(*xNextSystemCall)(sqlite3_vfs *, const char *);
};

extern sqlite3_vfs *sqlite3_vfs_find(const char *);
extern int sqlite3_vfs_register(sqlite3_vfs *, int);
extern sqlite3_file *sqlite3_database_file_object(const char *);

#define MW_OK 0
#define MW_NOMEM 7
#define MW_IOERR 10
#define MW_CANTOPEN 14
#define MW_IOERR_WRITE (10 | (3 << 8))
#define MW_OPEN_MAIN_DB 0x00000100
#define MW_OPEN_WAL 0x00080000
#define MW_FRAME_HDR 24
#define MW_BUF_MAX (4 << 20)
#define MW_CHUNK (31 * 4096)
#define MW_WAL_WRITE_LOCK 0
#define MW_SHM_UNLOCK 1

typedef struct mw_file mw_file;
struct mw_file {
	sqlite3_file base;
	sqlite3_file *real;   // the wrapped VFS's file, allocated right after this
	int wal;              // a WAL file (buffered), else the database file
	mw_file *peer;        // database file <-> its WAL file, same connection
	unsigned char *buf;
	size_t len, cap;
	marmot_i64 off;       // file offset of buf[0]
	int commitHdr;        // the last write was a commit frame's header
	marmot_i64 hdrEnd;    // where that header ended
	int poisoned;         // a flush failed: the file misses frames
};

static sqlite3_vfs *mw_real;
static sqlite3_io_methods mw_db_methods, mw_wal_methods;

// Counters for tests and metrics: WAL writes asked for by SQLite and
// writes made to the file.
static volatile marmot_i64 mw_asked, mw_written;

// Tests make the next flushes of buffered WAL writes fail (set only while
// no connection on the VFS is writing).
static int mw_fail_flushes;
static int marmot_walbuf_fail_flushes(int n) {
	int left = mw_fail_flushes;
	mw_fail_flushes = n;
	return left;
}

// mw_raw_write writes to the wrapped file. The unix VFS writes at most
// 128 KiB - 1 per call (it masks the size with 0x1ffff: a multiple of
// 128 KiB would write nothing and report a full disk), so in chunks.
static int mw_raw_write(mw_file *p, const unsigned char *data, size_t n, marmot_i64 off) {
	int rc = MW_OK;
	for (size_t done = 0; done < n && rc == MW_OK;) {
		size_t c = n - done;
		if (c > MW_CHUNK) c = MW_CHUNK;
		rc = p->real->pMethods->xWrite(p->real, data + done, (int)c, off + (marmot_i64)done);
		__atomic_add_fetch(&mw_written, 1, __ATOMIC_RELAXED);
		done += c;
	}
	return rc;
}

static int mw_flush(mw_file *p) {
	if (p->poisoned) return MW_IOERR_WRITE;
	if (p->len == 0) return MW_OK;
	int rc = MW_IOERR_WRITE;
	if (mw_fail_flushes > 0) mw_fail_flushes--;
	else rc = mw_raw_write(p, p->buf, p->len, p->off);
	p->len = 0;
	if (rc != MW_OK) p->poisoned = 1;
	return rc;
}

static int mw_flush_wal_of(sqlite3_file *f) {
	mw_file *p = (mw_file *)f;
	return p->peer ? mw_flush(p->peer) : MW_OK;
}

static int mw_put(mw_file *p, const void *data, int amt, marmot_i64 off) {
	if (p->len + (size_t)amt > p->cap) {
		size_t nc = p->cap ? p->cap : 65536;
		while (nc < p->len + (size_t)amt) nc *= 2;
		unsigned char *nb = realloc(p->buf, nc);
		if (!nb) return MW_NOMEM;
		p->buf = nb;
		p->cap = nc;
	}
	if (p->len == 0) p->off = off;
	memcpy(p->buf + p->len, data, (size_t)amt);
	p->len += (size_t)amt;
	return MW_OK;
}

static int mw_wal_write(sqlite3_file *f, const void *data, int amt, marmot_i64 off) {
	mw_file *p = (mw_file *)f;
	__atomic_add_fetch(&mw_asked, 1, __ATOMIC_RELAXED);
	if (p->poisoned) return MW_IOERR_WRITE;
	int rc;
	int hdr = amt == MW_FRAME_HDR;
	// The page of a commit frame is on the file before this call returns.
	int commitPage = !hdr && p->commitHdr && off == p->hdrEnd;
	p->commitHdr = 0;
	if (p->len > 0 && (off != p->off + (marmot_i64)p->len || p->len + (size_t)amt > MW_BUF_MAX)) {
		if ((rc = mw_flush(p)) != MW_OK) return rc;
	}
	if (hdr) {
		const unsigned char *h = data;
		p->commitHdr = (h[4] | h[5] | h[6] | h[7]) != 0;
		p->hdrEnd = off + MW_FRAME_HDR;
	}
	if (p->len == 0 && (hdr || amt > MW_CHUNK)) {
		// A header into an empty buffer may be rewritten in place (no page
		// write follows to flush it); a big write is not worth copying.
		return mw_raw_write(p, data, (size_t)amt, off);
	}
	if (mw_put(p, data, amt, off) != MW_OK) {
		if ((rc = mw_flush(p)) != MW_OK) return rc;
		return mw_raw_write(p, data, (size_t)amt, off);
	}
	return commitPage ? mw_flush(p) : MW_OK;
}

static int mw_close(sqlite3_file *f) {
	mw_file *p = (mw_file *)f;
	if (p->wal) mw_flush(p);
	if (p->peer) p->peer->peer = 0;
	p->peer = 0;
	free(p->buf);
	p->buf = 0;
	p->len = p->cap = 0;
	return p->real->pMethods->xClose(p->real);
}

// WAL methods: flush, then the real method.
#define MW_R(p) (((mw_file *)(p))->real)
#define MW_WALFLUSH(f) do { int frc = mw_flush((mw_file *)(f)); if (frc != MW_OK) return frc; } while (0)

static int mw_wal_read(sqlite3_file *f, void *b, int amt, marmot_i64 off) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xRead(MW_R(f), b, amt, off);
}
static int mw_wal_truncate(sqlite3_file *f, marmot_i64 sz) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xTruncate(MW_R(f), sz);
}
static int mw_wal_sync(sqlite3_file *f, int flags) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xSync(MW_R(f), flags);
}
static int mw_wal_size(sqlite3_file *f, marmot_i64 *sz) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xFileSize(MW_R(f), sz);
}
static int mw_wal_lock(sqlite3_file *f, int l) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xLock(MW_R(f), l);
}
static int mw_wal_unlock(sqlite3_file *f, int l) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xUnlock(MW_R(f), l);
}
static int mw_wal_fcntl(sqlite3_file *f, int op, void *arg) {
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xFileControl(MW_R(f), op, arg);
}
static int mw_wal_fetch(sqlite3_file *f, marmot_i64 off, int amt, void **pp) {
	*pp = 0;
	MW_WALFLUSH(f);
	return MW_R(f)->pMethods->xFetch(MW_R(f), off, amt, pp);
}

// Methods shared by both kinds that need no flush.
static int mw_write(sqlite3_file *f, const void *b, int amt, marmot_i64 off) {
	return MW_R(f)->pMethods->xWrite(MW_R(f), b, amt, off);
}
static int mw_read(sqlite3_file *f, void *b, int amt, marmot_i64 off) {
	return MW_R(f)->pMethods->xRead(MW_R(f), b, amt, off);
}
static int mw_truncate(sqlite3_file *f, marmot_i64 sz) { return MW_R(f)->pMethods->xTruncate(MW_R(f), sz); }
static int mw_sync(sqlite3_file *f, int flags) { return MW_R(f)->pMethods->xSync(MW_R(f), flags); }
static int mw_size(sqlite3_file *f, marmot_i64 *sz) { return MW_R(f)->pMethods->xFileSize(MW_R(f), sz); }
static int mw_lock(sqlite3_file *f, int l) { return MW_R(f)->pMethods->xLock(MW_R(f), l); }
static int mw_unlock(sqlite3_file *f, int l) { return MW_R(f)->pMethods->xUnlock(MW_R(f), l); }
static int mw_reserved(sqlite3_file *f, int *out) { return MW_R(f)->pMethods->xCheckReservedLock(MW_R(f), out); }
static int mw_fcntl(sqlite3_file *f, int op, void *arg) { return MW_R(f)->pMethods->xFileControl(MW_R(f), op, arg); }
static int mw_sector(sqlite3_file *f) { return MW_R(f)->pMethods->xSectorSize(MW_R(f)); }
static int mw_devchar(sqlite3_file *f) { return MW_R(f)->pMethods->xDeviceCharacteristics(MW_R(f)); }
static int mw_fetch(sqlite3_file *f, marmot_i64 off, int amt, void **pp) {
	return MW_R(f)->pMethods->xFetch(MW_R(f), off, amt, pp);
}
static int mw_unfetch(sqlite3_file *f, marmot_i64 off, void *pp) {
	return MW_R(f)->pMethods->xUnfetch(MW_R(f), off, pp);
}

// Shared memory belongs to the database file; its WAL is flushed first.
static int mw_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp) {
	int rc = mw_flush_wal_of(f);
	if (rc != MW_OK) return rc;
	return MW_R(f)->pMethods->xShmMap(MW_R(f), pg, sz, ext, pp);
}
static int mw_shm_lock(sqlite3_file *f, int ofst, int n, int flags) {
	mw_file *p = (mw_file *)f;
	mw_flush_wal_of(f); // a failure poisons the WAL; the lock change must still happen
	int rc = MW_R(f)->pMethods->xShmLock(MW_R(f), ofst, n, flags);
	if (rc == MW_OK && p->peer && ofst == MW_WAL_WRITE_LOCK && (flags & MW_SHM_UNLOCK)) {
		// The write transaction ended: frames it did not commit are dead,
		// so a poisoned WAL (which only ever lost such frames, a commit's
		// own frames fail its COMMIT) is usable again, e.g. once a full
		// disk has room.
		p->peer->poisoned = 0;
		p->peer->len = 0;
	}
	return rc;
}
static void mw_shm_barrier(sqlite3_file *f) {
	mw_flush_wal_of(f);
	MW_R(f)->pMethods->xShmBarrier(MW_R(f));
}
static int mw_shm_unmap(sqlite3_file *f, int del) {
	mw_flush_wal_of(f);
	return MW_R(f)->pMethods->xShmUnmap(MW_R(f), del);
}

static int mw_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outFlags) {
	mw_file *p = (mw_file *)f;
	int kind = flags & (MW_OPEN_MAIN_DB | MW_OPEN_WAL);
	if (!kind) {
		// Not ours: the real VFS's file lives at f itself.
		return mw_real->xOpen(mw_real, name, f, flags, outFlags);
	}
	memset(p, 0, sizeof(*p));
	p->real = (sqlite3_file *)&p[1];
	int rc = mw_real->xOpen(mw_real, name, p->real, flags, outFlags);
	if (rc != MW_OK) {
		p->base.pMethods = 0;
		return rc;
	}
	if (p->real->pMethods->iVersion < 3) {
		// The methods below are version 3 (the unix VFS's); anything older
		// is not what this shim was written against.
		p->real->pMethods->xClose(p->real);
		p->base.pMethods = 0;
		return MW_CANTOPEN;
	}
	if (kind == MW_OPEN_WAL) {
		p->wal = 1;
		p->base.pMethods = &mw_wal_methods;
		sqlite3_file *db = sqlite3_database_file_object(name);
		if (db && db->pMethods == &mw_db_methods) {
			mw_file *d = (mw_file *)db;
			d->peer = p;
			p->peer = d;
		}
	} else {
		p->base.pMethods = &mw_db_methods;
	}
	return MW_OK;
}

static int mw_delete(sqlite3_vfs *v, const char *n, int s) { return mw_real->xDelete(mw_real, n, s); }
static int mw_access(sqlite3_vfs *v, const char *n, int fl, int *o) { return mw_real->xAccess(mw_real, n, fl, o); }
static int mw_fullpath(sqlite3_vfs *v, const char *n, int no, char *o) { return mw_real->xFullPathname(mw_real, n, no, o); }
static void *mw_dlopen(sqlite3_vfs *v, const char *n) { return mw_real->xDlOpen(mw_real, n); }
static void mw_dlerror(sqlite3_vfs *v, int nb, char *m) { mw_real->xDlError(mw_real, nb, m); }
static void (*mw_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { return mw_real->xDlSym(mw_real, h, s); }
static void mw_dlclose(sqlite3_vfs *v, void *h) { mw_real->xDlClose(mw_real, h); }
static int mw_random(sqlite3_vfs *v, int nb, char *o) { return mw_real->xRandomness(mw_real, nb, o); }
static int mw_sleep(sqlite3_vfs *v, int us) { return mw_real->xSleep(mw_real, us); }
static int mw_time(sqlite3_vfs *v, double *t) { return mw_real->xCurrentTime(mw_real, t); }
static int mw_lasterr(sqlite3_vfs *v, int n, char *o) { return mw_real->xGetLastError(mw_real, n, o); }
static int mw_time64(sqlite3_vfs *v, marmot_i64 *t) { return mw_real->xCurrentTimeInt64(mw_real, t); }

static sqlite3_vfs mw_vfs;

// marmot_walbuf_register registers the VFS once; 0 on success.
static int marmot_walbuf_register(const char *name) {
	if (mw_real) return 0;
	sqlite3_vfs *real = sqlite3_vfs_find(0);
	if (!real || real->iVersion < 2) return 1;
	mw_real = real;

	sqlite3_io_methods w = {
		3, mw_close, mw_wal_read, mw_wal_write, mw_wal_truncate, mw_wal_sync, mw_wal_size,
		mw_wal_lock, mw_wal_unlock, mw_reserved, mw_wal_fcntl, mw_sector, mw_devchar,
		0, 0, 0, 0, mw_wal_fetch, mw_unfetch,
	};
	sqlite3_io_methods d = {
		3, mw_close, mw_read, mw_write, mw_truncate, mw_sync, mw_size,
		mw_lock, mw_unlock, mw_reserved, mw_fcntl, mw_sector, mw_devchar,
		mw_shm_map, mw_shm_lock, mw_shm_barrier, mw_shm_unmap, mw_fetch, mw_unfetch,
	};
	mw_wal_methods = w;
	mw_db_methods = d;

	mw_vfs.iVersion = 2;
	mw_vfs.szOsFile = (int)sizeof(mw_file) + real->szOsFile;
	mw_vfs.mxPathname = real->mxPathname;
	mw_vfs.zName = name;
	mw_vfs.xOpen = mw_open;
	mw_vfs.xDelete = mw_delete;
	mw_vfs.xAccess = mw_access;
	mw_vfs.xFullPathname = mw_fullpath;
	mw_vfs.xDlOpen = mw_dlopen;
	mw_vfs.xDlError = mw_dlerror;
	mw_vfs.xDlSym = mw_dlsym;
	mw_vfs.xDlClose = mw_dlclose;
	mw_vfs.xRandomness = mw_random;
	mw_vfs.xSleep = mw_sleep;
	mw_vfs.xCurrentTime = mw_time;
	mw_vfs.xGetLastError = mw_lasterr;
	mw_vfs.xCurrentTimeInt64 = mw_time64;
	return sqlite3_vfs_register(&mw_vfs, 0);
}

static void marmot_walbuf_counts(marmot_i64 *asked, marmot_i64 *written) {
	*asked = __atomic_load_n(&mw_asked, __ATOMIC_RELAXED);
	*written = __atomic_load_n(&mw_written, __ATOMIC_RELAXED);
}
*/
import "C"

import (
	"fmt"
	"sync"
)

// walbufVFS names the VFS; the writer's DSN selects it with vfs=.
const walbufVFS = "marmot-walbuf"

var (
	walbufOnce sync.Once
	walbufErr  error
	walbufName = C.CString(walbufVFS) // SQLite keeps the pointer
)

// registerWALBuf registers the VFS with SQLite (once per process).
func registerWALBuf() error {
	walbufOnce.Do(func() {
		if rc := C.marmot_walbuf_register(walbufName); rc != 0 {
			walbufErr = fmt.Errorf("materializer: register %s VFS: SQLite error %d", walbufVFS, int(rc))
		}
	})
	return walbufErr
}

// walbufFailFlushes makes the next n flushes of buffered WAL writes fail
// (tests); it returns how many failures the previous call left unused.
func walbufFailFlushes(n int) int { return int(C.marmot_walbuf_fail_flushes(C.int(n))) }

// walbufCounts: WAL writes SQLite asked for, and writes that reached the
// files, by every connection on the VFS since the process started.
func walbufCounts() (asked, written int64) {
	var a, w C.marmot_i64
	C.marmot_walbuf_counts(&a, &w)
	return int64(a), int64(w)
}
