package transpile

import (
	"errors"
	"fmt"
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

var vparser = func() *sqlparser.Parser {
	p, err := sqlparser.New(sqlparser.Options{MySQLServerVersion: "8.0.40"})
	if err != nil {
		panic(err)
	}
	return p
}()

// Transpile turns MySQL text (possibly several ';'-separated statements) into
// SQLite statements for the session database db. Empty statements are
// skipped. On error the returned slice holds the statements that precede the
// failing one (MySQL executes those before reporting the error), and the error
// is an *Error.
func Transpile(db, sql string, s Schema) (out []Statement, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = syntaxError(fmt.Sprintf("internal transpiler error: %v", r), truncate(sql, 80))
		}
	}()
	return transpileAll(db, sql, s)
}

func transpileAll(db, sql string, s Schema) ([]Statement, error) {
	ov := &overlay{base: s}
	cur := db
	var out []Statement
	for _, pc := range splitStatements(sql) {
		st, err := transpilePiece(cur, pc, ov)
		if err != nil {
			return out, err
		}
		if st == nil {
			continue
		}
		if st.Kind == Use {
			cur = st.Database
		}
		out = append(out, *st)
	}
	return out, nil
}

// tx holds the state of translating one statement.
type tx struct {
	sessDB   string
	schema   *overlay
	targetDB string // database named by qualifiers, if not the session's
	usesSess bool   // an unqualified (session database) table is referenced
	ctes     map[string]bool
	err      *Error
	argSeq   []int
	numbered bool // render placeholders as ?N (when a rewrite reordered them)

	// expression context
	inOnDup   bool
	rowAlias  string // INSERT ... AS alias
	hexAsBlob bool   // 0x... literals are binary strings (INSERT VALUES items)
	inTrigger bool   // translating a trigger body statement (SQLite forbids WITH there)

	// scope resolves the columns of the query being rendered (LIKE ranges)
	scope *typeScope

	autoIDSite *autoIDSite

	calcFoundRows   bool
	foundRowsSQL    string
	foundRowsParams int
	onUpdateNow     []string
}

func (t *tx) fail(e *Error) {
	if t.err == nil {
		t.err = e
	}
}

// noteDB records a database qualifier.
func (t *tx) noteDB(db string) {
	if db == "" || db == t.sessDB {
		t.usesSess = true
		return
	}
	if t.targetDB == "" {
		t.targetDB = db
	} else if t.targetDB != db {
		t.fail(notSupported("a statement may reference only one database"))
	}
}

// effDB is the database the statement works on.
func (t *tx) effDB() string {
	if t.targetDB != "" {
		return t.targetDB
	}
	return t.sessDB
}

// tableRef renders a table reference, stripping and recording its database qualifier.
func (t *tx) tableRef(tn sqlparser.TableName) string {
	name := tn.Name.String()
	if q := tn.Qualifier.String(); q != "" {
		t.noteDB(q)
	} else if !t.ctes[strings.ToLower(name)] {
		t.usesSess = true
	}
	return qid(name)
}

