package frontend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
	gostmt "github.com/go-mysql-org/go-mysql/stmt"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Session is one client connection's state. go-mysql calls its Handler
// methods from the connection's goroutine only, so fields need no locking
// (current is read by SHOW PROCESSLIST from other goroutines).
type Session struct {
	srv   *Server
	conn  *server.Conn
	bconn *bufferedConn
	id    uint32
	user  string
	db    string

	autocommit bool
	explicit   bool              // inside BEGIN … COMMIT
	txn        *materializer.Txn // capture transaction, from the first write

	lastInsertID int64
	stmtInsertID int64 // first AUTO_INCREMENT value of the running statement
	foundRows    int64
	rowCount     int64
	userVars     map[string]any
	sysVars      map[string]string
	warnings     [][]any
	current      atomic.Pointer[string]
	prepared     map[*gostmt.PreparedStmt]*prepared
}

func (srv *Server) newSession(id uint32, user string) *Session {
	return &Session{srv: srv, id: id, user: user, autocommit: true, userVars: map[string]any{}, sysVars: map[string]string{}}
}

func (s *Session) close() {
	if s.txn != nil {
		_ = s.txn.Rollback()
		s.txn = nil
	}
}

// UseDB handles COM_INIT_DB.
func (s *Session) UseDB(name string) error {
	if isInfoSchema(name) {
		s.db = infoSchemaDB
		return nil
	}
	if _, err := s.srv.mat.DB(name); err != nil {
		return myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", name)
	}
	s.db = name
	return nil
}

// HandleQuery handles COM_QUERY, including multi-statement text.
func (s *Session) HandleQuery(query string) (*mysql.Result, error) {
	return s.run(query, nil, false)
}

type prepared struct {
	query string
	db    string
	gen   uint64 // schema generation the statements were made for
	stmts []transpile.Statement
}

// HandleStmtPrepare handles COM_STMT_PREPARE. For statements that return
// rows it reports the result columns now: the C client library (sysbench,
// PHP, Python's C driver) needs the column count from PREPARE to read the
// result of EXECUTE.
func (s *Session) HandleStmtPrepare(query string) (int, int, any, error) {
	stmts, err := s.transpile(query)
	if err != nil {
		return 0, 0, nil, s.toMySQLError(err)
	}
	if len(stmts) != 1 {
		return 0, 0, nil, myErr(mysql.ER_UNSUPPORTED_PS, "HY000", "This command is not supported in the prepared statement protocol yet")
	}
	st := stmts[0]
	ps := &gostmt.PreparedStmt{Params: st.Params}
	for _, f := range s.resultFields(context.Background(), st) {
		ps.RawColumnFields = append(ps.RawColumnFields, f.Dump())
	}
	ps.Columns = len(ps.RawColumnFields)
	if s.bconn != nil {
		s.bconn.preparedParams(st.Params)
	}
	if s.prepared == nil {
		s.prepared = map[*gostmt.PreparedStmt]*prepared{}
	}
	s.prepared[ps] = &prepared{query: query, db: s.db, gen: s.schemaGen(), stmts: stmts}
	return st.Params, ps.Columns, ps, nil
}

// resultFields describes the columns a statement will return, without
// running it: SELECTs are planned with LIMIT 0 and NULL parameters; SHOW
// is answered (it reads only metadata). Nil when it returns no rows or
// cannot be described ahead.
func (s *Session) resultFields(ctx context.Context, st transpile.Statement) []*mysql.Field {
	var res *mysql.Result
	var err error
	switch st.Kind {
	case transpile.Select:
		if st.SQL == "" {
			return nil
		}
		probe := st
		probe.SQL = "SELECT * FROM (" + st.SQL + ") LIMIT 0"
		res, err = s.read(ctx, probe, make([]any, st.Params), true)
	case transpile.Show, transpile.Describe:
		res, err = s.show(ctx, st, true)
	default:
		return nil
	}
	if err != nil || res == nil || res.Resultset == nil {
		return nil
	}
	return res.Resultset.Fields
}

