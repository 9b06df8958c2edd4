package frontend

import (
	"errors"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// TestReadOnlyRefusesWrites: on a read-only server (a replica) every
// statement that changes data or schema gets 1290, in and outside a
// transaction, and changes nothing; reads, USE, SET and transaction
// control work; @@read_only is 1, also after COM_RESET_CONNECTION.
func TestReadOnlyRefusesWrites(t *testing.T) {
	srv := openTestServer(t)
	w := srv.newSession(1, "root")
	mustExec(t, w, "CREATE DATABASE app")
	mustExec(t, w, "USE app")
	mustExec(t, w, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
	mustExec(t, w, "INSERT INTO t VALUES (1, 'a')")

	srv.opts.ReadOnly = true
	s := srv.newSession(2, "root")
	mustExec(t, s, "USE app")
	writes := []string{
		"INSERT INTO t VALUES (2, 'b')",
		"REPLACE INTO t VALUES (1, 'z')",
		"UPDATE t SET v = 'z'",
		"DELETE FROM t",
		"TRUNCATE TABLE t",
		"CREATE TABLE u (id INT PRIMARY KEY)",
		"ALTER TABLE t ADD COLUMN w INT",
		"CREATE INDEX iv ON t (v)",
		"DROP TABLE t",
		"CREATE VIEW vt AS SELECT * FROM t",
		"CREATE DATABASE other",
		"DROP DATABASE app",
		"LOAD DATA LOCAL INFILE '/dev/null' INTO TABLE t",
	}
	check := func(q string) {
		t.Helper()
		_, err := execQuery(s, q)
		var my *mysql.MyError
		if !errors.As(err, &my) || my.Code != mysql.ER_OPTION_PREVENTS_STATEMENT || my.State != "HY000" {
			t.Errorf("%s: got %v, want 1290 (HY000)", q, err)
		}
	}
	for _, q := range writes {
		check(q)
	}
	mustExec(t, s, "BEGIN")
	check("INSERT INTO t VALUES (3, 'c')")
	if _, rows := resultRows(t, mustExec(t, s, "SELECT COUNT(*) FROM t")); len(rows) != 1 {
		t.Fatalf("read inside the transaction: %v", rows)
	}
	mustExec(t, s, "COMMIT")
	mustExec(t, s, "SET @x = 1")

	one := func(s *Session, q string) []any {
		t.Helper()
		_, rows := resultRows(t, mustExec(t, s, q))
		if len(rows) != 1 {
			t.Fatalf("%s: %v", q, rows)
		}
		return rows[0]
	}
	if got := one(s, "SELECT COUNT(*), @@read_only FROM t"); got[0] != "1" || got[1] != "1" {
		t.Errorf("rows, @@read_only after refused writes = %v, want [1 1]", got)
	}
	if err := s.HandleOtherCommand(mysql.COM_RESET_CONNECTION, nil); err != nil {
		t.Fatal(err)
	}
	if got := one(s, "SELECT @@read_only"); got[0] != "1" {
		t.Errorf("@@read_only after reset = %v, want 1", got)
	}
	if got := one(w, "SELECT @@read_only"); got[0] != "0" {
		t.Errorf("@@read_only of a session opened before = %v, want 0", got)
	}
}
