package frontend

// Schema metadata in MySQL's terms, recovered from a database's SQLite
// schema (sqlite_master plus PRAGMA table_xinfo / index_list / index_xinfo /
// foreign_key_list). SHOW COLUMNS, SHOW INDEX, SHOW CREATE TABLE, SHOW TABLE
// STATUS, SHOW TRIGGERS and every information_schema table are answered
// from this one model, so they agree with each other.

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// queryer is what the loaders need from a connection.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// dbMeta is one database's tables, views and triggers.
type dbMeta struct {
	tables   []*tableMeta // sorted by name
	triggers []*triggerMeta
}

func (m *dbMeta) table(name string) *tableMeta {
	for _, t := range m.tables {
		if t.name == name {
			return t
		}
	}
	for _, t := range m.tables {
		if strings.EqualFold(t.name, name) {
			return t
		}
	}
	return nil
}

// tableMeta is one table or view.
type tableMeta struct {
	name    string
	view    bool
	temp    bool   // one of the session's TEMPORARY tables
	sql     string // sqlite_master.sql
	cols    []*colMeta
	pk      []string // primary key columns, in key order
	indexes []*indexMeta
	fks     []*fkMeta
	checks  []checkMeta // table CHECK constraints (ENUM/SET checks are types)
	autoInc string      // AUTO_INCREMENT column
	// Statistics, filled by loadStats.
	rows    int64
	nextID  any // AUTO_INCREMENT value: max(id)+1, or nil
	hasStat bool
}

func (t *tableMeta) col(name string) *colMeta {
	for _, c := range t.cols {
		if strings.EqualFold(c.name, name) {
			return c
		}
	}
	return nil
}

// colMeta is one column.
type colMeta struct {
	name     string
	decl     string // SQLite declared type
	typ      mysqlType
	notNull  bool
	dflt     sql.NullString // default as SQLite text ('x', 0, CURRENT_TIMESTAMP, (expr))
	pkPos    int            // position in the primary key (1-based), 0 if none
	autoInc  bool
	onUpdate bool   // ON UPDATE CURRENT_TIMESTAMP (kept by a hidden trigger)
	genExpr  string // generated column expression (SQLite text)
	stored   bool
	collate  string
	ordinal  int
	inlineUq bool
}

// indexMeta is one secondary index (PRIMARY is tableMeta.pk).
type indexMeta struct {
	name     string // MySQL name (without the "<table>__" prefix)
	sqlite   string // SQLite name
	unique   bool
	cols     []string // "" for an expression part
	desc     []bool
	origin   string // "c" CREATE INDEX, "u" UNIQUE constraint
	partial  bool
	hasExpr  bool
	sqliteID int64 // sqlite_master rowid (creation order)
}

// fkMeta is one foreign key.
type fkMeta struct {
	name     string
	cols     []string
	refTable string
	refCols  []string
	onUpdate string
	onDelete string
}

type checkMeta struct {
	name string
	expr string // SQLite text
}

// triggerMeta is one trigger.
type triggerMeta struct {
	name      string
	table     string
	timing    string // BEFORE, AFTER, INSTEAD OF
	event     string // INSERT, UPDATE, DELETE
	when      string // WHEN condition (SQLite text), if any
	body      string // MySQL-quoted action statement
	sql       string
	actionSeq int
}

// hiddenName reports whether a schema object is marmot's or SQLite's own.
func hiddenName(n string) bool {
	l := strings.ToLower(n)
	return strings.HasPrefix(l, "sqlite_") || strings.HasPrefix(l, "__marmot")
}

