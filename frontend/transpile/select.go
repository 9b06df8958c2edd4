package transpile

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// tableStmt renders a nested SELECT, UNION or VALUES statement.
func (t *tx) tableStmt(ts sqlparser.TableStatement) string { return t.query(ts, false) }

// topStmt renders a statement-level query (or a view body): unaliased
// variables in its select list get their MySQL column names as aliases.
func (t *tx) topStmt(ts sqlparser.TableStatement) string { return t.query(ts, true) }

func (t *tx) query(ts sqlparser.TableStatement, top bool) string {
	switch n := ts.(type) {
	case *sqlparser.Select:
		return t.selectStr(n, top)
	case *sqlparser.Union:
		return t.unionStr(n, top)
	case *sqlparser.ValuesStatement:
		if n.ListArg != "" {
			t.fail(syntaxError("list arguments are not MySQL syntax", string(n.ListArg)))
		}
		rows := make([]string, len(n.Rows))
		for i, r := range n.Rows {
			if len(r) == 0 || len(r) != len(n.Rows[0]) {
				t.fail(errf(ErrWrongValueCount, "21S01", "Column count doesn't match value count at row %d", i+1))
			}
			rows[i] = "(" + t.exprs(r) + ")"
		}
		s := t.with(n.With) + "VALUES " + strings.Join(rows, ", ")
		return s + t.orderBy(n.Order) + t.limit(n.Limit)
	}
	t.fail(notSupported("this query form is not supported"))
	return "SELECT NULL"
}

func (t *tx) with(w *sqlparser.With) string {
	if w == nil || len(w.CTEs) == 0 {
		return ""
	}
	for _, c := range w.CTEs {
		t.ctes[strings.ToLower(c.ID.String())] = true
	}
	var b strings.Builder
	b.WriteString("WITH ")
	if w.Recursive {
		b.WriteString("RECURSIVE ")
	}
	for i, c := range w.CTEs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(qid(c.ID.String()))
		if len(c.Columns) > 0 {
			b.WriteString(" (" + identList(c.Columns) + ")")
		}
		b.WriteString(" AS (" + t.tableStmt(c.Subquery) + ")")
	}
	b.WriteString(" ")
	return b.String()
}

func identList(cols sqlparser.Columns) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = qid(c.String())
	}
	return strings.Join(parts, ", ")
}

func isDual(from []sqlparser.TableExpr) bool {
	if len(from) != 1 {
		return false
	}
	a, ok := from[0].(*sqlparser.AliasedTableExpr)
	if !ok {
		return false
	}
	tn, ok := a.Expr.(sqlparser.TableName)
	return ok && tn.Qualifier.IsEmpty() && strings.EqualFold(tn.Name.String(), "dual")
}

// selectStr renders a SELECT without MySQL's hints and locking clauses.
// top is true for the outermost select list (unaliased variables get their
// MySQL column name as alias there).
func (t *tx) selectStr(sel *sqlparser.Select, top bool) string {
	if sel.Into != nil {
		t.fail(notSupported("SELECT ... INTO is not supported"))
	}
	if sel.SQLCalcFoundRows {
		t.calcFoundRows = true
		if top && t.foundRowsSQL == "" {
			// FOUND_ROWS() counts the rows without LIMIT: the same query
			// without ORDER BY and LIMIT, counted.
			cp := *sel
			cp.OrderBy, cp.Limit, cp.SQLCalcFoundRows = nil, nil, false
			t.foundRowsSQL = "SELECT count(*) FROM (" + t.selectStr(&cp, false) + ")"
			t.foundRowsParams = countParams(&cp)
		}
	}
	var b strings.Builder
	b.WriteString(t.with(sel.With))
	outer := t.scope
	t.scope = t.newScope(sel.From, false)
	defer func() { t.scope = outer }()
	b.WriteString("SELECT ")
	if sel.Distinct {
		b.WriteString("DISTINCT ")
	}
	if sel.SelectExprs != nil {
		for i, se := range sel.SelectExprs.Exprs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(t.selectExpr(se, top))
		}
	}
	if len(sel.From) > 0 && !isDual(sel.From) {
		b.WriteString(" FROM ")
		b.WriteString(t.tableExprs(sel.From))
	}
	if sel.Where != nil && sel.Where.Expr != nil {
		b.WriteString(" WHERE " + t.expr(sel.Where.Expr))
	}
	if sel.GroupBy != nil && len(sel.GroupBy.Exprs) > 0 {
		if sel.GroupBy.WithRollup {
			t.fail(notSupported("GROUP BY ... WITH ROLLUP is not supported"))
		}
		b.WriteString(" GROUP BY " + t.exprs(sel.GroupBy.Exprs))
	}
	if sel.Having != nil && sel.Having.Expr != nil {
		b.WriteString(" HAVING " + t.expr(sel.Having.Expr))
	}
	if len(sel.Windows) > 0 {
		b.WriteString(" " + strings.TrimSpace(t.fallback(sel.Windows)))
	}
	b.WriteString(t.orderBy(sel.OrderBy))
	b.WriteString(t.limit(sel.Limit))
	return b.String()
}

func (t *tx) selectExpr(se sqlparser.SelectExpr, top bool) string {
	switch n := se.(type) {
	case *sqlparser.StarExpr:
		if n.TableName.IsEmpty() {
			return "*"
		}
		if q := n.TableName.Qualifier.String(); q != "" {
			t.noteDB(q)
		}
		return colRef(n.TableName.Name.String()) + ".*"
	case *sqlparser.AliasedExpr:
		s := t.expr(n.Expr)
		if !n.As.IsEmpty() {
			return s + " AS " + qid(n.As.String())
		}
		if v, ok := n.Expr.(*sqlparser.Variable); ok && top {
			return s + " AS " + qid(sqlparser.String(v))
		}
		return s
	}
	t.fail(notSupported("NEXT VALUE is not supported"))
	return "NULL"
}

