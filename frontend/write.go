package frontend

// The write path of a session: capture, append under the writer, wait for
// the commit point and the view; DDL and database changes.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// write runs a DML statement. In autocommit mode it is its own transaction:
// captured, committed and applied before OK; a conflict re-runs it on the
// newer state. In an explicit transaction it joins the capture.
func (s *Session) write(ctx context.Context, st transpile.Statement, args []any) (*mysql.Result, error) {
	d, err := s.targetDB(st)
	if err != nil {
		return nil, err
	}
	if s.explicit || !s.autocommit {
		if s.txn == nil {
			if s.txn, err = s.beginCapture(ctx, d, true, false); err != nil {
				return nil, err
			}
			s.syncStatus()
		} else if s.txn.DB() != d {
			return nil, myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "marmot: a transaction may write only one database (this one writes '%s')", s.txn.DB().Name())
		}
		return s.execInTxn(ctx, st, args)
	}
	const maxAttempts = 100
	for attempt := 1; ; attempt++ {
		// The first attempt runs on the view as it is; a retry first
		// applies what the view lacks, so it sees the winner's write.
		s.retryConflict = attempt < maxAttempts
		res, err := s.autocommitOnce(ctx, d, st, args, attempt > 1)
		s.retryConflict = false
		var ce *txlog.ConflictError
		if !errors.As(err, &ce) || attempt >= maxAttempts {
			return res, err
		}
		// Someone else changed a row first: wait until the view has their
		// version, then run the statement again on it. Retries of one
		// database take turns, so a hot row degrades to serial execution
		// instead of livelock. A row claimed by a transaction still being
		// prepared (on this node or another) has no version to wait for:
		// back off briefly, with jitter so contenders on different nodes
		// do not collide again in step.
		if ce.Intent {
			if werr := backoff(ctx, attempt); werr != nil {
				return nil, werr
			}
		} else if werr := s.waitVersion(ctx, d, ce.Version); werr != nil {
			return nil, werr
		}
		if attempt == 1 {
			mu := s.srv.retryLock(d.Name())
			mu.Lock()
			defer mu.Unlock()
		}
	}
}

// execInTxn runs a statement inside the session's open transaction,
// atomically: a failing statement leaves none of its rows behind (MySQL
// statement atomicity), the transaction stays usable.
func (s *Session) execInTxn(ctx context.Context, st transpile.Statement, args []any) (*mysql.Result, error) {
	mark, err := s.txn.Mark(ctx, len(st.Parts) > 0)
	if err != nil {
		return nil, err
	}
	// Uncancellable, as autocommitOnce's: a failed statement is taken as
	// undone by SQLite.
	res, err := s.execOn(context.WithoutCancel(ctx), s.txn.Conn(), st, args)
	if uerr := s.txn.Unmark(ctx, mark, err != nil); uerr != nil {
		// The transaction cannot go on: roll it back, as MySQL does a
		// transaction a deadlock ends, so no later statement of the
		// session runs outside it.
		s.rollbackTxn()
		if err == nil {
			err = uerr
		}
	}
	return res, err
}

func (s *Session) autocommitOnce(ctx context.Context, d *materializer.DB, st transpile.Statement, args []any, latest bool) (*mysql.Result, error) {
	t, err := s.beginCapture(ctx, d, latest, len(st.Parts) > 0)
	if err != nil {
		if errors.Is(err, materializer.ErrLockWait) {
			s.observeCommit(err) // the statement's transaction timed out
		}
		return nil, err
	}
	// Uncancellable: a kept capture without a savepoint relies on a failed
	// statement having undone itself (materializer.BeginKept), and
	// go-sqlite3 reports a context cancelled during a statement as its
	// error even when the statement completed.
	res, err := s.execOn(context.WithoutCancel(ctx), t.Conn(), st, args)
	if err != nil {
		_ = t.Rollback()
		return nil, err
	}
	if err := s.finishAndCommit(ctx, t, nil); err != nil {
		return nil, err
	}
	return res, nil
}

// finishAndCommit ends a capture transaction: its change set (or, for DDL,
// the one ddl builds) is appended while the writer is still held, then
// the session waits for the commit point and for the view to include it.
func (s *Session) finishAndCommit(ctx context.Context, t *materializer.Txn, ddl func(rows *marmotv1.ChangeSet) *marmotv1.ChangeSet) error {
	var cm Commitment
	cs, err := t.Finish(ctx, func(cs *marmotv1.ChangeSet, seen txlog.Watermark) error {
		if ddl != nil {
			*cs = *ddl(cs)
		}
		if len(cs.Rows) == 0 && cs.Ddl == "" {
			return nil
		}
		var err error
		cm, err = s.srv.opts.Committer.Append(cs, seen, s.consistency())
		return err
	})
	if err != nil || cm == nil {
		s.observeCommit(err)
		return err
	}
	err = s.awaitCommit(ctx, cs, cm, t)
	s.observeCommit(err)
	return err
}