// loadDBMeta reads every table, view and trigger of the database q reads.
func loadDBMeta(ctx context.Context, q queryer) (*dbMeta, error) {
	onUpdate := map[string]bool{} // table\x00column
	rows, err := q.QueryContext(ctx, `SELECT rowid, type, name, tbl_name, sql FROM sqlite_master WHERE type IN ('table','view','index','trigger') ORDER BY rowid`)
	if err != nil {
		return nil, err
	}
	type obj struct {
		id                   int64
		typ, name, tbl, text string
	}
	var objs []obj
	for rows.Next() {
		var o obj
		var text sql.NullString
		if err := rows.Scan(&o.id, &o.typ, &o.name, &o.tbl, &text); err != nil {
			rows.Close()
			return nil, err
		}
		o.text = text.String
		objs = append(objs, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	m := &dbMeta{}
	indexIDs := map[string]int64{}
	for _, o := range objs {
		if o.typ == "index" {
			indexIDs[o.name] = o.id
		}
	}
	for _, o := range objs {
		switch o.typ {
		case "table", "view":
			if hiddenName(o.name) {
				continue
			}
			t, err := loadTableMetaSQL(ctx, q, o.name, o.typ == "view", o.text, indexIDs)
			if err != nil {
				if o.typ == "view" {
					// A view over a dropped table still lists, without columns.
					t = &tableMeta{name: o.name, view: true, sql: o.text}
				} else {
					return nil, err
				}
			}
			m.tables = append(m.tables, t)
		case "trigger":
			if col, ok := strings.CutPrefix(o.name, "__marmot_onupd__"+o.tbl+"__"); ok {
				onUpdate[o.tbl+"\x00"+col] = true
			}
			if hiddenName(o.name) || hiddenName(o.tbl) {
				continue
			}
			m.triggers = append(m.triggers, parseTrigger(o.name, o.tbl, o.text))
		}
	}
	for _, t := range m.tables {
		for _, c := range t.cols {
			c.onUpdate = onUpdate[t.name+"\x00"+c.name]
		}
	}
	sort.Slice(m.tables, func(i, j int) bool { return m.tables[i].name < m.tables[j].name })
	order := map[string]int{}
	for _, tr := range m.triggers {
		k := tr.table + "\x00" + tr.event + "\x00" + tr.timing
		order[k]++
		tr.actionSeq = order[k]
	}
	return m, nil
}

// loadTableMeta reads one table or view; ok=false if there is none.
func loadTableMeta(ctx context.Context, q queryer, name string) (*tableMeta, bool, error) {
	var typ string
	var text sql.NullString
	err := q.QueryRowContext(ctx, `SELECT type, sql FROM sqlite_master WHERE type IN ('table','view') AND name = ?`, name).Scan(&typ, &text)
	if err == sql.ErrNoRows {
		err = q.QueryRowContext(ctx, `SELECT type, sql, name FROM sqlite_master WHERE type IN ('table','view') AND name = ? COLLATE NOCASE`, name).Scan(&typ, &text, &name)
	}
	if err == sql.ErrNoRows || (err == nil && hiddenName(name)) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	indexIDs := map[string]int64{}
	rows, err := q.QueryContext(ctx, `SELECT rowid, name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?`, name)
	if err != nil {
		return nil, false, err
	}
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return nil, false, err
		}
		indexIDs[n] = id
	}
	rows.Close()
	t, err := loadTableMetaSQL(ctx, q, name, typ == "view", text.String, indexIDs)
	if err != nil {
		return nil, false, err
	}
	prefix := "__marmot_onupd__" + name + "__"
	trows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? AND substr(name, 1, ?) = ?`, name, len(prefix), prefix)
	if err != nil {
		return nil, false, err
	}
	defer trows.Close()
	for trows.Next() {
		var n string
		if err := trows.Scan(&n); err != nil {
			return nil, false, err
		}
		for _, c := range t.cols {
			if c.name == strings.TrimPrefix(n, prefix) {
				c.onUpdate = true
			}
		}
	}
	return t, true, trows.Err()
}

func loadTableMetaSQL(ctx context.Context, q queryer, name string, view bool, text string, indexIDs map[string]int64) (*tableMeta, error) {
	t := &tableMeta{name: name, view: view, sql: text}
	var parsed *parsedTable
	if !view {
		parsed = parseCreateTable(text)
	} else {
		parsed = &parsedTable{cols: map[string]*parsedCol{}}
	}
	rows, err := q.QueryContext(ctx, `SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?)`, name)
	if err != nil {
		return nil, err
	}
	type pkc struct {
		pos  int
		name string
	}
	var pks []pkc
	for rows.Next() {
		var cid, notnull, pk, hidden int
		var cname string
		var decl sql.NullString
		var dflt sql.NullString
		if err := rows.Scan(&cid, &cname, &decl, &notnull, &dflt, &pk, &hidden); err != nil {
			rows.Close()
			return nil, err
		}
		if hidden == 1 {
			continue
		}
		c := &colMeta{name: cname, decl: decl.String, notNull: notnull == 1, dflt: dflt, pkPos: pk, ordinal: len(t.cols) + 1}
		if pc := parsed.cols[strings.ToLower(cname)]; pc != nil {
			c.genExpr, c.stored, c.collate, c.inlineUq = pc.generated, pc.stored, pc.collate, pc.unique
			if hidden == 3 {
				c.stored = true
			}
			if pc.check != "" {
				if vals, set, ok := enumFromCheck(cname, pc.check); ok {
					c.typ = enumType(vals, set)
				} else {
					t.checks = append(t.checks, checkMeta{name: pc.checkName, expr: pc.check})
				}
			}
		}
		if pk > 0 {
			pks = append(pks, pkc{pk, cname})
		}
		t.cols = append(t.cols, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(t.cols) == 0 && !view {
		return nil, fmt.Errorf("no such table: %s", name)
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
	for _, p := range pks {
		t.pk = append(t.pk, p.name)
	}
	// AUTO_INCREMENT: the materializer's rule (AUTOINCREMENT, or a bare
	// INTEGER PRIMARY KEY, which marmot also fills with cluster-unique ids).
	if !view && len(t.pk) == 1 {
		if c := t.col(t.pk[0]); c != nil && (parsed.autoinc || strings.EqualFold(strings.TrimSpace(c.decl), "INTEGER")) {
			c.autoInc = true
			t.autoInc = c.name
		}
	}
	for _, c := range t.cols {
		if c.typ.column == "" {
			decl := c.decl
			if c.autoInc {
				decl = "BIGINT"
			}
			c.typ = mysqlTypeOf(decl)
		}
		if c.autoInc || c.pkPos > 0 {
			c.notNull = true
		}
	}
	t.checks = append(t.checks, parsed.checks...)
	if view {
		return t, nil
	}
	if err := loadIndexes(ctx, q, t, parsed, indexIDs); err != nil {
		return nil, err
	}
	if err := loadForeignKeys(ctx, q, t, parsed); err != nil {
		return nil, err
	}
	// Unnamed CHECK constraints get MySQL's generated names.
	n := 0
	for i := range t.checks {
		if t.checks[i].name == "" {
			n++
			t.checks[i].name = fmt.Sprintf("%s_chk_%d", t.name, n)
		}
	}
	return t, nil
}

func loadIndexes(ctx context.Context, q queryer, t *tableMeta, parsed *parsedTable, indexIDs map[string]int64) error {
	rows, err := q.QueryContext(ctx, `SELECT name, "unique", origin, partial FROM pragma_index_list(?)`, t.name)
	if err != nil {
		return err
	}
	var idx []*indexMeta
	for rows.Next() {
		var name, origin string
		var unique, partial int
		if err := rows.Scan(&name, &unique, &origin, &partial); err != nil {
			rows.Close()
			return err
		}
		if origin == "pk" {
			continue
		}
		idx = append(idx, &indexMeta{sqlite: name, unique: unique == 1, origin: origin, partial: partial == 1, sqliteID: indexIDs[name]})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	sort.SliceStable(idx, func(i, j int) bool { return idx[i].sqliteID < idx[j].sqliteID })
	used := map[string]bool{"primary": true}
	for _, ix := range idx {
		crows, err := q.QueryContext(ctx, `SELECT cid, name, "desc" FROM pragma_index_xinfo(?) WHERE key = 1 ORDER BY seqno`, ix.sqlite)
		if err != nil {
			return err
		}
		for crows.Next() {
			var cid, desc int
			var cname sql.NullString
			if err := crows.Scan(&cid, &cname, &desc); err != nil {
				crows.Close()
				return err
			}
			if cid < 0 || !cname.Valid {
				ix.hasExpr = true
			}
			ix.cols = append(ix.cols, cname.String)
			ix.desc = append(ix.desc, desc == 1)
		}
		crows.Close()
		if err := crows.Err(); err != nil {
			return err
		}
	}
	// Names: CREATE INDEX "<table>__<name>" shows as <name>; UNIQUE
	// constraints take their constraint name or, as MySQL does, their first
	// column's name (then _2, _3, ...).
	for _, ix := range idx {
		if ix.origin == "c" {
			ix.name = mysqlIndexName(t.name, ix.sqlite)
			used[strings.ToLower(ix.name)] = true
		}
	}
	for _, ix := range idx {
		if ix.origin == "c" {
			continue
		}
		for _, u := range parsed.uniques {
			if u.name != "" && equalFoldList(u.cols, ix.cols) && !used[strings.ToLower(u.name)] {
				ix.name = u.name
				break
			}
		}
		if ix.name == "" {
			base := ix.sqlite
			if len(ix.cols) > 0 && ix.cols[0] != "" {
				base = ix.cols[0]
			}
			ix.name = base
			for n := 2; used[strings.ToLower(ix.name)]; n++ {
				ix.name = fmt.Sprintf("%s_%d", base, n)
			}
		}
		used[strings.ToLower(ix.name)] = true
	}
	t.indexes = idx
	return nil
}

// mysqlIndexName undoes the transpiler's "<table>__<name>" index naming
// (an index of a renamed table keeps its old prefix).
func mysqlIndexName(table, sqliteName string) string {
	if n, ok := strings.CutPrefix(sqliteName, table+"__"); ok && n != "" {
		return n
	}
	if i := strings.Index(sqliteName, "__"); i > 0 && i+2 < len(sqliteName) {
		return sqliteName[i+2:]
	}
	return sqliteName
}

func loadForeignKeys(ctx context.Context, q queryer, t *tableMeta, parsed *parsedTable) error {
	rows, err := q.QueryContext(ctx, `SELECT id, seq, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq`, t.name)
	if err != nil {
		return err
	}
	byID := map[int]*fkMeta{}
	var ids []int
	for rows.Next() {
		var id, seq int
		var table, from string
		var to sql.NullString
		var onUpdate, onDelete string
		if err := rows.Scan(&id, &seq, &table, &from, &to, &onUpdate, &onDelete); err != nil {
			rows.Close()
			return err
		}
		fk := byID[id]
		if fk == nil {
			fk = &fkMeta{refTable: table, onUpdate: onUpdate, onDelete: onDelete}
			byID[id] = fk
			ids = append(ids, id)
		}
		fk.cols = append(fk.cols, from)
		fk.refCols = append(fk.refCols, to.String)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// SQLite numbers foreign keys from the last declared; MySQL lists them
	// in declaration order.
	sort.Sort(sort.Reverse(sort.IntSlice(ids)))
	taken := map[int]bool{}
	n := 0
	for _, id := range ids {
		fk := byID[id]
		for i, p := range parsed.fks {
			if !taken[i] && strings.EqualFold(p.table, fk.refTable) && equalFoldList(p.cols, fk.cols) {
				taken[i] = true
				fk.name = p.name
				break
			}
		}
		if fk.name == "" {
			n++
			fk.name = fmt.Sprintf("%s_ibfk_%d", t.name, n)
		}
		t.fks = append(t.fks, fk)
	}
	// REFERENCES parent without columns means the parent's primary key.
	for _, fk := range t.fks {
		if len(fk.refCols) == 0 || fk.refCols[0] != "" {
			continue
		}
		prows, err := q.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, fk.refTable)
		if err != nil {
			return err
		}
		var pk []string
		for prows.Next() {
			var n string
			if err := prows.Scan(&n); err == nil {
				pk = append(pk, n)
			}
		}
		prows.Close()
		if len(pk) == len(fk.refCols) {
			fk.refCols = pk
		}
	}
	return nil
}

func equalFoldList(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// loadStats fills row counts and AUTO_INCREMENT values.
func loadStats(ctx context.Context, q queryer, m *dbMeta) {
	for _, t := range m.tables {
		loadTableStats(ctx, q, t)
	}
}

func loadTableStats(ctx context.Context, q queryer, t *tableMeta) {
	if t.view || t.hasStat {
		return
	}
	t.hasStat = true
	_ = q.QueryRowContext(ctx, "SELECT count(*) FROM "+sqliteIdent(t.name)).Scan(&t.rows)
	if t.autoInc != "" {
		var mx sql.NullInt64
		_ = q.QueryRowContext(ctx, "SELECT max("+sqliteIdent(t.autoInc)+") FROM "+sqliteIdent(t.name)).Scan(&mx)
		t.nextID = mx.Int64 + 1
	}
}

func sqliteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// ---------------------------------------------------------------------
// MySQL types from SQLite declared types.

// mysqlType is a column's type as MySQL reports it.
type mysqlType struct {
	column    string // COLUMN_TYPE / SHOW COLUMNS Type, e.g. "bigint unsigned", "varchar(191)"
	data      string // DATA_TYPE, e.g. "bigint"
	charMax   any    // CHARACTER_MAXIMUM_LENGTH (int64 or nil)
	charOctet any    // CHARACTER_OCTET_LENGTH
	precision any    // NUMERIC_PRECISION
	scale     any    // NUMERIC_SCALE
	dtPrec    any    // DATETIME_PRECISION
	text      bool   // has a character set (utf8mb4)
	blobLike  bool   // TEXT/BLOB/JSON/GEOMETRY: no literal default in MySQL
	unsigned  bool
}

func (t mysqlType) charset() any {
	if t.text {
		return "utf8mb4"
	}
	return nil
}

func (t mysqlType) collation() any {
	if t.text {
		return "utf8mb4_general_ci"
	}
	return nil
}

// declParts splits a declared type into lower-case base name, the
// parenthesized arguments and the words after them.
func declParts(decl string) (base string, args []string, rest []string) {
	d := strings.ToLower(strings.TrimSpace(decl))
	head, tail := d, ""
	if i := strings.IndexByte(d, '('); i >= 0 {
		head = d[:i]
		if j := strings.IndexByte(d[i:], ')'); j >= 0 {
			for _, a := range strings.Split(d[i+1:i+j], ",") {
				args = append(args, strings.TrimSpace(a))
			}
			tail = d[i+j+1:]
		} else {
			tail = ""
		}
	}
	words := strings.Fields(head)
	rest = strings.Fields(tail)
	// "bigint unsigned" without parentheses: modifiers follow the base.
	var baseWords []string
	for _, w := range words {
		switch w {
		case "unsigned", "signed", "zerofill":
			rest = append(rest, w)
		default:
			baseWords = append(baseWords, w)
		}
	}
	return strings.Join(baseWords, " "), args, rest
}

func declArg(args []string, i int) (int64, bool) {
	if i >= len(args) {
		return 0, false
	}
	n, err := strconv.ParseInt(args[i], 10, 64)
	return n, err == nil
}

// mysqlTypeOf recovers the MySQL type from an SQLite declared type; the
// transpiler keeps MySQL names with marmot suffixes (DECIMAL_TEXT(p,s),
// JSON_TEXT, VARBINARY_BLOB(n), BIT_BLOB(n), GEOMETRY_BLOB), and tables
// marmot did not create get the closest MySQL type for their affinity.
// ENUM and SET are recovered by the caller from their CHECK (enumType).
func mysqlTypeOf(decl string) mysqlType {
	base, args, rest := declParts(decl)
	unsigned := false
	for _, w := range rest {
		if w == "unsigned" {
			unsigned = true
		}
	}
	n0, has0 := declArg(args, 0)
	n1, has1 := declArg(args, 1)
	intType := func(name string, prec int64) mysqlType {
		t := mysqlType{column: name, data: name, precision: prec, scale: int64(0), unsigned: unsigned}
		if name == "bigint" && unsigned {
			t.precision = int64(20)
		}
		if unsigned {
			t.column += " unsigned"
		}
		return t
	}
	text := func(name string, max int64) mysqlType {
		return mysqlType{column: name, data: name, charMax: max, charOctet: max, text: true, blobLike: true}
	}
	blob := func(name string, max int64) mysqlType {
		return mysqlType{column: name, data: name, charMax: max, charOctet: max, blobLike: true}
	}
	chars := func(name string, n int64) mysqlType {
		return mysqlType{column: fmt.Sprintf("%s(%d)", name, n), data: name, charMax: n, charOctet: 4 * n, text: true}
	}
	bins := func(name string, n int64) mysqlType {
		return mysqlType{column: fmt.Sprintf("%s(%d)", name, n), data: name, charMax: n, charOctet: n}
	}
	temporal := func(name string) mysqlType {
		t := mysqlType{column: name, data: name, dtPrec: int64(0)}
		if has0 && n0 > 0 && n0 <= 6 {
			t.column = fmt.Sprintf("%s(%d)", name, n0)
			t.dtPrec = n0
		}
		return t
	}
	decimal := func(p, s int64) mysqlType {
		t := mysqlType{column: fmt.Sprintf("decimal(%d,%d)", p, s), data: "decimal", precision: p, scale: s, unsigned: unsigned}
		if unsigned {
			t.column += " unsigned"
		}
		return t
	}
	floating := func(name string, prec int64) mysqlType {
		t := mysqlType{column: name, data: name, precision: prec, unsigned: unsigned}
		if has0 && has1 {
			t.column = fmt.Sprintf("%s(%d,%d)", name, n0, n1)
			t.precision, t.scale = n0, n1
		}
		if unsigned {
			t.column += " unsigned"
		}
		return t
	}
	switch base {
	case "tinyint":
		if has0 && n0 == 1 && !unsigned {
			t := intType("tinyint", 3)
			t.column = "tinyint(1)"
			return t
		}
		return intType("tinyint", 3)
	case "bool", "boolean":
		t := intType("tinyint", 3)
		t.column = "tinyint(1)"
		return t
	case "smallint", "int2":
		return intType("smallint", 5)
	case "mediumint", "middleint", "int3":
		return intType("mediumint", 7)
	case "int", "integer", "int4":
		return intType("int", 10)
	case "bigint", "int8", "big int", "unsigned big int", "serial":
		if base == "unsigned big int" || base == "serial" {
			unsigned = true
		}
		return intType("bigint", 19)
	case "decimal_text", "decimal", "numeric", "dec", "fixed":
		switch {
		case has0 && has1:
			return decimal(n0, n1)
		case has0:
			return decimal(n0, 0)
		case base == "numeric":
			return decimal(65, 30) // SQLite NUMERIC: any number
		}
		return decimal(10, 0)
	case "float", "float4":
		return floating("float", 12)
	case "double", "double precision", "real", "float8":
		return floating("double", 22)
	case "char", "nchar", "character", "native character":
		if has0 {
			return chars("char", n0)
		}
		return text("text", 65535)
	case "varchar", "nvarchar", "character varying", "varying character", "varchar2", "nvarchar2":
		if has0 {
			return chars("varchar", n0)
		}
		return text("text", 65535)
	case "tinytext":
		return text("tinytext", 255)
	case "text":
		return text("text", 65535)
	case "mediumtext":
		return text("mediumtext", 16777215)
	case "longtext", "clob":
		return text("longtext", 4294967295)
	case "json_text", "json":
		return mysqlType{column: "json", data: "json", blobLike: true}
	case "binary_blob", "binary":
		if !has0 {
			n0 = 1
		}
		return bins("binary", n0)
	case "varbinary_blob", "varbinary":
		if !has0 {
			return blob("blob", 65535)
		}
		return bins("varbinary", n0)
	case "tinyblob":
		return blob("tinyblob", 255)
	case "blob", "":
		return blob("blob", 65535)
	case "mediumblob":
		return blob("mediumblob", 16777215)
	case "longblob":
		return blob("longblob", 4294967295)
	case "bit_blob", "bit":
		if !has0 {
			n0 = 1
		}
		return mysqlType{column: fmt.Sprintf("bit(%d)", n0), data: "bit", precision: n0}
	case "geometry_blob", "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection":
		name := base
		if name == "geometry_blob" {
			name = "geometry"
		}
		return mysqlType{column: name, data: name, blobLike: true}
	case "date":
		return mysqlType{column: "date", data: "date"}
	case "datetime":
		return temporal("datetime")
	case "timestamp":
		return temporal("timestamp")
	case "time":
		return temporal("time")
	case "year":
		return mysqlType{column: "year", data: "year"}
	}
	// Unknown names (tables marmot did not create): SQLite's affinity rules.
	up := strings.ToUpper(base)
	switch {
	case strings.Contains(up, "INT"):
		return intType("bigint", 19)
	case strings.Contains(up, "CHAR") || strings.Contains(up, "CLOB") || strings.Contains(up, "TEXT"):
		return text("text", 65535)
	case strings.Contains(up, "BLOB"):
		return blob("blob", 65535)
	case strings.Contains(up, "REAL") || strings.Contains(up, "FLOA") || strings.Contains(up, "DOUB"):
		return floating("double", 22)
	}
	return text("text", 65535)
}

// enumType is the MySQL type of an ENUM or SET column.
func enumType(vals []string, set bool) mysqlType {
	q := make([]string, len(vals))
	var max, sum int64
	for i, v := range vals {
		q[i] = mysqlString(v)
		n := int64(len([]rune(v)))
		sum += n
		if n > max {
			max = n
		}
	}
	name := "enum"
	if set {
		name = "set"
		max = sum + int64(len(vals)) - 1
		if max < 0 {
			max = 0
		}
	}
	return mysqlType{column: name + "(" + strings.Join(q, ",") + ")", data: name, charMax: max, charOctet: 4 * max, text: true}
}

// enumFromCheck recognises the CHECK constraints the transpiler writes for
// ENUM and SET columns and returns the allowed values.
func enumFromCheck(col, check string) (vals []string, set bool, ok bool) {
	toks := sqlTokens(check)
	isCol := func(i int) bool {
		return i < len(toks) && (toks[i].kind == 'i' || toks[i].kind == 'w') && strings.EqualFold(toks[i].val, col)
	}
	word := func(i int, w string) bool {
		return i < len(toks) && toks[i].kind == 'w' && strings.EqualFold(toks[i].val, w)
	}
	punct := func(i int, p string) bool { return i < len(toks) && toks[i].kind == 'p' && toks[i].val == p }
	// `c` IN ('a', 'b') OR `c` IS NULL
	if isCol(0) && word(1, "IN") && punct(2, "(") {
		i := 3
		for {
			if i >= len(toks) || toks[i].kind != 's' {
				return nil, false, false
			}
			vals = append(vals, toks[i].val)
			i++
			if punct(i, ",") {
				i++
				continue
			}
			break
		}
		if punct(i, ")") && word(i+1, "OR") && isCol(i+2) && word(i+3, "IS") && word(i+4, "NULL") && i+5 == len(toks) {
			return vals, false, true
		}
		return nil, false, false
	}
	// `c` IS NULL OR `c` = '' OR replace(replace(',' || `c` || ',', ',a,', ','), ',b,', ',') = ','
	if isCol(0) && word(1, "IS") && word(2, "NULL") && word(3, "OR") && isCol(4) && punct(5, "=") && isEmptyString(toks, 6) && word(7, "OR") {
		for i := 8; i < len(toks); i++ {
			t := toks[i]
			if t.kind == 's' && len(t.val) >= 2 && t.val != "," && strings.HasPrefix(t.val, ",") && strings.HasSuffix(t.val, ",") &&
				punct(i+1, ",") && i+2 < len(toks) && toks[i+2].kind == 's' && toks[i+2].val == "," && punct(i+3, ")") {
				vals = append(vals, t.val[1:len(t.val)-1])
			}
		}
		if len(vals) > 0 {
			return vals, true, true
		}
	}
	return nil, false, false
}

func isEmptyString(toks []sqlTok, i int) bool {
	return i < len(toks) && toks[i].kind == 's' && toks[i].val == ""
}

// mysqlString quotes a string literal for MySQL (backslash escapes on).
func mysqlString(v string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range v {
		switch r {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case 26:
			b.WriteString(`\Z`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// mysqlIdent quotes an identifier with backticks.
func mysqlIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// mysqlExpr rewrites SQLite expression text for MySQL: "quoted" and
// [quoted] identifiers become `quoted` (string literals stay as they are,
// with backslashes escaped).
func mysqlExpr(s string) string {
	toks := sqlTokens(s)
	var b strings.Builder
	last := 0
	for _, t := range toks {
		switch {
		case t.kind == 'i' && s[t.pos] != '`':
			b.WriteString(s[last:t.pos])
			b.WriteString(mysqlIdent(t.val))
			last = t.end
		case t.kind == 's' && strings.ContainsAny(t.val, "\\\n\r\x00"):
			b.WriteString(s[last:t.pos])
			b.WriteString(mysqlString(t.val))
			last = t.end
		}
	}
	b.WriteString(s[last:])
	return b.String()
}

