package frontend

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
)

// WordPress tables, as wp-admin/includes/schema.php creates them.
const (
	wpPostsDDL = `CREATE TABLE wp_posts (
	ID bigint(20) unsigned NOT NULL auto_increment,
	post_author bigint(20) unsigned NOT NULL default '0',
	post_date datetime NOT NULL default '0000-00-00 00:00:00',
	post_date_gmt datetime NOT NULL default '0000-00-00 00:00:00',
	post_content longtext NOT NULL,
	post_title text NOT NULL,
	post_excerpt text NOT NULL,
	post_status varchar(20) NOT NULL default 'publish',
	comment_status varchar(20) NOT NULL default 'open',
	ping_status varchar(20) NOT NULL default 'open',
	post_password varchar(255) NOT NULL default '',
	post_name varchar(200) NOT NULL default '',
	to_ping text NOT NULL,
	pinged text NOT NULL,
	post_modified datetime NOT NULL default '0000-00-00 00:00:00',
	post_modified_gmt datetime NOT NULL default '0000-00-00 00:00:00',
	post_content_filtered longtext NOT NULL,
	post_parent bigint(20) unsigned NOT NULL default '0',
	guid varchar(255) NOT NULL default '',
	menu_order int(11) NOT NULL default '0',
	post_type varchar(20) NOT NULL default 'post',
	post_mime_type varchar(100) NOT NULL default '',
	comment_count bigint(20) NOT NULL default '0',
	PRIMARY KEY  (ID),
	KEY post_name (post_name(191)),
	KEY type_status_date (post_type,post_status,post_date,ID),
	KEY post_parent (post_parent),
	KEY post_author (post_author)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci`
	wpOptionsDDL = `CREATE TABLE wp_options (
	option_id bigint(20) unsigned NOT NULL auto_increment,
	option_name varchar(191) NOT NULL default '',
	option_value longtext NOT NULL,
	autoload varchar(20) NOT NULL default 'yes',
	PRIMARY KEY  (option_id),
	UNIQUE KEY option_name (option_name),
	KEY autoload (autoload)
) DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci`
	usersDDL  = "CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(100) NOT NULL, name VARCHAR(50), UNIQUE KEY email (email))"
	ordersDDL = "CREATE TABLE orders (id BIGINT NOT NULL AUTO_INCREMENT, user_id INT NOT NULL, state ENUM('new','paid','it''s') NOT NULL DEFAULT 'new', tags SET('a','b') DEFAULT NULL, total DECIMAL(10,2) NOT NULL DEFAULT '0.00', doc JSON, created TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (id), CONSTRAINT fk_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE, KEY user_id (user_id))"
	pairsDDL  = "CREATE TABLE pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, c INT, v VARBINARY(16), f BIT(8) DEFAULT b'101', g GEOMETRY, PRIMARY KEY (a, b), UNIQUE KEY bc (b, c))"
)

// openTestServer opens a log, a materializer with marmot's functions and a
// server on a temp dir; everything closes with the test.
func openTestServer(t *testing.T) *Server {
	t.Helper()
	dir := t.TempDir()
	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(dir, "log"), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := materializer.Open(context.Background(), materializer.Options{Dir: filepath.Join(dir, "db"), Log: l, ConnectHook: ConnectHook})
	if err != nil {
		l.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); l.Close() })
	ids, err := l.NewIDGenerator(txlog.IDCompact, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Materializer: m, Committer: LocalCommitter(l), IDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.infoSchema.close() })
	return srv
}

// newShowTestSession returns a session whose database "app" holds the
// given MySQL tables.
func newShowTestSession(t *testing.T, ddl ...string) *Session {
	t.Helper()
	s := openTestServer(t).newSession(1, "root")
	mustExec(t, s, "CREATE DATABASE app")
	mustExec(t, s, "USE app")
	for _, q := range ddl {
		mustExec(t, s, q)
	}
	return s
}

// mustExec runs MySQL text through the session (transpile + exec) and
// returns the last result.
func mustExec(t *testing.T, s *Session, query string, args ...any) *mysql.Result {
	t.Helper()
	res, err := execQuery(s, query, args...)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return res
}

