package frontend

import (
	"database/sql"
	"strings"
	"sync"
	"testing"

	"github.com/marmotdb/marmot/frontend/transpile"
)

func TestShowCreateTableRoundTrip(t *testing.T) {
	cases := []struct {
		name  string
		ddl   []string // MySQL DDL creating the table shown
		deps  int      // how many leading ddl statements create other tables
		table string
		want  string // exact SHOW CREATE TABLE text, if set
		has   []string
		// same: transpiling the output gives exactly the SQLite DDL the
		// original did (else the output only has to be a fixed point).
		same bool
	}{
		{name: "wp_options", ddl: []string{wpOptionsDDL}, table: "wp_options", same: true, want: "CREATE TABLE `wp_options` (\n" +
			"  `option_id` bigint NOT NULL AUTO_INCREMENT,\n" +
			"  `option_name` varchar(191) NOT NULL DEFAULT '',\n" +
			"  `option_value` longtext NOT NULL,\n" +
			"  `autoload` varchar(20) NOT NULL DEFAULT 'yes',\n" +
			"  PRIMARY KEY (`option_id`),\n" +
			"  UNIQUE KEY `option_name` (`option_name`),\n" +
			"  KEY `autoload` (`autoload`)\n" +
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"},
		{name: "wp_posts", ddl: []string{wpPostsDDL}, table: "wp_posts", same: true, has: []string{
			"  `ID` bigint NOT NULL AUTO_INCREMENT,\n",
			"  `post_author` bigint unsigned NOT NULL DEFAULT '0',\n",
			"  `post_date` datetime NOT NULL DEFAULT '0000-00-00 00:00:00',\n",
			"  `post_content` longtext NOT NULL,\n",
			"  `menu_order` int NOT NULL DEFAULT '0',\n",
			"  PRIMARY KEY (`ID`),\n",
			"  KEY `post_name` (`post_name`),\n",
			"  KEY `type_status_date` (`post_type`,`post_status`,`post_date`,`ID`),\n",
			"  KEY `post_author` (`post_author`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci",
		}},
		{name: "wp_postmeta default NULL", ddl: []string{`CREATE TABLE wp_postmeta (
	meta_id bigint(20) unsigned NOT NULL auto_increment,
	post_id bigint(20) unsigned NOT NULL default '0',
	meta_key varchar(255) default NULL,
	meta_value longtext,
	PRIMARY KEY  (meta_id),
	KEY post_id (post_id),
	KEY meta_key (meta_key(191))
)`}, table: "wp_postmeta", same: true, has: []string{"  `meta_key` varchar(255) DEFAULT NULL,\n", "  `meta_value` longtext,\n"}},
		{name: "enum and set", ddl: []string{"CREATE TABLE flags (id INT PRIMARY KEY, state ENUM('new','done','it''s') NOT NULL DEFAULT 'new', tags SET('a','b','c'))"},
			table: "flags", has: []string{
				"  `id` int NOT NULL,\n",
				"  `state` enum('new','done','it''s') NOT NULL DEFAULT 'new',\n",
				"  `tags` set('a','b','c') DEFAULT NULL,\n",
			}},
		{name: "composite unique key", ddl: []string{pairsDDL}, table: "pairs", has: []string{
			"  `v` varbinary(16) DEFAULT NULL,\n",
			"  `f` bit(8) DEFAULT b'101',\n",
			"  `g` geometry,\n",
			"  PRIMARY KEY (`a`,`b`),\n",
			"  UNIQUE KEY `bc` (`b`,`c`)\n",
		}},
		{name: "foreign key", ddl: []string{usersDDL, ordersDDL}, deps: 1, table: "orders", has: []string{
			"  `id` bigint NOT NULL AUTO_INCREMENT,\n",
			"  `total` decimal(10,2) NOT NULL DEFAULT '0.00',\n",
			"  `doc` json,\n",
			"  `created` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,\n",
			"  KEY `user_id` (`user_id`),\n",
			"  CONSTRAINT `fk_user` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`) ON DELETE CASCADE\n",
		}},
		{name: "checks and generated columns", ddl: []string{"CREATE TABLE gen (id INT PRIMARY KEY, a INT CHECK (a > 0), b INT AS (a * 2) STORED, c TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3), d INT DEFAULT (1 + 1), CONSTRAINT b_pos CHECK (b >= 0))"},
			table: "gen", has: []string{
				"  `b` int GENERATED ALWAYS AS (`a` * 2) STORED,\n",
				"  `c` timestamp(3) NULL DEFAULT CURRENT_TIMESTAMP(3),\n",
				"  `d` int DEFAULT (1 + 1),\n",
				"  CONSTRAINT `gen_chk_1` CHECK (`a` > 0),\n",
				"  CONSTRAINT `b_pos` CHECK (`b` >= 0)\n",
			}},
		{name: "column unique and index added later", ddl: []string{"CREATE TABLE colkeys (code VARCHAR(10) KEY, email VARCHAR(100) UNIQUE, n INT UNSIGNED)", "ALTER TABLE colkeys ADD COLUMN r ENUM('x','y') NOT NULL", "CREATE UNIQUE INDEX n_idx ON colkeys (n DESC)"},
			table: "colkeys", has: []string{
				"  `code` varchar(10) NOT NULL,\n",
				"  `r` enum('x','y') NOT NULL DEFAULT 'x',\n",
				"  UNIQUE KEY `email` (`email`),\n",
				"  UNIQUE KEY `n_idx` (`n` DESC)\n",
			}},
		{name: "strings with quotes and backslashes", ddl: []string{`CREATE TABLE q (id INT PRIMARY KEY, a VARCHAR(10) DEFAULT 'it''s', b VARCHAR(10) DEFAULT 'back\\slash', c DOUBLE DEFAULT -1.5, d TINYINT(1) NOT NULL DEFAULT TRUE)`},
			table: "q", has: []string{
				"  `a` varchar(10) DEFAULT 'it''s',\n",
				"  `b` varchar(10) DEFAULT 'back\\\\slash',\n",
				"  `c` double DEFAULT '-1.5',\n",
				"  `d` tinyint(1) NOT NULL DEFAULT '1',\n",
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newShowTestSession(t, c.ddl...)
			names, rows := queryRows(t, s, "SHOW CREATE TABLE "+c.table)
			if len(rows) != 1 || names[0] != "Table" || names[1] != "Create Table" || rows[0][0] != c.table {
				t.Fatalf("got %v %v", names, rows)
			}
			got := rows[0][1].(string)
			if c.want != "" && got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
			for _, h := range c.has {
				if !strings.Contains(got, h) {
					t.Errorf("missing %q in\n%s", h, got)
				}
			}
			// marmot accepts its own output back.
			back, err := transpile.Transpile("app", got, ddlCheckSchema{})
			if err != nil {
				t.Fatalf("output does not transpile back: %v\n%s", err, got)
			}
			if c.same {
				orig, err := transpile.Transpile("app", c.ddl[c.deps], ddlCheckSchema{})
				if err != nil {
					t.Fatal(err)
				}
				if back[0].SQL != orig[0].SQL {
					t.Errorf("round trip differs:\n%s\n%s", orig[0].SQL, back[0].SQL)
				}
			}
			// And the output creates the same table again in a fresh database.
			s2 := newShowTestSession(t, c.ddl[:c.deps]...)
			mustExec(t, s2, got)
			_, rows2 := queryRows(t, s2, "SHOW CREATE TABLE "+c.table)
			if rows2[0][1] != got {
				t.Errorf("second round differs:\n%s\n%s", got, rows2[0][1])
			}
		})
	}
}

func TestShowCreateViewTriggerDatabase(t *testing.T) {
	s := newShowTestSession(t, usersDDL,
		"CREATE VIEW v (x, y) AS SELECT id, email FROM users WHERE id > 0",
		"CREATE TRIGGER trg_bu BEFORE UPDATE ON users FOR EACH ROW BEGIN DELETE FROM users WHERE id = OLD.id + 1000; DELETE FROM users WHERE id = OLD.id + 2000; END")
	names, rows := queryRows(t, s, "SHOW CREATE TABLE v")
	if names[0] != "View" || names[1] != "Create View" ||
		rows[0][1] != "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW `v` (`x`,`y`) AS SELECT `id`, `email` FROM `users` WHERE `id` > 0" {
		t.Errorf("SHOW CREATE TABLE v: %v %v", names, rows)
	}
	if _, err := transpile.Transpile("app", rows[0][1].(string), ddlCheckSchema{}); err != nil {
		t.Errorf("view DDL does not transpile back: %v", err)
	}
	if _, rows2 := queryRows(t, s, "SHOW CREATE VIEW v"); rows2[0][1] != rows[0][1] {
		t.Errorf("SHOW CREATE VIEW: %v", rows2)
	}
	if _, err := execQuery(s, "SHOW CREATE VIEW users"); err == nil || !strings.Contains(err.Error(), "is not VIEW") {
		t.Errorf("SHOW CREATE VIEW of a table: %v", err)
	}
	_, rows = queryRows(t, s, "SHOW CREATE TRIGGER trg_bu")
	want := "CREATE DEFINER=`root`@`%` TRIGGER `trg_bu` BEFORE UPDATE ON `users` FOR EACH ROW BEGIN\n  DELETE FROM `users` WHERE `id` = `OLD`.`id` + 1000;\n  DELETE FROM `users` WHERE `id` = `OLD`.`id` + 2000;\nEND"
	if rows[0][2] != want {
		t.Errorf("SHOW CREATE TRIGGER:\n%v\nwant\n%s", rows[0][2], want)
	}
	_, rows = queryRows(t, s, "SHOW CREATE DATABASE app")
	if rows[0][1] != "CREATE DATABASE `app` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */ /*!80016 DEFAULT ENCRYPTION='N' */" {
		t.Errorf("SHOW CREATE DATABASE: %v", rows)
	}
	if _, err := execQuery(s, "SHOW CREATE TABLE nope"); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("missing table: %v", err)
	}
}