// ---------------------------------------------------------------------
// Default values.

// defaultKind classifies a column default as SQLite wrote it.
type defaultKind int

const (
	dfltNone defaultKind = iota
	dfltNull
	dfltLiteral // value is the literal's text
	dfltNow     // CURRENT_TIMESTAMP and friends
	dfltExpr    // (expression)
)

// columnDefault decodes a PRAGMA table_info dflt_value.
func columnDefault(d sql.NullString) (defaultKind, string) {
	if !d.Valid {
		return dfltNone, ""
	}
	v := strings.TrimSpace(d.String)
	toks := sqlTokens(v)
	switch {
	case len(toks) == 0:
		return dfltNone, ""
	case len(toks) == 1 && toks[0].kind == 'w' && strings.EqualFold(v, "NULL"):
		return dfltNull, ""
	case len(toks) == 1 && toks[0].kind == 's':
		return dfltLiteral, toks[0].val
	case len(toks) == 1 && toks[0].kind == 'w' && strings.EqualFold(v, "TRUE"):
		return dfltLiteral, "1"
	case len(toks) == 1 && toks[0].kind == 'w' && strings.EqualFold(v, "FALSE"):
		return dfltLiteral, "0"
	case len(toks) == 1 && toks[0].kind == 'w' && (strings.EqualFold(v, "CURRENT_TIMESTAMP") || strings.EqualFold(v, "CURRENT_DATE") || strings.EqualFold(v, "CURRENT_TIME")):
		return dfltNow, strings.ToUpper(v)
	case v[0] == '(':
		return dfltExpr, v
	case isNumberText(v):
		return dfltLiteral, strings.TrimPrefix(v, "+")
	case len(toks) == 2 && toks[0].kind == 'w' && strings.EqualFold(toks[0].val, "X") && toks[1].kind == 's':
		return dfltExpr, v
	}
	return dfltExpr, "(" + v + ")"
}