// checkDBs validates the databases a statement referenced and returns the
// Statement.Database value.
func (t *tx) checkDBs() string {
	if t.targetDB != "" && t.usesSess {
		if t.sessDB == "" {
			t.fail(errf(ErrNoDB, "3D000", "No database selected"))
		} else {
			t.fail(notSupported("a statement may reference only one database"))
		}
	}
	return t.targetDB
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// transpilePiece translates one statement.
func transpilePiece(db string, pc piece, ov *overlay) (*Statement, error) {
	if len(pc.toks) == 0 {
		return nil, nil
	}
	if st, err, ok := preClassify(db, pc, ov); ok {
		if err != nil {
			return nil, err
		}
		if strings.IndexByte(st.SQL, 0) >= 0 {
			return nil, nulError(pc)
		}
		return st, nil
	}
	text := prepareText(pc)
	stmt, perr := parse(text)
	if perr != nil && pc.toks[0].is("CREATE", "ALTER") {
		if alt := normalizeTypeSynonyms(text); alt != text {
			if s2, err2 := parse(alt); err2 == nil {
				stmt, perr = s2, nil
			}
		}
	}
	if perr != nil && pc.toks[0].is("CREATE") {
		// CREATE TABLE t (PRIMARY KEY (id)) SELECT ...: vitess wants a
		// column before the keys; parse with a placeholder column, then drop it.
		if alt, ok := withPlaceholderColumn(text); ok {
			if s2, err2 := parse(alt); err2 == nil {
				if ct, isCT := s2.(*sqlparser.CreateTable); isCT && ct.TableSpec != nil && len(ct.TableSpec.Columns) > 0 &&
					ct.TableSpec.Columns[0].Name.String() == placeholderColumn {
					ct.TableSpec.Columns = ct.TableSpec.Columns[1:]
					stmt, perr = ct, nil
				}
			}
		}
	}
	if perr != nil {
		if st, ok := postClassify(db, pc); ok {
			return st, nil
		}
		return nil, parseError(text, perr)
	}
	if _, ok := stmt.(*sqlparser.CommentOnly); ok {
		return nil, nil
	}
	params := countParams(stmt)
	st, err := translate(db, stmt, pc, ov, false)
	if err == nil && st != nil && !sequential(st.argSeq) {
		st, err = translate(db, stmt, pc, ov, true)
	}
	if err != nil {
		return nil, err
	}
	if strings.IndexByte(st.SQL, 0) >= 0 {
		return nil, nulError(pc)
	}
	st.Params = params
	for _, op := range st.ovOps {
		op()
	}
	return &st.Statement, nil
}

const placeholderColumn = "__marmot_placeholder"

// withPlaceholderColumn inserts a placeholder column definition into a
// CREATE TABLE whose definition list starts with a key or constraint
// (valid MySQL that vitess's grammar rejects); ok=false for other texts.
func withPlaceholderColumn(text string) (string, bool) {
	toks, _ := lex(text)
	i := 1
	if i < len(toks) && toks[i].is("TEMPORARY") {
		i++
	}
	if i >= len(toks) || !toks[i].is("TABLE") {
		return "", false
	}
	for i++; i < len(toks) && !toks[i].isPunct("("); i++ {
		if toks[i].is("SELECT", "LIKE", "AS") {
			return "", false
		}
	}
	if i+1 >= len(toks) || !toks[i+1].is("PRIMARY", "KEY", "INDEX", "UNIQUE", "CONSTRAINT", "FOREIGN", "CHECK", "FULLTEXT", "SPATIAL") {
		return "", false
	}
	at := toks[i].end
	return text[:at] + placeholderColumn + " INT, " + text[at:], true
}

// nulError reports a NUL byte left in the output: NUL inside string literals is
// encoded as a blob, so one left here is in an identifier (SQLite would stop
// reading the statement there).
func nulError(pc piece) *Error {
	return syntaxError("identifiers may not contain the NUL character", truncate(pc.text, 80))
}

// parse runs the vitess parser; a panic inside it (seen on malformed input
// such as "SET @@GLOBAL.") is reported as a syntax error.
func parse(text string) (stmt sqlparser.Statement, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmt, err = nil, fmt.Errorf("syntax error")
		}
	}()
	return vparser.ParseStrictDDL(text)
}

type translated struct {
	Statement
	argSeq []int
	ovOps  []func() // schema changes applied to the overlay once the statement succeeded
}

func sequential(seq []int) bool {
	for i, n := range seq {
		if n != i+1 {
			return false
		}
	}
	return true
}

func countParams(stmt sqlparser.Statement) int {
	seen := map[string]bool{}
	_ = sqlparser.Walk(func(node sqlparser.SQLNode) (bool, error) {
		if a, ok := node.(*sqlparser.Argument); ok {
			seen[a.Name] = true
		}
		return true, nil
	}, stmt)
	return len(seen)
}

func translate(db string, stmt sqlparser.Statement, pc piece, ov *overlay, numbered bool) (*translated, *Error) {
	return translateIn(db, stmt, pc, ov, numbered, false)
}

func translateIn(db string, stmt sqlparser.Statement, pc piece, ov *overlay, numbered, inTrigger bool) (*translated, *Error) {
	t := &tx{sessDB: db, schema: ov, ctes: map[string]bool{}, numbered: numbered, inTrigger: inTrigger}
	st := &translated{}
	t.dispatch(stmt, pc, st)
	if t.err != nil {
		return nil, t.err
	}
	st.argSeq = t.argSeq
	if len(t.onUpdateNow) > 0 {
		st.OnUpdateNow = t.onUpdateNow
	}
	st.CalcFoundRows = st.CalcFoundRows || t.calcFoundRows
	st.FoundRowsSQL, st.FoundRowsParams = t.foundRowsSQL, t.foundRowsParams
	return st, nil
}

