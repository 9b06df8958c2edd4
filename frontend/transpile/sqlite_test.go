package transpile

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/mattn/go-sqlite3"
)

// testDDL is the schema the test cases run against, per database. It is
// itself transpiled, so it doubles as a CREATE TABLE test.
var testDDL = map[string][]string{
	"test": {
		`CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(100), c TEXT, d DATETIME, e DECIMAL(10,2), f DOUBLE, g JSON)`,
		`CREATE TABLE u (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(100))`,
		`CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL DEFAULT '', email VARCHAR(191),
			created_at DATETIME DEFAULT CURRENT_TIMESTAMP, status ENUM('active','banned') DEFAULT 'active', UNIQUE KEY email (email))`,
		`CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v TEXT, n INT NOT NULL DEFAULT 0)`,
		`CREATE TABLE orders (id BIGINT AUTO_INCREMENT PRIMARY KEY, user_id BIGINT NOT NULL, total DECIMAL(10,2), created DATE, KEY user_id (user_id))`,
		`CREATE TABLE pk2 (a INT, b INT, v TEXT, PRIMARY KEY (a, b))`,
		`CREATE TABLE bn (id INT PRIMARY KEY, s VARCHAR(20) COLLATE utf8mb4_bin, vb VARBINARY(20), ci VARCHAR(20))`,
		`CREATE TABLE wp_options (
			option_id bigint(20) unsigned NOT NULL auto_increment,
			option_name varchar(191) NOT NULL default '',
			option_value longtext NOT NULL,
			autoload varchar(20) NOT NULL default 'yes',
			PRIMARY KEY  (option_id),
			UNIQUE KEY option_name (option_name),
			KEY autoload (autoload))`,
		`CREATE TABLE wp_postmeta (
			meta_id bigint(20) unsigned NOT NULL auto_increment,
			post_id bigint(20) unsigned NOT NULL default '0',
			meta_key varchar(255) default NULL,
			meta_value longtext,
			PRIMARY KEY  (meta_id),
			KEY post_id (post_id),
			KEY meta_key (meta_key(191)))`,
		`CREATE TABLE wp_posts (
			ID bigint(20) unsigned NOT NULL auto_increment,
			post_author bigint(20) unsigned NOT NULL default '0',
			post_date datetime NOT NULL default '0000-00-00 00:00:00',
			post_content longtext NOT NULL,
			post_title text NOT NULL,
			post_status varchar(20) NOT NULL default 'publish',
			post_name varchar(200) NOT NULL default '',
			post_modified datetime NOT NULL default '0000-00-00 00:00:00',
			post_parent bigint(20) unsigned NOT NULL default '0',
			post_type varchar(20) NOT NULL default 'post',
			comment_count bigint(20) NOT NULL default '0',
			PRIMARY KEY  (ID),
			KEY post_name (post_name(191)),
			KEY type_status_date (post_type,post_status,post_date,ID),
			KEY post_parent (post_parent),
			KEY post_author (post_author))`,
		`CREATE TABLE wp_terms (term_id bigint(20) unsigned NOT NULL auto_increment, name varchar(200) NOT NULL default '',
			slug varchar(200) NOT NULL default '', term_group bigint(10) NOT NULL default 0, PRIMARY KEY  (term_id), KEY slug (slug(191)), KEY name (name(191)))`,
		`CREATE TABLE wp_term_taxonomy (term_taxonomy_id bigint(20) unsigned NOT NULL auto_increment, term_id bigint(20) unsigned NOT NULL default 0,
			taxonomy varchar(32) NOT NULL default '', description longtext NOT NULL, parent bigint(20) unsigned NOT NULL default 0,
			count bigint(20) NOT NULL default 0, PRIMARY KEY  (term_taxonomy_id), UNIQUE KEY term_id_taxonomy (term_id,taxonomy), KEY taxonomy (taxonomy))`,
		`CREATE VIEW v_users AS SELECT id, name FROM users`,
	},
	"other": {
		`CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, a INT, b VARCHAR(100))`,
		`CREATE TABLE logs (id BIGINT AUTO_INCREMENT PRIMARY KEY, msg TEXT)`,
	},
}

