package frontend

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// mfTestSession returns a session (id 42, user app_user) using database "app".
func mfTestSession(t *testing.T) *Session {
	t.Helper()
	s := openTestServer(t).newSession(42, "app_user")
	for _, q := range []string{"CREATE DATABASE app", "USE app"} {
		if _, err := s.HandleQuery(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return s
}

// mfQueryValue runs a query through the session and returns the first
// column of the first row as MySQL's text protocol sends it ("NULL" for NULL).
func mfQueryValue(t *testing.T, s *Session, q string) string {
	t.Helper()
	res, err := s.HandleQuery(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	if res == nil || res.Resultset == nil || len(res.RowDatas) == 0 {
		t.Fatalf("%s: no rows", q)
	}
	vals, err := res.RowDatas[0].ParseText(res.Fields, nil)
	if err != nil {
		t.Fatal(err)
	}
	switch v := vals[0]; v.Type {
	case mysql.FieldValueTypeNull:
		return "NULL"
	case mysql.FieldValueTypeUnsigned:
		return strconv.FormatUint(v.AsUint64(), 10)
	case mysql.FieldValueTypeSigned:
		return strconv.FormatInt(v.AsInt64(), 10)
	case mysql.FieldValueTypeFloat:
		return mfFmtDouble(v.AsFloat64())
	default:
		return string(v.AsString())
	}
}

// TestFunctionsThroughSession runs functions the way a client does: over
// the session (transpiler, executor, result encoding), against table data.
func TestFunctionsThroughSession(t *testing.T) {
	s := mfTestSession(t)
	for _, q := range []string{
		"CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100), author VARCHAR(50), created DATETIME, price DECIMAL(10,2), meta JSON)",
		`INSERT INTO posts (title, author, created, price, meta) VALUES ('Hello World', 'Ann', '2024-03-05 14:07:09', '1234.50', '{"tags": ["a", "b"], "views": 10}'), ('Ünïcode', NULL, '2023-12-31 23:59:59', '5.00', NULL)`,
	} {
		if _, err := s.HandleQuery(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, c := range []struct{ q, want string }{
		{"SELECT DATABASE()", "app"},
		{"SELECT CONNECTION_ID()", "42"},
		{"SELECT CURRENT_USER()", "app_user@localhost"},
		{"SELECT LAST_INSERT_ID() > 0", "1"},
		{"SELECT DATE_FORMAT(created, '%W %M %e %Y %H:%i:%s %p') FROM posts WHERE id = (SELECT MIN(id) FROM posts)", "Tuesday March 5 2024 14:07:09 PM"},
		{"SELECT YEAR(created) FROM posts ORDER BY created LIMIT 1", "2023"},
		{"SELECT COUNT(*) FROM posts WHERE created >= DATE_SUB('2024-03-06', INTERVAL 1 DAY)", "1"},
		{"SELECT TIMESTAMPDIFF(DAY, MIN(created), MAX(created)) FROM posts", "64"},
		{"SELECT CONCAT(title, ' by ', author) FROM posts ORDER BY created LIMIT 1", "NULL"},
		{"SELECT CONCAT_WS(' by ', title, author) FROM posts ORDER BY created LIMIT 1", "Ünïcode"},
		{"SELECT UPPER(title) FROM posts ORDER BY created LIMIT 1", "ÜNÏCODE"},
		{"SELECT LENGTH(title) FROM posts ORDER BY created LIMIT 1", "9"},
		{"SELECT CHAR_LENGTH(title) FROM posts ORDER BY created LIMIT 1", "7"},
		{"SELECT GROUP_CONCAT(LEFT(title, 2) ORDER BY id SEPARATOR '|') FROM posts", "He|Ün"},
		{"SELECT FORMAT(SUM(price), 2) FROM posts", "1,239.50"},
		{"SELECT ROUND(price * 1.1, 2) FROM posts ORDER BY id LIMIT 1", "1357.95"},
		{"SELECT IF(author IS NULL, 'anonymous', author) FROM posts ORDER BY id DESC LIMIT 1", "anonymous"},
		{"SELECT JSON_UNQUOTE(JSON_EXTRACT(meta, '$.tags[1]')) FROM posts ORDER BY id LIMIT 1", "b"},
		{"SELECT meta->>'$.views' FROM posts ORDER BY id LIMIT 1", "10"},
		{"SELECT JSON_LENGTH(meta, '$.tags') FROM posts ORDER BY id LIMIT 1", "2"},
		{"SELECT GET_LOCK('wp_upgrade', 10)", "1"},
		{"SELECT IS_USED_LOCK('wp_upgrade')", "42"},
		{"SELECT RELEASE_LOCK('wp_upgrade')", "1"},
		{"SELECT UNIX_TIMESTAMP(created) FROM posts ORDER BY id LIMIT 1", "1709647629"},
		{"SELECT FROM_UNIXTIME(1709647629, '%Y-%m-%d')", "2024-03-05"},
		{"SELECT STR_TO_DATE('05/03/2024', '%d/%m/%Y')", "2024-03-05"},
		{"SELECT SUBSTRING_INDEX(author, 'n', 1) FROM posts ORDER BY id LIMIT 1", "A"},
		{"SELECT HEX(id) FROM posts ORDER BY id LIMIT 1", "~^[0-9A-F]+$"},
	} {
		got := mfQueryValue(t, s, c.q)
		if len(c.want) > 0 && c.want[0] == '~' {
			if !regexp.MustCompile(c.want[1:]).MatchString(got) {
				t.Errorf("%s = %q, want match %s", c.q, got, c.want[1:])
			}
		} else if got != c.want {
			t.Errorf("%s = %q, want %q", c.q, got, c.want)
		}
	}
}
