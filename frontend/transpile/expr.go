package transpile

import (
	"encoding/hex"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"vitess.io/vitess/go/vt/sqlparser"
)

// qid quotes an identifier with double quotes (tables, column definitions,
// column lists, aliases, index names).
func qid(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// colRef quotes a column reference inside an expression with backticks:
// SQLite never reinterprets a backtick-quoted name as a string literal (it does
// for an unknown double-quoted name), so a misspelt column is an error as in MySQL.
func colRef(name string) string {
	return "`" + strings.ReplaceAll(name, "`", "``") + "`"
}

// sqlStr renders s as a SQLite literal: 'text' with ” doubling, X'..' for
// bytes that are not valid UTF-8, CAST(X'..' AS TEXT) for text holding NUL.
func sqlStr(s string) string {
	if !utf8.ValidString(s) {
		return "X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "'"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "CAST(X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "' AS TEXT)"
	}
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func blobLit(b []byte) string {
	return "X'" + strings.ToUpper(hex.EncodeToString(b)) + "'"
}

// SQLite operator precedence levels used to decide parentheses.
const (
	precOr    = 1
	precAnd   = 2
	precNot   = 3
	precEq    = 4 // = <> IS IN LIKE REGEXP BETWEEN
	precRel   = 5 // < > <= >=
	precBit   = 7 // & | << >>
	precAdd   = 8
	precMul   = 9
	precUnary = 11
	precColl  = 12
	precAtom  = 100
)

func (t *tx) prec(e sqlparser.Expr) int {
	switch n := e.(type) {
	case *sqlparser.OrExpr:
		return precOr
	case *sqlparser.AndExpr:
		return precAnd
	case *sqlparser.NotExpr:
		return precNot
	case *sqlparser.ComparisonExpr:
		switch n.Operator {
		case sqlparser.LessThanOp, sqlparser.GreaterThanOp, sqlparser.LessEqualOp, sqlparser.GreaterEqualOp:
			if n.Modifier == sqlparser.Missing {
				return precRel
			}
		}
		return precEq
	case *sqlparser.IsExpr, *sqlparser.BetweenExpr, *sqlparser.MemberOfExpr:
		return precEq
	case *sqlparser.BinaryExpr:
		switch n.Operator {
		case sqlparser.BitAndOp, sqlparser.BitOrOp, sqlparser.ShiftLeftOp, sqlparser.ShiftRightOp:
			return precBit
		case sqlparser.PlusOp, sqlparser.MinusOp:
			return precAdd
		case sqlparser.MultOp, sqlparser.DivOp, sqlparser.ModOp:
			return precMul
		}
		return precAtom
	case *sqlparser.UnaryExpr:
		switch n.Operator {
		case sqlparser.UMinusOp, sqlparser.TildaOp:
			return precUnary
		case sqlparser.UPlusOp, sqlparser.NStringOp:
			return t.prec(n.Expr)
		}
		return precAtom
	case *sqlparser.CollateExpr:
		if collateKept(n.Collation) || collateCI(n.Collation) {
			return precColl
		}
		return t.prec(n.Expr)
	case *sqlparser.IntroducerExpr:
		return t.prec(n.Expr)
	case *sqlparser.ConvertUsingExpr:
		return t.prec(n.Expr)
	case *sqlparser.ConvertExpr:
		if strings.EqualFold(strings.TrimSpace(n.Type.Type), "binary") && n.Type.Length == nil {
			return t.prec(n.Expr) // BINARY x → x
		}
	case *sqlparser.IntervalDateExpr:
		return precAtom
	}
	return precAtom
}

// sub renders child of an operator with precedence parent, adding parentheses
// when needed. right is true for the right operand of a left-associative operator.
func (t *tx) sub(parent int, child sqlparser.Expr, right bool) string {
	s := t.expr(child)
	cp := t.prec(child)
	if cp < parent || (cp == parent && right) {
		return "(" + s + ")"
	}
	return s
}

func (t *tx) exprs(list []sqlparser.Expr) string {
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = t.expr(e)
	}
	return strings.Join(parts, ", ")
}