// HandleStmtExecute handles COM_STMT_EXECUTE.
func (s *Session) HandleStmtExecute(ctx any, query string, args []any) (*mysql.Result, error) {
	ps, _ := ctx.(*gostmt.PreparedStmt)
	p, ok := s.prepared[ps]
	if !ok {
		return nil, myErr(mysql.ER_UNKNOWN_STMT_HANDLER, "HY000", "Unknown prepared statement handler")
	}
	conv := make([]any, len(args))
	for i, a := range args {
		conv[i] = convertArg(a)
	}
	// Re-transpile only when the schema or database changed since PREPARE.
	if gen := s.schemaGen(); gen != p.gen || p.db != s.db {
		stmts, err := s.transpile(p.query)
		if err != nil {
			return s.stmtError(s.toMySQLError(err))
		}
		p.stmts, p.gen, p.db = stmts, gen, s.db
	}
	stmts := p.stmts
	s.warnings = nil
	res, err := s.exec(context.Background(), stmts[0], conv, true)
	if err != nil {
		return s.stmtError(s.toMySQLError(err))
	}
	return res, nil
}

// stmtError sends a prepared statement's error packet itself: go-mysql wraps
// errors returned from HandleStmtExecute, which turns every code into 1105.
// The returned empty streaming result makes go-mysql send nothing more.
func (s *Session) stmtError(err error) (*mysql.Result, error) {
	if s.conn == nil {
		return nil, err
	}
	if werr := s.conn.WriteValue(err); werr != nil {
		return nil, werr
	}
	// One dummy field: go-mysql treats a result set without fields as OK.
	return mysql.NewResult(&mysql.Resultset{Fields: []*mysql.Field{{}}, Streaming: mysql.StreamingMultiple, StreamingDone: true}), nil
}

func convertArg(a any) any {
	switch v := a.(type) {
	case mysql.TypedBytes:
		switch v.Type {
		case mysql.MYSQL_TYPE_TINY_BLOB, mysql.MYSQL_TYPE_MEDIUM_BLOB, mysql.MYSQL_TYPE_LONG_BLOB, mysql.MYSQL_TYPE_BLOB, mysql.MYSQL_TYPE_GEOMETRY, mysql.MYSQL_TYPE_BIT:
			return append([]byte(nil), v.Bytes...)
		}
		return string(v.Bytes)
	case []byte:
		return string(v)
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		if v > 1<<63-1 {
			return strconv.FormatUint(v, 10)
		}
		return int64(v)
	case float32:
		return float64(v)
	}
	return a
}

// HandleStmtClose handles COM_STMT_CLOSE.
func (s *Session) HandleStmtClose(ctx any) error {
	if ps, ok := ctx.(*gostmt.PreparedStmt); ok {
		delete(s.prepared, ps)
	}
	return nil
}

// HandleFieldList handles COM_FIELD_LIST (the mysql CLI's table completion).
func (s *Session) HandleFieldList(table, wildcard string) ([]*mysql.Field, error) {
	if isInfoSchema(s.db) {
		return infoSchemaFieldList(table)
	}
	d, err := s.currentDB()
	if err != nil {
		return nil, err
	}
	ti, ok := d.Table(context.Background(), table)
	if !ok {
		return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", s.db, table)
	}
	var out []*mysql.Field
	for i, c := range ti.Columns {
		col, _ := columnFromDecl(c, ti.DeclTypes[i])
		out = append(out, &mysql.Field{Name: []byte(c), OrgName: []byte(c), Table: []byte(table), OrgTable: []byte(table), Schema: []byte(s.db),
			Charset: col.charset, Type: col.typ, Flag: col.flag, ColumnLength: col.length})
	}
	return out, nil
}