func (t *tx) dispatch(stmt sqlparser.Statement, pc piece, st *translated) {
	lead := leadingWords(pc.toks, 3)
	switch n := stmt.(type) {
	case *sqlparser.Select, *sqlparser.Union:
		st.Kind = Select
		st.ReadOnly = true
		switch sel := n.(type) {
		case *sqlparser.Select:
			st.Locking = sel.Lock != sqlparser.NoLock
		case *sqlparser.Union:
			st.Locking = sel.Lock != sqlparser.NoLock
		}
		st.SQL = t.topStmt(n.(sqlparser.TableStatement))
		st.Database = t.checkDBs()
		if sel, ok := n.(*sqlparser.Select); ok && t.err == nil {
			st.Decimals = t.decimalColumns(sel)
		}
	case *sqlparser.Insert:
		t.insert(n, st)
	case *sqlparser.Update:
		t.update(n, st)
	case *sqlparser.Delete:
		t.deleteStmt(n, st)
	case *sqlparser.CreateTable:
		t.createTable(n, st)
	case *sqlparser.AlterTable:
		t.alterTable(n, st, lead)
	case *sqlparser.DropTable:
		t.dropTable(n, st)
	case *sqlparser.TruncateTable:
		st.Kind = TruncateTable
		st.Table = n.Table.Name.String()
		st.SQL = "DELETE FROM " + t.tableRef(n.Table)
		st.Database = t.checkDBs()
		t.requireTable(st.Table)
	case *sqlparser.RenameTable:
		t.renameTable(n, st)
	case *sqlparser.CreateView:
		t.createView(n.ViewName, n.Columns, n.Select, n.IsReplace, st)
	case *sqlparser.AlterView:
		t.createView(n.ViewName, n.Columns, n.Select, true, st)
	case *sqlparser.DropView:
		t.dropView(n, st)
	case *sqlparser.CreateDatabase:
		st.Kind = CreateDatabase
		st.Database = n.DBName.String()
		st.IfNotExists = n.IfNotExists
	case *sqlparser.DropDatabase:
		st.Kind = DropDatabase
		st.Database = n.DBName.String()
		st.IfExists = n.IfExists
	case *sqlparser.AlterDatabase:
		st.Kind = AlterDatabase
		st.Database = n.DBName.String()
	case *sqlparser.Use:
		st.Kind = Use
		st.Database = n.DBName.String()
	case *sqlparser.Begin:
		st.Kind = Begin
		st.SQL = "BEGIN"
		for _, m := range n.TxAccessModes {
			if m == sqlparser.ReadOnly {
				st.TxReadOnly = true
			}
		}
	case *sqlparser.Commit:
		st.Kind = Commit
		st.SQL = "COMMIT"
	case *sqlparser.Rollback:
		st.Kind = Rollback
		st.SQL = "ROLLBACK"
	case *sqlparser.Savepoint:
		st.Kind = Savepoint
		st.Savepoint = n.Name.String()
		st.SQL = "SAVEPOINT " + qid(st.Savepoint)
	case *sqlparser.SRollback:
		st.Kind = RollbackTo
		st.Savepoint = n.Name.String()
		st.SQL = "ROLLBACK TO SAVEPOINT " + qid(st.Savepoint)
	case *sqlparser.Release:
		st.Kind = ReleaseSavepoint
		st.Savepoint = n.Name.String()
		st.SQL = "RELEASE SAVEPOINT " + qid(st.Savepoint)
	case *sqlparser.Set:
		t.set(n, pc, st)
	case *sqlparser.Show:
		t.show(n, st)
	case *sqlparser.ExplainTab:
		st.Kind = Describe
		st.ReadOnly = true
		st.Table = n.Table.Name.String()
		q := n.Table.Qualifier.String()
		st.Show = &ShowInfo{Kind: "columns", Table: st.Table, Database: q, Like: n.Wild}
		if q != t.sessDB {
			st.Database = q
		}
	case *sqlparser.ExplainStmt:
		st.Kind = Explain
		st.ReadOnly = true
		inner := &translated{}
		t.dispatch(n.Statement, piece{}, inner)
		if inner.SQL == "" || len(inner.Parts) > 0 {
			t.fail(notSupported("EXPLAIN of this statement is not supported"))
		}
		st.SQL = "EXPLAIN QUERY PLAN " + inner.SQL
		st.Database = inner.Database
		st.Table = inner.Table
	case *sqlparser.LockTables, *sqlparser.UnlockTables, *sqlparser.Flush, *sqlparser.OtherAdmin,
		*sqlparser.Analyze, *sqlparser.PurgeBinaryLogs:
		st.Kind = Noop
	case *sqlparser.Kill:
		st.Kind = Kill
		st.KillID = n.ProcesslistID
		st.KillQuery = n.Type == sqlparser.QueryType
	case *sqlparser.CreateProcedure, *sqlparser.DropProcedure, *sqlparser.CallProc:
		t.fail(notSupported("stored procedures are not supported"))
	case *sqlparser.PrepareStmt, *sqlparser.ExecuteStmt, *sqlparser.DeallocateStmt:
		t.fail(notSupported("SQL-level PREPARE/EXECUTE/DEALLOCATE is not supported; use the binary protocol"))
	case *sqlparser.ValuesStatement:
		st.Kind = Select
		st.ReadOnly = true
		st.SQL = t.topStmt(n)
		st.Database = t.checkDBs()
	case *sqlparser.Load:
		t.fail(notSupported("this form of LOAD is not supported"))
	default:
		t.fail(notSupported("statement %s is not supported", strings.Join(lead, " ")))
	}
}

