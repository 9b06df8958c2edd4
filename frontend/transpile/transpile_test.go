package transpile

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the expected outputs in testdata/*.txt")

// testCase is one case of a testdata file:
//
//	# comment
//	db: other            (optional session database; default "test")
//	mysql: SELECT 1      (may continue on following lines)
//	kind: Select         (expected output: one block of lines per statement)
//	sqlite: SELECT 1
//	flags: readonly
//	----
type testCase struct {
	file     string
	line     int
	comments []string
	db       string
	mysql    string
	expected string
}

var outputKey = regexp.MustCompile(`^(kind|sqlite|error|database|table|tables|name|flags|params|fill|onupdate|decimals|show|set|savepoint|load|kill):( |$)`)

func parseCases(t testing.TB, path string) []*testCase {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*testCase
	c := &testCase{file: path, db: "test"}
	state := 0 // 0: before mysql, 1: in mysql, 2: in expected
	var mysql, exp []string
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "----" {
			c.mysql = strings.Join(mysql, "\n")
			c.expected = strings.Join(exp, "\n")
			if c.mysql != "" {
				cases = append(cases, c)
			}
			c = &testCase{file: path, db: "test"}
			mysql, exp, state = nil, nil, 0
			continue
		}
		switch {
		case state == 0 && (strings.HasPrefix(line, "#") || strings.TrimSpace(line) == ""):
			c.comments = append(c.comments, line)
		case state == 0 && strings.HasPrefix(line, "db: "):
			c.db = strings.TrimPrefix(line, "db: ")
			if c.db == `""` {
				c.db = ""
			}
		case state == 0 && strings.HasPrefix(line, "mysql: "):
			c.line = i + 1
			mysql = append(mysql, strings.TrimPrefix(line, "mysql: "))
			state = 1
		case state == 1 && !outputKey.MatchString(line):
			mysql = append(mysql, line)
		case state >= 1:
			state = 2
			exp = append(exp, line)
		default:
			t.Fatalf("%s:%d: unexpected line %q", path, i+1, line)
		}
	}
	if state != 0 {
		c.mysql = strings.Join(mysql, "\n")
		c.expected = strings.Join(exp, "\n")
		cases = append(cases, c)
	}
	return cases
}

// render prints Transpile's result in the testdata format.
func render(stmts []Statement, err error) string {
	var lines []string
	for _, s := range stmts {
		lines = append(lines, "kind: "+s.Kind.String())
		if s.SQL != "" {
			lines = append(lines, "sqlite: "+s.SQL)
		}
		if s.FillSQL != "" {
			lines = append(lines, "fill: "+s.FillSQL)
		}
		if s.Database != "" {
			lines = append(lines, "database: "+s.Database)
		}
		if s.Table != "" && s.Show == nil {
			lines = append(lines, "table: "+s.Table)
		}
		if len(s.Tables) > 1 {
			lines = append(lines, "tables: "+strings.Join(s.Tables, ", "))
		}
		if s.Name != "" {
			lines = append(lines, "name: "+s.Name)
		}
		var flags []string
		for _, f := range []struct {
			on   bool
			name string
		}{{s.ReadOnly, "readonly"}, {s.CalcFoundRows, "calcfoundrows"}, {s.IfExists, "ifexists"},
			{s.IfNotExists, "ifnotexists"}, {s.Temporary, "temporary"}, {s.TxReadOnly, "txreadonly"}} {
			if f.on {
				flags = append(flags, f.name)
			}
		}
		if len(flags) > 0 {
			lines = append(lines, "flags: "+strings.Join(flags, " "))
		}
		if s.Params > 0 {
			lines = append(lines, fmt.Sprintf("params: %d", s.Params))
		}
		if len(s.OnUpdateNow) > 0 {
			lines = append(lines, "onupdate: "+strings.Join(s.OnUpdateNow, ", "))
		}
		if len(s.Decimals) > 0 {
			var ds []string
			for _, d := range s.Decimals {
				ds = append(ds, fmt.Sprintf("%d:(%d,%d)", d.Index, d.Prec, d.Scale))
			}
			lines = append(lines, "decimals: "+strings.Join(ds, " "))
		}
		if s.Show != nil {
			lines = append(lines, "show: "+renderShow(s.Show))
		}
		for _, v := range s.Set {
			x := fmt.Sprintf("%s %s = %s", v.Scope, v.Name, v.Value)
			if v.IsExpr {
				x += " (expr)"
			}
			if v.Collate != "" {
				x += " collate " + v.Collate
			}
			lines = append(lines, "set: "+x)
		}
		if s.Savepoint != "" {
			lines = append(lines, "savepoint: "+s.Savepoint)
		}
		if s.Load != nil {
			l := s.Load
			lines = append(lines, fmt.Sprintf("load: file=%q local=%v replace=%v ignore=%v database=%q table=%q charset=%q fields=%q enclosed=%q optionally=%v escaped=%q starting=%q lines=%q ignorelines=%d columns=%q",
				l.File, l.Local, l.Replace, l.Ignore, l.Database, l.Table, l.Charset, l.FieldsTerminatedBy, l.FieldsEnclosedBy,
				l.FieldsOptionallyEnclosed, l.FieldsEscapedBy, l.LinesStartingBy, l.LinesTerminatedBy, l.IgnoreLines, l.Columns))
		}
		if s.Kind == Kill {
			lines = append(lines, fmt.Sprintf("kill: %d query=%v", s.KillID, s.KillQuery))
		}
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			lines = append(lines, fmt.Sprintf("error: %d %s %s", e.Code, e.State, e.Message))
		} else {
			lines = append(lines, "error: "+err.Error())
		}
	}
	return strings.Join(lines, "\n")
}

func renderShow(s *ShowInfo) string {
	parts := []string{"kind=" + fmt.Sprintf("%q", s.Kind)}
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+fmt.Sprintf("%q", v))
		}
	}
	if s.Full {
		parts = append(parts, "full")
	}
	if s.Global {
		parts = append(parts, "global")
	}
	add("table", s.Table)
	add("database", s.Database)
	add("like", s.Like)
	add("where", s.Where)
	add("name", s.Name)
	add("limit", s.Limit)
	return strings.Join(parts, " ")
}

func testFiles(t testing.TB) []string {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	sort.Strings(files)
	return files
}

func TestTranspileData(t *testing.T) {
	schema := newTestSchema(t)
	total := 0
	for _, file := range testFiles(t) {
		cases := parseCases(t, file)
		var out strings.Builder
		for _, c := range cases {
			total++
			stmts, err := Transpile(c.db, c.mysql, schema)
			got := render(stmts, err)
			if *update {
				for _, l := range c.comments {
					out.WriteString(l + "\n")
				}
				if c.db != "test" {
					db := c.db
					if db == "" {
						db = `""`
					}
					out.WriteString("db: " + db + "\n")
				}
				out.WriteString("mysql: " + c.mysql + "\n")
				if got != "" {
					out.WriteString(got + "\n")
				}
				out.WriteString("----\n")
				continue
			}
			if got != c.expected {
				t.Errorf("%s:%d: %s\n--- got:\n%s\n--- want:\n%s", c.file, c.line, c.mysql, got, c.expected)
			}
		}
		if *update {
			if err := os.WriteFile(file, []byte(out.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("%d cases", total)
}
