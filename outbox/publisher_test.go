package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func mustOpenLog(tb testing.TB, node uint64, dir string) *txlog.Log {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	l, err := txlog.Open(txlog.Options{Dir: dir, NodeID: node})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close() })
	return l
}

func ival(i int64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: i}} }
func tval(s string) *marmotv1.Value {
	return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(s)}}
}

func txid() []byte { return fmt.Appendf(nil, "%016x", rand.Uint64()) }

// row is a change set of one row of users(id, name) in db.
func row(db string, op marmotv1.Op, id int64, before, after string) *marmotv1.ChangeSet {
	rc := &marmotv1.RowChange{Table: "users", Op: op, Pk: []*marmotv1.Value{ival(id)}, Columns: []string{"id", "name"}}
	if before != "" {
		rc.Before = []*marmotv1.Value{ival(id), tval(before)}
	}
	if after != "" {
		rc.After = []*marmotv1.Value{ival(id), tval(after)}
	}
	return &marmotv1.ChangeSet{Id: txid(), Database: db, Rows: []*marmotv1.RowChange{rc}}
}

func commit(tb testing.TB, l *txlog.Log, cs *marmotv1.ChangeSet) *marmotv1.ChangeSet {
	tb.Helper()
	if err := l.Commit(context.Background(), cs, l.Durable()); err != nil {
		tb.Fatal(err)
	}
	return cs
}

// startPublisher runs a publisher until the test ends (or stop is called).
func startPublisher(tb testing.TB, o Options) (p *Publisher, stop func()) {
	tb.Helper()
	if o.Name == "" {
		o.Name = "test"
	}
	o.PollInterval = time.Millisecond
	if o.RetryInitial == 0 {
		o.RetryInitial, o.RetryMax = time.Millisecond, 20*time.Millisecond
	}
	p, err := New(o)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			tb.Errorf("Run: %v", err)
		}
	}
	tb.Cleanup(stop)
	return p, stop
}

func waitCovers(tb testing.TB, p *Publisher, w txlog.Watermark) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.WaitFor(ctx, w); err != nil {
		tb.Fatalf("cursor %v does not reach %v: %v", p.Watermark(), w, err)
	}
}

// events returns the sink's event messages (not cursor records).
func events(m *Memory) []Message {
	var out []Message
	for _, msg := range m.Messages() {
		if !msg.Cursor {
			out = append(out, msg)
		}
	}
	return out
}

type envelope struct {
	Schema struct {
		Type   string `json:"type"`
		Fields []struct {
			Field  string            `json:"field"`
			Type   string            `json:"type"`
			Fields []json.RawMessage `json:"fields"`
		} `json:"fields"`
	} `json:"schema"`
	Payload struct {
		Before map[string]any `json:"before"`
		After  map[string]any `json:"after"`
		Op     string         `json:"op"`
		TSMS   int64          `json:"ts_ms"`
		Source struct {
			Connector string `json:"connector"`
			DB        string `json:"db"`
			Table     string `json:"table"`
			Origin    uint64 `json:"origin"`
			Seq       uint64 `json:"seq"`
			TxID      string `json:"txId"`
			HLC       string `json:"hlc"`
			Snapshot  string `json:"snapshot"`
			TSMS      int64  `json:"ts_ms"`
		} `json:"source"`
		DDL string `json:"ddl"`
	} `json:"payload"`
}

func decode(tb testing.TB, b []byte) envelope {
	tb.Helper()
	var e envelope
	if err := json.Unmarshal(b, &e); err != nil {
		tb.Fatalf("event is not JSON: %v\n%s", err, b)
	}
	return e
}

