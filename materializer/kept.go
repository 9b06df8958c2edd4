package materializer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Kept captures: a single node's autocommit writes run in SQLite once.
//
// A capture is normally rolled back after its change set is appended and
// the applier writes the rows again once the change set is durable: every
// write executes twice on the database's one writer, which capped sysbench
// oltp_insert at half of MariaDB. When this node's log is the only commit
// point (no peers), an autocommit statement is instead kept: it runs in a
// savepoint of a SQLite transaction left open on the writer (the group),
// its change set is appended, and the savepoint is released rather than
// rolled back. Statements of other sessions join the same transaction
// while the writer passes between them. The group commits, with the
// watermark of its newest change set, only once that change set is
// durable, so the view still never runs ahead of the log: a crash before
// the group's COMMIT loses only rows the log has, and the applier writes
// them again at start-up. A session is answered once its own change set is
// durable, before the group commits (Txn.Settle); every read of the view
// commits a group with an answered member first (CommitAcked), so a
// session reads its own write and nobody reads around an acknowledged
// one, and nobody reads a row before it is durable.
//
// A capture that finds nobody waiting for the writer when it is done
// commits the group once its own change set is durable, unless others
// joined since or the group is not yet due (Txn.Settle, keptPace); a
// group of keptGroupMax is sealed. Anyone else taking the writer (the
// applier, an interactive transaction, DDL, a capture arriving after the
// seal) first waits for the group's fsync and commits it (lockAs), so
// every other user of the writer sees the group as an ordinary committed
// transaction.
//
// The watermark is only right if the group holds every change set of this
// node for the database after the view's: BeginKept opens a group only on
// a view that has applied all of them, and every other local change set of
// the database is appended holding the writer (captures, DDL, and DROP
// DATABASE through Exclusive), which commits the group first.

// ErrNotKept: the statement cannot be kept now; run it as an ordinary
// capture.
var ErrNotKept = errors.New("materializer: capture cannot be kept")

// keptGroupMax bounds a group, so a steady stream of writers with no gap
// still commits even if its timer were late. Pacing (keptPace) is what
// normally ends a busy group.
const keptGroupMax = 1 << 16

// Pacing of group commits. A group's COMMIT writes every page its members
// dirtied; under random-key inserts almost every member dirties pages of
// its own until the group spans a good part of the tables, so committing
// as soon as a closer finds the writer free (about every 70 members under
// sysbench oltp_insert) wrote nearly two 4 KiB pages per insert, and the
// commits held the writer for 6-8% of the time. So a closer commits only
// once the writer has run keptPace times as long as the previous COMMIT
// took since it ended: on a lightly loaded node a commit of a few pages
// (~0.1 ms) allows the next within ~20 ms, as before pacing, while under
// load groups grow until their commits amortize, to at most
// Options.ViewCommitDelay apart (oltp_insert: groups of ~8,000, one a
// second, +15% throughput). Readers through marmotd never wait for this:
// they commit an acknowledged group first (CommitAcked).
const keptPace = 200

// keptGroup is the open SQLite transaction of kept captures. Guarded by
// wl, except last and ended, which are written under wl and also read
// without it: a closer that others joined since, or whose group ended,
// need not queue for the writer to find out (under oltp_insert six
// closers did per group commit).
type keptGroup struct {
	base   uint64        // the view's applied sequence of this node when it opened
	last   atomic.Uint64 // this node's newest change set in it (0: none yet)
	n      int
	sealed bool
	ended  atomic.Bool // committed or rolled back
	acked  atomic.Bool // a member was answered: readers must see the group
	timed  atomic.Bool // its commit timer is set
}

func (g *keptGroup) top() uint64 {
	if g.n == 0 {
		return g.base
	}
	return g.last.Load()
}

