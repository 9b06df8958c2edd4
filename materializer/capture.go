package materializer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sort"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Txn is a client transaction executing on the writer connection with its
// row changes captured. It holds the writer lock from Begin until Finish or
// Rollback; it is used by one goroutine at a time.
type Txn struct {
	d      *DB
	seen   txlog.Watermark
	events []event // drained from the writer's row capture by sync
	// captureErr: a row change was lost (rowCapture); Finish refuses.
	captureErr error
	marks      []savepoint
	done       bool

	// sc is the session connection the capture runs on (BeginOn), nil on
	// the writer; temp records its temp-schema changes (see redoTemp),
	// tempMark where the running statement's began.
	sc       *SessionConn
	temp     []tempOp
	tempMark int

	// kept is the group of a kept capture (kept.go), seq the sequence of
	// its change set once appended; closer marks the capture that commits
	// the group (Settle), first one that opened it (its first member).
	kept          *keptGroup
	seq           uint64
	closer, first bool

	// stmtSavepoint: the running statement's mark is a savepoint (Mark).
	stmtSavepoint bool
}

type savepoint struct {
	name string
	n    int
	tn   int
}

type event struct {
	op       int
	table    string
	oldRowID int64
	newRowID int64
	old, new []any
}

// Begin starts a capture transaction. It waits for the writer lock until
// ctx ends (the session's lock wait timeout).
//
// The view may lag the log by the change sets committed but not yet
// applied. With latest=false the transaction executes on the view as it is
// (cheap; a write to a row changed in that lag fails at commit with a
// conflict and the caller retries). With latest=true those change sets are
// applied first inside the transaction (and rolled back with it), so on a
// single node the transaction cannot conflict: what an interactive
// transaction, which cannot be retried for the client, needs.
func (d *DB) Begin(ctx context.Context, latest bool) (*Txn, error) {
	return d.begin(ctx, latest, nil)
}

func (d *DB) begin(ctx context.Context, latest bool, sc *SessionConn) (*Txn, error) {
	for {
		if err := d.lock(ctx); err != nil {
			return nil, err
		}
		if d.Dropped() || d.wconn == nil {
			d.unlock()
			return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
		}
		// ctx bounded the wait for the writer; what runs holding it is
		// not interrupted (see applyBatchLocked).
		run := context.WithoutCancel(ctx)
		if latest {
			d.applyReadyLocked(run)
		}
		d.lend(sc)
		if _, err := d.wconn.ExecContext(run, "BEGIN IMMEDIATE"); err != nil {
			d.giveBack()
			d.unlock()
			return nil, fmt.Errorf("materializer: begin: %w", err)
		}
		t := &Txn{d: d, seen: d.Applied(), sc: sc}
		if sc != nil {
			sc.txn = t
		}
		if !latest {
			d.setCapturing(t)
			return t, nil
		}
		wait, err := t.catchUp(run)
		if err != nil {
			_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
			d.giveBack()
			d.unlock()
			return nil, err
		}
		if wait == nil {
			d.setCapturing(t)
			return t, nil
		}
		// A schema change is in the lag: let the applier make it real
		// first (DDL is not replayed inside a transaction).
		_, _ = d.wconn.ExecContext(context.Background(), "ROLLBACK")
		d.giveBack()
		d.unlock()
		if err := d.WaitApplied(ctx, wait.Origin, wait.Seq); err != nil {
			return nil, err
		}
	}
}

// catchUp applies the change sets the view lacks inside the transaction
// and extends seen by them. It returns a DDL change set instead if one is
// among them.
func (t *Txn) catchUp(ctx context.Context) (*marmotv1.ChangeSet, error) {
	lag, err := t.d.m.log.Unapplied(t.d.name, t.seen)
	if err != nil {
		return nil, err
	}
	for _, cs := range lag {
		if cs.Ddl != "" || cs.DatabaseOp != marmotv1.DatabaseOp_DATABASE_OP_UNSPECIFIED {
			return cs, nil
		}
	}
	sort.Slice(lag, func(i, j int) bool {
		return txlog.FromProto(lag[i].Hlc).Compare(txlog.FromProto(lag[j].Hlc)) < 0
	})
	for _, cs := range lag {
		if err := t.d.applyOne(ctx, cs, nil); err != nil {
			return nil, fmt.Errorf("materializer: catch up before executing: %w", err)
		}
		if cs.Seq > t.seen[cs.Origin] {
			t.seen[cs.Origin] = cs.Seq
		}
	}
	return nil, nil
}

