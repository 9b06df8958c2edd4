package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// fixtureWall is the wall clock of every local change set in the fixture:
// the injected clock stands still, so HLCs are fixtureWall.0@7, .1@7, ...
const (
	fixtureWall = 1_700_000_000_000 // 2023-11-14T22:13:20Z
	fixtureNode = 7
	peerNode    = 9
)

func vInt(i int64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: i}} }
func vText(s string) *marmotv1.Value {
	return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(s)}}
}
func vReal(f float64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Real{Real: f}} }
func vBlob(b []byte) *marmotv1.Value  { return &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: b}} }
func vNull() *marmotv1.Value          { return &marmotv1.Value{Kind: &marmotv1.Value_Null{Null: true}} }

// txnID is a recognisable transaction id: 16 copies of b.
func txnID(b byte) []byte { return bytes.Repeat([]byte{b}, 16) }

// mustOpenLog opens (creating) the log of dataDir as node 7 with a clock
// that stands at fixtureWall; the test closes it before running a command.
func mustOpenLog(tb testing.TB, dataDir string) *txlog.Log {
	tb.Helper()
	l, err := txlog.Open(txlog.Options{
		Dir:    filepath.Join(dataDir, "log"),
		NodeID: fixtureNode,
		Now:    func() time.Time { return time.UnixMilli(fixtureWall) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func mustCommit(tb testing.TB, l *txlog.Log, cs *marmotv1.ChangeSet) {
	tb.Helper()
	if err := l.Commit(context.Background(), cs, l.Durable()); err != nil {
		tb.Fatalf("commit %v: %v", cs, err)
	}
}

// fixture is the log every command test reads, in HLC order:
//
//	seq  hlc                 db    kind       content
//	1    fixtureWall.0@7     app   create-db
//	2    fixtureWall.1@7     app   ddl        users
//	3    fixtureWall.2@7     app   rows       insert users 1 alice, 2 bob
//	4    fixtureWall.3@7     app   rows       update users 1 -> alicia, delete users 2
//	5    fixtureWall.4@7     shop  create-db
//	6    fixtureWall.5@7     shop  ddl        items
//	7    fixtureWall.6@7     shop  rows       insert items (1, 9.5, x'00ff', NULL)
//	1    fixtureWall+5.0@9   app   rows       insert users 3 carol (ingested from node 9)
func fixture(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	l := mustOpenLog(tb, dir)
	users := []string{"id", "name"}
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(1), Database: "app", DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(2), Database: "app",
		Ddl: "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)", DdlTables: []string{"users"}})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(3), Database: "app", Rows: []*marmotv1.RowChange{
		{Table: "users", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{vInt(1)}, Columns: users, After: []*marmotv1.Value{vInt(1), vText("alice")}},
		{Table: "users", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{vInt(2)}, Columns: users, After: []*marmotv1.Value{vInt(2), vText("bob")}},
	}})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(4), Database: "app", Rows: []*marmotv1.RowChange{
		{Table: "users", Op: marmotv1.Op_OP_UPDATE, Pk: []*marmotv1.Value{vInt(1)}, Columns: users,
			Before: []*marmotv1.Value{vInt(1), vText("alice")}, After: []*marmotv1.Value{vInt(1), vText("alicia")}},
		{Table: "users", Op: marmotv1.Op_OP_DELETE, Pk: []*marmotv1.Value{vInt(2)}, Columns: users, Before: []*marmotv1.Value{vInt(2), vText("bob")}},
	}})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(5), Database: "shop", DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(6), Database: "shop",
		Ddl: "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, price REAL, img BLOB, note TEXT)", DdlTables: []string{"items"}})
	mustCommit(tb, l, &marmotv1.ChangeSet{Id: txnID(7), Database: "shop", Rows: []*marmotv1.RowChange{
		{Table: "items", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{vInt(1)}, Columns: []string{"id", "price", "img", "note"},
			After: []*marmotv1.Value{vInt(1), vReal(9.5), vBlob([]byte{0, 0xff}), vNull()}},
	}})
	err := l.Ingest(context.Background(), &marmotv1.ChangeSet{Id: txnID(8), Origin: peerNode, Seq: 1,
		Hlc: &marmotv1.HLC{WallMs: fixtureWall + 5, NodeId: peerNode}, Database: "app", Rows: []*marmotv1.RowChange{
			{Table: "users", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{vInt(3)}, Columns: users, After: []*marmotv1.Value{vInt(3), vText("carol")}},
		}})
	if err != nil {
		tb.Fatal(err)
	}
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// insertUser is a change set inserting (id, name) into app.users.
func insertUser(id int64, name string) *marmotv1.ChangeSet {
	return &marmotv1.ChangeSet{Id: txnID(byte(id)), Database: "app", Rows: []*marmotv1.RowChange{
		{Table: "users", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{vInt(id)}, Columns: []string{"id", "name"},
			After: []*marmotv1.Value{vInt(id), vText(name)}},
	}}
}

// runCmd runs a command and returns its output, failing the test on error.
func runCmd(tb testing.TB, fn func(context.Context, []string, io.Writer) error, args ...string) string {
	tb.Helper()
	var out bytes.Buffer
	if err := fn(context.Background(), args, &out); err != nil {
		tb.Fatalf("%v: %v", args, err)
	}
	return out.String()
}

// lines splits output into lines without the trailing empty one.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// wantErr fails unless err matches target (errors.Is) or, for a nil
// target, contains substr.
func wantErr(tb testing.TB, err, target error, substr string) {
	tb.Helper()
	switch {
	case err == nil:
		tb.Fatalf("got no error, want %v %q", target, substr)
	case target != nil && !errors.Is(err, target):
		tb.Fatalf("got %v, want %v", err, target)
	case !strings.Contains(err.Error(), substr):
		tb.Fatalf("got %q, want it to contain %q", err, substr)
	}
}
