package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