func TestPublishRowEvents(t *testing.T) {
	l := mustOpenLog(t, 1, "")
	sink := NewMemory()
	p, _ := startPublisher(t, Options{Sink: sink, Log: l})
	ddl := commit(t, l, &marmotv1.ChangeSet{Id: txid(), Database: "shop", Ddl: "CREATE TABLE IF NOT EXISTS users (id INT PRIMARY KEY, name TEXT)", DdlTables: []string{"users"}})
	ins := commit(t, l, row("shop", marmotv1.Op_OP_INSERT, 1, "", "alice"))
	upd := commit(t, l, row("shop", marmotv1.Op_OP_UPDATE, 1, "alice", "alicia"))
	del := commit(t, l, row("shop", marmotv1.Op_OP_DELETE, 1, "alicia", ""))
	waitCovers(t, p, l.Durable())

	got := events(sink)
	if len(got) != 5 { // ddl, c, u, d, tombstone
		t.Fatalf("%d messages, want 5: %+v", len(got), got)
	}
	if got[0].Topic != "marmot.cdc" || decode(t, got[0].Value).Payload.DDL != ddl.Ddl {
		t.Errorf("schema change = %s on %s", got[0].Value, got[0].Topic)
	}
	want := []struct {
		op            string
		before, after any
		cs            *marmotv1.ChangeSet
	}{{"c", nil, "alice", ins}, {"u", "alice", "alicia", upd}, {"d", "alicia", nil, del}}
	ids := map[string]bool{}
	for i, w := range want {
		m := got[i+1]
		if m.Topic != "marmot.cdc.shop.users" {
			t.Errorf("topic %q", m.Topic)
		}
		if string(m.Key) != `{"schema":{"type":"struct","name":"marmot.cdc.shop.users.Key","optional":false,"fields":[{"type":"int64","optional":false,"field":"id"}]},"payload":{"id":1}}` {
			t.Errorf("key %s", m.Key)
		}
		e := decode(t, m.Value)
		if e.Payload.Op != w.op {
			t.Errorf("event %d op %q, want %q", i, e.Payload.Op, w.op)
		}
		name := func(img map[string]any) any {
			if img == nil {
				return nil
			}
			if img["id"] != float64(1) {
				t.Errorf("event %d image id = %v", i, img["id"])
			}
			return img["name"]
		}
		if b, a := name(e.Payload.Before), name(e.Payload.After); b != w.before || a != w.after {
			t.Errorf("event %d: before %v after %v, want %v %v", i, b, a, w.before, w.after)
		}
		s := e.Payload.Source
		if s.Connector != "marmot" || s.DB != "shop" || s.Table != "users" || s.Origin != 1 || s.Seq != w.cs.Seq ||
			s.Snapshot != "false" || s.TSMS != txlog.FromProto(w.cs.Hlc).WallMS || s.HLC == "" {
			t.Errorf("event %d source %+v", i, s)
		}
		if len(e.Schema.Fields) != 6 || e.Schema.Fields[0].Field != "before" || len(e.Schema.Fields[0].Fields) != 2 {
			t.Errorf("event %d schema %+v", i, e.Schema)
		}
		if ids[m.ID] {
			t.Errorf("duplicate id %s", m.ID)
		}
		ids[m.ID] = true
	}
	if tomb := got[4]; tomb.Value != nil || string(tomb.Key) != string(got[3].Key) || tomb.ID == got[3].ID {
		t.Errorf("tombstone %+v", tomb)
	}
}

func TestPublishFilters(t *testing.T) {
	l := mustOpenLog(t, 1, "")
	sink := NewMemory()
	p, _ := startPublisher(t, Options{Sink: sink, Log: l, TopicPrefix: "x", Filter: Filter{Databases: []string{"prod_*"}, Tables: []string{"user?", "orders"}}})
	commit(t, l, row("prod_eu", marmotv1.Op_OP_INSERT, 1, "", "a"))
	commit(t, l, row("test", marmotv1.Op_OP_INSERT, 2, "", "b"))
	cs := row("prod_us", marmotv1.Op_OP_INSERT, 3, "", "c")
	cs.Rows[0].Table = "secrets"
	commit(t, l, cs)
	commit(t, l, &marmotv1.ChangeSet{Id: txid(), Database: "prod_eu", Ddl: "CREATE TABLE IF NOT EXISTS secrets (k INT PRIMARY KEY)", DdlTables: []string{"secrets"}})
	waitCovers(t, p, l.Durable())
	got := events(sink)
	if len(got) != 1 || got[0].Topic != "x.prod_eu.users" {
		t.Fatalf("published %+v, want only x.prod_eu.users", got)
	}
}

