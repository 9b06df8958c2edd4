package frontend

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

// showCol is one result column of a SHOW statement: its name and the
// MySQL type it is reported as (see columnFromDecl).
type showCol struct{ name, decl string }

// showCols parses "Name:TYPE|Name:TYPE".
func showCols(spec string) []showCol {
	var out []showCol
	for _, p := range strings.Split(spec, "|") {
		n, d, _ := strings.Cut(p, ":")
		out = append(out, showCol{n, d})
	}
	return out
}

var (
	colsDatabases   = showCols("Database:VARCHAR(64)")
	colsVariables   = showCols("Variable_name:VARCHAR(64)|Value:VARCHAR(1024)")
	colsWarnings    = showCols("Level:VARCHAR(7)|Code:INT UNSIGNED|Message:VARCHAR(512)")
	colsProcesslist = showCols("Id:BIGINT UNSIGNED|User:VARCHAR(32)|Host:VARCHAR(261)|db:VARCHAR(64)|Command:VARCHAR(16)|Time:INT|State:VARCHAR(64)|Info:LONGTEXT")
	colsEngines     = showCols("Engine:VARCHAR(64)|Support:VARCHAR(8)|Comment:VARCHAR(80)|Transactions:VARCHAR(3)|XA:VARCHAR(3)|Savepoints:VARCHAR(3)")
	colsCollation   = showCols("Collation:VARCHAR(64)|Charset:VARCHAR(64)|Id:BIGINT UNSIGNED|Default:VARCHAR(3)|Compiled:VARCHAR(3)|Sortlen:INT UNSIGNED|Pad_attribute:VARCHAR(9)")
	colsCharset     = showCols("Charset:VARCHAR(64)|Description:VARCHAR(2048)|Default collation:VARCHAR(64)|Maxlen:INT UNSIGNED")
	colsColumns     = showCols("Field:VARCHAR(64)|Type:MEDIUMTEXT|Null:VARCHAR(3)|Key:VARCHAR(3)|Default:TEXT|Extra:VARCHAR(256)")
	colsFullColumns = showCols("Field:VARCHAR(64)|Type:MEDIUMTEXT|Collation:VARCHAR(64)|Null:VARCHAR(3)|Key:VARCHAR(3)|Default:TEXT|Extra:VARCHAR(256)|Privileges:VARCHAR(154)|Comment:TEXT")
	colsIndex       = showCols("Table:VARCHAR(64)|Non_unique:INT|Key_name:VARCHAR(64)|Seq_in_index:INT UNSIGNED|Column_name:VARCHAR(64)|Collation:VARCHAR(1)|Cardinality:BIGINT|Sub_part:BIGINT|Packed:VARCHAR(10)|Null:VARCHAR(3)|Index_type:VARCHAR(11)|Comment:VARCHAR(8)|Index_comment:VARCHAR(2048)|Visible:VARCHAR(3)|Expression:LONGTEXT")
	colsTableStatus = showCols("Name:VARCHAR(64)|Engine:VARCHAR(64)|Version:INT|Row_format:VARCHAR(10)|Rows:BIGINT UNSIGNED|Avg_row_length:BIGINT UNSIGNED|Data_length:BIGINT UNSIGNED|Max_data_length:BIGINT UNSIGNED|Index_length:BIGINT UNSIGNED|Data_free:BIGINT UNSIGNED|Auto_increment:BIGINT UNSIGNED|Create_time:DATETIME|Update_time:DATETIME|Check_time:DATETIME|Collation:VARCHAR(64)|Checksum:BIGINT|Create_options:VARCHAR(256)|Comment:TEXT")
	colsTriggers    = showCols("Trigger:VARCHAR(64)|Event:VARCHAR(6)|Table:VARCHAR(64)|Statement:LONGTEXT|Timing:VARCHAR(6)|Created:TIMESTAMP(2)|sql_mode:VARCHAR(512)|Definer:VARCHAR(288)|character_set_client:VARCHAR(64)|collation_connection:VARCHAR(64)|Database Collation:VARCHAR(64)")
	colsCreateTable = showCols("Table:VARCHAR(64)|Create Table:LONGTEXT")
	colsCreateView  = showCols("View:VARCHAR(64)|Create View:LONGTEXT|character_set_client:VARCHAR(64)|collation_connection:VARCHAR(64)")
	colsCreateTrig  = showCols("Trigger:VARCHAR(64)|sql_mode:VARCHAR(512)|SQL Original Statement:LONGTEXT|character_set_client:VARCHAR(64)|collation_connection:VARCHAR(64)|Database Collation:VARCHAR(64)|Created:TIMESTAMP(2)")
	colsCreateDB    = showCols("Database:VARCHAR(64)|Create Database:LONGTEXT")
	colsRoutines    = showCols("Db:VARCHAR(64)|Name:VARCHAR(64)|Type:VARCHAR(9)|Definer:VARCHAR(288)|Modified:TIMESTAMP|Created:TIMESTAMP|Security_type:VARCHAR(7)|Comment:TEXT|character_set_client:VARCHAR(64)|collation_connection:VARCHAR(64)|Database Collation:VARCHAR(64)")
	colsEvents      = showCols("Db:VARCHAR(64)|Name:VARCHAR(64)|Definer:VARCHAR(288)|Time zone:VARCHAR(64)|Type:VARCHAR(9)|Execute at:DATETIME|Interval value:VARCHAR(256)|Interval field:VARCHAR(18)|Starts:DATETIME|Ends:DATETIME|Status:VARCHAR(18)|Originator:INT UNSIGNED|character_set_client:VARCHAR(64)|collation_connection:VARCHAR(64)|Database Collation:VARCHAR(64)")
	colsPlugins     = showCols("Name:VARCHAR(64)|Status:VARCHAR(10)|Type:VARCHAR(80)|Library:VARCHAR(64)|License:VARCHAR(80)")
	colsOpenTables  = showCols("Database:VARCHAR(64)|Table:VARCHAR(64)|In_use:BIGINT|Name_locked:BIGINT")
	colsMaster      = showCols("File:VARCHAR(512)|Position:BIGINT UNSIGNED|Binlog_Do_DB:VARCHAR(255)|Binlog_Ignore_DB:VARCHAR(255)|Executed_Gtid_Set:VARCHAR(255)")
	colsBinlogs     = showCols("Log_name:VARCHAR(512)|File_size:BIGINT UNSIGNED|Encrypted:VARCHAR(3)")
	colsPrivileges  = showCols("Privilege:VARCHAR(64)|Context:VARCHAR(64)|Comment:VARCHAR(256)")
	colsProfiles    = showCols("Query_ID:INT|Duration:DOUBLE|Query:LONGTEXT")
	colsEngineStat  = showCols("Type:VARCHAR(64)|Name:VARCHAR(512)|Status:LONGTEXT")
)