func execQuery(s *Session, query string, args ...any) (*mysql.Result, error) {
	stmts, err := s.transpile(query)
	if err != nil {
		return nil, s.toMySQLError(err)
	}
	var res *mysql.Result
	for _, st := range stmts {
		if st.Kind != transpile.Show || st.Show == nil || !strings.Contains(st.Show.Kind, "warnings") && !strings.Contains(st.Show.Kind, "errors") {
			s.warnings = nil
		}
		// The information_schema dispatch session.go's read() does.
		if (st.Kind == transpile.Select || st.Kind == transpile.Explain) &&
			(isInfoSchema(st.Database) || st.Database == "" && isInfoSchema(s.db)) {
			res, err = s.infoSchema(context.Background(), st, args, false)
		} else {
			res, err = s.exec(context.Background(), st, args, false)
		}
		if err != nil {
			return nil, s.toMySQLError(err)
		}
	}
	return res, nil
}

// resultRows decodes a text-protocol result: nil for NULL, else the text.
func resultRows(t *testing.T, res *mysql.Result) (names []string, rows [][]any) {
	t.Helper()
	if res == nil || res.Resultset == nil {
		t.Fatalf("no result set")
	}
	for _, f := range res.Fields {
		names = append(names, string(f.Name))
	}
	for _, rd := range res.RowDatas {
		vals, err := rd.ParseText(res.Fields, nil)
		if err != nil {
			t.Fatal(err)
		}
		row := make([]any, len(vals))
		for i, v := range vals {
			switch v.Type {
			case mysql.FieldValueTypeNull:
			case mysql.FieldValueTypeUnsigned:
				row[i] = strconv.FormatUint(v.AsUint64(), 10)
			case mysql.FieldValueTypeSigned:
				row[i] = strconv.FormatInt(v.AsInt64(), 10)
			case mysql.FieldValueTypeFloat:
				row[i] = strconv.FormatFloat(v.AsFloat64(), 'g', -1, 64)
			default:
				row[i] = string(v.AsString())
			}
		}
		rows = append(rows, row)
	}
	return names, rows
}

func queryRows(t *testing.T, s *Session, query string, args ...any) ([]string, [][]any) {
	t.Helper()
	return resultRows(t, mustExec(t, s, query, args...))
}

// columnOf returns one column of rows by name.
func columnOf(t *testing.T, names []string, rows [][]any, name string) []any {
	t.Helper()
	for i, n := range names {
		if strings.EqualFold(n, name) {
			out := make([]any, len(rows))
			for j, r := range rows {
				out[j] = r[i]
			}
			return out
		}
	}
	t.Fatalf("no column %s in %v", name, names)
	return nil
}

// rowMap returns the row whose column key equals val, as name -> value.
func rowMap(t *testing.T, names []string, rows [][]any, key, val string) map[string]any {
	t.Helper()
	for i, n := range names {
		if !strings.EqualFold(n, key) {
			continue
		}
		for _, r := range rows {
			if r[i] == val {
				m := map[string]any{}
				for j, n := range names {
					m[n] = r[j]
				}
				return m
			}
		}
	}
	t.Fatalf("no row with %s = %s", key, val)
	return nil
}

