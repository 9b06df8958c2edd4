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
		if collateKept(n.Collation) {
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
	var right string
	if op == "IN" || op == "NOT IN" {
		right = t.inList(n.Left, n.Right)
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
	}
	return s
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
		l, r := t.expr(n.Left), t.expr(n.Right)
		return "((" + l + ") | (" + r + ")) - ((" + l + ") & (" + r + "))"
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

func fspArg(fsp int) string {
	if fsp > 0 {
		return "(" + strconv.Itoa(fsp) + ")"
	}
	return "()"
}

func curTimeName(name string) string {
	switch name {
	case "current_timestamp", "localtime", "localtimestamp", "now":
		return "now"
	case "current_date", "curdate":
		return "curdate"
	case "current_time", "curtime":
		return "curtime"
	}
	return name
}

// sqliteKeywordFuncs are MySQL function names that are keywords in SQLite and
// must be quoted to be called.
var sqliteKeywordFuncs = map[string]bool{"left": true, "right": true, "insert": true, "if": true, "values": true}

// plainIdent reports whether name can be written unquoted in SQLite.
func plainIdent(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '$') {
			continue
		}
		return false
	}
	return name != ""
}

func (t *tx) funcExpr(n *sqlparser.FuncExpr) string {
	name := n.Name.Lowered()
	args := n.Exprs
	switch name {
	case "if":
		if len(args) == 3 {
			return "iif(" + t.exprs(args) + ")"
		}
	case "isnull":
		if len(args) == 1 {
			return "(" + t.sub(precEq, args[0], false) + " IS NULL)"
		}
	case "mod":
		if len(args) == 2 {
			return "(" + t.sub(precMul, args[0], false) + " % " + t.sub(precMul, args[1], true) + ")"
		}
	case "lcase":
		name = "lower"
	case "ucase":
		name = "upper"
	case "length", "octet_length":
		name = "octet_length" // MySQL LENGTH counts bytes
	case "char_length", "character_length":
		name = "length"
	case "greatest":
		if len(args) >= 2 {
			name = "max"
		}
	case "least":
		if len(args) >= 2 {
			name = "min"
		}
	case "schema":
		name = "database"
	case "current_user", "session_user", "system_user":
		name = "current_user"
	case "localtime", "localtimestamp", "current_timestamp", "current_date", "current_time":
		name = curTimeName(name)
	}
	fn := name
	if sqliteKeywordFuncs[name] || !plainIdent(name) {
		fn = qid(name)
	}
	return fn + "(" + t.exprs(args) + ")"
}