// stubFuncs are the MySQL functions the executor registers; the test
// registers stubs so that SQLite accepts statements calling them.
var stubFuncs = []string{
	"marmot_auto_id", "marmot_capturing", "marmot_sysvar", "marmot_uservar", "now", "curdate", "curtime", "sysdate",
	"utc_timestamp", "utc_date", "utc_time", "last_insert_id", "database", "found_rows", "row_count",
	"user", "current_user", "version", "connection_id", "uuid", "rand", "regexp", "regexp_like",
	"date_format", "unix_timestamp", "from_unixtime", "str_to_date", "datediff", "convert_tz",
	"year", "month", "day", "hour", "minute", "second", "microsecond", "week", "quarter", "extract",
	"dayofmonth", "dayofweek", "timestampdiff", "locate", "json_unquote", "json_contains", "json_search",
	"get_lock", "release_lock", "is_free_lock", "md5", "sha1", "sha2", "lpad", "rpad", "find_in_set",
	"field", "substring_index", "left", "right", "insert", "char_length", "truncate", "format",
	"bit_or", "bit_and", "std", "stddev", "variance", "weight_string", "interval", "match",
}

var registerOnce sync.Once

func stub(args ...any) any {
	if len(args) > 0 {
		return args[0]
	}
	return nil
}

