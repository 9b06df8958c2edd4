package frontend

import (
	"context"
	"strings"
	"testing"

	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// LIKE and = compare bytes on _bin and binary columns, and ignore case on
// the default collation and on columns of tables older versions made
// COLLATE NOCASE.
func TestLikeOnBinaryColumns(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE bn (id INT PRIMARY KEY, s VARCHAR(20) COLLATE utf8mb4_bin, b VARBINARY(20), bl BLOB, c VARCHAR(20), bc CHAR(5) BINARY)",
		"INSERT INTO bn VALUES (1, 'Apple', 'Apple', 'Apple', 'Apple', 'Apple'), (2, 'apple', 'apple', 'apple', 'apple', 'apple')")
	// A table made before utf8mb4_general_ci columns: NOCASE.
	cs := &marmotv1.ChangeSet{Id: materializer.NewTxnID(), Database: "app", Ddl: `CREATE TABLE IF NOT EXISTS "legacy" ("id" INT PRIMARY KEY, "v" VARCHAR(20) COLLATE NOCASE)`, DdlTables: []string{"legacy"}}
	if err := s.commitChangeSet(context.Background(), cs, nil); err != nil {
		t.Fatal(err)
	}
	mustExec(t, s, "INSERT INTO legacy VALUES (1, 'Apple'), (2, 'apple')")
	for _, tc := range []struct{ where, want string }{
		{"FROM bn WHERE s LIKE 'App%'", "1"},
		{"FROM bn WHERE s LIKE 'app%'", "2"},
		{"FROM bn WHERE s NOT LIKE 'App%'", "2"},
		{"FROM bn WHERE s = 'apple'", "2"},
		{"FROM bn WHERE s LIKE ?", "1"},
		{"FROM bn WHERE b LIKE 'A%'", "1"},
		{"FROM bn WHERE bl LIKE '%pple'", "1,2"},
		{"FROM bn WHERE bl LIKE 'a%'", "2"},
		{"FROM bn WHERE bc LIKE 'A____'", "1"},
		{"FROM bn WHERE c LIKE 'APP%'", "1,2"},
		{"FROM bn WHERE c = 'APPLE'", "1,2"},
		{"FROM bn WHERE c LIKE 'A%' COLLATE utf8mb4_bin", "1"},
		{"FROM legacy WHERE v LIKE 'APP%'", "1,2"},
		{"FROM legacy WHERE v = 'APPLE'", "1,2"},
	} {
		q := "SELECT GROUP_CONCAT(id ORDER BY id) " + tc.where
		var args []any
		if strings.Contains(q, "?") {
			args = []any{"App%"}
		}
		got := rawRows(t, mustExec(t, s, q, args...))[0][0]
		if got != tc.want {
			t.Errorf("%s: got %s, want %s", q, got, tc.want)
		}
	}
}
