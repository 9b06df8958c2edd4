package transpile

import (
	"fmt"
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// Multi-table UPDATE and DELETE.
//
// MySQL selects the rows a multi-table statement changes from one
// evaluation of the join, before anything changes. SQLite statements
// change one table each, so:
//
//   - One target table: one SQLite statement whose row selection is an
//     uncorrelated subquery over the whole join, which SQLite evaluates
//     completely before it changes a row:
//     UPDATE t SET c = u.v0 FROM (SELECT a.rowid AS r, <expr> AS v0 FROM <join> WHERE ...) AS u WHERE t.rowid = u.r
//     DELETE FROM t WHERE rowid IN (SELECT a.rowid FROM <join> WHERE ... [UNION ALL SELECT b.rowid ...])
//   - Several target tables: the join is evaluated once into a temporary
//     table (the target rows' rowids and, for UPDATE, the new values, all
//     computed from the rows as they were), then one statement per target
//     table reads it, and the temporary table is dropped; Statement.Parts
//     lists the statements, which the executor runs in order in the
//     statement's transaction (a failure rolls all of them back, the
//     temporary table included).
//
// When a join matches one target row several times, one match is used, as
// in MySQL. The new values are all computed from the rows before the
// statement (MySQL leaves the order of assignments to several tables
// unspecified).

const (
	multiTemp     = "__marmot_multi"
	multiTempRef  = `"temp"."__marmot_multi"`
	multiRowAlias = "__marmot_u"
)

// multiTarget is one target of a multi-table statement.
type multiTarget struct {
	ref   string              // the alias or table name that names it in the join
	table sqlparser.TableName // the base table
}

func (mt multiTarget) rowid() string { return colRef(mt.ref) + ".rowid" }

// joinRefs maps each base-table reference of a join (alias, or name when
// it has none; lower case) to its table; derived tables are left out.
func joinRefs(list []sqlparser.TableExpr) map[string]sqlparser.TableName {
	m := map[string]sqlparser.TableName{}
	fromTables(list, m)
	return m
}

// multiUpdate translates UPDATE over several tables (a join or a comma list).
func (t *tx) multiUpdate(n *sqlparser.Update, st *translated) {
	st.Kind = Update
	if n.OrderBy != nil {
		t.fail(errf(ErrWrongUsage, "HY000", "Incorrect usage of UPDATE and ORDER BY"))
		return
	}
	if n.Limit != nil {
		t.fail(errf(ErrWrongUsage, "HY000", "Incorrect usage of UPDATE and LIMIT"))
		return
	}
	refs := joinRefs(n.TableExprs)
	t.scope = t.newScope(n.TableExprs, false)
	// the target of every assignment, in order of first use
	var targets []multiTarget
	byRef := map[string]int{}
	assign := make([]int, len(n.Exprs))
	for i, ue := range n.Exprs {
		if isDefault(ue.Expr) {
			t.fail(notSupported("UPDATE ... SET col = DEFAULT is not supported"))
			return
		}
		if q := ue.Name.Qualifier.Qualifier.String(); q != "" {
			t.noteDB(q)
		}
		ref, ok := t.updateTarget(ue.Name, n.TableExprs, refs)
		if !ok {
			return
		}
		k, seen := byRef[ref]
		if !seen {
			k = len(targets)
			byRef[ref] = k
			targets = append(targets, multiTarget{ref: ref, table: refs[ref]})
		}
		assign[i] = k
	}
	st.Table = targets[0].table.Name.String()
	verb := "UPDATE "
	if n.Ignore {
		verb = "UPDATE OR IGNORE "
	}
	where := ""
	if n.Where != nil && n.Where.Expr != nil {
		where = " WHERE " + t.expr(n.Where.Expr)
	}
	with := t.with(n.With)
	sets := func(k int) []string {
		var out []string
		for i, ue := range n.Exprs {
			if assign[i] == k {
				out = append(out, fmt.Sprintf("%s = %s.%s", qid(ue.Name.Name.String()), colRef(multiRowAlias), colRef("v"+strconv.Itoa(i))))
			}
		}
		return out
	}
	// the joined rows: each target's rowid, then every new value
	var cols []string
	if len(targets) == 1 {
		cols = append(cols, targets[0].rowid()+` AS "r0"`)
	} else {
		for k, tg := range targets {
			cols = append(cols, tg.rowid()+` AS "r`+strconv.Itoa(k)+`"`)
		}
	}
	for i, ue := range n.Exprs {
		cols = append(cols, t.expr(ue.Expr)+` AS "v`+strconv.Itoa(i)+`"`)
	}
	sel := "SELECT " + strings.Join(cols, ", ") + " FROM " + t.tableExprs(n.TableExprs) + where
	update := func(k int, source string) string {
		tg := targets[k]
		tref := t.tableRef(tg.table)
		return verb + tref + " SET " + strings.Join(sets(k), ", ") + " FROM " + source + " AS " + colRef(multiRowAlias) +
			" WHERE " + tref + ".rowid = " + colRef(multiRowAlias) + "." + colRef("r"+strconv.Itoa(k))
	}
	if len(targets) == 1 {
		st.SQL = with + update(0, "("+sel+")")
		st.Database = t.checkDBs()
		return
	}
	if t.inTrigger {
		t.fail(notSupported("multi-table UPDATE of several tables is not supported in a trigger"))
		return
	}
	parts := []string{"CREATE TEMP TABLE " + qid(multiTemp) + " AS " + with + sel}
	for k := range targets {
		parts = append(parts, update(k, multiTempRef))
	}
	parts = append(parts, "DROP TABLE "+multiTempRef)
	st.Parts = parts
	st.SQL = strings.Join(parts, "; ")
	st.Database = t.checkDBs()
}

// updateTarget finds the table reference an assignment's column belongs to.
func (t *tx) updateTarget(col *sqlparser.ColName, list []sqlparser.TableExpr, refs map[string]sqlparser.TableName) (string, bool) {
	name := col.Name.String()
	if q := col.Qualifier.Name.String(); q != "" {
		ref := strings.ToLower(q)
		if _, ok := refs[ref]; !ok {
			if derivedRef(list, ref) {
				t.fail(errf(ErrNonUpdatable, "HY000", "The target table %s of the UPDATE is not updatable", q))
			} else {
				t.fail(errf(ErrBadField, "42S22", "Unknown column '%s.%s' in 'field list'", q, name))
			}
			return "", false
		}
		tn := refs[ref]
		db := tn.Qualifier.String()
		if db == "" {
			db = t.sessDB
		}
		if cols, ok, known := t.schema.columns(db, tn.Name.String()); known && ok && cols != nil && indexFold(cols, name) < 0 {
			t.fail(errf(ErrBadField, "42S22", "Unknown column '%s.%s' in 'field list'", q, name))
			return "", false
		}
		return ref, true
	}
	var found []string
	unknown := false
	for ref, tn := range refs {
		db := tn.Qualifier.String()
		if db == "" {
			db = t.sessDB
		}
		cols, ok, known := t.schema.columns(db, tn.Name.String())
		if !known || (ok && cols == nil) {
			unknown = true
			continue
		}
		if indexFold(cols, name) >= 0 {
			found = append(found, ref)
		}
	}
	switch {
	case len(found) == 1 && !unknown:
		return found[0], true
	case len(found) > 1:
		t.fail(errf(ErrNonUniq, "23000", "Column '%s' in field list is ambiguous", name))
	case unknown:
		t.fail(notSupported("multi-table UPDATE: qualify column '%s' with its table", name))
	default:
		t.fail(errf(ErrBadField, "42S22", "Unknown column '%s' in 'field list'", name))
	}
	return "", false
}

// derivedRef reports whether ref names a derived table of the join.
func derivedRef(list []sqlparser.TableExpr, ref string) bool {
	found := false
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		if a, ok := node.(*sqlparser.AliasedTableExpr); ok {
			if _, isDerived := a.Expr.(*sqlparser.DerivedTable); isDerived && strings.EqualFold(a.As.String(), ref) {
				found = true
			}
			return false, nil
		}
		return true, nil
	}, sqlparser.TableExprs(list))
	return found
}

