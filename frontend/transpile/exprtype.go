package transpile

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// MySQL result types of expressions, as far as the transpiler can tell
// them: the executor reports DECIMAL results (7/2 is 3.5000) from them,
// and CREATE TABLE ... SELECT types its columns with them.

// tclass is the class of a MySQL expression type.
type tclass int

const (
	tUnknown  tclass = iota
	tInt             // exact, no fraction (integer types, DIV, COUNT)
	tDecimal         // exact with scale digits after the point
	tDouble          // approximate (FLOAT/DOUBLE, strings in arithmetic)
	tString          // character string; prec is its length in characters when known
	tDate            // DATE
	tDatetime        // DATETIME; scale is the fractional seconds precision
	tTime            // TIME
)

// mtype is the MySQL type of an expression.
type mtype struct {
	class       tclass
	prec, scale int
	unsigned    bool
	// def is the column's definition when the expression is a plain column
	// reference whose table definition the schema knows.
	def *sqlparser.ColumnDefinition
	// nullable is set for a column of a table on the inner side of an
	// outer join (it reads NULL where nothing matched).
	nullable bool
}

func (m mtype) exact() bool { return m.class == tInt || m.class == tDecimal }

// maxDecimalScale and maxDecimalPrec are MySQL's DECIMAL limits.
const (
	maxDecimalScale = 30
	maxDecimalPrec  = 65
	divPrecision    = 4 // div_precision_increment
)

func decimalType(prec, scale int) mtype {
	scale = min(scale, maxDecimalScale)
	prec = min(max(prec, scale, 1), maxDecimalPrec)
	if scale == 0 {
		return mtype{class: tInt, prec: prec}
	}
	return mtype{class: tDecimal, prec: prec, scale: scale}
}

// scopeTable is one table (or derived table) of a FROM clause.
type scopeTable struct {
	ref      string // alias, or the table's name (lower case)
	nullable bool   // on the inner side of an outer join
	db       string
	table    string      // "" for a derived table
	derived  []namedType // a derived table's result columns
	cols     []string    // the table's columns (nil: unknown)
	defs     map[string]*sqlparser.ColumnDefinition
	decls    map[string]string // lower-cased column → SQLite declared type
}

type namedType struct {
	name string
	typ  mtype
}

// typeScope resolves column references of one SELECT; its tables are
// looked up on the first column reference.
type typeScope struct {
	t        *tx
	from     []sqlparser.TableExpr
	withDefs bool // also load the tables' full definitions (CREATE TABLE ... SELECT copies them)
	built    bool
	tables   []*scopeTable
}

func (t *tx) newScope(from []sqlparser.TableExpr, withDefs bool) *typeScope {
	return &typeScope{t: t, from: from, withDefs: withDefs}
}

func (sc *typeScope) build() {
	if sc.built {
		return
	}
	sc.built = true
	t := sc.t
	var walk func(list []sqlparser.TableExpr, nullable bool)
	walk = func(list []sqlparser.TableExpr, nullable bool) {
		for _, te := range list {
			switch n := te.(type) {
			case *sqlparser.AliasedTableExpr:
				switch e := n.Expr.(type) {
				case sqlparser.TableName:
					db := e.Qualifier.String()
					if db == "" {
						db = t.sessDB
					}
					name := e.Name.String()
					st := &scopeTable{ref: strings.ToLower(name), db: db, table: name, nullable: nullable}
					if !n.As.IsEmpty() {
						st.ref = strings.ToLower(n.As.String())
					}
					if !(t.ctes[strings.ToLower(name)] && e.Qualifier.IsEmpty()) {
						t.loadScopeTable(st, sc.withDefs) // a CTE's columns stay unknown
					}
					sc.tables = append(sc.tables, st)
				case *sqlparser.DerivedTable:
					st := &scopeTable{ref: strings.ToLower(n.As.String()), derived: t.resultTypes(e.Select, sc.withDefs), nullable: nullable}
					for _, c := range st.derived {
						st.cols = append(st.cols, c.name)
					}
					sc.tables = append(sc.tables, st)
				}
			case *sqlparser.JoinTableExpr:
				leftNull, rightNull := nullable, nullable
				switch n.Join {
				case sqlparser.LeftJoinType, sqlparser.NaturalLeftJoinType:
					rightNull = true
				case sqlparser.RightJoinType, sqlparser.NaturalRightJoinType:
					leftNull = true
				}
				walk([]sqlparser.TableExpr{n.LeftExpr}, leftNull)
				walk([]sqlparser.TableExpr{n.RightExpr}, rightNull)
			case *sqlparser.ParenTableExpr:
				walk(n.Exprs, nullable)
			}
		}
	}
	walk(sc.from, false)
}