// intervalModifiers renders the SQLite date modifiers for "INTERVAL n unit";
// neg negates n (DATE_SUB).
func (t *tx) intervalModifiers(interval sqlparser.Expr, unit sqlparser.IntervalType, neg bool) []string {
	type part struct {
		name string
		mul  string
	}
	single := map[sqlparser.IntervalType]part{
		sqlparser.IntervalMicrosecond: {"seconds", "/1000000.0"},
		sqlparser.IntervalSecond:      {"seconds", ""},
		sqlparser.IntervalMinute:      {"minutes", ""},
		sqlparser.IntervalHour:        {"hours", ""},
		sqlparser.IntervalDay:         {"days", ""},
		sqlparser.IntervalNone:        {"days", ""}, // ADDDATE(d, n)
		sqlparser.IntervalWeek:        {"days", "*7"},
		sqlparser.IntervalMonth:       {"months", ""},
		sqlparser.IntervalQuarter:     {"months", "*3"},
		sqlparser.IntervalYear:        {"years", ""},
	}
	if p, ok := single[unit]; ok {
		if lit := numericLiteral(interval); lit != "" {
			f, err := strconv.ParseFloat(lit, 64)
			if err == nil {
				switch p.mul {
				case "*7":
					f *= 7
				case "*3":
					f *= 3
				case "/1000000.0":
					f /= 1e6
				}
				if neg {
					f = -f
				}
				return []string{sqlStr(modifier(f, p.name))}
			}
		}
		v := "(" + t.expr(interval) + ")"
		if p.mul != "" {
			v = "(" + v + p.mul + ")"
		}
		if neg {
			v = "(-" + v + ")"
		}
		return []string{v + " || ' " + p.name + "'"}
	}
	// compound units ('1:30' HOUR_MINUTE, '1 2' DAY_HOUR, ...): literal values only
	lit, ok := interval.(*sqlparser.Literal)
	if !ok || lit.Type != sqlparser.StrVal {
		t.fail(notSupported("INTERVAL with unit %s needs a literal value", strings.ToUpper(unit.ToString())))
		return []string{"'+0 days'"}
	}
	names := []struct {
		bit  sqlparser.IntervalType
		name string
	}{
		{sqlparser.IntervalYear, "years"}, {sqlparser.IntervalMonth, "months"}, {sqlparser.IntervalDay, "days"},
		{sqlparser.IntervalHour, "hours"}, {sqlparser.IntervalMinute, "minutes"}, {sqlparser.IntervalSecond, "seconds"},
		{sqlparser.IntervalMicrosecond, "micro"},
	}
	var units []string
	for _, nm := range names {
		if unit&nm.bit != 0 {
			units = append(units, nm.name)
		}
	}
	s := strings.TrimSpace(lit.Val)
	sign := 1.0
	if strings.HasPrefix(s, "-") {
		sign = -1
		s = s[1:]
	}
	if neg {
		sign = -sign
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if len(fields) == 0 || len(fields) > len(units) {
		t.fail(notSupported("cannot interpret INTERVAL '%s' %s", lit.Val, strings.ToUpper(unit.ToString())))
		return []string{"'+0 days'"}
	}
	// missing leading fields are zero (MySQL aligns values to the right)
	units = units[len(units)-len(fields):]
	var mods []string
	for i, f := range fields {
		v, _ := strconv.ParseFloat(f, 64)
		name := units[i]
		if name == "micro" {
			v /= 1e6
			name = "seconds"
		}
		mods = append(mods, sqlStr(modifier(sign*v, name)))
	}
	return mods
}

// modifier renders a SQLite date modifier such as '+1 days' (no exponent notation).
func modifier(v float64, unit string) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s + " " + unit
}

func numericLiteral(e sqlparser.Expr) string {
	switch n := e.(type) {
	case *sqlparser.Literal:
		switch n.Type {
		case sqlparser.IntVal, sqlparser.FloatVal, sqlparser.DecimalVal:
			return n.Val
		case sqlparser.StrVal:
			if _, err := strconv.ParseFloat(strings.TrimSpace(n.Val), 64); err == nil {
				return strings.TrimSpace(n.Val)
			}
		}
	case *sqlparser.UnaryExpr:
		if n.Operator == sqlparser.UMinusOp {
			if v := numericLiteral(n.Expr); v != "" {
				if strings.HasPrefix(v, "-") {
					return v[1:]
				}
				return "-" + v
			}
		}
	}
	return ""
}

// intervalDate translates DATE_ADD/DATE_SUB/ADDDATE/SUBDATE/TIMESTAMPADD and
// "d ± INTERVAL n unit" into SQLite's datetime(d, '+n unit') (date(...) when d
// is a date-only literal or CURDATE() and the unit has no time part).
func (t *tx) intervalDate(n *sqlparser.IntervalDateExpr) string {
	neg := false
	switch n.Syntax {
	case sqlparser.IntervalDateExprDateSub, sqlparser.IntervalDateExprSubdate, sqlparser.IntervalDateExprBinarySub:
		neg = true
	}
	date := t.expr(n.Date)
	mods := t.intervalModifiers(n.Interval, n.Unit, neg)
	fn := "datetime"
	if !n.Unit.HasTimeParts() && isDateOnly(n.Date) {
		fn = "date"
	}
	return fn + "(" + date + ", " + strings.Join(mods, ", ") + ")"
}

