package materializer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// errWaitDependency: a change set refers to schema that has not arrived yet
// (a table created by another origin's DDL); the batch stops before it and
// is retried when the log grows.
var errWaitDependency = errors.New("materializer: waiting for schema")

// catchUp applies every durable change set of this database not yet in the
// view.
func (d *DB) catchUp(ctx context.Context) error {
	track(d)
	for {
		batch, err := d.collect()
		if err != nil || len(batch) == 0 {
			return err
		}
		n, err := d.applyBatch(ctx, batch)
		if err != nil {
			return err
		}
		if n < len(batch) {
			return nil // stopped at a drop or a dependency; the caller waits
		}
	}
}

// collect reads up to BatchSize unapplied change sets, merged across
// origins by HLC so causally later entries come later.
func (d *DB) collect() ([]*marmotv1.ChangeSet, error) {
	durable := d.m.log.Durable()
	applied := d.Applied()
	if d.group.Load() != nil {
		// While a kept group is open, every change set of this node for the
		// database after the view's watermark is in it (kept.go), committed
		// with it, including one that became durable before its capture
		// released the writer.
		applied[d.m.log.Node()] = math.MaxUint64
	}
	limit := d.m.opts.BatchSize
	var all []*marmotv1.ChangeSet
	// scannedTo: for an origin whose scan stopped at the limit, the last
	// sequence read; later ones of that origin are not in this batch.
	scannedTo := map[uint64]uint64{}
	for origin, upto := range durable {
		if upto <= applied[origin] {
			continue
		}
		n := 0
		err := d.m.log.ScanDatabase(d.name, origin, applied[origin], func(cs *marmotv1.ChangeSet) error {
			all = append(all, cs)
			n++
			if n >= limit {
				scannedTo[origin] = cs.Seq
				return txlog.Stop
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return txlog.FromProto(all[i].Hlc).Compare(txlog.FromProto(all[j].Hlc)) < 0
	})
	if len(all) > limit {
		all = all[:limit]
	}
	return all[:causalPrefix(all, durable, scannedTo)], nil
}

// causalPrefix is how many of batch (sorted by HLC) may be applied now: it
// stops at the first change set whose dependencies are not all here. A
// dependency has a lower HLC than its dependent (the dependent's node
// merged its clock), so once durable and scanned it sorts before it.
func causalPrefix(batch []*marmotv1.ChangeSet, durable txlog.Watermark, scannedTo map[uint64]uint64) int {
	for i, cs := range batch {
		for origin, seq := range cs.Deps {
			if origin == cs.Origin {
				continue // its own origin's earlier entries come first anyway
			}
			if durable[origin] < seq {
				return i
			}
			if last, cut := scannedTo[origin]; cut && seq > last {
				return i
			}
		}
	}
	return len(batch)
}

// applyBatch applies change sets in one SQLite transaction together with the
// new watermark. It returns how many it applied; it stops early at a DROP
// DATABASE (handled after the commit) or at a missing dependency.
func (d *DB) applyBatch(ctx context.Context, batch []*marmotv1.ChangeSet) (int, error) {
	if err := d.lockApplier(ctx); err != nil {
		return 0, err
	}
	defer d.unlock()
	return d.applyBatchLocked(ctx, batch)
}

// applyReadyLocked does, for a capture that executes on the latest state
// and already holds the writer, what the applier would do next: it applies
// the change sets that are ready and commits them. Left to the capture
// transaction, they were applied there, rolled back with it, and applied
// again by the applier: twice the work on the writer every session waits
// for, in a cluster where peers' change sets keep arriving. Failures are
// left to the applier (which retries); the capture applies whatever is
// still missing inside its own transaction, as before.
func (d *DB) applyReadyLocked(ctx context.Context) {
	for range 4 { // bounded: the capture must not chase a busy cluster
		batch, err := d.collect()
		if err != nil || len(batch) == 0 {
			return
		}
		n, err := d.applyBatchLocked(ctx, batch)
		if err != nil || n < len(batch) {
			return
		}
	}
}

func (d *DB) applyBatchLocked(ctx context.Context, batch []*marmotv1.ChangeSet) (int, error) {
	// Holding the writer, the batch runs to its end: a cancellable context
	// only makes go-sqlite3 run each statement on a goroutine of its own
	// (so it could interrupt it), and an interrupted COMMIT helps nobody.
	ctx = context.WithoutCancel(ctx)
	// Another catch-up may have applied part of the batch while this one
	// waited for the lock: keep only what is still missing, so the
	// watermark only moves forward.
	applied := d.Applied()
	fresh := batch[:0:0]
	for _, cs := range batch {
		if cs.Seq > applied[cs.Origin] {
			fresh = append(fresh, cs)
		}
	}
	if len(fresh) == 0 {
		return len(batch), nil
	}
	skipped := len(batch) - len(fresh)
	batch = fresh
	start := time.Now()
	n, err := d.applyLocked(ctx, batch)
	metricApplySeconds.Observe(time.Since(start).Seconds())
	metricApplied.WithLabelValues(d.name).Add(float64(n))
	return n + skipped, err
}

// applyLocked applies a batch in one SQLite transaction. It first runs
// the change sets without per-change-set savepoints (two statements fewer
// each, on the writer every client waits for); if one fails, it rolls the
// whole transaction back and applies the batch again with a savepoint per
// change set, so the failing one can be skipped or cut off alone.
func (d *DB) applyLocked(ctx context.Context, batch []*marmotv1.ChangeSet) (int, error) {
	n, err := d.applyTxn(ctx, batch, false)
	if errors.Is(err, errRetrySavepoints) {
		return d.applyTxn(ctx, batch, true)
	}
	return n, err
}

// errRetrySavepoints: a change set failed in a batch applied without
// savepoints; the batch was rolled back.
var errRetrySavepoints = errors.New("materializer: apply again with savepoints")

func (d *DB) applyTxn(ctx context.Context, batch []*marmotv1.ChangeSet, savepoints bool) (int, error) {
	if d.Dropped() && batch[0].DatabaseOp != marmotv1.DatabaseOp_DATABASE_OP_CREATE {
		// History of a dropped database: nothing to materialize.
		return d.skipDropped(batch), nil
	}
	if d.wconn == nil {
		if err := d.openFiles(); err != nil {
			return 0, err
		}
	}
	c := d.wconn
	if _, err := c.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return 0, fmt.Errorf("materializer: begin: %w", err)
	}
	done := 0
	next := d.Applied()
	// through is what the view will hold after this batch: a row is left
	// to a newer version only if that version is part of it, so no reader
	// sees half of a transaction whose other half waits for a later batch.
	through := next.Clone()
	for _, cs := range batch {
		through[cs.Origin] = max(through[cs.Origin], cs.Seq)
	}
	ddl := false
	var stopErr error
	for _, cs := range batch {
		if cs.DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_DROP {
			break
		}
		if savepoints {
			if _, err := c.ExecContext(ctx, "SAVEPOINT marmot_cs"); err != nil {
				stopErr = err
				break
			}
		}
		err := d.applyOne(ctx, cs, through)
		if ctx.Err() != nil {
			// Shutting down: leave the batch for the next start.
			_, _ = c.ExecContext(context.Background(), "ROLLBACK")
			return 0, ctx.Err()
		}
		if !savepoints {
			if err != nil {
				if _, rerr := c.ExecContext(ctx, "ROLLBACK"); rerr != nil {
					// SQLite rolls back by itself on some errors (a full
					// disk, I/O): report the cause, not the ROLLBACK.
					return 0, fmt.Errorf("materializer: apply: %w (rollback: %v)", err, rerr)
				}
				if cs.Ddl != "" || ddl {
					d.schemaChanged() // the rolled-back DDL's schema is gone
				}
				return 0, errRetrySavepoints
			}
			if cs.Ddl != "" {
				ddl = true
			}
			next[cs.Origin] = cs.Seq
			done++
			continue
		}
		if errors.Is(err, errWaitDependency) {
			_, _ = c.ExecContext(ctx, "ROLLBACK TO marmot_cs")
			_, _ = c.ExecContext(ctx, "RELEASE marmot_cs")
			stopErr = err
			break
		}
		if err != nil {
			// Validated at its origin, so this is a divergence we cannot fix
			// here; keep the view moving and say so loudly.
			_, _ = c.ExecContext(ctx, "ROLLBACK TO marmot_cs")
			d.m.logger.Error("change set failed to apply; skipped", "db", d.name, "hlc", txlog.FromProto(cs.Hlc).String(), "origin", cs.Origin, "seq", cs.Seq, "err", err)
		}
		if _, err := c.ExecContext(ctx, "RELEASE marmot_cs"); err != nil {
			stopErr = err
			break
		}
		if cs.Ddl != "" {
			ddl = true
		}
		next[cs.Origin] = cs.Seq
		done++
	}
	if done > 0 {
		changed := txlog.Watermark{}
		for _, cs := range batch[:done] {
			changed[cs.Origin] = next[cs.Origin]
		}
		if err := d.writeWatermark(ctx, c, changed); err != nil {
			_, _ = c.ExecContext(ctx, "ROLLBACK")
			return 0, err
		}
	}
	if _, err := c.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = c.ExecContext(ctx, "ROLLBACK")
		return 0, fmt.Errorf("materializer: commit: %w", err)
	}
	d.committed()
	if ddl {
		d.schemaChanged()
	}
	d.publish(next)
	if done < len(batch) && batch[done].DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_DROP {
		return done + 1, d.drop(batch[done])
	}
	if stopErr != nil && !errors.Is(stopErr, errWaitDependency) {
		return done, stopErr
	}
	return done, nil
}