func TestInfoSchemaDBeaverQueries(t *testing.T) {
	s := newShowTestSession(t, wpPostsDDL, wpOptionsDDL, usersDDL, ordersDDL, pairsDDL,
		"CREATE VIEW published AS SELECT ID, post_title FROM wp_posts WHERE post_status = 'publish'",
		"CREATE TRIGGER opt_ai AFTER INSERT ON wp_options FOR EACH ROW UPDATE users SET name = NEW.option_name WHERE id = 0")
	mustExec(t, s, "INSERT INTO wp_options (option_name, option_value) VALUES ('siteurl', 'http://x'), ('home', 'http://y')")

	type check func(t *testing.T, names []string, rows [][]any)
	cases := []struct {
		name  string
		query string
		args  []any
		check check
	}{
		{"schemata", "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"app", "utf8mb4"}, {"information_schema", "utf8mb3"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"columns of wp_posts", "SELECT * FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='wp_posts' ORDER BY ORDINAL_POSITION", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(names) != 22 || len(rows) != 23 {
					t.Fatalf("got %d columns, %d rows", len(names), len(rows))
				}
				id := rowMap(t, names, rows, "COLUMN_NAME", "ID")
				want := map[string]any{"ORDINAL_POSITION": "1", "COLUMN_TYPE": "bigint", "DATA_TYPE": "bigint", "IS_NULLABLE": "NO",
					"COLUMN_KEY": "PRI", "EXTRA": "auto_increment", "COLUMN_DEFAULT": nil, "NUMERIC_PRECISION": "19"}
				for k, v := range want {
					if id[k] != v {
						t.Errorf("ID.%s = %v, want %v", k, id[k], v)
					}
				}
				pa := rowMap(t, names, rows, "COLUMN_NAME", "post_author")
				if pa["COLUMN_TYPE"] != "bigint unsigned" || pa["COLUMN_DEFAULT"] != "0" || pa["COLUMN_KEY"] != "MUL" {
					t.Errorf("post_author: %v", pa)
				}
				pn := rowMap(t, names, rows, "COLUMN_NAME", "post_name")
				if pn["DATA_TYPE"] != "varchar" || pn["CHARACTER_MAXIMUM_LENGTH"] != "200" || pn["CHARACTER_OCTET_LENGTH"] != "800" ||
					pn["CHARACTER_SET_NAME"] != "utf8mb4" || pn["COLLATION_NAME"] != "utf8mb4_general_ci" {
					t.Errorf("post_name: %v", pn)
				}
				pd := rowMap(t, names, rows, "COLUMN_NAME", "post_date")
				if pd["DATA_TYPE"] != "datetime" || pd["COLUMN_DEFAULT"] != "0000-00-00 00:00:00" || pd["DATETIME_PRECISION"] != "0" {
					t.Errorf("post_date: %v", pd)
				}
				pc := rowMap(t, names, rows, "COLUMN_NAME", "post_content")
				if pc["DATA_TYPE"] != "longtext" || pc["CHARACTER_MAXIMUM_LENGTH"] != "4294967295" {
					t.Errorf("post_content: %v", pc)
				}
			}},
		{"column types", "SELECT COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, NUMERIC_PRECISION, NUMERIC_SCALE, CHARACTER_MAXIMUM_LENGTH, COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", []any{"app", "orders"},
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{
					{"id", "bigint", "bigint", "19", "0", nil, nil, "auto_increment"},
					{"user_id", "int", "int", "10", "0", nil, nil, ""},
					{"state", "enum('new','paid','it''s')", "enum", nil, nil, "4", "new", ""},
					{"tags", "set('a','b')", "set", nil, nil, "3", nil, ""},
					{"total", "decimal(10,2)", "decimal", "10", "2", nil, "0.00", ""},
					{"doc", "json", "json", nil, nil, nil, nil, ""},
					{"created", "timestamp", "timestamp", nil, nil, nil, "CURRENT_TIMESTAMP", "DEFAULT_GENERATED"},
				}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got\n%v\nwant\n%v", rows, want)
				}
			}},
		{"statistics", "SELECT INDEX_NAME, NON_UNIQUE, SEQ_IN_INDEX, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA=? AND TABLE_NAME=?", []any{"app", "wp_posts"},
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"PRIMARY", "0", "1", "ID"}, {"post_name", "1", "1", "post_name"},
					{"type_status_date", "1", "1", "post_type"}, {"type_status_date", "1", "2", "post_status"}, {"type_status_date", "1", "3", "post_date"}, {"type_status_date", "1", "4", "ID"},
					{"post_parent", "1", "1", "post_parent"}, {"post_author", "1", "1", "post_author"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"statistics star", "SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA=? AND TABLE_NAME=?", []any{"app", "pairs"},
			func(t *testing.T, names []string, rows [][]any) {
				if len(names) != 18 || len(rows) != 4 {
					t.Fatalf("got %v %v", names, rows)
				}
				if got := columnOf(t, names, rows, "INDEX_NAME"); !reflect.DeepEqual(got, []any{"PRIMARY", "PRIMARY", "bc", "bc"}) {
					t.Errorf("index names %v", got)
				}
				if got := columnOf(t, names, rows, "NULLABLE"); !reflect.DeepEqual(got, []any{"", "", "", "YES"}) {
					t.Errorf("nullable %v", got)
				}
			}},
		{"key column usage with references", "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_SCHEMA, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'orders' AND REFERENCED_TABLE_NAME IS NOT NULL", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"fk_user", "user_id", "app", "users", "id"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"key column usage keys", "SELECT CONSTRAINT_NAME, COLUMN_NAME, ORDINAL_POSITION FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'pairs' ORDER BY CONSTRAINT_NAME, ORDINAL_POSITION", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"PRIMARY", "a", "1"}, {"PRIMARY", "b", "2"}, {"bc", "b", "1"}, {"bc", "c", "2"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"table constraints", "SELECT CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME IN ('orders', 'users') ORDER BY TABLE_NAME, CONSTRAINT_NAME", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"PRIMARY", "PRIMARY KEY"}, {"fk_user", "FOREIGN KEY"}, {"PRIMARY", "PRIMARY KEY"}, {"email", "UNIQUE"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"referential constraints", "SELECT CONSTRAINT_NAME, UNIQUE_CONSTRAINT_NAME, UPDATE_RULE, DELETE_RULE, TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = 'app'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{{"fk_user", "PRIMARY", "NO ACTION", "CASCADE", "orders", "users"}}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got %v", rows)
				}
			}},
		{"routines empty", "SELECT * FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'app'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(rows) != 0 || len(names) != 31 || names[3] != "ROUTINE_NAME" {
					t.Errorf("got %v %v", names, rows)
				}
			}},
		{"partitions empty", "SELECT PARTITION_NAME FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = 'app'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(rows) != 0 {
					t.Errorf("got %v", rows)
				}
			}},
		{"tables", "SELECT TABLE_NAME, TABLE_TYPE, ENGINE, TABLE_ROWS, AUTO_INCREMENT, TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' ORDER BY TABLE_NAME", nil,
			func(t *testing.T, names []string, rows [][]any) {
				want := [][]any{
					{"orders", "BASE TABLE", "InnoDB", "0", "1", "utf8mb4_general_ci"},
					{"pairs", "BASE TABLE", "InnoDB", "0", nil, "utf8mb4_general_ci"},
					{"published", "VIEW", nil, nil, nil, nil},
					{"users", "BASE TABLE", "InnoDB", "0", "1", "utf8mb4_general_ci"},
					{"wp_options", "BASE TABLE", "InnoDB", "2", nil, "utf8mb4_general_ci"},
					{"wp_posts", "BASE TABLE", "InnoDB", "0", "1", "utf8mb4_general_ci"},
				}
				// AUTO_INCREMENT of tables with rows depends on the generated ids.
				for _, r := range rows {
					if r[0] == "wp_options" {
						if r[4] == nil {
							t.Errorf("%s has no AUTO_INCREMENT", r[0])
						}
						r[4] = nil
					}
				}
				if !reflect.DeepEqual(rows, want) {
					t.Errorf("got\n%v\nwant\n%v", rows, want)
				}
			}},
		{"views", "SELECT TABLE_NAME, VIEW_DEFINITION, IS_UPDATABLE FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'app'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(rows) != 1 || rows[0][0] != "published" || !strings.Contains(rows[0][1].(string), "FROM `wp_posts`") {
					t.Errorf("got %v", rows)
				}
			}},
		{"triggers", "SELECT TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, ACTION_STATEMENT FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'app'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(rows) != 1 || rows[0][0] != "opt_ai" || rows[0][1] != "INSERT" || rows[0][2] != "wp_options" || rows[0][3] != "AFTER" ||
					rows[0][4] != "UPDATE `users` SET `name` = `NEW`.`option_name` WHERE `id` = 0" {
					t.Errorf("got %v", rows)
				}
			}},
		{"engines", "SELECT ENGINE, SUPPORT FROM information_schema.ENGINES", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if !reflect.DeepEqual(rows, [][]any{{"InnoDB", "DEFAULT"}}) {
					t.Errorf("got %v", rows)
				}
			}},
		{"character sets and collations", "SELECT c.CHARACTER_SET_NAME, c.DEFAULT_COLLATE_NAME, count(*) FROM information_schema.CHARACTER_SETS c JOIN information_schema.COLLATIONS l ON l.CHARACTER_SET_NAME = c.CHARACTER_SET_NAME WHERE c.CHARACTER_SET_NAME = 'utf8mb4' GROUP BY 1, 2", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if !reflect.DeepEqual(rows, [][]any{{"utf8mb4", "utf8mb4_general_ci", "5"}}) {
					t.Errorf("got %v", rows)
				}
			}},
		{"database() and functions", "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND IF(TABLE_TYPE = 'VIEW', 1, 0) = 1", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if !reflect.DeepEqual(rows, [][]any{{"published"}}) {
					t.Errorf("got %v", rows)
				}
			}},
		{"processlist", "SELECT COUNT(*) FROM information_schema.PROCESSLIST", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if len(rows) != 1 {
					t.Errorf("got %v", rows)
				}
			}},
		{"information_schema lists itself", "SELECT TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'COLUMNS'", nil,
			func(t *testing.T, names []string, rows [][]any) {
				if !reflect.DeepEqual(rows, [][]any{{"SYSTEM VIEW"}}) {
					t.Errorf("got %v", rows)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			names, rows := queryRows(t, s, c.query, c.args...)
			c.check(t, names, rows)
		})
	}
}

