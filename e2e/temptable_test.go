package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestTemporaryTables: on a two-node cluster, a session's temporary table
// works with a real client (DML, joins and copies into a permanent table,
// transactions), is invisible to other sessions and to the other node,
// never reaches the transaction log, and is gone when the session ends;
// only the permanent rows copied from it replicate.
func TestTemporaryTables(t *testing.T) {
	const secret = "temp-tables-secret"
	nodes := startCluster(t, 2, secret)
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE tt")
	eventually(t, 20*time.Second, func() error {
		_, err := nodes[1].DB(t, "tt").Exec("SELECT 1")
		return err
	})
	mustExec(t, nodes[0].DB(t, "tt"), "CREATE TABLE perm (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, nodes[0].DB(t, "tt"), "INSERT INTO perm VALUES (1, 'one')")

	ctx := context.Background()
	sess, err := nodes[0].DB(t, "tt").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TEMPORARY TABLE secret_tmp (id INT, v VARCHAR(20))",
		"INSERT INTO secret_tmp VALUES (1, 'xyzzy-1'), (2, 'xyzzy-2'), (3, 'xyzzy-3')",
		"UPDATE secret_tmp SET v = 'xyzzy-two' WHERE id = 2",
		"DELETE FROM secret_tmp WHERE id = 3",
		// a temp table shadows a permanent one of its name
		"CREATE TEMPORARY TABLE perm (id INT, v VARCHAR(20))",
		"INSERT INTO perm VALUES (42, 'xyzzy-shadow')",
		"BEGIN",
		"INSERT INTO secret_tmp VALUES (4, 'xyzzy-4')",
		"ROLLBACK",
		"DROP TEMPORARY TABLE perm",
		// only the permanent part replicates
		"INSERT INTO perm SELECT id + 10, 'copied' FROM secret_tmp WHERE id = 2",
		"START TRANSACTION",
		"INSERT INTO perm SELECT id + 20, 'copied' FROM secret_tmp WHERE id = 1",
		"INSERT INTO secret_tmp VALUES (5, 'xyzzy-5')",
		"COMMIT",
		"CREATE TEMPORARY TABLE tmp_sel SELECT p.id, t.v FROM perm p JOIN secret_tmp t ON t.id + 10 = p.id",
	} {
		if _, err := sess.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var got string
	if err := sess.QueryRowContext(ctx, "SELECT GROUP_CONCAT(id, '=', v ORDER BY id) FROM secret_tmp").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "1=xyzzy-1,2=xyzzy-two,5=xyzzy-5"; got != want {
		t.Fatalf("temp rows: got %q, want %q", got, want)
	}
	if err := sess.QueryRowContext(ctx, "SELECT GROUP_CONCAT(id, '=', v ORDER BY id) FROM tmp_sel").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "12=xyzzy-two"; got != want {
		t.Fatalf("CREATE TEMPORARY TABLE ... SELECT: got %q, want %q", got, want)
	}

	noSuchTable := func(db *sql.DB, where string) {
		t.Helper()
		var n int
		err := db.QueryRow("SELECT COUNT(*) FROM secret_tmp").Scan(&n)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1146 {
			t.Fatalf("%s: SELECT from another session's temp table: got %v, want error 1146", where, err)
		}
	}
	noSuchTable(nodes[0].DB(t, "tt"), "other session on node 1")

	// The permanent rows reach node 2; the temp table does not.
	eventually(t, 20*time.Second, func() error {
		var ids string
		if err := nodes[1].DB(t, "tt").QueryRow("SELECT GROUP_CONCAT(id, '=', v ORDER BY id) FROM perm").Scan(&ids); err != nil {
			return err
		}
		if ids != "1=one,12=copied,21=copied" {
			return fmt.Errorf("node 2 perm: %q", ids)
		}
		return nil
	})
	noSuchTable(nodes[1].DB(t, "tt"), "node 2")
	var tables string
	if err := nodes[1].DB(t, "tt").QueryRow("SELECT IFNULL(GROUP_CONCAT(table_name ORDER BY table_name), '') FROM information_schema.tables WHERE table_schema = 'tt'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != "perm" {
		t.Fatalf("node 2 tables: %q, want perm", tables)
	}

	// Nothing of the temp tables is in either node's log.
	for i, nd := range nodes {
		addr := fmt.Sprintf("127.0.0.1:%d", nd.HTTPPort)
		out, stderr, code := ctlTimeout(t, 60*time.Second, secret, "log", "list", "--addr", addr, "--json", "--db", "tt")
		if code != 0 {
			t.Fatalf("node %d: log list exited %d: %s", i+1, code, stderr)
		}
		var all strings.Builder
		all.WriteString(out)
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var ll logLine
			if err := json.Unmarshal([]byte(l), &ll); err != nil {
				t.Fatalf("node %d: log list line %q: %v", i+1, l, err)
			}
			show, stderr, code := ctlTimeout(t, 60*time.Second, secret, "log", "show", "--addr", addr, "--origin", fmt.Sprint(ll.Origin), "--seq", fmt.Sprint(ll.Seq), "--json")
			if code != 0 {
				t.Fatalf("node %d: log show exited %d: %s", i+1, code, stderr)
			}
			all.WriteString(show)
		}
		text := all.String()
		if !strings.Contains(text, "copied") {
			t.Fatalf("node %d: the log lacks the copied permanent rows:\n%s", i+1, text)
		}
		for _, secretWord := range []string{"secret_tmp", "tmp_sel", "xyzzy", "TEMP"} {
			if strings.Contains(text, secretWord) {
				t.Fatalf("node %d: the log mentions %q:\n%s", i+1, secretWord, text)
			}
		}
	}

	// The session's end drops its temp tables.
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		c, err := nodes[0].DB(t, "tt").Conn(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		var n int
		if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM perm WHERE id = 42").Scan(&n); err != nil || n != 0 {
			return fmt.Errorf("shadow row visible after the session ended: n=%d err=%v", n, err)
		}
		return nil
	})
}

