package frontend

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// tempStep is one statement of a temp table scenario: run by session
// sess (0 or 1), with the rows it must return ("a,b|c,d"; "" = not
// checked) or the MySQL error code it must fail with.
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
	}{
		{"private and shadowing", []tempStep{
			{0, "CREATE TEMPORARY TABLE perm (id INT, v TEXT)", "", 0},
			{0, "INSERT INTO perm VALUES (9, 'temp')", "", 0},
			{0, "SELECT id, v FROM perm", "9,temp", 0},
			{1, "SELECT id, v FROM perm ORDER BY id", "1,a|2,b", 0},
			{0, "DROP TABLE perm", "", 0},
			{0, "SELECT COUNT(*) FROM perm", "2", 0},
		}},
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
		}},
		{"joins and copies to permanent tables", []tempStep{
			{0, "CREATE TEMPORARY TABLE ids (id INT PRIMARY KEY, w TEXT)", "", 0},
			{0, "INSERT INTO ids VALUES (2, 'two'), (3, 'three')", "", 0},
			{0, "SELECT perm.v, ids.w FROM perm JOIN ids USING (id)", "b,two", 0},
			{0, "INSERT INTO perm SELECT id, w FROM ids WHERE id = 3", "", 0},
			{0, "UPDATE ids JOIN perm USING (id) SET ids.w = perm.v", "", 0},
			{0, "SELECT GROUP_CONCAT(w ORDER BY id) FROM ids", "b,three", 0},
			{1, "SELECT v FROM perm WHERE id = 3", "three", 0},
		}},
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
		}},
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
		}},
		{"auto increment", []tempStep{
			{0, "CREATE TEMPORARY TABLE ai (id INT AUTO_INCREMENT PRIMARY KEY, v TEXT)", "", 0},
			{0, "INSERT INTO ai (v) VALUES ('a')", "", 0},
			{0, "SELECT LAST_INSERT_ID() = (SELECT id FROM ai)", "1", 0},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s0 := newShowTestSession(t, "CREATE TABLE perm (id INT PRIMARY KEY, v TEXT)", "INSERT INTO perm VALUES (1, 'a'), (2, 'b')")
			s1 := s0.srv.newSession(2, "root")
			mustExec(t, s1, "USE app")
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
					if got := strings.Join(rows, "|"); got != st.want {
						t.Fatalf("%s: got %q, want %q", st.q, got, st.want)
					}
				}
			}
			// Nothing of the temp tables reaches the log.
			for _, cs := range changeSets(t, s0, "app")[before:] {
				if cs.Ddl != "" {
					t.Errorf("change set with DDL %q", cs.Ddl)
				}
				for _, r := range cs.Rows {
					if r.Table != "perm" {
						t.Errorf("change set writes table %q", r.Table)
					}
				}
			}
			s0.close()
			if len(s0.temps) != 0 {
				t.Errorf("temp spaces left open after close: %d", len(s0.temps))
			}
		})
	}
}