// expr renders a MySQL expression as SQLite text.
func (t *tx) expr(e sqlparser.Expr) string {
	switch n := e.(type) {
	case nil:
		return "NULL"
	case *sqlparser.Literal:
		return t.literal(n)
	case *sqlparser.Argument:
		return t.arg(n.Name)
	case *sqlparser.NullVal:
		return "NULL"
	case sqlparser.BoolVal:
		if n {
			return "TRUE"
		}
		return "FALSE"
	case *sqlparser.ColName:
		return t.colName(n)
	case sqlparser.ValTuple:
		return "(" + t.exprs(n) + ")"
	case *sqlparser.Subquery:
		return "(" + t.tableStmt(n.Select) + ")"
	case sqlparser.ListArg:
		t.fail(syntaxError("list arguments are not MySQL syntax", string(n)))
		return "NULL"
	case *sqlparser.AndExpr:
		return t.sub(precAnd, n.Left, false) + " AND " + t.sub(precAnd, n.Right, false)
	case *sqlparser.OrExpr:
		return t.sub(precOr, n.Left, false) + " OR " + t.sub(precOr, n.Right, false)
	case *sqlparser.XorExpr:
		// MySQL XOR: NULL if either side is NULL, else true iff exactly one side is true.
		return "((NOT " + t.sub(precNot, n.Left, false) + ") <> (NOT " + t.sub(precNot, n.Right, false) + "))"
	case *sqlparser.NotExpr:
		return "NOT " + t.sub(precNot, n.Expr, false)
	case *sqlparser.ComparisonExpr:
		return t.comparison(n)
	case *sqlparser.BetweenExpr:
		op := " BETWEEN "
		if !n.IsBetween {
			op = " NOT BETWEEN "
		}
		return t.sub(precEq, n.Left, false) + op + t.sub(precEq, n.From, true) + " AND " + t.sub(precEq, n.To, true)
	case *sqlparser.IsExpr:
		ops := map[sqlparser.IsExprOperator]string{
			sqlparser.IsNullOp: " IS NULL", sqlparser.IsNotNullOp: " IS NOT NULL",
			sqlparser.IsTrueOp: " IS TRUE", sqlparser.IsNotTrueOp: " IS NOT TRUE",
			sqlparser.IsFalseOp: " IS FALSE", sqlparser.IsNotFalseOp: " IS NOT FALSE",
		}
		return t.sub(precEq, n.Left, false) + ops[n.Right]
	case *sqlparser.ExistsExpr:
		return "EXISTS (" + t.tableStmt(n.Subquery.Select) + ")"
	case *sqlparser.BinaryExpr:
		return t.binary(n)
	case *sqlparser.UnaryExpr:
		return t.unary(n)
	case *sqlparser.IntroducerExpr:
		if strings.EqualFold(strings.TrimPrefix(n.CharacterSet, "_"), "binary") {
			if lit, ok := n.Expr.(*sqlparser.Literal); ok && lit.Type == sqlparser.StrVal {
				return blobLit([]byte(lit.Val))
			}
		}
		return t.expr(n.Expr)
	case *sqlparser.CollateExpr:
		if collateKept(n.Collation) {
			return t.sub(precColl, n.Expr, false) + " COLLATE BINARY"
		}
		if collateCI(n.Collation) {
			return t.sub(precColl, n.Expr, false) + " COLLATE " + CICollation
		}
		return t.expr(n.Expr)
	case *sqlparser.FuncExpr:
		return t.funcExpr(n)
	case *sqlparser.CurTimeFuncExpr:
		return curTimeName(n.Name.Lowered()) + fspArg(n.Fsp)
	case *sqlparser.IntervalDateExpr:
		return t.intervalDate(n)
	case *sqlparser.ExtractFuncExpr:
		return t.extract(n)
	case *sqlparser.TimestampDiffExpr:
		return "timestampdiff(" + sqlStr(n.Unit.ToString()) + ", " + t.expr(n.Expr1) + ", " + t.expr(n.Expr2) + ")"
	case *sqlparser.TrimFuncExpr:
		return t.trim(n)
	case *sqlparser.SubstrExpr:
		s := "substr(" + t.expr(n.Name) + ", " + t.expr(n.From)
		if n.To != nil {
			s += ", " + t.expr(n.To)
		}
		return s + ")"
	case *sqlparser.LocateExpr:
		if n.Pos == nil {
			return "instr(" + t.expr(n.Str) + ", " + t.expr(n.SubStr) + ")"
		}
		return "locate(" + t.expr(n.SubStr) + ", " + t.expr(n.Str) + ", " + t.expr(n.Pos) + ")"
	case *sqlparser.CharExpr:
		return "char(" + t.exprs(n.Exprs) + ")"
	case *sqlparser.CastExpr:
		if n.Array {
			t.fail(notSupported("CAST ... ARRAY is not supported"))
		}
		return t.cast(n.Expr, n.Type)
	case *sqlparser.ConvertExpr:
		return t.cast(n.Expr, n.Type)
	case *sqlparser.ConvertUsingExpr:
		return t.expr(n.Expr)
	case *sqlparser.GroupConcatExpr:
		return t.groupConcat(n)
	case *sqlparser.ValuesFuncExpr:
		if t.inOnDup {
			return "excluded." + colRef(n.Name.Name.String())
		}
		return "NULL"
	case *sqlparser.Variable:
		name := strings.ToLower(n.Name.String())
		if n.Scope == sqlparser.VariableScope {
			return "marmot_uservar(" + sqlStr(name) + ")"
		}
		return "marmot_sysvar(" + sqlStr(name) + ")"
	case *sqlparser.Default:
		t.fail(notSupported("DEFAULT is only supported as a VALUES item of INSERT"))
		return "NULL"
	case *sqlparser.MatchExpr:
		t.fail(notSupported("FULLTEXT search (MATCH ... AGAINST) is not supported"))
		return "NULL"
	case *sqlparser.AssignmentExpr:
		t.fail(notSupported("assigning user variables inside expressions (@var := expr) is not supported"))
		return "NULL"
	case *sqlparser.CaseExpr:
		var b strings.Builder
		b.WriteString("CASE")
		if n.Expr != nil {
			b.WriteString(" " + t.expr(n.Expr))
		}
		for _, w := range n.Whens {
			b.WriteString(" WHEN " + t.expr(w.Cond) + " THEN " + t.expr(w.Val))
		}
		if n.Else != nil {
			b.WriteString(" ELSE " + t.expr(n.Else))
		}
		b.WriteString(" END")
		return b.String()
	case *sqlparser.JSONExtractExpr:
		if len(n.PathList) == 1 {
			// SQLite's -> returns JSON text like MySQL's JSON_EXTRACT.
			return "(" + t.expr(n.JSONDoc) + " -> " + t.expr(n.PathList[0]) + ")"
		}
		return "json_extract(" + t.expr(n.JSONDoc) + ", " + t.exprs(n.PathList) + ")"
	case *sqlparser.JSONUnquoteExpr:
		if je, ok := n.JSONValue.(*sqlparser.JSONExtractExpr); ok && len(je.PathList) == 1 {
			return "(" + t.expr(je.JSONDoc) + " ->> " + t.expr(je.PathList[0]) + ")"
		}
		return "json_unquote(" + t.expr(n.JSONValue) + ")"
	case *sqlparser.RegexpLikeExpr:
		if n.MatchType == nil {
			return t.sub(precEq, n.Expr, false) + " REGEXP " + t.sub(precEq, n.Pattern, true)
		}
		return "regexp_like(" + t.expr(n.Expr) + ", " + t.expr(n.Pattern) + ", " + t.expr(n.MatchType) + ")"
	case *sqlparser.AnyValue:
		return t.expr(n.Arg)
	case *sqlparser.InsertExpr:
		return `"insert"(` + t.expr(n.Str) + ", " + t.expr(n.Pos) + ", " + t.expr(n.Len) + ", " + t.expr(n.NewStr) + ")"
	case *sqlparser.MemberOfExpr:
		t.fail(notSupported("MEMBER OF is not supported"))
		return "NULL"
	case *sqlparser.Offset:
		return t.expr(n.Original)
	}
	return t.fallback(e)
}