// awaitCommit waits for the commit point, then for the view: read your
// writes. t, when the change set was captured, may have a kept group to
// commit first.
func (s *Session) awaitCommit(ctx context.Context, cs *marmotv1.ChangeSet, cm Commitment, t *materializer.Txn) error {
	// A kept capture waits only for this node's log, whose fsync cannot be
	// abandoned half way (the log fails instead), so no write timeout: its
	// context and timer were a tenth of the bytes a single-node insert
	// allocated. Durable is enough for it: its rows are in the writer's
	// open group, which every read commits first (materializer.CommitAcked).
	kept := t != nil && t.Kept()
	wctx := ctx
	if !kept {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, s.srv.opts.WriteTimeout)
		defer cancel()
	}
	err := cm.Wait(wctx)
	if t != nil {
		t.Settle(err == nil) // also when the wait failed: the group must not stay open
	}
	if err != nil || kept {
		return err
	}
	return s.srv.mat.WaitApplied(wctx, cs.Database, cs.Origin, cs.Seq)
}

// keepable: an autocommit write on a single node, from a session without
// temp tables, can run in SQLite once (materializer.BeginKept).
func (s *Session) keepable(d *materializer.DB) bool {
	_, local := s.srv.opts.Committer.(localCommitter)
	return local && s.sessionConn(d) == nil
}

// consistency is the session's write consistency level.
func (s *Session) consistency() txlog.Consistency {
	if v, ok := s.sysVars["marmot_write_consistency"]; ok {
		if c, err := txlog.ParseConsistency(v); err == nil {
			return c
		}
	}
	if s.srv.opts.Consistency == 0 {
		return txlog.One
	}
	return s.srv.opts.Consistency
}