func (t *tx) loadScopeTable(st *scopeTable, withDefs bool) {
	if cols, ok, _ := t.schema.columns(st.db, st.table); ok {
		st.cols = cols
	}
	if withDefs {
		if ct, ok := t.schema.tableDef(st.db, st.table); ok && ct.TableSpec != nil {
			st.defs = map[string]*sqlparser.ColumnDefinition{}
			st.cols = nil
			for _, cd := range ct.TableSpec.Columns {
				st.defs[cd.Name.Lowered()] = cd
				st.cols = append(st.cols, cd.Name.String())
			}
			return
		}
	}
	if decls, ok := t.schema.declTypes(st.db, st.table); ok && len(decls) == len(st.cols) {
		st.decls = map[string]string{}
		for i, c := range st.cols {
			st.decls[strings.ToLower(c)] = decls[i]
		}
	}
}

// column resolves a column reference; ok=false when it cannot be found
// unambiguously.
func (sc *typeScope) column(n *sqlparser.ColName) (*scopeTable, string, bool) {
	if sc == nil {
		return nil, "", false
	}
	sc.build()
	name := n.Name.String()
	if q := n.Qualifier.Name.String(); q != "" {
		for _, st := range sc.tables {
			if st.ref == strings.ToLower(q) && indexFold(st.cols, name) >= 0 {
				return st, st.cols[indexFold(st.cols, name)], true
			}
		}
		return nil, "", false
	}
	var found *scopeTable
	for _, st := range sc.tables {
		if indexFold(st.cols, name) >= 0 {
			if found != nil {
				return nil, "", false
			}
			found = st
		}
	}
	if found == nil {
		return nil, "", false
	}
	return found, found.cols[indexFold(found.cols, name)], true
}

// colType is the type of a resolved column.
func (st *scopeTable) colType(col string) mtype {
	m := st.colType1(col)
	m.nullable = m.nullable || st.nullable
	return m
}

func (st *scopeTable) colType1(col string) mtype {
	key := strings.ToLower(col)
	if st.derived != nil {
		for _, c := range st.derived {
			if strings.EqualFold(c.name, col) {
				return c.typ
			}
		}
		return mtype{}
	}
	if cd := st.defs[key]; cd != nil {
		m := typeOfColumnType(cd.Type)
		m.def = cd
		return m
	}
	if d, ok := st.decls[key]; ok {
		return typeOfDecl(d)
	}
	return mtype{}
}

// typeOfColumnType is the type of a column of MySQL type ct.
func typeOfColumnType(ct *sqlparser.ColumnType) mtype {
	m := typeOfDecl(mapType(ct).decl)
	if m.class == tDecimal || m.class == tInt {
		m.unsigned = ct.Unsigned
	}
	return m
}