// showResult applies LIKE (to column likeCol; -1: none) and WHERE, then
// builds the typed result.
func (s *Session) showResult(ctx context.Context, sh *transpile.ShowInfo, cols []showCol, rows [][]any, likeCol int, binary bool) (*mysql.Result, error) {
	if sh != nil && sh.Like != "" && likeCol >= 0 {
		kept := rows[:0:0]
		for _, r := range rows {
			if like(sh.Like, string(textValue(r[likeCol]))) {
				kept = append(kept, r)
			}
		}
		rows = kept
	}
	if sh != nil && sh.Where != "" {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = c.name
		}
		var err error
		if rows, err = s.whereFilter(ctx, names, rows, sh.Where); err != nil {
			return nil, err
		}
	}
	return typedResult(cols, rows, binary), nil
}

// typedResult builds a result whose column types come from declared types.
func typedResult(cols []showCol, rows [][]any, binary bool) *mysql.Result {
	cs := make([]column, len(cols))
	for i, c := range cols {
		col, ok := columnFromDecl(c.name, c.decl)
		if !ok {
			col = columnFromValue(c.name, "")
		}
		col.name = c.name
		cs[i] = col
	}
	return buildResult(cs, rows, binary)
}

// show answers SHOW and DESCRIBE statements from the views' own schema.
func (s *Session) show(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	if sh == nil {
		return nil, myErr(mysql.ER_PARSE_ERROR, "42000", "You have an error in your SQL syntax")
	}
	kind := strings.ToLower(sh.Kind)
	if st.Kind == transpile.Describe {
		kind = "columns"
	}
	switch kind {
	case "databases", "schemas":
		var rows [][]any
		for _, n := range append([]string{infoSchemaDB}, s.srv.mat.Databases()...) {
			rows = append(rows, []any{n})
		}
		cols := colsDatabases
		if sh.Like != "" {
			cols = []showCol{{"Database (" + unquote(sh.Like) + ")", "VARCHAR(64)"}}
		}
		return s.showResult(ctx, sh, cols, rows, 0, binary)
	case "tables":
		return s.showTables(ctx, st, binary)
	case "columns", "fields":
		return s.showColumns(ctx, st, binary)
	case "index", "indexes", "keys":
		return s.showIndex(ctx, st, binary)
	case "create table", "create view":
		return s.showCreateTable(ctx, st, kind == "create view", binary)
	case "create trigger":
		return s.showCreateTrigger(ctx, st, binary)
	case "create database", "create schema":
		return s.showCreateDatabase(ctx, st, binary)
	case "create procedure", "create function", "create event":
		what := strings.ToUpper(strings.TrimPrefix(kind, "create "))
		return nil, myErr(mysql.ER_SP_DOES_NOT_EXIST, "42000", "%s %s does not exist", what, firstNonEmpty(sh.Table, sh.Name))
	case "table status":
		return s.showTableStatus(ctx, st, binary)
	case "triggers":
		return s.showTriggers(ctx, st, binary)
	case "variables":
		return s.showResult(ctx, sh, colsVariables, s.variableRows(sh.Global), 0, binary)
	case "status":
		return s.showResult(ctx, sh, colsVariables, s.statusRows(), 0, binary)
	case "warnings", "errors":
		var rows [][]any
		for _, w := range s.warnings {
			if kind == "warnings" || w[0] == "Error" {
				rows = append(rows, w)
			}
		}
		if n, err := strconv.Atoi(strings.TrimSpace(sh.Limit)); err == nil && n >= 0 && n < len(rows) {
			rows = rows[:n]
		}
		return typedResult(colsWarnings, rows, binary), nil
	case "count warnings", "count errors":
		n := 0
		for _, w := range s.warnings {
			if kind == "count warnings" || w[0] == "Error" {
				n++
			}
		}
		name := "@@session.warning_count"
		if kind == "count errors" {
			name = "@@session.error_count"
		}
		return typedResult([]showCol{{name, "BIGINT"}}, [][]any{{int64(n)}}, binary), nil
	case "processlist":
		rows := s.srv.processList()
		sort.Slice(rows, func(i, j int) bool { return asInt(rows[i][0]) < asInt(rows[j][0]) })
		if !sh.Full {
			for _, r := range rows {
				if q, ok := r[7].(string); ok && len(q) > 100 {
					r[7] = q[:100]
				}
			}
		}
		return s.showResult(ctx, sh, colsProcesslist, rows, -1, binary)
	case "engines":
		return s.showResult(ctx, sh, colsEngines, engineRows, -1, binary)
	case "collation":
		return s.showResult(ctx, sh, colsCollation, collationRows, 0, binary)
	case "charset", "character set":
		var rows [][]any
		for _, r := range charsetRows {
			rows = append(rows, []any{r[0], r[2], r[1], r[3]})
		}
		return s.showResult(ctx, sh, colsCharset, rows, 0, binary)
	case "grants":
		return simpleResult([]string{"Grants for " + s.user + "@%"}, [][]any{{"GRANT ALL PRIVILEGES ON *.* TO `" + s.user + "`@`%`"}}, binary), nil
	case "plugins":
		return s.showResult(ctx, sh, colsPlugins, [][]any{
			{"mysql_native_password", "ACTIVE", "AUTHENTICATION", nil, "GPL"},
			{"InnoDB", "ACTIVE", "STORAGE ENGINE", nil, "GPL"},
		}, 0, binary)
	case "open tables":
		return s.showResult(ctx, sh, colsOpenTables, nil, -1, binary)
	case "events":
		return s.showResult(ctx, sh, colsEvents, nil, -1, binary)
	case "procedure status", "function status":
		return s.showResult(ctx, sh, colsRoutines, nil, -1, binary)
	case "master status", "binary log status":
		return typedResult(colsMaster, nil, binary), nil
	case "binary logs":
		return typedResult(colsBinlogs, nil, binary), nil
	case "privileges":
		return typedResult(colsPrivileges, nil, binary), nil
	case "profiles":
		return typedResult(colsProfiles, nil, binary), nil
	case "engine innodb status", "engine status":
		return typedResult(colsEngineStat, [][]any{{"InnoDB", "", "marmot: replicated SQLite; no InnoDB monitor"}}, binary), nil
	}
	// Other SHOW forms (replica status, ...): an empty answer of the right
	// shape is what tools expect from a server without them.
	return simpleResult([]string{"Value"}, nil, binary), nil
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

// like implements SQL LIKE for SHOW … LIKE (case-insensitive).
func like(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	p := strings.ToLower(unquote(pattern))
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteByte('*')
		case '_':
			b.WriteByte('?')
		case '\\':
			if i+1 < len(p) {
				i++
				b.WriteString("\\" + string(p[i]))
			}
		case '*', '?', '[', ']':
			b.WriteString("\\" + string(c))
		default:
			b.WriteByte(c)
		}
	}
	ok, _ := path.Match(b.String(), strings.ToLower(s))
	return ok
}

