package materializer

// The writer's row capture in C. go-sqlite3's preupdate hook calls into Go
// for every row any statement on the connection writes (the applier's
// rows too, only to be ignored), and reading a row image through it costs
// about six cgo calls per column. Instead a C hook, on only while a
// capture runs, appends each row change of the writer connection to a
// buffer, and Go decodes the buffer (one cgo call) whenever it needs the
// events in order: before a savepoint mark, a rollback to one, a temp
// table's DDL, and at the end of the capture.

/*
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// The SQLite API as go-sqlite3's amalgamation (built with
// SQLITE_ENABLE_PREUPDATE_HOOK, which the sqlite_preupdate_hook tag sets)
// exports it; declared here rather than including its header.
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_value sqlite3_value;
typedef long long marmot_i64;
extern void *sqlite3_preupdate_hook(sqlite3 *, void (*)(void *, sqlite3 *, int, const char *, const char *, marmot_i64, marmot_i64), void *);
extern int sqlite3_preupdate_old(sqlite3 *, int, sqlite3_value **);
extern int sqlite3_preupdate_new(sqlite3 *, int, sqlite3_value **);
extern int sqlite3_preupdate_count(sqlite3 *);
extern int sqlite3_value_type(sqlite3_value *);
extern marmot_i64 sqlite3_value_int64(sqlite3_value *);
extern double sqlite3_value_double(sqlite3_value *);
extern const unsigned char *sqlite3_value_text(sqlite3_value *);
extern const void *sqlite3_value_blob(sqlite3_value *);
extern int sqlite3_value_bytes(sqlite3_value *);
extern void *sqlite3_wal_hook(sqlite3 *, int (*)(void *, sqlite3 *, const char *, int), void *);

typedef struct {
	int on;      // a capture is running
	int failed;  // a row could not be recorded (out of memory, SQLite error)
	unsigned char *buf;
	size_t len, cap;
	int walFrames; // the WAL's length in frames after the latest commit
} marmot_cap;

static int marmot_reserve(marmot_cap *c, size_t n) {
	if (c->len + n <= c->cap) return 1;
	size_t nc = c->cap ? c->cap : 65536;
	while (nc < c->len + n) nc *= 2;
	unsigned char *nb = realloc(c->buf, nc);
	if (!nb) { c->failed = 1; return 0; }
	c->buf = nb;
	c->cap = nc;
	return 1;
}

static void marmot_put(marmot_cap *c, const void *p, size_t n) {
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

// Value tags: 1 integer, 2 float, 3 text, 4 blob (SQLite's type codes), 5 NULL.
static int marmot_values(marmot_cap *c, sqlite3 *db, int n, int isnew) {
	for (int i = 0; i < n; i++) {
		sqlite3_value *v = 0;
		int rc = isnew ? sqlite3_preupdate_new(db, i, &v) : sqlite3_preupdate_old(db, i, &v);
		if (rc != 0 || !v) { c->failed = 1; return 0; }
		int t = sqlite3_value_type(v);
		if (t == 1 || t == 2) {
			if (!marmot_reserve(c, 9)) return 0;
			c->buf[c->len++] = (unsigned char)t;
			if (t == 1) { marmot_i64 x = sqlite3_value_int64(v); marmot_put(c, &x, 8); }
			else { double x = sqlite3_value_double(v); marmot_put(c, &x, 8); }
		} else if (t == 3 || t == 4) {
			const void *p = t == 3 ? (const void *)sqlite3_value_text(v) : sqlite3_value_blob(v);
			uint32_t nb = (uint32_t)sqlite3_value_bytes(v);
			if (!marmot_reserve(c, 5 + (size_t)nb)) return 0;
			c->buf[c->len++] = (unsigned char)t;
			marmot_put(c, &nb, 4);
			if (nb) marmot_put(c, p, nb);
		} else {
			if (!marmot_reserve(c, 1)) return 0;
			c->buf[c->len++] = 5;
		}
	}
	return 1;
}

// A row change: op (1 byte), schema (0 main, 1 temp), table length (4) and
// name, old and new rowid (8 each), column count (4), then the old image
// unless an insert and the new one unless a delete.
static void marmot_hook(void *arg, sqlite3 *db, int op, const char *zdb, const char *ztab, marmot_i64 oldkey, marmot_i64 newkey) {
	marmot_cap *c = arg;
	if (!c->on || c->failed) return;
	unsigned char schema;
	if (strcmp(zdb, "main") == 0) schema = 0;
	else if (strcmp(zdb, "temp") == 0) schema = 1;
	else return;
	if (strncmp(ztab, "sqlite_", 7) == 0 || strncmp(ztab, "__marmot", 8) == 0) return;
	uint32_t tl = (uint32_t)strlen(ztab);
	uint32_t n = (uint32_t)sqlite3_preupdate_count(db);
	if (!marmot_reserve(c, 2 + 4 + (size_t)tl + 16 + 4)) return;
	c->buf[c->len++] = (unsigned char)op;
	c->buf[c->len++] = schema;
	marmot_put(c, &tl, 4);
	marmot_put(c, ztab, tl);
	marmot_put(c, &oldkey, 8);
	marmot_put(c, &newkey, 8);
	marmot_put(c, &n, 4);
	if (op != 18 && !marmot_values(c, db, (int)n, 0)) return; // 18: SQLITE_INSERT
	if (op != 9) marmot_values(c, db, (int)n, 1);              // 9: SQLITE_DELETE
}

// marmot_wal records the WAL's length for the checkpointer (checkpoint.go).
// It replaces SQLite's automatic checkpoint hook, which is off on the
// writer anyway.
static int marmot_wal(void *arg, sqlite3 *db, const char *zdb, int frames) {
	((marmot_cap *)arg)->walFrames = frames;
	return 0;
}

static marmot_cap *marmot_cap_open(sqlite3 *db) {
	marmot_cap *c = calloc(1, sizeof(marmot_cap));
	if (c) {
		sqlite3_preupdate_hook(db, marmot_hook, c);
		sqlite3_wal_hook(db, marmot_wal, c);
	}
	return c;
}

static void marmot_cap_free(marmot_cap *c) {
	free(c->buf);
	free(c);
}

static void marmot_cap_set(marmot_cap *c, int on) { c->on = on; }

// marmot_cap_take hands out what was recorded and empties the buffer; the
// bytes stay valid until the next row is recorded.
static void marmot_cap_take(marmot_cap *c, unsigned char **p, size_t *n, int *failed, size_t *cap) {
	*p = c->buf;
	*n = c->len;
	*failed = c->failed;
	*cap = c->cap;
	c->len = 0;
	c->failed = 0;
}

// marmot_cap_trim frees a buffer a large statement grew, once decoded.
static void marmot_cap_trim(marmot_cap *c) {
	if (c->len == 0 && c->cap > (1 << 20)) {
		free(c->buf);
		c->buf = 0;
		c->cap = 0;
	}
}
*/
import "C"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// rowCapture is the C hook's state for one writer connection.
type rowCapture struct{ c *C.marmot_cap }