func isDateOnly(e sqlparser.Expr) bool {
	switch n := e.(type) {
	case *sqlparser.Literal:
		if n.Type == sqlparser.DateVal {
			return true
		}
		if n.Type == sqlparser.StrVal {
			s := n.Val
			return len(s) == 10 && s[4] == '-' && s[7] == '-'
		}
	case *sqlparser.CurTimeFuncExpr:
		return curTimeName(n.Name.Lowered()) == "curdate" || n.Name.Lowered() == "utc_date"
	}
	return false
}

func (t *tx) extract(n *sqlparser.ExtractFuncExpr) string {
	unit := strings.ToLower(n.IntervalType.ToString())
	switch unit {
	case "year", "month", "day", "hour", "minute", "second", "microsecond", "quarter", "week":
		return unit + "(" + t.expr(n.Expr) + ")"
	}
	return "extract(" + sqlStr(unit) + ", " + t.expr(n.Expr) + ")"
}

func (t *tx) trim(n *sqlparser.TrimFuncExpr) string {
	fn := "trim"
	switch {
	case n.TrimFuncType == sqlparser.LTrimType || n.Type == sqlparser.LeadingTrimType:
		fn = "ltrim"
	case n.TrimFuncType == sqlparser.RTrimType || n.Type == sqlparser.TrailingTrimType:
		fn = "rtrim"
	}
	s := fn + "(" + t.expr(n.StringArg)
	if n.TrimArg != nil {
		s += ", " + t.expr(n.TrimArg)
	}
	return s + ")"
}

// cast translates CAST(x AS type) / CONVERT(x, type).
func (t *tx) cast(e sqlparser.Expr, ct *sqlparser.ConvertType) string {
	typ := strings.ToLower(strings.Join(strings.Fields(ct.Type), " "))
	x := t.expr(e)
	switch {
	case strings.HasPrefix(typ, "signed"), strings.HasPrefix(typ, "unsigned"), typ == "integer", typ == "int", typ == "year":
		return "CAST(" + x + " AS INTEGER)"
	case typ == "char", typ == "nchar", typ == "varchar", strings.HasPrefix(typ, "char"):
		return "CAST(" + x + " AS TEXT)"
	case typ == "binary":
		if ct.Length == nil {
			return x // BINARY x: SQLite comparisons are already binary
		}
		return "CAST(" + x + " AS BLOB)"
	case typ == "decimal", typ == "numeric", typ == "dec", typ == "fixed":
		return "CAST(" + x + " AS NUMERIC)"
	case typ == "date":
		return "date(" + x + ")"
	case typ == "datetime", typ == "timestamp":
		return "datetime(" + x + ")"
	case typ == "time":
		return "time(" + x + ")"
	case typ == "double", typ == "float", typ == "real", typ == "double precision":
		return "CAST(" + x + " AS REAL)"
	case typ == "json":
		return "json(" + x + ")"
	}
	t.fail(notSupported("CAST to %s is not supported", strings.ToUpper(ct.Type)))
	return x
}

func (t *tx) groupConcat(n *sqlparser.GroupConcatExpr) string {
	if n.Limit != nil {
		t.fail(notSupported("GROUP_CONCAT ... LIMIT is not supported"))
	}
	var arg string
	if len(n.Exprs) == 1 {
		arg = t.expr(n.Exprs[0])
	} else {
		parts := make([]string, len(n.Exprs))
		for i, e := range n.Exprs {
			parts[i] = t.sub(precColl, e, false)
		}
		arg = "(" + strings.Join(parts, " || ") + ")"
	}
	sep := ","
	if n.Separator != "" {
		if v, _, ok := scanQuoted(n.Separator, 0); ok {
			sep = v
		} else {
			sep = n.Separator
		}
	}
	order := ""
	if len(n.OrderBy) > 0 {
		order = t.orderBy(n.OrderBy)
	}
	if n.Distinct {
		if sep != "," {
			t.fail(notSupported("GROUP_CONCAT(DISTINCT ... SEPARATOR) is not supported"))
		}
		return "group_concat(DISTINCT " + arg + order + ")"
	}
	return "group_concat(" + arg + ", " + sqlStr(sep) + order + ")"
}
