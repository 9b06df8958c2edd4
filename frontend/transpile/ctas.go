package transpile

import (
	"strconv"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// CREATE TABLE ... LIKE and CREATE TABLE ... SELECT. Both become an
// ordinary CREATE TABLE IF NOT EXISTS with every column spelled out (what
// replicates is that statement: another node's source table might
// differ), built from the source table's definition (TableDefiner) and,
// for SELECT, the types of the result columns.

// createTableLike expands CREATE TABLE t2 LIKE t1 into t1's definition
// under the name t2, as MySQL copies it: columns, defaults, keys, indexes,
// AUTO_INCREMENT and CHECK constraints, not foreign keys.
func (t *tx) createTableLike(n *sqlparser.CreateTable, st *translated) {
	src := n.OptLike.LikeTable
	srcDB := src.Qualifier.String()
	if srcDB == "" {
		srcDB = t.sessDB
	}
	srcName := src.Name.String()
	def, ok := t.schema.tableDef(srcDB, srcName)
	if !ok {
		t.tableRef(n.Table)
		st.Kind, st.Table = CreateTable, n.Table.Name.String()
		st.Database = t.checkDBs()
		_, exists, known := t.schema.columns(srcDB, srcName)
		switch {
		case known && !exists:
			t.fail(errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", srcDB, srcName))
		case known && t.schema.hasDefiner():
			t.fail(errf(ErrWrongObject, "HY000", "'%s.%s' is not BASE TABLE", srcDB, srcName))
		default:
			t.fail(notSupported("CREATE TABLE ... LIKE cannot read the definition of '%s.%s'", srcDB, srcName))
		}
		return
	}
	cp := sqlparser.Clone(def)
	cp.Table, cp.IfNotExists, cp.Temp, cp.OptLike, cp.Select = n.Table, n.IfNotExists, n.Temp, nil, nil
	cp.FullyParsed = true
	spec := cp.TableSpec
	var cons []*sqlparser.ConstraintDefinition
	checks := 0
	for _, c := range spec.Constraints {
		switch c.Details.(type) {
		case *sqlparser.ForeignKeyDefinition:
			continue // MySQL does not copy foreign keys
		case *sqlparser.CheckConstraintDefinition:
			// generated names follow the new table, as MySQL renames them
			checks++
			if strings.HasPrefix(strings.ToLower(c.Name.String()), strings.ToLower(srcName)+"_chk_") {
				c.Name = sqlparser.NewIdentifierCI(n.Table.Name.String() + "_chk_" + strconv.Itoa(checks))
			}
		}
		cons = append(cons, c)
	}
	spec.Constraints = cons
	for _, c := range spec.Columns {
		if c.Type.Options != nil {
			c.Type.Options.Reference = nil
		}
	}
	t.createTable(cp, st)
}

// createTableSelect translates CREATE TABLE t2 [(definitions)] [IGNORE |
// REPLACE] [AS] SELECT ...: the table, with MySQL's column order (columns
// only declared come first, then the result columns, a declared definition
// overriding a result column's type), and the INSERT ... SELECT that fills
// it (Statement.FillSQL). The new table must get a PRIMARY KEY from the
// declarations; MySQL's CREATE TABLE ... SELECT never makes one.
func (t *tx) createTableSelect(n *sqlparser.CreateTable, st *translated) {
	table := n.Table.Name.String()
	st.Kind, st.Table = CreateTable, table
	if t.inTrigger {
		t.fail(notSupported("CREATE TABLE ... SELECT is not supported in a trigger"))
		return
	}
	if sel, ok := n.Select.(*sqlparser.Select); ok {
		for _, te := range sel.From {
			if a, ok := te.(*sqlparser.AliasedTableExpr); ok {
				if tn, ok := a.Expr.(sqlparser.TableName); ok && !t.ctes[strings.ToLower(tn.Name.String())] {
					db := tn.Qualifier.String()
					if db == "" {
						db = t.sessDB
					}
					if _, exists, known := t.schema.columns(db, tn.Name.String()); known && !exists {
						t.fail(errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", db, tn.Name.String()))
						return
					}
				}
			}
		}
	}
	result := t.resultTypes(n.Select, true)
	if result == nil {
		t.tableRef(n.Table)
		st.Database = t.checkDBs()
		t.fail(notSupported("CREATE TABLE ... SELECT: cannot tell the columns of this SELECT (a * over a table whose definition is unknown?); list them"))
		return
	}
	spec := n.TableSpec
	if spec == nil {
		spec = &sqlparser.TableSpec{}
	}
	declared := map[string]*sqlparser.ColumnDefinition{}
	for _, cd := range spec.Columns {
		declared[cd.Name.Lowered()] = cd
	}
	inResult := map[string]bool{}
	var names []string
	for _, r := range result {
		k := strings.ToLower(r.name)
		if inResult[k] {
			t.fail(errf(ErrDupFieldName, "42S21", "Duplicate column name '%s'", r.name))
			return
		}
		inResult[k] = true
		names = append(names, r.name)
	}
	var cols []*sqlparser.ColumnDefinition
	for _, cd := range spec.Columns {
		if !inResult[cd.Name.Lowered()] {
			cols = append(cols, cd)
		}
	}
	for _, r := range result {
		if cd := declared[strings.ToLower(r.name)]; cd != nil {
			cols = append(cols, cd)
		} else {
			cols = append(cols, ctasColumn(r))
		}
	}
	hasPK := false
	for _, cd := range spec.Columns {
		if o := cd.Type.Options; o != nil && (o.KeyOpt == sqlparser.ColKeyPrimary || o.KeyOpt == sqlparser.ColKey) {
			hasPK = true
		}
	}
	for _, idx := range spec.Indexes {
		if idx.Info.Type == sqlparser.IndexTypePrimary {
			hasPK = true
		}
	}
	if !hasPK && !n.Temp {
		t.tableRef(n.Table)
		st.Database = t.checkDBs()
		t.fail(errf(ErrRequiresPK, "HY000", "marmot: CREATE TABLE ... SELECT would make table '%s' without a PRIMARY KEY; replicated tables need one: declare it before the SELECT, e.g. CREATE TABLE %s (PRIMARY KEY (%s)) SELECT ..., or add a key column: CREATE TABLE %s (id BIGINT AUTO_INCREMENT PRIMARY KEY) SELECT ...",
			table, table, names[0], table))
		return
	}
	def := &sqlparser.CreateTable{Table: n.Table, Temp: n.Temp, IfNotExists: n.IfNotExists, FullyParsed: true,
		TableSpec: &sqlparser.TableSpec{Columns: cols, Indexes: spec.Indexes, Constraints: spec.Constraints, Options: spec.Options}}
	t.createTable(def, st)
	if t.err != nil {
		return
	}
	// the rows: INSERT [OR IGNORE | OR REPLACE] INTO t2 (result columns) SELECT ...
	var schemaCols []string
	for _, cd := range cols {
		schemaCols = append(schemaCols, cd.Name.String())
	}
	ai := ""
	for _, cd := range cols {
		if o := cd.Type.Options; o != nil && o.Autoincrement {
			ai = cd.Name.String()
		}
	}
	colList, source := t.insertSelect(n.Select, names, schemaCols, ai, ai != "", false)
	verb := "INSERT"
	switch n.IgnoreOrReplace {
	case sqlparser.IgnoreType:
		verb = "INSERT OR IGNORE"
	case sqlparser.ReplaceType:
		verb = "REPLACE"
	}
	st.FillSQL = verb + " INTO " + t.tableRef(n.Table) + " " + colList + " " + source
	st.Database = t.checkDBs()
}

// ctasColumn is the definition of a result column in the new table: a
// column reference keeps its type, nullability, default and collation (not
// AUTO_INCREMENT or keys, as in MySQL); an expression gets the type MySQL
// gives its value.
func ctasColumn(r namedType) *sqlparser.ColumnDefinition {
	name := sqlparser.NewIdentifierCI(r.name)
	if r.typ.def != nil {
		ct := sqlparser.Clone(r.typ.def.Type)
		o := ct.Options
		if o == nil {
			o = &sqlparser.ColumnTypeOptions{}
		}
		keep := &sqlparser.ColumnTypeOptions{Null: o.Null, Default: o.Default, DefaultLiteral: o.DefaultLiteral, Collate: o.Collate}
		if r.typ.nullable || (o.As != nil && o.Null == nil) {
			keep.Null = nil
		}
		if o.As != nil {
			keep.Default = nil
		}
		ct.Options = keep
		return &sqlparser.ColumnDefinition{Name: name, Type: ct}
	}
	m := r.typ
	ct := &sqlparser.ColumnType{Options: &sqlparser.ColumnTypeOptions{}}
	intp := func(v int) *int { return &v }
	switch m.class {
	case tInt:
		ct.Type = "bigint"
		if m.prec < 10 {
			ct.Type = "int"
		}
		ct.Unsigned = m.unsigned
	case tDecimal:
		ct.Type, ct.Length, ct.Scale = "decimal", intp(m.prec), intp(m.scale)
		ct.Unsigned = m.unsigned
	case tDouble:
		ct.Type = "double"
	case tString:
		if m.prec > 0 && m.prec <= 512 {
			ct.Type, ct.Length = "varchar", intp(m.prec)
		} else {
			ct.Type = "longtext"
		}
	case tDate:
		ct.Type = "date"
	case tDatetime:
		ct.Type = "datetime"
		if m.scale > 0 {
			ct.Length = intp(m.scale)
		}
	case tTime:
		ct.Type = "time"
		if m.scale > 0 {
			ct.Length = intp(m.scale)
		}
	default:
		ct.Type = "longtext"
	}
	return &sqlparser.ColumnDefinition{Name: name, Type: ct}
}