// errCaptureLost: the hook could not record a row change; the capture
// must not commit without it.
var errCaptureLost = errors.New("materializer: a row change could not be captured")

// sqliteHandle is the connection's sqlite3 pointer, which go-sqlite3 does
// not export (TestRowCaptureHandle fails if its field moves).
func sqliteHandle(c *sqlite3.SQLiteConn) (*C.sqlite3, error) {
	f := reflect.ValueOf(c).Elem().FieldByName("db")
	if !f.IsValid() || f.Kind() != reflect.Pointer || f.Pointer() == 0 {
		return nil, fmt.Errorf("materializer: no sqlite3 handle in go-sqlite3's connection")
	}
	return (*C.sqlite3)(unsafe.Pointer(f.Pointer())), nil
}

// openRowCapture installs the C hook on c, off until set(true).
func openRowCapture(c *sqlite3.SQLiteConn) (*rowCapture, error) {
	h, err := sqliteHandle(c)
	if err != nil {
		return nil, err
	}
	rc := C.marmot_cap_open(h)
	if rc == nil {
		return nil, fmt.Errorf("materializer: out of memory for the row capture")
	}
	return &rowCapture{c: rc}, nil
}

// close frees the state; the connection must be closed first.
func (r *rowCapture) close() {
	if r != nil && r.c != nil {
		C.marmot_cap_free(r.c)
		r.c = nil
	}
}