// typeOfDecl is the type of a column from its SQLite declared type (which
// keeps the MySQL type name, see doc.go).
func typeOfDecl(decl string) mtype {
	d := strings.ToUpper(strings.TrimSpace(decl))
	base := d
	if i := strings.IndexAny(base, "( "); i >= 0 {
		base = base[:i]
	}
	args := func() (int, int, bool) {
		i, j := strings.IndexByte(d, '('), strings.IndexByte(d, ')')
		if i < 0 || j < i {
			return 0, 0, false
		}
		p, s, _ := strings.Cut(d[i+1:j], ",")
		pn, err := strconv.Atoi(strings.TrimSpace(p))
		sn, _ := strconv.Atoi(strings.TrimSpace(s))
		return pn, sn, err == nil
	}
	unsigned := strings.Contains(d, "UNSIGNED")
	switch base {
	case "TINYINT":
		return mtype{class: tInt, prec: 3, unsigned: unsigned}
	case "SMALLINT":
		return mtype{class: tInt, prec: 5, unsigned: unsigned}
	case "MEDIUMINT":
		return mtype{class: tInt, prec: 8, unsigned: unsigned}
	case "INT":
		return mtype{class: tInt, prec: 10, unsigned: unsigned}
	case "BIGINT", "INTEGER":
		return mtype{class: tInt, prec: 19, unsigned: unsigned}
	case "YEAR":
		return mtype{class: tInt, prec: 4}
	case "DECIMAL", "NUMERIC":
		p, s, ok := args()
		if !ok {
			p, s = 10, 0
		}
		m := decimalType(p, s)
		m.unsigned = unsigned
		return m
	case "FLOAT", "DOUBLE", "REAL":
		return mtype{class: tDouble}
	case "CHAR", "VARCHAR":
		p, _, _ := args()
		return mtype{class: tString, prec: p}
	case "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "JSON_TEXT":
		return mtype{class: tString}
	case "DATE":
		return mtype{class: tDate}
	case "DATETIME", "TIMESTAMP":
		p, _, _ := args()
		return mtype{class: tDatetime, scale: p}
	case "TIME":
		p, _, _ := args()
		return mtype{class: tTime, scale: p}
	}
	return mtype{}
}

// resultTypes types the result columns of a query (the left operand of a
// UNION names and types them).
func (t *tx) resultTypes(ts sqlparser.TableStatement, withDefs bool) []namedType {
	switch n := ts.(type) {
	case *sqlparser.Union:
		return t.resultTypes(n.Left, withDefs)
	case *sqlparser.Select:
		sc := t.newScope(n.From, withDefs)
		sc.build()
		var out []namedType
		if n.SelectExprs == nil {
			return nil
		}
		for _, se := range n.SelectExprs.Exprs {
			switch e := se.(type) {
			case *sqlparser.StarExpr:
				q := strings.ToLower(e.TableName.Name.String())
				for _, st := range sc.tables {
					if q != "" && st.ref != q {
						continue
					}
					if st.cols == nil {
						return nil // unknown columns: positions unknown too
					}
					for _, c := range st.cols {
						out = append(out, namedType{name: c, typ: st.colType(c)})
					}
				}
			case *sqlparser.AliasedExpr:
				out = append(out, namedType{name: resultName(e), typ: t.typeOf(e.Expr, sc)})
			default:
				return nil
			}
		}
		return out
	}
	return nil
}

// resultName is the MySQL name of a select list item.
func resultName(e *sqlparser.AliasedExpr) string {
	if !e.As.IsEmpty() {
		return e.As.String()
	}
	if c, ok := e.Expr.(*sqlparser.ColName); ok {
		return c.Name.String()
	}
	if l, ok := e.Expr.(*sqlparser.Literal); ok && l.Type == sqlparser.StrVal {
		return l.Val
	}
	return sqlparser.String(e.Expr)
}