// fallback renders a node with vitess's own formatter; its children come back
// through t.formatNode, so they are translated too.
func (t *tx) fallback(node sqlparser.SQLNode) string {
	b := sqlparser.NewTrackedBuffer(t.formatNode)
	node.Format(b)
	return b.String()
}

// formatNode is the sqlparser.NodeFormatter used for vitess fallbacks.
func (t *tx) formatNode(b *sqlparser.TrackedBuffer, node sqlparser.SQLNode) {
	switch n := node.(type) {
	case sqlparser.Expr:
		b.WriteString(t.expr(n))
	case sqlparser.IdentifierCI:
		b.WriteString(qid(n.String()))
	case sqlparser.IdentifierCS:
		b.WriteString(qid(n.String()))
	case sqlparser.TableName:
		b.WriteString(t.tableRef(n))
	case *sqlparser.ParsedComments:
	case sqlparser.TableStatement:
		b.WriteString(t.tableStmt(n))
	case sqlparser.OrderBy:
		b.WriteString(t.orderBy(n))
	case *sqlparser.Order:
		b.WriteString(t.order(n))
	case *sqlparser.Limit:
		b.WriteString(t.limit(n))
	case *sqlparser.Where:
		if n != nil && n.Expr != nil {
			kw := " WHERE "
			if n.Type == sqlparser.HavingClause {
				kw = " HAVING "
			}
			b.WriteString(kw + t.expr(n.Expr))
		}
	default:
		node.Format(b)
	}
}