func (t *tx) tableExprs(list []sqlparser.TableExpr) string {
	parts := make([]string, len(list))
	for i, te := range list {
		parts[i] = t.tableExpr(te)
	}
	return strings.Join(parts, ", ")
}

func (t *tx) tableExpr(te sqlparser.TableExpr) string {
	switch n := te.(type) {
	case *sqlparser.AliasedTableExpr:
		var s string
		switch e := n.Expr.(type) {
		case sqlparser.TableName:
			s = t.tableRef(e)
		case *sqlparser.DerivedTable:
			if e.Lateral {
				t.fail(notSupported("LATERAL derived tables are not supported"))
			}
			s = "(" + t.tableStmt(e.Select) + ")"
		default:
			t.fail(notSupported("this table expression is not supported"))
		}
		if len(n.Columns) > 0 {
			t.fail(notSupported("derived table column lists are not supported"))
		}
		if !n.As.IsEmpty() {
			s += " AS " + qid(n.As.String())
		}
		return s
	case *sqlparser.JoinTableExpr:
		kw := map[sqlparser.JoinType]string{
			sqlparser.NormalJoinType: "JOIN", sqlparser.StraightJoinType: "JOIN",
			sqlparser.LeftJoinType: "LEFT JOIN", sqlparser.RightJoinType: "RIGHT JOIN",
			sqlparser.NaturalJoinType: "NATURAL JOIN", sqlparser.NaturalLeftJoinType: "NATURAL LEFT JOIN",
			sqlparser.NaturalRightJoinType: "NATURAL RIGHT JOIN",
		}[n.Join]
		right := t.tableExpr(n.RightExpr)
		if _, nested := n.RightExpr.(*sqlparser.JoinTableExpr); nested {
			right = "(" + right + ")"
		}
		s := t.tableExpr(n.LeftExpr) + " " + kw + " " + right
		if n.Condition != nil {
			if n.Condition.On != nil {
				s += " ON " + t.expr(n.Condition.On)
			} else if len(n.Condition.Using) > 0 {
				s += " USING (" + identList(n.Condition.Using) + ")"
			}
		}
		return s
	case *sqlparser.ParenTableExpr:
		return "(" + t.tableExprs(n.Exprs) + ")"
	}
	t.fail(notSupported("JSON_TABLE and similar table functions are not supported"))
	return "(SELECT NULL)"
}

func (t *tx) unionStr(u *sqlparser.Union, top bool) string {
	var b strings.Builder
	b.WriteString(t.with(u.With))
	b.WriteString(t.unionMember(u.Left, false, top))
	if u.Distinct {
		b.WriteString(" UNION ")
	} else {
		b.WriteString(" UNION ALL ")
	}
	b.WriteString(t.unionMember(u.Right, true, false))
	b.WriteString(t.orderBy(u.OrderBy))
	b.WriteString(t.limit(u.Limit))
	if u.Into != nil {
		t.fail(notSupported("SELECT ... INTO is not supported"))
	}
	return b.String()
}

// unionMember renders one operand of a compound select. SQLite forbids
// parentheses, ORDER BY and LIMIT on operands, so such operands become subqueries.
// top is true for the leftmost operand of a top-level compound select (it
// names the result columns).
func (t *tx) unionMember(ts sqlparser.TableStatement, right, top bool) string {
	switch n := ts.(type) {
	case *sqlparser.Select:
		if len(n.OrderBy) > 0 || n.Limit != nil || n.With != nil {
			return "SELECT * FROM (" + t.selectStr(n, top) + ")"
		}
		return t.selectStr(n, top)
	case *sqlparser.Union:
		if right || len(n.OrderBy) > 0 || n.Limit != nil || n.With != nil {
			return "SELECT * FROM (" + t.unionStr(n, top) + ")"
		}
		return t.unionStr(n, top)
	}
	return "SELECT * FROM (" + t.tableStmt(ts) + ")"
}

func (t *tx) orderBy(ob sqlparser.OrderBy) string {
	if len(ob) == 0 {
		return ""
	}
	parts := make([]string, len(ob))
	for i, o := range ob {
		parts[i] = t.order(o)
	}
	return " ORDER BY " + strings.Join(parts, ", ")
}

func (t *tx) order(o *sqlparser.Order) string {
	s := t.expr(o.Expr)
	if o.Direction == sqlparser.DescOrder {
		s += " DESC"
	}
	return s
}

func argNum(e sqlparser.Expr) int {
	if a, ok := e.(*sqlparser.Argument); ok {
		if n, err := strconv.Atoi(strings.TrimPrefix(a.Name, "v")); err == nil {
			return n
		}
	}
	return 0
}

// limit renders LIMIT keeping placeholders in source order: "LIMIT n OFFSET o",
// or "LIMIT o, n" when the offset placeholder came first.
func (t *tx) limit(l *sqlparser.Limit) string {
	if l == nil || l.Rowcount == nil && l.Offset == nil {
		return ""
	}
	if l.Rowcount == nil {
		return " LIMIT -1 OFFSET " + t.expr(l.Offset)
	}
	if l.Offset == nil {
		return " LIMIT " + t.expr(l.Rowcount)
	}
	if rc, off := argNum(l.Rowcount), argNum(l.Offset); rc > 0 && off > 0 && off < rc {
		offs := t.expr(l.Offset)
		return " LIMIT " + offs + ", " + t.expr(l.Rowcount)
	}
	rcs := t.expr(l.Rowcount)
	return " LIMIT " + rcs + " OFFSET " + t.expr(l.Offset)
}