// TestRestartResumes: a publisher stopped mid-stream and started again on
// the same log sends everything exactly once (a clean stop persisted the
// cursor).
func TestRestartResumes(t *testing.T) {
	dir := t.TempDir()
	l := mustOpenLog(t, 1, dir)
	sink := NewMemory()
	p, stop := startPublisher(t, Options{Sink: sink, Log: l, BatchSize: 3})
	for i := range 20 {
		commit(t, l, row("db", marmotv1.Op_OP_INSERT, int64(i), "", "x"))
	}
	waitCovers(t, p, txlog.Watermark{1: 5})
	stop()
	for i := 20; i < 40; i++ {
		commit(t, l, row("db", marmotv1.Op_OP_INSERT, int64(i), "", "x"))
	}
	l.Close()
	l = mustOpenLog(t, 1, dir)
	p, _ = startPublisher(t, Options{Sink: sink, Log: l, BatchSize: 3})
	waitCovers(t, p, l.Durable())
	seen := map[string]int{}
	for _, m := range events(sink) {
		seen[m.ID]++
	}
	if len(seen) != 40 {
		t.Fatalf("%d distinct events, want 40", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
}

// TestBrokerDown: while the sink fails, the publisher retries with backoff
// and counts failures; when it recovers, nothing is lost.
func TestBrokerDown(t *testing.T) {
	l := mustOpenLog(t, 1, "")
	sink := NewMemory()
	sink.Fail(errors.New("broker unreachable"))
	p, _ := startPublisher(t, Options{Sink: sink, Log: l, BatchSize: 4})
	for i := range 10 {
		commit(t, l, row("db", marmotv1.Op_OP_INSERT, int64(i), "", "x"))
	}
	deadline := time.Now().Add(10 * time.Second)
	for p.Failures() < 3 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Failures() < 3 {
		t.Fatalf("failures = %d", p.Failures())
	}
	if len(sink.Messages()) != 0 {
		t.Fatal("messages while failing")
	}
	sink.Fail(nil)
	waitCovers(t, p, l.Durable())
	if n := len(events(sink)); n != 10 {
		t.Fatalf("%d events after recovery, want 10", n)
	}
}

// TestLateReplicatedChangeSet: a change set of another origin that becomes
// durable here after newer-HLC ones were published is still published:
// the cursor is per origin, not an HLC position.
func TestLateReplicatedChangeSet(t *testing.T) {
	l := mustOpenLog(t, 1, "")
	sink := NewMemory()
	p, _ := startPublisher(t, Options{Sink: sink, Log: l, TakeoverAfter: time.Millisecond})
	old := txlog.Timestamp{WallMS: time.Now().Add(-time.Hour).UnixMilli(), Node: 2}
	commit(t, l, row("db", marmotv1.Op_OP_INSERT, 1, "", "new"))
	waitCovers(t, p, l.Durable())
	cs := row("db", marmotv1.Op_OP_INSERT, 2, "", "old")
	cs.Origin, cs.Seq, cs.Hlc = 2, 1, old.Proto()
	if err := l.Ingest(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	waitCovers(t, p, txlog.Watermark{2: 1})
	if n := len(events(sink)); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
}

// TestTakeover: two nodes share a sink. Each publishes only its own change
// sets while the other makes progress; when node 1's publisher dies, node 2
// publishes node 1's change sets it holds, after its takeover delay, and
// the sink ends with every event (duplicates only with equal ids).
func TestTakeover(t *testing.T) {
	l1, l2 := mustOpenLog(t, 1, ""), mustOpenLog(t, 2, "")
	sink := NewMemory()
	replicate := func(from, to *txlog.Log, origin uint64) {
		t.Helper()
		err := from.ScanOrigin(origin, to.Durable()[origin], func(cs *marmotv1.ChangeSet) error {
			return to.Ingest(context.Background(), cs)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	const takeover = 300 * time.Millisecond
	p1, stop1 := startPublisher(t, Options{Sink: sink, Log: l1, TakeoverAfter: takeover})
	p2, _ := startPublisher(t, Options{Sink: sink, Log: l2, TakeoverAfter: takeover})
	for i := range 10 {
		commit(t, l1, row("db", marmotv1.Op_OP_INSERT, int64(i), "", "n1"))
		commit(t, l2, row("db", marmotv1.Op_OP_INSERT, int64(100+i), "", "n2"))
	}
	replicate(l1, l2, 1)
	replicate(l2, l1, 2)
	all := txlog.Watermark{1: 10, 2: 10}
	waitCovers(t, p1, all)
	waitCovers(t, p2, all)
	time.Sleep(2 * takeover) // long enough for a wrong takeover to show
	counts := func() map[string]int {
		c := map[string]int{}
		for _, m := range events(sink) {
			c[m.ID]++
		}
		return c
	}
	for id, n := range counts() {
		if n != 1 {
			t.Fatalf("steady state: %s published %d times", id, n)
		}
	}

	stop1()
	for i := 10; i < 20; i++ {
		commit(t, l1, row("db", marmotv1.Op_OP_INSERT, int64(i), "", "n1"))
	}
	replicate(l1, l2, 1)
	waitCovers(t, p2, txlog.Watermark{1: 20})
	c := counts()
	if len(c) != 30 {
		t.Fatalf("%d distinct events after takeover, want 30", len(c))
	}
}