func collateKept(c string) bool {
	c = strings.ToLower(strings.Trim(c, "'\"`"))
	return c == "binary" || strings.HasSuffix(c, "_bin")
}

// collateCI reports whether c is a case-insensitive MySQL collation
// (utf8mb4_general_ci, utf8mb4_unicode_ci, utf8mb4_0900_ai_ci, ...): it
// becomes CICollation.
func collateCI(c string) bool {
	return strings.HasSuffix(strings.ToLower(strings.Trim(c, "'\"`")), "_ci")
}

func (t *tx) literal(n *sqlparser.Literal) string {
	switch n.Type {
	case sqlparser.StrVal:
		return sqlStr(n.Val)
	case sqlparser.IntVal, sqlparser.DecimalVal:
		return n.Val
	case sqlparser.FloatVal:
		if strings.HasSuffix(n.Val, "e") || strings.HasSuffix(n.Val, "E") ||
			strings.HasSuffix(n.Val, "+") || strings.HasSuffix(n.Val, "-") {
			return n.Val + "0" // "1e" → "1e0": SQLite needs exponent digits
		}
		return n.Val
	case sqlparser.HexNum: // 0x...
		digits := n.Val[2:]
		if t.hexAsBlob || len(digits) > 15 || len(digits) == 0 {
			if len(digits)%2 == 1 {
				digits = "0" + digits
			}
			return "X'" + strings.ToUpper(digits) + "'"
		}
		return "0x" + strings.ToUpper(digits)
	case sqlparser.HexVal: // X'...'
		return "X'" + strings.ToUpper(n.Val) + "'"
	case sqlparser.BitNum: // 0b... / b'...'
		v, ok := new(big.Int).SetString(strings.TrimPrefix(strings.TrimPrefix(n.Val, "0b"), "0B"), 2)
		if !ok {
			t.fail(syntaxError("bad bit literal", n.Val))
			return "0"
		}
		if v.BitLen() > 63 {
			return blobLit(v.Bytes())
		}
		return v.String()
	case sqlparser.DateVal, sqlparser.TimeVal, sqlparser.TimestampVal:
		return sqlStr(n.Val)
	}
	return sqlStr(n.Val)
}

// arg renders a '?' placeholder. vitess names them v1, v2, ... in source order.
func (t *tx) arg(name string) string {
	num, err := strconv.Atoi(strings.TrimPrefix(name, "v"))
	if !strings.HasPrefix(name, "v") || err != nil || num <= 0 {
		t.fail(syntaxError("named parameters are not MySQL syntax", ":"+name))
		return "NULL"
	}
	t.argSeq = append(t.argSeq, num)
	if t.numbered {
		return "?" + strconv.Itoa(num)
	}
	return "?"
}

func (t *tx) colName(n *sqlparser.ColName) string {
	name := n.Name.String()
	if n.Qualifier.IsEmpty() {
		return colRef(name)
	}
	if db := n.Qualifier.Qualifier.String(); db != "" {
		t.noteDB(db)
	}
	q := n.Qualifier.Name.String()
	if t.rowAlias != "" && strings.EqualFold(q, t.rowAlias) {
		return "excluded." + colRef(name)
	}
	return colRef(q) + "." + colRef(name)
}

