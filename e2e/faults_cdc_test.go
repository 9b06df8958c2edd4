package e2e

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// The fault suite's CDC audit. Every node publishes to an in-process
// nats-server with JetStream, and a consumer in the test process reads the
// stream from the start of the run to its end. The broker stays up through
// the other nemeses; one of its own (broker-down) stops it for a while and
// starts it again on the same port and store. After convergence the
// events consumed are compared with the final committed history, the
// union of the nodes' transaction logs:
//
//   - missing: a row change (or DDL) of a committed change set with no
//     event, or an acknowledged set insert with no insert event;
//   - phantom: an event whose change set is in no node's log, or whose
//     origin, sequence, HLC, table, op, key or row image differ from the
//     logged change, or an insert event for a set insert that failed;
//   - duplicates: the same id consumed more than once is allowed (at least
//     once) and counted; the same id with different contents is not;
//   - order: per origin, new events arrive in sequence order (a repeat may
//     go back, a first delivery may not);
//   - last writer: per key, the event with the highest (HLC, row) holds
//     the row every node ends with (absent after a delete).
//
// The stream's duplicate window is cdcDupWindow, short, so that the
// publishers' repeats (after a kill -9 or a takeover) reach the consumer
// and are audited instead of being dropped by JetStream.

const (
	cdcSink      = "cdc"
	cdcPrefix    = "marmot.cdc"
	cdcDupWindow = time.Second
)

// faultsCDC is the broker and the consumer of one run.
type faultsCDC struct {
	t     *testing.T
	nc    *nats.Conn
	js    jetstream.JetStream
	url   string
	port  int
	store string
	ns    *server.Server // the running broker; only the nemesis replaces it

	stopConsumer context.CancelFunc
	consumerDone chan struct{}

	mu        sync.Mutex
	events    []cdcRecord
	streamSeq uint64 // stream sequence of the last message consumed
	bad       []string
}

// cdcRecord is what the audit keeps of one consumed message.
type cdcRecord struct {
	id, table string
	op        string // c, u, d, r; "ddl" for a schema change
	hlc       [3]uint64
	origin    uint64
	seq       uint64
	txID      string
	row       int    // -1: none (snapshot read, schema change)
	pk        string // the key column's value
	image     string // after (before for a delete), columns joined as CONCAT_WS(':')
}