// walFrames is the writer's WAL length in frames after its latest commit
// (0 before any). Read on the writer's goroutine, which the hook runs on.
func (r *rowCapture) walFrames() int { return int(r.c.walFrames) }

func (r *rowCapture) set(on bool) {
	v := C.int(0)
	if on {
		v = 1
	}
	C.marmot_cap_set(r.c, v)
}

// take decodes and empties what the hook recorded, calling emit for each
// row change in order (temp: a row of the temp schema).
func (r *rowCapture) take(emit func(ev event, temp bool)) error {
	b, failed, large := r.takeBytes()
	var err error
	if len(b) > 0 {
		err = decodeRowChanges(b, emit)
	}
	if large {
		C.marmot_cap_trim(r.c) // decoded: a statement's worth of rows is not kept around
	}
	if failed {
		err = errors.Join(errCaptureLost, err)
	}
	return err
}

// takeBytes empties the buffer and returns its bytes, which stay valid
// until the hook records the next row; whether a row was lost; and
// whether the buffer has grown past 1 MiB.
func (r *rowCapture) takeBytes() (b []byte, failed, large bool) {
	var p *C.uchar
	var n, cp C.size_t
	var f C.int
	C.marmot_cap_take(r.c, &p, &n, &f, &cp)
	if n > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
	}
	return b, f != 0, cp > 1<<20
}

// decodeRowChanges reads the hook's encoding (see marmot_hook); values
// come out as go-sqlite3's hook gave them: int64, float64, []byte (text
// and blob, never nil) or nil.
func decodeRowChanges(b []byte, emit func(ev event, temp bool)) error {
	short := fmt.Errorf("materializer: truncated row capture")
	u32 := func() (int, bool) {
		if len(b) < 4 {
			return 0, false
		}
		v := binary.NativeEndian.Uint32(b)
		b = b[4:]
		return int(v), true
	}
	u64 := func() (uint64, bool) {
		if len(b) < 8 {
			return 0, false
		}
		v := binary.NativeEndian.Uint64(b)
		b = b[8:]
		return v, true
	}
	values := func(n int) ([]any, bool) {
		out := make([]any, n)
		for i := range out {
			if len(b) < 1 {
				return nil, false
			}
			tag := b[0]
			b = b[1:]
			switch tag {
			case 1, 2:
				v, ok := u64()
				if !ok {
					return nil, false
				}
				if tag == 1 {
					out[i] = int64(v)
				} else {
					out[i] = math.Float64frombits(v)
				}
			case 3, 4:
				l, ok := u32()
				if !ok || len(b) < l {
					return nil, false
				}
				out[i] = append(make([]byte, 0, l), b[:l]...)
				b = b[l:]
			case 5:
			default:
				return nil, false
			}
		}
		return out, true
	}
	for len(b) > 0 {
		if len(b) < 2 {
			return short
		}
		ev := event{op: int(b[0])}
		temp := b[1] == 1
		b = b[2:]
		tl, ok := u32()
		if !ok || len(b) < tl {
			return short
		}
		ev.table = string(b[:tl])
		b = b[tl:]
		oldKey, ok1 := u64()
		newKey, ok2 := u64()
		n, ok3 := u32()
		if !ok1 || !ok2 || !ok3 {
			return short
		}
		ev.oldRowID, ev.newRowID = int64(oldKey), int64(newKey)
		if ev.op != sqlite3.SQLITE_INSERT {
			if ev.old, ok = values(n); !ok {
				return short
			}
		}
		if ev.op != sqlite3.SQLITE_DELETE {
			if ev.new, ok = values(n); !ok {
				return short
			}
		}
		emit(ev, temp)
	}
	return nil
}
