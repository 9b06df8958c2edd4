package transpile

import "fmt"

// Schema answers the questions a rewrite needs about existing tables.
// Implementations must be safe for concurrent use.
type Schema interface {
	// Columns returns the table's column names in order; ok=false if no such table (or view).
	Columns(db, table string) (cols []string, ok bool)
	// AutoIncrement returns the table's auto-increment column, if any.
	AutoIncrement(db, table string) (col string, ok bool)
}

// ColumnTyper is an optional extension of Schema: the declared types of a
// table's columns as SQLite keeps them (MySQL type names, see doc.go), in
// Columns order. It types expressions over them (SELECT price / 3 is
// DECIMAL with the column's scale + 4).
type ColumnTyper interface {
	DeclTypes(db, table string) (decls []string, ok bool)
}

// TableDefiner is an optional extension of Schema: a table's definition as
// MySQL's SHOW CREATE TABLE prints it. CREATE TABLE ... LIKE and CREATE
// TABLE ... SELECT need it; without it they are Error 1235.
type TableDefiner interface {
	CreateTableSQL(db, table string) (ddl string, ok bool)
}

// CICollation is the SQLite collation of character columns: MySQL's
// utf8mb4_general_ci (case- and accent-insensitive), which the executor
// registers on every connection.
const CICollation = "utf8mb4_general_ci"

// Kind classifies a statement for the executor.
type Kind int

// Statement kinds.
const (
	Unknown Kind = iota
	Select
	Insert
	Replace
	Update
	Delete
	CreateTable
	AlterTable
	DropTable
	TruncateTable
	RenameTable
	CreateIndex
	DropIndex
	CreateView
	DropView
	CreateTrigger
	DropTrigger
	CreateDatabase
	DropDatabase
	AlterDatabase
	Use
	Begin
	Commit
	Rollback
	Savepoint
	RollbackTo
	ReleaseSavepoint
	Set
	Show
	Describe
	Explain
	Noop
	LoadData
	Kill
)

var kindNames = [...]string{
	Unknown:          "Unknown",
	Select:           "Select",
	Insert:           "Insert",
	Replace:          "Replace",
	Update:           "Update",
	Delete:           "Delete",
	CreateTable:      "CreateTable",
	AlterTable:       "AlterTable",
	DropTable:        "DropTable",
	TruncateTable:    "TruncateTable",
	RenameTable:      "RenameTable",
	CreateIndex:      "CreateIndex",
	DropIndex:        "DropIndex",
	CreateView:       "CreateView",
	DropView:         "DropView",
	CreateTrigger:    "CreateTrigger",
	DropTrigger:      "DropTrigger",
	CreateDatabase:   "CreateDatabase",
	DropDatabase:     "DropDatabase",
	AlterDatabase:    "AlterDatabase",
	Use:              "Use",
	Begin:            "Begin",
	Commit:           "Commit",
	Rollback:         "Rollback",
	Savepoint:        "Savepoint",
	RollbackTo:       "RollbackTo",
	ReleaseSavepoint: "ReleaseSavepoint",
	Set:              "Set",
	Show:             "Show",
	Describe:         "Describe",
	Explain:          "Explain",
	Noop:             "Noop",
	LoadData:         "LoadData",
	Kill:             "Kill",
}

