package transpile

import (
	"fmt"
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

const autoIDFunc = "marmot_auto_id"

func indexFold(list []string, name string) int {
	for i, s := range list {
		if strings.EqualFold(s, name) {
			return i
		}
	}
	return -1
}

func autoID(v string) string { return autoIDFunc + "(" + v + ")" }

func isDefault(e sqlparser.Expr) bool {
	d, ok := e.(*sqlparser.Default)
	return ok && d.ColName == ""
}

// insert translates INSERT / INSERT IGNORE / REPLACE, including ON DUPLICATE
// KEY UPDATE and the injection of auto-increment ids.
func (t *tx) insert(n *sqlparser.Insert, st *translated) {
	st.Kind = Insert
	verb := "INSERT"
	if n.Action == sqlparser.ReplaceAct {
		st.Kind = Replace
		verb = "REPLACE"
	} else if n.Ignore {
		verb = "INSERT OR IGNORE"
	}
	tn, ok := n.Table.Expr.(sqlparser.TableName)
	if !ok {
		t.fail(notSupported("INSERT into a derived table is not supported"))
		return
	}
	table := tn.Name.String()
	st.Table = table
	tref := t.tableRef(tn)
	db := t.effDB()

	var cols []string
	for _, c := range n.Columns {
		cols = append(cols, c.String())
	}
	schemaCols, exists, known := t.schema.columns(db, table)
	if known && !exists {
		t.fail(errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", db, table))
		return
	}
	ai, hasAI := t.schema.autoInc(db, table)

	var colList, source string
	switch rows := n.Rows.(type) {
	case sqlparser.Values:
		colList, source = t.insertValues(rows, cols, schemaCols, ai, hasAI, known)
	case sqlparser.TableStatement:
		colList, source = t.insertSelect(rows, cols, schemaCols, ai, hasAI, len(n.OnDup) > 0)
	default:
		t.fail(notSupported("this INSERT form is not supported"))
		return
	}
	var b strings.Builder
	b.WriteString(verb + " INTO " + tref)
	if colList != "" {
		b.WriteString(" " + colList)
	}
	b.WriteString(" " + source)
	if len(n.OnDup) > 0 {
		if source == "DEFAULT VALUES" {
			t.fail(notSupported("INSERT of an empty row with ON DUPLICATE KEY UPDATE is not supported"))
			return
		}
		b.WriteString(t.onDup(n, cols))
	}
	st.SQL = b.String()
	st.Database = t.checkDBs()
	if a := t.autoIDSite; a != nil && strings.Count(st.SQL, a.wrapped) == 1 {
		st.AutoIDArg = a.arg - 1
		st.AutoIDNegate = a.neg
		st.ExplicitIDSQL = strings.Replace(st.SQL, a.wrapped, a.plain, 1)
	}
}

// autoIDSite is the auto-increment value of a one-row INSERT when it is a
// placeholder (or its negation): an explicit id needs no marmot_auto_id().
type autoIDSite struct {
	arg            int // vitess's vN: the N-th placeholder of the source
	neg            bool
	wrapped, plain string
}

// argOf reports whether e is a placeholder or a negated one, and which.
func argOf(e sqlparser.Expr) (n int, neg bool, ok bool) {
	if u, isU := e.(*sqlparser.UnaryExpr); isU && u.Operator == sqlparser.UMinusOp {
		e, neg = u.Expr, true
	}
	a, isArg := e.(*sqlparser.Argument)
	if !isArg || !strings.HasPrefix(a.Name, "v") {
		return 0, false, false
	}
	n, err := strconv.Atoi(a.Name[1:])
	if err != nil || n <= 0 {
		return 0, false, false
	}
	return n, neg, true
}

// insertValues renders "(cols) VALUES (...), (...)".
func (t *tx) insertValues(rows sqlparser.Values, cols, schemaCols []string, ai string, hasAI, known bool) (string, string) {
	explicit := len(cols) > 0
	width := len(cols)
	if !explicit {
		width = len(schemaCols)
	}
	// INSERT INTO t () VALUES () / INSERT INTO t VALUES ()
	allEmpty := true
	for _, r := range rows {
		if len(r) > 0 {
			allEmpty = false
		}
	}
	if allEmpty {
		switch {
		case hasAI:
			vals := make([]string, len(rows))
			for i := range rows {
				vals[i] = "(" + autoID("NULL") + ")"
			}
			return "(" + qid(ai) + ")", "VALUES " + strings.Join(vals, ", ")
		case len(rows) == 1 && !t.inTrigger: // SQLite triggers do not accept DEFAULT VALUES
			return "", "DEFAULT VALUES"
		}
		t.fail(notSupported("multi-row INSERT of empty rows is not supported"))
		return "", ""
	}
	if !explicit && !known {
		width = len(rows[0])
	}
	for i, r := range rows {
		if len(r) != width {
			t.fail(errf(ErrWrongValueCount, "21S01", "Column count doesn't match value count at row %d", i+1))
			return "", ""
		}
	}
	names := cols
	if !explicit {
		names = schemaCols
	}
	aiIdx := -1
	if hasAI {
		aiIdx = indexFold(names, ai)
	}
	// DEFAULT items: SQLite has no DEFAULT in VALUES; a column that is DEFAULT in
	// every row is left out of the column list.
	drop := map[int]bool{}
	for j := 0; len(rows) > 0 && j < len(rows[0]); j++ {
		defaults := 0
		for _, r := range rows {
			if isDefault(r[j]) {
				defaults++
			}
		}
		if defaults == 0 || j == aiIdx {
			continue
		}
		if defaults != len(rows) {
			t.fail(notSupported("INSERT with DEFAULT for column %d in only some rows is not supported", j+1))
			return "", ""
		}
		if names == nil {
			t.fail(notSupported("INSERT ... VALUES (DEFAULT) without a column list needs the table's columns"))
			return "", ""
		}
		drop[j] = true
	}
	needList := explicit || len(drop) > 0 || (hasAI && aiIdx < 0)
	appendAI := hasAI && aiIdx < 0 && names != nil
	if hasAI && aiIdx < 0 && !explicit && !known {
		appendAI = false
	}
	var list []string
	if needList {
		for j, c := range names {
			if !drop[j] {
				list = append(list, qid(c))
			}
		}
		if appendAI {
			list = append(list, qid(ai))
		}
	}
	t.hexAsBlob = true
	vals := make([]string, len(rows))
	for i, r := range rows {
		var items []string
		for j, e := range r {
			if drop[j] {
				continue
			}
			var v string
			switch {
			case j == aiIdx:
				if isDefault(e) {
					v = autoID("NULL")
				} else {
					x := t.expr(e)
					v = autoID(x)
					if arg, neg, ok := argOf(e); ok && len(rows) == 1 {
						t.autoIDSite = &autoIDSite{arg: arg, neg: neg, wrapped: v, plain: x}
					}
				}
			case isDefault(e):
				t.fail(notSupported("DEFAULT in VALUES is not supported here"))
			default:
				v = t.expr(e)
			}
			items = append(items, v)
		}
		if appendAI {
			items = append(items, autoID("NULL"))
		}
		vals[i] = "(" + strings.Join(items, ", ") + ")"
	}
	t.hexAsBlob = false
	colList := ""
	if needList {
		colList = "(" + strings.Join(list, ", ") + ")"
	}
	return colList, "VALUES " + strings.Join(vals, ", ")
}

// insertSelect renders "(cols) SELECT ...", wrapping the select so that the
// auto-increment column gets marmot_auto_id(...) and adding WHERE true before
// an upsert clause (SQLite's parser would otherwise read ON as a join constraint).
func (t *tx) insertSelect(ts sqlparser.TableStatement, cols, schemaCols []string, ai string, hasAI, upsert bool) (string, string) {
	colList := ""
	if len(cols) > 0 {
		colList = "(" + quoteAll(cols) + ")"
	}
	if !hasAI {
		if sel, ok := ts.(*sqlparser.Select); ok && upsert {
			if sel.Where == nil || sel.Where.Expr == nil {
				cp := *sel
				cp.Where = &sqlparser.Where{Type: sqlparser.WhereClause, Expr: sqlparser.BoolVal(true)}
				return colList, t.selectStr(&cp, false)
			}
			return colList, t.selectStr(sel, false)
		}
		src := t.tableStmt(ts)
		if upsert {
			src = "SELECT * FROM (" + src + ") WHERE true"
		}
		return colList, src
	}
	where := ""
	if upsert {
		where = " WHERE true"
	}
	names := cols
	if len(names) == 0 {
		names = schemaCols
	}
	aiIdx := indexFold(names, ai)
	if len(cols) > 0 && aiIdx < 0 {
		src := t.tableStmt(ts)
		return "(" + quoteAll(cols) + ", " + qid(ai) + ")", "SELECT *, " + autoID("NULL") + " FROM (" + src + ")" + where
	}
	if aiIdx < 0 {
		// no column list and unknown table columns: cannot place the id
		return colList, t.tableStmt(ts) + where
	}
	if t.inTrigger {
		t.fail(notSupported("INSERT ... SELECT into a table with an AUTO_INCREMENT column is not supported inside triggers"))
	}
	src := t.tableStmt(ts)
	cteCols := make([]string, len(names))
	items := make([]string, len(names))
	for i := range names {
		c := fmt.Sprintf("c%d", i+1)
		cteCols[i] = qid(c)
		items[i] = colRef(c)
		if i == aiIdx {
			items[i] = autoID(colRef(c))
		}
	}
	return colList, "WITH \"marmot_src\" (" + strings.Join(cteCols, ", ") + ") AS (" + src + ") SELECT " +
		strings.Join(items, ", ") + " FROM \"marmot_src\"" + where
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = qid(n)
	}
	return strings.Join(q, ", ")
}

// onDup renders ON DUPLICATE KEY UPDATE as SQLite's ON CONFLICT DO UPDATE.
func (t *tx) onDup(n *sqlparser.Insert, cols []string) string {
	t.inOnDup = true
	defer func() { t.inOnDup = false; t.rowAlias = "" }()
	aliasCols := map[string]string{}
	if n.RowAlias != nil {
		t.rowAlias = n.RowAlias.TableName.String()
		for i, c := range n.RowAlias.Columns {
			if i < len(cols) {
				aliasCols[strings.ToLower(c.String())] = cols[i]
			}
		}
	}
	sets := make([]string, len(n.OnDup))
	for i, ue := range n.OnDup {
		v := t.exprWithAliasCols(ue.Expr, aliasCols)
		sets[i] = qid(ue.Name.Name.String()) + " = " + v
	}
	return " ON CONFLICT DO UPDATE SET " + strings.Join(sets, ", ")
}

// exprWithAliasCols renders e with MySQL 8 row-alias column names (INSERT ...
// AS new(x, y)) replaced by excluded.<column>.
func (t *tx) exprWithAliasCols(e sqlparser.Expr, aliasCols map[string]string) string {
	if len(aliasCols) == 0 {
		return t.expr(e)
	}
	e = sqlparser.Rewrite(sqlparser.Clone(e), func(c *sqlparser.Cursor) bool {
		if cn, ok := c.Node().(*sqlparser.ColName); ok {
			q := cn.Qualifier.Name.String()
			if q == "" || strings.EqualFold(q, t.rowAlias) {
				if col, ok := aliasCols[strings.ToLower(cn.Name.String())]; ok {
					c.Replace(&sqlparser.ValuesFuncExpr{Name: sqlparser.NewColName(col)})
				}
			}
		}
		return true
	}, nil).(sqlparser.Expr)
	return t.expr(e)
}

// singleTable returns the table of a single-table UPDATE/DELETE.
func (t *tx) singleTable(list []sqlparser.TableExpr, what string) (*sqlparser.AliasedTableExpr, sqlparser.TableName, bool) {
	if len(list) == 1 {
		if a, ok := list[0].(*sqlparser.AliasedTableExpr); ok {
			if tn, ok := a.Expr.(sqlparser.TableName); ok {
				return a, tn, true
			}
		}
	}
	t.fail(notSupported("multi-table %s is not supported yet", what))
	return nil, sqlparser.TableName{}, false
}

// whereOrderLimit renders WHERE, turning ORDER BY / LIMIT (which SQLite's
// UPDATE/DELETE lack) into "WHERE rowid IN (SELECT rowid ... ORDER BY ... LIMIT n)".
func (t *tx) whereOrderLimit(from string, alias string, where *sqlparser.Where, ob sqlparser.OrderBy, lim *sqlparser.Limit) string {
	w := ""
	if where != nil && where.Expr != nil {
		w = " WHERE " + t.expr(where.Expr)
	}
	if len(ob) == 0 && lim == nil {
		return w
	}
	rowid := "rowid"
	if alias != "" {
		rowid = colRef(alias) + ".rowid"
	}
	return " WHERE rowid IN (SELECT " + rowid + " FROM " + from + w + t.orderBy(ob) + t.limit(lim) + ")"
}

func (t *tx) update(n *sqlparser.Update, st *translated) {
	st.Kind = Update
	if !isSingleTable(n.TableExprs) {
		t.multiUpdate(n, st)
		return
	}
	a, tn, ok := t.singleTable(n.TableExprs, "UPDATE")
	if !ok {
		return
	}
	t.scope = t.newScope(n.TableExprs, false)
	st.Table = tn.Name.String()
	var b strings.Builder
	b.WriteString(t.with(n.With))
	b.WriteString("UPDATE ")
	if n.Ignore {
		b.WriteString("OR IGNORE ")
	}
	from := t.tableRef(tn)
	alias := a.As.String()
	if alias != "" {
		from += " AS " + qid(alias)
	}
	b.WriteString(from + " SET ")
	for i, ue := range n.Exprs {
		if i > 0 {
			b.WriteString(", ")
		}
		if q := ue.Name.Qualifier.Qualifier.String(); q != "" {
			t.noteDB(q)
		}
		if isDefault(ue.Expr) {
			t.fail(notSupported("UPDATE ... SET col = DEFAULT is not supported"))
		}
		b.WriteString(qid(ue.Name.Name.String()) + " = " + t.expr(ue.Expr))
	}
	b.WriteString(t.whereOrderLimit(from, alias, n.Where, n.OrderBy, n.Limit))
	st.SQL = b.String()
	st.Database = t.checkDBs()
}

func (t *tx) deleteStmt(n *sqlparser.Delete, st *translated) {
	st.Kind = Delete
	if len(n.Targets) > 0 && !isSingleTable(n.TableExprs) {
		t.multiDelete(n, st)
		return
	}
	a, tn, ok := t.singleTable(n.TableExprs, "DELETE")
	if !ok {
		return
	}
	t.scope = t.newScope(n.TableExprs, false)
	if len(n.Targets) > 1 || len(n.Targets) == 1 && !strings.EqualFold(n.Targets[0].Name.String(), a.As.String()) &&
		!strings.EqualFold(n.Targets[0].Name.String(), tn.Name.String()) {
		t.fail(notSupported("multi-table DELETE is not supported yet"))
		return
	}
	st.Table = tn.Name.String()
	from := t.tableRef(tn)
	alias := a.As.String()
	if alias != "" {
		from += " AS " + qid(alias)
	}
	st.SQL = t.with(n.With) + "DELETE FROM " + from + t.whereOrderLimit(from, alias, n.Where, n.OrderBy, n.Limit)
	st.Database = t.checkDBs()
}

func isSingleTable(list []sqlparser.TableExpr) bool {
	if len(list) != 1 {
		return false
	}
	a, ok := list[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return false
	}
	_, ok = a.Expr.(sqlparser.TableName)
	return ok
}

// fromTables maps each table reference of a FROM list (by alias, or by
// name when it has none; lower case) to its table.
func fromTables(list []sqlparser.TableExpr, m map[string]sqlparser.TableName) {
	for _, te := range list {
		switch n := te.(type) {
		case *sqlparser.AliasedTableExpr:
			if tn, ok := n.Expr.(sqlparser.TableName); ok {
				key := n.As.String()
				if key == "" {
					key = tn.Name.String()
				}
				m[strings.ToLower(key)] = tn
			}
		case *sqlparser.JoinTableExpr:
			fromTables([]sqlparser.TableExpr{n.LeftExpr, n.RightExpr}, m)
		case *sqlparser.ParenTableExpr:
			fromTables(n.Exprs, m)
		}
	}
}
