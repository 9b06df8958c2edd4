package frontend

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
	gostmt "github.com/go-mysql-org/go-mysql/stmt"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
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

	// temps are the session's TEMPORARY tables by database (temptable.go);
	// tempGen changes with them (transpilations depend on them).
	temps   map[string]*tempSpace
	tempGen uint64

	// stmtStart is when the running statement arrived, the start of the
	// commit latency the client sees; retryConflict is set while an
	// autocommit attempt whose conflict would be retried runs.
	stmtStart     time.Time
	retryConflict bool
}

func (srv *Server) newSession(id uint32, user string) *Session {
	return &Session{srv: srv, id: id, user: user, autocommit: true, userVars: map[string]any{}, sysVars: srv.initialSysVars()}
}

func (s *Session) close() {
	if s.txn != nil {
		_ = s.txn.Rollback()
		s.txn = nil
	}
	s.closeTemps()
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
	tgen  uint64 // and temp tables generation
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
	if len(s.prepared) >= maxPreparedStmts {
		return 0, 0, nil, myErr(1461, "42000", "Can't create more than max_prepared_stmt_count statements (current value: %d)", maxPreparedStmts)
	}
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
	s.prepared[ps] = &prepared{query: query, db: s.db, gen: s.schemaGen(), tgen: s.tempGen, stmts: stmts}
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
	if gen := s.schemaGen(); gen != p.gen || p.db != s.db || p.tgen != s.tempGen {
		stmts, err := s.transpile(p.query)
		if err != nil {
			return s.stmtError(s.toMySQLError(err))
		}
		p.stmts, p.gen, p.db, p.tgen = stmts, gen, s.db, s.tempGen
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
	return alreadyWritten(), nil
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
	ti, ok := s.tempTableInfo(context.Background(), d.Name(), table) // a temp table shadows
	if !ok {
		ti, ok = d.Table(context.Background(), table)
	}
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
		s.userVars, s.sysVars, s.warnings = map[string]any{}, s.srv.initialSysVars(), nil
		s.syncStatus()
		return nil
	}
	return myErr(mysql.ER_UNKNOWN_COM_ERROR, "08S01", "Unknown command %d", cmd)
}

// transpile turns MySQL text into statements, through the LRU cache.
func (s *Session) transpile(query string) ([]transpile.Statement, error) {
	var key string
	// Long texts (bulk INSERTs of a dump restore) are rarely repeated and
	// would fill the cache with megabytes each: not cached.
	cache := s.srv.cache != nil && len(query) <= maxCachedQuery
	if cache {
		gen := s.schemaGen()
		key = s.db + "\x00" + strconv.FormatUint(gen, 10) + s.tempKey() + "\x00" + query
		if st, ok := s.srv.cache.Get(key); ok {
			return st, nil
		}
	}
	st, err := transpile.Transpile(s.db, query, schemaOf{s})
	if err != nil {
		return st, err // the statements before the bad one still run
	}
	if cache {
		s.srv.cache.Add(key, st)
	}
	return st, nil
}

// maxPreparedStmts is MySQL's default max_prepared_stmt_count, per
// session here: a client that never closes statements cannot exhaust memory.
const maxPreparedStmts = 16382