func (s *Session) dbConn(ctx context.Context, db string) (*materializer.DB, *materializer.Conn, error) {
	if db == "" {
		return nil, nil, myErr(mysql.ER_NO_DB_ERROR, "3D000", "No database selected")
	}
	d, err := s.srv.mat.DB(db)
	if err != nil {
		return nil, nil, myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", db)
	}
	c, err := d.ReadConn(ctx)
	return d, c, err
}

// schemaConn opens a connection to read db's schema: the database's read
// pool, or the information_schema snapshot. Call release when done.
func (s *Session) schemaConn(ctx context.Context, db string) (q queryer, release func(), err error) {
	if isInfoSchema(db) {
		sn, err := s.infoSchemaSnapshot(ctx)
		if err != nil {
			return nil, nil, err
		}
		c, err := sn.db.Conn(ctx)
		if err != nil {
			sn.release()
			return nil, nil, err
		}
		return c, func() { c.Close(); sn.release() }, nil
	}
	_, c, err := s.dbConn(ctx, db)
	if err != nil {
		return nil, nil, err
	}
	return c, func() { c.Close() }, nil
}

// tableMetaOf loads one table's (or view's) metadata, with statistics.
// A session's temp table shadows a permanent one of its name, as in MySQL.
func (s *Session) tableMetaOf(ctx context.Context, db, table string) (*tableMeta, error) {
	if t, ok, err := s.tempMetaOf(ctx, db, table); ok || err != nil {
		return t, err
	}
	q, release, err := s.schemaConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer release()
	t, ok, err := loadTableMeta(ctx, q, table)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", db, table)
	}
	loadTableStats(ctx, q, t)
	return t, nil
}

