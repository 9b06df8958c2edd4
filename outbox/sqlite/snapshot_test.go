package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/outbox"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// node is a log and its views, as marmotd wires them.
type node struct {
	l   *txlog.Log
	m   *materializer.Materializer
	dir string
}

func mustOpenNode(tb testing.TB) node {
	tb.Helper()
	dir := tb.TempDir()
	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(dir, "log"), NodeID: 1})
	if err != nil {
		tb.Fatal(err)
	}
	m, err := materializer.Open(context.Background(), materializer.Options{Dir: filepath.Join(dir, "db"), Log: l})
	if err != nil {
		l.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close(); l.Close() })
	return node{l, m, filepath.Join(dir, "db")}
}

func ival(i int64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: i}} }
func tval(s string) *marmotv1.Value {
	return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(s)}}
}

func (n node) commit(tb testing.TB, cs *marmotv1.ChangeSet) {
	tb.Helper()
	cs.Id = materializer.NewTxnID()
	if err := n.l.Commit(context.Background(), cs, n.l.Durable()); err != nil {
		tb.Error(err)
	}
}

// put writes users(id, name) = (id, name); before is the old name or "".
func (n node) put(tb testing.TB, db string, id int64, before, after string) {
	rc := &marmotv1.RowChange{Table: "users", Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{ival(id)},
		Columns: []string{"id", "name"}, After: []*marmotv1.Value{ival(id), tval(after)}}
	if before != "" {
		rc.Op, rc.Before = marmotv1.Op_OP_UPDATE, []*marmotv1.Value{ival(id), tval(before)}
	}
	n.commit(tb, &marmotv1.ChangeSet{Database: db, Rows: []*marmotv1.RowChange{rc}})
}

func (n node) del(tb testing.TB, db string, id int64, before string) {
	rc := &marmotv1.RowChange{Table: "users", Op: marmotv1.Op_OP_DELETE, Pk: []*marmotv1.Value{ival(id)},
		Columns: []string{"id", "name"}, Before: []*marmotv1.Value{ival(id), tval(before)}}
	n.commit(tb, &marmotv1.ChangeSet{Database: db, Rows: []*marmotv1.RowChange{rc}})
}

func (n node) createDB(tb testing.TB, db string) {
	n.commit(tb, &marmotv1.ChangeSet{Database: db, DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE})
	n.commit(tb, &marmotv1.ChangeSet{Database: db, Ddl: "CREATE TABLE users (id INT PRIMARY KEY, name TEXT)", DdlTables: []string{"users"}})
}