func openTestDB(t testing.TB) *sql.DB {
	registerOnce.Do(func() {
		sql.Register("sqlite3_transpile_test", &sqlite3.SQLiteDriver{
			ConnectHook: func(c *sqlite3.SQLiteConn) error {
				if err := c.RegisterCollation(CICollation, func(a, b string) int {
					return strings.Compare(strings.ToUpper(a), strings.ToUpper(b))
				}); err != nil {
					return err
				}
				for _, f := range stubFuncs {
					if err := c.RegisterFunc(f, stub, false); err != nil {
						return err
					}
				}
				return nil
			},
		})
	})
	db, err := sql.Open("sqlite3_transpile_test", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db
}

// testSchema is a Schema read from SQLite databases the way the executor
// detects columns and auto-increment (PRAGMA table_info, AUTOINCREMENT keyword).
type testSchema struct {
	dbs    map[string]*sql.DB
	cols   map[string][]string
	decls  map[string][]string
	autoID map[string]string
	ddl    map[string]string // MySQL CREATE TABLE text of each table
}

func schemaKey(db, table string) string { return db + "." + strings.ToLower(table) }

func (s *testSchema) Columns(db, table string) ([]string, bool) {
	c, ok := s.cols[schemaKey(db, table)]
	return c, ok
}

func (s *testSchema) AutoIncrement(db, table string) (string, bool) {
	c, ok := s.autoID[schemaKey(db, table)]
	return c, ok
}

func (s *testSchema) DeclTypes(db, table string) ([]string, bool) {
	d, ok := s.decls[schemaKey(db, table)]
	return d, ok
}

func (s *testSchema) CreateTableSQL(db, table string) (string, bool) {
	d, ok := s.ddl[schemaKey(db, table)]
	return d, ok
}

func newTestSchema(t testing.TB) *testSchema {
	s := &testSchema{dbs: map[string]*sql.DB{}, cols: map[string][]string{}, decls: map[string][]string{},
		autoID: map[string]string{}, ddl: map[string]string{}}
	for _, name := range []string{"test", "other"} {
		db := openTestDB(t)
		s.dbs[name] = db
		for _, ddl := range testDDL[name] {
			stmts, err := Transpile(name, ddl, nil)
			if err != nil {
				t.Fatalf("test schema %q: %v", ddl, err)
			}
			for _, st := range stmts {
				if st.Kind == CreateTable {
					s.ddl[schemaKey(name, st.Table)] = ddl
				}
				if _, err := db.Exec(st.SQL); err != nil {
					t.Fatalf("test schema %q → %q: %v", ddl, st.SQL, err)
				}
			}
		}
		rows, err := db.Query(`SELECT name, sql FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'`)
		if err != nil {
			t.Fatal(err)
		}
		type obj struct{ name, sql string }
		var objs []obj
		for rows.Next() {
			var o obj
			if err := rows.Scan(&o.name, &o.sql); err != nil {
				t.Fatal(err)
			}
			objs = append(objs, o)
		}
		rows.Close()
		for _, o := range objs {
			r, err := db.Query(`SELECT name, type, pk FROM pragma_table_info(?)`, o.name)
			if err != nil {
				t.Fatal(err)
			}
			var cols, decls []string
			for r.Next() {
				var col, typ string
				var pk int
				if err := r.Scan(&col, &typ, &pk); err != nil {
					t.Fatal(err)
				}
				cols = append(cols, col)
				decls = append(decls, typ)
				if pk == 1 && strings.EqualFold(typ, "INTEGER") && strings.Contains(strings.ToUpper(o.sql), "AUTOINCREMENT") {
					s.autoID[schemaKey(name, o.name)] = col
				}
			}
			r.Close()
			s.cols[schemaKey(name, o.name)] = cols
			s.decls[schemaKey(name, o.name)] = decls
		}
	}
	return s
}

var txControl = map[Kind]bool{Begin: true, Commit: true, Rollback: true, Savepoint: true, RollbackTo: true, ReleaseSavepoint: true}

// TestSQLiteValidity executes every successful output of the data files
// against real SQLite databases holding the test schema (inside transactions
// that are rolled back), proving the SQLite text is valid.
func TestSQLiteValidity(t *testing.T) {
	schema := newTestSchema(t)
	ctx := context.Background()
	checked := 0
	for _, file := range testFiles(t) {
		for _, c := range parseCases(t, file) {
			stmts, _ := Transpile(c.db, c.mysql, schema)
			txs := map[string]*sql.Tx{}
			cur := c.db
			for _, st := range stmts {
				if st.Kind == Use {
					cur = st.Database
				}
				if st.SQL == "" {
					continue
				}
				dbName := cur
				if st.Database != "" {
					dbName = st.Database
				}
				db := schema.dbs[dbName]
				if db == nil {
					continue // e.g. information_schema: answered by the executor
				}
				tx := txs[dbName]
				if tx == nil {
					var err error
					if tx, err = db.BeginTx(ctx, nil); err != nil {
						t.Fatal(err)
					}
					txs[dbName] = tx
				}
				checked++
				var err error
				if txControl[st.Kind] {
					var p *sql.Stmt
					if p, err = tx.Prepare(st.SQL); err == nil {
						p.Close()
					}
				} else {
					// binding exactly Params arguments proves SQLite sees that many placeholders
					args := make([]any, st.Params)
					for i := range args {
						args[i] = 1
					}
					_, err = tx.Exec(st.SQL, args...)
					if err == nil && st.FillSQL != "" {
						_, err = tx.Exec(st.FillSQL, args...)
					}
				}
				if err != nil {
					t.Errorf("%s:%d: %s\n  sqlite: %s\n  error: %v", c.file, c.line, c.mysql, st.SQL, err)
				}
			}
			for _, tx := range txs {
				_ = tx.Rollback()
			}
		}
	}
	t.Logf("%d statements executed", checked)
	if checked < 100 {
		t.Errorf("only %d statements validated", checked)
	}
}

func TestSchemaHelpers(t *testing.T) {
	s := newTestSchema(t)
	if c, ok := s.AutoIncrement("test", "wp_posts"); !ok || c != "ID" {
		t.Fatalf("wp_posts auto-increment = %q %v", c, ok)
	}
	if _, ok := s.AutoIncrement("test", "kv"); ok {
		t.Fatal("kv has no auto-increment column")
	}
	if cols, ok := s.Columns("test", "t"); !ok || fmt.Sprint(cols) != "[id a b c d e f g]" {
		t.Fatalf("t columns = %v", cols)
	}
}