// parseError converts a vitess parse error into MySQL's 1064.
func parseError(text string, err error) *Error {
	var pe sqlparser.PositionedErr
	if errors.As(err, &pe) {
		near := ""
		pos := pe.Pos - 1
		if pe.Near != "" {
			if i := strings.LastIndex(text[:min(max(pos, 0), len(text))], pe.Near); i >= 0 {
				pos = i
			}
		}
		if pos >= 0 && pos <= len(text) {
			near = text[pos:]
		}
		return syntaxError(pe.Err, truncate(near, 80))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, "\n"); i >= 0 && i == len(msg)-1 {
		msg = msg[:i]
	}
	if i := strings.Index(msg, "syntax error"); i >= 0 {
		msg = msg[i:]
	}
	return syntaxError(msg, truncate(text, 80))
}

// overlay is the caller's Schema plus the tables created or dropped earlier in
// the same multi-statement text.
type overlay struct {
	base   Schema
	tables map[string]*ovTable
	defs   map[string]*sqlparser.CreateTable // parsed TableDefiner answers (nil: none)
}

type ovTable struct {
	dropped bool
	cols    []string
	ai      string
	def     *sqlparser.CreateTable // MySQL definition of a table created in the same text
}

func ovKey(db, table string) string { return db + "\x00" + strings.ToLower(table) }

// columns returns the table's columns; known=false when there is no schema information.
func (o *overlay) columns(db, table string) (cols []string, ok, known bool) {
	if e, found := o.tables[ovKey(db, table)]; found {
		if !e.dropped && e.cols == nil {
			return nil, true, false // exists (a view created earlier), columns unknown
		}
		return e.cols, !e.dropped, true
	}
	if o.base == nil {
		return nil, false, false
	}
	cols, ok = o.base.Columns(db, table)
	return cols, ok, true
}

func (o *overlay) autoInc(db, table string) (string, bool) {
	if e, found := o.tables[ovKey(db, table)]; found {
		return e.ai, !e.dropped && e.ai != ""
	}
	if o.base == nil {
		return "", false
	}
	return o.base.AutoIncrement(db, table)
}

// declTypes returns the declared SQLite types of the table's columns.
func (o *overlay) declTypes(db, table string) ([]string, bool) {
	if e, found := o.tables[ovKey(db, table)]; found {
		if e.def == nil || e.dropped {
			return nil, false
		}
		decls := make([]string, len(e.def.TableSpec.Columns))
		for i, c := range e.def.TableSpec.Columns {
			decls[i] = mapType(c.Type).decl
		}
		return decls, true
	}
	if ct, ok := o.base.(ColumnTyper); ok {
		return ct.DeclTypes(db, table)
	}
	return nil, false
}

// hasDefiner reports whether the schema answers tableDef at all.
func (o *overlay) hasDefiner() bool {
	_, ok := o.base.(TableDefiner)
	return ok
}

// tableDef returns the table's MySQL definition, parsed; ok=false when the
// schema cannot tell (no TableDefiner, a view, no such table).
func (o *overlay) tableDef(db, table string) (*sqlparser.CreateTable, bool) {
	if e, found := o.tables[ovKey(db, table)]; found {
		return e.def, e.def != nil && !e.dropped
	}
	if o.defs == nil {
		o.defs = map[string]*sqlparser.CreateTable{}
	}
	if ct, seen := o.defs[ovKey(db, table)]; seen {
		return ct, ct != nil
	}
	var ct *sqlparser.CreateTable
	if td, ok := o.base.(TableDefiner); ok {
		if text, ok := td.CreateTableSQL(db, table); ok {
			if stmt, err := parse(text); err == nil {
				if c, ok := stmt.(*sqlparser.CreateTable); ok && c.TableSpec != nil {
					ct = c
				}
			}
		}
	}
	o.defs[ovKey(db, table)] = ct
	return ct, ct != nil
}

func (o *overlay) set(db, table string, e *ovTable) {
	if o.tables == nil {
		o.tables = map[string]*ovTable{}
	}
	o.tables[ovKey(db, table)] = e
}