func TestShowMySQLTypeOf(t *testing.T) {
	cases := []struct {
		decl, column, data string
	}{
		{"INTEGER", "int", "int"},
		{"INT", "int", "int"},
		{"BIGINT UNSIGNED", "bigint unsigned", "bigint"},
		{"TINYINT(1)", "tinyint(1)", "tinyint"},
		{"TINYINT", "tinyint", "tinyint"},
		{"SMALLINT UNSIGNED", "smallint unsigned", "smallint"},
		{"MEDIUMINT", "mediumint", "mediumint"},
		{"DECIMAL_TEXT(10,2)", "decimal(10,2)", "decimal"},
		{"DECIMAL_TEXT(5,0)", "decimal(5,0)", "decimal"},
		{"FLOAT(7,4)", "float(7,4)", "float"},
		{"DOUBLE UNSIGNED", "double unsigned", "double"},
		{"REAL", "double", "double"},
		{"VARCHAR(191)", "varchar(191)", "varchar"},
		{"CHAR(3)", "char(3)", "char"},
		{"LONGTEXT", "longtext", "longtext"},
		{"JSON_TEXT", "json", "json"},
		{"BINARY_BLOB(16)", "binary(16)", "binary"},
		{"VARBINARY_BLOB(255)", "varbinary(255)", "varbinary"},
		{"BIT_BLOB(1)", "bit(1)", "bit"},
		{"GEOMETRY_BLOB", "geometry", "geometry"},
		{"MEDIUMBLOB", "mediumblob", "mediumblob"},
		{"DATETIME", "datetime", "datetime"},
		{"TIMESTAMP(6)", "timestamp(6)", "timestamp"},
		{"TIME(3)", "time(3)", "time"},
		{"DATE", "date", "date"},
		{"YEAR", "year", "year"},
		{"", "blob", "blob"},
		{"TEXT", "text", "text"},
		{"NVARCHAR(20)", "varchar(20)", "varchar"},
		{"VARCHAR", "text", "text"},
		{"BOOLEAN", "tinyint(1)", "tinyint"},
		{"UNSIGNED BIG INT", "bigint unsigned", "bigint"},
		{"NUMERIC", "decimal(65,30)", "decimal"},
		{"STRING", "text", "text"},
	}
	for _, c := range cases {
		got := mysqlTypeOf(c.decl)
		if got.column != c.column || got.data != c.data {
			t.Errorf("%q: got %q/%q, want %q/%q", c.decl, got.column, got.data, c.column, c.data)
		}
	}
}

