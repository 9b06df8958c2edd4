package e2e

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"
)

// TestBadInput: garbage on the wire, unsupported statements, oversized
// values and unknown names get errors; the node keeps serving and nothing
// is written.
func TestBadInput(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE kv (k VARCHAR(64) PRIMARY KEY, v LONGTEXT)")

	// Raw garbage: handshake phase and after.
	for i := 0; i < 20; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", n.MySQLPort), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(300 * time.Millisecond))
		buf := make([]byte, 4096)
		c.Read(buf) // server greeting
		junk := make([]byte, 1+rand.IntN(200))
		for j := range junk {
			junk[j] = byte(rand.IntN(256))
		}
		if i%2 == 0 {
			// A well-formed header with a lying length.
			junk = append([]byte{0xff, 0xff, 0x00, 0x01}, junk...)
		}
		c.Write(junk)
		c.Read(buf)
		c.Close()
	}

	cases := []struct {
		q    string
		code uint16
	}{
		{"SELEC 1", 1064},
		{"INSERT INTO kv VALUES", 1064},
		{"CREATE PROCEDURE p() BEGIN SELECT 1; END", 1235},
		{"SELECT * FROM missing", 1146},
		{"USE nowhere", 1049},
		{"CREATE TABLE nopk (a INT)", 3750},
		{"INSERT INTO kv (k, nope) VALUES ('a', 1)", 1054},
		{"", 1065},
	}
	for _, c := range cases {
		_, err := db.Exec(c.q)
		if got := mysqlCode(err); got != c.code {
			t.Errorf("%q: want error %d, got %v", c.q, c.code, err)
		}
	}
	// A 16 MiB value round-trips; the node is still fine afterwards.
	big := strings.Repeat("x", 16<<20)
	mustExec(t, db, "INSERT INTO kv VALUES ('big', ?)", big)
	var l int
	if err := db.QueryRow("SELECT LENGTH(v) FROM kv WHERE k = 'big'").Scan(&l); err != nil || l != len(big) {
		t.Fatalf("big value: len %d, %v", l, err)
	}
	var cnt int
	if err := db.QueryRow("SELECT COUNT(*) FROM kv").Scan(&cnt); err != nil || cnt != 1 {
		t.Fatalf("rows after bad input: %d %v (bad statements must write nothing)", cnt, err)
	}
}

// TestMaxAllowedPacket: a request bigger than max_allowed_packet is refused
// with 1153 before the server buffers it; the node keeps serving.
func TestMaxAllowedPacket(t *testing.T) {
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: []string{"MARMOT_MYSQL_MAX_ALLOWED_PACKET=1048576"}}
	n.Start()
	t.Cleanup(n.Stop)
	db := n.DB(t, "marmot")
	mustExec(t, db, "CREATE TABLE blobs (id INT PRIMARY KEY, b LONGBLOB)")
	mustExec(t, db, "INSERT INTO blobs VALUES (1, ?)", make([]byte, 512<<10))
	_, err := db.Exec("INSERT INTO blobs VALUES (2, ?)", make([]byte, 2<<20))
	if err == nil {
		t.Fatal("a 2 MiB packet was accepted with max_allowed_packet = 1 MiB")
	}
	if code := mysqlCode(err); code != 0 && code != 1153 {
		t.Fatalf("want 1153, got %v", err)
	}
	// MySQL closes the connection after 1153; the pool may not have
	// noticed yet (n.DB returns the same pool), so ask on a fresh one.
	fresh, err := sql.Open("mysql", n.DSN("marmot"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	var cnt int
	if err := fresh.QueryRow("SELECT COUNT(*) FROM blobs").Scan(&cnt); err != nil || cnt != 1 {
		t.Fatalf("after the refused packet: %d rows, %v\n%s", cnt, err, n.Logs())
	}
}

// TestMaxConnections: connections beyond mysql.max_connections get MySQL's
// error 1040; closing one lets the next in.
func TestMaxConnections(t *testing.T) {
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: []string{"MARMOT_MYSQL_MAX_CONNECTIONS=2"}}
	n.Start()
	t.Cleanup(n.Stop)
	db := n.DB(t, "marmot")
	db.SetMaxOpenConns(3)
	ctx := t.Context()
	c1, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.PingContext(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = db.Conn(ctx)
	if mysqlCode(err) != 1040 {
		t.Fatalf("third connection: want 1040, got %v", err)
	}
	c1.Close()
	c2.Close()
	eventually(t, 10*time.Second, func() error {
		c, err := db.Conn(ctx)
		if err != nil {
			return err
		}
		return c.Close()
	})
}