func (t *tx) comparison(n *sqlparser.ComparisonExpr) string {
	op := ""
	switch n.Operator {
	case sqlparser.EqualOp:
		op = "="
	case sqlparser.LessThanOp:
		op = "<"
	case sqlparser.GreaterThanOp:
		op = ">"
	case sqlparser.LessEqualOp:
		op = "<="
	case sqlparser.GreaterEqualOp:
		op = ">="
	case sqlparser.NotEqualOp:
		op = "<>"
	case sqlparser.NullSafeEqualOp:
		op = "IS"
	case sqlparser.InOp:
		op = "IN"
	case sqlparser.NotInOp:
		op = "NOT IN"
	case sqlparser.LikeOp:
		op = "LIKE"
	case sqlparser.NotLikeOp:
		op = "NOT LIKE"
	case sqlparser.RegexpOp:
		op = "REGEXP"
	case sqlparser.NotRegexpOp:
		op = "NOT REGEXP"
	}
	if n.Modifier != sqlparser.Missing {
		switch {
		case n.Modifier == sqlparser.Any && n.Operator == sqlparser.EqualOp:
			op = "IN"
		case n.Modifier == sqlparser.All && n.Operator == sqlparser.NotEqualOp:
			op = "NOT IN"
		default:
			t.fail(notSupported("comparison with ANY/ALL other than = ANY and <> ALL is not supported"))
		}
	}
	p := precEq
	if op == "<" || op == ">" || op == "<=" || op == ">=" {
		p = precRel
	}
	left := t.sub(p, n.Left, false)
	binLike := (op == "LIKE" || op == "NOT LIKE") && t.binaryLike(n)
	if binLike {
		// like() matches bytes when an operand is a BLOB: MySQL's LIKE
		// on a _bin or binary column is case-sensitive.
		left = "CAST(" + t.sub(precColl, n.Left, false) + " AS BLOB)"
	}
	var right string
	if op == "IN" || op == "NOT IN" {
		right = t.inList(n.Left, n.Right)
	} else if literalComparison(op, n.Left, n.Right) {
		// MySQL compares strings with the connection's collation
		// (utf8mb4_general_ci); SQLite would compare bytes where no
		// column brings its collation: 'é' = 'E' is true.
		right = t.sub(precColl, n.Right, false) + " COLLATE " + CICollation
	} else {
		right = t.sub(p, n.Right, true)
	}
	s := left + " " + op + " " + right
	if op == "LIKE" || op == "NOT LIKE" {
		if n.Escape != nil {
			s += " ESCAPE " + t.sub(p, n.Escape, true)
		} else if needsLikeEscape(n.Right) {
			// MySQL's default LIKE escape character is '\'; SQLite has none.
			s += ` ESCAPE '\'`
		}
		if op == "LIKE" && !binLike {
			if lo, hi, ok := t.likeRange(n); ok {
				return "(" + s + " AND " + left + " >= " + lo + " COLLATE " + CICollation + " AND " + left + " < " + hi + " COLLATE " + CICollation + ")"
			}
		}
	}
	return s
}

// binaryLike reports whether a LIKE compares bytes in MySQL: its value is
// a column declared BINARY, VARBINARY, BLOB, CHARACTER SET binary or with
// a _bin collation, or either side carries COLLATE x_bin. Columns of
// tables made by versions that declared them COLLATE NOCASE stay
// case-insensitive (SHOW CREATE TABLE reports them as _general_ci).
func (t *tx) binaryLike(n *sqlparser.ComparisonExpr) bool {
	for _, e := range []sqlparser.Expr{n.Left, n.Right} {
		if c, ok := e.(*sqlparser.CollateExpr); ok && collateKept(c.Collation) {
			return true
		}
	}
	col, isCol := n.Left.(*sqlparser.ColName)
	if !isCol || t.scope == nil {
		return false
	}
	st, name, found := t.scope.column(col)
	if !found || st.table == "" || st.derived != nil {
		return false
	}
	cd := st.defs[strings.ToLower(name)]
	if cd == nil {
		if st.decls != nil {
			// A column whose declared type is not a string or binary
			// type (INT, DATE, ...) needs no definition.
			if d := strings.ToUpper(st.decls[strings.ToLower(name)]); !strings.Contains(d, "CHAR") && !strings.Contains(d, "TEXT") && !strings.Contains(d, "BLOB") && !strings.Contains(d, "BINARY") {
				return false
			}
		}
		ct, ok := t.schema.tableDef(st.db, st.table)
		if !ok || ct.TableSpec == nil {
			return false
		}
		for _, c := range ct.TableSpec.Columns {
			if c.Name.EqualString(name) {
				cd = c
			}
		}
		if cd == nil {
			return false
		}
	}
	switch strings.ToUpper(cd.Type.Type) {
	case "BINARY", "VARBINARY", "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		return true
	}
	o := cd.Type.Options
	if o == nil {
		o = &sqlparser.ColumnTypeOptions{}
	}
	return isCharType(cd.Type) && !caseInsensitive(cd.Type, o)
}

