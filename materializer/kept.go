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
// them again at start-up. A session is answered after the group commits,
// so it reads its own write, and nobody reads a row before it is durable.
//
// A capture that finds nobody waiting for the writer when it is done
// commits the group once its own change set is durable, unless others
// joined since (Txn.Settle); a group of keptGroupMax is sealed. Anyone else
// taking the writer (the applier, an interactive transaction, DDL, a
// capture arriving after the seal) first waits for the group's fsync and
// commits it (lockAs), so every other user of the writer sees the group as
// an ordinary committed transaction.
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
// still commits.
const keptGroupMax = 256

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
func (d *DB) BeginKept(ctx context.Context) (*Txn, error) {
	if err := d.lockAs(ctx, false, true); err != nil {
		return nil, err
	}
	if d.Dropped() || d.wconn == nil {
		d.unlock()
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	self := d.m.log.Node()
	last := d.m.log.LastLocal(d.name)
	g := d.group
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
		d.group = g
	} else if last != g.top() {
		// Defensive: a change set of this node the group does not hold.
		d.finishGroupLocked()
		d.unlock()
		return nil, ErrNotKept
	}
	if err := d.execCached(ctx, "SAVEPOINT marmot_kept", nil); err != nil {
		d.finishGroupLocked()
		d.unlock()
		return nil, fmt.Errorf("materializer: savepoint: %w", err)
	}
	seen := d.Applied()
	if g.n > 0 {
		seen[self] = g.last.Load()
	}
	t := &Txn{d: d, seen: seen, kept: g}
	d.setCapturing(t)
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
		return nil, errors.Join(err, t.undoKept())
	}
	cs := &marmotv1.ChangeSet{Id: NewTxnID(), Database: d.name, Rows: rows, Deps: t.seen.Clone()}
	if appendFn != nil {
		err = appendFn(cs, t.seen)
	}
	if err != nil || cs.Seq == 0 {
		return cs, errors.Join(err, t.undoKept())
	}
	if cs.Origin != d.m.log.Node() {
		// Only this node's log may be the commit point of a kept capture.
		d.m.logger.Error("kept capture appended as another origin", "db", d.name, "origin", cs.Origin)
	}
	if rerr := d.execCached(context.Background(), "RELEASE marmot_kept", nil); rerr != nil {
		// The rows are in the log: let the applier write them.
		d.abortGroupLocked()
		return cs, nil
	}
	g.last.Store(cs.Seq)
	g.n++
	t.seq = cs.Seq
	appended = true
	d.mu.Lock()
	d.keptUpTo = cs.Seq
	d.mu.Unlock()
	return cs, nil
}

// undoKept takes a kept capture's rows out of the group.
func (t *Txn) undoKept() error {
	d := t.d
	err := d.execCached(context.Background(), "ROLLBACK TO marmot_kept", nil)
	if err == nil {
		err = d.execCached(context.Background(), "RELEASE marmot_kept", nil)
	}
	if err != nil {
		d.abortGroupLocked()
	}
	return err
}

// releaseKept ends a kept capture's hold of the writer. A capture that
// finds nobody waiting for the writer becomes a closer: once its own
// change set is durable it commits the group (Settle), with whatever
// joined meanwhile (sealing at once was tried: groups then split into two
// cohorts of sessions that alternate, and sysbench oltp_insert measured
// 3,030 tps against 3,420 this way). A full group is sealed. A capture
// that appended nothing has nothing to wait for and commits the group now.
func (t *Txn) releaseKept(appended bool) {
	d, g := t.d, t.kept
	if d.group == g && (g.n >= keptGroupMax || !d.wl.waiting()) {
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
	if t.closer && d.keptFlushDue(g) {
		// The members' entries were appended deferred: the group's one
		// fsync starts now.
		d.m.log.Flush()
	}
	d.unlock()
}

// keptFlushDue: should a closer start its group's fsync now? Not while the
// group is smaller than the recent groups were: the sessions that filled
// them are still on their way (each answered session sends its next
// statement a round trip later), and an fsync started now would still be
// in flight when the last of them appends, so the group's commit would
// wait for two fsyncs instead of one. The deferred entries are written
// anyway within the log's DeferMax, so a session that stopped writing
// delays one group by at most that, and the next expectation is smaller.
// Under sysbench oltp_insert (16 threads) the log's batches per group fell
// from 2.7 to 1.4, CPU per insert by 12% and throughput rose by 12%.
func (d *DB) keptFlushDue(g *keptGroup) bool {
	return g.sealed || g.n >= min(d.keptSizes[0], d.keptSizes[1])
}

// keptOrphanWait is how long a kept capture that is not its group's
// closer waits for the group to commit before committing it itself: the
// capture that would have been the closer saw a waiter, and that waiter
// may have given up (lock wait timeout) instead of taking the writer.
const keptOrphanWait = 20 * time.Millisecond

// Settle sees to it that a kept capture's group commits, once the
// capture's change set is durable (the caller has waited for that). A
// closer (see releaseKept) that is still the group's newest member commits
// it: everything before it is durable too, so the commit waits for no
// fsync while holding the writer. A closer that others joined since steps
// aside for the newest one, so under load a group grows until every
// session waits in it. Everyone else waits for the commit, and commits the
// group itself if it is still open after keptOrphanWait. A no-op for other
// transactions.
func (t *Txn) Settle() {
	if t.kept == nil || t.seq == 0 {
		return
	}
	d := t.d
	if t.closer && !t.kept.ended.Load() && t.kept.last.Load() == t.seq {
		if err := d.lockAs(context.Background(), true, true); err != nil {
			return // shutting down: the next start applies the change sets
		}
		if d.group == t.kept && t.kept.last.Load() == t.seq {
			d.finishGroupLocked()
		}
		d.unlock()
	}
	ctx, cancel := context.WithTimeout(context.Background(), keptOrphanWait)
	err := d.WaitApplied(ctx, d.m.log.Node(), t.seq)
	cancel()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		return
	}
	if err := d.lockAs(context.Background(), true, true); err != nil {
		return
	}
	if d.group == t.kept {
		d.finishGroupLocked()
	}
	d.unlock()
}

// finishGroupLocked waits until the group's newest change set is durable
// and commits it with its watermark. Caller holds wl.
func (d *DB) finishGroupLocked() {
	g := d.group
	if g == nil {
		return
	}
	g.sealed = true
	if g.n == 0 {
		_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
		d.group = nil
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
	err := d.writeWatermark(ctx, d.wconn, txlog.Watermark{self: g.last.Load()})
	if err == nil {
		_, err = d.wconn.ExecContext(ctx, "COMMIT")
	}
	if err != nil {
		d.m.logger.Error("kept group commit failed; the applier writes its change sets", "db", d.name, "err", err)
		d.abortGroupLocked()
		return
	}
	d.group = nil
	g.ended.Store(true)
	d.keptSizes = [2]int{d.keptSizes[1], g.n}
	metricKeptGroup.Observe(float64(g.n))
	metricApplied.WithLabelValues(d.name).Add(float64(g.n))
	d.committed()
	next := d.Applied()
	if last := g.last.Load(); last > next[self] {
		next[self] = last
	}
	d.mu.Lock()
	d.keptUpTo = 0
	d.mu.Unlock()
	d.publish(next)
}

// abortGroupLocked rolls the group back; its appended change sets are
// applied by the applier like any other. Caller holds wl.
func (d *DB) abortGroupLocked() {
	if d.group == nil {
		return
	}
	_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
	d.group.ended.Store(true)
	d.group = nil
	d.mu.Lock()
	d.keptUpTo = 0
	d.mu.Unlock()
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
