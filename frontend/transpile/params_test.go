package transpile

import (
	"reflect"
	"testing"
)

func TestParameterize(t *testing.T) {
	tests := []struct {
		in   string
		want string
		args []any
		ok   bool
	}{
		{"INSERT INTO t (id, name) VALUES (1, 'a''b'), (2, \"c\\nd\")", "INSERT INTO t (id, name) VALUES (?, ?), (?, ?)", []any{int64(1), "a'b", int64(2), "c\nd"}, true},
		{"UPDATE t SET v = 'x' WHERE id = 7", "UPDATE t SET v = ? WHERE id = ?", []any{"x", int64(7)}, true},
		{"delete from t where id = -3", "delete from t where id = -?", []any{int64(3)}, true},
		{"INSERT INTO t VALUES (1, 1.50, 0x1F)", "INSERT INTO t VALUES (?, 1.50, 0x1F)", []any{int64(1)}, true},
		{"INSERT INTO t VALUES (99999999999999999999)", "", nil, false},
		{"INSERT INTO t (id, s) VALUES (1, 'x') ON DUPLICATE KEY UPDATE s = 'y'", "INSERT INTO t (id, s) VALUES (?, ?) ON DUPLICATE KEY UPDATE s = ?", []any{int64(1), "x", "y"}, true},
		{"SELECT 1", "", nil, false},
		{"SELECT 'a' AS x, b FROM t WHERE id = 5 AND name = 'n' FOR UPDATE", "SELECT 'a' AS x, b FROM t WHERE id = ? AND name = ? FOR UPDATE", []any{int64(5), "n"}, true},
		{"select * from t where id in (1, 2) and (a = 'x' or b = 3)", "select * from t where id in (?, ?) and (a = ? or b = ?)", []any{int64(1), int64(2), "x", int64(3)}, true},
		{"SELECT id FROM t WHERE a = 1 ORDER BY id", "", nil, false},
		{"SELECT id FROM t WHERE a = 1 LIMIT 1", "", nil, false},
		{"SELECT a, COUNT(*) FROM t WHERE a > 1 GROUP BY a", "", nil, false},
		{"SELECT id FROM t WHERE a IN (SELECT b FROM u WHERE c = 1)", "", nil, false},
		{"SELECT id FROM t WHERE a = 1 UNION SELECT 2", "", nil, false},
		{"SELECT (SELECT 1 FROM u WHERE c = 1) FROM t", "", nil, false},
		{"SELECT SUBSTRING('abc', 2) FROM t", "", nil, false},
		{"INSERT INTO t SELECT 1", "", nil, false},
		{"DELETE FROM t WHERE id > 1 LIMIT 10", "", nil, false},
		{"UPDATE t SET d = NOW() + INTERVAL 1 DAY", "", nil, false},
		{"INSERT INTO t VALUES (?, 1)", "", nil, false},
		{"INSERT INTO t VALUES (_utf8mb4'x')", "", nil, false},
		{"INSERT INTO t VALUES (X'00')", "", nil, false},
		{"INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)", "", nil, false},
		{"INSERT INTO t VALUES (1);", "INSERT INTO t VALUES (?);", []any{int64(1)}, true},
		{"INSERT INTO t VALUES (@x)", "", nil, false},
		{"INSERT INTO t VALUES ('a' 'b')", "", nil, false},
		{"INSERT INTO t VALUES (NULL, TRUE)", "", nil, false},
		{"DELETE FROM t WHERE name LIKE 'a%'", "", nil, false},
		{"UPDATE t SET j = JSON_SET(j, '$.a', 1)", "", nil, false},
	}
	for _, tc := range tests {
		got, args, ok := Parameterize(tc.in)
		if ok != tc.ok || got != tc.want || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("Parameterize(%q) = %q, %#v, %v; want %q, %#v, %v", tc.in, got, args, ok, tc.want, tc.args, tc.ok)
		}
	}
}