// likeRange returns, for "col LIKE 'prefix...'" on a character column,
// string bounds that every matching value lies within under CICollation
// (the prefix, and the prefix up to its last ASCII character with that
// character's weight + 1). Added to the LIKE, they let SQLite search an
// index on the column instead of calling like() on every row: SQLite's
// own LIKE optimization does not apply to the like() function marmot
// registers. Weights of ASCII characters: letters weigh their upper case,
// the others themselves (MySQL's utf8mb4_general_ci).
func (t *tx) likeRange(n *sqlparser.ComparisonExpr) (lo, hi string, ok bool) {
	col, isCol := n.Left.(*sqlparser.ColName)
	if !isCol || t.scope == nil {
		return "", "", false
	}
	pat := n.Right
	if in, isIntro := pat.(*sqlparser.IntroducerExpr); isIntro && !strings.EqualFold(strings.TrimPrefix(in.CharacterSet, "_"), "binary") {
		pat = in.Expr
	}
	lit, isLit := pat.(*sqlparser.Literal)
	if !isLit || lit.Type != sqlparser.StrVal {
		return "", "", false
	}
	esc := '\\'
	if n.Escape != nil {
		e, isLit := n.Escape.(*sqlparser.Literal)
		if !isLit || e.Type != sqlparser.StrVal || utf8.RuneCountInString(e.Val) > 1 {
			return "", "", false
		}
		esc = -1
		if e.Val != "" {
			esc, _ = utf8.DecodeRuneInString(e.Val)
		}
	}
	var prefix []rune
	rs := []rune(lit.Val)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == esc && i+1 < len(rs) {
			i++
			prefix = append(prefix, rs[i])
			continue
		}
		if r == '%' || r == '_' {
			break
		}
		prefix = append(prefix, r)
	}
	last := -1 // the last ASCII character of the prefix with a next weight
	var next rune
	for i, r := range prefix {
		if r < 0x80 {
			if c, found := nextASCIIWeight(r); found {
				last, next = i, c
			}
		}
	}
	if last < 0 || strings.ContainsRune(string(prefix), 0) {
		return "", "", false
	}
	// a character column of a table (a derived table's column may hold
	// numbers, which no text range contains)
	if st, _, found := t.scope.column(col); !found || st.table == "" || st.derived != nil || st.colType(col.Name.String()).class != tString {
		return "", "", false
	}
	upper := append(append([]rune{}, prefix[:last]...), next)
	return sqlStr(string(prefix)), sqlStr(string(upper)), true
}

// asciiWeight is an ASCII character's utf8mb4_general_ci weight.
func asciiWeight(r rune) rune {
	if r >= 'a' && r <= 'z' {
		return r - 'a' + 'A'
	}
	return r
}

// nextASCIIWeight is the printable ASCII character whose weight is the
// smallest above r's; never the space, which the collation ignores at the
// end of a string (the bound would lose its last character).
func nextASCIIWeight(r rune) (rune, bool) {
	w := asciiWeight(r)
	best, found := rune(0), false
	for c := rune(0x21); c < 0x7F; c++ {
		if cw := asciiWeight(c); cw > w && (!found || cw < asciiWeight(best)) {
			best, found = c, true
		}
	}
	return best, found
}

// literalComparison reports whether a comparison of strings needs an
// explicit collation: a string literal (or placeholder) compared with something that brings
// no collation of its own in SQLite (not a column, which SQLite compares
// with the column's collation, nor a COLLATE, a subquery or a binary
// string). MySQL compares those with the connection's collation
// (utf8mb4_general_ci, or the column's for CONCAT(col, ...)); SQLite would
// compare bytes.
func literalComparison(op string, left, right sqlparser.Expr) bool {
	switch op {
	case "=", "<>", "<", ">", "<=", ">=", "IS":
	default:
		return false
	}
	binaryStr := func(e sqlparser.Expr) bool {
		switch n := e.(type) {
		case *sqlparser.IntroducerExpr:
			return strings.EqualFold(strings.TrimPrefix(n.CharacterSet, "_"), "binary")
		case *sqlparser.ConvertExpr:
			return strings.EqualFold(strings.TrimSpace(n.Type.Type), "binary")
		case *sqlparser.CastExpr:
			return strings.EqualFold(strings.TrimSpace(n.Type.Type), "binary")
		case *sqlparser.Literal:
			return n.Type == sqlparser.HexVal || n.Type == sqlparser.HexNum || n.Type == sqlparser.BitNum
		}
		return false
	}
	// A placeholder may be bound to a string (prepared statements, and
	// the values Parameterize lifts out of interpolated text): MySQL
	// compares it with the connection's collation too. A number bound
	// there compares numerically; SQLite then ignores the collation.
	strLit := func(e sqlparser.Expr) bool {
		if in, ok := e.(*sqlparser.IntroducerExpr); ok {
			e = in.Expr
		}
		if _, ok := e.(*sqlparser.Argument); ok {
			return true
		}
		l, ok := e.(*sqlparser.Literal)
		return ok && l.Type == sqlparser.StrVal
	}
	plain := func(e sqlparser.Expr) bool {
		switch e.(type) {
		case *sqlparser.ColName, *sqlparser.CollateExpr, *sqlparser.Subquery:
			return false
		}
		return !binaryStr(e)
	}
	return (strLit(left) || strLit(right)) && plain(left) && plain(right)
}

