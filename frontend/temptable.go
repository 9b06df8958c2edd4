package frontend

// TEMPORARY tables. SQLite keeps TEMP tables per connection, so a session
// that creates one gets a connection of its own to that database
// (materializer.SessionConn) and runs every statement on the database
// there from then on: reads directly, writes to permanent tables through
// a capture on it (so INSERT INTO t SELECT ... FROM tmp replicates t's
// rows), statements that write only temp tables directly, outside the
// writer lock and the log. Temp tables never reach the log, peers or CDC;
// they shadow permanent tables of the same name for their session only and
// go when the session ends (the connection closes).

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

// tempSpace is a session's temp tables in one database.
type tempSpace struct {
	sc     *materializer.SessionConn
	tables map[string]bool // lower-case names
}

// tempSpaceOf is the session's temp space in database db ("" = the
// current one), or nil.
func (s *Session) tempSpaceOf(db string) *tempSpace {
	if db == "" {
		db = s.db
	}
	return s.temps[db]
}

// isTemp reports whether table is one of the session's temp tables.
func (s *Session) isTemp(db, table string) bool {
	ts := s.tempSpaceOf(db)
	return ts != nil && ts.tables[strings.ToLower(table)]
}

// sessionConn is the connection the session's captures on d run on: its
// temp space's, or nil for the database's writer.
func (s *Session) sessionConn(d *materializer.DB) *materializer.SessionConn {
	if ts := s.temps[d.Name()]; ts != nil {
		return ts.sc
	}
	return nil
}

// tempKey distinguishes transpilations of a session with temp tables:
// their names and columns are its own.
func (s *Session) tempKey() string {
	if len(s.temps) == 0 {
		return ""
	}
	return "\x00tmp" + strconv.FormatUint(uint64(s.id), 10) + "." + strconv.FormatUint(s.tempGen, 10)
}

// closeTemps drops every temp table of the session (its end, or
// COM_RESET_CONNECTION).
func (s *Session) closeTemps() {
	for name, ts := range s.temps {
		_ = ts.sc.Close()
		delete(s.temps, name)
	}
	s.tempGen++
}

// closeStaleTemps closes the temp spaces whose database was dropped since
// they were opened (by any session, or a peer): their connections still
// read the deleted file. The temp tables go with them, so the session's
// statements on them fail as on a missing database or table (1049, 1146)
// instead of reading or capturing rows the database no longer has. MySQL
// keeps such temp tables; marmot's live in the dropped database's file.
// A space a capture runs on is kept: DROP DATABASE waits for the capture.
func (s *Session) closeStaleTemps() {
	for name, ts := range s.temps {
		if s.txn != nil && s.txn.DB() == ts.sc.DB() {
			continue
		}
		if ts.sc.Stale() {
			_ = ts.sc.Close()
			delete(s.temps, name)
			s.tempGen++
		}
	}
}

// tempStatement runs st if it is about temp tables; handled=false leaves
// it to the normal path.
func (s *Session) tempStatement(ctx context.Context, st transpile.Statement, args []any) (res *mysql.Result, handled bool, err error) {
	s.closeStaleTemps()
	switch st.Kind {
	case transpile.CreateTable:
		if st.Temporary {
			res, err = s.createTemp(ctx, st, args)
			return res, true, err
		}
	case transpile.DropTable:
		if st.Temporary {
			res, err = s.dropTemp(ctx, st)
			return res, true, err
		}
		for _, t := range st.Tables {
			if s.isTemp(st.Database, t) {
				res, err = s.dropTemp(ctx, st)
				return res, true, err
			}
		}
	case transpile.Insert, transpile.Replace, transpile.Update, transpile.Delete, transpile.TruncateTable:
		if s.isTemp(st.Database, st.Table) {
			res, err = s.tempExec(ctx, st, args, false)
			return res, true, err
		}
	case transpile.AlterTable, transpile.CreateIndex, transpile.DropIndex:
		if s.isTemp(st.Database, st.Table) {
			res, err = s.tempExec(ctx, st, args, true)
			if err == nil {
				err = s.refreshTemp(ctx, st.Database)
			}
			return res, true, err
		}
	case transpile.CreateTrigger:
		if s.isTemp(st.Database, st.Table) {
			return nil, true, myErr(mysql.ER_TRG_ON_VIEW_OR_TEMP_TABLE, "HY000", "Trigger's '%s' is view or temporary table", st.Table)
		}
	case transpile.RenameTable:
		if s.isTemp(st.Database, st.Table) {
			if strings.Contains(st.SQL, ";") {
				return nil, true, myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "marmot: RENAME TABLE of several tables is not supported when one is the temporary table '%s'", st.Table)
			}
			res, err = s.tempExec(ctx, st, args, true)
			if err == nil {
				err = s.refreshTemp(ctx, st.Database)
			}
			return res, true, err
		}
	}
	return nil, false, nil
}