// Conn is the writer connection, for statements of this transaction.
func (t *Txn) Conn() *Conn { return &Conn{Conn: t.d.wconn, Env: t.d.wenv} }

// DB is the database the transaction writes.
func (t *Txn) DB() *DB { return t.d }

// Seen is the applied watermark the transaction executes against.
func (t *Txn) Seen() txlog.Watermark { return t.seen }

// Kept reports a kept capture (BeginKept) whose rows stayed in its group:
// its session may be answered once its change set is durable, before the
// view has it (kept.go). One whose savepoint could not be released is
// not: the applier writes its rows, and its session waits for the view.
func (t *Txn) Kept() bool { return t.kept != nil && t.seq != 0 }

// Changes is how many row events were captured so far.
func (t *Txn) Changes() int {
	t.sync()
	return len(t.events)
}

// sync moves the row changes the writer's hook recorded so far into the
// transaction's event lists, in order.
func (t *Txn) sync() {
	if t.d.capturing == t {
		t.d.drainCapture()
	}
}

// setCapturing makes t the transaction the writer's row changes belong to
// (nil: none), after handing the current one what it recorded.
func (d *DB) setCapturing(t *Txn) {
	d.drainCapture()
	d.capturing = t
	if d.rcap != nil {
		d.rcap.set(t != nil)
	}
}

// drainCapture hands what the writer's hook recorded to the capturing
// transaction: rows of permanent tables as events, rows of a session's
// hosted temp tables as temp ops.
func (d *DB) drainCapture() {
	if d.rcap == nil {
		return
	}
	t := d.capturing
	err := d.rcap.take(func(ev event, temp bool) {
		switch {
		case t == nil:
		case !temp:
			t.events = append(t.events, ev)
		case t.sc != nil:
			t.temp = append(t.temp, tempOp{ev: ev})
		}
	})
	if err != nil && t != nil && t.captureErr == nil {
		t.captureErr = err
	}
}

// Mark returns a position to roll a failed statement back to, so a failing
// statement inside a transaction leaves no partial rows (MySQL statement
// atomicity). multi: the statement may run as several SQLite statements
// and needs a savepoint. One SQLite statement does not: SQLite's statement
// journal undoes it if it fails (SAVEPOINT and RELEASE around every write
// were 2-4% of a cluster node's CPU). Its context must not be cancellable
// (BeginKept says why).
func (t *Txn) Mark(ctx context.Context, multi bool) (int, error) {
	t.sync()
	t.tempMark = len(t.temp)
	t.stmtSavepoint = multi
	if !multi {
		return len(t.events), nil
	}
	err := t.d.execCached(ctx, "SAVEPOINT marmot_stmt", nil)
	return len(t.events), err
}

// writerInTxn reports whether the writer connection is inside a
// transaction (SQLite's autocommit flag is off): after a failed statement,
// whether SQLite kept the transaction (see Unmark and undoKept).
func (d *DB) writerInTxn() bool {
	in := false
	_ = d.wconn.Raw(func(dc any) error {
		if c, ok := dc.(*sqlite3.SQLiteConn); ok {
			in = !c.AutoCommit()
		}
		return nil
	})
	return in
}

// ErrTxnEnded: SQLite ended the transaction when a statement failed (an
// interrupt, a full disk, an I/O error, RAISE(ROLLBACK)); it can only be
// rolled back.
var ErrTxnEnded = errors.New("materializer: the transaction was rolled back by the failure of a statement")

// Unmark ends the statement's mark; failed rolls its effects back. An
// error means the transaction cannot go on.
func (t *Txn) Unmark(ctx context.Context, mark int, failed bool) error {
	if failed {
		t.sync()
		if t.stmtSavepoint {
			if err := t.d.execCached(ctx, "ROLLBACK TO marmot_stmt", nil); err != nil {
				return err
			}
		} else if !t.d.writerInTxn() {
			return ErrTxnEnded
		}
		t.events = t.events[:mark]
		t.temp = t.temp[:t.tempMark]
	}
	if !t.stmtSavepoint {
		return nil
	}
	return t.d.execCached(ctx, "RELEASE marmot_stmt", nil)
}

// Savepoint runs SAVEPOINT name.
func (t *Txn) Savepoint(ctx context.Context, name string) error {
	t.sync()
	if _, err := t.d.wconn.ExecContext(ctx, "SAVEPOINT "+quoteIdent(name)); err != nil {
		return err
	}
	t.marks = append(t.marks, savepoint{name, len(t.events), len(t.temp)})
	return nil
}

