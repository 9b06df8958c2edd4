package transpile

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

// fuzzSchema is a fixed in-memory Schema for the fuzzer (no SQLite needed).
type fuzzSchema struct{}

func (fuzzSchema) Columns(db, table string) ([]string, bool) {
	switch strings.ToLower(table) {
	case "t":
		return []string{"id", "a", "b"}, true
	case "kv":
		return []string{"k", "v"}, true
	}
	return nil, false
}

func (fuzzSchema) AutoIncrement(db, table string) (string, bool) {
	if strings.EqualFold(table, "t") {
		return "id", true
	}
	return "", false
}

var (
	fuzzOnce     sync.Once
	fuzzSchemaDB *testSchema
)

// FuzzTranspile asserts that no input makes the transpiler panic (it calls the
// internal entry point, which has no recover), that errors are *Error, and
// that every SQLite statement produced is syntactically valid (prepared, not
// run, against the test schema; unknown tables, columns or functions invented
// by the fuzzer are fine).
func FuzzTranspile(f *testing.F) {
	for _, file := range testFiles(f) {
		for _, c := range parseCases(f, file) {
			f.Add(c.mysql)
		}
	}
	for _, s := range []string{"", ";", "/*!", "/*!40101 SET", "'", "`", "CREATE TRIGGER", "LOAD DATA INFILE",
		"SELECT ?", "INSERT INTO t VALUES (?, ?, ?)", "SHOW", "ROLLBACK TO", "SELECT 0x", "SELECT b''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		fuzzOnce.Do(func() { fuzzSchemaDB = newTestSchema(t) })
		for _, s := range []Schema{fuzzSchemaDB, fuzzSchema{}, nil} {
			stmts, err := transpileAll("test", sql, s)
			if err != nil {
				var e *Error
				if !errors.As(err, &e) {
					t.Fatalf("error %T is not *Error: %v", err, err)
				}
				if e.Code == 0 || e.State == "" {
					t.Fatalf("incomplete error %+v", e)
				}
			}
			for _, st := range stmts {
				if st.Kind == Unknown {
					t.Fatalf("statement of unknown kind for %q", sql)
				}
				if st.Params < 0 {
					t.Fatalf("negative Params")
				}
				checkSyntax(t, fuzzSchemaDB, sql, st.SQL)
			}
		}
	})
}

// checkSyntax prepares each statement of out and fails on SQLite syntax errors.
func checkSyntax(t *testing.T, s *testSchema, in, out string) {
	db := s.dbs["test"]
	for _, p := range splitStatements(out) {
		stmt, err := db.Prepare(p.text)
		if err == nil {
			stmt.Close()
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, "syntax error") || strings.Contains(msg, "unrecognized token") ||
			strings.Contains(msg, "no such function: marmot_") {
			t.Fatalf("invalid SQLite for %q:\n  %s\n  %v", in, p.text, err)
		}
	}
}

func TestTranspileRecoversPanics(t *testing.T) {
	// a nil-pointer panic inside must become a 1064 error, never escape
	_, err := Transpile("test", "SELECT 1", panicSchema{})
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	_, err = Transpile("test", "INSERT INTO t VALUES (1)", panicSchema{})
	var e *Error
	if !errors.As(err, &e) || e.Code != ErrParse {
		t.Fatalf("want 1064, got %v", err)
	}
}

type panicSchema struct{}

func (panicSchema) Columns(db, table string) ([]string, bool)     { panic("boom") }
func (panicSchema) AutoIncrement(db, table string) (string, bool) { panic("boom") }

func TestSQLStr(t *testing.T) {
	for in, want := range map[string]string{
		"plain":       "'plain'",
		"it's":        "'it''s'",
		"a\x00b":      "CAST(X'610062' AS TEXT)",
		"\xff\xfe":    "X'FFFE'",
		"é":           "'é'",
		"":            "''",
		"back\\slash": `'back\slash'`,
	} {
		if got := sqlStr(in); got != want {
			t.Errorf("sqlStr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestSplitStatements(t *testing.T) {
	cases := map[string][]string{
		"SELECT 1; SELECT 2":                   {"SELECT 1", " SELECT 2"},
		"SELECT ';'; -- x;\nSELECT 2;":         {"SELECT ';'", " -- x;\nSELECT 2"},
		";;  ; /* c; */ ;":                     nil,
		"SELECT `a;b` FROM t # c;\n; SELECT 3": {"SELECT `a;b` FROM t # c;\n", " SELECT 3"},
		"CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW BEGIN DELETE FROM u; DELETE FROM v; END; SELECT 1": {
			"CREATE TRIGGER x AFTER INSERT ON t FOR EACH ROW BEGIN DELETE FROM u; DELETE FROM v; END", " SELECT 1"},
		"/*!40101 SET NAMES utf8 */;/*!40101 SET a=1 */": {"/*!40101 SET NAMES utf8 */", "/*!40101 SET a=1 */"},
	}
	for in, want := range cases {
		var got []string
		for _, p := range splitStatements(in) {
			got = append(got, p.text)
		}
		if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
			t.Errorf("splitStatements(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestKindString(t *testing.T) {
	if CreateTable.String() != "CreateTable" || Kind(999).String() != "Kind(999)" {
		t.Fatal("Kind.String")
	}
	if !AlterTable.IsDDL() || Select.IsDDL() {
		t.Fatal("Kind.IsDDL")
	}
	e := &Error{Code: 1064, State: "42000", Message: "x"}
	if e.Error() != "ERROR 1064 (42000): x" {
		t.Fatal(e.Error())
	}
}