// openTempSpace returns the session's temp space in d, opening it. A
// transaction already capturing on the database's writer goes on there,
// hosting the new temp tables until it ends (materializer.HostTemps):
// as in MySQL, CREATE TEMPORARY TABLE does not commit it.
func (s *Session) openTempSpace(ctx context.Context, d *materializer.DB) (*tempSpace, error) {
	if ts := s.temps[d.Name()]; ts != nil {
		return ts, nil
	}
	sc, err := d.OpenSessionConn(ctx)
	if err != nil {
		return nil, err
	}
	if s.txn != nil && s.txn.DB() == d {
		if err := s.txn.HostTemps(sc); err != nil {
			_ = sc.Close()
			return nil, err
		}
	}
	ts := &tempSpace{sc: sc, tables: map[string]bool{}}
	if s.temps == nil {
		s.temps = map[string]*tempSpace{}
	}
	s.temps[d.Name()] = ts
	return ts, nil
}

// createTemp runs CREATE TEMPORARY TABLE [... LIKE | ... SELECT].
func (s *Session) createTemp(ctx context.Context, st transpile.Statement, args []any) (*mysql.Result, error) {
	d, err := s.targetDB(st)
	if err != nil {
		return nil, err
	}
	ts, err := s.openTempSpace(ctx, d)
	if err != nil {
		return nil, err
	}
	if ts.tables[strings.ToLower(st.Table)] {
		if !st.IfNotExists {
			return nil, myErr(mysql.ER_TABLE_EXISTS_ERROR, "42S01", "Table '%s' already exists", st.Table)
		}
		s.warnings = append(s.warnings, []any{"Note", int64(mysql.ER_TABLE_EXISTS_ERROR), fmt.Sprintf("Table '%s' already exists", st.Table)})
		return &mysql.Result{Warnings: 1}, nil
	}
	var n int64
	err = s.onTemp(ctx, ts, func(c *materializer.Conn, ddl func(string) error) error {
		if err := ddl(st.SQL); err != nil {
			return err
		}
		if len(st.OnUpdateNow) > 0 {
			trig, err := onUpdateTriggers(ctx, c, st.Table, st.OnUpdateNow)
			if err != nil {
				return err
			}
			if trig != "" {
				if err := ddl(trig); err != nil {
					return err
				}
			}
		}
		if st.FillSQL != "" {
			res, err := c.ExecContext(ctx, st.FillSQL, args...)
			if err != nil {
				return err
			}
			n, _ = res.RowsAffected()
		}
		return nil
	})
	if rerr := s.refreshTemp(ctx, d.Name()); err == nil {
		err = rerr
	}
	if err != nil {
		return nil, err
	}
	return okResult(uint64(n), 0), nil
}