func (d *DB) skipDropped(batch []*marmotv1.ChangeSet) int {
	next := d.Applied()
	n := 0
	for _, cs := range batch {
		if cs.DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_CREATE {
			break
		}
		next[cs.Origin] = cs.Seq
		n++
	}
	d.publish(next)
	return n
}

func (d *DB) publish(w txlog.Watermark) {
	d.mu.Lock()
	d.applied = w
	close(d.appliedCh)
	d.appliedCh = make(chan struct{})
	d.mu.Unlock()
}

// drop applies DROP DATABASE: the file goes, the in-memory watermark stays
// so the history is not applied again. Called with the writer lock held.
func (d *DB) drop(cs *marmotv1.ChangeSet) error {
	d.closeFiles()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(d.path + suffix); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	d.schemaChanged()
	d.mu.Lock()
	d.dropped = true
	d.applied[cs.Origin] = cs.Seq
	close(d.appliedCh)
	d.appliedCh = make(chan struct{})
	d.mu.Unlock()
	return nil
}

// applyOne writes a change set's rows, except those whose durable version
// is newer and (if through is set) will be in the view by the end of the
// batch: last writer wins, without exposing a half-applied transaction.
func (d *DB) applyOne(ctx context.Context, cs *marmotv1.ChangeSet, through txlog.Watermark) error {
	if cs.Ddl != "" {
		if _, err := d.wconn.ExecContext(ctx, cs.Ddl); err != nil {
			return fmt.Errorf("ddl %q: %w", cs.Ddl, err)
		}
		d.schemaChanged()
		return nil
	}
	ts := txlog.FromProto(cs.Hlc)
	for _, r := range cs.Rows {
		if v, ok, err := d.m.log.RowVersion(cs.Database, r.Table, r.Pk); err != nil {
			return err
		} else if ok && v.HLC.Compare(ts) > 0 && (through == nil || through.Covers(v.HLC.Node, v.Seq)) {
			continue // a newer durable write owns this row
		}
		if err := d.applyRow(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) applyRow(ctx context.Context, r *marmotv1.RowChange) error {
	ti, err := d.tableInfoWriter(ctx, r.Table)
	if err != nil {
		if strings.Contains(err.Error(), "no such table") {
			return fmt.Errorf("%w: %s", errWaitDependency, r.Table)
		}
		return err
	}
	if r.Op == marmotv1.Op_OP_DELETE {
		var where []string
		args := make([]any, 0, len(r.Pk))
		keyCols := ti.keyColumns()
		if len(keyCols) != len(r.Pk) {
			return fmt.Errorf("materializer: %s: key has %d values, table key %d columns", r.Table, len(r.Pk), len(keyCols))
		}
		for i, col := range keyCols {
			where = append(where, quoteIdent(col)+" = ?")
			args = append(args, fromValue(r.Pk[i]))
		}
		return d.execCached(ctx, "DELETE FROM main."+quoteIdent(r.Table)+" WHERE "+strings.Join(where, " AND "), args)
	}
	sh := d.upsertFor(ti, r)
	args := make([]any, 0, len(sh.use)+1)
	if ti.pk == nil {
		args = append(args, fromValue(r.Pk[0]))
	}
	for _, i := range sh.use {
		args = append(args, fromValue(r.After[i]))
	}
	return d.execCached(ctx, sh.q, args)
}

// upsertShape is applyRow's statement for a table and a change's list of
// columns. Every change of a table usually has the same list, and building
// the statement per row (a map of the table's columns, quoting, joining)
// was most of applyRow's allocations.
type upsertShape struct {
	ti      *tableInfo // the table as it was built for
	columns []string   // the change's columns, as captured
	after   int        // len(RowChange.After) it was built for
	use     []int      // indexes of the columns the table still has
	q       string
}

// upsertFor returns the statement for r, building it if the last one of
// the table was for another shape. Caller holds the writer.
func (d *DB) upsertFor(ti *tableInfo, r *marmotv1.RowChange) *upsertShape {
	if sh := d.upserts[r.Table]; sh != nil && sh.ti == ti && sh.after == len(r.After) && slices.Equal(sh.columns, r.Columns) {
		return sh
	}
	have := make(map[string]bool, len(ti.cols))
	for _, c := range ti.cols {
		have[c] = true
	}
	sh := &upsertShape{ti: ti, columns: slices.Clone(r.Columns), after: len(r.After)}
	cols := make([]string, 0, len(r.Columns)+1)
	if ti.pk == nil {
		cols = append(cols, "rowid")
	}
	for i, c := range r.Columns {
		if !have[c] || i >= len(r.After) {
			continue // column dropped since the change was captured
		}
		cols = append(cols, quoteIdent(c))
		sh.use = append(sh.use, i)
	}
	sh.q = "INSERT OR REPLACE INTO main." + quoteIdent(r.Table) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
	if d.upserts == nil {
		d.upserts = map[string]*upsertShape{}
	}
	d.upserts[r.Table] = sh
	return sh
}

// execCached runs an apply statement through a prepared statement kept
// until the next schema change (caller holds the writer lock).
//
// The statements run here are short (one row, a savepoint, the
// watermark), so they run without ctx's cancellation: go-sqlite3 runs a
// statement under a cancellable context (the applier's, a capture's
// lock-wait deadline) on a new goroutine and waits for it, a handoff for
// every row applied.
func (d *DB) execCached(ctx context.Context, q string, args []any) error {
	ctx = context.WithoutCancel(ctx)
	st, ok := d.stmts[q]
	if !ok {
		var err error
		if st, err = d.wconn.PrepareContext(ctx, q); err != nil {
			return err
		}
		if d.stmts == nil {
			d.stmts = map[string]*sql.Stmt{}
		}
		d.stmts[q] = st
	}
	_, err := st.ExecContext(ctx, args...)
	return err
}

// keyColumns names the columns a row key addresses: the primary key, or
// rowid for a table without one.
func (ti *tableInfo) keyColumns() []string {
	if ti.pk == nil {
		return []string{"rowid"}
	}
	out := make([]string, len(ti.pk))
	for i, p := range ti.pk {
		out[i] = ti.cols[p]
	}
	return out
}