func needsLikeEscape(pattern sqlparser.Expr) bool {
	switch p := pattern.(type) {
	case *sqlparser.Literal:
		return p.Type == sqlparser.StrVal && strings.Contains(p.Val, `\`)
	case *sqlparser.NullVal:
		return false
	case *sqlparser.IntroducerExpr:
		return needsLikeEscape(p.Expr)
	case *sqlparser.CollateExpr:
		return needsLikeEscape(p.Expr)
	}
	return true
}

func (t *tx) inList(left, right sqlparser.Expr) string {
	switch r := right.(type) {
	case sqlparser.ValTuple:
		if _, isTuple := left.(sqlparser.ValTuple); isTuple {
			// (a, b) IN ((1, 2), (3, 4)) → (a, b) IN (VALUES (1, 2), (3, 4))
			rows := make([]string, len(r))
			for i, e := range r {
				rows[i] = t.expr(e)
				if _, ok := e.(sqlparser.ValTuple); !ok {
					rows[i] = "(" + rows[i] + ")"
				}
			}
			return "(VALUES " + strings.Join(rows, ", ") + ")"
		}
		return "(" + t.exprs(r) + ")"
	case *sqlparser.Subquery:
		return t.expr(r)
	}
	return "(" + t.expr(right) + ")"
}

func (t *tx) binary(n *sqlparser.BinaryExpr) string {
	switch n.Operator {
	case sqlparser.IntDivOp:
		return "CAST((" + t.expr(n.Left) + ") / (" + t.expr(n.Right) + ") AS INTEGER)"
	case sqlparser.BitXorOp:
		// rendered twice (not copied) so that placeholders are recorded twice
		// and the statement switches to numbered ?N placeholders
		or := "((" + t.expr(n.Left) + ") | (" + t.expr(n.Right) + "))"
		return or + " - ((" + t.expr(n.Left) + ") & (" + t.expr(n.Right) + "))"
	}
	p := t.prec(n)
	op := map[sqlparser.BinaryExprOperator]string{
		sqlparser.BitAndOp: "&", sqlparser.BitOrOp: "|", sqlparser.PlusOp: "+", sqlparser.MinusOp: "-",
		sqlparser.MultOp: "*", sqlparser.DivOp: "/", sqlparser.ModOp: "%",
		sqlparser.ShiftLeftOp: "<<", sqlparser.ShiftRightOp: ">>",
	}[n.Operator]
	left := t.sub(p, n.Left, false)
	if n.Operator == sqlparser.DivOp {
		// MySQL '/' never truncates; SQLite's does on two integers.
		left += " * 1.0"
	}
	return left + " " + op + " " + t.sub(p, n.Right, true)
}

func (t *tx) unary(n *sqlparser.UnaryExpr) string {
	switch n.Operator {
	case sqlparser.UMinusOp:
		s := t.sub(precUnary, n.Expr, false)
		if strings.HasPrefix(s, "-") {
			return "- " + s
		}
		return "-" + s
	case sqlparser.UPlusOp, sqlparser.NStringOp:
		return t.expr(n.Expr)
	case sqlparser.TildaOp:
		return "~" + t.sub(precUnary, n.Expr, false)
	case sqlparser.BangOp:
		return "(NOT " + t.sub(precNot, n.Expr, false) + ")"
	}
	return t.fallback(n)
}