// typeOf infers the MySQL type of an expression; sc resolves its columns
// (nil: none are known).
func (t *tx) typeOf(e sqlparser.Expr, sc *typeScope) mtype {
	switch n := e.(type) {
	case *sqlparser.Literal:
		switch n.Type {
		case sqlparser.IntVal:
			return mtype{class: tInt, prec: len(strings.TrimLeft(n.Val, "0"))}
		case sqlparser.DecimalVal:
			i, f, _ := strings.Cut(n.Val, ".")
			return decimalType(len(strings.TrimLeft(i, "0"))+len(f), len(f))
		case sqlparser.FloatVal:
			return mtype{class: tDouble}
		case sqlparser.StrVal:
			return mtype{class: tString, prec: len([]rune(n.Val))}
		case sqlparser.HexNum, sqlparser.BitNum:
			return mtype{class: tInt, prec: 20, unsigned: true}
		case sqlparser.DateVal:
			return mtype{class: tDate}
		case sqlparser.TimestampVal:
			return mtype{class: tDatetime}
		case sqlparser.TimeVal:
			return mtype{class: tTime}
		}
	case sqlparser.BoolVal:
		return mtype{class: tInt, prec: 1}
	case *sqlparser.ColName:
		if st, col, ok := sc.column(n); ok {
			return st.colType(col)
		}
	case *sqlparser.UnaryExpr:
		switch n.Operator {
		case sqlparser.UMinusOp, sqlparser.UPlusOp:
			m := t.typeOf(n.Expr, sc)
			m.def, m.unsigned = nil, false
			if m.class == tString {
				return mtype{class: tDouble}
			}
			return m
		}
	case *sqlparser.BinaryExpr:
		return t.typeOfBinary(n, sc)
	case *sqlparser.CastExpr:
		return typeOfCast(n.Type)
	case *sqlparser.ConvertExpr:
		return typeOfCast(n.Type)
	case *sqlparser.CountStar, *sqlparser.Count:
		return mtype{class: tInt, prec: 21}
	case *sqlparser.Sum:
		m := t.typeOf(n.Arg, sc)
		if m.exact() {
			return decimalType(m.prec+22, m.scale)
		}
		if m.class != tUnknown {
			return mtype{class: tDouble}
		}
	case *sqlparser.Avg:
		m := t.typeOf(n.Arg, sc)
		if m.exact() {
			return decimalType(m.prec+divPrecision, m.scale+divPrecision)
		}
		if m.class != tUnknown {
			return mtype{class: tDouble}
		}
	case *sqlparser.Max:
		m := t.typeOf(n.Arg, sc)
		m.def = nil
		return m
	case *sqlparser.Min:
		m := t.typeOf(n.Arg, sc)
		m.def = nil
		return m
	case *sqlparser.CurTimeFuncExpr:
		switch curTimeName(n.Name.Lowered()) {
		case "curdate", "utc_date":
			return mtype{class: tDate}
		case "curtime", "utc_time":
			return mtype{class: tTime, scale: n.Fsp}
		}
		return mtype{class: tDatetime, scale: n.Fsp}
	case *sqlparser.FuncExpr:
		return t.typeOfFunc(n, sc)
	case *sqlparser.IntervalDateExpr:
		if m := t.typeOf(n.Date, sc); m.class == tDate && !n.Unit.HasTimeParts() {
			return m
		}
		return mtype{class: tDatetime}
	case *sqlparser.TimestampDiffExpr:
		return mtype{class: tInt, prec: 21}
	case *sqlparser.ExtractFuncExpr:
		return mtype{class: tInt, prec: 21}
	case *sqlparser.SubstrExpr, *sqlparser.TrimFuncExpr, *sqlparser.GroupConcatExpr, *sqlparser.CharExpr:
		return mtype{class: tString}
	case *sqlparser.LocateExpr:
		return mtype{class: tInt, prec: 21}
	case *sqlparser.ComparisonExpr, *sqlparser.AndExpr, *sqlparser.OrExpr, *sqlparser.NotExpr,
		*sqlparser.XorExpr, *sqlparser.IsExpr, *sqlparser.BetweenExpr, *sqlparser.ExistsExpr:
		return mtype{class: tInt, prec: 1}
	}
	return mtype{}
}

