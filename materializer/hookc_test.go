package materializer

import (
	"context"
	"database/sql"
	"reflect"
	"testing"

	sqlite3 "github.com/mattn/go-sqlite3"
)

type capturedRow struct {
	ev   event
	temp bool
}

// hookStatements exercise every value kind (empty text and blob are not
// NULL), updates of the key, deletes, temp tables, and tables the capture
// skips (sqlite_sequence through AUTOINCREMENT, marmot's own).
var hookStatements = []string{
	`INSERT INTO t VALUES (1, -5, 1.5, 'héllo', x'00ff', NULL)`,
	`INSERT INTO t VALUES (2, 9223372036854775807, -0.25, '', x'', 'x')`,
	`UPDATE t SET s = s || '!', r = r * 2 WHERE id = 1`,
	`UPDATE t SET id = 3 WHERE id = 2`,
	`INSERT INTO a (v) VALUES ('auto')`,
	`INSERT INTO __marmot_x VALUES (1)`,
	`INSERT INTO temp.tt VALUES (7, 'temp row')`,
	`DELETE FROM t WHERE id = 1`,
	`DELETE FROM temp.tt`,
}

func openHookDB(t *testing.T) (*sql.Conn, *sqlite3.SQLiteConn) {
	t.Helper()
	db, err := sql.Open("sqlite3", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	for _, q := range []string{
		`CREATE TABLE t (id INTEGER PRIMARY KEY, i INT, r REAL, s TEXT, b BLOB, n TEXT)`,
		`CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT)`,
		`CREATE TABLE __marmot_x (id INTEGER PRIMARY KEY)`,
		`CREATE TEMP TABLE tt (id INTEGER PRIMARY KEY, v TEXT)`,
	} {
		if _, err := c.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	var sc *sqlite3.SQLiteConn
	if err := c.Raw(func(dc any) error { sc = dc.(*sqlite3.SQLiteConn); return nil }); err != nil {
		t.Fatal(err)
	}
	return c, sc
}

// openCapturing is openHookDB with the C row capture installed and on.
// Its state is freed when the test ends, before the connection closes:
// nothing runs on the connection by then, and closing fires no hook.
func openCapturing(t *testing.T) (*sql.Conn, *rowCapture) {
	t.Helper()
	c, sc := openHookDB(t)
	rc, err := openRowCapture(sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rc.close)
	rc.set(true)
	return c, rc
}

// TestRowCaptureMatchesGoHook: the C hook records exactly what go-sqlite3's
// hook, read the way capture did before (imageOf), gives for the same
// statements.
func TestRowCaptureMatchesGoHook(t *testing.T) {
	ctx := context.Background()
	var want []capturedRow
	gc, gsc := openHookDB(t)
	gsc.RegisterPreUpdateHook(func(p sqlite3.SQLitePreUpdateData) {
		if internalTable(p.TableName) || (p.DatabaseName != "main" && p.DatabaseName != "temp") {
			return
		}
		want = append(want, capturedRow{imageOf(p), p.DatabaseName == "temp"})
	})
	for _, q := range hookStatements {
		if _, err := gc.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	cc, csc := openHookDB(t)
	rc, err := openRowCapture(csc)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.close()
	var got []capturedRow
	take := func() {
		t.Helper()
		if err := rc.take(func(ev event, temp bool) { got = append(got, capturedRow{ev, temp}) }); err != nil {
			t.Fatal(err)
		}
	}
	// Off: nothing is recorded.
	if _, err := cc.ExecContext(ctx, `INSERT INTO t VALUES (100, 1, 1, 'off', NULL, NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := cc.ExecContext(ctx, `DELETE FROM t WHERE id = 100`); err != nil {
		t.Fatal(err)
	}
	take()
	if len(got) != 0 {
		t.Fatalf("%d rows recorded while off", len(got))
	}
	rc.set(true)
	for i, q := range hookStatements {
		if _, err := cc.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if i%3 == 0 {
			take() // draining midway keeps the order
		}
	}
	take()
	if len(want) == 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("C hook recorded\n%#v\nwant (go-sqlite3's hook)\n%#v", got, want)
	}
	for _, r := range got {
		for _, img := range [][]any{r.ev.old, r.ev.new} {
			for _, v := range img {
				if b, ok := v.([]byte); ok && b == nil {
					t.Fatalf("empty text or blob decoded as NULL in %#v", r.ev)
				}
			}
		}
	}
}

func TestDecodeRowChangesRefusesTruncated(t *testing.T) {
	c, rc := openCapturing(t)
	if _, err := c.ExecContext(context.Background(), `INSERT INTO t VALUES (1, 2, 3.5, 'text', x'01', NULL)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(context.Background(), `UPDATE t SET s = 'more' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	b, failed, _ := rc.takeBytes()
	raw := append([]byte(nil), b...)
	if failed || len(raw) == 0 {
		t.Fatalf("recorded %d bytes, failed %v", len(raw), failed)
	}
	rows := 0
	if err := decodeRowChanges(raw, func(event, bool) { rows++ }); err != nil || rows != 2 {
		t.Fatalf("decoded %d rows, %v; want 2", rows, err)
	}
	// Cut anywhere but between the two rows, the buffer is refused.
	whole := 0
	for n := 1; n < len(raw); n++ {
		if err := decodeRowChanges(raw[:n], func(event, bool) {}); err == nil {
			whole++
		}
	}
	if whole != 1 {
		t.Fatalf("%d cut points decoded without error, want 1 (the row boundary)", whole)
	}
}

// TestRowCaptureLargeRows: rows far larger than the initial buffer are
// recorded whole, and the grown buffer is let go once decoded.
func TestRowCaptureLargeRows(t *testing.T) {
	ctx := context.Background()
	c, rc := openCapturing(t)
	if _, err := c.ExecContext(ctx, `WITH RECURSIVE g(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM g WHERE v < 3) INSERT INTO t (id, s) SELECT v, printf('%.*c', 1048576 + v, 'x') FROM g`); err != nil {
		t.Fatal(err)
	}
	var got []event
	if err := rc.take(func(ev event, _ bool) { got = append(got, ev) }); err != nil {
		t.Fatal(err)
	}
	if _, _, large := rc.takeBytes(); large {
		t.Fatal("the grown buffer was kept after it was decoded")
	}
	if len(got) != 3 {
		t.Fatalf("%d rows, want 3", len(got))
	}
	for i, ev := range got {
		if s, _ := ev.new[3].([]byte); len(s) != 1048576+i+1 {
			t.Fatalf("row %d: text of %d bytes, want %d", i+1, len(s), 1048576+i+1)
		}
	}
	// After the trim the capture goes on.
	if _, err := c.ExecContext(ctx, `INSERT INTO t (id, s) VALUES (10, 'small')`); err != nil {
		t.Fatal(err)
	}
	got = nil
	if err := rc.take(func(ev event, _ bool) { got = append(got, ev) }); err != nil || len(got) != 1 || string(got[0].new[3].([]byte)) != "small" {
		t.Fatalf("after trim: %d rows, %v", len(got), err)
	}
}