// TestLikeBinaryCollation: LIKE and = are case-sensitive on _bin and
// binary columns and case-insensitive on the default collation, on every
// node.
func TestLikeBinaryCollation(t *testing.T) {
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE lk")
	db := n.DB(t, "lk")
	mustExec(t, db, "CREATE TABLE w (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, b VARBINARY(20), c VARCHAR(20))")
	mustExec(t, db, "INSERT INTO w VALUES (1, 'Marmot', 'Marmot', 'Marmot'), (2, 'marmot', 'marmot', 'marmot')")
	for _, tc := range []struct {
		q    string
		args []any
		want string
	}{
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE s LIKE 'Mar%'", nil, "1"},
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE s LIKE ?", []any{"mar%"}, "2"},
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE s = 'marmot'", nil, "2"},
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE b LIKE 'M%'", nil, "1"},
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE c LIKE 'MAR%'", nil, "1,2"},
		{"SELECT GROUP_CONCAT(id ORDER BY id) FROM w WHERE c = 'MARMOT'", nil, "1,2"},
	} {
		var got string
		if err := db.QueryRow(tc.q, tc.args...).Scan(&got); err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if got != tc.want {
			t.Errorf("%s %v: got %s, want %s", tc.q, tc.args, got, tc.want)
		}
	}
}

