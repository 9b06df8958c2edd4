package frontend

import (
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

// The function tests run MySQL expressions the way marmot does: the text
// goes through the transpiler and the SQLite it produces runs on a
// connection with registerFunctions installed. Expected values are what
// MySQL 8.0 (time_zone +00:00, default sql_mode) answers, as text; NULL is
// "NULL". A want starting with "~" is a regular expression; "!error" expects
// an error.

var funcTestDriver = func() string {
	name := "marmot_functions_test"
	sql.Register(name, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		return (&Server{version: Version}).registerFunctions(c, &materializer.Env{})
	}})
	return name
}()

type noSchema struct{}

func (noSchema) Columns(db, table string) ([]string, bool)     { return nil, false }
func (noSchema) AutoIncrement(db, table string) (string, bool) { return "", false }

func openFuncDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(funcTestDriver, ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// renderValue shows a result as MySQL's text protocol would.
func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return mfFmtDouble(x)
	case []byte:
		return string(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// evalMySQL transpiles "SELECT <expr>" and returns the single value.
func evalMySQL(db *sql.DB, expr string) (string, string, error) {
	stmts, err := transpile.Transpile("marmot", "SELECT "+expr, noSchema{})
	if err != nil {
		return "", "", err
	}
	if len(stmts) != 1 {
		return "", "", fmt.Errorf("%d statements", len(stmts))
	}
	q := stmts[0].SQL
	var v any
	if err := db.QueryRow(q).Scan(&v); err != nil {
		return "", q, err
	}
	return renderValue(v), q, nil
}

type fcase struct {
	expr string // MySQL expression
	want string
}

func runFuncCases(t *testing.T, cases []fcase) {
	t.Helper()
	db := openFuncDB(t)
	for _, c := range cases {
		got, q, err := evalMySQL(db, c.expr)
		switch {
		case c.want == "!error":
			if err == nil {
				t.Errorf("SELECT %s = %q, want an error (SQLite: %s)", c.expr, got, q)
			}
		case err != nil:
			t.Errorf("SELECT %s: %v (SQLite: %s)", c.expr, err, q)
		case strings.HasPrefix(c.want, "~"):
			if !regexp.MustCompile(c.want[1:]).MatchString(got) {
				t.Errorf("SELECT %s = %q, want match %s (SQLite: %s)", c.expr, got, c.want[1:], q)
			}
		case got != c.want:
			t.Errorf("SELECT %s = %q, want %q (SQLite: %s)", c.expr, got, c.want, q)
		}
	}
}

func TestFunctionsSession(t *testing.T) {
	runFuncCases(t, []fcase{
		{"VERSION()", Version},
		{"DATABASE()", "NULL"},
		{"SCHEMA()", "NULL"},
		{"CONNECTION_ID()", "0"},
		{"FOUND_ROWS()", "0"},
		{"ROW_COUNT()", "-1"},
		{"LAST_INSERT_ID()", "0"},
		{"@@version_comment IS NOT NULL", "~^[01]$"},
		{"MD5('testing')", "ae2b1fca515949e5d54fb22b8ed95575"},
		{"MD5(NULL)", "NULL"},
		{"SHA1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"SHA('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"SHA2('abc', 256)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"SHA2('abc', 0)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"SHA2('abc', 224)", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7"},
		{"SHA2('abc', 123)", "NULL"},
		{"SHA2(NULL, 256)", "NULL"},
		{"'Michael!' REGEXP '.*'", "1"},
		{"'ABC' REGEXP '^abc$'", "1"},
		{"'abc' RLIKE 'x'", "0"},
		{"NULL REGEXP 'a'", "NULL"},
	})
}

func TestFunctionsControlFlow(t *testing.T) {
	runFuncCases(t, []fcase{
		{"IF(1>2, 2, 3)", "3"},
		{"IF(1<2, 'yes', 'no')", "yes"},
		{"IF(NULL, 1, 0)", "0"},
		{"IF(DATEDIFF('2024-03-05', '2024-03-01') > 3, 'late', 'ok')", "late"},
		{"IFNULL(1, 0)", "1"},
		{"IFNULL(NULL, 10)", "10"},
		{"NULLIF(1, 1)", "NULL"},
		{"NULLIF(1, 2)", "1"},
		{"COALESCE(NULL, NULL, 1)", "1"},
		{"ISNULL(1+1)", "0"},
		{"GREATEST(2, 0)", "2"},
		{"GREATEST('B', 'A', 'C')", "C"},
		{"GREATEST(1, NULL, 3)", "NULL"},
		{"LEAST(2, 0)", "0"},
		{"LEAST('B', 'A', 'C')", "A"},
		{"LEAST(1, NULL)", "NULL"},
	})
}

func TestFunctionsMisc(t *testing.T) {
	runFuncCases(t, []fcase{
		{"UUID()", "~^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"},
		{"UUID() <> UUID()", "1"},
		{"UUID_SHORT() > 0", "1"},
		{"UUID_SHORT() < UUID_SHORT()", "1"},
		{"LENGTH(RANDOM_BYTES(8))", "8"},
		{"RANDOM_BYTES(0)", "!error"},
		{"INET_ATON('10.0.5.9')", "167773449"},
		{"INET_ATON('127.1')", "2130706433"},
		{"INET_ATON('1.2.3')", "16908291"},
		{"INET_ATON('1.2.3.256')", "NULL"},
		{"INET_ATON('1.2.3.')", "NULL"},
		{"INET_ATON(NULL)", "NULL"},
		{"INET_NTOA(167773449)", "10.0.5.9"},
		{"INET_NTOA('167773449')", "10.0.5.9"},
		{"INET_NTOA(-1)", "NULL"},
		{"HEX(INET6_ATON('fdfe::5a55:caff:fefa:9089'))", "FDFE0000000000005A55CAFFFEFA9089"},
		{"HEX(INET6_ATON('10.0.5.9'))", "0A000509"},
		{"INET6_NTOA(INET6_ATON('fdfe::5a55:caff:fefa:9089'))", "fdfe::5a55:caff:fefa:9089"},
		{"INET6_NTOA(INET6_ATON('10.0.5.9'))", "10.0.5.9"},
		{"IS_IPV4('10.0.5.9')", "1"},
		{"IS_IPV4('10.0.5.256')", "0"},
		{"IS_IPV6('::1')", "1"},
		{"CHARSET('abc')", "utf8mb4"},
		{"COLLATION('abc')", "utf8mb4_0900_ai_ci"},
		{"REGEXP_LIKE('CamelCase', 'CAMELCASE')", "1"},
		{"REGEXP_LIKE('CamelCase', 'CAMELCASE', 'c')", "0"},
		{"REGEXP_LIKE('a\nb', 'a.b', 'n')", "1"},
		{"REGEXP_LIKE(NULL, 'a')", "NULL"},
		{"REGEXP_REPLACE('a b c', 'b', 'X')", "a X c"},
		{"REGEXP_REPLACE('abc def ghi', '[a-z]+', 'X', 1, 3)", "abc def X"},
		{"REGEXP_REPLACE('abc def ghi', '[a-z]+', 'X', 5)", "abc X X"},
		{"REGEXP_SUBSTR('abc def ghi', '[a-z]+')", "abc"},
		{"REGEXP_SUBSTR('abc def ghi', '[a-z]+', 1, 3)", "ghi"},
		{"REGEXP_SUBSTR('abc', 'x')", "NULL"},
		{"REGEXP_INSTR('dog cat dog', 'dog')", "1"},
		{"REGEXP_INSTR('dog cat dog', 'dog', 2)", "9"},
		{"REGEXP_INSTR('aa aaa aaaa', 'a{4}')", "8"},
		{"REGEXP_INSTR('aa aaa aaaa', 'a{4}', 1, 1, 1)", "12"},
		{"SLEEP(0)", "0"},
		{"SLEEP(0.01)", "0"},
		{"SLEEP(-1)", "!error"},
	})
}

// TestFunctionsLocks runs in order: GET_LOCK state is per session.
func TestFunctionsLocks(t *testing.T) {
	runFuncCases(t, []fcase{
		{"RELEASE_ALL_LOCKS() >= 0", "1"},
		{"IS_FREE_LOCK('wp_cron')", "1"},
		{"IS_USED_LOCK('wp_cron')", "NULL"},
		{"GET_LOCK('wp_cron', 10)", "1"},
		{"GET_LOCK('WP_CRON', 0)", "1"},
		{"IS_FREE_LOCK('wp_cron')", "0"},
		{"IS_USED_LOCK('wp_cron')", "0"},
		{"RELEASE_LOCK('wp_cron')", "1"},
		{"IS_FREE_LOCK('wp_cron')", "0"},
		{"RELEASE_LOCK('wp_cron')", "1"},
		{"RELEASE_LOCK('wp_cron')", "NULL"},
		{"IS_FREE_LOCK('wp_cron')", "1"},
		{"GET_LOCK('a', 1) + GET_LOCK('b', 1)", "2"},
		{"RELEASE_ALL_LOCKS()", "2"},
		{"RELEASE_ALL_LOCKS()", "0"},
		{"GET_LOCK(NULL, 1)", "!error"},
		{"GET_LOCK('', 1)", "!error"},
	})
}

// TestFunctionsSessionLocks checks that locks belong to their session.
func TestFunctionsSessionLocks(t *testing.T) {
	a, b := &Session{id: 7}, &Session{id: 8}
	if v, _ := mfUserLocks.get(a, "x"); v != int64(1) {
		t.Fatalf("get_lock = %v", v)
	}
	if v, _ := mfUserLocks.isUsed(a, "x"); v != int64(7) {
		t.Errorf("is_used_lock(a) = %v, want 7", v)
	}
	if v, _ := mfUserLocks.isFree(b, "x"); v != int64(1) {
		t.Errorf("is_free_lock(b) = %v, want 1", v)
	}
	if v, _ := mfUserLocks.release(b, "x"); v != nil {
		t.Errorf("release_lock(b) = %v, want NULL", v)
	}
	if n := mfUserLocks.releaseAll(a); n != 1 {
		t.Errorf("release_all_locks(a) = %d", n)
	}
}

func TestFunctionsSleepCap(t *testing.T) {
	s := &Session{sysVars: map[string]string{"max_execution_time": "20"}}
	start := time.Now()
	n, err := mfSleep(&Server{}, s, float64(5))
	if err != nil || n != 1 || time.Since(start) > 2*time.Second {
		t.Fatalf("sleep capped = %d, %v after %v", n, err, time.Since(start))
	}
}

func TestFunctionsAggregates(t *testing.T) {
	db := openFuncDB(t)
	for _, c := range []struct{ q, want string }{
		{"SELECT bit_or(x) FROM (SELECT 1 AS x UNION ALL SELECT 4 UNION ALL SELECT NULL)", "5"},
		{"SELECT bit_and(x) FROM (SELECT 7 AS x UNION ALL SELECT 12)", "4"},
		{"SELECT bit_xor(x) FROM (SELECT 7 AS x UNION ALL SELECT 12)", "11"},
		{"SELECT bit_and(x) FROM (SELECT 1 AS x) WHERE 0", "18446744073709551615"},
		{"SELECT bit_or(x) FROM (SELECT 1 AS x) WHERE 0", "0"},
		{"SELECT std(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)", "1.118033988749895"},
		{"SELECT stddev_pop(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)", "1.118033988749895"},
		{"SELECT stddev_samp(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)", "1.2909944487358056"},
		{"SELECT variance(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)", "1.25"},
		{"SELECT var_samp(x) FROM (SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4)", "1.6666666666666667"},
		{"SELECT var_samp(x) FROM (SELECT 1 AS x)", "NULL"},
		{"SELECT std(x) FROM (SELECT 1 AS x) WHERE 0", "NULL"},
		{"SELECT json_arrayagg(x) FROM (SELECT 1 AS x UNION ALL SELECT 'a' UNION ALL SELECT NULL)", `[1, "a", null]`},
		{"SELECT json_objectagg(k, v) FROM (SELECT 'b' AS k, 1 AS v UNION ALL SELECT 'a', '[1,2]')", `{"a": [1, 2], "b": 1}`},
		{"SELECT json_arrayagg(x) FROM (SELECT 1 AS x) WHERE 0", "NULL"},
	} {
		var v any
		if err := db.QueryRow(c.q).Scan(&v); err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got := renderValue(v); got != c.want {
			t.Errorf("%s = %q, want %q", c.q, got, c.want)
		}
	}
}

// TestFunctionsNullArgs checks MySQL's NULL rule: NULL in, NULL out.
func TestFunctionsNullArgs(t *testing.T) {
	var cases []fcase
	for _, e := range []string{
		"YEAR(NULL)", "MONTH(NULL)", "DAY(NULL)", "DAYOFMONTH(NULL)", "HOUR(NULL)", "MINUTE(NULL)",
		"MICROSECOND(NULL)", "QUARTER(NULL)", "WEEKDAY(NULL)", "DAYOFWEEK(NULL)", "DAYOFYEAR(NULL)",
		"DAYNAME(NULL)", "MONTHNAME(NULL)", "TO_DAYS(NULL)", "TO_SECONDS(NULL)", "FROM_DAYS(NULL)",
		"WEEKOFYEAR(NULL)", "YEARWEEK(NULL)", "SEC_TO_TIME(NULL)", "TIME_TO_SEC(NULL)", "MAKEDATE(NULL, 1)",
		"MAKETIME(1, NULL, 1)", "TIMEDIFF(NULL, '10:00:00')", "ADDTIME('10:00:00', NULL)", "TIMESTAMP(NULL)",
		"PERIOD_ADD(NULL, 1)", "PERIOD_DIFF(202401, NULL)", "CONVERT_TZ(NULL, '+00:00', '+01:00')",
		"FROM_UNIXTIME(NULL, '%Y')", "STR_TO_DATE(NULL, NULL)",
		"CONCAT_WS(NULL, 'a')", "SUBSTRING_INDEX('a', NULL, 1)", "LPAD(NULL, 2, 'x')", "RIGHT(NULL, 1)",
		"INSERT(NULL, 1, 1, 'x')", "LOCATE('a', NULL)", "LOCATE('a', 'abc', NULL)", "INSTR(NULL, 'a')",
		"UPPER(NULL)", "REVERSE(NULL)", "SPACE(NULL)", "ELT(NULL, 'a')", "MAKE_SET(NULL, 'a')",
		"EXPORT_SET(NULL, 'Y', 'N')", "FORMAT(1, NULL)", "OCT(NULL)", "ORD(NULL)", "FROM_BASE64(NULL)",
		"BIT_LENGTH(NULL)", "TRIM(LEADING NULL FROM 'x')", "RAND(NULL) IS NULL", "ROUND(NULL, 1)",
		"TRUNCATE(1.5, NULL)", "CEIL(NULL)", "LN(NULL)", "LOG(NULL, 2)", "LOG2(NULL)", "LOG10(NULL)",
		"COT(NULL)", "ATAN(NULL, 1)", "INET_NTOA(NULL)", "INET6_ATON(NULL)", "INET6_NTOA(NULL)",
		"RANDOM_BYTES(NULL)", "SHA1(NULL)", "JSON_LENGTH(NULL)", "JSON_KEYS(NULL)", "JSON_CONTAINS(NULL, '1')",
		"JSON_CONTAINS_PATH(NULL, 'one', '$')", "JSON_MERGE_PATCH(NULL, '1')", "REGEXP_SUBSTR(NULL, 'a')",
		"REGEXP_INSTR('a', NULL)", "REGEXP_REPLACE('a', 'a', NULL)", "TIMESTAMPDIFF(DAY, '2024-01-01', NULL)",
	} {
		want := "NULL"
		if e == "RAND(NULL) IS NULL" {
			want = "0" // RAND(NULL) is RAND(0)
		}
		cases = append(cases, fcase{e, want})
	}
	runFuncCases(t, cases)
}

func TestFunctionsGuard(t *testing.T) {
	boom := func() { panic("oops") }
	// Every signature mfGuardFunc wraps directly, and one it wraps by
	// reflection: a panic is a zero result, or an error naming it.
	cases := []struct {
		name    string
		impl    any
		call    func(g any) (any, error)
		wantErr bool
	}{
		{"func(any) any", func(any) any { boom(); return 1 }, func(g any) (any, error) { return g.(func(any) any)(1), nil }, false},
		{"func(any, any) any", func(any, any) any { boom(); return 1 }, func(g any) (any, error) { return g.(func(any, any) any)(1, 2), nil }, false},
		{"func(any, any, any) any", func(any, any, any) any { boom(); return 1 }, func(g any) (any, error) { return g.(func(any, any, any) any)(1, 2, 3), nil }, false},
		{"func(...any) any", func(...any) any { boom(); return 1 }, func(g any) (any, error) { return g.(func(...any) any)(1, 2), nil }, false},
		{"func(...any) string", func(...any) string { boom(); return "x" }, func(g any) (any, error) { return g.(func(...any) string)(1), nil }, false},
		{"func(any) (any, error)", func(any) (any, error) { boom(); return 1, nil }, func(g any) (any, error) { return g.(func(any) (any, error))(1) }, true},
		{"func(any) (int64, error)", func(any) (int64, error) { boom(); return 1, nil }, func(g any) (any, error) { return g.(func(any) (int64, error))(1) }, true},
		{"reflection: func(any, any, any, any) any", func(any, any, any, any) any { boom(); return 1 }, func(g any) (any, error) { return g.(func(any, any, any, any) any)(1, 2, 3, 4), nil }, false},
		{"reflection: func(...any) (any, error)", func(...any) (any, error) { boom(); return 1, nil }, func(g any) (any, error) { return g.(func(...any) (any, error))(1) }, true},
	}
	for _, c := range cases {
		v, err := c.call(mfGuardFunc("boom", c.impl))
		if c.wantErr {
			if err == nil || !strings.Contains(err.Error(), "boom: internal error: oops") {
				t.Errorf("%s: err = %v, want the panic as an error", c.name, err)
			}
		} else if err != nil {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if v != nil && v != "" && v != int64(0) {
			t.Errorf("%s: result %v after a panic, want the zero value", c.name, v)
		}
	}
	// Without a panic the result passes through.
	if v := mfGuardFunc("id", func(a any) any { return a }).(func(any) any)(int64(7)); v != int64(7) {
		t.Errorf("guarded func(any) any = %v, want 7", v)
	}
}

// TestFunctionsBinary runs SQLite SQL directly: blob arguments are MySQL
// binary strings (byte semantics, case-sensitive, blob results).
func TestFunctionsBinary(t *testing.T) {
	db := openFuncDB(t)
	for _, c := range []struct{ q, want, typ string }{
		{"SELECT instr(X'414243', 'b')", "0", "int64"},
		{"SELECT instr(X'414243', 'B')", "2", "int64"},
		{"SELECT instr('ABC', 'b')", "2", "int64"},
		{"SELECT upper(X'616263')", "abc", "[]uint8"},
		{"SELECT hex(X'00FF')", "00FF", "string"},
		{"SELECT concat(X'61', 'b')", "ab", "[]uint8"},
		{"SELECT concat('a', 'b')", "ab", "string"},
		{"SELECT substr(X'00616263', 2, 2)", "ab", "[]uint8"},
		{"SELECT reverse(X'6162')", "ba", "[]uint8"},
		{"SELECT length(unhex('00FF'))", "2", "int64"},
		{"SELECT typeof(unhex('41'))", "blob", "string"},
		{"SELECT unhex('')", "", "string"},
		{"SELECT strcmp(X'61', 'A')", "1", "int64"},
		{"SELECT charset(X'61')", "binary", "string"},
		{"SELECT ord(X'C3A9')", "195", "int64"},
		{"SELECT length(random_bytes(16))", "16", "int64"},
		{"SELECT typeof(round(2.5))", "real", "string"},
		{"SELECT typeof(round(25, -1))", "integer", "string"},
		{"SELECT typeof(floor(2.5))", "integer", "string"},
		{"SELECT typeof(year('2024-01-01'))", "integer", "string"},
		{"SELECT typeof(unix_timestamp('2024-01-01 00:00:00.5'))", "real", "string"},
	} {
		var v any
		if err := db.QueryRow(c.q).Scan(&v); err != nil {
			t.Errorf("%s: %v", c.q, err)
			continue
		}
		if got, typ := renderValue(v), fmt.Sprintf("%T", v); got != c.want || typ != c.typ {
			t.Errorf("%s = %q (%s), want %q (%s)", c.q, got, typ, c.want, c.typ)
		}
	}
}
