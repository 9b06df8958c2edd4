package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Log is the part of the transaction log a publisher reads; *txlog.Log
// implements it. Methods must be safe for concurrent use.
type Log interface {
	Node() uint64
	Durable() txlog.Watermark
	Changed() <-chan struct{}
	ScanOrigin(origin, after uint64, fn func(*marmotv1.ChangeSet) error) error
	Cursor(name string) (txlog.Watermark, bool, error)
	SetCursor(name string, w txlog.Watermark) error
	DeleteCursor(name string) error
}

// Options configure a Publisher; zero values take the defaults noted.
type Options struct {
	// Name is the sink's unique name: it keys the cursor in the log and in
	// the sink's cursor topic. Required.
	Name string
	Sink Sink
	Log  Log
	// TopicPrefix starts every topic: {prefix}.{db}.{table}. Default
	// "marmot.cdc".
	TopicPrefix string
	Filter      Filter
	// BatchSize is the number of events read from the log per Publish
	// (whole change sets, so a batch may hold more). Default 100.
	BatchSize int
	// PollInterval is the longest pause between looks at the log when
	// nothing woke the publisher. Default 10ms.
	PollInterval time.Duration
	// Retry backoff after a failed Publish: RetryInitial, times
	// RetryMultiplier per consecutive failure, at most RetryMax. Defaults
	// 100ms, 2, 30s.
	RetryInitial    time.Duration
	RetryMax        time.Duration
	RetryMultiplier float64
	// PublishTimeout bounds one Publish call. Default 30s.
	PublishTimeout time.Duration
	// TakeoverAfter is how long another origin's durable change sets may
	// wait with no progress of its cursor before this node publishes them
	// itself (the origin's node is presumed down or cut off from the
	// broker). The n-th node after the origin in id order waits n times
	// this long. 0 means never: each node publishes only its own change
	// sets. Default 0 here; marmotd sets publisher.takeover_after_ms.
	TakeoverAfter time.Duration
	// Catalog names key columns and declared types; optional.
	Catalog Catalog
	// Views, when set, turns on snapshots: a new sink first gets an "r"
	// event per existing row (snapshot.go), and Resnapshot works. Nil: a
	// new sink starts at the beginning of the retained log.
	Views Views
	// SnapshotMode says what a sink new to the cluster gets first, as
	// Debezium's snapshot.mode: SnapshotInitial (the default) an "r" event
	// per existing row (needs Views), SnapshotNever none: it starts at the
	// beginning of the retained log. Resnapshot works in both.
	SnapshotMode string
	// Version goes to source.version. Default "2.0.0".
	Version string
	Logger  *slog.Logger
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Snapshot modes (Options.SnapshotMode).
const (
	SnapshotInitial = "initial"
	SnapshotNever   = "never"
)

// Publisher streams one sink's events from the log. Create with New, run
// with Run.
//
// Its cursor is a watermark (origin -> last sequence published), not an
// HLC position: change sets of different origins become durable here out
// of HLC order, so an HLC cursor would skip a late replicated one.
type Publisher struct {
	o      Options
	self   uint64
	cursor string // name of the cursor in the log
	topic  string // the sink's cursor topic
	enc    *encoder
	logger *slog.Logger

	mu      sync.Mutex
	pos     txlog.Watermark // published by someone, as far as this node knows
	learned txlog.Watermark // positions read from the cursor topic, not yet merged
	wake    chan struct{}   // a learned position arrived
	waiters chan struct{}   // closed and replaced when pos advances
	snap    snapState

	// Owned by Run's goroutine.
	stall     map[uint64]time.Time // other origins with unpublished change sets: since when
	tookOver  map[uint64]bool
	announce  map[uint64]bool // cursor records owed to the sink
	announced time.Time       // last cursor records sent

	published atomic.Uint64 // events acknowledged by the sink
	failures  atomic.Uint64 // failed Publish calls
	retrying  atomic.Bool
	metrics   *sinkMetrics
}

// New checks opts and loads the sink's cursor from the log.
func New(opts Options) (*Publisher, error) {
	if opts.Name == "" || opts.Sink == nil || opts.Log == nil {
		return nil, errors.New("outbox: a publisher needs a name, a sink and the log")
	}
	if err := opts.Filter.Validate(); err != nil {
		return nil, err
	}
	switch opts.SnapshotMode {
	case "":
		opts.SnapshotMode = SnapshotInitial
	case SnapshotInitial, SnapshotNever:
	default:
		return nil, fmt.Errorf("outbox: unknown snapshot mode %q (want %q or %q)", opts.SnapshotMode, SnapshotInitial, SnapshotNever)
	}
	if opts.TopicPrefix == "" {
		opts.TopicPrefix = "marmot.cdc"
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 10 * time.Millisecond
	}
	if opts.RetryInitial <= 0 {
		opts.RetryInitial = 100 * time.Millisecond
	}
	if opts.RetryMax < opts.RetryInitial {
		opts.RetryMax = max(30*time.Second, opts.RetryInitial)
	}
	if opts.RetryMultiplier < 1 {
		opts.RetryMultiplier = 2
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = 30 * time.Second
	}
	if opts.Version == "" {
		opts.Version = "2.0.0"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	p := &Publisher{o: opts, self: opts.Log.Node(), cursor: CursorName(opts.Name), topic: CursorTopic(opts.TopicPrefix),
		enc: newEncoder(opts.TopicPrefix, opts.Version, opts.Catalog), logger: opts.Logger.With("sink", opts.Name),
		learned: txlog.Watermark{}, wake: make(chan struct{}, 1), waiters: make(chan struct{}),
		stall: map[uint64]time.Time{}, tookOver: map[uint64]bool{}, announce: map[uint64]bool{}, metrics: metricsFor(opts.Name)}
	w, ok, err := opts.Log.Cursor(p.cursor)
	if err != nil {
		return nil, err
	}
	p.snap.epoch = w[0] // origin 0 holds the snapshot epoch (snapshot.go)
	delete(w, 0)
	p.pos = w
	p.snap.want = p.snap.epoch
	if !ok && opts.Views != nil && opts.SnapshotMode == SnapshotInitial {
		p.snap.want, p.snap.fresh, p.snap.since = p.snap.epoch+1, true, opts.Now()
	}
	return p, nil
}

// CursorName is the name of sink's cursor in the log (txlog.Log.Cursor).
func CursorName(sink string) string { return "outbox/" + sink }

// CursorTopic is where publishers record their positions (cursors.go):
// {prefix}.__marmot_cursor. With two dots fewer than an event topic it
// cannot be mistaken for one.
func CursorTopic(prefix string) string { return prefix + ".__marmot_cursor" }

// Watermark is the sink's cursor: per origin, the last sequence whose
// events the sink has acknowledged (sent by this node or, as its cursor
// records show, by another). Log GC must keep every change set above it.
func (p *Publisher) Watermark() txlog.Watermark {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pos.Clone()
}

// Published is the number of events (messages, tombstones included) the
// sink acknowledged from this node since New.
func (p *Publisher) Published() uint64 { return p.published.Load() }

// Failures is the number of failed Publish calls since New.
func (p *Publisher) Failures() uint64 { return p.failures.Load() }

// WaitFor blocks until the cursor covers w or ctx ends.
func (p *Publisher) WaitFor(ctx context.Context, w txlog.Watermark) error {
	for {
		p.mu.Lock()
		done := true
		for o, s := range w {
			done = done && p.pos.Covers(o, s)
		}
		ch := p.waiters
		p.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Run publishes until ctx ends; it returns ctx's error or a log read error
// (a corrupt log needs an operator). Sink failures never end it: they are
// logged, counted and retried with backoff.
func (p *Publisher) Run(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.watch(wctx, ready)
	}()
	defer wg.Wait()
	// Learn what other nodes published before sending anything, so a node
	// back from a crash does not resend what its successor already sent.
	select {
	case <-ready:
	case <-time.After(p.o.RetryMax):
	case <-ctx.Done():
		return ctx.Err()
	}
	for {
		busy, err := p.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if busy {
			continue
		}
		changed := p.o.Log.Changed()
		select {
		case <-changed:
		case <-p.wake:
		case <-time.After(p.o.PollInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// step publishes at most one batch. busy means there may be more to do at
// once.
func (p *Publisher) step(ctx context.Context) (busy bool, err error) {
	if p.adoptDone() {
		return true, nil
	}
	if err := p.merge(); err != nil {
		return false, err
	}
	p.mu.Lock()
	pending := p.snap.want > p.snap.epoch
	p.mu.Unlock()
	if pending {
		// No events from the log until the snapshot's end is known: they
		// would land before the r events and be published again after.
		return p.snapshotStep(ctx)
	}
	now := p.o.Now()
	durable := p.o.Log.Durable()
	pos := p.Watermark()
	origins := p.order(durable)

	var msgs []Message
	advance := txlog.Watermark{}
	events, sets := 0, 0
	full := false
	for _, o := range origins {
		if durable[o] <= pos[o] {
			delete(p.stall, o)
			delete(p.tookOver, o)
			continue
		}
		if o != p.self && !p.due(o, origins, now) {
			continue
		}
		err := p.o.Log.ScanOrigin(o, pos[o], func(cs *marmotv1.ChangeSet) error {
			msgs = p.messages(msgs, cs, now.UnixMilli())
			advance[o] = cs.Seq
			events, sets = len(msgs), sets+1
			if events >= p.o.BatchSize || sets >= 16*p.o.BatchSize {
				full = true
				return txlog.Stop
			}
			return nil
		})
		if err != nil {
			return false, fmt.Errorf("outbox: read log origin %d: %w", o, err)
		}
		if full {
			break
		}
	}
	// Positions acknowledged by the previous batch ride with this one:
	// a cursor record is only sent once the events it covers were
	// acknowledged, so a node that trusts it never skips an event.
	heartbeat := p.o.TakeoverAfter > 0 && now.Sub(p.announced) >= p.o.TakeoverAfter/4
	if heartbeat && pos[p.self] > 0 {
		p.announce[p.self] = true
	}
	var sent []uint64
	for o := range p.announce {
		msgs = append(msgs, p.cursorRecord(o, pos[o], now))
		sent = append(sent, o)
	}
	if len(advance) == 0 && len(sent) == 0 {
		return false, nil
	}
	if len(msgs) > 0 {
		if err := p.publish(ctx, msgs); err != nil {
			return false, err
		}
	}
	if len(sent) > 0 {
		p.announced = now
		for _, o := range sent {
			delete(p.announce, o)
		}
	}
	if len(advance) > 0 {
		p.advance(advance)
		for o := range advance {
			p.announce[o] = true
		}
	}
	return len(advance) > 0, nil
}

// order lists the origins to look at, this node's own first.
func (p *Publisher) order(durable txlog.Watermark) []uint64 {
	out := make([]uint64, 0, len(durable)+1)
	out = append(out, p.self)
	for o := range durable {
		if o != p.self {
			out = append(out, o)
		}
	}
	slices.Sort(out[1:])
	return out
}

// due reports whether this node should publish another origin's change
// sets now: they have waited without progress longer than its takeover
// delay. Each node after the origin in id order waits one TakeoverAfter
// more than the one before it, so normally one node takes over.
func (p *Publisher) due(o uint64, origins []uint64, now time.Time) bool {
	if p.o.TakeoverAfter <= 0 {
		return false
	}
	if p.tookOver[o] {
		return true
	}
	since, ok := p.stall[o]
	if !ok {
		p.stall[o] = now
		return false
	}
	ring := slices.Clone(origins)
	slices.Sort(ring)
	rank := 0
	i, _ := slices.BinarySearch(ring, o)
	for k := 1; k < len(ring); k++ {
		n := ring[(i+k)%len(ring)]
		if n == p.self {
			rank = k
			break
		}
	}
	if now.Sub(since) < time.Duration(rank)*p.o.TakeoverAfter {
		return false
	}
	if !p.tookOver[o] {
		p.tookOver[o] = true
		p.logger.Warn("outbox: taking over publishing of another node's change sets: no progress from it",
			"origin", o, "waited", now.Sub(since).Round(time.Millisecond))
		p.metrics.takeovers.Inc()
	}
	return true
}

// messages appends the events of one change set that pass the filter.
func (p *Publisher) messages(out []Message, cs *marmotv1.ChangeSet, nowMS int64) []Message {
	if cs.Ddl != "" || cs.DatabaseOp != marmotv1.DatabaseOp_DATABASE_OP_UNSPECIFIED {
		if p.o.Catalog != nil {
			p.o.Catalog.Forget(cs.Database)
		}
		if !p.o.Filter.Database(cs.Database) {
			return out
		}
		if len(cs.DdlTables) > 0 && !slices.ContainsFunc(cs.DdlTables, func(t string) bool { return p.o.Filter.Table(cs.Database, t) }) {
			return out
		}
		return append(out, p.enc.ddlMessage(cs, nowMS, "false"))
	}
	if !p.o.Filter.Database(cs.Database) {
		return out
	}
	for i, rc := range cs.Rows {
		if p.o.Filter.Table(cs.Database, rc.Table) {
			out = p.enc.rowMessages(out, cs, i, nowMS, "false")
		}
	}
	return out
}

// publish sends msgs until the sink acknowledges them, backing off between
// failures; only ctx ends it early.
func (p *Publisher) publish(ctx context.Context, msgs []Message) error {
	delay := p.o.RetryInitial
	for attempt := 1; ; attempt++ {
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, p.o.PublishTimeout)
		err := p.o.Sink.Publish(pctx, msgs)
		cancel()
		if err == nil {
			p.metrics.latency.Observe(time.Since(start).Seconds())
			p.published.Add(uint64(len(msgs)))
			p.metrics.events.Add(float64(len(msgs)))
			if p.retrying.Swap(false) {
				p.logger.Info("outbox: sink recovered", "attempts", attempt)
				p.metrics.retrying.Set(0)
				p.metrics.backoff.Set(0)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.failures.Add(1)
		p.metrics.failures.Inc()
		p.retrying.Store(true)
		p.metrics.retrying.Set(1)
		p.metrics.backoff.Set(delay.Seconds())
		p.logger.Warn("outbox: publish failed; retrying", "attempt", attempt, "events", len(msgs), "retry_in", delay, "err", err)
		// While this node cannot publish, it cannot judge whether others
		// make progress: restart their takeover clocks.
		for o := range p.stall {
			p.stall[o] = p.o.Now().Add(delay)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(time.Duration(float64(delay)*p.o.RetryMultiplier), p.o.RetryMax)
	}
}

// advance moves the cursor forward (never back) and persists it.
func (p *Publisher) advance(w txlog.Watermark) {
	p.mu.Lock()
	moved := false
	for o, s := range w {
		if s > p.pos[o] {
			p.pos[o], moved = s, true
		}
	}
	var snap txlog.Watermark
	if moved {
		snap = p.persisted()
		close(p.waiters)
		p.waiters = make(chan struct{})
	}
	p.mu.Unlock()
	if snap == nil {
		return
	}
	if err := p.o.Log.SetCursor(p.cursor, snap); err != nil {
		// The in-memory cursor is right; after a restart the sink gets
		// duplicates, not gaps.
		p.logger.Error("outbox: could not persist cursor", "err", err)
	}
}

// merge applies positions learned from the cursor topic.
func (p *Publisher) merge() error {
	p.mu.Lock()
	learned := p.learned
	p.learned = txlog.Watermark{}
	p.mu.Unlock()
	if len(learned) == 0 {
		return nil
	}
	pos := p.Watermark()
	now := p.o.Now()
	moved := txlog.Watermark{}
	for o, s := range learned {
		if s > pos[o] {
			// Another node published these: the origin (or whoever took
			// over from it) is alive, so hand back and restart the clock.
			moved[o] = s
			if _, ok := p.stall[o]; ok {
				p.stall[o] = now
			}
			delete(p.tookOver, o)
		}
	}
	p.advance(moved)
	return nil
}

// cursorRecord says "the sink holds every event of origin up to seq".
type cursorRecord struct {
	Sink   string `json:"sink"`
	Origin uint64 `json:"origin"`
	Seq    uint64 `json:"seq"`
	Node   uint64 `json:"node"`
	TSMS   int64  `json:"ts_ms"`
}

func (p *Publisher) cursorRecord(origin, seq uint64, now time.Time) Message {
	v, _ := json.Marshal(cursorRecord{Sink: p.o.Name, Origin: origin, Seq: seq, Node: p.self, TSMS: now.UnixMilli()})
	key := p.o.Name + "." + strconv.FormatUint(origin, 10)
	return Message{Topic: p.topic, Key: []byte(key), Value: v, Cursor: true,
		ID: "cursor:" + key + ":" + strconv.FormatUint(seq, 10) + ":" + strconv.FormatUint(p.self, 10)}
}

// watch follows the cursor topic for as long as ctx lives.
func (p *Publisher) watch(ctx context.Context, ready chan struct{}) {
	var once sync.Once
	delay := p.o.RetryInitial
	for ctx.Err() == nil {
		err := p.o.Sink.Watch(ctx, p.topic, p.learn, func() { once.Do(func() { close(ready) }) })
		if ctx.Err() != nil {
			return
		}
		p.logger.Warn("outbox: reading the cursor topic failed; retrying", "topic", p.topic, "retry_in", delay, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
		delay = min(time.Duration(float64(delay)*p.o.RetryMultiplier), p.o.RetryMax)
	}
}

func (p *Publisher) learn(_, value []byte) {
	// One shape for both record kinds: a cursor record has an origin, a
	// snapshot record a "snapshot" state.
	var r struct {
		Sink     string            `json:"sink"`
		Origin   uint64            `json:"origin"`
		Seq      uint64            `json:"seq"`
		Node     uint64            `json:"node"`
		TSMS     int64             `json:"ts_ms"`
		Snapshot string            `json:"snapshot"`
		Epoch    uint64            `json:"epoch"`
		Attempt  uint64            `json:"attempt"`
		Cursor   map[uint64]uint64 `json:"cursor"`
	}
	if err := json.Unmarshal(value, &r); err != nil || r.Sink != p.o.Name {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.snap.sawSink = true
	if r.Snapshot != "" {
		p.learnSnapshot(snapshotRecord{Sink: r.Sink, Snapshot: r.Snapshot, Epoch: r.Epoch, Attempt: r.Attempt,
			Node: r.Node, Cursor: r.Cursor, TSMS: r.TSMS})
		select {
		case p.wake <- struct{}{}:
		default:
		}
		return
	}
	if r.Origin == 0 {
		return
	}
	base := p.pos[r.Origin]
	if p.snap.done != nil {
		base = p.snap.done.Cursor[r.Origin] // the position it resets to
	}
	if r.Seq > base && r.Seq > p.learned[r.Origin] {
		p.learned[r.Origin] = r.Seq
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}