// TestTemporaryTablesMetadata: with a real client, SHOW CREATE TABLE,
// DESCRIBE / SHOW COLUMNS and SHOW INDEX see the session's temp tables
// (information_schema does not, as in MySQL), CREATE TABLE ... LIKE a temp
// table makes a permanent one, CREATE TEMPORARY TABLE inside a transaction
// does not commit it, and DROP DATABASE under another session's temp
// tables leaves a clear error and no connection to the deleted file.
func TestTemporaryTablesMetadata(t *testing.T) {
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE tm")
	other := n.DB(t, "tm")
	mustExec(t, other, "CREATE TABLE perm (id INT PRIMARY KEY, v VARCHAR(20))")
	mustExec(t, other, "INSERT INTO perm VALUES (1, 'one')")
	ctx := context.Background()
	sess, err := n.DB(t, "tm").Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	exec := func(q string) {
		t.Helper()
		if _, err := sess.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	wantCode := func(err error, code uint16, what string) {
		t.Helper()
		if got := mysqlCode(err); got != code {
			t.Fatalf("%s: got %v, want error %d", what, err, code)
		}
	}

	exec("CREATE TEMPORARY TABLE tmp (id INT NOT NULL AUTO_INCREMENT, v VARCHAR(10) NOT NULL DEFAULT 'd', PRIMARY KEY (id), KEY v (v))")
	var name, ddl string
	if err := sess.QueryRowContext(ctx, "SHOW CREATE TABLE tmp").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CREATE TEMPORARY TABLE `tmp` (", "`v` varchar(10) NOT NULL DEFAULT 'd'", "PRIMARY KEY (`id`)", "KEY `v` (`v`)"} {
		if !strings.Contains(ddl, want) {
			t.Fatalf("SHOW CREATE TABLE tmp lacks %q:\n%s", want, ddl)
		}
	}
	rows, err := sess.QueryContext(ctx, "DESCRIBE tmp")
	if err != nil {
		t.Fatal(err)
	}
	var desc []string
	for rows.Next() {
		var field, typ, null, key, extra string
		var dflt sql.NullString
		if err := rows.Scan(&field, &typ, &null, &key, &dflt, &extra); err != nil {
			t.Fatal(err)
		}
		desc = append(desc, strings.Join([]string{field, typ, null, key, dflt.String, extra}, ","))
	}
	rows.Close()
	if got, want := strings.Join(desc, "|"), "id,bigint,NO,PRI,,auto_increment|v,varchar(10),NO,MUL,d,"; got != want {
		t.Fatalf("DESCRIBE tmp: got %q, want %q", got, want)
	}
	var nIdx int
	rows, err = sess.QueryContext(ctx, "SHOW INDEX FROM tmp")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		nIdx++
	}
	rows.Close()
	if nIdx != 2 {
		t.Fatalf("SHOW INDEX FROM tmp: %d rows, want 2", nIdx)
	}
	_, err = other.Exec("SHOW CREATE TABLE tmp")
	wantCode(err, 1146, "another session's SHOW CREATE TABLE tmp")
	var cnt int
	if err := sess.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'tm' AND table_name = 'tmp'").Scan(&cnt); err != nil || cnt != 0 {
		t.Fatalf("information_schema.columns lists the temp table: %d %v", cnt, err)
	}

	// CREATE TABLE ... LIKE a temp table: a permanent table, for everyone.
	exec("CREATE TABLE copy LIKE tmp")
	if err := other.QueryRow("SHOW CREATE TABLE copy").Scan(&name, &ddl); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ddl, "CREATE TABLE `copy` (") || !strings.Contains(ddl, "KEY `v` (`v`)") {
		t.Fatalf("SHOW CREATE TABLE copy:\n%s", ddl)
	}
	mustExec(t, other, "INSERT INTO copy (v) VALUES ('x')")

	// The first temp table of a session, inside its transaction: no
	// implicit commit.
	tx, err := n.DB(t, "tm").BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO perm VALUES (2, 'two')",
		"CREATE TEMPORARY TABLE mid (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO mid SELECT id, v FROM perm",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := other.QueryRow("SELECT COUNT(*) FROM perm").Scan(&cnt); err != nil || cnt != 1 {
		t.Fatalf("perm rows seen outside the transaction: %d %v, want 1 (nothing committed)", cnt, err)
	}
	if err := tx.QueryRow("SELECT COUNT(*) FROM mid").Scan(&cnt); err != nil || cnt != 2 {
		t.Fatalf("temp rows in the transaction: %d %v, want 2", cnt, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := other.QueryRow("SELECT COUNT(*) FROM perm").Scan(&cnt); err != nil || cnt != 1 {
		t.Fatalf("perm rows after ROLLBACK: %d %v, want 1", cnt, err)
	}

	// DROP DATABASE under the session's temp tables.
	mustExec(t, other, "DROP DATABASE tm")
	_, err = sess.ExecContext(ctx, "SELECT * FROM tmp")
	wantCode(err, 1049, "SELECT from a temp table of a dropped database")
	pid := n.cmd.Process.Pid
	eventually(t, 10*time.Second, func() error {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			return nil // no /proc: nothing to check
		}
		for _, fd := range fds {
			target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if strings.Contains(target, "tm.db") && strings.Contains(target, "(deleted)") {
				return fmt.Errorf("marmotd keeps the dropped database open: %s", target)
			}
		}
		return nil
	})
	mustExec(t, n.DB(t, ""), "CREATE DATABASE tm")
	exec("USE tm")
	_, err = sess.ExecContext(ctx, "SELECT * FROM tmp")
	wantCode(err, 1146, "SELECT from a temp table after its database was re-created")
	exec("CREATE TEMPORARY TABLE tmp (id INT)")
	exec("INSERT INTO tmp VALUES (1)")
	if err := sess.QueryRowContext(ctx, "SELECT COUNT(*) FROM tmp").Scan(&cnt); err != nil || cnt != 1 {
		t.Fatalf("new temp table: %d %v", cnt, err)
	}
}
