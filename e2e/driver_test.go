package e2e

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
)

func mysqlCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// TestGoDriver drives marmotd with go-sql-driver/mysql in text and
// server-side prepared statement modes.
func TestGoDriver(t *testing.T) {
	n := StartNode(t)
	admin := n.DB(t, "")
	if _, err := admin.Exec("CREATE DATABASE app"); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"interpolateParams=true", "interpolateParams=false"} {
		t.Run(mode, func(t *testing.T) {
			db := n.DB(t, "app", mode)
			table := "t_" + strings.Split(mode, "=")[1]
			mustExec(t, db, fmt.Sprintf("CREATE TABLE %s (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(64), n INT, score DOUBLE, data BLOB)", table))
			res, err := db.Exec(fmt.Sprintf("INSERT INTO %s (name, n, score, data) VALUES (?, ?, ?, ?)", table), "alice", 7, 1.5, []byte{0, 1, 2, 255})
			if err != nil {
				t.Fatal(err)
			}
			id, _ := res.LastInsertId()
			if id <= 0 || id >= 1<<53 {
				t.Fatalf("auto id %d outside (0, 2^53)", id)
			}
			var lastID int64
			conn, _ := db.Conn(t.Context())
			defer conn.Close()
			if _, err := conn.ExecContext(t.Context(), fmt.Sprintf("INSERT INTO %s (name) VALUES ('bob')", table)); err != nil {
				t.Fatal(err)
			}
			if err := conn.QueryRowContext(t.Context(), "SELECT LAST_INSERT_ID()").Scan(&lastID); err != nil || lastID == 0 {
				t.Fatalf("LAST_INSERT_ID() = %d, %v", lastID, err)
			}
			var name string
			var nn sql.NullInt64
			var score float64
			var data []byte
			if err := db.QueryRow(fmt.Sprintf("SELECT name, n, score, data FROM %s WHERE id = ?", table), id).Scan(&name, &nn, &score, &data); err != nil {
				t.Fatal(err)
			}
			if name != "alice" || nn.Int64 != 7 || score != 1.5 || string(data) != "\x00\x01\x02\xff" {
				t.Fatalf("round trip: %q %v %v %x", name, nn, score, data)
			}
			// NULLs
			mustExec(t, db, fmt.Sprintf("UPDATE %s SET n = ? WHERE name = ?", table), nil, "bob")
			if err := db.QueryRow(fmt.Sprintf("SELECT n FROM %s WHERE name = 'bob'", table)).Scan(&nn); err != nil || nn.Valid {
				t.Fatalf("NULL round trip: %v %v", nn, err)
			}
			// Transactions: rollback leaves nothing, commit keeps all.
			tx, _ := db.Begin()
			tx.Exec(fmt.Sprintf("INSERT INTO %s (name) VALUES ('ghost')", table))
			tx.Rollback()
			tx, _ = db.Begin()
			tx.Exec(fmt.Sprintf("INSERT INTO %s (name) VALUES ('c1')", table))
			tx.Exec(fmt.Sprintf("INSERT INTO %s (name) VALUES ('c2')", table))
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var cnt int
			db.QueryRow(fmt.Sprintf("SELECT COUNT(*) FROM %s WHERE name IN ('ghost','c1','c2')", table)).Scan(&cnt)
			if cnt != 2 {
				t.Fatalf("after rollback+commit: %d rows, want 2", cnt)
			}
			// Errors keep the connection usable.
			if _, err := db.Exec("SELEC oops"); mysqlCode(err) != 1064 {
				t.Fatalf("malformed: %v", err)
			}
			if _, err := db.Exec("INSERT INTO nope VALUES (1)"); mysqlCode(err) != 1146 {
				t.Fatalf("no table: %v", err)
			}
			if _, err := db.Exec(fmt.Sprintf("INSERT INTO %s (id, name) VALUES (?, 'dup')", table), id); mysqlCode(err) != 1062 {
				t.Fatalf("duplicate: %v", err)
			}
			if err := db.Ping(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) sql.Result {
	t.Helper()
	r, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

func TestAuth(t *testing.T) {
	n := StartNode(t)
	bad, _ := sql.Open("mysql", fmt.Sprintf("root:wrong@tcp(127.0.0.1:%d)/", n.MySQLPort))
	defer bad.Close()
	if err := bad.Ping(); mysqlCode(err) != 1045 {
		t.Fatalf("wrong password: want 1045, got %v", err)
	}
	if _, err := n.DB(t, "").Exec("SELECT 1"); err != nil {
		t.Fatalf("root after a failed login: %v", err)
	}
}

// TestConcurrentCounter: concurrent autocommit increments of one row from
// many connections are all counted (conflicts are retried, never lost).
func TestConcurrentCounter(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE counter (id INT PRIMARY KEY, v INT NOT NULL)")
	mustExec(t, db, "INSERT INTO counter VALUES (1, 0)")
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := db.Exec("UPDATE counter SET v = v + 1 WHERE id = 1"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var v int
	db.QueryRow("SELECT v FROM counter WHERE id = 1").Scan(&v)
	if v != workers*each {
		t.Fatalf("counter = %d, want %d", v, workers*each)
	}
}

// TestMultiStatements: several statements in one COM_QUERY get one result
// each, in order.
func TestMultiStatements(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot", "multiStatements=true")
	mustExec(t, db, "CREATE TABLE m (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO m VALUES (1, 'a'); INSERT INTO m VALUES (2, 'b'); UPDATE m SET v = 'c' WHERE id = 2")
	rows, err := db.Query("SELECT v FROM m WHERE id = 1; SELECT v FROM m WHERE id = 2")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		for rows.Next() {
			var v string
			rows.Scan(&v)
			got = append(got, v)
		}
		if !rows.NextResultSet() {
			break
		}
	}
	rows.Close()
	if strings.Join(got, ",") != "a,c" {
		t.Fatalf("multi-statement results %v, want [a c]", got)
	}
	// An error in the middle stops the batch; earlier statements stay done.
	if _, err := db.Exec("INSERT INTO m VALUES (3, 'd'); INSERT INTO nope VALUES (1); INSERT INTO m VALUES (4, 'e')"); mysqlCode(err) != 1146 {
		t.Fatalf("want 1146, got %v", err)
	}
	var cnt int
	db.QueryRow("SELECT COUNT(*) FROM m").Scan(&cnt)
	if cnt != 3 {
		t.Fatalf("rows = %d, want 3 (the statement before the error ran, the one after did not)", cnt)
	}
}

// TestOnUpdateCurrentTimestamp: an ON UPDATE CURRENT_TIMESTAMP column
// changes when another column does, not on a no-op update nor when set
// explicitly; the value is the origin's (a rebuild from the log, which
// applies images without firing the trigger, gives the same rows).
func TestOnUpdateCurrentTimestamp(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE u (id INT PRIMARY KEY, v INT, updated TIMESTAMP NOT NULL DEFAULT '2000-01-01 00:00:00' ON UPDATE CURRENT_TIMESTAMP, note VARCHAR(20) NOT NULL DEFAULT 'marmot', KEY (note))")
	mustExec(t, db, "INSERT INTO u (id, v) VALUES (1, 1), (2, 2), (3, 3)")
	mustExec(t, db, "UPDATE u SET v = 10 WHERE id = 1")
	mustExec(t, db, "UPDATE u SET v = v WHERE id = 2")
	mustExec(t, db, "UPDATE u SET v = 30, updated = '2001-01-01 00:00:00' WHERE id = 3")
	got := map[int]string{}
	rows, err := db.Query("SELECT id, updated FROM u")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int
		var ts string
		rows.Scan(&id, &ts)
		got[id] = ts
	}
	rows.Close()
	if got[1] == "2000-01-01 00:00:00" || got[2] != "2000-01-01 00:00:00" || got[3] != "2001-01-01 00:00:00" {
		t.Fatalf("timestamps after updates: %v", got)
	}
	var ddl, name string
	db.QueryRow("SHOW CREATE TABLE u").Scan(&name, &ddl)
	if !strings.Contains(ddl, "ON UPDATE CURRENT_TIMESTAMP") {
		t.Errorf("SHOW CREATE TABLE lost ON UPDATE:\n%s", ddl)
	}
	compareWithRebuild(t, n, "marmot", "u")
}

// TestDecimalSemantics: DECIMAL compares and sorts as a number and reads
// back with its scale; month arithmetic clamps like MySQL's.
func TestDecimalSemantics(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE prices (id INT PRIMARY KEY, price DECIMAL(10,2))")
	mustExec(t, db, "INSERT INTO prices VALUES (1, 5), (2, '100.50'), (3, 20.1)")
	var ids []string
	rows, err := db.Query("SELECT id, price FROM prices WHERE price > 10 ORDER BY price")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, p string
		rows.Scan(&id, &p)
		ids = append(ids, id+"="+p)
	}
	rows.Close()
	if strings.Join(ids, ",") != "3=20.10,2=100.50" {
		t.Fatalf("price > 10 ORDER BY price: %v", ids)
	}
	var d string
	db.QueryRow("SELECT DATE_ADD('2024-01-31', INTERVAL 1 MONTH)").Scan(&d)
	if !strings.HasPrefix(d, "2024-02-29") {
		t.Fatalf("DATE_ADD('2024-01-31', INTERVAL 1 MONTH) = %s, want 2024-02-29", d)
	}
}