// maxCachedQuery bounds the texts the transpiler cache keeps.
const maxCachedQuery = 4096

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
	if sc.s.isTemp(db, table) {
		return sc.s.tempTableInfo(context.Background(), db, table)
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

// DeclTypes answers transpile.ColumnTyper.
func (sc schemaOf) DeclTypes(db, table string) ([]string, bool) {
	ti, ok := sc.table(db, table)
	return ti.DeclTypes, ok && len(ti.DeclTypes) == len(ti.Columns)
}

// CreateTableSQL answers transpile.TableDefiner with SHOW CREATE TABLE's
// text (CREATE TABLE ... LIKE and ... SELECT copy definitions from it).
func (sc schemaOf) CreateTableSQL(db, table string) (string, bool) {
	if db == "" {
		db = sc.s.db
	}
	if isInfoSchema(db) {
		return "", false
	}
	if sc.s.isTemp(db, table) {
		return sc.s.tempDefinition(context.Background(), db, table)
	}
	srv := sc.s.srv
	key := ""
	if d, err := srv.mat.DB(db); err == nil {
		key = db + "\x00" + strconv.FormatUint(d.SchemaGen(), 10) + "\x00" + table
		srv.defsMu.Lock()
		text, ok := srv.defs[key]
		srv.defsMu.Unlock()
		if ok {
			return text, text != ""
		}
	}
	ctx := context.Background()
	q, release, err := sc.s.schemaConn(ctx, db)
	if err != nil {
		return "", false
	}
	defer release()
	t, ok, err := loadTableMeta(ctx, q, table)
	if err != nil {
		return "", false
	}
	text := ""
	if ok && !t.view {
		text = createTableSQL(t)
	}
	if key != "" {
		srv.defsMu.Lock()
		if srv.defs == nil || len(srv.defs) >= maxCachedDefs {
			srv.defs = map[string]string{}
		}
		srv.defs[key] = text
		srv.defsMu.Unlock()
	}
	return text, text != ""
}

func (s *Session) run(query string, args []any, binary bool) (*mysql.Result, error) {
	s.srv.queries.Add(1)
	shown := query // SHOW PROCESSLIST shows what the client sent
	s.current.Store(&shown)
	defer s.current.Store(nil)
	var stmts []transpile.Statement
	var terr error
	parameterized := false
	if args == nil && !binary {
		// Values become parameters: one cached transpilation serves every
		// row an interpolating client sends. Where the grammar needs a
		// literal as such (CAST(x AS DECIMAL(10,2))) the parameterized
		// text does not parse, and the text as sent runs instead.
		if q, pargs, ok := transpile.Parameterize(query); ok {
			if stmts, terr = s.transpile(q); terr == nil {
				args, parameterized = pargs, true
			}
		}
	}
	if !parameterized {
		stmts, terr = s.transpile(query)
	}
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
		last := i == len(stmts)-1 && terr == nil
		if !last {
			// Flagged so the client reads on (also for a streamed result,
			// which is written during exec).
			s.conn.SetStatus(mysql.SERVER_MORE_RESULTS_EXISTS)
		}
		res, err := s.exec(ctx, st, args, binary)
		if err != nil {
			s.conn.UnsetStatus(mysql.SERVER_MORE_RESULTS_EXISTS)
			return nil, s.toMySQLError(err)
		}
		if last {
			return res, nil
		}
		if !isAlreadyWritten(res) {
			err = s.conn.WriteValue(res)
		}
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
	s.stmtStart = time.Now()
	metricQueries.WithLabelValues(queryKind(st.Kind)).Inc()
	if err := s.refuseWrite(st); err != nil {
		return nil, err
	}
	if len(s.temps) > 0 || st.Temporary {
		if res, ok, err := s.tempStatement(ctx, st, args); ok {
			return res, err
		}
	}
	if st.Kind == transpile.Select && st.Locking && (s.explicit || !s.autocommit) && s.txn == nil {
		// SELECT … FOR UPDATE / FOR SHARE in a transaction: as in InnoDB,
		// the rows it reads must not change under the transaction before
		// it commits. The capture begins here, so the read runs inside it
		// and the commit's conflict check covers everything the
		// transaction saw from this point on (a row another transaction
		// commits meanwhile makes this one fail with 1213, not silently
		// overwrite it).
		d, err := s.targetDB(st)
		if err != nil {
			return nil, err
		}
		if s.txn, err = s.beginCapture(ctx, d, true, false); err != nil {
			return nil, err
		}
		s.syncStatus()
	}
	switch st.Kind {
	case transpile.Select, transpile.Explain:
		return s.read(ctx, st, args, binary)
	case transpile.Show, transpile.Describe:
		return s.show(ctx, st, binary)
	case transpile.Insert, transpile.Replace, transpile.Update, transpile.Delete, transpile.TruncateTable:
		return s.write(ctx, st, args)
	case transpile.CreateTable:
		if st.FillSQL != "" {
			return s.createTableSelect(ctx, st, args)
		}
		return s.ddl(ctx, st)
	case transpile.AlterTable, transpile.DropTable, transpile.RenameTable,
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
		if ts := s.temps[d.Name()]; ts != nil {
			c = ts.sc.Conn() // sees the session's temp tables
		} else {
			if c, err = d.ReadConn(ctx); err != nil {
				return nil, err
			}
			defer c.Close()
		}
	}
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	rows, err := c.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return nil, err
	}
	limit := 0
	if s.conn != nil {
		limit = streamAfterRows
	}
	cols, data, rest, err := readRows(rows, st.Table, limit)
	if err != nil {
		return nil, err
	}
	applyDecimals(cols, data, st.Decimals)
	if rest != nil {
		defer rest.Close()
		n, err := s.streamResult(cols, data, rest, binary)
		if err != nil {
			return nil, err
		}
		s.foundRows, s.rowCount = n, -1
		return alreadyWritten(), nil
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