func isNumberText(v string) bool {
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return true
	}
	if _, err := strconv.ParseInt(v, 0, 64); err == nil {
		return true
	}
	return false
}

// showDefault is a default as SHOW COLUMNS / information_schema show it.
func (c *colMeta) showDefault() any {
	if c.autoInc {
		return nil
	}
	k, v := columnDefault(c.dflt)
	switch k {
	case dfltLiteral:
		return v
	case dfltNow:
		if fsp, ok := c.typ.dtPrec.(int64); ok && fsp > 0 && v == "CURRENT_TIMESTAMP" {
			return fmt.Sprintf("CURRENT_TIMESTAMP(%d)", fsp)
		}
		return v
	case dfltExpr:
		return mysqlExpr(trimParens(v))
	}
	return nil
}

// extra is SHOW COLUMNS' Extra.
func (c *colMeta) extra() string {
	switch {
	case c.autoInc:
		return "auto_increment"
	case c.genExpr != "" && c.stored:
		return "STORED GENERATED"
	case c.genExpr != "":
		return "VIRTUAL GENERATED"
	}
	if k, _ := columnDefault(c.dflt); k == dfltNow || k == dfltExpr {
		return "DEFAULT_GENERATED"
	}
	return ""
}

func trimParens(v string) string {
	v = strings.TrimSpace(v)
	for len(v) >= 2 && v[0] == '(' && v[len(v)-1] == ')' {
		// only when the outer parentheses enclose everything
		depth := 0
		ok := true
		for _, t := range sqlTokens(v) {
			if t.kind != 'p' {
				continue
			}
			switch t.val {
			case "(":
				depth++
			case ")":
				depth--
				if depth == 0 && t.end != len(v) {
					ok = false
				}
			}
			if !ok {
				break
			}
		}
		if !ok {
			break
		}
		v = strings.TrimSpace(v[1 : len(v)-1])
	}
	return v
}

