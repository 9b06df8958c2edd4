package frontend

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// tempStep is one statement of a temp table scenario: run by session
// sess (0 or 1), with the rows it must return ("a,b|c,d"; "" = not
// checked; "~x~y": the rows so joined contain x and y) or the MySQL error
// code it must fail with.
type tempStep struct {
	sess int
	q    string
	want string
	code uint16
}

func TestTemporaryTables(t *testing.T) {
	cases := []struct {
		name  string
		steps []tempStep
		perms []string // permanent tables besides perm the case creates (their DDL reaches the log)
	}{
		{"private and shadowing", []tempStep{
			{0, "CREATE TEMPORARY TABLE perm (id INT, v TEXT)", "", 0},
			{0, "INSERT INTO perm VALUES (9, 'temp')", "", 0},
			{0, "SELECT id, v FROM perm", "9,temp", 0},
			{1, "SELECT id, v FROM perm ORDER BY id", "1,a|2,b", 0},
			{0, "DROP TABLE perm", "", 0},
			{0, "SELECT COUNT(*) FROM perm", "2", 0},
		}, nil},
		{"invisible to other sessions", []tempStep{
			{0, "CREATE TEMPORARY TABLE tmp (a INT, b VARCHAR(10))", "", 0},
			{0, "INSERT INTO tmp VALUES (1, 'x'), (2, 'y')", "", 0},
			{1, "SELECT * FROM tmp", "", mysql.ER_NO_SUCH_TABLE},
			{1, "INSERT INTO tmp VALUES (3, 'z')", "", mysql.ER_NO_SUCH_TABLE},
			{0, "CREATE TEMPORARY TABLE tmp (a INT)", "", mysql.ER_TABLE_EXISTS_ERROR},
			{0, "UPDATE tmp SET b = 'Y' WHERE a = 2", "", 0},
			{0, "DELETE FROM tmp WHERE a = 1", "", 0},
			{0, "SELECT a, b FROM tmp", "2,Y", 0},
			{0, "DROP TEMPORARY TABLE tmp", "", 0},
			{0, "DROP TEMPORARY TABLE tmp", "", mysql.ER_BAD_TABLE_ERROR},
			{0, "DROP TEMPORARY TABLE IF EXISTS tmp", "", 0},
			{0, "DROP TEMPORARY TABLE perm", "", mysql.ER_BAD_TABLE_ERROR},
		}, nil},
		{"joins and copies to permanent tables", []tempStep{
			{0, "CREATE TEMPORARY TABLE ids (id INT PRIMARY KEY, w TEXT)", "", 0},
			{0, "INSERT INTO ids VALUES (2, 'two'), (3, 'three')", "", 0},
			{0, "SELECT perm.v, ids.w FROM perm JOIN ids USING (id)", "b,two", 0},
			{0, "INSERT INTO perm SELECT id, w FROM ids WHERE id = 3", "", 0},
			{0, "UPDATE ids JOIN perm USING (id) SET ids.w = perm.v", "", 0},
			{0, "SELECT GROUP_CONCAT(w ORDER BY id) FROM ids", "b,three", 0},
			{1, "SELECT v FROM perm WHERE id = 3", "three", 0},
		}, nil},
		{"transactions", []tempStep{
			{0, "CREATE TEMPORARY TABLE tx (id INT PRIMARY KEY, v TEXT)", "", 0},
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO tx VALUES (1, 'a')", "", 0},
			{0, "ROLLBACK", "", 0},
			{0, "SELECT COUNT(*) FROM tx", "0", 0},
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO tx VALUES (1, 'a')", "", 0},
			{0, "INSERT INTO perm VALUES (4, 'd')", "", 0},
			{0, "INSERT INTO tx SELECT id + 10, v FROM perm WHERE id = 4", "", 0},
			{0, "UPDATE tx SET v = 'A' WHERE id = 1", "", 0},
			{0, "INSERT INTO tx VALUES (1, 'dup')", "", mysql.ER_DUP_ENTRY},
			{0, "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM tx", "1A,14d", 0},
			{0, "COMMIT", "", 0},
			{0, "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM tx", "1A,14d", 0},
			{1, "SELECT v FROM perm WHERE id = 4", "d", 0},
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO perm VALUES (5, 'e')", "", 0},
			{0, "CREATE TEMPORARY TABLE tx2 (id INT)", "", 0},
			{0, "INSERT INTO tx2 VALUES (7)", "", 0},
			{0, "ROLLBACK", "", 0},
			{0, "SELECT COUNT(*) FROM tx2", "0", 0},
			{0, "SELECT COUNT(*) FROM perm WHERE id = 5", "0", 0},
			// A CREATE TEMPORARY TABLE … SELECT failing half way inside a
			// transaction leaves no table; the transaction goes on.
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO perm VALUES (6, 'a')", "", 0},
			{0, "CREATE TEMPORARY TABLE dupv (v TEXT PRIMARY KEY) SELECT v FROM perm ORDER BY id", "", mysql.ER_DUP_ENTRY},
			{0, "SELECT COUNT(*) FROM dupv", "", mysql.ER_NO_SUCH_TABLE},
			{0, "COMMIT", "", 0},
			{1, "SELECT v FROM perm WHERE id = 6", "a", 0},
		}, nil},
		{"rename, and no triggers", []tempStep{
			{0, "CREATE TEMPORARY TABLE r1 (id INT)", "", 0},
			{0, "INSERT INTO r1 VALUES (1)", "", 0},
			{0, "RENAME TABLE r1 TO r2", "", 0},
			{0, "SELECT COUNT(*) FROM r2", "1", 0},
			{0, "SELECT COUNT(*) FROM r1", "", mysql.ER_NO_SUCH_TABLE},
			{0, "ALTER TABLE r2 RENAME TO r3", "", 0},
			{0, "INSERT INTO r3 VALUES (2)", "", 0},
			{0, "SELECT COUNT(*) FROM r3", "2", 0},
			{1, "SELECT COUNT(*) FROM r3", "", mysql.ER_NO_SUCH_TABLE},
			{0, "CREATE TRIGGER trg AFTER INSERT ON r3 FOR EACH ROW INSERT INTO perm VALUES (NEW.id + 100, 't')", "", mysql.ER_TRG_ON_VIEW_OR_TEMP_TABLE},
			{0, "RENAME TABLE r3 TO r4, perm TO perm9", "", mysql.ER_NOT_SUPPORTED_YET},
			{0, "SELECT COUNT(*) FROM perm", "2", 0},
		}, nil},
		{"first temp table inside a transaction", []tempStep{
			// no implicit commit: the transaction goes on, joins the new
			// temp table with its own uncommitted rows, and can roll back
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO perm VALUES (5, 'e')", "", 0},
			{0, "CREATE TEMPORARY TABLE mid (id INT PRIMARY KEY, w TEXT)", "", 0},
			{1, "SELECT COUNT(*) FROM perm WHERE id = 5", "0", 0},
			{0, "INSERT INTO mid SELECT id, v FROM perm WHERE id >= 2", "", 0},
			{0, "UPDATE perm JOIN mid USING (id) SET perm.v = CONCAT(mid.w, '!')", "", 0},
			{0, "SELECT GROUP_CONCAT(id, perm.v, mid.w ORDER BY id) FROM perm JOIN mid USING (id)", "2b!b,5e!e", 0},
			{0, "SHOW CREATE TABLE mid", "~CREATE TEMPORARY TABLE `mid`", 0},
			{0, "ROLLBACK", "", 0},
			{0, "SELECT COUNT(*) FROM mid", "0", 0}, // CREATE TEMPORARY TABLE is not rolled back
			{0, "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM perm", "1a,2b", 0},
			{1, "SELECT GROUP_CONCAT(id, v ORDER BY id) FROM perm", "1a,2b", 0},
			// the same with COMMIT, in a session without temp tables
			{1, "START TRANSACTION", "", 0},
			{1, "INSERT INTO perm VALUES (6, 'f')", "", 0},
			{1, "SAVEPOINT sp", "", 0},
			{1, "CREATE TEMPORARY TABLE mid2 (id INT, w TEXT)", "", 0},
			{1, "INSERT INTO mid2 SELECT id, v FROM perm", "", 0},
			{1, "INSERT INTO perm VALUES (7, 'g')", "", 0},
			{1, "ROLLBACK TO SAVEPOINT sp", "", 0},
			{1, "SELECT COUNT(*) FROM mid2", "0", 0},
			{1, "INSERT INTO mid2 SELECT id, v FROM perm", "", 0},
			{0, "SELECT COUNT(*) FROM perm", "2", 0},
			{1, "COMMIT", "", 0},
			{0, "SELECT GROUP_CONCAT(id ORDER BY id) FROM perm", "1,2,6", 0},
			{1, "SELECT GROUP_CONCAT(id, w ORDER BY id) FROM mid2", "1a,2b,6f", 0},
			{1, "INSERT INTO mid2 VALUES (8, 'h')", "", 0},
			{1, "SELECT COUNT(*) FROM mid2", "4", 0},
			{0, "SELECT * FROM mid2", "", mysql.ER_NO_SUCH_TABLE},
		}, nil},
		{"create like and select", []tempStep{
			{0, "CREATE TEMPORARY TABLE pl LIKE perm", "", 0},
			{0, "INSERT INTO pl VALUES (1, 'x')", "", 0},
			{0, "INSERT INTO pl VALUES (1, 'y')", "", mysql.ER_DUP_ENTRY},
			{0, "CREATE TEMPORARY TABLE ps SELECT id, UPPER(v) AS u FROM perm WHERE id < 3", "", 0},
			{0, "SELECT GROUP_CONCAT(u ORDER BY id) FROM ps", "A,B", 0},
			{0, "TRUNCATE TABLE ps", "", 0},
			{0, "SELECT COUNT(*) FROM ps", "0", 0},
			{0, "ALTER TABLE ps ADD COLUMN n INT", "", 0},
			{0, "INSERT INTO ps (id, u, n) VALUES (1, 'q', 5)", "", 0},
			{0, "SELECT n FROM ps", "5", 0},
		}, nil},
		{"auto increment", []tempStep{
			{0, "CREATE TEMPORARY TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)", "", 0},
			{0, "INSERT INTO ai (v) VALUES ('a')", "", 0},
			{0, "SELECT LAST_INSERT_ID() = (SELECT id FROM ai)", "1", 0},
		}, nil},
		{"show and describe", []tempStep{
			{0, "CREATE TEMPORARY TABLE meta (id INT NOT NULL AUTO_INCREMENT, name VARCHAR(40) NOT NULL DEFAULT 'x', n BIGINT, PRIMARY KEY (id), UNIQUE KEY name (name), KEY n (n))", "", 0},
			{0, "CREATE INDEX nn ON meta (n, name)", "", 0},
			{0, "SHOW CREATE TABLE meta", "~meta,CREATE TEMPORARY TABLE `meta` (~`name` varchar(40) NOT NULL DEFAULT 'x'~PRIMARY KEY (`id`)~UNIQUE KEY `name` (`name`)~KEY `nn` (`n`,`name`)~ENGINE=InnoDB", 0},
			{0, "DESCRIBE meta", "id,bigint,NO,PRI,NULL,auto_increment|name,varchar(40),NO,UNI,x,|n,bigint,YES,MUL,NULL,", 0},
			{0, "SHOW COLUMNS FROM meta LIKE 'na%'", "name,varchar(40),NO,UNI,x,", 0},
			{0, "SHOW FULL COLUMNS FROM app.meta WHERE Field = 'name'", "~name,varchar(40),utf8mb4_general_ci,NO,UNI,x", 0},
			{0, "SHOW INDEX FROM meta", "~meta,0,PRIMARY,1,id~meta,0,name,1,name~meta,1,n,1,n~meta,1,nn,2,name", 0},
			{0, "SHOW KEYS FROM meta IN app", "~meta,0,PRIMARY,1,id", 0},
			// other sessions, SHOW TABLES and information_schema do not
			// see temp tables (MySQL lists them in none of these)
			{1, "SHOW CREATE TABLE meta", "", mysql.ER_NO_SUCH_TABLE},
			{1, "DESCRIBE meta", "", mysql.ER_NO_SUCH_TABLE},
			{1, "SHOW INDEX FROM meta", "", mysql.ER_NO_SUCH_TABLE},
			{0, "SHOW TABLES", "perm", 0},
			{0, "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'meta'", "0", 0},
			{0, "SELECT COUNT(*) FROM information_schema.columns WHERE table_name = 'meta'", "0", 0},
			// a temp table shadows a permanent one of its name here too
			{0, "CREATE TEMPORARY TABLE perm (k VARCHAR(5) PRIMARY KEY)", "", 0},
			{0, "SHOW CREATE TABLE perm", "~CREATE TEMPORARY TABLE `perm`~`k` varchar(5)", 0},
			{0, "SHOW COLUMNS FROM perm", "k,varchar(5),NO,PRI,NULL,", 0},
			{1, "SHOW CREATE TABLE perm", "~perm,CREATE TABLE `perm`~`id` int", 0},
			{0, "DROP TEMPORARY TABLE perm", "", 0},
			{0, "SHOW CREATE TABLE perm", "~perm,CREATE TABLE `perm`~`id` int", 0},
			// in a transaction the capture's connection answers
			{0, "BEGIN", "", 0},
			{0, "INSERT INTO perm VALUES (7, 'g')", "", 0},
			{0, "ALTER TABLE meta ADD COLUMN extra DATE", "", 0},
			{0, "SHOW COLUMNS FROM meta LIKE 'extra'", "extra,date,YES,,NULL,", 0},
			{0, "COMMIT", "", 0},
			{0, "DROP TEMPORARY TABLE meta", "", 0},
			{0, "SHOW CREATE TABLE meta", "", mysql.ER_NO_SUCH_TABLE},
		}, nil},
		{"create like a temp table", []tempStep{
			{0, "CREATE TEMPORARY TABLE src (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT 'd', KEY v (v))", "", 0},
			{0, "INSERT INTO src VALUES (1, 'one')", "", 0},
			{0, "CREATE TABLE copy LIKE src", "", 0},
			{0, "SHOW CREATE TABLE copy", "~copy,CREATE TABLE `copy` (~`v` varchar(10) NOT NULL DEFAULT 'd'~KEY `v` (`v`)", 0},
			{1, "SHOW CREATE TABLE copy", "~copy,CREATE TABLE `copy` (~PRIMARY KEY (`id`)", 0},
			{0, "SELECT COUNT(*) FROM copy", "0", 0},
			{0, "INSERT INTO copy SELECT * FROM src", "", 0},
			{1, "SELECT v FROM copy", "one", 0},
			{1, "INSERT INTO copy (id) VALUES (2)", "", 0},
			{0, "SELECT GROUP_CONCAT(v ORDER BY id) FROM copy", "one,d", 0},
			{0, "CREATE TABLE copy LIKE src", "", mysql.ER_TABLE_EXISTS_ERROR},
			{0, "CREATE TABLE IF NOT EXISTS copy LIKE src", "", 0},
			{0, "CREATE TABLE sel (PRIMARY KEY (id)) SELECT * FROM src", "", 0},
			{1, "SHOW CREATE TABLE sel", "~`v` varchar(10)", 0},
			{1, "SELECT v FROM sel", "one", 0},
			// the permanent table outlives the session's temp table
			{0, "DROP TEMPORARY TABLE src", "", 0},
			{0, "SELECT COUNT(*) FROM copy", "2", 0},
		}, []string{"copy", "sel"}},
		{"drop database under a temp table", []tempStep{
			{0, "CREATE TEMPORARY TABLE gone (id INT PRIMARY KEY)", "", 0},
			{0, "INSERT INTO gone VALUES (1)", "", 0},
			{0, "CREATE TEMPORARY TABLE perm (x INT)", "", 0},
			{1, "DROP DATABASE app", "", 0},
			{0, "SELECT * FROM gone", "", mysql.ER_BAD_DB_ERROR},
			{0, "INSERT INTO gone VALUES (2)", "", mysql.ER_NO_SUCH_TABLE},
			{0, "SHOW CREATE TABLE gone", "", mysql.ER_BAD_DB_ERROR},
			{0, "INSERT INTO app.perm VALUES (3)", "", mysql.ER_NO_SUCH_TABLE},
			{1, "CREATE DATABASE app", "", 0},
			{1, "CREATE TABLE app.perm (id INT PRIMARY KEY, v TEXT)", "", 0},
			{1, "INSERT INTO app.perm VALUES (5, 'new')", "", 0},
			// the temp tables went with the old file; the new database
			// is read and written as it is
			{0, "SELECT * FROM gone", "", mysql.ER_NO_SUCH_TABLE},
			{0, "SELECT id, v FROM perm", "5,new", 0},
			{0, "INSERT INTO perm VALUES (6, 'six')", "", 0},
			{1, "SELECT GROUP_CONCAT(id ORDER BY id) FROM app.perm", "5,6", 0},
			{0, "CREATE TEMPORARY TABLE gone (id INT PRIMARY KEY)", "", 0},
			{0, "INSERT INTO gone SELECT id FROM perm", "", 0},
			{0, "SELECT COUNT(*) FROM gone", "2", 0},
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s0 := newShowTestSession(t, "CREATE TABLE perm (id INT PRIMARY KEY, v TEXT)", "INSERT INTO perm VALUES (1, 'a'), (2, 'b')")
			s1 := s0.srv.newSession(2, "root")
			mustExec(t, s1, "USE app")
			// A failed step may leave a transaction holding the writer,
			// which the server's shutdown would wait for.
			t.Cleanup(func() { s0.close(); s1.close() })
			before := len(changeSets(t, s0, "app"))
			sess := []*Session{s0, s1}
			for _, st := range tc.steps {
				res, err := execQuery(sess[st.sess], st.q)
				if st.code != 0 {
					var me *mysql.MyError
					if !errors.As(err, &me) || me.Code != st.code {
						t.Fatalf("%s: got %v, want error %d", st.q, err, st.code)
					}
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", st.q, err)
				}
				if st.want != "" {
					var rows []string
					for _, r := range rawRows(t, res) {
						rows = append(rows, strings.Join(r, ","))
					}
					got := strings.Join(rows, "|")
					if subs, ok := strings.CutPrefix(st.want, "~"); ok {
						for _, sub := range strings.Split(subs, "~") {
							if !strings.Contains(got, sub) {
								t.Fatalf("%s: got %q, want it to contain %q", st.q, got, sub)
							}
						}
					} else if got != st.want {
						t.Fatalf("%s: got %q, want %q", st.q, got, st.want)
					}
				}
			}
			// Nothing of the temp tables reaches the log.
			perms := map[string]bool{"perm": true}
			for _, p := range tc.perms {
				perms[p] = true
			}
			for _, cs := range changeSets(t, s0, "app")[before:] {
				if cs.Ddl != "" && (len(cs.DdlTables) != 1 || !perms[cs.DdlTables[0]] || strings.Contains(strings.ToUpper(cs.Ddl), "TEMP")) {
					t.Errorf("change set with DDL %q", cs.Ddl)
				}
				for _, r := range cs.Rows {
					if !perms[r.Table] {
						t.Errorf("change set writes table %q", r.Table)
					}
				}
			}
			for name, ts := range s0.temps {
				if ts.sc.Stale() {
					t.Errorf("temp space in %s left on a dropped database's file", name)
				}
			}
			s0.close()
			if len(s0.temps) != 0 {
				t.Errorf("temp spaces left open after close: %d", len(s0.temps))
			}
		})
	}
}

