package materializer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
)

type tableSum struct {
	rows uint64
	sum  []byte
}

// checksums collects DB.Checksums into a map, with the watermark it
// reported.
func checksums(tb testing.TB, d *DB) (txlog.Watermark, map[string]tableSum) {
	tb.Helper()
	var applied txlog.Watermark
	var names []string
	out := map[string]tableSum{}
	err := d.Checksums(context.Background(), func(w txlog.Watermark, tables []string) error {
		applied, names = w, tables
		return nil
	}, func(name string, rows uint64, sum []byte) error {
		out[name] = tableSum{rows, sum}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if len(names) != len(out) {
		tb.Fatalf("begin announced tables %v, got checksums for %d", names, len(out))
	}
	return applied, out
}

// mustDBWith makes a fresh database holding what stmts write, each
// statement committed through the log as its own transaction.
func mustDBWith(tb testing.TB, ddl string, stmts ...string) *DB {
	tb.Helper()
	l, m := mustOpen(tb, tb.TempDir())
	d := createDB(tb, l, m, "app", ddl)
	for _, q := range stmts {
		cs, seen := capture(tb, d, q)
		if err := commit(tb, l, m, cs, seen); err != nil {
			tb.Fatal(err)
		}
	}
	return d
}

// execFile changes d's SQLite file behind the materializer's back, as an
// operator's sqlite3 shell would.
func execFile(tb testing.TB, d *DB, q string) {
	tb.Helper()
	db, err := sql.Open("sqlite3", "file:"+d.Path()+"?_busy_timeout=10000")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(q); err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
}

func TestChecksums(t *testing.T) {
	// v has no declared type, so SQLite keeps each value's storage class.
	const ddl = `CREATE TABLE t (id INTEGER PRIMARY KEY, v)`
	base := mustDBWith(t, ddl, `INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 2.5)`, `INSERT INTO t VALUES (3, x'00ff')`)
	_, want := checksums(t, base)
	if want["t"].rows != 3 {
		t.Fatalf("rows = %d, want 3", want["t"].rows)
	}
	for _, tc := range []struct {
		name  string
		stmts []string
		same  bool
	}{
		{"same rows inserted in another order", []string{`INSERT INTO t VALUES (3, x'00ff')`, `INSERT INTO t VALUES (1, 'a')`, `INSERT INTO t VALUES (2, 2.5)`}, true},
		{"same rows in one transaction", []string{`INSERT INTO t VALUES (2, 2.5), (3, x'00ff'), (1, 'a')`}, true},
		{"same rows after an update", []string{`INSERT INTO t VALUES (1, 'b'), (2, 2.5), (3, x'00ff')`, `UPDATE t SET v = 'a' WHERE id = 1`}, true},
		{"one value changed", []string{`INSERT INTO t VALUES (1, 'a'), (2, 2.25), (3, x'00ff')`}, false},
		{"integer instead of real", []string{`INSERT INTO t VALUES (1, 'a'), (2, 2), (3, x'00ff')`}, false},
		{"a row missing", []string{`INSERT INTO t VALUES (1, 'a'), (2, 2.5)`}, false},
		{"an extra row", []string{`INSERT INTO t VALUES (1, 'a'), (2, 2.5), (3, x'00ff'), (4, NULL)`}, false},
		{"a key changed", []string{`INSERT INTO t VALUES (1, 'a'), (2, 2.5), (4, x'00ff')`}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, got := checksums(t, mustDBWith(t, ddl, tc.stmts...))
			if same := bytes.Equal(got["t"].sum, want["t"].sum); same != tc.same {
				t.Fatalf("checksum equal to the base: %v, want %v", same, tc.same)
			}
		})
	}
}

// TestChecksumsStorageClasses: values that look alike in MySQL's text
// protocol are different rows. The rows are written into the file
// directly, so each value keeps exactly the storage class it was given.
func TestChecksumsStorageClasses(t *testing.T) {
	const ddl = `CREATE TABLE t (id INTEGER PRIMARY KEY, v)`
	values := []string{`NULL`, `''`, `0`, `0.0`, `'0'`, `x''`, `x'00'`}
	seen := map[string]string{}
	for _, v := range values {
		d := mustDBWith(t, ddl)
		execFile(t, d, fmt.Sprintf(`INSERT INTO t VALUES (1, %s)`, v))
		_, got := checksums(t, d)
		key := string(got["t"].sum)
		if other, dup := seen[key]; dup {
			t.Errorf("%s and %s have the same checksum", v, other)
		}
		seen[key] = v
	}
}

// TestChecksumsSkipsInternalTables: __marmot_applied and sqlite_* differ
// between nodes by design; the watermark is reported beside the sums.
func TestChecksumsSkipsInternalTables(t *testing.T) {
	d := mustDBWith(t, `CREATE TABLE b (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)`, `INSERT INTO b (v) VALUES ('x')`)
	applied, got := checksums(t, d)
	if len(got) != 1 || got["b"].rows != 1 {
		t.Fatalf("tables %v, want only b with 1 row", got)
	}
	if want := d.Applied(); len(want) == 0 || fmt.Sprint(applied) != fmt.Sprint(want) {
		t.Fatalf("watermark %v, want the view's %v", applied, want)
	}
}

// TestChecksumsNoDeclTypeConversion: the driver would turn a DATETIME
// column into time.Time (losing the stored text); the sum must see the
// stored text.
func TestChecksumsNoDeclTypeConversion(t *testing.T) {
	const ddl = `CREATE TABLE d (id INTEGER PRIMARY KEY, at DATETIME, ok BOOLEAN)`
	_, a := checksums(t, mustDBWith(t, ddl, `INSERT INTO d VALUES (1, '2024-01-02 03:04:05', 1)`))
	_, b := checksums(t, mustDBWith(t, ddl, `INSERT INTO d VALUES (1, '2024-01-02T03:04:05Z', 1)`))
	if bytes.Equal(a["d"].sum, b["d"].sum) {
		t.Fatal("two different DATETIME texts have the same checksum")
	}
}

func TestChecksumQuery(t *testing.T) {
	for _, tc := range []struct {
		cols []column
		want string
	}{
		{[]column{{name: "id", pk: 1}, {name: "v"}}, `SELECT +"id", +"v" FROM "t" ORDER BY "id"`},
		{[]column{{name: "a", pk: 2}, {name: "b", pk: 1}, {name: `q"x`}}, `SELECT +"a", +"b", +"q""x" FROM "t" ORDER BY "b", "a"`},
		{[]column{{name: "a"}, {name: "b"}}, `SELECT +"a", +"b" FROM "t" ORDER BY "a", "b"`},
	} {
		if got := checksumQuery("t", tc.cols); got != tc.want {
			t.Errorf("checksumQuery(%v)\n got %s\nwant %s", tc.cols, got, tc.want)
		}
	}
}

func TestWriteValue(t *testing.T) {
	sum := func(vals ...any) string {
		h := sha256.New()
		for _, v := range vals {
			if err := writeValue(h, v); err != nil {
				t.Fatal(err)
			}
		}
		return string(h.Sum(nil))
	}
	for _, tc := range []struct {
		name string
		a, b []any
	}{
		{"NULL vs empty text", []any{nil}, []any{""}},
		{"empty text vs empty blob", []any{""}, []any{[]byte{}}},
		{"0 vs 0.0", []any{int64(0)}, []any{0.0}},
		{"0 vs '0'", []any{int64(0)}, []any{"0"}},
		{"value boundaries", []any{"ab", "c"}, []any{"a", "bc"}},
	} {
		if sum(tc.a...) == sum(tc.b...) {
			t.Errorf("%s: same encoding", tc.name)
		}
	}
	if err := writeValue(sha256.New(), true); err == nil {
		t.Error("a bool (never returned for +col) was accepted")
	}
}
