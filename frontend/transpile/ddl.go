package transpile

import (
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// indexName is the SQLite name of MySQL index `name` of `table`: MySQL index
// names are per table, SQLite's are per database.
func indexName(table, name string) string { return qid(table + "__" + name) }

// requireTable fails with 1146 when the schema knows the table does not exist.
func (t *tx) requireTable(table string) {
	if _, ok, known := t.schema.columns(t.effDB(), table); known && !ok {
		t.fail(errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", t.effDB(), table))
	}
}

func (t *tx) tableExists(table string) (exists, known bool) {
	_, ok, known := t.schema.columns(t.effDB(), table)
	return ok, known
}

func isNowExpr(e sqlparser.Expr) (string, bool) {
	switch n := e.(type) {
	case *sqlparser.CurTimeFuncExpr:
		switch curTimeName(n.Name.Lowered()) {
		case "now", "sysdate", "utc_timestamp":
			return "CURRENT_TIMESTAMP", true
		case "curdate", "utc_date":
			return "CURRENT_DATE", true
		case "curtime", "utc_time":
			return "CURRENT_TIME", true
		}
	case *sqlparser.FuncExpr:
		switch curTimeName(n.Name.Lowered()) {
		case "now", "sysdate":
			return "CURRENT_TIMESTAMP", true
		case "curdate":
			return "CURRENT_DATE", true
		case "curtime":
			return "CURRENT_TIME", true
		}
	}
	return "", false
}

// defaultExpr renders a column DEFAULT value.
func (t *tx) defaultExpr(e sqlparser.Expr) string {
	if kw, ok := isNowExpr(e); ok {
		return kw
	}
	switch n := e.(type) {
	case *sqlparser.Literal:
		if n.Type == sqlparser.HexNum {
			t.hexAsBlob = true
			defer func() { t.hexAsBlob = false }()
		}
		if v := t.expr(n); !strings.HasPrefix(v, "CAST(") {
			return v
		}
		return "(" + t.expr(n) + ")"
	case *sqlparser.NullVal, sqlparser.BoolVal:
		return t.expr(n)
	case *sqlparser.UnaryExpr:
		if v := numericLiteral(n); v != "" {
			return v
		}
	}
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		if _, ok := node.(*sqlparser.ColName); ok {
			t.fail(notSupported("DEFAULT expressions that refer to other columns are not supported"))
			return false, nil
		}
		return true, nil
	}, e)
	return "(" + t.expr(e) + ")"
}

// columnDef renders a column definition (without PRIMARY KEY AUTOINCREMENT
// handling, done by the caller). inlineKeys controls UNIQUE / PRIMARY KEY.
func (t *tx) columnDef(table string, cd *sqlparser.ColumnDefinition, inlineKeys bool, implicitDefault string) string {
	name := cd.Name.String()
	ct := mapType(cd.Type)
	var b strings.Builder
	b.WriteString(qid(name) + " " + ct.decl)
	o := cd.Type.Options
	if o == nil {
		o = &sqlparser.ColumnTypeOptions{}
	}
	if caseInsensitive(cd.Type, o) {
		b.WriteString(" COLLATE " + CICollation)
	}
	if o.Null != nil && !*o.Null {
		b.WriteString(" NOT NULL")
	}
	if o.Default != nil {
		b.WriteString(" DEFAULT " + t.defaultExpr(o.Default))
	} else if implicitDefault != "" {
		b.WriteString(" DEFAULT " + implicitDefault)
	}
	if o.As != nil {
		b.WriteString(" GENERATED ALWAYS AS (" + t.expr(o.As) + ")")
		if o.Storage == sqlparser.StoredStorage {
			b.WriteString(" STORED")
		} else {
			b.WriteString(" VIRTUAL")
		}
	}
	if inlineKeys {
		switch o.KeyOpt {
		case sqlparser.ColKeyPrimary, sqlparser.ColKey:
			b.WriteString(" PRIMARY KEY")
		case sqlparser.ColKeyUnique, sqlparser.ColKeyUniqueKey:
			b.WriteString(" UNIQUE")
		}
	}
	if o.Reference != nil {
		b.WriteString(" " + t.references(o.Reference))
	}
	if o.OnUpdate != nil {
		if _, ok := isNowExpr(o.OnUpdate); ok {
			t.onUpdateNow = append(t.onUpdateNow, name)
		} else {
			t.fail(notSupported("ON UPDATE %s is not supported", sqlparser.String(o.OnUpdate)))
		}
	}
	if len(ct.enumVals) > 0 {
		b.WriteString(" " + enumCheck(name, ct.enumVals))
	}
	if len(ct.setVals) > 0 {
		b.WriteString(" " + setCheck(name, ct.setVals))
	}
	return b.String()
}

