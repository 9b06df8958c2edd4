package frontend

import (
	"fmt"
	"strings"

	"github.com/marmotdb/marmot/frontend/transpile"
)

// tableOptions ends every CREATE TABLE marmot shows: the storage engine and
// character set MySQL clients expect (SQLite stores UTF-8 text).
const tableOptions = ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci"

// createTableSQL renders a table as MySQL's SHOW CREATE TABLE does, in a
// form marmot itself accepts back. CHECK constraints and generated column
// expressions are SQLite text; if they do not transpile back, they are left
// out rather than producing DDL marmot would refuse.
func createTableSQL(t *tableMeta) string {
	full := renderCreateTable(t, true)
	if _, err := transpile.Transpile("", full, ddlCheckSchema{}); err == nil {
		return full
	}
	return renderCreateTable(t, false)
}

// ddlCheckSchema answers the transpiler's questions when validating DDL.
type ddlCheckSchema struct{}

func (ddlCheckSchema) Columns(db, table string) ([]string, bool)     { return nil, false }
func (ddlCheckSchema) AutoIncrement(db, table string) (string, bool) { return "", false }

func renderCreateTable(t *tableMeta, exprs bool) string {
	var lines []string
	for _, c := range t.cols {
		lines = append(lines, "  "+columnDDL(c, exprs))
	}
	if len(t.pk) > 0 {
		lines = append(lines, "  PRIMARY KEY ("+mysqlIdentList(t.pk)+")")
	}
	for _, ix := range t.sortedIndexes() {
		if ix.hasExpr {
			continue // expression index parts have no MySQL 5.7 form; SQLite keeps them
		}
		kw := "KEY"
		if ix.unique {
			kw = "UNIQUE KEY"
		}
		parts := make([]string, len(ix.cols))
		for i, c := range ix.cols {
			parts[i] = mysqlIdent(c)
			if ix.desc[i] {
				parts[i] += " DESC"
			}
		}
		lines = append(lines, fmt.Sprintf("  %s %s (%s)", kw, mysqlIdent(ix.name), strings.Join(parts, ",")))
	}
	for _, fk := range t.fks {
		l := fmt.Sprintf("  CONSTRAINT %s FOREIGN KEY (%s) REFERENCES %s (%s)", mysqlIdent(fk.name), mysqlIdentList(fk.cols), mysqlIdent(fk.refTable), mysqlIdentList(fk.refCols))
		if a := fkAction(fk.onDelete); a != "" {
			l += " ON DELETE " + a
		}
		if a := fkAction(fk.onUpdate); a != "" {
			l += " ON UPDATE " + a
		}
		lines = append(lines, l)
	}
	if exprs {
		for _, ck := range t.checks {
			lines = append(lines, fmt.Sprintf("  CONSTRAINT %s CHECK (%s)", mysqlIdent(ck.name), mysqlExpr(ck.expr)))
		}
	}
	create := "CREATE TABLE "
	if t.temp {
		create = "CREATE TEMPORARY TABLE " // as MySQL shows a temporary table
	}
	return create + mysqlIdent(t.name) + " (\n" + strings.Join(lines, ",\n") + "\n" + tableOptions
}

func mysqlIdentList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = mysqlIdent(n)
	}
	return strings.Join(q, ",")
}

// fkAction is a referential action as MySQL prints it (NO ACTION, the
// default, is not printed).
func fkAction(a string) string {
	a = strings.ToUpper(strings.TrimSpace(a))
	if a == "" || a == "NO ACTION" {
		return ""
	}
	return a
}

