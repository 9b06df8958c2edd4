package transpile

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// colType is the SQLite rendering of a MySQL column type.
type colType struct {
	decl     string // declared type
	isInt    bool   // an integer type (may carry AUTO_INCREMENT)
	enumVals []string
	setVals  []string
	implicit string // MySQL's implicit default for NOT NULL columns (ALTER TABLE ADD COLUMN)
}

func lenScale(ct *sqlparser.ColumnType) string {
	if ct.Length == nil {
		return ""
	}
	s := "(" + strconv.Itoa(*ct.Length)
	if ct.Scale != nil {
		s += "," + strconv.Itoa(*ct.Scale)
	}
	return s + ")"
}

// mapType maps a MySQL column type to a SQLite declared type; see the table in doc.go.
func mapType(ct *sqlparser.ColumnType) colType {
	typ := strings.ToUpper(strings.Join(strings.Fields(ct.Type), " "))
	unsigned := ""
	if ct.Unsigned {
		unsigned = " UNSIGNED"
	}
	switch typ {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT":
		decl := typ
		if typ == "TINYINT" && ct.Length != nil && *ct.Length == 1 {
			decl = "TINYINT(1)"
		}
		return colType{decl: decl + unsigned, isInt: true, implicit: "0"}
	case "BOOL", "BOOLEAN":
		return colType{decl: "TINYINT(1)", isInt: true, implicit: "0"}
	case "BIT":
		n := 1
		if ct.Length != nil {
			n = *ct.Length
		}
		return colType{decl: "BIT_BLOB(" + strconv.Itoa(n) + ")", implicit: "0"}
	case "BINARY", "VARBINARY":
		return colType{decl: typ + "_BLOB" + lenScale(ct), implicit: "X''"}
	case "TINYBLOB", "BLOB", "MEDIUMBLOB", "LONGBLOB":
		return colType{decl: typ + lenScale(ct), implicit: "X''"}
	case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT":
		return colType{decl: typ + lenScale(ct), implicit: "''"}
	case "FLOAT", "DOUBLE", "REAL", "DOUBLE PRECISION", "FLOAT4", "FLOAT8":
		return colType{decl: typ + unsigned + lenScale(ct), implicit: "0"}
	case "DECIMAL", "NUMERIC", "DEC", "FIXED":
		p, s := 10, 0
		if ct.Length != nil {
			p = *ct.Length
		}
		if ct.Scale != nil {
			s = *ct.Scale
		}
		return colType{decl: "DECIMAL(" + strconv.Itoa(p) + "," + strconv.Itoa(s) + ")", implicit: "0"}
	case "DATE":
		return colType{decl: "DATE", implicit: "'0000-00-00'"}
	case "DATETIME", "TIMESTAMP":
		return colType{decl: typ + lenScale(ct), implicit: "'0000-00-00 00:00:00'"}
	case "TIME":
		return colType{decl: typ + lenScale(ct), implicit: "'00:00:00'"}
	case "YEAR":
		return colType{decl: "YEAR", implicit: "0"}
	case "JSON":
		return colType{decl: "JSON_TEXT", implicit: "'null'"}
	case "ENUM":
		implicit := "''"
		if len(ct.EnumValues) > 0 {
			implicit = sqlStr(unquoteEnum(ct.EnumValues[0]))
		}
		return colType{decl: "TEXT", enumVals: ct.EnumValues, implicit: implicit}
	case "SET":
		return colType{decl: "TEXT", setVals: ct.EnumValues, implicit: "''"}
	case "GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON",
		"GEOMETRYCOLLECTION", "GEOMCOLLECTION":
		// "POINT" contains "INT" (integer affinity): all spatial types become one BLOB type.
		return colType{decl: "GEOMETRY_BLOB", implicit: "X''"}
	}
	return colType{decl: typ + unsigned + lenScale(ct), implicit: "''"}
}

// unquoteEnum decodes an ENUM/SET value as vitess keeps it (a quoted SQL string).
func unquoteEnum(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') {
		if s, _, ok := scanQuoted(v, 0); ok {
			return s
		}
	}
	return v
}

// enumCheck returns the CHECK constraint keeping an ENUM's allowed values.
func enumCheck(col string, vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = sqlStr(unquoteEnum(v))
	}
	c := colRef(col)
	return "CHECK (" + c + " IN (" + strings.Join(q, ", ") + ") OR " + c + " IS NULL)"
}

// setCheck returns the CHECK constraint of a SET column: removing every allowed
// member from ',value,' must leave ','.
func setCheck(col string, vals []string) string {
	c := colRef(col)
	expr := "',' || " + c + " || ','"
	for _, v := range vals {
		expr = "replace(" + expr + ", " + sqlStr(","+unquoteEnum(v)+",") + ", ',')"
	}
	return "CHECK (" + c + " IS NULL OR " + c + " = '' OR " + expr + " = ',')"
}

// normalizeTypeSynonyms rewrites MySQL type synonyms that vitess does not
// parse (DEC, FIXED, DOUBLE PRECISION, NCHAR, NATIONAL VARCHAR, LONG VARCHAR,
// INT1..INT8, MIDDLEINT, FLOAT4/8, SERIAL) in column-type position.
func normalizeTypeSynonyms(text string) string {
	toks, _ := lex(text)
	var b strings.Builder
	last := 0
	replace := func(t token, with string) {
		b.WriteString(text[last:t.start])
		b.WriteString(with)
		last = t.end
	}
	typePos := func(i int) bool {
		if i < 2 {
			return false
		}
		if _, ok := toks[i-1].ident(); !ok {
			return false
		}
		p := toks[i-2]
		if p.isPunct("(") || p.isPunct(",") || p.is("ADD", "COLUMN", "MODIFY") {
			return true
		}
		if i >= 3 {
			if _, ok := p.ident(); ok && toks[i-3].is("CHANGE", "COLUMN") {
				return true
			}
		}
		return false
	}
	simple := map[string]string{
		"DEC": "DECIMAL", "FIXED": "DECIMAL", "NCHAR": "CHAR", "NVARCHAR": "VARCHAR",
		"INT1": "TINYINT", "INT2": "SMALLINT", "INT3": "MEDIUMINT", "MIDDLEINT": "MEDIUMINT",
		"INT4": "INT", "INT8": "BIGINT", "FLOAT4": "FLOAT", "FLOAT8": "DOUBLE",
		"SERIAL": "BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE",
	}
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if tk.typ != tkWord || !typePos(i) {
			continue
		}
		if r, ok := simple[tk.val]; ok {
			replace(tk, r)
			continue
		}
		next := func(w ...string) bool { return i+1 < len(toks) && toks[i+1].is(w...) }
		switch {
		case tk.val == "DOUBLE" && next("PRECISION"):
			replace(tk, "DOUBLE")
			last = toks[i+1].end
			i++
		case tk.val == "NATIONAL" && next("CHAR", "VARCHAR", "CHARACTER"):
			b.WriteString(text[last:tk.start])
			last = toks[i+1].start
		case tk.val == "LONG":
			w := "MEDIUMTEXT"
			end := tk.end
			if next("VARBINARY") {
				w, end = "MEDIUMBLOB", toks[i+1].end
				i++
			} else if next("VARCHAR") {
				end = toks[i+1].end
				i++
			}
			replace(tk, w)
			last = end
		}
	}
	b.WriteString(text[last:])
	return b.String()
}