func (t *tx) references(r *sqlparser.ReferenceDefinition) string {
	s := "REFERENCES " + t.tableRef(r.ReferencedTable)
	if len(r.ReferencedColumns) > 0 {
		s += " (" + identList(r.ReferencedColumns) + ")"
	}
	actions := map[sqlparser.ReferenceAction]string{
		sqlparser.Restrict: "RESTRICT", sqlparser.Cascade: "CASCADE", sqlparser.NoAction: "NO ACTION",
		sqlparser.SetNull: "SET NULL", sqlparser.SetDefault: "SET DEFAULT",
	}
	if a, ok := actions[r.OnDelete]; ok {
		s += " ON DELETE " + a
	}
	if a, ok := actions[r.OnUpdate]; ok {
		s += " ON UPDATE " + a
	}
	return s
}

// indexColumns renders an index column list, dropping prefix lengths.
func (t *tx) indexColumns(cols []*sqlparser.IndexColumn) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		if c.Expression != nil {
			parts[i] = "(" + t.expr(c.Expression) + ")"
		} else {
			parts[i] = qid(c.Column.String())
		}
		if c.Direction == sqlparser.DescOrder {
			parts[i] += " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

func indexColNames(cols []*sqlparser.IndexColumn) []string {
	var names []string
	for _, c := range cols {
		if c.Expression == nil {
			names = append(names, c.Column.String())
		}
	}
	return names
}

// createIndexSQL renders an index definition as CREATE INDEX; "" for FULLTEXT/SPATIAL.
func (t *tx) createIndexSQL(table, tref string, idx *sqlparser.IndexDefinition, used map[string]bool) (string, string) {
	switch idx.Info.Type {
	case sqlparser.IndexTypeFullText, sqlparser.IndexTypeSpatial:
		return "", ""
	}
	name := idx.Info.Name.String()
	if name == "" {
		name = idx.Info.ConstraintName.String()
	}
	if name == "" {
		// MySQL names an unnamed index after its first column (col, col_2, ...)
		base := "expr"
		if cs := indexColNames(idx.Columns); len(cs) > 0 {
			base = cs[0]
		}
		name = base
		for i := 2; used != nil && used[strings.ToLower(name)]; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
	}
	if used != nil {
		used[strings.ToLower(name)] = true
	}
	kw := "CREATE INDEX"
	if idx.Info.Type == sqlparser.IndexTypeUnique {
		kw = "CREATE UNIQUE INDEX"
	}
	return kw + " IF NOT EXISTS " + indexName(table, name) + " ON " + tref + " (" + t.indexColumns(idx.Columns) + ")", name
}

func (t *tx) createTable(n *sqlparser.CreateTable, st *translated) {
	st.Kind = CreateTable
	table := n.Table.Name.String()
	st.Table = table
	st.IfNotExists = n.IfNotExists
	st.Temporary = n.Temp
	if n.OptLike != nil {
		t.createTableLike(n, st)
		return
	}
	if n.Select != nil {
		t.createTableSelect(n, st)
		return
	}
	tref := t.tableRef(n.Table)
	st.Database = t.checkDBs()
	if n.TableSpec == nil || !n.FullyParsed {
		t.fail(syntaxError("incomplete CREATE TABLE", table))
		return
	}
	exists, known := t.tableExists(table)
	// A temporary table may shadow a permanent one; the executor knows
	// the session's temporary tables.
	if known && exists && !n.IfNotExists && !n.Temp {
		t.fail(errf(ErrTableExists, "42S01", "Table '%s' already exists", table))
		return
	}
	spec := n.TableSpec

	// primary key and auto-increment column
	var pk []string
	pkDefs := 0
	var ai string
	var names []string
	seen := map[string]bool{}
	for _, c := range spec.Columns {
		name := c.Name.String()
		if seen[strings.ToLower(name)] {
			t.fail(errf(ErrDupFieldName, "42S21", "Duplicate column name '%s'", name))
			return
		}
		seen[strings.ToLower(name)] = true
		names = append(names, name)
		if o := c.Type.Options; o != nil {
			if o.KeyOpt == sqlparser.ColKeyPrimary || o.KeyOpt == sqlparser.ColKey {
				pk = []string{name}
				pkDefs++
			}
			if o.Autoincrement {
				if ai != "" {
					t.fail(errf(ErrWrongAutoKey, "42000", "Incorrect table definition; there can be only one auto column and it must be defined as a key"))
					return
				}
				ai = name
			}
		}
	}
	for _, idx := range spec.Indexes {
		if idx.Info.Type == sqlparser.IndexTypePrimary {
			pk = indexColNames(idx.Columns)
			pkDefs++
		}
	}
	if pkDefs > 1 {
		t.fail(errf(ErrMultiplePriKey, "42000", "Multiple primary key defined"))
		return
	}
	if ai != "" {
		switch {
		case len(pk) > 1 && indexFold(pk, ai) >= 0:
			t.fail(errf(ErrWrongAutoKey, "42000", "marmot: AUTO_INCREMENT column '%s' must be the only column of the PRIMARY KEY; composite primary keys with an AUTO_INCREMENT column are not supported", ai))
			return
		case len(pk) != 1 || !strings.EqualFold(pk[0], ai):
			t.fail(errf(ErrWrongAutoKey, "42000", "marmot: AUTO_INCREMENT column '%s' must be the PRIMARY KEY", ai))
			return
		}
	}
	if len(pk) == 0 && !n.Temp {
		t.fail(errf(ErrRequiresPK, "HY000", "marmot: table '%s' has no PRIMARY KEY; replicated tables need one (add e.g. id BIGINT AUTO_INCREMENT PRIMARY KEY)", table))
		return
	}

	var defs []string
	for _, c := range spec.Columns {
		name := c.Name.String()
		if name == ai {
			defs = append(defs, qid(name)+" INTEGER PRIMARY KEY AUTOINCREMENT")
			if c.Type.Options != nil && c.Type.Options.OnUpdate != nil {
				t.fail(notSupported("ON UPDATE on an AUTO_INCREMENT column"))
			}
			continue
		}
		defs = append(defs, t.columnDef(table, c, true, ""))
	}
	var extra []string
	used := map[string]bool{}
	for _, idx := range spec.Indexes {
		if idx.Info.Type == sqlparser.IndexTypePrimary {
			if ai == "" {
				defs = append(defs, "PRIMARY KEY ("+t.indexColumns(idx.Columns)+")")
			}
			continue
		}
		if s, _ := t.createIndexSQL(table, tref, idx, used); s != "" {
			extra = append(extra, s)
		}
	}
	for _, cd := range spec.Constraints {
		prefix := ""
		if !cd.Name.IsEmpty() {
			prefix = "CONSTRAINT " + qid(cd.Name.String()) + " "
		}
		switch d := cd.Details.(type) {
		case *sqlparser.ForeignKeyDefinition:
			defs = append(defs, prefix+"FOREIGN KEY ("+identList(d.Source)+") "+t.references(d.ReferenceDefinition))
		case *sqlparser.CheckConstraintDefinition:
			if d.Enforced {
				defs = append(defs, prefix+"CHECK ("+t.expr(d.Expr)+")")
			}
		}
	}
	kw := "CREATE TABLE IF NOT EXISTS "
	if n.Temp {
		kw = "CREATE TEMP TABLE IF NOT EXISTS "
	}
	sql := kw + tref + " (" + strings.Join(defs, ", ") + ")"
	for _, e := range extra {
		sql += "; " + e
	}
	st.SQL = sql
	if !exists || !known {
		db := t.effDB()
		st.ovOps = append(st.ovOps, func() { t.schema.set(db, table, &ovTable{cols: names, ai: ai, def: n}) })
	}
}

func (t *tx) dropTable(n *sqlparser.DropTable, st *translated) {
	st.Kind = DropTable
	st.IfExists = n.IfExists
	st.Temporary = n.Temp
	var stmts, missing []string
	for _, tn := range n.FromTables {
		tref := t.tableRef(tn)
		if st.Table == "" {
			st.Table = tn.Name.String()
		}
		st.Tables = append(st.Tables, tn.Name.String())
		if n.Temp {
			tref = `"temp".` + tref
		}
		stmts = append(stmts, "DROP TABLE IF EXISTS "+tref)
	}
	st.Database = t.checkDBs()
	db := t.effDB()
	for _, tn := range n.FromTables {
		name := tn.Name.String()
		if exists, known := t.tableExists(name); known && !exists && !n.IfExists && !n.Temp {
			missing = append(missing, db+"."+name)
		}
		st.ovOps = append(st.ovOps, func() { t.schema.set(db, name, &ovTable{dropped: true}) })
	}
	if len(missing) > 0 {
		t.fail(errf(ErrBadTable, "42S02", "Unknown table '%s'", strings.Join(missing, ",")))
		return
	}
	st.SQL = strings.Join(stmts, "; ")
}

func (t *tx) renameTable(n *sqlparser.RenameTable, st *translated) {
	st.Kind = RenameTable
	var stmts []string
	for _, p := range n.TablePairs {
		from, to := t.tableRef(p.FromTable), t.tableRef(p.ToTable)
		if st.Table == "" {
			st.Table = p.FromTable.Name.String()
		}
		stmts = append(stmts, "ALTER TABLE "+from+" RENAME TO "+to)
	}
	st.Database = t.checkDBs()
	db := t.effDB()
	// pairs are applied in order: "RENAME TABLE a TO tmp, b TO a" is valid
	state := map[string]bool{}
	exists := func(name string) (bool, bool) {
		if e, ok := state[strings.ToLower(name)]; ok {
			return e, true
		}
		return t.tableExists(name)
	}
	for _, p := range n.TablePairs {
		oldName, newName := p.FromTable.Name.String(), p.ToTable.Name.String()
		if e, known := exists(oldName); known && !e {
			t.fail(errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", db, oldName))
		}
		if e, known := exists(newName); known && e {
			t.fail(errf(ErrTableExists, "42S01", "Table '%s' already exists", newName))
		}
		state[strings.ToLower(oldName)] = false
		state[strings.ToLower(newName)] = true
		st.ovOps = append(st.ovOps, t.renameOp(db, oldName, newName))
	}
	st.SQL = strings.Join(stmts, "; ")
}

func (t *tx) renameOp(db, oldName, newName string) func() {
	return func() {
		cols, ok, _ := t.schema.columns(db, oldName)
		ai, _ := t.schema.autoInc(db, oldName)
		t.schema.set(db, oldName, &ovTable{dropped: true})
		if ok {
			t.schema.set(db, newName, &ovTable{cols: cols, ai: ai})
		}
	}
}

func (t *tx) createView(name sqlparser.TableName, cols sqlparser.Columns, sel sqlparser.TableStatement, replace bool, st *translated) {
	st.Kind = CreateView
	view := name.Name.String()
	st.Table = view
	vref := t.tableRef(name)
	body := t.topStmt(sel)
	st.Database = t.checkDBs()
	colList := ""
	if len(cols) > 0 {
		colList = " (" + identList(cols) + ")"
	}
	db := t.effDB()
	st.ovOps = append(st.ovOps, func() { t.schema.set(db, view, &ovTable{}) })
	if replace {
		st.SQL = "DROP VIEW IF EXISTS " + vref + "; CREATE VIEW " + vref + colList + " AS " + body
		return
	}
	if exists, known := t.tableExists(view); known && exists {
		t.fail(errf(ErrTableExists, "42S01", "Table '%s' already exists", view))
		return
	}
	st.IfNotExists = true
	st.SQL = "CREATE VIEW IF NOT EXISTS " + vref + colList + " AS " + body
}

func (t *tx) dropView(n *sqlparser.DropView, st *translated) {
	st.Kind = DropView
	st.IfExists = n.IfExists
	var stmts, missing []string
	for _, tn := range n.FromTables {
		if st.Table == "" {
			st.Table = tn.Name.String()
		}
		stmts = append(stmts, "DROP VIEW IF EXISTS "+t.tableRef(tn))
	}
	st.Database = t.checkDBs()
	db := t.effDB()
	for _, tn := range n.FromTables {
		name := tn.Name.String()
		if exists, known := t.tableExists(name); known && !exists && !n.IfExists {
			missing = append(missing, db+"."+name)
		}
		st.ovOps = append(st.ovOps, func() { t.schema.set(db, name, &ovTable{dropped: true}) })
	}
	if len(missing) > 0 {
		t.fail(errf(ErrBadTable, "42S02", "Unknown table '%s'", strings.Join(missing, ",")))
		return
	}
	st.SQL = strings.Join(stmts, "; ")
}

// alterTable translates ALTER TABLE (and CREATE INDEX / DROP INDEX, which
// vitess parses as ALTER TABLE) into SQLite statements, one per alter spec.
func (t *tx) alterTable(n *sqlparser.AlterTable, st *translated, lead []string) {
	st.Kind = AlterTable
	switch {
	case len(lead) >= 2 && lead[0] == "CREATE":
		st.Kind = CreateIndex
		st.IfNotExists = true
	case len(lead) >= 2 && lead[0] == "DROP" && lead[1] == "INDEX":
		st.Kind = DropIndex
		st.IfExists = true
	}
	table := n.Table.Name.String()
	st.Table = table
	tref := t.tableRef(n.Table)
	st.Database = t.checkDBs()
	if !n.FullyParsed {
		t.fail(syntaxError("incomplete ALTER TABLE", table))
		return
	}
	t.requireTable(table)
	db := t.effDB()
	alter := "ALTER TABLE " + tref
	var stmts []string
	for _, opt := range n.AlterOptions {
		switch o := opt.(type) {
		case *sqlparser.AddColumns:
			for _, cd := range o.Columns {
				stmts = append(stmts, t.addColumn(table, tref, cd)...)
				name := cd.Name.String()
				st.ovOps = append(st.ovOps, t.colOp(db, table, func(cols []string) []string { return append(cols, name) }))
			}
		case *sqlparser.DropColumn:
			name := o.Name.Name.String()
			stmts = append(stmts, alter+" DROP COLUMN "+qid(name))
			st.ovOps = append(st.ovOps, t.colOp(db, table, func(cols []string) []string {
				if i := indexFold(cols, name); i >= 0 {
					return append(cols[:i:i], cols[i+1:]...)
				}
				return cols
			}))
		case *sqlparser.RenameColumn:
			stmts = append(stmts, t.renameColumn(alter, db, table, o.OldName.Name.String(), o.NewName.Name.String(), st)...)
		case *sqlparser.ChangeColumn:
			t.noteOnUpdate(o.NewColDefinition)
			stmts = append(stmts, t.renameColumn(alter, db, table, o.OldColumn.Name.String(), o.NewColDefinition.Name.String(), st)...)
		case *sqlparser.ModifyColumn:
			// SQLite cannot change a column's type, default or nullability: accepted as a no-op.
			t.noteOnUpdate(o.NewColDefinition)
		case *sqlparser.RenameTableName:
			if q := o.Table.Qualifier.String(); q != "" && q != db {
				t.fail(notSupported("renaming a table into another database is not supported"))
				return
			}
			newName := o.Table.Name.String()
			stmts = append(stmts, alter+" RENAME TO "+qid(newName))
			st.ovOps = append(st.ovOps, t.renameOp(db, table, newName))
			alter = "ALTER TABLE " + qid(newName)
			table, tref = newName, qid(newName)
		case *sqlparser.AddIndexDefinition:
			if o.IndexDefinition.Info.Type == sqlparser.IndexTypePrimary {
				t.fail(notSupported("ALTER TABLE ... ADD PRIMARY KEY is not supported (SQLite cannot change a table's primary key); recreate the table"))
				return
			}
			s, name := t.createIndexSQL(table, tref, o.IndexDefinition, nil)
			if st.Name == "" {
				st.Name = name
			}
			if s != "" {
				stmts = append(stmts, s)
			}
		case *sqlparser.DropKey:
			switch o.Type {
			case sqlparser.NormalKeyType:
				if st.Name == "" {
					st.Name = o.Name.String()
				}
				stmts = append(stmts, "DROP INDEX IF EXISTS "+indexName(table, o.Name.String()))
			case sqlparser.PrimaryKeyType:
				t.fail(notSupported("ALTER TABLE ... DROP PRIMARY KEY is not supported"))
				return
			case sqlparser.ForeignKeyType:
				// foreign keys added by ALTER TABLE are not kept, so dropping one is a no-op
			default:
				t.fail(notSupported("ALTER TABLE ... DROP CHECK/CONSTRAINT is not supported"))
				return
			}
		case *sqlparser.AddConstraintDefinition:
			if _, isFK := o.ConstraintDefinition.Details.(*sqlparser.ForeignKeyDefinition); !isFK {
				t.fail(notSupported("ALTER TABLE ... ADD CHECK is not supported (SQLite cannot add constraints to a table)"))
				return
			}
			// SQLite cannot add a foreign key to an existing table: accepted, not enforced.
		case *sqlparser.RenameIndex:
			t.fail(notSupported("ALTER TABLE ... RENAME INDEX is not supported; drop and re-create the index"))
			return
		case *sqlparser.AlterColumn, *sqlparser.KeyState, *sqlparser.AlterCharset, sqlparser.TableOptions,
			sqlparser.AlgorithmValue, *sqlparser.LockOption, *sqlparser.Force, *sqlparser.OrderByOption,
			*sqlparser.Validation, *sqlparser.AlterIndex, *sqlparser.TablespaceOperation, *sqlparser.AlterCheck:
			// no effect on SQLite storage (documented as accepted no-ops)
		default:
			t.fail(notSupported("ALTER TABLE option %s is not supported", strings.TrimSpace(sqlparser.String(o))))
			return
		}
	}
	if st.Kind == AlterTable {
		st.Name = ""
	}
	if len(stmts) == 0 {
		st.Kind = Noop
		return
	}
	st.SQL = strings.Join(stmts, "; ")
}

func (t *tx) noteOnUpdate(cd *sqlparser.ColumnDefinition) {
	if o := cd.Type.Options; o != nil && o.OnUpdate != nil {
		if _, ok := isNowExpr(o.OnUpdate); ok {
			t.onUpdateNow = append(t.onUpdateNow, cd.Name.String())
		}
	}
}

func (t *tx) colOp(db, table string, f func([]string) []string) func() {
	return func() {
		cols, ok, _ := t.schema.columns(db, table)
		if !ok {
			return
		}
		ai, _ := t.schema.autoInc(db, table)
		t.schema.set(db, table, &ovTable{cols: f(append([]string(nil), cols...)), ai: ai})
	}
}

func (t *tx) renameColumn(alter, db, table, oldName, newName string, st *translated) []string {
	if oldName == newName {
		return nil
	}
	st.ovOps = append(st.ovOps, t.colOp(db, table, func(cols []string) []string {
		if i := indexFold(cols, oldName); i >= 0 {
			cols[i] = newName
		}
		return cols
	}))
	return []string{alter + " RENAME COLUMN " + qid(oldName) + " TO " + qid(newName)}
}

// addColumn renders ALTER TABLE ADD COLUMN (plus a CREATE UNIQUE INDEX for a UNIQUE column).
func (t *tx) addColumn(table, tref string, cd *sqlparser.ColumnDefinition) []string {
	o := cd.Type.Options
	if o == nil {
		o = &sqlparser.ColumnTypeOptions{}
	}
	name := cd.Name.String()
	switch {
	case o.Autoincrement:
		t.fail(notSupported("adding an AUTO_INCREMENT column is not supported; recreate the table"))
		return nil
	case o.KeyOpt == sqlparser.ColKeyPrimary || o.KeyOpt == sqlparser.ColKey:
		t.fail(notSupported("adding a PRIMARY KEY column is not supported; recreate the table"))
		return nil
	case o.As != nil && o.Storage == sqlparser.StoredStorage:
		t.fail(notSupported("adding a STORED generated column is not supported (SQLite cannot add one)"))
		return nil
	}
	if o.Default != nil {
		if _, ok := isNowExpr(o.Default); ok {
			t.fail(notSupported("ALTER TABLE ADD COLUMN %s with DEFAULT CURRENT_TIMESTAMP is not supported (SQLite cannot add a column with a non-constant default)", name))
			return nil
		}
	}
	implicit := ""
	if o.Null != nil && !*o.Null && o.Default == nil && o.As == nil {
		// MySQL fills existing rows with the type's implicit default; SQLite needs an explicit one.
		implicit = mapType(cd.Type).implicit
	}
	def := t.columnDef(table, cd, false, implicit)
	stmts := []string{"ALTER TABLE " + tref + " ADD COLUMN " + def}
	if o.KeyOpt == sqlparser.ColKeyUnique || o.KeyOpt == sqlparser.ColKeyUniqueKey {
		stmts = append(stmts, "CREATE UNIQUE INDEX IF NOT EXISTS "+indexName(table, name)+" ON "+tref+" ("+qid(name)+")")
	}
	return stmts
}

// isCharType reports whether a column type is a character string type.
func isCharType(ct *sqlparser.ColumnType) bool {
	switch strings.ToUpper(ct.Type) {
	case "CHAR", "VARCHAR", "TINYTEXT", "TEXT", "MEDIUMTEXT", "LONGTEXT", "ENUM", "SET":
		return true
	}
	return false
}

// caseInsensitive reports whether a column compares like MySQL's default
// _ci collations: character columns do, unless declared binary or with a
// _bin/binary collation. They get CICollation (tables made before it have
// SQLite's NOCASE, which folds ASCII letters only).
func caseInsensitive(ct *sqlparser.ColumnType, o *sqlparser.ColumnTypeOptions) bool {
	if !isCharType(ct) {
		return false
	}
	if ct.Charset.Binary || strings.EqualFold(ct.Charset.Name, "binary") {
		return false
	}
	c := strings.ToLower(o.Collate)
	return !strings.HasSuffix(c, "_bin") && c != "binary"
}