// dbMetaOf loads a whole database's metadata; stats adds row counts.
func (s *Session) dbMetaOf(ctx context.Context, db string, stats bool) (*dbMeta, error) {
	q, release, err := s.schemaConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer release()
	m, err := loadDBMeta(ctx, q)
	if err != nil {
		return nil, err
	}
	if stats {
		loadStats(ctx, q, m)
	}
	return m, nil
}

// showTarget is the database and table a SHOW names (or the session's).
func (s *Session) showTarget(st transpile.Statement) (db, table string) {
	return firstNonEmpty(st.Show.Database, st.Database, s.db), firstNonEmpty(st.Show.Table, st.Table)
}

// tables lists user tables and views: [name, "BASE TABLE"|"VIEW"].
func (s *Session) tables(ctx context.Context, db string) ([][2]string, error) {
	if isInfoSchema(db) {
		var out [][2]string
		for _, t := range infoSchemaTables {
			out = append(out, [2]string{t.name, "SYSTEM VIEW"})
		}
		sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
		return out, nil
	}
	q, release, err := s.schemaConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer release()
	rows, err := q.QueryContext(ctx, `SELECT name, type FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_\_marmot%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var n, t string
		if err := rows.Scan(&n, &t); err != nil {
			return nil, err
		}
		typ := "BASE TABLE"
		if t == "view" {
			typ = "VIEW"
		}
		out = append(out, [2]string{n, typ})
	}
	return out, rows.Err()
}

func (s *Session) showTables(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	db := firstNonEmpty(sh.Database, s.db)
	if db == "" {
		return nil, myErr(mysql.ER_NO_DB_ERROR, "3D000", "No database selected")
	}
	if isInfoSchema(db) {
		db = infoSchemaDB
	}
	names, err := s.tables(ctx, db)
	if err != nil {
		return nil, err
	}
	var rows [][]any
	for _, n := range names {
		if sh.Full {
			rows = append(rows, []any{n[0], n[1]})
		} else {
			rows = append(rows, []any{n[0]})
		}
	}
	first := "Tables_in_" + db
	cols := []showCol{{first, "VARCHAR(64)"}}
	if sh.Full {
		cols = append(cols, showCol{"Table_type", "VARCHAR(64)"})
	}
	res, err := s.showResult(ctx, sh, cols, rows, 0, binary)
	if err == nil && sh.Like != "" {
		res.Fields[0].Name = []byte(first + " (" + unquote(sh.Like) + ")")
	}
	return res, err
}

func (s *Session) showColumns(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	db, table := s.showTarget(st)
	t, err := s.tableMetaOf(ctx, db, table)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, c := range t.cols {
		null := "YES"
		if c.notNull {
			null = "NO"
		}
		if sh.Full {
			out = append(out, []any{c.name, c.typ.column, c.typ.collation(), null, t.columnKey(c), c.showDefault(), c.extra(), privilegesText, ""})
		} else {
			out = append(out, []any{c.name, c.typ.column, null, t.columnKey(c), c.showDefault(), c.extra()})
		}
	}
	cols := colsColumns
	if sh.Full {
		cols = colsFullColumns
	}
	return s.showResult(ctx, sh, cols, out, 0, binary)
}

func (s *Session) showIndex(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	db, table := s.showTarget(st)
	t, err := s.tableMetaOf(ctx, db, table)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, r := range indexRows(t) {
		out = append(out, []any{t.name, r.nonUnique, r.name, r.seq, r.col, r.collation, r.cardinality, nil, nil, r.nullable, "BTREE", "", "", "YES", nil})
	}
	return s.showResult(ctx, st.Show, colsIndex, out, -1, binary)
}

func (s *Session) showCreateTable(ctx context.Context, st transpile.Statement, wantView bool, binary bool) (*mysql.Result, error) {
	db, table := s.showTarget(st)
	t, err := s.tableMetaOf(ctx, db, table)
	if err != nil {
		return nil, err
	}
	if t.view {
		return typedResult(colsCreateView, [][]any{{t.name, createViewSQL(t), "utf8mb4", "utf8mb4_general_ci"}}, binary), nil
	}
	if wantView {
		return nil, myErr(mysql.ER_WRONG_OBJECT, "HY000", "'%s.%s' is not VIEW", db, table)
	}
	return typedResult(colsCreateTable, [][]any{{t.name, createTableSQL(t)}}, binary), nil
}

func (s *Session) showCreateDatabase(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	name := firstNonEmpty(st.Show.Database, st.Database)
	if name == "" {
		return nil, myErr(mysql.ER_NO_DB_ERROR, "3D000", "No database selected")
	}
	if isInfoSchema(name) {
		return typedResult(colsCreateDB, [][]any{{infoSchemaDB, "CREATE DATABASE `information_schema` /*!40100 DEFAULT CHARACTER SET utf8mb3 */ /*!80016 DEFAULT ENCRYPTION='N' */"}}, binary), nil
	}
	if _, err := s.srv.mat.DB(name); err != nil {
		return nil, myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", name)
	}
	return typedResult(colsCreateDB, [][]any{{name,
		"CREATE DATABASE " + mysqlIdent(name) + " /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"}}, binary), nil
}

func (s *Session) showTableStatus(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	db := firstNonEmpty(sh.Database, st.Database, s.db)
	m, err := s.dbMetaOf(ctx, db, true)
	if err != nil {
		return nil, err
	}
	var rows [][]any
	for _, t := range m.tables {
		r := tableStatusRows(db, t)[0]
		// information_schema.TABLES minus TABLE_CATALOG/TABLE_SCHEMA/TABLE_TYPE
		rows = append(rows, append([]any{r[2]}, r[4:]...))
	}
	return s.showResult(ctx, sh, colsTableStatus, rows, 0, binary)
}

func (s *Session) showTriggers(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	db := firstNonEmpty(sh.Database, st.Database, s.db)
	var rows [][]any
	if !isInfoSchema(db) {
		m, err := s.dbMetaOf(ctx, db, false)
		if err != nil {
			return nil, err
		}
		for _, tr := range m.triggers {
			rows = append(rows, []any{tr.name, tr.event, tr.table, tr.body, tr.timing, nil, globalVars["sql_mode"], definer, "utf8mb4", "utf8mb4_general_ci", "utf8mb4_general_ci"})
		}
	}
	// SHOW TRIGGERS LIKE matches table names.
	return s.showResult(ctx, sh, colsTriggers, rows, 2, binary)
}

func (s *Session) showCreateTrigger(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	db, name := s.showTarget(st)
	var tr *triggerMeta
	if !isInfoSchema(db) {
		m, err := s.dbMetaOf(ctx, db, false)
		if err != nil {
			return nil, err
		}
		for _, x := range m.triggers {
			if strings.EqualFold(x.name, name) {
				tr = x
			}
		}
	}
	if tr == nil {
		return nil, myErr(mysql.ER_TRG_DOES_NOT_EXIST, "HY000", "Trigger does not exist")
	}
	stmt := fmt.Sprintf("CREATE DEFINER=`root`@`%%` TRIGGER %s %s %s ON %s FOR EACH ROW %s", mysqlIdent(tr.name), tr.timing, tr.event, mysqlIdent(tr.table), tr.body)
	return typedResult(colsCreateTrig, [][]any{{tr.name, globalVars["sql_mode"], stmt, "utf8mb4", "utf8mb4_general_ci", "utf8mb4_general_ci", nil}}, binary), nil
}

// variableRows is SHOW [GLOBAL|SESSION] VARIABLES: the session's values
// (its SET overrides included) or the global defaults.
func (s *Session) variableRows(global bool) [][]any {
	seen := map[string]bool{}
	var names []string
	for n := range globalVars {
		names = append(names, n)
		seen[n] = true
	}
	if !global {
		for n := range s.sysVars {
			if !seen[n] {
				names = append(names, n)
			}
		}
	}
	sort.Strings(names)
	rows := make([][]any, 0, len(names))
	for _, n := range names {
		var v any
		if global && n != "port" {
			v = sysVar(nil, n)
		} else {
			v = sysVar(s, n)
		}
		rows = append(rows, []any{n, string(textValue(v))})
	}
	return rows
}

// statusRows is SHOW STATUS.
func (s *Session) statusRows() [][]any {
	open := s.srv.open.Load()
	queries := s.srv.queries.Load()
	uptime := int64(timeSince(s.srv.started).Seconds())
	sslVersion, sslCipher := s.tlsStatus()
	rows := [][]any{
		{"Aborted_clients", "0"},
		{"Aborted_connects", "0"},
		{"Bytes_received", "0"},
		{"Bytes_sent", "0"},
		{"Connections", fmt.Sprint(open)},
		{"Max_used_connections", fmt.Sprint(open)},
		{"Open_tables", "0"},
		{"Opened_tables", "0"},
		{"Queries", fmt.Sprint(queries)},
		{"Questions", fmt.Sprint(queries)},
		{"Slow_queries", "0"},
		{"Ssl_cipher", sslCipher},
		{"Ssl_version", sslVersion},
		{"Threads_cached", "0"},
		{"Threads_connected", fmt.Sprint(open)},
		{"Threads_created", fmt.Sprint(open)},
		{"Threads_running", "1"},
		{"Uptime", fmt.Sprint(uptime)},
		{"Uptime_since_flush_status", fmt.Sprint(uptime)},
	}
	return rows
}