// HandleOtherCommand accepts COM_SET_OPTION and COM_RESET_CONNECTION.
func (s *Session) HandleOtherCommand(cmd byte, data []byte) error {
	switch cmd {
	case mysql.COM_SET_OPTION:
		return nil
	case mysql.COM_RESET_CONNECTION:
		s.close()
		s.explicit, s.autocommit = false, true
		s.userVars, s.sysVars, s.warnings = map[string]any{}, map[string]string{}, nil
		s.syncStatus()
		return nil
	}
	return myErr(mysql.ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command %d", cmd)
}

// transpile turns MySQL text into statements, through the LRU cache.
func (s *Session) transpile(query string) ([]transpile.Statement, error) {
	var key string
	if s.srv.cache != nil {
		gen := s.schemaGen()
		key = s.db + "\x00" + strconv.FormatUint(gen, 10) + "\x00" + query
		if st, ok := s.srv.cache.Get(key); ok {
			return st, nil
		}
	}
	st, err := transpile.Transpile(s.db, query, schemaOf{s})
	if err != nil {
		return st, err // the statements before the bad one still run
	}
	if s.srv.cache != nil {
		s.srv.cache.Add(key, st)
	}
	return st, nil
}

// schemaGen is the current database's schema generation (0 without one):
// transpiled statements depend on the schema (auto-increment columns).
func (s *Session) schemaGen() uint64 {
	if d, err := s.srv.mat.DB(s.db); err == nil {
		return d.SchemaGen()
	}
	return 0
}

// schemaOf answers the transpiler's schema questions from the views.
type schemaOf struct{ s *Session }

func (sc schemaOf) table(db, table string) (materializer.TableInfo, bool) {
	if db == "" {
		db = sc.s.db
	}
	d, err := sc.s.srv.mat.DB(db)
	if err != nil {
		return materializer.TableInfo{}, false
	}
	return d.Table(context.Background(), table)
}

func (sc schemaOf) Columns(db, table string) ([]string, bool) {
	ti, ok := sc.table(db, table)
	return ti.Columns, ok
}

func (sc schemaOf) AutoIncrement(db, table string) (string, bool) {
	ti, ok := sc.table(db, table)
	return ti.AutoIncrement, ok && ti.AutoIncrement != ""
}

func (s *Session) run(query string, args []any, binary bool) (*mysql.Result, error) {
	s.srv.queries.Add(1)
	s.current.Store(&query)
	defer s.current.Store(nil)
	stmts, terr := s.transpile(query)
	if len(stmts) == 0 {
		if terr != nil {
			return nil, s.toMySQLError(terr)
		}
		return nil, myErr(mysql.ER_EMPTY_QUERY, "42000", "Query was empty")
	}
	ctx := context.Background()
	for i, st := range stmts {
		if st.Kind != transpile.Show || st.Show == nil || (!strings.HasSuffix(st.Show.Kind, "warnings") && !strings.HasSuffix(st.Show.Kind, "errors")) {
			s.warnings = nil
		}
		res, err := s.exec(ctx, st, args, binary)
		if err != nil {
			return nil, s.toMySQLError(err)
		}
		if i == len(stmts)-1 && terr == nil {
			return res, nil
		}
		// Not the last answer: send it now, flagged so the client reads on.
		s.conn.SetStatus(mysql.SERVER_MORE_RESULTS_EXISTS)
		err = s.conn.WriteValue(res)
		s.conn.UnsetStatus(mysql.SERVER_MORE_RESULTS_EXISTS)
		if err != nil {
			return nil, err
		}
	}
	return nil, s.toMySQLError(terr)
}

func (s *Session) currentDB() (*materializer.DB, error) {
	if s.db == "" {
		return nil, myErr(mysql.ER_NO_DB_ERROR, "3D000", "No database selected")
	}
	d, err := s.srv.mat.DB(s.db)
	if err != nil {
		return nil, myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", s.db)
	}
	return d, nil
}

func (s *Session) targetDB(st transpile.Statement) (*materializer.DB, error) {
	if st.Database != "" && st.Database != s.db {
		d, err := s.srv.mat.DB(st.Database)
		if err != nil {
			return nil, myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", st.Database)
		}
		return d, nil
	}
	return s.currentDB()
}

// exec runs one statement.
func (s *Session) exec(ctx context.Context, st transpile.Statement, args []any, binary bool) (*mysql.Result, error) {
	switch st.Kind {
	case transpile.Select, transpile.Explain:
		return s.read(ctx, st, args, binary)
	case transpile.Show, transpile.Describe:
		return s.show(ctx, st, binary)
	case transpile.Insert, transpile.Replace, transpile.Update, transpile.Delete, transpile.TruncateTable:
		return s.write(ctx, st, args)
	case transpile.CreateTable, transpile.AlterTable, transpile.DropTable, transpile.RenameTable,
		transpile.CreateIndex, transpile.DropIndex, transpile.CreateView, transpile.DropView,
		transpile.CreateTrigger, transpile.DropTrigger:
		return s.ddl(ctx, st)
	case transpile.CreateDatabase:
		return s.createDatabase(ctx, st.Database, st.IfNotExists)
	case transpile.DropDatabase:
		return s.dropDatabase(ctx, st.Database, st.IfExists)
	case transpile.AlterDatabase:
		return okResult(0, 0), nil
	case transpile.Use:
		if err := s.UseDB(st.Database); err != nil {
			return nil, err
		}
		return okResult(0, 0), nil
	case transpile.Begin:
		if err := s.commitTxn(ctx); err != nil {
			return nil, err
		}
		s.explicit = true
		s.syncStatus()
		return okResult(0, 0), nil
	case transpile.Commit:
		return okResult(0, 0), s.commitTxn(ctx)
	case transpile.Rollback:
		s.rollbackTxn()
		return okResult(0, 0), nil
	case transpile.Savepoint, transpile.RollbackTo, transpile.ReleaseSavepoint:
		return s.savepoint(ctx, st)
	case transpile.Set:
		return s.set(ctx, st)
	case transpile.Noop:
		return okResult(0, 0), nil
	case transpile.LoadData:
		return s.loadData(ctx, st)
	}
	return nil, myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "This version of marmot doesn't yet support '%s'", st.Kind)
}