// columnDDL is one column definition of SHOW CREATE TABLE.
func columnDDL(c *colMeta, exprs bool) string {
	var b strings.Builder
	b.WriteString(mysqlIdent(c.name) + " " + c.typ.column)
	if c.typ.text && !caseInsensitiveCollation(c.collate) {
		b.WriteString(" COLLATE utf8mb4_bin") // compared byte for byte, as MySQL's _bin
	}
	gen := c.genExpr != "" && exprs
	if gen {
		kind := "VIRTUAL"
		if c.stored {
			kind = "STORED"
		}
		b.WriteString(" GENERATED ALWAYS AS (" + mysqlExpr(c.genExpr) + ") " + kind)
	}
	if c.notNull {
		b.WriteString(" NOT NULL")
	} else if c.typ.data == "timestamp" {
		b.WriteString(" NULL")
	}
	if !gen && !c.autoInc {
		b.WriteString(defaultDDL(c))
	}
	if c.onUpdate {
		b.WriteString(" ON UPDATE CURRENT_TIMESTAMP")
	}
	if c.autoInc {
		b.WriteString(" AUTO_INCREMENT")
	}
	return b.String()
}

// caseInsensitiveCollation reports whether an SQLite column collation
// compares case-insensitively: marmot's utf8mb4_general_ci, or NOCASE
// (tables made before it).
func caseInsensitiveCollation(c string) bool {
	return strings.EqualFold(c, transpile.CICollation) || strings.EqualFold(c, "NOCASE")
}

// defaultDDL is a column's DEFAULT clause in MySQL syntax ("" for none).
func defaultDDL(c *colMeta) string {
	k, v := columnDefault(c.dflt)
	switch k {
	case dfltNone, dfltNull:
		if c.notNull || (k == dfltNone && c.typ.blobLike) {
			return ""
		}
		return " DEFAULT NULL"
	case dfltLiteral:
		if c.typ.data == "bit" && isNumberText(v) {
			return " DEFAULT b'" + bitString(v) + "'"
		}
		if c.typ.blobLike {
			return " DEFAULT (" + mysqlString(v) + ")" // MySQL 8: TEXT/BLOB defaults are expressions
		}
		return " DEFAULT " + mysqlString(v)
	case dfltNow:
		switch {
		case (c.typ.data == "datetime" || c.typ.data == "timestamp") && v == "CURRENT_TIMESTAMP":
			if fsp, ok := c.typ.dtPrec.(int64); ok && fsp > 0 {
				return fmt.Sprintf(" DEFAULT CURRENT_TIMESTAMP(%d)", fsp)
			}
			return " DEFAULT CURRENT_TIMESTAMP"
		case v == "CURRENT_DATE":
			return " DEFAULT (curdate())"
		case v == "CURRENT_TIME":
			return " DEFAULT (curtime())"
		}
		return " DEFAULT (now())"
	}
	return " DEFAULT (" + mysqlExpr(trimParens(v)) + ")"
}

func bitString(v string) string {
	var n int64
	fmt.Sscan(v, &n)
	return fmt.Sprintf("%b", n)
}

// createViewSQL renders a view as MySQL's SHOW CREATE VIEW does.
func createViewSQL(t *tableMeta) string {
	return "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`%` SQL SECURITY DEFINER VIEW " + mysqlIdent(t.name) + viewColumns(t.sql) + " AS " + viewDefinition(t.sql)
}

// viewDefinition is the SELECT of a CREATE VIEW, with MySQL quoting.
func viewDefinition(text string) string {
	toks := sqlTokens(text)
	depth := 0
	for i, t := range toks {
		switch {
		case t.isP("("):
			depth++
		case t.isP(")"):
			depth--
		case depth == 0 && t.is("AS") && i+1 < len(toks):
			return mysqlExpr(strings.TrimSpace(text[toks[i+1].pos:]))
		}
	}
	return ""
}

// viewColumns is the optional column list of CREATE VIEW v (a, b) AS ...
func viewColumns(text string) string {
	toks := sqlTokens(text)
	for i, t := range toks {
		if t.is("AS") {
			return ""
		}
		if t.isP("(") {
			names, _ := parenIdents(toks, i)
			return " (" + mysqlIdentList(names) + ")"
		}
	}
	return ""
}