// columnKey is SHOW COLUMNS' Key: PRI, UNI (single-column unique index) or
// MUL (first column of another index).
func (t *tableMeta) columnKey(c *colMeta) string {
	if c.pkPos > 0 {
		return "PRI"
	}
	key := ""
	for _, ix := range t.indexes {
		if len(ix.cols) == 0 || !strings.EqualFold(ix.cols[0], c.name) {
			continue
		}
		if ix.unique && len(ix.cols) == 1 {
			return "UNI"
		}
		key = "MUL"
	}
	return key
}

// sortedIndexes returns the secondary indexes as MySQL lists them: unique
// keys first, each group in creation order.
func (t *tableMeta) sortedIndexes() []*indexMeta {
	out := make([]*indexMeta, 0, len(t.indexes))
	for _, ix := range t.indexes {
		if ix.unique {
			out = append(out, ix)
		}
	}
	for _, ix := range t.indexes {
		if !ix.unique {
			out = append(out, ix)
		}
	}
	return out
}

// ---------------------------------------------------------------------
// SQLite DDL tokenizer and CREATE TABLE / CREATE TRIGGER parsers.

type sqlTok struct {
	kind     byte   // 'w' word or number, 'i' quoted identifier, 's' string, 'p' punctuation
	val      string // word text, unquoted identifier or string value, punctuation
	pos, end int    // byte offsets in the source
}