func TestShowEnumFromCheck(t *testing.T) {
	cases := []struct {
		col, check string
		vals       []string
		set, ok    bool
	}{
		{"state", "`state` IN ('new', 'done', 'it''s') OR `state` IS NULL", []string{"new", "done", "it's"}, false, true},
		{"tags", "`tags` IS NULL OR `tags` = '' OR replace(replace(',' || `tags` || ',', ',a,', ','), ',b,', ',') = ','", []string{"a", "b"}, true, true},
		{"a", "`a` > 0", nil, false, false},
		{"a", "`a` IN ('x') OR `b` IS NULL", nil, false, false},
	}
	for _, c := range cases {
		vals, set, ok := enumFromCheck(c.col, c.check)
		if ok != c.ok || set != c.set || strings.Join(vals, "|") != strings.Join(c.vals, "|") {
			t.Errorf("%s: got %v %v %v", c.check, vals, set, ok)
		}
	}
}

func TestShowColumnDefaultForms(t *testing.T) {
	cases := []struct {
		dflt string
		kind defaultKind
		val  string
	}{
		{"'x'", dfltLiteral, "x"},
		{"'it''s'", dfltLiteral, "it's"},
		{"0", dfltLiteral, "0"},
		{"-1.5", dfltLiteral, "-1.5"},
		{"NULL", dfltNull, ""},
		{"TRUE", dfltLiteral, "1"},
		{"CURRENT_TIMESTAMP", dfltNow, "CURRENT_TIMESTAMP"},
		{"(1 + 1)", dfltExpr, "(1 + 1)"},
	}
	for _, c := range cases {
		k, v := columnDefault(sql.NullString{String: c.dflt, Valid: true})
		if k != c.kind || v != c.val {
			t.Errorf("%s: got %v %q", c.dflt, k, v)
		}
	}
}

