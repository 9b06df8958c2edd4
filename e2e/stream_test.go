package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestLargeResultsStream: results beyond the in-memory limit are streamed
// (text and binary protocol, and inside a multi-statement query) and arrive
// complete and in order.
func TestLargeResultsStream(t *testing.T) {
	n := StartNode(t)
	db := n.DB(t, "marmot", "multiStatements=true")
	mustExec(t, db, "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(20), d DECIMAL(8,2))")
	const rows = 25000
	for start := 1; start <= rows; start += 1000 {
		var b strings.Builder
		b.WriteString("INSERT INTO big VALUES ")
		for i := start; i < start+1000; i++ {
			if i > start {
				b.WriteString(",")
			}
			fmt.Fprintf(&b, "(%d,'v%d',%d.5)", i, i, i)
		}
		mustExec(t, db, b.String())
	}
	check := func(name string, q string, args ...any) {
		t.Helper()
		r, err := db.Query(q, args...)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer r.Close()
		count, sum, prev := 0, 0, 0
		for r.Next() {
			var id int
			var v, d string
			if err := r.Scan(&id, &v, &d); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if id <= prev || v != fmt.Sprintf("v%d", id) || d != fmt.Sprintf("%d.50", id) {
				t.Fatalf("%s: row %d after %d: %q %q", name, id, prev, v, d)
			}
			prev = id
			count++
			sum += id
		}
		if err := r.Err(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if count != rows || sum != rows*(rows+1)/2 {
			t.Fatalf("%s: %d rows (sum %d), want %d", name, count, sum, rows)
		}
	}
	check("text", "SELECT id, v, d FROM big ORDER BY id")
	prepared := n.DB(t, "marmot", "interpolateParams=false")
	r, err := prepared.Query("SELECT id, v, d FROM big WHERE id >= ? ORDER BY id", 1)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for r.Next() {
		got++
	}
	r.Close()
	if got != rows {
		t.Fatalf("binary protocol: %d rows, want %d", got, rows)
	}
	// A streamed result in the middle of a multi-statement query.
	mr, err := db.Query("SELECT id FROM big ORDER BY id; SELECT COUNT(*) FROM big")
	if err != nil {
		t.Fatal(err)
	}
	first := 0
	for mr.Next() {
		first++
	}
	if !mr.NextResultSet() || !mr.Next() {
		t.Fatalf("second result set missing after a streamed one (%d rows in the first): %v", first, mr.Err())
	}
	var c int
	mr.Scan(&c)
	mr.Close()
	if first != rows || c != rows {
		t.Fatalf("multi-statement: %d streamed rows, count %d", first, c)
	}
	out, err := n.MySQL(t, "SELECT id FROM big;", "marmot", "-N")
	if err != nil || strings.Count(out, "\n") != rows {
		t.Fatalf("mysql CLI: %v, %d lines", err, strings.Count(out, "\n"))
	}
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
}