func (t *tx) typeOfBinary(n *sqlparser.BinaryExpr, sc *typeScope) mtype {
	l, r := t.typeOf(n.Left, sc), t.typeOf(n.Right, sc)
	switch n.Operator {
	case sqlparser.IntDivOp:
		return mtype{class: tInt, prec: 21}
	case sqlparser.BitAndOp, sqlparser.BitOrOp, sqlparser.BitXorOp, sqlparser.ShiftLeftOp, sqlparser.ShiftRightOp:
		return mtype{class: tInt, prec: 20, unsigned: true}
	}
	if l.class == tUnknown || r.class == tUnknown {
		return mtype{}
	}
	if !l.exact() || !r.exact() {
		if (l.exact() || l.class == tDouble || l.class == tString) && (r.exact() || r.class == tDouble || r.class == tString) {
			return mtype{class: tDouble}
		}
		return mtype{}
	}
	li, ri := l.prec-l.scale, r.prec-r.scale // integer digits
	switch n.Operator {
	case sqlparser.PlusOp, sqlparser.MinusOp:
		s := max(l.scale, r.scale)
		return decimalType(max(li, ri)+1+s, s)
	case sqlparser.MultOp:
		return decimalType(l.prec+r.prec, l.scale+r.scale)
	case sqlparser.DivOp:
		s := l.scale + divPrecision
		return decimalType(l.prec+divPrecision+r.scale, s)
	case sqlparser.ModOp:
		s := max(l.scale, r.scale)
		return decimalType(max(li, ri)+s, s)
	}
	return mtype{}
}

func typeOfCast(ct *sqlparser.ConvertType) mtype {
	typ := strings.ToLower(strings.Join(strings.Fields(ct.Type), " "))
	switch {
	case strings.HasPrefix(typ, "signed"), typ == "integer", typ == "int":
		return mtype{class: tInt, prec: 21}
	case strings.HasPrefix(typ, "unsigned"):
		return mtype{class: tInt, prec: 21, unsigned: true}
	case typ == "decimal", typ == "numeric", typ == "dec", typ == "fixed":
		p, s := 10, 0
		if ct.Length != nil {
			p = *ct.Length
		}
		if ct.Scale != nil {
			s = *ct.Scale
		}
		return decimalType(p, s)
	case typ == "double", typ == "float", typ == "real", typ == "double precision":
		return mtype{class: tDouble}
	case typ == "char", typ == "nchar", typ == "varchar", strings.HasPrefix(typ, "char"):
		n := 0
		if ct.Length != nil {
			n = *ct.Length
		}
		return mtype{class: tString, prec: n}
	case typ == "date":
		return mtype{class: tDate}
	case typ == "datetime", typ == "timestamp":
		return mtype{class: tDatetime}
	case typ == "time":
		return mtype{class: tTime}
	}
	return mtype{}
}