// dropTemp runs a DROP TABLE naming temp tables: DROP TEMPORARY TABLE
// drops only those; a plain DROP TABLE drops the temp ones (which shadow
// any permanent table of the same name) and the permanent rest as usual.
func (s *Session) dropTemp(ctx context.Context, st transpile.Statement) (*mysql.Result, error) {
	d, err := s.targetDB(st)
	if err != nil {
		return nil, err
	}
	tables := st.Tables
	if len(tables) == 0 {
		tables = []string{st.Table}
	}
	ts := s.temps[d.Name()]
	var temps, perms, missing []string
	for _, t := range tables {
		switch {
		case ts != nil && ts.tables[strings.ToLower(t)]:
			temps = append(temps, t)
		case st.Temporary:
			missing = append(missing, d.Name()+"."+t)
		default:
			perms = append(perms, t)
		}
	}
	if len(missing) > 0 && !st.IfExists {
		return nil, myErr(mysql.ER_BAD_TABLE_ERROR, "42S02", "Unknown table '%s'", strings.Join(missing, ","))
	}
	if len(temps) > 0 {
		err := s.onTemp(ctx, ts, func(c *materializer.Conn, ddl func(string) error) error {
			for _, t := range temps {
				if err := ddl(`DROP TABLE IF EXISTS "temp".` + quoteIdent(t)); err != nil {
					return err
				}
			}
			return nil
		})
		if rerr := s.refreshTemp(ctx, d.Name()); err == nil {
			err = rerr
		}
		if err != nil {
			return nil, err
		}
	}
	if len(perms) > 0 {
		rest := st
		rest.Table, rest.Tables, rest.SQL = perms[0], perms, ""
		for i, t := range perms {
			if i > 0 {
				rest.SQL += "; "
			}
			rest.SQL += "DROP TABLE IF EXISTS " + quoteIdent(t)
		}
		return s.ddl(ctx, rest)
	}
	res := okResult(0, 0)
	for _, m := range missing {
		s.warnings = append(s.warnings, []any{"Note", int64(mysql.ER_BAD_TABLE_ERROR), fmt.Sprintf("Unknown table '%s'", m)})
		res.Warnings++
	}
	return res, nil
}

// tempExec runs a statement that writes only a temp table (ddl: one
// that changes a temp table's definition).
func (s *Session) tempExec(ctx context.Context, st transpile.Statement, args []any, ddl bool) (*mysql.Result, error) {
	ts := s.tempSpaceOf(st.Database)
	if !ddl && s.txn == nil && (s.explicit || !s.autocommit) {
		// As in InnoDB, ROLLBACK undoes a transaction's changes to temp
		// tables too: they join the transaction's capture.
		var err error
		if s.txn, err = s.beginCapture(ctx, ts.sc.DB(), true, false); err != nil {
			return nil, err
		}
		s.syncStatus()
	}
	if !ddl && s.txn != nil && s.txn.DB() == ts.sc.DB() {
		// Inside a capture on the session connection: its temp changes
		// are kept when it ends (materializer.BeginOn).
		return s.execInTxn(ctx, st, args)
	}
	var res *mysql.Result
	err := s.onTemp(ctx, ts, func(c *materializer.Conn, ddlf func(string) error) error {
		if ddl {
			return ddlf(st.SQL)
		}
		s.stmtInsertID = 0
		n, err := execStatement(ctx, c, st, args)
		if err != nil {
			return err
		}
		s.rowCount = n
		res = okResult(uint64(n), uint64(s.stmtInsertID))
		return nil
	})
	if ddl && err == nil {
		res = okResult(0, 0)
	}
	return res, err
}

// onTemp runs fn on the temp space's connection, in a savepoint of its
// own (a failed statement leaves nothing). Inside a capture on it, ddl
// statements are recorded to survive the capture's end. Outside, fn (a failed statement leaves nothing) and
// is undone if it changed a permanent table: that change would bypass the
// log.
func (s *Session) onTemp(ctx context.Context, ts *tempSpace, fn func(c *materializer.Conn, ddl func(string) error) error) error {
	if s.txn != nil && s.txn.DB() == ts.sc.DB() {
		// In the transaction's statement savepoint: a CREATE TEMPORARY
		// TABLE … SELECT that fails half way leaves no table, as in MySQL.
		mark, err := s.txn.Mark(ctx, true)
		if err != nil {
			return err
		}
		c := s.txn.Conn()
		c.Env.Session = s
		err = fn(c, func(q string) error { return s.txn.TempDDL(ctx, q) })
		c.Env.Session = nil
		if uerr := s.txn.Unmark(ctx, mark, err != nil); uerr != nil && err == nil {
			err = uerr
		}
		return err
	}
	c := ts.sc.Conn()
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	if _, err := c.ExecContext(ctx, "SAVEPOINT marmot_temp"); err != nil {
		return err
	}
	before := ts.sc.StrayWrites()
	err := fn(c, func(q string) error { _, err := c.ExecContext(ctx, q); return err })
	if err == nil && ts.sc.StrayWrites() != before {
		err = myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "marmot: a statement that writes a temporary table cannot also change permanent tables")
	}
	if err != nil {
		_, _ = c.ExecContext(context.Background(), "ROLLBACK TO marmot_temp")
	}
	if _, rerr := c.ExecContext(context.Background(), "RELEASE marmot_temp"); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// refreshTemp reloads the names of the session's temp tables in db after