// RollbackTo runs ROLLBACK TO SAVEPOINT name, dropping the captured events
// after it. The savepoint stays, as in MySQL.
func (t *Txn) RollbackTo(ctx context.Context, name string) error {
	i := t.findMark(name)
	if i < 0 {
		return fmt.Errorf("materializer: SAVEPOINT %s does not exist", name)
	}
	t.sync()
	if _, err := t.d.wconn.ExecContext(ctx, "ROLLBACK TO "+quoteIdent(name)); err != nil {
		return err
	}
	t.events = t.events[:t.marks[i].n]
	// As in MySQL, CREATE/DROP TEMPORARY TABLE since the savepoint stay
	// (their rows do not): SQLite undid them, so they are re-done.
	undone := append([]tempOp(nil), t.temp[t.marks[i].tn:]...)
	t.temp = t.temp[:t.marks[i].tn]
	t.marks = t.marks[:i+1]
	for _, op := range undone {
		if op.ddl != "" {
			if err := t.TempDDL(ctx, op.ddl); err != nil {
				return fmt.Errorf("materializer: redo temp table change: %w", err)
			}
		}
	}
	return nil
}

// Release runs RELEASE SAVEPOINT name.
func (t *Txn) Release(ctx context.Context, name string) error {
	i := t.findMark(name)
	if i < 0 {
		return fmt.Errorf("materializer: SAVEPOINT %s does not exist", name)
	}
	if _, err := t.d.wconn.ExecContext(ctx, "RELEASE "+quoteIdent(name)); err != nil {
		return err
	}
	t.marks = t.marks[:i]
	return nil
}

func (t *Txn) findMark(name string) int {
	for i := len(t.marks) - 1; i >= 0; i-- {
		if strings.EqualFold(t.marks[i].name, name) {
			return i
		}
	}
	return -1
}

// Rollback discards the transaction.
func (t *Txn) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.kept != nil {
		t.d.setCapturing(nil)
		err := t.undoKept(true)
		t.releaseKept(false)
		return err
	}
	defer t.release()
	_, err := t.d.wconn.ExecContext(context.Background(), "ROLLBACK")
	if rerr := t.redoTemp(context.Background(), false); err == nil {
		err = rerr
	}
	return err
}

func (t *Txn) release() {
	t.d.setCapturing(nil)
	t.d.giveBack()
	t.d.unlock()
}

// Finish ends the capture: it turns the captured events into a change set
// (Rows may be empty), rolls the SQLite transaction back and, while still
// holding the writer, hands the change set to appendFn (which queues it in
// the log, or not when it is empty), so log order matches execution order.
// The caller then waits for the commit point; the applier makes the view
// include the change set.
func (t *Txn) Finish(ctx context.Context, appendFn func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error) (*marmotv1.ChangeSet, error) {
	if t.done {
		return nil, fmt.Errorf("materializer: transaction already finished")
	}
	if t.kept != nil {
		return t.finishKept(ctx, appendFn)
	}
	rows, err := t.netChanges(ctx)
	t.done = true
	t.d.setCapturing(nil)
	_, rbErr := t.d.wconn.ExecContext(context.Background(), "ROLLBACK")
	defer t.release()
	if rbErr == nil {
		// Temp tables keep what the transaction did to them, whether or
		// not its change set commits: they are outside the log.
		rbErr = t.redoTemp(context.Background(), true)
	}
	if err != nil {
		return nil, err
	}
	if rbErr != nil {
		return nil, rbErr
	}
	cs := &marmotv1.ChangeSet{Id: NewTxnID(), Database: t.d.name, Rows: rows, Deps: t.seen.Clone()}
	if appendFn != nil {
		if err := appendFn(cs, t.seen); err != nil {
			return cs, err
		}
	}
	return cs, nil
}

// NewTxnID returns a random 16-byte transaction id.
func NewTxnID() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
}

// internalTable: SQLite's and marmot's own tables, never captured.
func internalTable(name string) bool {
	return strings.HasPrefix(name, "sqlite_") || strings.HasPrefix(name, "__marmot")
}

// imageOf copies a row change's images (the hook's data is only valid
// during the call).
func imageOf(p sqlite3.SQLitePreUpdateData) event {
	ev := event{op: p.Op, table: p.TableName, oldRowID: p.OldRowID, newRowID: p.NewRowID}
	n := p.Count()
	if p.Op != sqlite3.SQLITE_INSERT {
		ev.old = make([]any, n)
		_ = p.Old(ev.old...)
	}
	if p.Op != sqlite3.SQLITE_DELETE {
		ev.new = make([]any, n)
		_ = p.New(ev.new...)
	}
	return ev
}