// funcTypes are the result types of MySQL functions that do not depend on
// their arguments.
var funcTypes = func() map[string]mtype {
	m := map[string]mtype{}
	for _, f := range strings.Fields(`length octet_length char_length character_length bit_length locate instr position
		find_in_set field ascii ord crc32 sign year month day dayofmonth dayofweek dayofyear weekday week weekofyear
		yearweek quarter hour minute second microsecond datediff to_days to_seconds period_diff last_insert_id
		connection_id row_count found_rows uuid_short interval strcmp is_ipv4 is_ipv6 inet_aton
		get_lock release_lock is_free_lock json_length json_depth json_valid json_contains regexp_like regexp_instr`) {
		m[f] = mtype{class: tInt, prec: 21}
	}
	for _, f := range strings.Fields(`rand sqrt pow power exp ln log log2 log10 sin cos tan asin acos atan atan2 cot
		pi degrees radians std stddev stddev_pop stddev_samp variance var_pop var_samp`) {
		m[f] = mtype{class: tDouble}
	}
	for _, f := range strings.Fields(`now sysdate current_timestamp localtime localtimestamp utc_timestamp
		from_unixtime str_to_date timestamp convert_tz`) {
		m[f] = mtype{class: tDatetime}
	}
	for _, f := range strings.Fields(`curdate current_date utc_date date last_day makedate from_days`) {
		m[f] = mtype{class: tDate}
	}
	for _, f := range strings.Fields(`curtime current_time utc_time time sec_to_time timediff maketime`) {
		m[f] = mtype{class: tTime}
	}
	for _, f := range strings.Fields(`concat concat_ws lower upper lcase ucase lpad rpad left right substring substr
		substring_index replace repeat reverse trim ltrim rtrim space hex unhex md5 sha sha1 sha2 uuid
		date_format time_format dayname monthname format quote insert elt make_set export_set soundex
		database schema user current_user session_user system_user version char group_concat
		json_extract json_unquote json_object json_array json_set json_insert json_replace json_remove
		json_keys json_quote json_type inet_ntoa to_base64 from_base64 regexp_replace regexp_substr`) {
		m[f] = mtype{class: tString}
	}
	return m
}()

func (t *tx) typeOfFunc(n *sqlparser.FuncExpr, sc *typeScope) mtype {
	name := n.Name.Lowered()
	args := n.Exprs
	arg := func(i int) mtype {
		if i < len(args) {
			m := t.typeOf(args[i], sc)
			m.def = nil
			return m
		}
		return mtype{}
	}
	switch name {
	case "abs", "ifnull", "coalesce", "nullif", "greatest", "least", "any_value":
		return arg(0)
	case "if":
		return arg(1)
	case "mod":
		if len(args) == 2 {
			return t.typeOfBinary(&sqlparser.BinaryExpr{Operator: sqlparser.ModOp, Left: args[0], Right: args[1]}, sc)
		}
	case "round", "truncate":
		m := arg(0)
		if m.class == tDouble || m.class == tString {
			return mtype{class: tDouble}
		}
		if !m.exact() {
			return mtype{}
		}
		d := 0
		if len(args) > 1 {
			v, err := strconv.Atoi(numericLiteral(args[1]))
			if err != nil {
				return mtype{}
			}
			d = v
		}
		d = max(d, 0)
		return decimalType(m.prec-m.scale+d+1, min(d, m.scale))
	case "floor", "ceil", "ceiling":
		m := arg(0)
		if m.exact() {
			return mtype{class: tInt, prec: m.prec - m.scale + 1}
		}
		if m.class == tDouble || m.class == tString {
			return mtype{class: tDouble}
		}
	case "unix_timestamp":
		if len(args) == 0 {
			return mtype{class: tInt, prec: 21}
		}
		return mtype{}
	}
	if m, ok := funcTypes[name]; ok {
		return m
	}
	return mtype{}
}

// decimalColumns lists the select list items MySQL types as DECIMAL with
// digits after the point. Plain column references are left out: SQLite
// reports their declared type itself.
func (t *tx) decimalColumns(sel *sqlparser.Select) []DecimalColumn {
	if sel.SelectExprs == nil {
		return nil
	}
	var out []DecimalColumn
	sc := t.newScope(sel.From, false)
	items := sel.SelectExprs.Exprs
	star := false
	for i, se := range items {
		switch e := se.(type) {
		case *sqlparser.StarExpr:
			star = true
		case *sqlparser.AliasedExpr:
			if _, isCol := e.Expr.(*sqlparser.ColName); isCol {
				continue
			}
			m := t.typeOf(e.Expr, sc)
			if m.class != tDecimal {
				continue
			}
			idx := i
			if star {
				idx = i - len(items)
			}
			out = append(out, DecimalColumn{Index: idx, Prec: m.prec, Scale: m.scale})
		}
	}
	return out
}
