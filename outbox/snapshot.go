package outbox

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Views is what an initial snapshot reads: the node's SQLite views of the
// databases (outbox/sqlite.Views over the materializer). Called from the
// publisher goroutine only.
type Views interface {
	// Databases lists the live databases.
	Databases() []string
	// Read runs fn in one read transaction on db's view, once the view
	// includes every change set of db in at. applied is the watermark
	// stored in the view (__marmot_applied) as that transaction sees it:
	// it covers at and may go beyond it. The rows fn reads are exactly the
	// change sets of db at or below applied.
	Read(ctx context.Context, db string, at txlog.Watermark, fn func(applied txlog.Watermark, tx *sql.Tx) error) error
}

// The initial snapshot
//
// A new sink (no cursor in the log and none in the sink's cursor topic),
// and any sink after Resnapshot, first gets an "r" event for every row of
// every table that passes the filter, then the change stream from where
// the snapshot ends. The seam works like this:
//
//  1. P = the log's durable watermark. A GC hold cursor
//     ("outbox/<sink>.snapshot" = P) keeps every change set above P until
//     the snapshot is done.
//  2. Each database's view is read in one read transaction once it has
//     applied every change set of that database up to P (WaitApplied);
//     the transaction also reads the view's applied watermark W_db, which
//     names exactly the change sets the rows reflect. Views apply on their
//     own, so W_db differs per database and may be above P.
//  3. The per-origin cursor cannot say "database a up to W_a, database b up
//     to W_b". So the snapshot ends at M = max(P, every W_db) per origin,
//     and the change sets in (P, M] are published as ordinary c/u/d events
//     right after the r events, except those of a snapshotted database at
//     or below its own W_db (already in its rows). Every change set of a
//     snapshotted database at or below P is in its rows (W_db covers P for
//     it). So each change set is either in the rows or published once, and
//     the stream continues from M: nothing is lost or doubled at the seam.
//  4. Then a "done" record carrying M (and cursor records at M) goes to the
//     cursor topic; every node of the cluster sets its cursor to exactly M
//     (moving it back if it had published beyond M meanwhile: those events
//     come again after the r events, with the same ids).
//
// Who runs it: one node per attempt. Nodes that need the snapshot stop
// publishing from the log and wait. The node ranked k in the sorted list of
// origins it knows (itself included) waits k snapshot units (takeover_after,
// or 10s without takeover) without snapshot progress from another node,
// then sends a claim for the next attempt to the cursor topic. The cursor
// topic is one totally ordered stream (one Kafka partition, one JetStream
// stream), so every node agrees which claim of an attempt came first, and
// only its sender runs the snapshot, sending "running" heartbeats; a node
// whose claim lost waits again. If the runner stops making progress for
// rank units, the next claims a new attempt. r event ids are
// "r<epoch>.<attempt>:<db>.<table>:<key>": repeats within an attempt carry
// the same id, a new attempt's r events are new events that overwrite the
// old attempt's on a compacted topic.
//
// The snapshot epoch (1 for the initial snapshot, +1 per Resnapshot) is
// kept in the log cursor under the reserved origin 0, so a restarted node
// does not apply an old "done" record again.

// Snapshot record states on the cursor topic.
const (
	snapRequest = "request" // someone asked for a new epoch
	snapClaim   = "claim"   // a node wants to run attempt N
	snapRunning = "running" // heartbeat of the running attempt
	snapDone    = "done"    // finished; cursor M
)

// errSnapshotAborted: another node finished or took over the snapshot.
var errSnapshotAborted = errors.New("outbox: snapshot taken over by another node")

// snapshotRecord is a snapshot coordination record on the cursor topic,
// keyed "<sink>.snapshot".
type snapshotRecord struct {
	Sink     string            `json:"sink"`
	Snapshot string            `json:"snapshot"`
	Epoch    uint64            `json:"epoch"`
	Attempt  uint64            `json:"attempt,omitempty"`
	Node     uint64            `json:"node"`
	Cursor   map[uint64]uint64 `json:"cursor,omitempty"`
	TSMS     int64             `json:"ts_ms"`
}

