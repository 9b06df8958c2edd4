package frontend

import (
	"reflect"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestShowStatements(t *testing.T) {
	s := newShowTestSession(t, wpPostsDDL, wpOptionsDDL, usersDDL, ordersDDL,
		"CREATE VIEW v AS SELECT id FROM users",
		"CREATE TRIGGER opt_ai AFTER INSERT ON wp_options FOR EACH ROW UPDATE users SET name = NEW.option_name WHERE id = 0")
	mustExec(t, s, "INSERT INTO wp_options (option_name, option_value) VALUES ('siteurl', 'x'), ('home', 'y'), ('blogname', 'z')")

	type check func(t *testing.T, names []string, rows [][]any)
	cases := []struct {
		query string
		check check
	}{
		{"SHOW DATABASES", func(t *testing.T, names []string, rows [][]any) {
			if !reflect.DeepEqual(rows, [][]any{{"information_schema"}, {"app"}}) || names[0] != "Database" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW DATABASES LIKE 'a%'", func(t *testing.T, names []string, rows [][]any) {
			if !reflect.DeepEqual(rows, [][]any{{"app"}}) || names[0] != "Database (a%)" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW DATABASES WHERE `Database` LIKE 'info%'", func(t *testing.T, names []string, rows [][]any) {
			if !reflect.DeepEqual(rows, [][]any{{"information_schema"}}) {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW FULL TABLES FROM app WHERE Table_type = 'VIEW'", func(t *testing.T, names []string, rows [][]any) {
			if !reflect.DeepEqual(rows, [][]any{{"v", "VIEW"}}) || names[0] != "Tables_in_app" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW TABLES LIKE 'wp%'", func(t *testing.T, names []string, rows [][]any) {
			if !reflect.DeepEqual(rows, [][]any{{"wp_options"}, {"wp_posts"}}) || names[0] != "Tables_in_app (wp%)" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW FULL COLUMNS FROM wp_options", func(t *testing.T, names []string, rows [][]any) {
			want := [][]any{
				{"option_id", "bigint", nil, "NO", "PRI", nil, "auto_increment", privilegesText, ""},
				{"option_name", "varchar(191)", "utf8mb4_general_ci", "NO", "UNI", "", "", privilegesText, ""},
				{"option_value", "longtext", "utf8mb4_general_ci", "NO", "", nil, "", privilegesText, ""},
				{"autoload", "varchar(20)", "utf8mb4_general_ci", "NO", "MUL", "yes", "", privilegesText, ""},
			}
			if len(names) != 9 || !reflect.DeepEqual(rows, want) {
				t.Errorf("got %v\n%v", names, rows)
			}
		}},
		{"SHOW COLUMNS FROM orders LIKE 'st%'", func(t *testing.T, names []string, rows [][]any) {
			want := [][]any{{"state", "enum('new','paid','it''s')", "NO", "", "new", ""}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("got %v", rows)
			}
		}},
		{"DESCRIBE users", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 3 || rows[1][0] != "email" || rows[1][3] != "UNI" {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW INDEX FROM wp_options", func(t *testing.T, names []string, rows [][]any) {
			if len(names) != 15 {
				t.Fatalf("columns %v", names)
			}
			got := [][]any{}
			for _, r := range rows {
				got = append(got, []any{r[1], r[2], r[3], r[4]})
			}
			want := [][]any{{"0", "PRIMARY", "1", "option_id"}, {"0", "option_name", "1", "option_name"}, {"1", "autoload", "1", "autoload"}}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %v", got)
			}
		}},
		{"SHOW KEYS FROM app.orders WHERE Key_name = 'user_id'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 1 || rows[0][4] != "user_id" {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW TABLE STATUS", func(t *testing.T, names []string, rows [][]any) {
			if len(names) != 18 || names[4] != "Rows" || len(rows) != 5 {
				t.Fatalf("got %v %v", names, rows)
			}
		}},
		{"SHOW TABLE STATUS WHERE Name = 'wp_options' AND Engine = 'InnoDB'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 1 || rows[0][0] != "wp_options" || rows[0][4] != "3" || rows[0][14] != "utf8mb4_general_ci" || rows[0][10] == nil {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW TABLE STATUS FROM app LIKE 'v'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 1 || rows[0][1] != nil || rows[0][17] != "VIEW" {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW VARIABLES LIKE 'character_set_c%'", func(t *testing.T, names []string, rows [][]any) {
			want := [][]any{{"character_set_client", "utf8mb4"}, {"character_set_connection", "utf8mb4"}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW SESSION VARIABLES WHERE Variable_name IN ('autocommit', 'max_allowed_packet')", func(t *testing.T, names []string, rows [][]any) {
			want := [][]any{{"autocommit", "1"}, {"max_allowed_packet", "67108864"}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW GLOBAL STATUS LIKE 'Uptime'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 1 || rows[0][0] != "Uptime" {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW ENGINES", func(t *testing.T, names []string, rows [][]any) {
			if len(names) != 6 || rows[0][0] != "InnoDB" || rows[0][1] != "DEFAULT" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW COLLATION LIKE 'utf8mb4_%ci'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 3 || len(names) != 7 || rows[0][0] != "utf8mb4_general_ci" || rows[0][2] != "45" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW COLLATION WHERE Charset = 'latin1'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 2 {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW CHARACTER SET LIKE 'utf8%'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 2 || names[2] != "Default collation" || rows[0][2] != "utf8mb4_general_ci" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW TRIGGERS", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 1 || len(names) != 11 || rows[0][0] != "opt_ai" || rows[0][1] != "INSERT" || rows[0][2] != "wp_options" || rows[0][4] != "AFTER" {
				t.Errorf("got %v %v", names, rows)
			}
		}},
		{"SHOW TRIGGERS LIKE 'users'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 0 {
				t.Errorf("got %v", rows)
			}
		}},
		{"SHOW FULL PROCESSLIST", func(t *testing.T, names []string, rows [][]any) {
			if len(names) != 8 {
				t.Errorf("got %v", names)
			}
		}},
		{"SHOW PROCEDURE STATUS WHERE Db = 'app'", func(t *testing.T, names []string, rows [][]any) {
			if len(rows) != 0 || len(names) != 11 {
				t.Errorf("got %v %v", names, rows)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			names, rows := queryRows(t, s, c.query)
			c.check(t, names, rows)
		})
	}
}

func TestShowWarningsLimitAndCount(t *testing.T) {
	s := newShowTestSession(t)
	s.warnings = [][]any{{"Note", int64(1050), "a"}, {"Warning", int64(1265), "b"}, {"Error", int64(1146), "c"}}
	_, rows := queryRows(t, s, "SHOW WARNINGS LIMIT 2")
	if !reflect.DeepEqual(rows, [][]any{{"Note", "1050", "a"}, {"Warning", "1265", "b"}}) {
		t.Errorf("SHOW WARNINGS LIMIT: %v", rows)
	}
	_, rows = queryRows(t, s, "SHOW ERRORS")
	if !reflect.DeepEqual(rows, [][]any{{"Error", "1146", "c"}}) {
		t.Errorf("SHOW ERRORS: %v", rows)
	}
	names, rows := queryRows(t, s, "SHOW COUNT(*) WARNINGS")
	if names[0] != "@@session.warning_count" || !reflect.DeepEqual(rows, [][]any{{"3"}}) {
		t.Errorf("SHOW COUNT(*) WARNINGS: %v %v", names, rows)
	}
	_, rows = queryRows(t, s, "SHOW COUNT(*) ERRORS")
	if !reflect.DeepEqual(rows, [][]any{{"1"}}) {
		t.Errorf("SHOW COUNT(*) ERRORS: %v", rows)
	}
}

func TestShowResultTypes(t *testing.T) {
	s := newShowTestSession(t, usersDDL)
	res := mustExec(t, s, "SHOW TABLE STATUS")
	if res.Fields[4].Type != mysql.MYSQL_TYPE_LONGLONG || res.Fields[0].Type != mysql.MYSQL_TYPE_VAR_STRING || res.Fields[11].Type != mysql.MYSQL_TYPE_DATETIME {
		t.Errorf("types: %d %d %d", res.Fields[4].Type, res.Fields[0].Type, res.Fields[11].Type)
	}
	// prepared (binary protocol) SHOW
	stmts, err := s.transpile("SHOW INDEX FROM users")
	if err != nil {
		t.Fatal(err)
	}
	bres, err := s.show(t.Context(), stmts[0], true)
	if err != nil || len(bres.RowDatas) != 2 {
		t.Fatalf("binary SHOW INDEX: %v", err)
	}
	if _, err := execQuery(s, "SHOW COLUMNS FROM nope"); err == nil || !strings.Contains(err.Error(), "doesn't exist") {
		t.Errorf("missing table: %v", err)
	}
}
