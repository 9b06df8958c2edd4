package frontend

import (
	"context"
	"database/sql"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

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
		for _, n := range append([]string{"information_schema"}, s.srv.mat.Databases()...) {
			if like(sh.Like, n) {
				rows = append(rows, []any{n})
			}
		}
		return simpleResult([]string{"Database"}, rows, binary), nil
	case "tables":
		db := firstNonEmpty(sh.Database, s.db)
		names, err := s.tables(ctx, db)
		if err != nil {
			return nil, err
		}
		var rows [][]any
		for _, n := range names {
			if !like(sh.Like, n[0]) {
				continue
			}
			if sh.Full {
				rows = append(rows, []any{n[0], n[1]})
			} else {
				rows = append(rows, []any{n[0]})
			}
		}
		cols := []string{"Tables_in_" + db}
		if sh.Full {
			cols = append(cols, "Table_type")
		}
		return simpleResult(cols, rows, binary), nil
	case "columns", "fields":
		return s.showColumns(ctx, st, binary)
	case "create table":
		return s.showCreateTable(ctx, st, binary)
	case "create database":
		name := firstNonEmpty(sh.Database, st.Database)
		if _, err := s.srv.mat.DB(name); err != nil {
			return nil, myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", name)
		}
		return simpleResult([]string{"Database", "Create Database"}, [][]any{{name,
			fmt.Sprintf("CREATE DATABASE `%s` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci */", name)}}, binary), nil
	case "variables":
		var rows [][]any
		names := make([]string, 0, len(globalVars))
		for n := range globalVars {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			if like(sh.Like, n) {
				rows = append(rows, []any{n, string(textValue(sysVar(s, n)))})
			}
		}
		return simpleResult([]string{"Variable_name", "Value"}, rows, binary), nil
	case "status":
		status := [][]any{
			{"Threads_connected", fmt.Sprint(s.srv.open.Load())},
			{"Queries", fmt.Sprint(s.srv.queries.Load())},
			{"Uptime", fmt.Sprint(int64(timeSince(s.srv.started).Seconds()))},
		}
		var rows [][]any
		for _, r := range status {
			if like(sh.Like, r[0].(string)) {
				rows = append(rows, r)
			}
		}
		return simpleResult([]string{"Variable_name", "Value"}, rows, binary), nil
	case "warnings", "errors":
		return simpleResult([]string{"Level", "Code", "Message"}, s.warnings, binary), nil
	case "processlist":
		return simpleResult([]string{"Id", "User", "Host", "db", "Command", "Time", "State", "Info"}, s.srv.processList(), binary), nil
	case "engines":
		return simpleResult([]string{"Engine", "Support", "Comment", "Transactions", "XA", "Savepoints"},
			[][]any{{"InnoDB", "DEFAULT", "marmot: replicated SQLite", "YES", "NO", "YES"}}, binary), nil
	case "collation":
		return simpleResult([]string{"Collation", "Charset", "Id", "Default", "Compiled", "Sortlen"},
			[][]any{{"utf8mb4_general_ci", "utf8mb4", int64(45), "Yes", "Yes", int64(1)}, {"utf8mb4_bin", "utf8mb4", int64(46), "", "Yes", int64(1)},
				{"utf8mb4_unicode_ci", "utf8mb4", int64(224), "", "Yes", int64(8)}, {"binary", "binary", int64(63), "Yes", "Yes", int64(1)}}, binary), nil
	case "charset", "character set":
		return simpleResult([]string{"Charset", "Description", "Default collation", "Maxlen"},
			[][]any{{"utf8mb4", "UTF-8 Unicode", "utf8mb4_general_ci", int64(4)}, {"utf8mb3", "UTF-8 Unicode", "utf8mb3_general_ci", int64(3)},
				{"latin1", "cp1252 West European", "latin1_swedish_ci", int64(1)}, {"binary", "Binary pseudo charset", "binary", int64(1)}}, binary), nil
	case "index", "indexes", "keys":
		return s.showIndex(ctx, st, binary)
	case "grants":
		return simpleResult([]string{"Grants for " + s.user + "@%"}, [][]any{{"GRANT ALL PRIVILEGES ON *.* TO `" + s.user + "`@`%`"}}, binary), nil
	}
	// Other SHOW forms (triggers, master status, …): an empty answer of the
	// right shape is what tools expect from a server without them.
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