// Tables marmot did not create (an existing SQLite file) still show as
// MySQL DDL that marmot accepts.
func TestShowCreateNativeSQLite(t *testing.T) {
	var envs sync.Map
	db := newMemoryDB("file:native_test?mode=memory&cache=shared", &envs)
	defer db.Close()
	ctx := t.Context()
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, q := range []string{
		`CREATE TABLE native (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, price REAL DEFAULT 0.0, data, code VARCHAR UNIQUE,
			parent INTEGER REFERENCES native ON DELETE SET NULL, made DATETIME DEFAULT CURRENT_TIMESTAMP, CHECK (price >= 0))`,
		`CREATE INDEX native_name ON native (name, price DESC)`,
		`CREATE TABLE "odd ""name""" ([a b] INT, "c" BLOB, PRIMARY KEY ([a b])) WITHOUT ROWID`,
	} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	m, err := loadDBMeta(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"native": "CREATE TABLE `native` (\n" +
			"  `id` bigint NOT NULL AUTO_INCREMENT,\n" +
			"  `name` text NOT NULL,\n" +
			"  `price` double DEFAULT '0.0',\n" +
			"  `data` blob,\n" +
			"  `code` text COLLATE utf8mb4_bin,\n" +
			"  `parent` int DEFAULT NULL,\n" +
			"  `made` datetime DEFAULT CURRENT_TIMESTAMP,\n" +
			"  PRIMARY KEY (`id`),\n" +
			"  UNIQUE KEY `code` (`code`),\n" +
			"  KEY `native_name` (`name`,`price` DESC),\n" +
			"  CONSTRAINT `native_ibfk_1` FOREIGN KEY (`parent`) REFERENCES `native` (`id`) ON DELETE SET NULL,\n" +
			"  CONSTRAINT `native_chk_1` CHECK (price >= 0)\n" +
			tableOptions,
		"odd \"name\"": "CREATE TABLE `odd \"name\"` (\n" +
			"  `a b` int NOT NULL,\n" +
			"  `c` blob,\n" +
			"  PRIMARY KEY (`a b`)\n" +
			tableOptions,
	}
	if len(m.tables) != 2 {
		t.Fatalf("tables: %d", len(m.tables))
	}
	for _, tm := range m.tables {
		got := createTableSQL(tm)
		if got != want[tm.name] {
			t.Errorf("%s:\n%s\nwant\n%s", tm.name, got, want[tm.name])
		}
		if _, err := transpile.Transpile("app", got, ddlCheckSchema{}); err != nil {
			t.Errorf("%s does not transpile back: %v", tm.name, err)
		}
	}
}