// BeginKept starts a kept capture (see above). It fails with ErrNotKept
// when the view lags this node's own change sets, so the caller runs an
// ordinary capture.
//
// multi says the capture may run more than one SQLite statement: it then
// runs in a savepoint, so a failure part way takes only its own rows out
// of the group. A single statement needs none (SAVEPOINT and RELEASE were
// 14% of a kept insert's hold of the writer): SQLite's statement journal
// undoes a failed statement by itself, and the rare capture that must be
// undone after it succeeded rolls the whole group back (undoKept). The
// statement must run with a context that cannot be cancelled: go-sqlite3
// reports a cancellation as the error of a statement that may have
// completed.
func (d *DB) BeginKept(ctx context.Context, multi bool) (*Txn, error) {
	if err := d.lockAs(ctx, false, true); err != nil {
		return nil, err
	}
	if d.Dropped() || d.wconn == nil {
		d.unlock()
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	self := d.m.log.Node()
	last := d.m.log.LastLocal(d.name)
	g := d.group.Load()
	if g == nil {
		if applied := d.Applied()[self]; last > applied {
			d.unlock()
			return nil, ErrNotKept
		}
		if _, err := d.wconn.ExecContext(context.WithoutCancel(ctx), "BEGIN IMMEDIATE"); err != nil {
			d.unlock()
			return nil, fmt.Errorf("materializer: begin: %w", err)
		}
		g = &keptGroup{base: d.Applied()[self]}
		d.group.Store(g)
	} else if last != g.top() {
		// Defensive: a change set of this node the group does not hold.
		d.finishGroupLocked()
		d.unlock()
		return nil, ErrNotKept
	}
	seen := d.Applied()
	if g.n > 0 {
		seen[self] = g.last.Load()
	}
	t := &Txn{d: d, seen: seen, kept: g}
	d.setCapturing(t)
	// The capture is one statement's: its mark (Mark) is what undoes it.
	if _, err := t.Mark(ctx, multi); err != nil {
		d.setCapturing(nil)
		d.finishGroupLocked()
		d.unlock()
		return nil, fmt.Errorf("materializer: savepoint: %w", err)
	}
	return t, nil
}

// finishKept is Finish for a kept capture: the change set is appended and
// its rows stay in the group, or (empty, failed, refused) are undone.
func (t *Txn) finishKept(ctx context.Context, appendFn func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error) (*marmotv1.ChangeSet, error) {
	d, g := t.d, t.kept
	rows, err := t.netChanges(ctx)
	t.done = true
	d.setCapturing(nil)
	appended := false
	defer func() { t.releaseKept(appended) }()
	if err != nil {
		return nil, errors.Join(err, t.undoKept(false))
	}
	// t.seen is this capture's own copy (BeginKept) and nothing changes it
	// from here on: the change set takes it rather than a clone.
	cs := &marmotv1.ChangeSet{Id: NewTxnID(), Database: d.name, Rows: rows, Deps: t.seen}
	if appendFn != nil {
		err = appendFn(cs, t.seen)
	}
	if err == nil && cs.Seq == 0 && !t.stmtSavepoint {
		// Nothing appended because the statement changed no row: there is
		// nothing to take out of the group.
		return cs, nil
	}
	if err != nil || cs.Seq == 0 {
		return cs, errors.Join(err, t.undoKept(false))
	}
	if cs.Origin != d.m.log.Node() {
		// Only this node's log may be the commit point of a kept capture.
		d.m.logger.Error("kept capture appended as another origin", "db", d.name, "origin", cs.Origin)
	}
	if rerr := t.Unmark(context.Background(), 0, false); rerr != nil {
		// The rows are in the log: let the applier write them.
		d.abortGroupLocked()
		return cs, nil
	}
	g.last.Store(cs.Seq)
	g.n++
	t.first = g.n == 1
	t.seq = cs.Seq
	appended = true
	return cs, nil
}

// undoKept takes a kept capture's rows out of the group. stmtFailed: its
// statement failed (else it succeeded and its change set cannot be
// appended). Without a savepoint only a failed statement leaves the group
// as it was, SQLite having undone it, and only if SQLite kept the
// transaction (an interrupt, a full disk or an I/O error end it): in every
// other case the whole group is rolled back, and the applier writes its
// members, which are all in the log, from there.
func (t *Txn) undoKept(stmtFailed bool) error {
	if !stmtFailed && !t.stmtSavepoint {
		t.d.abortGroupLocked()
		return nil
	}
	if err := t.Unmark(context.Background(), 0, true); err != nil {
		t.d.abortGroupLocked()
		if !errors.Is(err, ErrTxnEnded) {
			return err
		}
	}
	return nil
}

// releaseKept ends a kept capture's hold of the writer. A capture that
// finds nobody waiting for the writer becomes a closer: once its own
// change set is durable it commits the group (Settle) if pacing allows
// (keptPace), with whatever joined meanwhile (sealing at once was tried: groups then split into two
// cohorts of sessions that alternate, and sysbench oltp_insert measured
// 3,030 tps against 3,420 this way). A full group is sealed. A capture
// that appended nothing has nothing to wait for and commits the group now.
func (t *Txn) releaseKept(appended bool) {
	d, g := t.d, t.kept
	if d.group.Load() == g && (g.n >= keptGroupMax || !d.wl.waiting()) {
		switch {
		case !appended:
			d.finishGroupLocked()
		case g.n >= keptGroupMax:
			g.sealed = true
			t.closer = true
		default:
			t.closer = true
		}
	}
	d.unlock()
}

// keptLinger bounds how long past its pacing (keptPace) a group whose
// members were answered stays open when no closer commits it (its
// would-be closer saw a waiter that then gave up instead of taking the
// writer, was not yet due, or the load stopped while the group was still
// filling): until then only this process's readers, which commit it
// first (CommitAcked), see its rows.
var keptLinger = 20 * time.Millisecond // a var for tests

// Settle is called once a kept capture's change set is durable (acked:
// its session is about to be answered) or its wait failed. The session
// does not wait for its group to commit in SQLite: the group is committed
// by its closer (see releaseKept) if that is still the newest member and
// the group is due (keptPace; all members before it are durable too, so
// the commit waits for no fsync while holding the writer), by a sealed
// group's last member, by anyone else taking the writer (lockAs), by a
// reader before it reads (CommitAcked), or by a timer once due (at least
// keptLinger after the first member settled). So under load the writer
// runs the next statements while earlier ones are being synced, rather
// than idling through every fsync. A no-op for other transactions.
func (t *Txn) Settle(acked bool) {
	if t.kept == nil || t.seq == 0 {
		return
	}
	d, g := t.d, t.kept
	if acked {
		g.acked.Store(true)
	}
	// A closer that is still the group's only member commits at once: a
	// client writing alone (nobody joined during its fsync) has each
	// acknowledged write in the file, as before pacing.
	if t.closer && !g.ended.Load() && g.last.Load() == t.seq && (t.first || d.groupCommitDue() <= 0) {
		if err := d.lockAs(context.Background(), true, true); err != nil {
			return // shutting down: the next start applies the change sets
		}
		if d.group.Load() == g && g.last.Load() == t.seq {
			d.finishGroupLocked()
		}
		d.unlock()
	}
	if !g.ended.Load() && g.timed.CompareAndSwap(false, true) {
		time.AfterFunc(max(keptLinger, d.groupCommitDue()), func() { d.commitGroup(context.Background(), g) })
	}
}

// groupCommitDue is how long until a closer may commit the open group
// (see keptPace); zero or less: now.
func (d *DB) groupCommitDue() time.Duration {
	return time.Duration(d.nextGroupCommit.Load() - time.Now().UnixNano())
}

// commitGroup commits g if it is still open (lockAs commits the open
// group of anyone who is not joining it).
func (d *DB) commitGroup(ctx context.Context, g *keptGroup) error {
	if g == nil || g.ended.Load() {
		return nil
	}
	// The commit waits for the group's newest change set to be durable;
	// wait for the ones so far before taking the writer, so the writer
	// is not held through that fsync while statements queue behind it.
	if err := d.m.log.WaitDurable(ctx, d.m.log.Node(), g.last.Load()); err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err := d.lockAs(ctx, true, false); err != nil {
		return err
	}
	d.unlock()
	return nil
}

// CommitAcked commits the open kept group if any of its members was
// answered, so a read that starts after a write was acknowledged sees it
// (every read path of the view calls it first). Nearly free otherwise.
func (d *DB) CommitAcked(ctx context.Context) error {
	if g := d.group.Load(); g != nil && g.acked.Load() {
		return d.commitGroup(ctx, g)
	}
	return nil
}

// finishGroupLocked waits until the group's newest change set is durable
// and commits it with its watermark. Caller holds wl.
func (d *DB) finishGroupLocked() {
	g := d.group.Load()
	if g == nil {
		return
	}
	g.sealed = true
	if g.n == 0 {
		_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
		d.group.Store(nil)
		g.ended.Store(true)
		return
	}
	self := d.m.log.Node()
	if err := d.m.log.WaitDurable(d.m.ctx, self, g.last.Load()); err != nil {
		d.m.logger.Warn("kept group not committed: its change sets are not durable", "db", d.name, "err", err)
		d.abortGroupLocked()
		return
	}
	ctx := context.Background()
	start := time.Now()
	err := d.writeWatermark(ctx, d.wconn, txlog.Watermark{self: g.last.Load()})
	if err == nil {
		_, err = d.wconn.ExecContext(ctx, "COMMIT")
	}
	end := time.Now()
	d.nextGroupCommit.Store(end.Add(min(time.Duration(d.m.keptPace)*end.Sub(start), d.m.opts.ViewCommitDelay)).UnixNano())
	if err != nil {
		d.m.logger.Error("kept group commit failed; the applier writes its change sets", "db", d.name, "err", err)
		d.abortGroupLocked()
		return
	}
	g.ended.Store(true)
	metricKeptGroup.Observe(float64(g.n))
	metricApplied.WithLabelValues(d.name).Add(float64(g.n))
	d.committed()
	next := d.Applied()
	if last := g.last.Load(); last > next[self] {
		next[self] = last
	}
	d.publish(next)
	// Only now: until the watermark covers its members, the open group is
	// what keeps the applier from collecting them (collect).
	d.group.Store(nil)
}

// abortGroupLocked rolls the group back; its appended change sets are
// applied by the applier like any other. Caller holds wl.
func (d *DB) abortGroupLocked() {
	g := d.group.Load()
	if g == nil {
		return
	}
	_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
	g.ended.Store(true)
	d.group.Store(nil)
	metricKeptAborts.Inc()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Exclusive runs fn holding the writer (after committing any kept
// group): for appending a change set of this database that is not a
// capture (DROP DATABASE), so no kept group can miss it.
func (d *DB) Exclusive(ctx context.Context, fn func() error) error {
	if err := d.lockAs(ctx, false, false); err != nil {
		return err
	}
	defer d.unlock()
	return fn()
}