// tables lists user tables and views: [name, "BASE TABLE"|"VIEW"].
func (s *Session) tables(ctx context.Context, db string) ([][2]string, error) {
	_, c, err := s.dbConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rows, err := c.QueryContext(ctx, `SELECT name, type FROM sqlite_master WHERE type IN ('table','view') AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_\_marmot%' ESCAPE '\' ORDER BY name`)
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

func (s *Session) showColumns(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	table := firstNonEmpty(sh.Table, st.Table)
	db := firstNonEmpty(sh.Database, st.Database, s.db)
	_, c, err := s.dbConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rows, err := c.QueryContext(ctx, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", table)
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		var name, typ string
		var notnull, pk int
		var dflt sql.NullString
		if err := rows.Scan(&name, &typ, &notnull, &dflt, &pk); err != nil {
			rows.Close()
			return nil, err
		}
		if !like(sh.Like, name) {
			continue
		}
		null, key, extra := "YES", "", ""
		if notnull == 1 || pk > 0 {
			null = "NO"
		}
		if pk > 0 {
			key = "PRI"
		}
		var def any
		if dflt.Valid {
			def = unquote(dflt.String)
		}
		mt := mysqlTypeName(typ)
		if strings.EqualFold(typ, "INTEGER") && pk > 0 {
			mt, extra = "bigint", "auto_increment"
		}
		if sh.Full {
			out = append(out, []any{name, mt, nil, null, key, def, extra, "select,insert,update,references", ""})
		} else {
			out = append(out, []any{name, mt, null, key, def, extra})
		}
	}
	rows.Close()
	if len(out) == 0 {
		return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", db, table)
	}
	names := []string{"Field", "Type", "Null", "Key", "Default", "Extra"}
	if sh.Full {
		names = []string{"Field", "Type", "Collation", "Null", "Key", "Default", "Extra", "Privileges", "Comment"}
	}
	return simpleResult(names, out, binary), nil
}

// mysqlTypeName turns a declared SQLite type back into the MySQL spelling.
func mysqlTypeName(decl string) string {
	t := strings.ToLower(decl)
	switch {
	case t == "":
		return "blob"
	case strings.HasPrefix(t, "decimal_text"):
		return "decimal" + strings.TrimPrefix(t, "decimal_text")
	case t == "json_text":
		return "json"
	case strings.HasSuffix(t, "_blob"):
		return strings.TrimSuffix(t, "_blob")
	case strings.Contains(t, "_blob("):
		return strings.Replace(t, "_blob(", "(", 1)
	}
	return t
}

func (s *Session) showCreateTable(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	table := firstNonEmpty(sh.Table, st.Table)
	db := firstNonEmpty(sh.Database, st.Database, s.db)
	_, c, err := s.dbConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var ddl string
	var typ string
	if err := c.QueryRowContext(ctx, "SELECT sql, type FROM sqlite_master WHERE name = ? AND type IN ('table','view')", table).Scan(&ddl, &typ); err != nil {
		return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", db, table)
	}
	return simpleResult([]string{"Table", "Create Table"}, [][]any{{table, ddl}}, binary), nil
}

func (s *Session) showIndex(ctx context.Context, st transpile.Statement, binary bool) (*mysql.Result, error) {
	sh := st.Show
	table := firstNonEmpty(sh.Table, st.Table)
	db := firstNonEmpty(sh.Database, st.Database, s.db)
	d, c, err := s.dbConn(ctx, db)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ti, ok := d.Table(ctx, table)
	if !ok {
		return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", db, table)
	}
	var out [][]any
	for i, col := range ti.PrimaryKey {
		out = append(out, []any{table, int64(0), "PRIMARY", int64(i + 1), col, "A", nil, nil, nil, "", "BTREE", "", "", "YES", nil})
	}
	rows, err := c.QueryContext(ctx, `SELECT il.name, il."unique", ii.seqno, ii.name FROM pragma_index_list(?) il, pragma_index_info(il.name) ii WHERE il.origin != 'pk' ORDER BY il.name, ii.seqno`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var iname, col sql.NullString
		var unique, seq int64
		if err := rows.Scan(&iname, &unique, &seq, &col); err != nil {
			return nil, err
		}
		name := strings.TrimPrefix(iname.String, table+"__")
		out = append(out, []any{table, 1 - unique, name, seq + 1, col.String, "A", nil, nil, nil, "YES", "BTREE", "", "", "YES", nil})
	}
	return simpleResult([]string{"Table", "Non_unique", "Key_name", "Seq_in_index", "Column_name", "Collation", "Cardinality", "Sub_part", "Packed", "Null", "Index_type", "Comment", "Index_comment", "Visible", "Expression"}, out, binary), rows.Err()
}