// netChanges folds the event list into one change per row: insert+update
// is an insert of the final image, insert+delete is nothing, update+delete
// is a delete of the original image. A key change becomes delete + insert.
func (t *Txn) netChanges(ctx context.Context) ([]*marmotv1.RowChange, error) {
	t.sync()
	if t.captureErr != nil {
		return nil, t.captureErr
	}
	type entry struct {
		rc   *marmotv1.RowChange
		dead bool
	}
	var order []*entry
	byKey := map[string]*entry{}
	infos := map[string]*tableInfo{}
	// One event (every single-row statement) has nothing to fold with: its
	// key need not be built and looked up.
	single := len(t.events) == 1
	put := func(ti *tableInfo, op marmotv1.Op, pk []*marmotv1.Value, before, after []*marmotv1.Value) {
		if single {
			order = append(order, &entry{rc: &marmotv1.RowChange{Table: ti.name, Op: op, Pk: pk, Columns: ti.cols, Before: before, After: after}})
			return
		}
		k := ti.name + "\x00" + string(txlog.AppendValues(nil, pk))
		e, ok := byKey[k]
		if !ok || e.dead {
			e = &entry{rc: &marmotv1.RowChange{Table: ti.name, Op: op, Pk: pk, Columns: ti.cols, Before: before, After: after}}
			byKey[k] = e
			order = append(order, e)
			return
		}
		switch {
		case op == marmotv1.Op_OP_INSERT && e.rc.Op == marmotv1.Op_OP_DELETE:
			e.rc.Op, e.rc.After = marmotv1.Op_OP_UPDATE, after
		case op == marmotv1.Op_OP_UPDATE:
			e.rc.After = after
		case op == marmotv1.Op_OP_DELETE && e.rc.Op == marmotv1.Op_OP_INSERT:
			e.dead = true
			delete(byKey, k)
		case op == marmotv1.Op_OP_DELETE:
			e.rc.Op, e.rc.After = marmotv1.Op_OP_DELETE, nil
		default:
			e.rc.Op, e.rc.After = op, after
		}
	}
	for _, ev := range t.events {
		ti, ok := infos[ev.table]
		if !ok {
			var err error
			if ti, err = t.d.tableInfoWriter(ctx, ev.table); err != nil {
				return nil, err
			}
			infos[ev.table] = ti
		}
		var before, after []*marmotv1.Value
		var oldPK, newPK []*marmotv1.Value
		if ev.old != nil {
			before = ti.values(ev.old)
			oldPK = ti.key(before, ev.oldRowID)
		}
		if ev.new != nil {
			after = ti.values(ev.new)
			newPK = ti.key(after, ev.newRowID)
		}
		switch ev.op {
		case sqlite3.SQLITE_INSERT:
			put(ti, marmotv1.Op_OP_INSERT, newPK, nil, after)
		case sqlite3.SQLITE_DELETE:
			put(ti, marmotv1.Op_OP_DELETE, oldPK, before, nil)
		default:
			if string(txlog.AppendValues(nil, oldPK)) != string(txlog.AppendValues(nil, newPK)) {
				put(ti, marmotv1.Op_OP_DELETE, oldPK, before, nil)
				put(ti, marmotv1.Op_OP_INSERT, newPK, nil, after)
			} else {
				put(ti, marmotv1.Op_OP_UPDATE, oldPK, before, after)
			}
		}
	}
	out := make([]*marmotv1.RowChange, 0, len(order))
	for _, e := range order {
		if !e.dead {
			out = append(out, e.rc)
		}
	}
	return out, nil
}

func (ti *tableInfo) values(raw []any) []*marmotv1.Value {
	out := make([]*marmotv1.Value, len(raw))
	for i, v := range raw {
		blob := i < len(ti.blob) && ti.blob[i]
		out[i] = toValue(v, blob)
	}
	return out
}

func (ti *tableInfo) key(img []*marmotv1.Value, rowid int64) []*marmotv1.Value {
	if ti.pk == nil {
		return []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: rowid}}}
	}
	out := make([]*marmotv1.Value, len(ti.pk))
	for i, p := range ti.pk {
		if p < len(img) {
			out[i] = img[p]
		}
	}
	return out
}