// multiDelete translates MySQL's multi-table DELETE (DELETE a, b FROM t a
// JOIN u b ON ...; DELETE FROM a, b USING ...). Targets in one table are
// one DELETE over the rowids the join selected; targets in several tables
// go through the temporary table (see above).
func (t *tx) multiDelete(n *sqlparser.Delete, st *translated) {
	if n.OrderBy != nil || n.Limit != nil {
		t.fail(notSupported("ORDER BY and LIMIT are not allowed in a multi-table DELETE"))
		return
	}
	refs := joinRefs(n.TableExprs)
	t.scope = t.newScope(n.TableExprs, false)
	var targets []multiTarget
	var tables []string         // distinct target tables, in order
	group := map[string][]int{} // table → its targets
	for _, target := range n.Targets {
		ref := strings.ToLower(target.Name.String())
		tn, ok := refs[ref]
		if !ok {
			// DELETE db.t FROM db.t ...: the reference may carry the database
			t.fail(&Error{Code: 1109, State: "42S02", Message: fmt.Sprintf("Unknown table '%s' in MULTI DELETE", target.Name.String())})
			return
		}
		key := strings.ToLower(t.tableRef(tn))
		if _, seen := group[key]; !seen {
			tables = append(tables, key)
		}
		group[key] = append(group[key], len(targets))
		targets = append(targets, multiTarget{ref: target.Name.String(), table: tn})
	}
	st.Kind = Delete
	st.Table = targets[0].table.Name.String()
	with := t.with(n.With)
	from := t.tableExprs(n.TableExprs)
	where := ""
	if n.Where != nil && n.Where.Expr != nil {
		where = " WHERE " + t.expr(n.Where.Expr)
	}
	if len(tables) == 1 {
		sel := make([]string, len(targets))
		for i, tg := range targets {
			sel[i] = "SELECT " + tg.rowid() + " FROM " + from + where
		}
		st.SQL = with + "DELETE FROM " + t.tableRef(targets[0].table) + " WHERE rowid IN (" + strings.Join(sel, " UNION ALL ") + ")"
		st.Database = t.checkDBs()
		return
	}
	if t.inTrigger {
		t.fail(notSupported("multi-table DELETE from several tables is not supported in a trigger"))
		return
	}
	cols := make([]string, len(targets))
	for i, tg := range targets {
		cols[i] = tg.rowid() + ` AS "r` + strconv.Itoa(i) + `"`
	}
	parts := []string{"CREATE TEMP TABLE " + qid(multiTemp) + " AS " + with + "SELECT " + strings.Join(cols, ", ") + " FROM " + from + where}
	for _, key := range tables {
		var sel []string
		for _, i := range group[key] {
			sel = append(sel, `SELECT "r`+strconv.Itoa(i)+`" FROM `+multiTempRef)
		}
		parts = append(parts, "DELETE FROM "+t.tableRef(targets[group[key][0]].table)+" WHERE rowid IN ("+strings.Join(sel, " UNION ALL ")+")")
	}
	parts = append(parts, "DROP TABLE "+multiTempRef)
	st.Parts = parts
	st.SQL = strings.Join(parts, "; ")
	st.Database = t.checkDBs()
}
