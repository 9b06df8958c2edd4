package materializer

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// SessionConn is a connection to a database's file owned by one client
// session: the home of the session's TEMPORARY tables, which SQLite keeps
// per connection (the "temp" schema, searched before "main", so a temp
// table shadows a permanent one of the same name). The session runs all
// its statements on this database here, reads directly, writes to
// permanent tables through a capture (BeginOn), so one statement can join
// temp and permanent tables.
//
// Temp-schema changes are never captured: they stay on this connection,
// outside the log. A SessionConn is used by its session's goroutine only.
// Closing it drops the temp tables.
type SessionConn struct {
	d     *DB
	db    *sql.DB
	conn  *sql.Conn
	env   *Env
	stmts map[string]*sql.Stmt // apply statements while it serves a capture

	// txn is the capture running on the connection (set by BeginOn,
	// cleared when it ends); stray counts main-schema row changes made
	// outside a capture, which must not happen (see StrayWrites).
	txn   *Txn
	stray int

	// file is the database file the connection opened (see Stale).
	file os.FileInfo
}

// OpenSessionConn opens a session connection (see SessionConn).
func (d *DB) OpenSessionConn(ctx context.Context) (*SessionConn, error) {
	if d.Dropped() {
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	db, err := sql.Open(d.m.driver, "file:"+d.path+"?_busy_timeout=10000&_stmt_cache_size=64")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(0) // Close ends the SQLite connection, and its temp tables
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("materializer: open %s: %w", d.path, err)
	}
	sc := &SessionConn{d: d, db: db, conn: conn, env: d.m.envOf(conn)}
	if err := conn.Raw(func(dc any) error {
		dc.(*sqlite3.SQLiteConn).RegisterPreUpdateHook(sc.preUpdate)
		return nil
	}); err != nil {
		sc.Close()
		return nil, err
	}
	// Read the schema so SQLite has the file open before it is identified.
	if _, err := conn.ExecContext(ctx, "SELECT count(*) FROM sqlite_master"); err != nil {
		sc.Close()
		return nil, fmt.Errorf("materializer: open %s: %w", d.path, err)
	}
	if sc.file, err = os.Stat(d.path); err != nil || d.Dropped() {
		sc.Close()
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	return sc, nil
}

// Stale reports whether the database the connection opened is gone: DROP
// DATABASE deleted its file (and CREATE DATABASE may have made a new one
// under the name, which the same *DB then serves). The connection still
// reads the deleted file, so it must serve no statement on the database
// any more; its owner closes it, and with it the temp tables.
func (sc *SessionConn) Stale() bool {
	if sc.d.Dropped() {
		return true
	}
	fi, err := os.Stat(sc.d.path)
	return err != nil || !os.SameFile(fi, sc.file)
}

// Conn is the connection, for reads and for statements that write only
// temp tables (outside a capture; see StrayWrites).
func (sc *SessionConn) Conn() *Conn {
	// Reads here must see acknowledged kept writes too (kept.go).
	_ = sc.d.CommitAcked(context.Background())
	return &Conn{Conn: sc.conn, Env: sc.env}
}

// DB is the database the connection belongs to.
func (sc *SessionConn) DB() *DB { return sc.d }

// StrayWrites counts the rows of permanent tables changed on the
// connection outside a capture. The caller of a temp-only statement
// compares it before and after and rolls the statement back if it moved:
// such a change would put the view ahead of the log.
func (sc *SessionConn) StrayWrites() int { return sc.stray }

// Close drops the session's temp tables with the connection.
func (sc *SessionConn) Close() error {
	for _, st := range sc.stmts {
		st.Close()
	}
	sc.stmts = nil
	err := sc.conn.Close()
	if cerr := sc.db.Close(); err == nil {
		err = cerr
	}
	return err
}

// preUpdate runs inside sqlite3_step on the session's goroutine. (The
// writer connection records its rows in C instead: hookc.go.)
func (sc *SessionConn) preUpdate(p sqlite3.SQLitePreUpdateData) {
	if internalTable(p.TableName) {
		return
	}
	if t := sc.txn; t != nil {
		if p.DatabaseName == "temp" {
			t.recordTemp(p)
		} else if p.DatabaseName == "main" {
			t.events = append(t.events, imageOf(p))
		}
		return
	}
	if p.DatabaseName == "main" {
		sc.stray++
	}
}

// BeginOn is Begin with the capture running on a session connection
// instead of the database's writer connection, so its statements see the
// session's temp tables. For the transaction's life the session connection
// stands in for the writer (it holds the writer lock, like any capture).
// Temp-table changes made in the transaction survive its end: they are
// recorded and re-done on the connection after the SQLite transaction is
// rolled back (Finish), or only its temp DDL is (Rollback; MySQL does not
// roll back CREATE/DROP TEMPORARY TABLE).
//
// A stale connection (see Stale) fails with ErrNoDatabase: a capture on a
// deleted file would commit changes computed from rows the database no
// longer has. The check is made holding the writer lock, which DROP
// DATABASE takes, so it cannot race with the drop.
func (d *DB) BeginOn(ctx context.Context, latest bool, sc *SessionConn) (*Txn, error) {
	if sc == nil || sc.d != d {
		return d.Begin(ctx, latest)
	}
	t, err := d.begin(ctx, latest, sc)
	if err == nil && sc.Stale() {
		_ = t.Rollback()
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	return t, err
}

// HostTemps gives the session connection sc to a capture running on the
// writer connection (Begin), so a session can create its first temp table
// in the middle of a transaction without committing it (MySQL's CREATE
// TEMPORARY TABLE causes no implicit commit). The capture stays on the
// writer, where its uncommitted rows are; the temp tables the rest of the
// transaction creates and fills live there too, inside the SQLite
// transaction (so statements can join them with the permanent tables it
// wrote), and are recorded like temp changes of a capture on sc. When it
// ends, the SQLite transaction's rollback takes them off the writer and
// they are re-done on sc: all of them after a commit, only their DDL after
// a rollback, as with BeginOn. The caller then runs its statements on sc.
func (t *Txn) HostTemps(sc *SessionConn) error {
	switch {
	case t.done:
		return fmt.Errorf("materializer: transaction already finished")
	case sc == nil || sc.d != t.d:
		return fmt.Errorf("materializer: session connection of another database")
	case t.kept != nil:
		return fmt.Errorf("materializer: a kept capture cannot host temp tables")
	case t.sc != nil && t.sc != sc:
		return fmt.Errorf("materializer: transaction already has a session connection")
	}
	t.sc = sc
	return nil
}

// lend makes sc the writer connection while a capture on it holds the
// writer lock; giveBack undoes it. Caller holds wl.
func (d *DB) lend(sc *SessionConn) {
	if sc == nil {
		return
	}
	d.lent = &lentWriter{sc: sc, conn: d.wconn, env: d.wenv, stmts: d.stmts}
	d.wconn, d.wenv, d.stmts = sc.conn, sc.env, sc.stmts
}

func (d *DB) giveBack() {
	l := d.lent
	if l == nil {
		return
	}
	l.sc.stmts = d.stmts
	l.sc.txn = nil
	d.wconn, d.wenv, d.stmts = l.conn, l.env, l.stmts
	d.lent = nil
}

// lentWriter is the writer connection set aside while a session
// connection serves a capture.
type lentWriter struct {
	sc    *SessionConn
	conn  *sql.Conn
	env   *Env
	stmts map[string]*sql.Stmt
}

// tempOp is a change to the temp schema made inside a capture: a DDL
// statement or a row change.
type tempOp struct {
	ddl string
	ev  event
}

// TempDDL runs a statement on temp tables (CREATE/DROP TEMPORARY TABLE,
// an index on a temp table) inside the transaction and records it, so it
// is re-done after the transaction ends.
func (t *Txn) TempDDL(ctx context.Context, stmt string) error {
	if _, err := t.d.wconn.ExecContext(ctx, stmt); err != nil {
		return err
	}
	t.sync() // rows the statement changed come before it
	t.temp = append(t.temp, tempOp{ddl: stmt})
	return nil
}

func (t *Txn) recordTemp(p sqlite3.SQLitePreUpdateData) {
	t.temp = append(t.temp, tempOp{ev: imageOf(p)})
}

// redoTemp re-does the recorded temp-schema changes on the session
// connection after its SQLite transaction was rolled back: all of them
// after a commit, only DDL after a rollback.
func (t *Txn) redoTemp(ctx context.Context, rows bool) error {
	if t.sc == nil || len(t.temp) == 0 {
		return nil
	}
	t.sc.txn = nil // the re-done changes are not part of the capture
	c := t.sc.conn
	cols := map[string][]string{}
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("materializer: redo temp table change: %w", err)
		}
	}
	for _, op := range t.temp {
		if op.ddl != "" {
			_, err := c.ExecContext(ctx, op.ddl)
			keep(err)
			clear(cols)
			continue
		}
		if !rows {
			continue
		}
		ev := op.ev
		names, ok := cols[ev.table]
		if !ok {
			var err error
			if names, err = tempColumns(ctx, c, ev.table); err != nil {
				keep(err)
				continue
			}
			cols[ev.table] = names
		}
		tbl := `"temp".` + quoteIdent(ev.table)
		var err error
		switch ev.op {
		case sqlite3.SQLITE_INSERT:
			list := []string{"rowid"}
			args := []any{ev.newRowID}
			for i, n := range names {
				if i < len(ev.new) {
					list = append(list, quoteIdent(n))
					args = append(args, ev.new[i])
				}
			}
			_, err = c.ExecContext(ctx, "INSERT INTO "+tbl+" ("+strings.Join(list, ", ")+") VALUES ("+strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")+")", args...)
		case sqlite3.SQLITE_DELETE:
			_, err = c.ExecContext(ctx, "DELETE FROM "+tbl+" WHERE rowid = ?", ev.oldRowID)
		default:
			set := []string{"rowid = ?"}
			args := []any{ev.newRowID}
			for i, n := range names {
				if i < len(ev.new) {
					set = append(set, quoteIdent(n)+" = ?")
					args = append(args, ev.new[i])
				}
			}
			args = append(args, ev.oldRowID)
			_, err = c.ExecContext(ctx, "UPDATE "+tbl+" SET "+strings.Join(set, ", ")+" WHERE rowid = ?", args...)
		}
		keep(err)
	}
	return firstErr
}

func tempColumns(ctx context.Context, c *sql.Conn, table string) ([]string, error) {
	return queryStrings(ctx, c, "SELECT name FROM pragma_table_info(?, 'temp')", table)
}