// read serves a query from the read pool, or from the transaction's own
// connection once it has written (so it sees its own changes).
func (s *Session) read(ctx context.Context, st transpile.Statement, args []any, binary bool) (*mysql.Result, error) {
	if isInfoSchema(st.Database) || (st.Database == "" && isInfoSchema(s.db)) {
		return s.infoSchema(ctx, st, args, binary)
	}
	var c *materializer.Conn
	if s.txn != nil && (st.Database == "" || st.Database == s.txn.DB().Name()) {
		c = s.txn.Conn()
	} else {
		var d *materializer.DB
		var err error
		if s.db == "" && st.Database == "" {
			d, err = s.anyDB()
		} else {
			d, err = s.targetDB(st)
		}
		if err != nil {
			return nil, err
		}
		if c, err = d.ReadConn(ctx); err != nil {
			return nil, err
		}
		defer c.Close()
	}
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	rows, err := c.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return nil, err
	}
	cols, data, err := readRows(rows, st.Table)
	if err != nil {
		return nil, err
	}
	s.foundRows, s.rowCount = int64(len(data)), -1
	if st.CalcFoundRows && st.FoundRowsSQL != "" && st.FoundRowsParams <= len(args) {
		if err := c.QueryRowContext(ctx, st.FoundRowsSQL, args[:st.FoundRowsParams]...).Scan(&s.foundRows); err != nil {
			return nil, err
		}
	}
	return buildResult(cols, data, binary), nil
}