// String returns the kind's name, e.g. "CreateTable".
func (k Kind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// IsDDL reports whether statements of this kind change the schema (and so are
// replicated under the cluster-wide DDL lock).
func (k Kind) IsDDL() bool {
	switch k {
	case CreateTable, AlterTable, DropTable, TruncateTable, RenameTable, CreateIndex, DropIndex,
		CreateView, DropView, CreateTrigger, DropTrigger, CreateDatabase, DropDatabase, AlterDatabase:
		return true
	}
	return false
}

// Statement is one transpiled MySQL statement.
type Statement struct {
	Kind Kind
	// SQL is the SQLite text to execute; "" when the executor handles the kind
	// itself (or, for DDL, when there is nothing to execute). DDL is always in its
	// idempotent form and may hold several ';'-separated statements.
	SQL string
	// Parts, when set, are the SQLite statements SQL consists of (SQL joins
	// them with "; "): a multi-table UPDATE or DELETE of several tables.
	// The executor runs them in order in the statement's transaction, binds
	// the arguments to the first (the others take none), and reports the
	// rows the UPDATE and DELETE parts changed, summed.
	Parts []string
	// Database is the database the statement targets when it names one
	// (INSERT INTO db.t, CREATE DATABASE x, USE x, ...); "" means the session's current one.
	Database string
	// Table is the target table (or view) of DML/DDL.
	Table string
	// Tables lists every table a DROP TABLE names, Table first (the
	// executor tells the session's temporary tables from permanent ones).
	Tables []string
	// Name is the object name for CreateIndex/DropIndex (the MySQL index name) and
	// CreateTrigger/DropTrigger (the trigger name).
	Name                  string
	IfExists, IfNotExists bool
	// Temporary is set for CREATE/DROP TEMPORARY TABLE (not replicated).
	Temporary bool
	// Locking is set for SELECT … FOR UPDATE, FOR SHARE and LOCK IN SHARE
	// MODE: in a transaction, the rows it reads must stay as read until
	// COMMIT (the session begins its capture before the read).
	Locking bool
	// Show is set for kinds Show and Describe.
	Show *ShowInfo
	// Set is set for kind Set.
	Set []SetVar
	// Savepoint is the savepoint name for Savepoint, RollbackTo and ReleaseSavepoint.
	Savepoint string
	// ReadOnly is true for statements that only read (SELECT, SHOW, DESCRIBE, EXPLAIN).
	ReadOnly bool
	// TxReadOnly is true for START TRANSACTION READ ONLY.
	TxReadOnly bool
	// Params is the number of '?' placeholders.
	Params int
	// ExplicitIDSQL, when set, is SQL without the marmot_auto_id() around
	// a one-row INSERT's auto-increment value, which is the argument
	// AutoIDArg (0-based; negated when AutoIDNegate). The executor runs it
	// when that argument is a non-zero integer: the id is then the value
	// itself, and SQLite need not call back into Go for it (a cgo callback
	// per insert was 4% of marmotd's CPU under sysbench oltp_insert).
	ExplicitIDSQL string
	AutoIDArg     int
	AutoIDNegate  bool
	// CalcFoundRows is true when the SELECT had SQL_CALC_FOUND_ROWS (stripped from SQL).
	CalcFoundRows bool
	// FoundRowsSQL counts the rows the SELECT would return without LIMIT
	// (for FOUND_ROWS()); it takes the first FoundRowsParams arguments.
	FoundRowsSQL    string
	FoundRowsParams int
	// FillSQL is set for CREATE TABLE ... SELECT: the INSERT ... SELECT that
	// fills the new table (it takes the statement's Params). The executor
	// runs it after the DDL in SQL, as its own change set.
	FillSQL string
	// OnUpdateNow lists the columns declared ON UPDATE CURRENT_TIMESTAMP in a
	// CREATE TABLE / ALTER TABLE; the executor maintains them.
	OnUpdateNow []string
	// Decimals lists the result columns of a SELECT that MySQL types as
	// DECIMAL but SQLite computes as plain numbers (7/2, AVG(n), 1.50, a
	// DECIMAL column times 2): the executor reports them as DECIMAL and
	// prints each value with exactly Scale digits after the point.
	Decimals []DecimalColumn
	// Load is set for kind LoadData.
	Load *LoadInfo
	// KillID / KillQuery describe KILL [QUERY|CONNECTION] id.
	KillID    uint64
	KillQuery bool
}

// DecimalColumn is a result column MySQL types as DECIMAL(Prec, Scale).
type DecimalColumn struct {
	// Index is the 0-based result column; a negative Index counts from the
	// end (-1 is the last column), used when a * before the column expands
	// to a number of columns the transpiler did not count.
	Index       int
	Prec, Scale int
}

// ShowInfo describes a SHOW / DESCRIBE statement; the executor answers it.
type ShowInfo struct {
	// Kind is e.g. "databases", "tables", "columns", "create table", "create database",
	// "index", "variables", "status", "warnings", "errors", "processlist", "engines",
	// "collation", "charset", "table status", "grants", "triggers", "master status",
	// "binary logs", "count warnings", "count errors", ...
	Kind     string
	Full     bool
	Global   bool // SHOW GLOBAL VARIABLES / SHOW GLOBAL STATUS
	Table    string
	Database string
	Like     string // LIKE pattern (raw text)
	// Where is the WHERE filter as a SQLite expression over the result columns.
	Where string
	// Name holds an extra object name: engine name for SHOW ENGINE, user for SHOW GRANTS FOR.
	Name string
	// Limit is the LIMIT row count text, if any (SHOW WARNINGS LIMIT n).
	Limit string
}

// SetVar is one assignment of a SET statement.
type SetVar struct {
	// Scope is "session", "global", "persist" or "user" (@var).
	Scope string
	// Name is the lower-cased variable name; SET NAMES → "names", SET CHARACTER SET → "charset".
	Name string
	// Value is the literal text (string contents unquoted, number text, "on"/"off", "DEFAULT",
	// a bare word) or, when IsExpr is true, a SQLite expression the executor evaluates.
	Value  string
	IsExpr bool
	// Collate is the COLLATE of SET NAMES x COLLATE y.
	Collate string
}

// LoadInfo describes LOAD DATA [LOCAL] INFILE.
type LoadInfo struct {
	File                     string
	Local                    bool
	Replace, Ignore          bool
	Database, Table          string
	Charset                  string
	FieldsTerminatedBy       string // default "\t"
	FieldsEnclosedBy         string // default ""
	FieldsOptionallyEnclosed bool
	FieldsEscapedBy          string // default "\\"
	LinesStartingBy          string // default ""
	LinesTerminatedBy        string // default "\n"
	IgnoreLines              int
	Columns                  []string // column list; "@var" entries are user variables
}

// Error is a MySQL error the executor sends to the client.
type Error struct {
	Code    uint16
	State   string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("ERROR %d (%s): %s", e.Code, e.State, e.Message)
}

// MySQL error codes used by this package.
const (
	ErrParse           = 1064 // ER_PARSE_ERROR, 42000
	ErrTableExists     = 1050 // ER_TABLE_EXISTS_ERROR, 42S01
	ErrBadTable        = 1051 // ER_BAD_TABLE_ERROR, 42S02
	ErrWrongAutoKey    = 1075 // ER_WRONG_AUTO_KEY, 42000
	ErrNoSuchTable     = 1146 // ER_NO_SUCH_TABLE, 42S02
	ErrWrongValueCount = 1136 // ER_WRONG_VALUE_COUNT_ON_ROW, 21S01
	ErrNotSupportedYet = 1235 // ER_NOT_SUPPORTED_YET, 42000
	ErrRequiresPK      = 3750 // ER_TABLE_WITHOUT_PK, HY000
	ErrNoDB            = 1046 // ER_NO_DB_ERROR, 3D000
	ErrBadField        = 1054 // ER_BAD_FIELD_ERROR, 42S22
	ErrWrongTableName  = 1103 // ER_WRONG_TABLE_NAME, 42000
	ErrDupFieldName    = 1060 // ER_DUP_FIELDNAME, 42S21
	ErrMultiplePriKey  = 1068 // ER_MULTIPLE_PRI_KEY, 42000
	ErrWrongObject     = 1347 // ER_WRONG_OBJECT, HY000
	ErrWrongUsage      = 1221 // ER_WRONG_USAGE, HY000
	ErrNonUpdatable    = 1288 // ER_NON_UPDATABLE_TABLE, HY000
	ErrNonUniq         = 1052 // ER_NON_UNIQ_ERROR, 23000
)

func errf(code uint16, state, format string, args ...any) *Error {
	return &Error{Code: code, State: state, Message: fmt.Sprintf(format, args...)}
}

func notSupported(format string, args ...any) *Error {
	return errf(ErrNotSupportedYet, "42000", "marmot: "+format, args...)
}

func syntaxError(msg, near string) *Error {
	return errf(ErrParse, "42000", "You have an error in your SQL syntax; %s near '%s'", msg, near)
}