// snapState is what the publisher knows of snapshots; guarded by
// Publisher.mu.
type snapState struct {
	want     uint64    // epoch the sink needs; > epoch: waiting or running
	epoch    uint64    // epoch whose cursor this node adopted
	attempt  uint64    // highest attempt claimed for want
	owner    uint64    // first claimant of attempt (0: none seen yet)
	progress time.Time // last claim/running record for want
	since    time.Time // when this node started waiting for want
	done     *snapshotRecord
	fresh    bool // a new sink: cancelled if the topic shows it is not
	sawSink  bool // any record of this sink arrived from the topic
	request  bool // a request record is owed to the topic
}

// Resnapshot asks for a new snapshot of the sink: every node stops
// publishing the log, one of them emits r events for every row, and all
// continue from the snapshot's position. It returns the new epoch. Safe to
// call from any goroutine.
func (p *Publisher) Resnapshot() (uint64, error) {
	if p.o.Views == nil {
		return 0, errors.New("outbox: this publisher has no views to snapshot")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snap.want = max(p.snap.want, p.snap.epoch) + 1
	p.snap.request = true
	p.snap.since = p.o.Now()
	p.snap.fresh = false
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return p.snap.want, nil
}

// SnapshotEpoch reports the epoch whose position this node's cursor
// follows and the epoch the sink needs (greater while a snapshot is
// pending).
func (p *Publisher) SnapshotEpoch() (adopted, wanted uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snap.epoch, p.snap.want
}

func (p *Publisher) snapUnit() time.Duration {
	if p.o.TakeoverAfter > 0 {
		return p.o.TakeoverAfter
	}
	return 10 * time.Second
}

func (p *Publisher) snapKey() []byte { return []byte(p.o.Name + ".snapshot") }

func (p *Publisher) snapshotMessage(r snapshotRecord) Message {
	r.Sink, r.Node, r.TSMS = p.o.Name, p.self, p.o.Now().UnixMilli()
	v, _ := json.Marshal(r)
	return Message{Topic: p.topic, Key: p.snapKey(), Value: v, Cursor: true,
		ID: fmt.Sprintf("snapshot:%s:%d.%d:%s:%d:%d", p.o.Name, r.Epoch, r.Attempt, r.Snapshot, p.self, r.TSMS)}
}

// learnSnapshot takes a snapshot record from the cursor topic (watch
// goroutine, in topic order). Caller holds p.mu.
func (p *Publisher) learnSnapshot(r snapshotRecord) {
	s := &p.snap
	now := p.o.Now()
	switch r.Snapshot {
	case snapDone:
		if r.Epoch > s.epoch && (s.done == nil || r.Epoch >= s.done.Epoch) {
			s.done = &r
			// Positions read before the done record are superseded by it.
			clear(p.learned)
		}
		return
	case snapRequest, snapClaim, snapRunning:
	default:
		return
	}
	if r.Epoch <= s.epoch {
		return
	}
	if r.Epoch > s.want {
		s.want, s.attempt, s.owner, s.since = r.Epoch, 0, 0, now
	}
	s.fresh = false
	if r.Epoch < s.want {
		return
	}
	switch r.Snapshot {
	case snapClaim:
		if r.Attempt > s.attempt {
			s.attempt, s.owner = r.Attempt, r.Node
		} else if r.Attempt == s.attempt && s.owner == 0 {
			s.owner = r.Node
		}
		s.progress = now
	case snapRunning:
		if r.Attempt >= s.attempt {
			s.attempt, s.owner = r.Attempt, r.Node
			s.progress = now
		}
	}
}

// adoptDone applies a learned done record: the cursor becomes exactly its
// position (possibly lower than before: events published meanwhile come
// again after the r events). Called from Run's goroutine.
func (p *Publisher) adoptDone() bool {
	p.mu.Lock()
	d := p.snap.done
	if d == nil || d.Epoch <= p.snap.epoch {
		p.snap.done = nil
		p.mu.Unlock()
		return false
	}
	p.snap.done = nil
	p.mu.Unlock()
	p.reset(txlog.Watermark(d.Cursor), d.Epoch)
	p.logger.Info("outbox: following the snapshot", "epoch", d.Epoch, "by", d.Node, "cursor", txlog.Watermark(d.Cursor))
	return true
}

// reset sets the cursor to exactly w at epoch and persists it.
func (p *Publisher) reset(w txlog.Watermark, epoch uint64) {
	p.mu.Lock()
	p.pos = w.Clone()
	if p.pos == nil {
		p.pos = txlog.Watermark{}
	}
	p.snap.epoch = max(p.snap.epoch, epoch)
	if p.snap.want < p.snap.epoch {
		p.snap.want = p.snap.epoch
	}
	snap := p.persisted()
	close(p.waiters)
	p.waiters = make(chan struct{})
	p.mu.Unlock()
	// Takeover clocks started while nothing was published are void.
	clear(p.stall)
	clear(p.tookOver)
	if err := p.o.Log.SetCursor(p.cursor, snap); err != nil {
		p.logger.Error("outbox: could not persist cursor", "err", err)
	}
}

// persisted is the cursor as stored in the log: the position plus the
// snapshot epoch under origin 0. Caller holds p.mu.
func (p *Publisher) persisted() txlog.Watermark {
	w := p.pos.Clone()
	if p.snap.epoch > 0 {
		w[0] = p.snap.epoch
	}
	return w
}

// snapshotStep runs while the sink needs a snapshot: it adopts a finished
// one, or runs it when this node's turn came, or waits. Run's goroutine.
func (p *Publisher) snapshotStep(ctx context.Context) (busy bool, err error) {
	now := p.o.Now()
	p.mu.Lock()
	s := p.snap
	request := s.request
	p.snap.request = false
	p.mu.Unlock()
	if s.fresh && s.sawSink {
		// The topic knows this sink: it is not new here (a node added to
		// a cluster whose sink runs), so follow the others' positions.
		p.mu.Lock()
		p.snap.fresh, p.snap.want = false, p.snap.epoch
		p.mu.Unlock()
		return true, nil
	}
	if request {
		if err := p.publish(ctx, []Message{p.snapshotMessage(snapshotRecord{Snapshot: snapRequest, Epoch: s.want})}); err != nil {
			return false, err
		}
	}
	unit := p.snapUnit()
	last := s.since
	if s.progress.After(last) {
		last = s.progress
	}
	if s.owner != 0 && s.owner != p.self && now.Sub(last) < unit {
		return false, nil // someone runs it
	}
	if p.o.Views == nil || now.Sub(last) < time.Duration(p.snapRank())*unit {
		return false, nil // without views this node can only follow
	}
	attempt := s.attempt + 1
	won, err := p.claim(ctx, s.want, attempt)
	if err != nil || !won {
		return false, err
	}
	err = p.runSnapshot(ctx, s.want, attempt)
	if errors.Is(err, errSnapshotAborted) {
		p.logger.Info("outbox: snapshot taken over by another node", "epoch", s.want, "attempt", attempt)
		return true, nil
	}
	return err == nil, err
}

// snapRank is this node's place among the origins it knows, in id order:
// the lowest runs a snapshot first.
func (p *Publisher) snapRank() int {
	ids := []uint64{p.self}
	for o := range p.o.Log.Durable() {
		if o != p.self {
			ids = append(ids, o)
		}
	}
	slices.Sort(ids)
	return slices.Index(ids, p.self)
}

// claim sends a claim for (epoch, attempt) and waits until the cursor
// topic shows whose claim came first.
func (p *Publisher) claim(ctx context.Context, epoch, attempt uint64) (bool, error) {
	if err := p.publish(ctx, []Message{p.snapshotMessage(snapshotRecord{Snapshot: snapClaim, Epoch: epoch, Attempt: attempt})}); err != nil {
		return false, err
	}
	deadline := time.Now().Add(p.snapUnit())
	for {
		p.mu.Lock()
		owner, got, want, done := p.snap.owner, p.snap.attempt, p.snap.want, p.snap.done != nil
		p.mu.Unlock()
		switch {
		case done || want != epoch || got > attempt:
			return false, nil
		case got == attempt && owner != 0:
			if owner != p.self {
				p.logger.Info("outbox: another node runs the snapshot", "epoch", epoch, "attempt", attempt, "by", owner)
			}
			return owner == p.self, nil
		case time.Now().After(deadline):
			// The claim never came back (a sink that keeps nothing and
			// does not echo): run it, as the only node that can tell.
			p.logger.Warn("outbox: snapshot claim not seen on the cursor topic; running it", "epoch", epoch)
			return true, nil
		}
		select {
		case <-p.wake:
		case <-time.After(10 * time.Millisecond):
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// snapRun is one running snapshot: it batches r events and sends
// heartbeats. Run's goroutine.
type snapRun struct {
	p              *Publisher
	epoch, attempt uint64
	cs             *marmotv1.ChangeSet // source of the r events
	msgs           []Message
	held           *snapRow // the last row, sent once it is known not to be the last
	beat           time.Time
	rows           uint64
}

type snapRow struct {
	db string
	rc *marmotv1.RowChange
}

// runSnapshot emits the r events and the seam (see "The initial snapshot")
// and moves the cursor to the snapshot's end.
func (p *Publisher) runSnapshot(ctx context.Context, epoch, attempt uint64) error {
	start := time.Now()
	at := p.o.Log.Durable()
	hold := p.cursor + ".snapshot"
	if err := p.o.Log.SetCursor(hold, at); err != nil {
		return err
	}
	p.logger.Info("outbox: snapshot started", "epoch", epoch, "attempt", attempt, "at", at)
	ts := txlog.Timestamp{WallMS: p.o.Now().UnixMilli(), Node: p.self}
	r := &snapRun{p: p, epoch: epoch, attempt: attempt, beat: time.Now(),
		cs: &marmotv1.ChangeSet{Id: fmt.Appendf(nil, "snapshot-%d.%d", epoch, attempt), Origin: p.self, Hlc: ts.Proto()}}
	if err := r.heartbeat(ctx, true); err != nil {
		return err
	}
	dbs := slices.Sorted(slices.Values(p.o.Views.Databases()))
	read := map[string]txlog.Watermark{}
	for _, db := range dbs {
		if !p.o.Filter.Database(db) {
			continue
		}
		err := p.o.Views.Read(ctx, db, at, func(applied txlog.Watermark, tx *sql.Tx) error {
			read[db] = applied
			return r.database(ctx, db, tx)
		})
		if err != nil {
			if !slices.Contains(p.o.Views.Databases(), db) {
				// Dropped meanwhile: its DROP is above at, and the seam
				// below publishes it.
				delete(read, db)
				continue
			}
			return fmt.Errorf("outbox: snapshot of %s: %w", db, err)
		}
	}
	if err := r.flushRows(ctx, true); err != nil {
		return err
	}

	// The seam: change sets in (at, end] not in the rows read.
	end := at.Clone()
	for _, w := range read {
		for o, s := range w {
			end[o] = max(end[o], s)
		}
	}
	var catchUp int
	nowMS := p.o.Now().UnixMilli()
	for _, o := range slices.Sorted(func(yield func(uint64) bool) {
		for o := range end {
			if !yield(o) {
				return
			}
		}
	}) {
		err := p.o.Log.ScanOrigin(o, at[o], func(cs *marmotv1.ChangeSet) error {
			if cs.Seq > end[o] {
				return txlog.Stop
			}
			if w, ok := read[cs.Database]; ok && w.Covers(o, cs.Seq) {
				return nil
			}
			n := len(r.msgs)
			r.msgs = p.messages(r.msgs, cs, nowMS)
			catchUp += len(r.msgs) - n
			if len(r.msgs) >= p.o.BatchSize {
				return r.send(ctx)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if err := r.send(ctx); err != nil {
		return err
	}
	// Done: the record and cursor records at end, after every event.
	msgs := []Message{p.snapshotMessage(snapshotRecord{Snapshot: snapDone, Epoch: epoch, Attempt: attempt, Cursor: end})}
	for o, s := range end {
		msgs = append(msgs, p.cursorRecord(o, s, p.o.Now()))
	}
	if err := p.publish(ctx, msgs); err != nil {
		return err
	}
	p.reset(end, epoch)
	p.mu.Lock()
	if d := p.snap.done; d != nil && d.Epoch <= epoch {
		p.snap.done = nil
	}
	p.mu.Unlock()
	if err := p.o.Log.DeleteCursor(hold); err != nil {
		p.logger.Warn("outbox: could not drop the snapshot's GC hold", "cursor", hold, "err", err)
	}
	p.metrics.snapshotRows.Add(float64(r.rows))
	p.logger.Info("outbox: snapshot done", "epoch", epoch, "attempt", attempt, "rows", r.rows,
		"seam_events", catchUp, "cursor", end, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

// database emits the schema and r events of one database, read in tx.
func (r *snapRun) database(ctx context.Context, db string, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE '\_\_marmot%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return err
	}
	type table struct{ name, ddl string }
	var tables []table
	for rows.Next() {
		var t table
		var ddl sql.NullString
		if err := rows.Scan(&t.name, &ddl); err != nil {
			rows.Close()
			return err
		}
		t.ddl = ddl.String
		if r.p.o.Filter.Table(db, t.name) {
			tables = append(tables, t)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		// Debezium's snapshot starts with the schema: one schema change
		// per table, its current CREATE statement.
		cs := &marmotv1.ChangeSet{Id: r.cs.Id, Database: db, Origin: r.cs.Origin, Hlc: r.cs.Hlc, Ddl: t.ddl, DdlTables: []string{t.name}}
		m := r.p.enc.ddlMessage(cs, r.p.o.Now().UnixMilli(), "true")
		m.ID = r.idPrefix() + db + "." + t.name + ":ddl"
		r.msgs = append(r.msgs, m)
		if err := r.table(ctx, db, t.name, tx); err != nil {
			return fmt.Errorf("table %s: %w", t.name, err)
		}
	}
	return nil
}

func (r *snapRun) idPrefix() string {
	return "r" + strconv.FormatUint(r.epoch, 10) + "." + strconv.FormatUint(r.attempt, 10) + ":"
}

// table streams one table's rows: one row in memory at a time, plus the
// batch being sent.
func (r *snapRun) table(ctx context.Context, db, name string, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, name)
	if err != nil {
		return err
	}
	var cols []string
	var pkIdx []int
	type pkcol struct{ idx, order int }
	var pks []pkcol
	for rows.Next() {
		var c string
		var pk int
		if err := rows.Scan(&c, &pk); err != nil {
			rows.Close()
			return err
		}
		if pk > 0 {
			pks = append(pks, pkcol{len(cols), pk})
		}
		cols = append(cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	slices.SortFunc(pks, func(a, b pkcol) int { return a.order - b.order })
	for _, p := range pks {
		pkIdx = append(pkIdx, p.idx)
	}
	// "+col" is an expression without a declared type, so the driver
	// returns the stored value as it is (not DATETIME text as time.Time);
	// the key of a table without a primary key is its rowid, as in the log.
	sel := make([]string, 0, len(cols)+1)
	if len(pkIdx) == 0 {
		sel = append(sel, "_rowid_")
	}
	for _, c := range cols {
		sel = append(sel, `+"`+strings.ReplaceAll(c, `"`, `""`)+`"`)
	}
	q := "SELECT " + strings.Join(sel, ", ") + ` FROM "` + strings.ReplaceAll(name, `"`, `""`) + `"`
	data, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer data.Close()
	vals := make([]any, len(sel))
	ptrs := make([]any, len(sel))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for data.Next() {
		if err := data.Scan(ptrs...); err != nil {
			return err
		}
		rc := &marmotv1.RowChange{Table: name, Op: marmotv1.Op_OP_INSERT, Columns: cols}
		img := vals
		if len(pkIdx) == 0 {
			rc.Pk = []*marmotv1.Value{wireValue(vals[0])}
			img = vals[1:]
		}
		rc.After = make([]*marmotv1.Value, len(img))
		for i, v := range img {
			rc.After[i] = wireValue(v)
		}
		for _, i := range pkIdx {
			rc.Pk = append(rc.Pk, rc.After[i])
		}
		if err := r.row(ctx, db, rc); err != nil {
			return err
		}
	}
	return data.Err()
}

// wireValue is a value read from SQLite in the log's form.
func wireValue(v any) *marmotv1.Value {
	switch x := v.(type) {
	case int64:
		return &marmotv1.Value{Kind: &marmotv1.Value_Int{Int: x}}
	case float64:
		return &marmotv1.Value{Kind: &marmotv1.Value_Real{Real: x}}
	case string:
		return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(x)}}
	case []byte:
		return &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: append([]byte(nil), x...)}}
	case nil:
		return &marmotv1.Value{Kind: &marmotv1.Value_Null{Null: true}}
	}
	return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: fmt.Append(nil, v)}}
}

// row queues one row; the previous one is encoded now that it is known
// not to be the snapshot's last ("last" marks the last, as Debezium does).
func (r *snapRun) row(ctx context.Context, db string, rc *marmotv1.RowChange) error {
	if err := r.flushRows(ctx, false); err != nil {
		return err
	}
	r.held = &snapRow{db: db, rc: rc}
	return nil
}

// flushRows encodes the held row; last ends the snapshot (sending the
// batch).
func (r *snapRun) flushRows(ctx context.Context, last bool) error {
	if h := r.held; h != nil {
		flag := "true"
		if last {
			flag = "last"
		}
		cs := &marmotv1.ChangeSet{Id: r.cs.Id, Database: h.db, Origin: r.cs.Origin, Hlc: r.cs.Hlc,
			Rows: []*marmotv1.RowChange{h.rc}}
		id := r.idPrefix() + h.db + "." + h.rc.Table + ":" + hex.EncodeToString(txlog.AppendValues(nil, h.rc.Pk))
		r.msgs = r.p.enc.rowEvent(r.msgs, cs, 0, -1, r.p.o.Now().UnixMilli(), flag, id)
		r.held = nil
		r.rows++
	}
	if last || len(r.msgs) >= r.p.o.BatchSize {
		return r.send(ctx)
	}
	return nil
}

// send publishes the batch (with a heartbeat when one is due), after
// checking that no other node has taken the snapshot over.
func (r *snapRun) send(ctx context.Context) error {
	p := r.p
	p.mu.Lock()
	aborted := (p.snap.done != nil && p.snap.done.Epoch >= r.epoch) || p.snap.want > r.epoch ||
		p.snap.attempt > r.attempt
	p.mu.Unlock()
	if aborted {
		return errSnapshotAborted
	}
	if err := r.heartbeat(ctx, false); err != nil {
		return err
	}
	if len(r.msgs) == 0 {
		return nil
	}
	err := p.publish(ctx, r.msgs)
	r.msgs = r.msgs[:0]
	return err
}

// heartbeat appends a running record every quarter unit, so waiting nodes
// know the runner lives; now sends one at once.
func (r *snapRun) heartbeat(ctx context.Context, now bool) error {
	if !now && time.Since(r.beat) < r.p.snapUnit()/4 {
		return nil
	}
	r.beat = time.Now()
	m := r.p.snapshotMessage(snapshotRecord{Snapshot: snapRunning, Epoch: r.epoch, Attempt: r.attempt})
	if now {
		return r.p.publish(ctx, []Message{m})
	}
	r.msgs = append(r.msgs, m)
	return nil
}