func sqlTokens(s string) []sqlTok {
	var out []sqlTok
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(s) && s[i+1] == '-':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(s) && s[i+1] == '*':
			j := strings.Index(s[i+2:], "*/")
			if j < 0 {
				i = len(s)
			} else {
				i += j + 4
			}
		case c == '\'' || c == '"' || c == '`' || c == '[':
			closer := c
			if c == '[' {
				closer = ']'
			}
			var b strings.Builder
			j := i + 1
			for j < len(s) {
				if s[j] == closer {
					if closer != ']' && j+1 < len(s) && s[j+1] == closer {
						b.WriteByte(closer)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			kind := byte('i')
			if c == '\'' {
				kind = 's'
			}
			end := j + 1
			if end > len(s) {
				end = len(s)
			}
			out = append(out, sqlTok{kind: kind, val: b.String(), pos: i, end: end})
			i = end
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, sqlTok{kind: 'w', val: s[i:j], pos: i, end: j})
			i = j
		default:
			out = append(out, sqlTok{kind: 'p', val: string(c), pos: i, end: i + 1})
			i++
		}
	}
	return out
}

func isWordByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func (t sqlTok) is(words ...string) bool {
	if t.kind != 'w' {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.val, w) {
			return true
		}
	}
	return false
}

func (t sqlTok) isP(p string) bool { return t.kind == 'p' && t.val == p }