// startFaultsCDC starts the broker with the CDC and cursor streams and the
// consumer.
func startFaultsCDC(t *testing.T) *faultsCDC {
	t.Helper()
	c := &faultsCDC{t: t, port: freePort(t), store: t.TempDir()}
	c.url = fmt.Sprintf("nats://127.0.0.1:%d", c.port)
	c.ns = startNATS(t, c.port, c.store)
	t.Cleanup(func() { c.ns.Shutdown() })
	nc, err := nats.Connect(c.url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	c.nc = nc
	if c.js, err = jetstream.New(nc); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Events of database fz and schema changes; the cursor records go to a
	// stream of their own that keeps the last one per subject, from which
	// a restarted node learns what the others published.
	if _, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "CDC", Subjects: []string{cdcPrefix, cdcPrefix + ".fz.>"},
		Duplicates: cdcDupWindow, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.js.CreateStream(ctx, jetstream.StreamConfig{Name: "CDCCURSOR", Subjects: []string{cdcPrefix + ".__marmot_cursor.>"},
		MaxMsgsPerSubject: 1, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	cctx, stop := context.WithCancel(context.Background())
	c.stopConsumer, c.consumerDone = stop, make(chan struct{})
	go c.consume(cctx)
	t.Cleanup(c.stop)
	return c
}

// env is the nodes' [publisher] configuration: one NATS sink, retries
// quick enough for the episodes, and takeover of a silent origin after 3 s
// so that kills exercise it.
func (c *faultsCDC) env() []string {
	return []string{"MARMOT_PUBLISHER_ENABLED=true", "MARMOT_PUBLISHER_TAKEOVER_AFTER_MS=3000",
		"MARMOT_PUBLISHER_SINKS_0_NAME=" + cdcSink, "MARMOT_PUBLISHER_SINKS_0_TYPE=nats",
		"MARMOT_PUBLISHER_SINKS_0_NATS_URL=" + c.url, "MARMOT_PUBLISHER_SINKS_0_TOPIC_PREFIX=" + cdcPrefix,
		"MARMOT_PUBLISHER_SINKS_0_RETRY_INITIAL_MS=100", "MARMOT_PUBLISHER_SINKS_0_RETRY_MAX_MS=1000"}
}

// outage stops the broker for hold and starts it again on the same port
// and store: the publishers back off and retry, the consumer reconnects.
func (c *faultsCDC) outage(hold time.Duration) {
	c.ns.Shutdown()
	c.ns.WaitForShutdown()
	time.Sleep(hold)
	c.ns = startNATS(c.t, c.port, c.store)
}

// consume reads the CDC stream from its start until ctx ends.
func (c *faultsCDC) consume(ctx context.Context) {
	defer close(c.consumerDone)
	var cons jetstream.Consumer
	for ctx.Err() == nil && cons == nil {
		var err error
		if cons, err = c.js.OrderedConsumer(ctx, "CDC", jetstream.OrderedConsumerConfig{}); err != nil {
			c.note("ordered consumer: %v", err)
			time.Sleep(100 * time.Millisecond) // retry interval
		}
	}
	for ctx.Err() == nil {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			time.Sleep(100 * time.Millisecond) // retry interval
			continue
		}
		for m := range batch.Messages() {
			md, err := m.Metadata()
			if err != nil {
				c.note("message without metadata: %v", err)
				continue
			}
			e, err := decodeCDC(m.Headers().Get(jetstream.MsgIDHeader), m.Data())
			c.mu.Lock()
			if md.Sequence.Stream > c.streamSeq {
				c.streamSeq = md.Sequence.Stream
				if err != nil {
					c.bad = append(c.bad, fmt.Sprintf("stream seq %d (%s): %v", md.Sequence.Stream, m.Subject(), err))
				} else {
					c.events = append(c.events, e)
				}
			}
			c.mu.Unlock()
		}
	}
}

func (c *faultsCDC) note(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 100 {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

func (c *faultsCDC) stop() {
	c.stopConsumer()
	<-c.consumerDone
}

// decodeCDC reads the fields the audit needs from a Debezium envelope.
func decodeCDC(id string, data []byte) (cdcRecord, error) {
	var v struct {
		Payload struct {
			Op     string         `json:"op"`
			Before map[string]any `json:"before"`
			After  map[string]any `json:"after"`
			Source struct {
				Table  *string `json:"table"`
				HLC    string  `json:"hlc"`
				Origin uint64  `json:"origin"`
				Seq    uint64  `json:"seq"`
				TxID   string  `json:"txId"`
				Row    *int    `json:"row"`
			} `json:"source"`
		} `json:"payload"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return cdcRecord{}, err
	}
	p := v.Payload
	e := cdcRecord{id: id, op: p.Op, origin: p.Source.Origin, seq: p.Source.Seq, txID: p.Source.TxID, row: -1}
	if p.Source.Table != nil {
		e.table = *p.Source.Table
	}
	if p.Source.Row != nil {
		e.row = *p.Source.Row
	}
	if strings.HasSuffix(id, ":ddl") {
		e.op = "ddl"
	}
	if _, err := fmt.Sscanf(p.Source.HLC, "%d.%d.%d", &e.hlc[0], &e.hlc[1], &e.hlc[2]); err != nil {
		return e, fmt.Errorf("source.hlc %q: %w", p.Source.HLC, err)
	}
	if e.op == "ddl" {
		return e, nil
	}
	img := p.After
	if e.op == "d" {
		img = p.Before
	}
	if img == nil {
		return e, fmt.Errorf("op %s without its row image", e.op)
	}
	var parts []string
	for _, col := range strings.Split(tableCols(e.table), ", ") {
		switch x := img[col].(type) {
		case nil: // CONCAT_WS skips NULL
		case json.Number:
			parts = append(parts, x.String())
		case string:
			parts = append(parts, x)
		default:
			parts = append(parts, fmt.Sprint(x))
		}
	}
	e.image = strings.Join(parts, ":")
	e.pk = fmt.Sprint(img[tableKey(e.table)])
	return e, nil
}

// nodeStatus is n's admin Status (durable watermark, readers' cursors).
func nodeStatus(n *Node) (*marmotv1.StatusResponse, error) {
	secret := ""
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "MARMOT_CLUSTER_SECRET="); ok {
			secret = v
		}
	}
	client := marmotv1connect.NewAdminServiceClient(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d", n.HTTPPort))
	req := connect.NewRequest(&marmotv1.StatusRequest{})
	req.Header().Set("X-Marmot-Secret", secret)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.Status(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Msg, nil
}

// waitCaughtUp polls until, for every origin, some node's sink cursor has
// reached the highest durable sequence any node holds, and the consumer
// has read the stream to its end; it returns how long that took.
func (c *faultsCDC) waitCaughtUp(nodes []*Node, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	var last error
	for time.Since(start) < timeout {
		if last = c.caughtUp(nodes); last == nil {
			return time.Since(start), nil
		}
		time.Sleep(200 * time.Millisecond) // polling interval
	}
	return time.Since(start), last
}

func (c *faultsCDC) caughtUp(nodes []*Node) error {
	durable, cursor := map[uint64]uint64{}, map[uint64]uint64{}
	for i, n := range nodes {
		s, err := nodeStatus(n)
		if err != nil {
			return fmt.Errorf("node %d: %w", i+1, err)
		}
		for o, seq := range s.Durable {
			durable[o] = max(durable[o], seq)
		}
		for _, cur := range s.Cursors {
			if cur.Name == "outbox/"+cdcSink {
				for o, seq := range cur.Watermark {
					cursor[o] = max(cursor[o], seq)
				}
			}
		}
	}
	for o, seq := range durable {
		if cursor[o] < seq {
			return fmt.Errorf("origin %d: durable up to %d, published up to %d", o, seq, cursor[o])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.js.Stream(ctx, "CDC")
	if err != nil {
		return err
	}
	info, err := st.Info(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	read := c.streamSeq
	c.mu.Unlock()
	if read < info.State.LastSeq {
		return fmt.Errorf("consumer read the stream up to %d of %d", read, info.State.LastSeq)
	}
	return nil
}

// cdcFigures are the audit's counts for the summary.
type cdcFigures struct {
	events, distinct, duplicates, snapshot  int
	missing, phantom, mismatched, unordered int
	lastWriter, undecodable                 int
	catchUp                                 time.Duration
}

// audit compares the events consumed with the committed history (logs:
// the union of the nodes' logs; final: every node's rows; ops: what the
// clients saw) and records anomalies in res.
func (c *faultsCDC) audit(ops []*faultOp, final finalState, logs *logFacts, res *faultsResult) *cdcFigures {
	c.mu.Lock()
	events := slices.Clone(c.events)
	bad := slices.Clone(c.bad)
	c.mu.Unlock()
	fig := &cdcFigures{events: len(events), undecodable: len(bad)}
	for _, b := range bad {
		res.add("cdc-phantom", "cdc: unreadable message: %s", b)
	}

	// Duplicates, and per-origin order of first deliveries.
	first := map[string]*cdcRecord{}
	next := map[uint64]uint64{} // origin -> highest sequence delivered so far
	for i := range events {
		e := &events[i]
		if e.op == "r" {
			fig.snapshot++
			continue
		}
		if f, ok := first[e.id]; ok {
			fig.duplicates++
			if f.hlc != e.hlc || f.op != e.op || f.pk != e.pk || f.image != e.image || f.table != e.table {
				fig.mismatched++
				res.add("cdc-duplicate", "cdc: id %s delivered twice with different contents: %+v, then %+v", e.id, *f, *e)
			}
			continue
		}
		first[e.id] = e
		if e.seq < next[e.origin] {
			fig.unordered++
			res.add("cdc-order", "cdc: origin %d seq %d (%s) first delivered after seq %d", e.origin, e.seq, e.id, next[e.origin])
		}
		next[e.origin] = max(next[e.origin], e.seq)
	}
	fig.distinct = len(first)

	// Phantoms: every event is a logged change, as logged.
	failedSet := map[string]bool{}
	for _, op := range ops {
		if op.Work == "set" && op.Result == "fail" {
			failedSet[strconv.FormatInt(op.Value, 10)] = true
		}
	}
	phantom := map[*cdcRecord]bool{} // left out of the last-writer check
	for _, e := range first {
		cs := logs.all[e.txID]
		if cs == nil {
			phantom[e] = true
			fig.phantom++
			res.add("cdc-phantom", "cdc: event %s (origin %d seq %d, %s %s %s) is of a change set in no node's log", e.id, e.origin, e.seq, e.op, e.table, e.pk)
			continue
		}
		if why := cdcDiffers(e, cs); why != "" {
			phantom[e] = true
			fig.phantom++
			res.add("cdc-phantom", "cdc: event %s does not match the logged change set (origin %d seq %d): %s", e.id, cs.Origin, cs.Seq, why)
			continue
		}
		if e.table == "s" && e.op == "c" && failedSet[e.pk] {
			fig.phantom++
			res.add("cdc-phantom", "cdc: event %s inserts set id %s, whose insert failed", e.id, e.pk)
		}
	}

	// Missing: every logged change of fz (and every schema change) has its
	// event; every acknowledged set insert has an insert event.
	for txID, cs := range logs.all {
		var want []string
		switch {
		case cs.Ddl != "" || cs.DatabaseOp != marmotv1.DatabaseOp_DATABASE_OP_UNSPECIFIED:
			want = []string{txID + ":ddl"}
		case cs.Database == "fz":
			for i := range cs.Rows {
				want = append(want, txID+":"+strconv.Itoa(i))
			}
		}
		for _, id := range want {
			if first[id] == nil {
				fig.missing++
				res.add("cdc-missing", "cdc: no event %s for the committed change set of origin %d seq %d (db %q)", id, cs.Origin, cs.Seq, cs.Database)
			}
		}
	}
	inserted := map[string]bool{}
	for _, e := range first {
		if e.table == "s" && e.op == "c" {
			inserted[e.pk] = true
		}
	}
	for _, op := range ops {
		if op.Work == "set" && op.Result == "ok" && !inserted[strconv.FormatInt(op.Value, 10)] {
			fig.missing++
			res.add("cdc-missing", "cdc: acknowledged %s set insert %d (node %d) has no insert event", op.Level, op.Value, op.Node)
		}
	}

	// Last writer: per key, the newest event (of a committed change) holds
	// the final row.
	type key struct{ table, pk string }
	newest := map[key]*cdcRecord{}
	for _, e := range first {
		if e.op == "ddl" || phantom[e] {
			continue
		}
		k := key{e.table, e.pk}
		if cur := newest[k]; cur == nil || cdcNewer(e, cur) {
			newest[k] = e
		}
	}
	for i, rows := range final.rows {
		for _, tbl := range faultTables {
			have := rows[tbl]
			for pk, img := range have {
				e := newest[key{tbl, pk}]
				switch {
				case e == nil:
					fig.lastWriter++
					res.add("cdc-lww", "cdc: node %d holds %s %s = %q, of which no event was consumed", i+1, tbl, pk, img)
				case e.op == "d":
					fig.lastWriter++
					res.add("cdc-lww", "cdc: node %d holds %s %s = %q; the newest event (%s, hlc %v) deletes it", i+1, tbl, pk, img, e.id, e.hlc)
				case e.image != img:
					fig.lastWriter++
					res.add("cdc-lww", "cdc: node %d holds %s %s = %q; the newest event (%s, hlc %v) says %q", i+1, tbl, pk, img, e.id, e.hlc, e.image)
				}
			}
			for k, e := range newest {
				if _, ok := have[k.pk]; !ok && k.table == tbl && e.op != "d" {
					fig.lastWriter++
					res.add("cdc-lww", "cdc: node %d lacks %s %s; the newest event (%s, hlc %v) has it = %q", i+1, tbl, k.pk, e.id, e.hlc, e.image)
				}
			}
		}
	}
	return fig
}

// cdcNewer orders two events of one key as last writer wins does: by HLC
// (which ends with the origin), then by row within a change set (REPLACE
// logs a delete, then an insert).
func cdcNewer(a, b *cdcRecord) bool {
	if c := slices.Compare(a.hlc[:], b.hlc[:]); c != 0 {
		return c > 0
	}
	return a.row > b.row
}

// cdcDiffers says how event e differs from the change set cs it names,
// "" if it does not.
func cdcDiffers(e *cdcRecord, cs *marmotv1.ChangeSet) string {
	if e.origin != cs.Origin || e.seq != cs.Seq {
		return fmt.Sprintf("event origin %d seq %d", e.origin, e.seq)
	}
	if h := cs.Hlc; h == nil || e.hlc != [3]uint64{uint64(h.WallMs), uint64(h.Logical), h.NodeId} {
		return fmt.Sprintf("event hlc %v, logged %v", e.hlc, h)
	}
	if e.op == "ddl" {
		if cs.Ddl == "" && cs.DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_UNSPECIFIED {
			return "a schema change event for a change set of rows"
		}
		return ""
	}
	if e.row < 0 || e.row >= len(cs.Rows) || e.id != hex.EncodeToString(cs.Id)+":"+strconv.Itoa(e.row) {
		return fmt.Sprintf("id %s, row %d of %d", e.id, e.row, len(cs.Rows))
	}
	rc := cs.Rows[e.row]
	op := map[marmotv1.Op]string{marmotv1.Op_OP_INSERT: "c", marmotv1.Op_OP_UPDATE: "u", marmotv1.Op_OP_DELETE: "d"}[rc.Op]
	img := rc.After
	if rc.Op == marmotv1.Op_OP_DELETE {
		img = rc.Before
	}
	var parts []string
	pk := ""
	for _, col := range strings.Split(tableCols(rc.Table), ", ") {
		i := slices.Index(rc.Columns, col)
		if i < 0 || i >= len(img) {
			continue
		}
		s, null := logValue(img[i])
		if col == tableKey(rc.Table) {
			pk = s
		}
		if !null {
			parts = append(parts, s)
		}
	}
	if e.table != rc.Table || e.op != op || e.pk != pk || e.image != strings.Join(parts, ":") {
		return fmt.Sprintf("event %s %s %s %q, logged %s %s %s %q", e.op, e.table, e.pk, e.image, op, rc.Table, pk, strings.Join(parts, ":"))
	}
	return ""
}

// logValue is a logged column value as CONCAT_WS prints it.
func logValue(v *marmotv1.Value) (s string, null bool) {
	switch x := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		return strconv.FormatInt(x.Int, 10), false
	case *marmotv1.Value_Text:
		return string(x.Text), false
	case *marmotv1.Value_Real:
		return strconv.FormatFloat(x.Real, 'g', -1, 64), false
	case *marmotv1.Value_Null, nil:
		return "", true
	}
	return fmt.Sprint(v), false
}

// readRows is every fault table's rows on one node: key -> the columns
// joined as CONCAT_WS(':') does.
func readRows(t *testing.T, n *Node) map[string]map[string]string {
	t.Helper()
	out := map[string]map[string]string{}
	db := n.DB(t, "fz")
	for _, tbl := range faultTables {
		rows, err := db.Query(fmt.Sprintf("SELECT %s, CONCAT_WS(':', %s) FROM %s", tableKey(tbl), tableCols(tbl), tbl))
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for rows.Next() {
			var k, img string
			if err := rows.Scan(&k, &img); err != nil {
				t.Fatal(err)
			}
			m[k] = img
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		out[tbl] = m
	}
	return out
}

// TestCDCAuditFinds: the audit itself, on a made-up history: an event
// missing, one of no change set, one delivered again with other contents,
// one out of its origin's order, and a final row no event holds.
func TestCDCAuditFinds(t *testing.T) {
	row := func(table string, op marmotv1.Op, cols []string, vals ...any) *marmotv1.RowChange {
		img := make([]*marmotv1.Value, len(vals))
		for i, v := range vals {
			switch v := v.(type) {
			case int:
				img[i] = &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: int64(v)}}
			case string:
				img[i] = &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(v)}}
			}
		}
		return &marmotv1.RowChange{Table: table, Op: op, Columns: cols, Pk: img[:1], After: img}
	}
	cs := func(id byte, origin, seq uint64, wall int64, rc *marmotv1.RowChange) *marmotv1.ChangeSet {
		return &marmotv1.ChangeSet{Id: []byte{id}, Origin: origin, Seq: seq, Database: "fz",
			Hlc: &marmotv1.HLC{WallMs: wall, NodeId: origin}, Rows: []*marmotv1.RowChange{rc}}
	}
	logs := &logFacts{all: map[string]*marmotv1.ChangeSet{
		"a1": cs(0xa1, 1, 1, 100, row("r", marmotv1.Op_OP_INSERT, []string{"k", "tok"}, 1, 10)),
		"a2": cs(0xa2, 1, 2, 200, row("r", marmotv1.Op_OP_UPDATE, []string{"k", "tok"}, 1, 20)),
		"b1": cs(0xb1, 2, 1, 150, row("s", marmotv1.Op_OP_INSERT, []string{"id", "lvl", "node"}, 5, "ONE", 2)),
	}}
	ev := func(id, op string, origin, seq uint64, wall uint64, image string) cdcRecord {
		return cdcRecord{id: id + ":0", table: "r", op: op, hlc: [3]uint64{wall, 0, origin}, origin: origin, seq: seq,
			txID: id, row: 0, pk: "1", image: image}
	}
	c := &faultsCDC{events: []cdcRecord{
		ev("a2", "u", 1, 2, 200, "1:20"),
		ev("a1", "c", 1, 1, 100, "1:10"), // after seq 2: out of order
		ev("a1", "c", 1, 1, 100, "1:11"), // same id, other contents
		ev("ff", "c", 1, 3, 300, "1:30"), // no such change set
	}}
	ops := []*faultOp{{Work: "set", Kind: "insert", Value: 5, Result: "ok", Level: "ONE", Node: 2}}
	final := finalState{rows: []map[string]map[string]string{{"r": {"1": "1:20"}, "s": {"5": "5:ONE:2"}}}}
	res := &faultsResult{}
	fig := c.audit(ops, final, logs, res)
	want := cdcFigures{events: 4, distinct: 3, duplicates: 1, mismatched: 1, unordered: 1, phantom: 1,
		missing:    2, // b1:0, and the acknowledged insert of set id 5
		lastWriter: 1, // s 5 on the node, with no event
	}
	if *fig != want {
		t.Errorf("audit figures %+v, want %+v", *fig, want)
	}
	for _, k := range []string{"cdc-missing", "cdc-phantom", "cdc-duplicate", "cdc-order", "cdc-lww"} {
		if res.counts[k] == 0 {
			t.Errorf("no %s anomaly reported; anomalies: %v", k, res.anomalies)
		}
	}
}
