package frontend

// utf8mb4_general_ci and like() in C, registered on every SQLite
// connection of the process through sqlite3_auto_extension: SQLite calls
// a collation once per comparison (a B-tree descent makes ~17), and a Go
// collation or function costs a cgo callback, a handle lookup and two
// string copies per call (about 0.3 µs for a comparison and 2 µs for a
// like() call, measured in collation_bench_test.go). In C they cost what
// SQLite's own NOCASE and LIKE cost. The rules are collation.go's.
//
// The SQLite functions called here are those of the SQLite that
// github.com/mattn/go-sqlite3 compiles into the binary; their prototypes
// are declared below (go-sqlite3 does not install its header).

/*
#cgo CFLAGS: -O2
#include <stdint.h>
#include <stdlib.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_context sqlite3_context;
typedef struct sqlite3_value sqlite3_value;
extern int sqlite3_auto_extension(void (*)(void));
extern int sqlite3_cancel_auto_extension(void (*)(void));
extern int sqlite3_create_collation_v2(sqlite3 *, const char *, int, void *,
	int (*)(void *, int, const void *, int, const void *), void (*)(void *));
extern int sqlite3_create_function_v2(sqlite3 *, const char *, int, int, void *,
	void (*)(sqlite3_context *, int, sqlite3_value **), void (*)(sqlite3_context *, int, sqlite3_value **),
	void (*)(sqlite3_context *), void (*)(void *));
extern int sqlite3_value_type(sqlite3_value *);
extern const unsigned char *sqlite3_value_text(sqlite3_value *);
extern const void *sqlite3_value_blob(sqlite3_value *);
extern int sqlite3_value_bytes(sqlite3_value *);
extern void sqlite3_result_int(sqlite3_context *, int);
extern void sqlite3_result_null(sqlite3_context *);
extern void sqlite3_result_error(sqlite3_context *, const char *, int);

#define MCI_SQLITE_UTF8 1
#define MCI_SQLITE_BLOB 4
#define MCI_SQLITE_NULL 5
#define MCI_SQLITE_DETERMINISTIC 0x000000800
#define MCI_SQLITE_INNOCUOUS 0x000200000

static const uint16_t *mci_w; // the weight of every BMP code point

static void mci_set_weights(const uint16_t *w) { mci_w = w; }

// mci_next decodes the character at s (n > 0 bytes) as Go's
// utf8.DecodeRune does (an invalid byte is U+FFFD, one byte long) and
// returns its length; *cp is the code point.
static inline int mci_next(const unsigned char *s, int n, int32_t *cp) {
	unsigned c = s[0];
	if (c < 0x80) { *cp = c; return 1; }
	*cp = 0xFFFD;
	if (c < 0xC2 || c > 0xF4) return 1;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80) return 1;
		*cp = ((c & 0x1F) << 6) | (s[1] & 0x3F);
		return 2;
	}
	if (c < 0xF0) {
		unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80) return 1;
		*cp = ((c & 0x0F) << 12) | ((s[1] & 0x3F) << 6) | (s[2] & 0x3F);
		return 3;
	}
	unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) return 1;
	*cp = ((c & 0x07) << 18) | ((s[1] & 0x3F) << 12) | ((s[2] & 0x3F) << 6) | (s[3] & 0x3F);
	return 4;
}

static inline unsigned mci_weight(int32_t cp) { return cp > 0xFFFF ? 0xFFFD : mci_w[cp]; }

static int mci_compare(void *unused, int na, const void *va, int nb, const void *vb) {
	const unsigned char *a = va, *b = vb;
	int32_t ca, cb;
	while (na > 0 && a[na - 1] == ' ') na--; // PAD SPACE
	while (nb > 0 && b[nb - 1] == ' ') nb--;
	while (na > 0 && nb > 0) {
		if (a[0] < 0x80 && b[0] < 0x80) {
			unsigned wa = mci_w[a[0]], wb = mci_w[b[0]];
			if (wa != wb) return (int)wa - (int)wb;
			a++; b++; na--; nb--;
			continue;
		}
		int ka = mci_next(a, na, &ca), kb = mci_next(b, nb, &cb);
		unsigned wa = mci_weight(ca), wb = mci_weight(cb);
		if (wa != wb) return (int)wa - (int)wb;
		a += ka; na -= ka; b += kb; nb -= kb;
	}
	return (na > 0) - (nb > 0);
}

// mci_char reads one character of a LIKE operand: its weight (the byte
// itself for binary operands) and its length.
static inline int mci_char(const unsigned char *s, int n, int binary, unsigned *w, int32_t *cp) {
	if (binary) { *cp = s[0]; *w = s[0]; return 1; }
	int k = mci_next(s, n, cp);
	*w = mci_weight(*cp);
	return k;
}

// mci_match matches s against pattern p: '_' is one character, '%' any
// run, esc (< 0: none) makes the next character literal. On a mismatch
// the last '%' takes one more character.
static int mci_match(const unsigned char *p, int pn, const unsigned char *s, int sn, int32_t esc, int binary) {
	int pi = 0, si = 0, star_p = -1, star_s = 0;
	unsigned pw, sw;
	int32_t pc, sc;
	while (si < sn) {
		if (pi < pn) {
			int pk = mci_char(p + pi, pn - pi, binary, &pw, &pc);
			if (pc == esc && pi + pk < pn) {
				int lk = mci_char(p + pi + pk, pn - pi - pk, binary, &pw, &pc);
				int sk = mci_char(s + si, sn - si, binary, &sw, &sc);
				if (pw == sw) { pi += pk + lk; si += sk; continue; }
			} else if (pc == '%') {
				pi += pk; star_p = pi; star_s = si;
				continue;
			} else if (pc == '_') {
				si += mci_char(s + si, sn - si, binary, &sw, &sc);
				pi += pk;
				continue;
			} else {
				int sk = mci_char(s + si, sn - si, binary, &sw, &sc);
				if (pw == sw) { pi += pk; si += sk; continue; }
			}
		}
		if (star_p < 0) return 0;
		star_s += mci_char(s + star_s, sn - star_s, binary, &sw, &sc);
		si = star_s; pi = star_p;
	}
	while (pi < pn) {
		int pk = mci_char(p + pi, pn - pi, binary, &pw, &pc);
		if (pc != '%' || (pc == esc && pi + pk < pn)) return 0;
		pi += pk;
	}
	return 1;
}

// like(pattern, value[, escape]) for "value LIKE pattern [ESCAPE escape]".
static void mci_like(sqlite3_context *ctx, int argc, sqlite3_value **argv) {
	for (int i = 0; i < argc; i++) {
		if (sqlite3_value_type(argv[i]) == MCI_SQLITE_NULL) { sqlite3_result_null(ctx); return; }
	}
	int binary = sqlite3_value_type(argv[0]) == MCI_SQLITE_BLOB || sqlite3_value_type(argv[1]) == MCI_SQLITE_BLOB;
	int32_t esc = -1;
	if (argc == 3) {
		const unsigned char *e = sqlite3_value_text(argv[2]);
		int en = sqlite3_value_bytes(argv[2]);
		if (en > 0) {
			int k = mci_next(e, en, &esc);
			if (k != en) {
				sqlite3_result_error(ctx, "Incorrect arguments to ESCAPE", -1);
				return;
			}
		}
	}
	const unsigned char *p = binary ? sqlite3_value_blob(argv[0]) : sqlite3_value_text(argv[0]);
	int pn = sqlite3_value_bytes(argv[0]);
	const unsigned char *s = binary ? sqlite3_value_blob(argv[1]) : sqlite3_value_text(argv[1]);
	int sn = sqlite3_value_bytes(argv[1]);
	if ((!p && pn > 0) || (!s && sn > 0)) { sqlite3_result_error(ctx, "out of memory", -1); return; }
	sqlite3_result_int(ctx, mci_match(p, pn, s, sn, esc, binary));
}

static int mci_init(sqlite3 *db, char **err, const void *api) {
	int flags = MCI_SQLITE_UTF8 | MCI_SQLITE_DETERMINISTIC | MCI_SQLITE_INNOCUOUS;
	int rc = sqlite3_create_collation_v2(db, "utf8mb4_general_ci", MCI_SQLITE_UTF8, 0, mci_compare, 0);
	if (rc == 0) rc = sqlite3_create_function_v2(db, "like", 2, flags, 0, mci_like, 0, 0, 0);
	if (rc == 0) rc = sqlite3_create_function_v2(db, "like", 3, flags, 0, mci_like, 0, 0, 0);
	return rc;
}

static int mci_enable(int on) {
	if (on) return sqlite3_auto_extension((void (*)(void))mci_init);
	return sqlite3_cancel_auto_extension((void (*)(void))mci_init);
}

static int mci_compare_go(const char *a, int na, const char *b, int nb) { return mci_compare(0, na, a, nb, b); }

static int mci_like_go(const char *p, int pn, const char *s, int sn, int32_t esc, int binary) {
	return mci_match((const unsigned char *)p, pn, (const unsigned char *)s, sn, esc, binary);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/marmotdb/marmot/frontend/transpile"
)

func init() {
	if transpile.CICollation != "utf8mb4_general_ci" {
		panic("frontend: the C collation is registered as utf8mb4_general_ci")
	}
	w := (*[0x10000]uint16)(C.malloc(C.size_t(len(ciWeights) * 2)))
	*w = *ciWeights
	C.mci_set_weights((*C.uint16_t)(unsafe.Pointer(w)))
	if err := enableMySQLCollation(true); err != nil {
		panic(err)
	}
}

// enableMySQLCollation adds (or removes) utf8mb4_general_ci and like() to
// the SQLite connections opened from now on; init adds them.
func enableMySQLCollation(on bool) error {
	v := C.int(0)
	if on {
		v = 1
	}
	if rc := C.mci_enable(v); rc != 0 && on {
		return fmt.Errorf("frontend: sqlite3_auto_extension: error %d", int(rc))
	}
	return nil
}

// cCompare and cLike call the C implementation (for tests).
func cCompare(a, b string) int {
	ca, cb := C.CString(a), C.CString(b)
	defer C.free(unsafe.Pointer(ca))
	defer C.free(unsafe.Pointer(cb))
	return int(C.mci_compare_go(ca, C.int(len(a)), cb, C.int(len(b))))
}

func cLike(s, pat string, esc rune, binary bool) bool {
	cs, cp := C.CString(s), C.CString(pat)
	defer C.free(unsafe.Pointer(cs))
	defer C.free(unsafe.Pointer(cp))
	b := C.int(0)
	if binary {
		b = 1
	}
	return C.mci_like_go(cp, C.int(len(pat)), cs, C.int(len(s)), C.int32_t(esc), b) != 0
}