// temp DDL; a space left without tables (and no capture on it) is closed.
func (s *Session) refreshTemp(ctx context.Context, db string) error {
	if db == "" {
		db = s.db
	}
	ts := s.temps[db]
	if ts == nil {
		return nil
	}
	s.tempGen++
	inTxn := s.txn != nil && s.txn.DB() == ts.sc.DB()
	var c *materializer.Conn
	if inTxn {
		c = s.txn.Conn()
	} else {
		c = ts.sc.Conn()
	}
	rows, err := c.QueryContext(ctx, `SELECT name FROM temp.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_\_marmot%' ESCAPE '\'`)
	if err != nil {
		return err
	}
	defer rows.Close()
	tables := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		tables[strings.ToLower(n)] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	ts.tables = tables
	if len(tables) == 0 && !inTxn {
		_ = ts.sc.Close()
		delete(s.temps, db)
	}
	return nil
}

// tempTableInfo answers the transpiler's schema questions about a temp
// table, from the session connection.
func (s *Session) tempTableInfo(ctx context.Context, db, table string) (materializer.TableInfo, bool) {
	ts := s.tempSpaceOf(db)
	if ts == nil {
		return materializer.TableInfo{}, false
	}
	var c *materializer.Conn
	if s.txn != nil && s.txn.DB() == ts.sc.DB() {
		c = s.txn.Conn()
	} else {
		c = ts.sc.Conn()
	}
	return materializer.TempTable(ctx, c, table)
}

// tempSchema is a queryer over a session connection that reads the TEMP
// schema's catalog instead of main's, so the metadata loaders
// (infoschema_meta.go) describe the session's temp tables. Their PRAGMA
// functions and SELECTs name tables unqualified, which SQLite resolves in
// temp before main: the temp table, also where it shadows a permanent one.
type tempSchema struct{ q queryer }

func (t tempSchema) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.q.QueryContext(ctx, tempCatalog(query), args...)
}

func (t tempSchema) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.q.QueryRowContext(ctx, tempCatalog(query), args...)
}

func tempCatalog(query string) string {
	return strings.ReplaceAll(query, "FROM sqlite_master", "FROM temp.sqlite_master")
}

// tempConn is the connection that sees the session's temp tables in ts:
// the capture's while one runs on it, else the session connection.
func (s *Session) tempConn(ts *tempSpace) *materializer.Conn {
	if s.txn != nil && s.txn.DB() == ts.sc.DB() {
		return s.txn.Conn()
	}
	return ts.sc.Conn()
}

// tempMetaOf loads a temp table's metadata, in the terms SHOW COLUMNS,
// SHOW INDEX and SHOW CREATE TABLE use; ok=false if table is not one of
// the session's temp tables in db.
func (s *Session) tempMetaOf(ctx context.Context, db, table string) (t *tableMeta, ok bool, err error) {
	if db == "" {
		db = s.db
	}
	if !s.isTemp(db, table) {
		return nil, false, nil
	}
	q := tempSchema{s.tempConn(s.temps[db])}
	t, ok, err = loadTableMeta(ctx, q, table)
	if err != nil || !ok {
		return nil, false, err
	}
	loadTableStats(ctx, q, t)
	t.temp = true
	return t, true, nil
}

// tempDefinition is a temp table's definition as a plain CREATE TABLE, for
// the transpiler (transpile.TableDefiner): CREATE TABLE x LIKE tmp makes a
// permanent table, as in MySQL, and CREATE TABLE x SELECT ... FROM tmp
// takes its column types from it.
func (s *Session) tempDefinition(ctx context.Context, db, table string) (string, bool) {
	t, ok, err := s.tempMetaOf(ctx, db, table)
	if !ok || err != nil {
		return "", false
	}
	t.temp = false
	return createTableSQL(t), true
}