// rowsOf reads users of db from its view once it holds everything durable.
func (n node) rowsOf(tb testing.TB, db string) map[string]string {
	tb.Helper()
	out := map[string]string{}
	err := Views{Materializer: n.m, Log: n.l}.Read(context.Background(), db, n.l.Durable(), func(_ txlog.Watermark, tx *sql.Tx) error {
		rows, err := tx.Query("SELECT id, name FROM users")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			out[fmt.Sprint(id)] = name
		}
		return rows.Err()
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

type event struct {
	Payload struct {
		Op     string         `json:"op"`
		After  map[string]any `json:"after"`
		Before map[string]any `json:"before"`
		Source map[string]any `json:"source"`
		DDL    string         `json:"ddl"`
	} `json:"payload"`
}

// TestSnapshotSeam: a new sink gets r events for the rows of every
// database, then the change stream, while writes go on in two databases
// whose views apply independently. A consumer applying the events in order
// ends with exactly the views' rows, and no change event arrives twice.
func TestSnapshotSeam(t *testing.T) {
	n := mustOpenNode(t)
	for _, db := range []string{"a", "b"} {
		n.createDB(t, db)
		for id := int64(1); id <= 300; id++ {
			n.put(t, db, id, "", fmt.Sprintf("%s-%d-v0", db, id))
		}
	}
	names := map[string]string{} // db/id -> current name, for the writer
	for _, db := range []string{"a", "b"} {
		for id := int64(1); id <= 300; id++ {
			names[db+"/"+fmt.Sprint(id)] = fmt.Sprintf("%s-%d-v0", db, id)
		}
	}

	sink := outbox.NewMemory()
	p, err := outbox.New(outbox.Options{Name: "snap", Sink: sink, Log: n.l, Views: Views{Materializer: n.m, Log: n.l},
		BatchSize: 50, PollInterval: time.Millisecond, RetryInitial: time.Millisecond, RetryMax: 20 * time.Millisecond,
		Catalog: &Catalog{Dir: n.dir}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()

	// Writes during the snapshot: inserts, updates and deletes in both
	// databases.
	var writes atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := int64(1000)
		for {
			select {
			case <-stop:
				return
			default:
			}
			db := []string{"a", "b"}[rand.IntN(2)]
			switch k := rand.IntN(3); {
			case k == 0:
				next++
				name := fmt.Sprintf("%s-%d-new", db, next)
				n.put(t, db, next, "", name)
				names[db+"/"+fmt.Sprint(next)] = name
			default:
				id := int64(1 + rand.IntN(300))
				key := db + "/" + fmt.Sprint(id)
				old, ok := names[key]
				if !ok {
					continue
				}
				if k == 1 {
					name := fmt.Sprintf("%s-%d-w%d", db, id, writes.Load())
					n.put(t, db, id, old, name)
					names[key] = name
				} else {
					n.del(t, db, id, old)
					delete(names, key)
				}
			}
			writes.Add(1)
		}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if e, w := p.SnapshotEpoch(); e == 1 && w == 1 && writes.Load() > 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot not done: %v", func() []any { e, w := p.SnapshotEpoch(); return []any{e, w} }())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := p.WaitFor(wctx, n.l.Durable()); err != nil {
		t.Fatal(err)
	}

	state := map[string]map[string]string{"a": {}, "b": {}}
	ids := map[string]bool{}
	var reads, lasts, ddls int
	for _, m := range sink.Messages() {
		if m.Cursor || m.Value == nil {
			continue
		}
		if ids[m.ID] {
			t.Errorf("event %s published twice", m.ID)
		}
		ids[m.ID] = true
		var e event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		if e.Payload.DDL != "" {
			ddls++
			continue
		}
		db := fmt.Sprint(e.Payload.Source["db"])
		switch e.Payload.Op {
		case "r":
			reads++
			if e.Payload.Source["snapshot"] == "last" {
				lasts++
			}
			fallthrough
		case "c", "u":
			state[db][fmt.Sprint(e.Payload.After["id"])] = fmt.Sprint(e.Payload.After["name"])
		case "d":
			delete(state[db], fmt.Sprint(e.Payload.Before["id"]))
		}
	}
	if reads < 500 || lasts != 1 || ddls < 2 {
		t.Errorf("%d r events (%d last), %d schema changes; want >= 500, 1 last, >= 2", reads, lasts, ddls)
	}
	for _, db := range []string{"a", "b"} {
		want := n.rowsOf(t, db)
		if len(want) != len(state[db]) {
			t.Errorf("%s: consumer has %d rows, view %d", db, len(state[db]), len(want))
		}
		for k, v := range want {
			if state[db][k] != v {
				t.Errorf("%s id %s: consumer %q, view %q", db, k, state[db][k], v)
			}
		}
	}
	t.Logf("%d r events, %d writes during and after the snapshot", reads, writes.Load())
}

// TestSnapshotModeNever: with snapshot_mode "never" a new sink gets no r
// events and no snapshot schema records; it streams the retained log from
// its beginning, so the rows written before it started arrive as c events.
func TestSnapshotModeNever(t *testing.T) {
	n := mustOpenNode(t)
	n.createDB(t, "a")
	for id := int64(1); id <= 20; id++ {
		n.put(t, "a", id, "", fmt.Sprintf("a-%d", id))
	}
	sink := outbox.NewMemory()
	p, err := outbox.New(outbox.Options{Name: "never", Sink: sink, Log: n.l, Views: Views{Materializer: n.m, Log: n.l},
		SnapshotMode: outbox.SnapshotNever, PollInterval: time.Millisecond, Catalog: &Catalog{Dir: n.dir}})
	if err != nil {
		t.Fatal(err)
	}
	if e, w := p.SnapshotEpoch(); e != 0 || w != 0 {
		t.Fatalf("snapshot epoch %d, wanted %d; want none", e, w)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	}()
	n.put(t, "a", 21, "", "a-21")
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := p.WaitFor(wctx, n.l.Durable()); err != nil {
		t.Fatal(err)
	}
	creates := 0
	for _, m := range sink.Messages() {
		if m.Cursor || m.Value == nil {
			continue
		}
		var e event
		if err := json.Unmarshal(m.Value, &e); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Payload.Op == "r" || e.Payload.Source["snapshot"] != "false":
			t.Errorf("snapshot event %s: %s", m.ID, m.Value)
		case e.Payload.Op == "c":
			creates++
		}
	}
	if creates != 21 {
		t.Errorf("%d create events, want 21 (the retained log and the write after start)", creates)
	}
	if _, err := outbox.New(outbox.Options{Name: "x", Sink: sink, Log: n.l, SnapshotMode: "schema_only"}); err == nil {
		t.Error("unknown snapshot mode accepted")
	}
}
