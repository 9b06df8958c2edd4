package frontend

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/marmotdb/marmot/frontend/transpile"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// rawRows returns a text-protocol result's values as sent on the wire
// ("NULL" for NULL): what a client prints, with DECIMAL scale intact.
func rawRows(t *testing.T, res *mysql.Result) [][]string {
	t.Helper()
	if res == nil || res.Resultset == nil {
		t.Fatal("no result set")
	}
	var out [][]string
	for _, rd := range res.RowDatas {
		var row []string
		b := []byte(rd)
		for range res.Fields {
			if b[0] == 0xfb {
				row = append(row, "NULL")
				b = b[1:]
				continue
			}
			v, _, n, err := mysql.LengthEncodedString(b)
			if err != nil {
				t.Fatal(err)
			}
			row = append(row, string(v))
			b = b[n:]
		}
		out = append(out, row)
	}
	return out
}

func rawQuery(t *testing.T, s *Session, q string) [][]string {
	t.Helper()
	return rawRows(t, mustExec(t, s, q))
}

// changeSets returns the change sets the session's server committed for db.
func changeSets(t *testing.T, s *Session, db string) []*marmotv1.ChangeSet {
	t.Helper()
	l := s.srv.opts.Committer.(localCommitter).l
	var out []*marmotv1.ChangeSet
	for origin := range l.Durable() {
		if err := l.ScanDatabase(db, origin, 0, func(cs *marmotv1.ChangeSet) error {
			out = append(out, cs)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestDivisionIsDecimal(t *testing.T) {
	s := newShowTestSession(t, "CREATE TABLE nums (id INT PRIMARY KEY, n INT, price DECIMAL(10,2), f DOUBLE)",
		"INSERT INTO nums VALUES (1, 7, 10.25, 1.5), (2, 1, 3.00, 2)")
	res := mustExec(t, s, "SELECT 7/2, 1/3, 10/4, 7/0, 7 DIV 2, 1.0e0/3, 1/32, -1/3, 2/3*3")
	want := []string{"3.5000", "0.3333", "2.5000", "NULL", "3", "0.3333333333333333", "0.0313", "-0.3333", "2.0000"}
	if got := rawRows(t, res)[0]; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i, typ := range []uint8{mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL, mysql.MYSQL_TYPE_NEWDECIMAL} {
		if f := res.Fields[i]; f.Type != typ || f.Decimal != 4 {
			t.Errorf("column %d: type %d decimals %d, want NEWDECIMAL with 4", i, f.Type, f.Decimal)
		}
	}
	if f := res.Fields[5]; f.Type != mysql.MYSQL_TYPE_DOUBLE {
		t.Errorf("1.0e0/3: type %d, want DOUBLE", f.Type)
	}
	got := rawQuery(t, s, "SELECT n / 2, price / 4, price * 2, f / 2, AVG(n) FROM nums WHERE id = 1")
	if w := "3.5000 2.562500 20.50 0.75 7.0000"; strings.Join(got[0], " ") != w {
		t.Errorf("column division: got %v, want %s", got[0], w)
	}
	// after a *, from the end; streamed and binary results use the same types
	got = rawQuery(t, s, "SELECT *, n / 4 FROM nums ORDER BY id")
	if got[0][4] != "1.7500" || got[1][4] != "0.2500" {
		t.Errorf("SELECT *, n / 4: got %v", got)
	}
	res, err := s.exec(context.Background(), mustTranspile(t, s, "SELECT ? / 2, n / 8 FROM nums WHERE id = 1"), []any{int64(5)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fields[1].Type != mysql.MYSQL_TYPE_NEWDECIMAL {
		t.Errorf("binary protocol n / 8: type %d", res.Fields[1].Type)
	}
}

func mustTranspile(t *testing.T, s *Session, q string) transpile.Statement {
	t.Helper()
	stmts, err := s.transpile(q)
	if err != nil || len(stmts) != 1 {
		t.Fatalf("%s: %v", q, err)
	}
	return stmts[0]
}

func showCreate(t *testing.T, s *Session, table string) string {
	t.Helper()
	return rawQuery(t, s, "SHOW CREATE TABLE "+table)[0][1]
}

func TestCreateTableLike(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE src (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL DEFAULT 'x', code CHAR(3), cs VARCHAR(10) COLLATE utf8mb4_bin, n INT CHECK (n >= 0), "+
			"up TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, UNIQUE KEY code (code), KEY name_n (name, n))",
		"INSERT INTO src (name, code, n) VALUES ('a', 'AAA', 1)")
	mustExec(t, s, "CREATE TABLE dst LIKE src")
	want := strings.Replace(strings.ReplaceAll(showCreate(t, s, "src"), "src_chk_", "dst_chk_"), "`src`", "`dst`", 1)
	if got := showCreate(t, s, "dst"); got != want {
		t.Errorf("SHOW CREATE TABLE dst:\n%s\nwant:\n%s", got, want)
	}
	if got := rawQuery(t, s, "SELECT COUNT(*) FROM dst")[0][0]; got != "0" {
		t.Errorf("dst has %s rows; LIKE copies no rows", got)
	}
	// the copy behaves like the source: auto ids, defaults, unique key, ON UPDATE
	mustExec(t, s, "INSERT INTO dst (code, n) VALUES ('BBB', 2)")
	if got := rawQuery(t, s, "SELECT name, id > 0, up IS NOT NULL FROM dst")[0]; strings.Join(got, ",") != "x,1,1" {
		t.Errorf("defaults: %v", got)
	}
	// collations: name compares as MySQL's _ci, cs byte for byte
	mustExec(t, s, "UPDATE dst SET cs = 'abc'")
	if got := rawQuery(t, s, "SELECT (SELECT COUNT(*) FROM dst WHERE name = 'X'), (SELECT COUNT(*) FROM dst WHERE cs = 'ABC')")[0]; strings.Join(got, ",") != "1,0" {
		t.Errorf("collations of the copy: %v", got)
	}
	if _, err := execQuery(s, "INSERT INTO dst (code, n) VALUES ('bbb', 3)"); err == nil || !strings.Contains(err.Error(), "Duplicate") {
		t.Errorf("unique key not copied: %v", err)
	}
	if _, err := execQuery(s, "INSERT INTO dst (code, n) VALUES ('CCC', -1)"); err == nil {
		t.Error("CHECK constraint not copied")
	}
	// what replicates is the expanded definition, never the LIKE form
	var ddl string
	for _, cs := range changeSets(t, s, "app") {
		if len(cs.DdlTables) == 1 && cs.DdlTables[0] == "dst" {
			ddl = cs.Ddl
		}
	}
	if !strings.HasPrefix(ddl, `CREATE TABLE IF NOT EXISTS "dst" (`) || strings.Contains(strings.ToUpper(ddl), "LIKE") ||
		!strings.Contains(ddl, `"dst__code"`) || !strings.Contains(ddl, "__marmot_onupd__dst__up") {
		t.Errorf("DDL change set for dst:\n%s", ddl)
	}
	// errors as MySQL
	mustExec(t, s, "CREATE VIEW v AS SELECT 1 AS a")
	for _, c := range []struct {
		q    string
		code uint16
	}{
		{"CREATE TABLE dst LIKE src", mysql.ER_TABLE_EXISTS_ERROR},
		{"CREATE TABLE d2 LIKE nosuch", mysql.ER_NO_SUCH_TABLE},
		{"CREATE TABLE d3 LIKE v", mysql.ER_WRONG_OBJECT},
	} {
		_, err := execQuery(s, c.q)
		if me, ok := err.(*mysql.MyError); !ok || me.Code != c.code {
			t.Errorf("%s: %v, want error %d", c.q, err, c.code)
		}
	}
	mustExec(t, s, "CREATE TABLE IF NOT EXISTS dst LIKE src")
}

func TestCreateTableSelect(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE people (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, score DECIMAL(6,2), born DATE)",
		"INSERT INTO people (id, name, score, born) VALUES (1, 'ann', 7.5, '2000-01-02'), (2, 'bob', 3, NULL), (3, 'cy', NULL, NULL)")
	res := mustExec(t, s, "CREATE TABLE p2 (PRIMARY KEY (id)) SELECT id, name, score / 2 AS half, born FROM people WHERE id < 3")
	if res.AffectedRows != 2 {
		t.Errorf("affected rows %d, want 2", res.AffectedRows)
	}
	got := rawQuery(t, s, "SELECT id, name, half, born FROM p2 ORDER BY id")
	if len(got) != 2 || strings.Join(got[0], ",") != "1,ann,3.750000,2000-01-02" || strings.Join(got[1], ",") != "2,bob,1.500000,NULL" {
		t.Errorf("p2 rows: %v", got)
	}
	sc := showCreate(t, s, "p2")
	for _, w := range []string{"`id` bigint NOT NULL", "`name` varchar(50) NOT NULL", "`half` decimal(10,6)", "`born` date", "PRIMARY KEY (`id`)"} {
		if !strings.Contains(sc, w) {
			t.Errorf("SHOW CREATE TABLE p2 lacks %q:\n%s", w, sc)
		}
	}
	// two change sets: the expanded DDL, then the rows
	var kinds []string
	for _, cs := range changeSets(t, s, "app") {
		switch {
		case len(cs.DdlTables) == 1 && cs.DdlTables[0] == "p2":
			if !strings.HasPrefix(cs.Ddl, `CREATE TABLE IF NOT EXISTS "p2" (`) || strings.Contains(cs.Ddl, "SELECT") {
				t.Errorf("DDL: %s", cs.Ddl)
			}
			kinds = append(kinds, "ddl")
		case len(cs.Rows) > 0 && cs.Rows[0].Table == "p2":
			kinds = append(kinds, "rows:"+string(rune('0'+len(cs.Rows))))
		}
	}
	if strings.Join(kinds, " ") != "ddl rows:2" {
		t.Errorf("change sets for p2: %v", kinds)
	}
	// an AUTO_INCREMENT key declared before the SELECT
	mustExec(t, s, "CREATE TABLE p3 (pid BIGINT AUTO_INCREMENT PRIMARY KEY) SELECT name FROM people")
	if got := rawQuery(t, s, "SELECT COUNT(DISTINCT pid), COUNT(*) FROM p3")[0]; strings.Join(got, ",") != "3,3" {
		t.Errorf("p3: %v", got)
	}
	// no key: refused with the way to add one
	_, err := execQuery(s, "CREATE TABLE p4 SELECT id, name FROM people")
	if me, ok := err.(*mysql.MyError); !ok || me.Code != 3750 || !strings.Contains(me.Message, "CREATE TABLE p4 (PRIMARY KEY (id)) SELECT") {
		t.Errorf("no primary key: %v", err)
	}
	// a failed insert leaves no table (MySQL's CREATE TABLE ... SELECT is atomic)
	_, err = execQuery(s, "CREATE TABLE p5 (PRIMARY KEY (name)) SELECT 'same' AS name FROM people")
	if me, ok := err.(*mysql.MyError); !ok || me.Code != mysql.ER_DUP_ENTRY {
		t.Errorf("duplicate key: %v", err)
	}
	if _, err := execQuery(s, "SELECT * FROM p5"); err == nil {
		t.Error("p5 exists after its insert failed")
	}
	// IGNORE keeps the first row of each key
	mustExec(t, s, "CREATE TABLE p6 (PRIMARY KEY (k)) IGNORE SELECT 'same' AS k, name FROM people ORDER BY id")
	if got := rawQuery(t, s, "SELECT k, name FROM p6"); len(got) != 1 || got[0][1] != "ann" {
		t.Errorf("p6: %v", got)
	}
	// IF NOT EXISTS on an existing table inserts nothing
	res = mustExec(t, s, "CREATE TABLE IF NOT EXISTS p2 (PRIMARY KEY (id)) SELECT id, name FROM people")
	if res.Warnings != 1 || rawQuery(t, s, "SELECT COUNT(*) FROM p2")[0][0] != "2" {
		t.Errorf("IF NOT EXISTS: warnings %d", res.Warnings)
	}
	if _, err := execQuery(s, "CREATE TABLE p2 (PRIMARY KEY (id)) SELECT id FROM people"); err == nil {
		t.Error("CREATE TABLE over an existing table succeeded")
	}
	// inside a transaction: DDL commits it first
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO people (id, name) VALUES (10, 'dee')")
	mustExec(t, s, "CREATE TABLE p7 (PRIMARY KEY (id)) SELECT id FROM people")
	mustExec(t, s, "ROLLBACK")
	if got := rawQuery(t, s, "SELECT COUNT(*) FROM p7")[0][0]; got != "4" {
		t.Errorf("p7 has %s rows, want 4", got)
	}
}

func TestMultiTableUpdate(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE a (id INT PRIMARY KEY, x INT NOT NULL DEFAULT 0, flag INT NOT NULL DEFAULT 0)",
		"CREATE TABLE b (id INT PRIMARY KEY, a_id INT, y INT, UNIQUE KEY y (y))",
		"INSERT INTO a (id, x) VALUES (1, 0), (2, 0), (3, 0)",
		"INSERT INTO b VALUES (10, 1, 100), (20, 2, 200), (30, NULL, 300)")
	q := func(sql string) string {
		t.Helper()
		var rows []string
		for _, r := range rawQuery(t, s, sql) {
			rows = append(rows, strings.Join(r, ":"))
		}
		return strings.Join(rows, " ")
	}
	// one target table, joined
	res := mustExec(t, s, "UPDATE a JOIN b ON a.id = b.a_id SET a.x = b.y WHERE b.y > 100")
	if got := q("SELECT id, x FROM a ORDER BY id"); got != "1:0 2:200 3:0" || res.AffectedRows != 1 {
		t.Errorf("UPDATE a JOIN b: %s (affected %d)", got, res.AffectedRows)
	}
	// an outer join updates unmatched rows too
	mustExec(t, s, "UPDATE a LEFT JOIN b ON a.id = b.a_id SET a.x = COALESCE(b.y, -1)")
	if got := q("SELECT id, x FROM a ORDER BY id"); got != "1:100 2:200 3:-1" {
		t.Errorf("UPDATE a LEFT JOIN b: %s", got)
	}
	// two target tables: the WHERE sees the rows as they were before the
	// statement, though the first table's update changes a.flag
	res = mustExec(t, s, "UPDATE a, b SET a.flag = 1, b.y = b.y + 1 WHERE a.id = b.a_id AND a.flag = 0")
	if got := q("SELECT id, flag FROM a ORDER BY id") + " / " + q("SELECT id, y FROM b ORDER BY id"); got != "1:1 2:1 3:0 / 10:101 20:201 30:300" || res.AffectedRows != 4 {
		t.Errorf("UPDATE a, b: %s (affected %d, want 4)", got, res.AffectedRows)
	}
	// new values come from the rows before the statement (a self-join
	// reading the previous row, which the statement also changes)
	mustExec(t, s, "UPDATE a AS cur JOIN a AS prev ON prev.id = cur.id - 1 SET cur.x = prev.x")
	if got := q("SELECT id, x FROM a ORDER BY id"); got != "1:100 2:100 3:200" {
		t.Errorf("self-join update: %s", got)
	}
	// one change set holds both tables' rows
	before := len(changeSets(t, s, "app"))
	mustExec(t, s, "UPDATE a JOIN b ON a.id = b.a_id SET a.x = 7, b.y = b.y * 10")
	css := changeSets(t, s, "app")
	if len(css) != before+1 {
		t.Fatalf("%d change sets, want 1 more", len(css)-before)
	}
	tables := map[string]int{}
	for _, r := range css[len(css)-1].Rows {
		tables[r.Table]++
	}
	if tables["a"] != 2 || tables["b"] != 2 {
		t.Errorf("change set rows by table: %v", tables)
	}
	// a failure in the second table changes nothing; the statement can run again
	_, err := execQuery(s, "UPDATE a JOIN b ON a.id = b.a_id SET a.x = 8, b.y = 3000")
	if me, ok := err.(*mysql.MyError); !ok || me.Code != mysql.ER_DUP_ENTRY {
		t.Errorf("duplicate y: %v", err)
	}
	if got := q("SELECT x FROM a WHERE id = 1"); got != "7" {
		t.Errorf("a.x after the failed statement: %s", got)
	}
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "UPDATE a, b SET a.x = 9, b.y = NULL WHERE a.id = b.a_id")
	if got := q("SELECT COUNT(*) FROM b WHERE y IS NULL"); got != "2" {
		t.Errorf("inside the transaction: %s", got)
	}
	mustExec(t, s, "ROLLBACK")
	if got := q("SELECT COUNT(*) FROM b WHERE y IS NULL") + q("SELECT x FROM a WHERE id = 1"); got != "07" {
		t.Errorf("after ROLLBACK: %s", got)
	}
	// placeholders (binary protocol)
	st := mustTranspile(t, s, "UPDATE a, b SET a.x = ?, b.y = ? WHERE a.id = b.a_id AND b.id = ?")
	if _, err := s.exec(context.Background(), st, []any{int64(5), int64(55), int64(10)}, true); err != nil {
		t.Fatal(err)
	}
	if got := q("SELECT x FROM a WHERE id = 1") + "," + q("SELECT y FROM b WHERE id = 10"); got != "5,55" {
		t.Errorf("with placeholders: %s", got)
	}
}

func TestMultiTableDelete(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE a (id INT PRIMARY KEY, flag INT)",
		"CREATE TABLE b (id INT PRIMARY KEY, a_id INT)",
		"INSERT INTO a VALUES (1, 1), (2, 0), (3, 1), (4, 1)",
		"INSERT INTO b VALUES (10, 1), (11, 1), (20, 2), (30, 3)")
	count := func(table string) string { return rawQuery(t, s, "SELECT COUNT(*) FROM "+table)[0][0] }
	// one target
	mustExec(t, s, "DELETE b FROM b JOIN a ON a.id = b.a_id WHERE a.flag = 0")
	if count("b") != "3" {
		t.Errorf("DELETE b FROM b JOIN a: %s rows left", count("b"))
	}
	// two targets: b's rows are found through a's rows the same statement deletes
	res := mustExec(t, s, "DELETE a, b FROM a JOIN b ON a.id = b.a_id WHERE a.flag = 1 AND a.id = 1")
	if count("a")+count("b") != "31" || res.AffectedRows != 3 {
		t.Errorf("DELETE a, b: a %s b %s (affected %d, want 3)", count("a"), count("b"), res.AffectedRows)
	}
	mustExec(t, s, "DELETE FROM a, b USING a JOIN b ON a.id = b.a_id WHERE a.id = 3")
	if count("a")+count("b") != "20" {
		t.Errorf("DELETE ... USING: a %s b %s", count("a"), count("b"))
	}
	// WordPress's transient cleanup: a self-join of wp_options
	mustExec(t, s, "CREATE TABLE wp_options (option_id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, option_name VARCHAR(191) NOT NULL DEFAULT '', "+
		"option_value LONGTEXT NOT NULL, autoload VARCHAR(20) NOT NULL DEFAULT 'yes', PRIMARY KEY (option_id), UNIQUE KEY option_name (option_name))")
	mustExec(t, s, "INSERT INTO wp_options (option_name, option_value) VALUES ('_transient_old', 'x'), ('_transient_timeout_old', '1000'), "+
		"('_transient_new', 'y'), ('_transient_timeout_new', '99999999999'), ('siteurl', 'http://x')")
	res = mustExec(t, s, `DELETE a, b FROM wp_options a, wp_options b
		WHERE a.option_name LIKE '\_transient\_%'
		AND a.option_name NOT LIKE '\_transient\_timeout\_%'
		AND b.option_name = CONCAT( '_transient_timeout_', SUBSTRING( a.option_name, 12 ) )
		AND b.option_value < UNIX_TIMESTAMP()`)
	var names []string
	for _, r := range rawQuery(t, s, "SELECT option_name FROM wp_options ORDER BY option_id") {
		names = append(names, r[0])
	}
	if strings.Join(names, ",") != "_transient_new,_transient_timeout_new,siteurl" || res.AffectedRows != 2 {
		t.Errorf("transient cleanup left %v (affected %d)", names, res.AffectedRows)
	}
}

// TestBoundStringsCompareWithCollation: a string reaching SQL as a bound
// value (a prepared statement's parameter, or a value Parameterize lifted
// out of interpolated text) compares with an expression as MySQL compares
// strings, case- and accent-insensitively, like the same literal does.
func TestBoundStringsCompareWithCollation(t *testing.T) {
	s := newShowTestSession(t, "CREATE TABLE names (id INT PRIMARY KEY, b VARCHAR(20), v INT)",
		"INSERT INTO names VALUES (1, 'abc', 0), (2, 'xyz', 0)")
	for _, tc := range []struct {
		name, q string
		args    []any
	}{
		{"literal", "SELECT id FROM names WHERE UPPER(b) = 'abc'", nil},
		{"placeholder", "SELECT id FROM names WHERE UPPER(b) = ?", []any{"abc"}},
		{"placeholder, accents", "SELECT id FROM names WHERE CONCAT(b, '') = ?", []any{"ÀBC"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rawRows(t, mustExec(t, s, tc.q, tc.args...)); len(got) != 1 || got[0][0] != "1" {
				t.Fatalf("%s %v: rows %v, want [[1]]", tc.q, tc.args, got)
			}
		})
	}
	// An interpolating client's UPDATE: its value becomes a parameter.
	if _, err := s.run("UPDATE names SET v = 7 WHERE UPPER(b) = 'abc'", nil, false); err != nil {
		t.Fatal(err)
	}
	if got := rawQuery(t, s, "SELECT v FROM names WHERE id = 1"); got[0][0] != "7" {
		t.Fatalf("UPDATE ... WHERE UPPER(b) = 'abc' changed nothing: v = %s", got[0][0])
	}
}

// TestInterpolatedStatementsShareATranspilation: a client that interpolates
// its values sends SELECTs and writes that differ only in them; their
// values become parameters, so one cached transpilation serves them all,
// with the same rows as the text would give. Where the grammar needs a
// literal (CAST(x AS DECIMAL(10,2))), the text as sent runs.
func TestInterpolatedStatementsShareATranspilation(t *testing.T) {
	s := newShowTestSession(t, "CREATE TABLE kv (id INT PRIMARY KEY, name VARCHAR(20), price DECIMAL(10,2))",
		"INSERT INTO kv VALUES (1, 'one', 1.25), (2, 'two', 2.5), (3, 'three', 3.75)")
	run := func(q string) [][]string {
		t.Helper()
		res, err := s.run(q, nil, false)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if res == nil || res.Resultset == nil {
			return nil
		}
		return rawRows(t, res)
	}
	cache, err := lru.New[string, []transpile.Statement](64)
	if err != nil {
		t.Fatal(err)
	}
	s.srv.cache = cache
	for _, tc := range []struct{ q, want string }{
		{"SELECT name FROM kv WHERE id = 2", "[[two]]"},
		{"SELECT name FROM kv WHERE id = 3", "[[three]]"},
		{"SELECT name FROM kv WHERE id = 99", "[]"},
	} {
		if got := fmt.Sprint(run(tc.q)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.q, got, tc.want)
		}
	}
	if n := cache.Len(); n != 1 {
		t.Errorf("three SELECTs differing in a value made %d cache entries, want 1", n)
	}
	// Result columns keep the names and types of their literals.
	if got := fmt.Sprint(run("SELECT 'x', name FROM kv WHERE name = 'ONE'")); got != "[[x one]]" {
		t.Errorf("SELECT 'x', name ... = %s", got)
	}
	run("UPDATE kv SET price = CAST('9.999' AS DECIMAL(10,2)) WHERE id = 1")
	if got := fmt.Sprint(run("SELECT price FROM kv WHERE id = 1")); got != "[[10.00]]" {
		t.Errorf("after UPDATE with CAST(... AS DECIMAL(10,2)): price %s, want 10.00", got)
	}
	if got := fmt.Sprint(run("SELECT id FROM kv WHERE price > CAST(2 AS DECIMAL(10,2)) AND id < 3")); got != "[[1] [2]]" {
		t.Errorf("SELECT with CAST in WHERE: %s, want [[1] [2]]", got)
	}
}