// TestFieldListSeesTempTables: COM_FIELD_LIST (the mysql CLI's column
// completion) lists a temp table's columns, which shadow a permanent
// table of the same name, and only in the session that created it.
func TestFieldListSeesTempTables(t *testing.T) {
	s0 := newShowTestSession(t, "CREATE TABLE perm (id INT PRIMARY KEY, v TEXT)")
	s1 := s0.srv.newSession(2, "root")
	mustExec(t, s1, "USE app")
	t.Cleanup(func() { s0.close(); s1.close() })
	mustExec(t, s0, "CREATE TEMPORARY TABLE perm (a INT, b VARCHAR(5), c DATE)")
	mustExec(t, s0, "CREATE TEMPORARY TABLE tonly (x BIGINT)")
	names := func(s *Session, table string) string {
		fields, err := s.HandleFieldList(table, "")
		if err != nil {
			return err.Error()
		}
		var out []string
		for _, f := range fields {
			out = append(out, string(f.Name))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		s           *Session
		table, want string
	}{
		{s0, "perm", "a,b,c"},
		{s0, "tonly", "x"},
		{s1, "perm", "id,v"},
		{s1, "tonly", "Table 'app.tonly' doesn't exist"},
	} {
		if got := names(tc.s, tc.table); !strings.Contains(got, tc.want) {
			t.Errorf("field list of %s: got %q, want %q", tc.table, got, tc.want)
		}
	}
}