// matchParen returns the index of the ")" closing the "(" at toks[i].
func matchParen(toks []sqlTok, i int) int {
	depth := 0
	for j := i; j < len(toks); j++ {
		if toks[j].isP("(") {
			depth++
		} else if toks[j].isP(")") {
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(toks) - 1
}

type parsedCol struct {
	autoinc   bool
	check     string
	checkName string
	generated string
	stored    bool
	unique    bool
	collate   string
}

type parsedFK struct {
	name  string
	cols  []string
	table string
}

type parsedUnique struct {
	name string
	cols []string
}

type parsedTable struct {
	cols         map[string]*parsedCol // by lower-case name
	checks       []checkMeta
	fks          []parsedFK
	uniques      []parsedUnique
	autoinc      bool
	withoutRowid bool
}

var columnConstraintWords = []string{"CONSTRAINT", "PRIMARY", "NOT", "NULL", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "REFERENCES", "GENERATED", "AS"}

// parseCreateTable extracts what PRAGMAs do not tell from CREATE TABLE
// text: AUTOINCREMENT, CHECK expressions, generated column expressions,
// constraint names.
func parseCreateTable(text string) *parsedTable {
	p := &parsedTable{cols: map[string]*parsedCol{}}
	toks := sqlTokens(text)
	open := -1
	for i, t := range toks {
		if t.isP("(") {
			open = i
			break
		}
		if t.is("AS") {
			return p // CREATE TABLE ... AS SELECT
		}
	}
	if open < 0 {
		return p
	}
	closeAt := matchParen(toks, open)
	for _, t := range toks[closeAt+1:] {
		if t.is("ROWID") {
			p.withoutRowid = true
		}
	}
	src := func(a, b int) string { // source text of toks[a..b]
		if a > b || a >= len(toks) {
			return ""
		}
		return text[toks[a].pos:toks[b].end]
	}
	// split the body at top-level commas
	var defs [][2]int
	start, depth := open+1, 0
	for i := open + 1; i < closeAt; i++ {
		switch {
		case toks[i].isP("("):
			depth++
		case toks[i].isP(")"):
			depth--
		case toks[i].isP(",") && depth == 0:
			defs = append(defs, [2]int{start, i - 1})
			start = i + 1
		}
	}
	defs = append(defs, [2]int{start, closeAt - 1})
	for _, d := range defs {
		a, b := d[0], d[1]
		if a > b {
			continue
		}
		if toks[a].is("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN") {
			p.tableConstraint(toks, a, b, src)
			continue
		}
		p.column(toks, a, b, src)
	}
	return p
}

func parenIdents(toks []sqlTok, open int) ([]string, int) {
	closeAt := matchParen(toks, open)
	var out []string
	expect := true
	depth := 0
	for i := open + 1; i < closeAt; i++ {
		t := toks[i]
		switch {
		case t.isP("("):
			depth++
		case t.isP(")"):
			depth--
		case t.isP(",") && depth == 0:
			expect = true
		case expect && depth == 0 && (t.kind == 'i' || t.kind == 'w'):
			out = append(out, t.val)
			expect = false
		}
	}
	return out, closeAt
}

func (p *parsedTable) tableConstraint(toks []sqlTok, a, b int, src func(int, int) string) {
	name := ""
	i := a
	if toks[i].is("CONSTRAINT") && i+1 <= b {
		name = toks[i+1].val
		i += 2
	}
	if i > b {
		return
	}
	switch {
	case toks[i].is("CHECK"):
		if i+1 <= b && toks[i+1].isP("(") {
			c := matchParen(toks, i+1)
			p.checks = append(p.checks, checkMeta{name: name, expr: src(i+2, c-1)})
		}
	case toks[i].is("UNIQUE"):
		if i+1 <= b && toks[i+1].isP("(") {
			cols, _ := parenIdents(toks, i+1)
			p.uniques = append(p.uniques, parsedUnique{name: name, cols: cols})
		}
	case toks[i].is("FOREIGN"):
		for j := i; j <= b; j++ {
			if toks[j].isP("(") {
				cols, c := parenIdents(toks, j)
				fk := parsedFK{name: name, cols: cols}
				if c+2 <= b && toks[c+1].is("REFERENCES") {
					fk.table = toks[c+2].val
				}
				p.fks = append(p.fks, fk)
				break
			}
		}
	}
}

func (p *parsedTable) column(toks []sqlTok, a, b int, src func(int, int) string) {
	pc := &parsedCol{}
	p.cols[strings.ToLower(toks[a].val)] = pc
	i := a + 1
	for i <= b && !toks[i].is(columnConstraintWords...) {
		if toks[i].isP("(") {
			i = matchParen(toks, i)
		}
		i++
	}
	name := ""
	for i <= b {
		t := toks[i]
		switch {
		case t.is("CONSTRAINT"):
			if i+1 <= b {
				name = toks[i+1].val
			}
			i += 2
			continue
		case t.is("PRIMARY"):
			i++
			for i <= b && toks[i].is("KEY", "ASC", "DESC", "ON", "CONFLICT", "ROLLBACK", "ABORT", "FAIL", "IGNORE", "REPLACE", "AUTOINCREMENT") {
				if toks[i].is("AUTOINCREMENT") {
					pc.autoinc = true
					p.autoinc = true
				}
				i++
			}
		case t.is("UNIQUE"):
			pc.unique = true
			i++
		case t.is("CHECK"):
			if i+1 <= b && toks[i+1].isP("(") {
				c := matchParen(toks, i+1)
				pc.check, pc.checkName = src(i+2, c-1), name
				i = c + 1
			} else {
				i++
			}
		case t.is("DEFAULT"):
			i++
			if i <= b && toks[i].isP("(") {
				i = matchParen(toks, i) + 1
			} else {
				if i <= b && (toks[i].isP("-") || toks[i].isP("+")) {
					i++
				}
				i++
				// 1.5 is three tokens
				for i+1 <= b && toks[i].isP(".") && toks[i+1].kind == 'w' {
					i += 2
				}
			}
		case t.is("COLLATE"):
			if i+1 <= b {
				pc.collate = toks[i+1].val
			}
			i += 2
		case t.is("GENERATED", "AS"):
			for i <= b && !toks[i].isP("(") {
				i++
			}
			if i <= b {
				c := matchParen(toks, i)
				pc.generated = src(i+1, c-1)
				i = c + 1
				if i <= b && toks[i].is("STORED") {
					pc.stored = true
					i++
				} else if i <= b && toks[i].is("VIRTUAL") {
					i++
				}
			}
		case t.is("REFERENCES"):
			fk := parsedFK{name: name, cols: []string{toks[a].val}}
			if i+1 <= b {
				fk.table = toks[i+1].val
			}
			p.fks = append(p.fks, fk)
			i += 2
			for i <= b && !toks[i].is("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "DEFAULT", "COLLATE", "GENERATED", "AS") &&
				!(toks[i].is("NOT") && i+1 <= b && toks[i+1].is("NULL")) && !(toks[i].is("NULL") && !toks[i-1].is("SET")) {
				if toks[i].isP("(") {
					i = matchParen(toks, i)
				}
				i++
			}
		default:
			i++
		}
		name = ""
	}
}

// parseTrigger reads a CREATE TRIGGER statement from sqlite_master.
func parseTrigger(name, table, text string) *triggerMeta {
	tr := &triggerMeta{name: name, table: table, timing: "BEFORE", sql: text}
	toks := sqlTokens(text)
	i := 0
	for i < len(toks) && !toks[i].is("TRIGGER") {
		i++
	}
	i++
	if i+2 < len(toks) && toks[i].is("IF") {
		i += 3
	}
	i++ // name
	if i+1 < len(toks) && toks[i].kind != 'p' && toks[i+1].isP(".") {
		i += 2
	}
	for ; i < len(toks); i++ {
		t := toks[i]
		switch {
		case t.is("BEFORE"):
			tr.timing = "BEFORE"
		case t.is("AFTER"):
			tr.timing = "AFTER"
		case t.is("INSTEAD"):
			tr.timing = "INSTEAD OF"
		case t.is("INSERT", "UPDATE", "DELETE") && tr.event == "":
			tr.event = strings.ToUpper(t.val)
		case t.is("WHEN"):
			j := i + 1
			for j < len(toks) && !toks[j].is("BEGIN") {
				j++
			}
			if j-1 >= i+1 {
				tr.when = text[toks[i+1].pos:toks[j-1].end]
			}
			i = j - 1
		case t.is("BEGIN"):
			tr.body = triggerBody(text, toks[i:])
			return tr
		}
	}
	return tr
}

// triggerBody turns BEGIN stmt; ... END into MySQL's action statement: the
// one statement, or the whole block.
func triggerBody(text string, toks []sqlTok) string {
	if len(toks) < 2 {
		return ""
	}
	endTok := len(toks) - 1
	for endTok > 0 && !toks[endTok].is("END") {
		endTok--
	}
	var stmts []string
	start := 1
	for i := 1; i <= endTok; i++ {
		if toks[i].isP(";") || i == endTok {
			if i > start {
				stmts = append(stmts, mysqlExpr(strings.TrimSpace(text[toks[start].pos:toks[i-1].end])))
			}
			start = i + 1
		}
	}
	if len(stmts) == 1 {
		return stmts[0]
	}
	return "BEGIN\n  " + strings.Join(stmts, ";\n  ") + ";\nEND"
}