// anyDB is where a query without a database runs (SELECT 1, SELECT
// @@version): the default database, or any.
func (s *Session) anyDB() (*materializer.DB, error) {
	if d, err := s.srv.mat.DB(s.srv.opts.DefaultDatabase); err == nil {
		return d, nil
	}
	for _, n := range s.srv.mat.Databases() {
		if d, err := s.srv.mat.DB(n); err == nil {
			return d, nil
		}
	}
	return nil, myErr(mysql.ER_NO_DB_ERROR, "3D000", "No database selected")
}

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
			if s.txn, err = s.beginCapture(ctx, d, true); err != nil {
				return nil, err
			}
			s.syncStatus()
		} else if s.txn.DB() != d {
			return nil, myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "marmot: a transaction may write only one database (this one writes '%s')", s.txn.DB().Name())
		}
		mark, err := s.txn.Mark(ctx)
		if err != nil {
			return nil, err
		}
		res, err := s.execOn(ctx, s.txn.Conn(), st, args)
		if uerr := s.txn.Unmark(ctx, mark, err != nil); uerr != nil && err == nil {
			err = uerr
		}
		return res, err
	}
	const maxAttempts = 100
	for attempt := 1; ; attempt++ {
		// The first attempt runs on the view as it is; a retry first
		// applies what the view lacks, so it sees the winner's write.
		res, err := s.autocommitOnce(ctx, d, st, args, attempt > 1)
		var ce *txlog.ConflictError
		if !errors.As(err, &ce) || attempt >= maxAttempts {
			return res, err
		}
		// Someone else changed a row first: wait until the view has their
		// version, then run the statement again on it. Retries of one
		// database take turns, so a hot row degrades to serial execution
		// instead of livelock.
		if werr := s.waitVersion(ctx, d, ce.Version); werr != nil {
			return nil, werr
		}
		if attempt == 1 {
			mu := s.srv.retryLock(d.Name())
			mu.Lock()
			defer mu.Unlock()
		}
	}
}

func (s *Session) autocommitOnce(ctx context.Context, d *materializer.DB, st transpile.Statement, args []any, latest bool) (*mysql.Result, error) {
	t, err := s.beginCapture(ctx, d, latest)
	if err != nil {
		return nil, err
	}
	res, err := s.execOn(ctx, t.Conn(), st, args)
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
		cm, err = s.srv.opts.Committer.Append(cs, seen)
		return err
	})
	if err != nil || cm == nil {
		return err
	}
	return s.awaitCommit(ctx, cs, cm)
}

// awaitCommit waits for the commit point, then for the view: read your
// writes.
func (s *Session) awaitCommit(ctx context.Context, cs *marmotv1.ChangeSet, cm Commitment) error {
	wctx, cancel := context.WithTimeout(ctx, s.srv.opts.WriteTimeout)
	defer cancel()
	if err := cm.Wait(wctx); err != nil {
		return err
	}
	return s.srv.mat.WaitApplied(wctx, cs.Database, cs.Origin, cs.Seq)
}

func (s *Session) waitVersion(ctx context.Context, d *materializer.DB, v txlog.Version) error {
	wctx, cancel := context.WithTimeout(ctx, s.srv.opts.WriteTimeout)
	defer cancel()
	return d.WaitApplied(wctx, v.HLC.Node, v.Seq)
}

func (s *Session) beginCapture(ctx context.Context, d *materializer.DB, latest bool) (*materializer.Txn, error) {
	lctx, cancel := context.WithTimeout(ctx, s.srv.opts.LockWaitTimeout)
	defer cancel()
	return d.Begin(lctx, latest)
}

// execOn runs a write statement on a capture connection and reports its
// OK packet.
func (s *Session) execOn(ctx context.Context, c *materializer.Conn, st transpile.Statement, args []any) (*mysql.Result, error) {
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	s.stmtInsertID = 0
	res, err := c.ExecContext(ctx, st.SQL, args...)
	if err != nil {
		return nil, err
	}
	n, _ := res.RowsAffected()
	s.rowCount = n
	return okResult(uint64(n), uint64(s.stmtInsertID)), nil
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
	cm, err := s.srv.opts.Committer.Append(cs, seen)
	if err != nil {
		return err
	}
	return s.awaitCommit(ctx, cs, cm)
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
		if s.txn, err = s.beginCapture(ctx, d, true); err != nil {
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
	t, err := s.beginCapture(ctx, d, true)
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
