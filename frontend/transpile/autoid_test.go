package transpile

import (
	"strings"
	"testing"
)

// TestExplicitIDSQL: a one-row INSERT whose auto-increment value is a
// placeholder gets a variant without marmot_auto_id(), naming the
// argument; every other form keeps only the wrapped SQL.
func TestExplicitIDSQL(t *testing.T) {
	cases := []struct {
		sql      string
		plain    string // "" when there is no variant
		arg      int
		negate   bool
		wantCall bool // SQL still calls marmot_auto_id
	}{
		{sql: "INSERT INTO t (id, a) VALUES (?, ?)", plain: `INSERT INTO "t" ("id", "a") VALUES (?, ?)`, arg: 0, wantCall: true},
		{sql: "INSERT INTO t (a, id) VALUES (?, ?)", plain: `INSERT INTO "t" ("a", "id") VALUES (?, ?)`, arg: 1, wantCall: true},
		{sql: "INSERT INTO t (a, id, b) VALUES (?, -?, ?)", plain: `INSERT INTO "t" ("a", "id", "b") VALUES (?, -?, ?)`, arg: 1, negate: true, wantCall: true},
		{sql: "INSERT INTO t VALUES (?, ?, ?)", plain: `INSERT INTO "t" VALUES (?, ?, ?)`, arg: 0, wantCall: true},
		{sql: "REPLACE INTO t (id, a) VALUES (?, ?)", plain: `REPLACE INTO "t" ("id", "a") VALUES (?, ?)`, arg: 0, wantCall: true},
		// Not a bare placeholder, several rows, or no id given: no variant.
		{sql: "INSERT INTO t (id, a) VALUES (? + 1, ?)", wantCall: true},
		{sql: "INSERT INTO t (id, a) VALUES (5, ?)", wantCall: true},
		{sql: "INSERT INTO t (id, a) VALUES (?, ?), (?, ?)", wantCall: true},
		{sql: "INSERT INTO t (a) VALUES (?)", wantCall: true},
		{sql: "INSERT INTO t (id, a) SELECT ?, ?", wantCall: true},
		{sql: "INSERT INTO kv (k, v) VALUES (?, ?)"},
	}
	for _, c := range cases {
		t.Run(c.sql, func(t *testing.T) {
			out, err := Transpile("test", c.sql, fuzzSchema{})
			if err != nil || len(out) != 1 {
				t.Fatalf("Transpile: %v (%d statements)", err, len(out))
			}
			st := out[0]
			if got := strings.Contains(st.SQL, autoIDFunc); got != c.wantCall {
				t.Errorf("SQL %q: calls marmot_auto_id = %v, want %v", st.SQL, got, c.wantCall)
			}
			if st.ExplicitIDSQL != c.plain {
				t.Fatalf("ExplicitIDSQL = %q, want %q", st.ExplicitIDSQL, c.plain)
			}
			if c.plain != "" && (st.AutoIDArg != c.arg || st.AutoIDNegate != c.negate) {
				t.Errorf("argument %d negate %v, want %d %v", st.AutoIDArg, st.AutoIDNegate, c.arg, c.negate)
			}
		})
	}
}
