package transpile

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// MySQL function translation: renamed functions, date arithmetic, CAST,
// TRIM, EXTRACT and GROUP_CONCAT.

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

// sqliteKeywords are SQLite's keywords: a function with such a name must be
// called with its name quoted ("left"(...)). replace and database are
// keywords that SQLite also accepts as function names.
var sqliteKeywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`abort action add after all alter always analyze and as asc attach
		autoincrement before begin between by cascade case cast check collate column commit conflict
		constraint create cross current current_date current_time current_timestamp default deferrable
		deferred delete desc detach distinct do drop each else end escape except exclude exclusive exists
		explain fail filter first following for foreign from full generated glob group groups having if
		ignore immediate in index indexed initially inner insert instead intersect into is isnull join key
		last left like limit match materialized natural no not nothing notnull null nulls of offset on or
		order others outer over partition plan pragma preceding primary query raise range recursive
		references regexp reindex release rename restrict returning right rollback row rows savepoint
		select set table temp temporary then ties to transaction trigger unbounded union unique update
		using vacuum values view virtual when where window with without`) {
		m[k] = true
	}
	return m
}()

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
	if sqliteKeywords[name] || !plainIdent(name) {
		fn = qid(name)
	}
	return fn + "(" + t.exprs(args) + ")"
}

// floorMonths adds SQLite's 'floor' modifier after month and year steps:
// MySQL clamps to the month's last day (Jan 31 + 1 month = Feb 29), SQLite
// otherwise overflows into the next month.
func floorMonths(unit string, mods []string) []string {
	if unit == "months" || unit == "years" {
		return append(mods, "'floor'")
	}
	return mods
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
				return floorMonths(p.name, []string{sqlStr(modifier(f, p.name))})
			}
		}
		v := "(" + t.expr(interval) + ")"
		if p.mul != "" {
			v = "(" + v + p.mul + ")"
		}
		if neg {
			v = "(-" + v + ")"
		}
		return floorMonths(p.name, []string{v + " || ' " + p.name + "'"})
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