func TestInfoSchemaResultTypes(t *testing.T) {
	s := newShowTestSession(t, usersDDL)
	res := mustExec(t, s, "SELECT TABLE_NAME, TABLE_ROWS, CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'")
	want := []uint8{mysql.MYSQL_TYPE_VAR_STRING, mysql.MYSQL_TYPE_LONGLONG, mysql.MYSQL_TYPE_DATETIME}
	for i, f := range res.Fields {
		if f.Type != want[i] {
			t.Errorf("%s: type %d, want %d", f.Name, f.Type, want[i])
		}
	}
	if res.Fields[1].Flag&mysql.UNSIGNED_FLAG == 0 {
		t.Errorf("TABLE_ROWS is not unsigned")
	}
	// binary protocol
	stmts, err := s.transpile("SELECT ORDINAL_POSITION, COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	bres, err := s.infoSchema(context.Background(), stmts[0], []any{"app", "users"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(bres.RowDatas) != 3 || bres.Fields[0].Type != mysql.MYSQL_TYPE_LONG {
		t.Errorf("binary: %d rows, type %d", len(bres.RowDatas), bres.Fields[0].Type)
	}
}

func TestInfoSchemaUseAndRefresh(t *testing.T) {
	s := newShowTestSession(t, usersDDL)
	old := infoSchemaStatsTTL
	infoSchemaStatsTTL = 0
	t.Cleanup(func() { infoSchemaStatsTTL = old })

	_, rows := queryRows(t, s, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app'")
	if !reflect.DeepEqual(rows, [][]any{{"users"}}) {
		t.Fatalf("got %v", rows)
	}
	// A schema change shows at once.
	mustExec(t, s, wpOptionsDDL)
	_, rows = queryRows(t, s, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' ORDER BY 1")
	if !reflect.DeepEqual(rows, [][]any{{"users"}, {"wp_options"}}) {
		t.Fatalf("after CREATE TABLE: %v", rows)
	}
	// Row counts follow data changes (TTL 0).
	mustExec(t, s, "INSERT INTO users (email) VALUES ('a'), ('b'), ('c')")
	_, rows = queryRows(t, s, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'app' AND TABLE_NAME = 'users'")
	if !reflect.DeepEqual(rows, [][]any{{"3"}}) {
		t.Fatalf("TABLE_ROWS: %v", rows)
	}
	// USE information_schema: unqualified names and plain expressions.
	s.db = infoSchemaDB
	names, rows := queryRows(t, s, "SELECT TABLE_NAME, DATABASE() FROM TABLES WHERE TABLE_SCHEMA = 'app' ORDER BY TABLE_NAME")
	if !reflect.DeepEqual(rows, [][]any{{"users", "information_schema"}, {"wp_options", "information_schema"}}) {
		t.Fatalf("USE information_schema: %v %v", names, rows)
	}
	_, rows = queryRows(t, s, "SHOW TABLES LIKE 'KEY%'")
	if !reflect.DeepEqual(rows, [][]any{{"KEY_COLUMN_USAGE"}}) {
		t.Fatalf("SHOW TABLES in information_schema: %v", rows)
	}
	_, rows = queryRows(t, s, "SHOW COLUMNS FROM SCHEMATA")
	if len(rows) != 6 || rows[0][0] != "CATALOG_NAME" || rows[0][1] != "varchar(64)" {
		t.Fatalf("SHOW COLUMNS FROM SCHEMATA: %v", rows)
	}
	if _, err := execQuery(s, "SELECT * FROM NO_SUCH_TABLE"); err == nil || !strings.Contains(err.Error(), "Unknown table 'NO_SUCH_TABLE' in information_schema") {
		t.Fatalf("unknown table: %v", err)
	}
	fields, err := infoSchemaFieldList("tables")
	if err != nil || len(fields) != 21 {
		t.Fatalf("field list: %d %v", len(fields), err)
	}
}

func TestInfoSchemaConcurrent(t *testing.T) {
	s := newShowTestSession(t, usersDDL)
	old := infoSchemaStatsTTL
	infoSchemaStatsTTL = 0
	t.Cleanup(func() { infoSchemaStatsTTL = old })
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		go func(g int) {
			s2 := s.srv.newSession(uint32(10+g), "root")
			s2.db = "app"
			for i := 0; i < 20; i++ {
				if _, err := execQuery(s2, "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'app'"); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}(g)
	}
	for i := 0; i < 10; i++ {
		mustExec(t, s, fmt.Sprintf("CREATE TABLE t%d (id INT PRIMARY KEY)", i))
	}
	for g := 0; g < 4; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