// backoff pauses a retry: 1–2 ms growing to 20–40 ms.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(min(attempt, 20)) * time.Millisecond
	d += time.Duration(rand.Int64N(int64(d) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Session) waitVersion(ctx context.Context, d *materializer.DB, v txlog.Version) error {
	wctx, cancel := context.WithTimeout(ctx, s.srv.opts.WriteTimeout)
	defer cancel()
	return d.WaitApplied(wctx, v.HLC.Node, v.Seq)
}

// beginCapture starts a capture within the lock wait timeout. Without
// latest (an autocommit statement's first attempt) it is kept when it can
// be (keepable); multi: the statement runs as several SQLite statements.
func (s *Session) beginCapture(ctx context.Context, d *materializer.DB, latest, multi bool) (*materializer.Txn, error) {
	lctx, cancel := context.WithTimeout(ctx, s.srv.opts.LockWaitTimeout)
	defer cancel()
	if !latest && s.keepable(d) {
		if t, err := d.BeginKept(lctx, multi); !errors.Is(err, materializer.ErrNotKept) {
			return t, err
		}
	}
	return d.BeginOn(lctx, latest, s.sessionConn(d))
}

// execOn runs a write statement on a capture connection and reports its
// OK packet.
func (s *Session) execOn(ctx context.Context, c *materializer.Conn, st transpile.Statement, args []any) (*mysql.Result, error) {
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	s.stmtInsertID = 0
	if id, ok := explicitID(st, args); ok {
		// What marmot_auto_id(id) would have done, without the callback.
		st.SQL, s.stmtInsertID = st.ExplicitIDSQL, id
	}
	n, err := execStatement(ctx, c, st, args)
	if err != nil {
		return nil, err
	}
	s.rowCount = n
	return okResult(uint64(n), uint64(s.stmtInsertID)), nil
}

// explicitID is the id a one-row INSERT gives its auto-increment column
// when the statement has an ExplicitIDSQL and the argument is a non-zero
// integer (any other value goes through marmot_auto_id, which converts
// it as MySQL does).
func explicitID(st transpile.Statement, args []any) (int64, bool) {
	if st.ExplicitIDSQL == "" || st.AutoIDArg < 0 || st.AutoIDArg >= len(args) {
		return 0, false
	}
	var n int64
	switch v := args[st.AutoIDArg].(type) {
	case int64:
		n = v
	case uint64:
		if v > math.MaxInt64 {
			return 0, false
		}
		n = int64(v)
	default:
		return 0, false
	}
	if st.AutoIDNegate {
		if n == math.MinInt64 {
			return 0, false
		}
		n = -n
	}
	return n, n != 0
}

// autoID backs marmot_auto_id(v): v itself unless it is NULL or 0, else a
// new cluster-unique id that also becomes LAST_INSERT_ID().
func (s *Session) autoID(v any) (int64, error) {
	if v != nil {
		if n := toInt64(v); n != 0 {
			if s.stmtInsertID == 0 {
				s.stmtInsertID = n
			}
			return n, nil
		}
	}
	id, err := s.srv.opts.IDs.Next()
	if err != nil {
		return 0, err
	}
	if s.stmtInsertID == 0 {
		s.stmtInsertID = id
		s.lastInsertID = id
	}
	return id, nil
}

// commitChangeSet commits a change set that needs no capture (CREATE and
// DROP DATABASE): the commit point, then the view.
func (s *Session) commitChangeSet(ctx context.Context, cs *marmotv1.ChangeSet, seen txlog.Watermark) error {
	var cm Commitment
	appendCS := func() (err error) {
		cm, err = s.srv.opts.Committer.Append(cs, seen, s.consistency())
		return err
	}
	var err error
	if d, derr := s.srv.mat.DB(cs.Database); derr == nil {
		// Appended holding the database's writer, so a kept group of
		// its captures is committed first and cannot miss it.
		lctx, cancel := context.WithTimeout(ctx, s.srv.opts.LockWaitTimeout)
		err = d.Exclusive(lctx, appendCS)
		cancel()
	} else {
		err = appendCS()
	}
	if err == nil {
		err = s.awaitCommit(ctx, cs, cm, nil)
	}
	s.observeCommit(err)
	return err
}

// commitTxn ends an explicit (or autocommit=0) transaction with COMMIT.
func (s *Session) commitTxn(ctx context.Context) error {
	t := s.txn
	s.txn, s.explicit = nil, false
	defer s.syncStatus()
	if t == nil {
		return nil
	}
	return s.finishAndCommit(ctx, t, nil)
}

func (s *Session) rollbackTxn() {
	if s.txn != nil {
		_ = s.txn.Rollback()
	}
	s.txn, s.explicit = nil, false
	s.syncStatus()
}

func (s *Session) syncStatus() {
	if s.conn == nil {
		return
	}
	if s.explicit || s.txn != nil {
		s.conn.SetStatus(mysql.SERVER_STATUS_IN_TRANS)
	} else {
		s.conn.UnsetStatus(mysql.SERVER_STATUS_IN_TRANS)
	}
	if s.autocommit {
		s.conn.SetStatus(mysql.SERVER_STATUS_AUTOCOMMIT)
	} else {
		s.conn.UnsetStatus(mysql.SERVER_STATUS_AUTOCOMMIT)
	}
}

func (s *Session) savepoint(ctx context.Context, st transpile.Statement) (*mysql.Result, error) {
	if s.txn == nil {
		if st.Kind != transpile.Savepoint {
			return nil, myErr(mysql.ER_SP_DOES_NOT_EXIST, "42000", "SAVEPOINT %s does not exist", st.Savepoint)
		}
		if !s.explicit && s.autocommit {
			return okResult(0, 0), nil // autocommit: the savepoint ends with the statement
		}
		d, err := s.currentDB()
		if err != nil {
			return nil, err
		}
		if s.txn, err = s.beginCapture(ctx, d, true, false); err != nil {
			return nil, err
		}
		s.syncStatus()
	}
	var err error
	switch st.Kind {
	case transpile.Savepoint:
		err = s.txn.Savepoint(ctx, st.Savepoint)
	case transpile.RollbackTo:
		err = s.txn.RollbackTo(ctx, st.Savepoint)
	default:
		err = s.txn.Release(ctx, st.Savepoint)
	}
	if err != nil && strings.Contains(err.Error(), "does not exist") {
		return nil, myErr(mysql.ER_SP_DOES_NOT_EXIST, "42000", "SAVEPOINT %s does not exist", st.Savepoint)
	}
	return okResult(0, 0), err
}

// ddl runs a schema change as its own transaction (MySQL commits implicitly
// around DDL): validated by executing it in a capture transaction, then
// committed to the log as the idempotent statement and applied.
func (s *Session) ddl(ctx context.Context, st transpile.Statement) (*mysql.Result, error) {
	if err := s.commitTxn(ctx); err != nil {
		return nil, err
	}
	d, err := s.targetDB(st)
	if err != nil {
		return nil, err
	}
	t, err := s.beginCapture(ctx, d, true, false)
	if err != nil {
		return nil, err
	}
	c := t.Conn()
	c.Env.Session = s
	ddlSQL := st.SQL
	_, err = c.ExecContext(ctx, st.SQL)
	if err == nil && len(st.OnUpdateNow) > 0 {
		var trig string
		if trig, err = onUpdateTriggers(ctx, c, st.Table, st.OnUpdateNow); err == nil {
			if _, err = c.ExecContext(ctx, trig); err == nil {
				ddlSQL += ";\n" + trig
			}
		}
	}
	c.Env.Session = nil
	if err != nil {
		_ = t.Rollback()
		return nil, err
	}
	err = s.finishAndCommit(ctx, t, func(rows *marmotv1.ChangeSet) *marmotv1.ChangeSet {
		if len(rows.Rows) > 0 {
			return rows // statements like TRUNCATE that SQLite runs as row deletes
		}
		cs := &marmotv1.ChangeSet{Id: rows.Id, Database: d.Name(), Ddl: ddlSQL}
		if st.Table != "" {
			cs.DdlTables = []string{st.Table}
		}
		return cs
	})
	if err != nil {
		return nil, err
	}
	return okResult(0, 0), nil
}

func (s *Session) createDatabase(ctx context.Context, name string, ifNotExists bool) (*mysql.Result, error) {
	if !materializer.ValidName(name) {
		return nil, myErr(mysql.ER_WRONG_DB_NAME, "42000", "Incorrect database name '%s'", name)
	}
	if _, err := s.srv.mat.DB(name); err == nil {
		if ifNotExists {
			s.warnings = append(s.warnings, []any{"Note", int64(mysql.ER_DB_CREATE_EXISTS), fmt.Sprintf("Can't create database '%s'; database exists", name)})
			return &mysql.Result{Warnings: 1}, nil
		}
		return nil, myErr(mysql.ER_DB_CREATE_EXISTS, "HY000", "Can't create database '%s'; database exists", name)
	}
	cs := &marmotv1.ChangeSet{Id: materializer.NewTxnID(), Database: name, DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE}
	if err := s.commitChangeSet(ctx, cs, nil); err != nil {
		return nil, err
	}
	return okResult(1, 0), nil
}

func (s *Session) dropDatabase(ctx context.Context, name string, ifExists bool) (*mysql.Result, error) {
	if _, err := s.srv.mat.DB(name); err != nil {
		if ifExists {
			s.warnings = append(s.warnings, []any{"Note", int64(mysql.ER_DB_DROP_EXISTS), fmt.Sprintf("Can't drop database '%s'; database doesn't exist", name)})
			return &mysql.Result{Warnings: 1}, nil
		}
		return nil, myErr(mysql.ER_DB_DROP_EXISTS, "HY000", "Can't drop database '%s'; database doesn't exist", name)
	}
	if s.txn != nil && s.txn.DB().Name() == name {
		s.rollbackTxn()
	}
	if ts := s.temps[name]; ts != nil {
		_ = ts.sc.Close() // MySQL keeps them; their file is going
		delete(s.temps, name)
		s.tempGen++
	}
	cs := &marmotv1.ChangeSet{Id: materializer.NewTxnID(), Database: name, DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_DROP}
	if err := s.commitChangeSet(ctx, cs, nil); err != nil {
		return nil, err
	}
	return okResult(0, 0), nil
}

// onUpdateTriggers builds the triggers that keep ON UPDATE CURRENT_TIMESTAMP
// columns: after an UPDATE that changed some other column and did not set
// the timestamp itself, the column becomes now(). They fire only while a
// statement is being captured (marmot_capturing()), never when a change
// set is applied, so every node stores the value the origin chose. They
// replicate as part of the DDL. Columns added to the table later are not
// among the "other columns" until the table's ON UPDATE column is redefined.
func onUpdateTriggers(ctx context.Context, c *materializer.Conn, table string, cols []string) (string, error) {
	rows, err := c.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
	if err != nil {
		return "", err
	}
	var all []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		all = append(all, n)
	}
	rows.Close()
	q := func(id string) string { return `"` + strings.ReplaceAll(id, `"`, `""`) + `"` }
	var out []string
	for _, col := range cols {
		var changed []string
		for _, o := range all {
			if !strings.EqualFold(o, col) {
				changed = append(changed, "NEW."+q(o)+" IS NOT OLD."+q(o))
			}
		}
		if len(changed) == 0 {
			continue
		}
		name := "__marmot_onupd__" + table + "__" + col
		out = append(out, "DROP TRIGGER IF EXISTS "+q(name), fmt.Sprintf(
			"CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW WHEN marmot_capturing() AND NEW.%s IS OLD.%s AND (%s) BEGIN UPDATE %s SET %s = now() WHERE rowid = NEW.rowid; END",
			q(name), q(table), q(col), q(col), strings.Join(changed, " OR "), q(table), q(col)))
	}
	return strings.Join(out, ";\n"), nil
}
