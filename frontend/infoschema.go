package frontend

// information_schema: queries against it (the transpiler reports them with
// Statement.Database "information_schema" and unqualified table names) run
// on an in-memory SQLite database holding MySQL-shaped tables — SCHEMATA,
// TABLES, COLUMNS, STATISTICS, KEY_COLUMN_USAGE, ... — with MySQL's column
// names and declared types, so result metadata is typed as MySQL types it.
//
// The snapshot is built from every database's schema (infoschema_meta.go)
// and reused while no database's schema generation changed; when only data
// changed it is rebuilt at most every infoSchemaStatsTTL, so TABLE_ROWS is
// an estimate as in MySQL (whose statistics expire after a day by default).
// PROCESSLIST is filled per query.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

// infoSchemaDB is the name of the virtual database.
const infoSchemaDB = "information_schema"

// isInfoSchema reports whether name is information_schema (any case).
func isInfoSchema(name string) bool { return strings.EqualFold(name, infoSchemaDB) }

// infoSchemaStatsTTL bounds how stale TABLE_ROWS may be when only data
// (not schema) changed since the snapshot was built.
var infoSchemaStatsTTL = 2 * time.Second

// isColSpec is one column of an information_schema table.
type isColSpec struct{ name, decl string }

type isTableSpec struct {
	name string
	cols []isColSpec
}

func isTable(name, cols string) isTableSpec {
	t := isTableSpec{name: name}
	for _, c := range strings.Split(cols, ", ") {
		n, d, _ := strings.Cut(strings.TrimSpace(c), " ")
		t.cols = append(t.cols, isColSpec{n, d})
	}
	return t
}

// infoSchemaTables are the tables marmot offers, with MySQL 8.0's columns.
var infoSchemaTables = []isTableSpec{
	isTable("SCHEMATA", "CATALOG_NAME VARCHAR(64), SCHEMA_NAME VARCHAR(64), DEFAULT_CHARACTER_SET_NAME VARCHAR(64), DEFAULT_COLLATION_NAME VARCHAR(64), SQL_PATH VARCHAR(512), DEFAULT_ENCRYPTION VARCHAR(3)"),
	isTable("TABLES", "TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), TABLE_TYPE VARCHAR(64), ENGINE VARCHAR(64), VERSION INT, ROW_FORMAT VARCHAR(10), TABLE_ROWS BIGINT UNSIGNED, AVG_ROW_LENGTH BIGINT UNSIGNED, DATA_LENGTH BIGINT UNSIGNED, MAX_DATA_LENGTH BIGINT UNSIGNED, INDEX_LENGTH BIGINT UNSIGNED, DATA_FREE BIGINT UNSIGNED, AUTO_INCREMENT BIGINT UNSIGNED, CREATE_TIME DATETIME, UPDATE_TIME DATETIME, CHECK_TIME DATETIME, TABLE_COLLATION VARCHAR(64), CHECKSUM BIGINT, CREATE_OPTIONS VARCHAR(256), TABLE_COMMENT TEXT"),
	isTable("COLUMNS", "TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), COLUMN_NAME VARCHAR(64), ORDINAL_POSITION INT UNSIGNED, COLUMN_DEFAULT TEXT, IS_NULLABLE VARCHAR(3), DATA_TYPE LONGTEXT, CHARACTER_MAXIMUM_LENGTH BIGINT, CHARACTER_OCTET_LENGTH BIGINT, NUMERIC_PRECISION BIGINT UNSIGNED, NUMERIC_SCALE BIGINT UNSIGNED, DATETIME_PRECISION INT UNSIGNED, CHARACTER_SET_NAME VARCHAR(64), COLLATION_NAME VARCHAR(64), COLUMN_TYPE MEDIUMTEXT, COLUMN_KEY VARCHAR(3), EXTRA VARCHAR(256), PRIVILEGES VARCHAR(154), COLUMN_COMMENT TEXT, GENERATION_EXPRESSION LONGTEXT, SRS_ID INT UNSIGNED"),
	isTable("STATISTICS", "TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), NON_UNIQUE INT, INDEX_SCHEMA VARCHAR(64), INDEX_NAME VARCHAR(64), SEQ_IN_INDEX INT UNSIGNED, COLUMN_NAME VARCHAR(64), COLLATION VARCHAR(1), CARDINALITY BIGINT, SUB_PART BIGINT, PACKED VARCHAR(10), NULLABLE VARCHAR(3), INDEX_TYPE VARCHAR(11), COMMENT VARCHAR(8), INDEX_COMMENT VARCHAR(2048), IS_VISIBLE VARCHAR(3), EXPRESSION LONGTEXT"),
	isTable("KEY_COLUMN_USAGE", "CONSTRAINT_CATALOG VARCHAR(64), CONSTRAINT_SCHEMA VARCHAR(64), CONSTRAINT_NAME VARCHAR(64), TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), COLUMN_NAME VARCHAR(64), ORDINAL_POSITION INT UNSIGNED, POSITION_IN_UNIQUE_CONSTRAINT INT UNSIGNED, REFERENCED_TABLE_SCHEMA VARCHAR(64), REFERENCED_TABLE_NAME VARCHAR(64), REFERENCED_COLUMN_NAME VARCHAR(64)"),
	isTable("TABLE_CONSTRAINTS", "CONSTRAINT_CATALOG VARCHAR(64), CONSTRAINT_SCHEMA VARCHAR(64), CONSTRAINT_NAME VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), CONSTRAINT_TYPE VARCHAR(11), ENFORCED VARCHAR(3)"),
	isTable("REFERENTIAL_CONSTRAINTS", "CONSTRAINT_CATALOG VARCHAR(64), CONSTRAINT_SCHEMA VARCHAR(64), CONSTRAINT_NAME VARCHAR(64), UNIQUE_CONSTRAINT_CATALOG VARCHAR(64), UNIQUE_CONSTRAINT_SCHEMA VARCHAR(64), UNIQUE_CONSTRAINT_NAME VARCHAR(64), MATCH_OPTION VARCHAR(7), UPDATE_RULE VARCHAR(11), DELETE_RULE VARCHAR(11), TABLE_NAME VARCHAR(64), REFERENCED_TABLE_NAME VARCHAR(64)"),
	isTable("CHECK_CONSTRAINTS", "CONSTRAINT_CATALOG VARCHAR(64), CONSTRAINT_SCHEMA VARCHAR(64), CONSTRAINT_NAME VARCHAR(64), CHECK_CLAUSE LONGTEXT"),
	isTable("VIEWS", "TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), VIEW_DEFINITION LONGTEXT, CHECK_OPTION VARCHAR(8), IS_UPDATABLE VARCHAR(3), DEFINER VARCHAR(288), SECURITY_TYPE VARCHAR(7), CHARACTER_SET_CLIENT VARCHAR(64), COLLATION_CONNECTION VARCHAR(64)"),
	isTable("TRIGGERS", "TRIGGER_CATALOG VARCHAR(64), TRIGGER_SCHEMA VARCHAR(64), TRIGGER_NAME VARCHAR(64), EVENT_MANIPULATION VARCHAR(6), EVENT_OBJECT_CATALOG VARCHAR(64), EVENT_OBJECT_SCHEMA VARCHAR(64), EVENT_OBJECT_TABLE VARCHAR(64), ACTION_ORDER INT UNSIGNED, ACTION_CONDITION BLOB, ACTION_STATEMENT LONGTEXT, ACTION_ORIENTATION VARCHAR(3), ACTION_TIMING VARCHAR(6), ACTION_REFERENCE_OLD_TABLE BLOB, ACTION_REFERENCE_NEW_TABLE BLOB, ACTION_REFERENCE_OLD_ROW VARCHAR(3), ACTION_REFERENCE_NEW_ROW VARCHAR(3), CREATED TIMESTAMP(2), SQL_MODE VARCHAR(512), DEFINER VARCHAR(288), CHARACTER_SET_CLIENT VARCHAR(64), COLLATION_CONNECTION VARCHAR(64), DATABASE_COLLATION VARCHAR(64)"),
	isTable("ROUTINES", "SPECIFIC_NAME VARCHAR(64), ROUTINE_CATALOG VARCHAR(64), ROUTINE_SCHEMA VARCHAR(64), ROUTINE_NAME VARCHAR(64), ROUTINE_TYPE VARCHAR(9), DATA_TYPE LONGTEXT, CHARACTER_MAXIMUM_LENGTH BIGINT, CHARACTER_OCTET_LENGTH BIGINT, NUMERIC_PRECISION INT UNSIGNED, NUMERIC_SCALE INT UNSIGNED, DATETIME_PRECISION INT UNSIGNED, CHARACTER_SET_NAME VARCHAR(64), COLLATION_NAME VARCHAR(64), DTD_IDENTIFIER LONGTEXT, ROUTINE_BODY VARCHAR(8), ROUTINE_DEFINITION LONGTEXT, EXTERNAL_NAME VARCHAR(64), EXTERNAL_LANGUAGE VARCHAR(64), PARAMETER_STYLE VARCHAR(3), IS_DETERMINISTIC VARCHAR(3), SQL_DATA_ACCESS VARCHAR(17), SQL_PATH VARCHAR(64), SECURITY_TYPE VARCHAR(7), CREATED TIMESTAMP, LAST_ALTERED TIMESTAMP, SQL_MODE VARCHAR(512), ROUTINE_COMMENT TEXT, DEFINER VARCHAR(288), CHARACTER_SET_CLIENT VARCHAR(64), COLLATION_CONNECTION VARCHAR(64), DATABASE_COLLATION VARCHAR(64)"),
	isTable("PARAMETERS", "SPECIFIC_CATALOG VARCHAR(64), SPECIFIC_SCHEMA VARCHAR(64), SPECIFIC_NAME VARCHAR(64), ORDINAL_POSITION BIGINT UNSIGNED, PARAMETER_MODE VARCHAR(5), PARAMETER_NAME VARCHAR(64), DATA_TYPE LONGTEXT, CHARACTER_MAXIMUM_LENGTH BIGINT, CHARACTER_OCTET_LENGTH BIGINT, NUMERIC_PRECISION INT UNSIGNED, NUMERIC_SCALE BIGINT, DATETIME_PRECISION INT UNSIGNED, CHARACTER_SET_NAME VARCHAR(64), COLLATION_NAME VARCHAR(64), DTD_IDENTIFIER MEDIUMTEXT, ROUTINE_TYPE VARCHAR(9)"),
	isTable("EVENTS", "EVENT_CATALOG VARCHAR(64), EVENT_SCHEMA VARCHAR(64), EVENT_NAME VARCHAR(64), DEFINER VARCHAR(288), TIME_ZONE VARCHAR(64), EVENT_BODY VARCHAR(3), EVENT_DEFINITION LONGTEXT, EVENT_TYPE VARCHAR(9), EXECUTE_AT DATETIME, INTERVAL_VALUE VARCHAR(256), INTERVAL_FIELD VARCHAR(18), SQL_MODE VARCHAR(512), STARTS DATETIME, ENDS DATETIME, STATUS VARCHAR(21), ON_COMPLETION VARCHAR(12), CREATED TIMESTAMP, LAST_ALTERED TIMESTAMP, LAST_EXECUTED DATETIME, EVENT_COMMENT VARCHAR(2048), ORIGINATOR INT UNSIGNED, CHARACTER_SET_CLIENT VARCHAR(64), COLLATION_CONNECTION VARCHAR(64), DATABASE_COLLATION VARCHAR(64)"),
	isTable("PARTITIONS", "TABLE_CATALOG VARCHAR(64), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), PARTITION_NAME VARCHAR(64), SUBPARTITION_NAME VARCHAR(64), PARTITION_ORDINAL_POSITION INT UNSIGNED, SUBPARTITION_ORDINAL_POSITION INT UNSIGNED, PARTITION_METHOD VARCHAR(13), SUBPARTITION_METHOD VARCHAR(13), PARTITION_EXPRESSION VARCHAR(2048), SUBPARTITION_EXPRESSION VARCHAR(2048), PARTITION_DESCRIPTION TEXT, TABLE_ROWS BIGINT UNSIGNED, AVG_ROW_LENGTH BIGINT UNSIGNED, DATA_LENGTH BIGINT UNSIGNED, MAX_DATA_LENGTH BIGINT UNSIGNED, INDEX_LENGTH BIGINT UNSIGNED, DATA_FREE BIGINT UNSIGNED, CREATE_TIME TIMESTAMP, UPDATE_TIME DATETIME, CHECK_TIME DATETIME, CHECKSUM BIGINT, PARTITION_COMMENT TEXT, NODEGROUP VARCHAR(256), TABLESPACE_NAME VARCHAR(268)"),
	isTable("ENGINES", "ENGINE VARCHAR(64), SUPPORT VARCHAR(8), COMMENT VARCHAR(80), TRANSACTIONS VARCHAR(3), XA VARCHAR(3), SAVEPOINTS VARCHAR(3)"),
	isTable("CHARACTER_SETS", "CHARACTER_SET_NAME VARCHAR(64), DEFAULT_COLLATE_NAME VARCHAR(64), DESCRIPTION VARCHAR(2048), MAXLEN INT UNSIGNED"),
	isTable("COLLATIONS", "COLLATION_NAME VARCHAR(64), CHARACTER_SET_NAME VARCHAR(64), ID BIGINT UNSIGNED, IS_DEFAULT VARCHAR(3), IS_COMPILED VARCHAR(3), SORTLEN INT UNSIGNED, PAD_ATTRIBUTE VARCHAR(9)"),
	isTable("COLLATION_CHARACTER_SET_APPLICABILITY", "COLLATION_NAME VARCHAR(64), CHARACTER_SET_NAME VARCHAR(64)"),
	isTable("PROCESSLIST", "ID BIGINT UNSIGNED, USER VARCHAR(32), HOST VARCHAR(261), DB VARCHAR(64), COMMAND VARCHAR(16), TIME INT, STATE VARCHAR(64), INFO LONGTEXT"),
	isTable("USER_PRIVILEGES", "GRANTEE VARCHAR(292), TABLE_CATALOG VARCHAR(512), PRIVILEGE_TYPE VARCHAR(64), IS_GRANTABLE VARCHAR(3)"),
	isTable("SCHEMA_PRIVILEGES", "GRANTEE VARCHAR(292), TABLE_CATALOG VARCHAR(512), TABLE_SCHEMA VARCHAR(64), PRIVILEGE_TYPE VARCHAR(64), IS_GRANTABLE VARCHAR(3)"),
	isTable("TABLE_PRIVILEGES", "GRANTEE VARCHAR(292), TABLE_CATALOG VARCHAR(512), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), PRIVILEGE_TYPE VARCHAR(64), IS_GRANTABLE VARCHAR(3)"),
	isTable("COLUMN_PRIVILEGES", "GRANTEE VARCHAR(292), TABLE_CATALOG VARCHAR(512), TABLE_SCHEMA VARCHAR(64), TABLE_NAME VARCHAR(64), COLUMN_NAME VARCHAR(64), PRIVILEGE_TYPE VARCHAR(64), IS_GRANTABLE VARCHAR(3)"),
}

func isTableSpecOf(name string) (isTableSpec, bool) {
	for _, t := range infoSchemaTables {
		if strings.EqualFold(t.name, name) {
			return t, true
		}
	}
	return isTableSpec{}, false
}

// Character sets and collations marmot reports (SHOW CHARACTER SET, SHOW
// COLLATION and their information_schema tables).
var (
	charsetRows = [][]any{ // name, default collation, description, maxlen
		{"utf8mb4", "utf8mb4_general_ci", "UTF-8 Unicode", int64(4)},
		{"utf8mb3", "utf8mb3_general_ci", "UTF-8 Unicode", int64(3)},
		{"ascii", "ascii_general_ci", "US ASCII", int64(1)},
		{"latin1", "latin1_swedish_ci", "cp1252 West European", int64(1)},
		{"binary", "binary", "Binary pseudo charset", int64(1)},
	}
	collationRows = [][]any{ // name, charset, id, default, compiled, sortlen, pad
		{"utf8mb4_general_ci", "utf8mb4", int64(45), "Yes", "Yes", int64(1), "PAD SPACE"},
		{"utf8mb4_bin", "utf8mb4", int64(46), "", "Yes", int64(1), "PAD SPACE"},
		{"utf8mb4_unicode_ci", "utf8mb4", int64(224), "", "Yes", int64(8), "PAD SPACE"},
		{"utf8mb4_0900_ai_ci", "utf8mb4", int64(255), "", "Yes", int64(0), "NO PAD"},
		{"utf8mb4_0900_bin", "utf8mb4", int64(309), "", "Yes", int64(1), "NO PAD"},
		{"utf8mb3_general_ci", "utf8mb3", int64(33), "Yes", "Yes", int64(1), "PAD SPACE"},
		{"utf8mb3_bin", "utf8mb3", int64(83), "", "Yes", int64(1), "PAD SPACE"},
		{"utf8mb3_unicode_ci", "utf8mb3", int64(192), "", "Yes", int64(8), "PAD SPACE"},
		{"ascii_general_ci", "ascii", int64(11), "Yes", "Yes", int64(1), "PAD SPACE"},
		{"ascii_bin", "ascii", int64(65), "", "Yes", int64(1), "PAD SPACE"},
		{"latin1_swedish_ci", "latin1", int64(8), "Yes", "Yes", int64(1), "PAD SPACE"},
		{"latin1_bin", "latin1", int64(47), "", "Yes", int64(1), "PAD SPACE"},
		{"binary", "binary", int64(63), "Yes", "Yes", int64(1), "NO PAD"},
	}
	engineRows = [][]any{
		{"InnoDB", "DEFAULT", "marmot: replicated SQLite, transactions and savepoints", "YES", "NO", "YES"},
	}
)

const (
	definer        = "root@%"
	privilegesText = "select,insert,update,references"
)

// ---------------------------------------------------------------------
// Snapshots.

type isCache struct {
	buildMu sync.Mutex // one build at a time
	mu      sync.Mutex // guards cur, refs, retired
	cur     *isSnapshot
	dbs     map[string]*isDBCache
}

type isDBCache struct {
	d    *materializer.DB
	gen  uint64
	meta *dbMeta
}

var isSeq atomic.Int64

type isSnapshot struct {
	cache     *isCache
	schemaKey string
	dataKey   string
	built     time.Time
	db        *sql.DB
	anchor    *sql.Conn // keeps the shared in-memory database alive
	envs      sync.Map  // *sqlite3.SQLiteConn -> *materializer.Env
	refs      int
	retired   bool
}

// isConnector opens connections to one snapshot's in-memory database with
// marmot's SQL functions registered (DATABASE(), @@vars, CONCAT, ...).
type isConnector struct {
	drv *sqlite3.SQLiteDriver
	dsn string
}

func (c isConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c isConnector) Driver() driver.Driver                        { return c.drv }

func newMemoryDB(dsn string, envs *sync.Map) *sql.DB {
	drv := &sqlite3.SQLiteDriver{ConnectHook: func(sc *sqlite3.SQLiteConn) error {
		env := &materializer.Env{}
		envs.Store(sc, env)
		return ConnectHook(sc, env)
	}}
	return sql.OpenDB(isConnector{drv: drv, dsn: dsn})
}

func envOfConn(envs *sync.Map, c *sql.Conn) *materializer.Env {
	var env *materializer.Env
	_ = c.Raw(func(dc any) error {
		if v, ok := envs.Load(dc); ok {
			env = v.(*materializer.Env)
		}
		return nil
	})
	if env == nil {
		env = &materializer.Env{}
	}
	return env
}

func (sn *isSnapshot) release() {
	c := sn.cache
	c.mu.Lock()
	sn.refs--
	done := sn.retired && sn.refs == 0
	c.mu.Unlock()
	if done {
		sn.close()
	}
}

func (sn *isSnapshot) close() {
	if sn.anchor != nil {
		sn.anchor.Close()
	}
	sn.db.Close()
}

// infoSchemaSnapshot returns a current snapshot; release it when done.
func (s *Session) infoSchemaSnapshot(ctx context.Context) (*isSnapshot, error) {
	c := s.srv.infoSchema
	c.buildMu.Lock()
	defer c.buildMu.Unlock()

	type dbState struct {
		name string
		d    *materializer.DB
		gen  uint64
	}
	var states []dbState
	var sk, dk strings.Builder
	for _, n := range s.srv.mat.Databases() {
		d, err := s.srv.mat.DB(n)
		if err != nil {
			continue
		}
		gen := d.SchemaGen() // before reading the schema: a later change invalidates
		states = append(states, dbState{n, d, gen})
		fmt.Fprintf(&sk, "%s\x00%p\x00%d\x00", n, d, gen)
		w := d.Applied()
		origins := make([]uint64, 0, len(w))
		for o := range w {
			origins = append(origins, o)
		}
		sort.Slice(origins, func(i, j int) bool { return origins[i] < origins[j] })
		dk.WriteString(n)
		for _, o := range origins {
			fmt.Fprintf(&dk, ":%d=%d", o, w[o])
		}
		dk.WriteByte(0)
	}
	c.mu.Lock()
	if cur := c.cur; cur != nil && cur.schemaKey == sk.String() && (cur.dataKey == dk.String() || time.Since(cur.built) < infoSchemaStatsTTL) {
		cur.refs++
		c.mu.Unlock()
		return cur, nil
	}
	c.mu.Unlock()

	metas := make([]namedMeta, 0, len(states))
	live := map[string]bool{}
	for _, st := range states {
		live[st.name] = true
		e := c.dbs[st.name]
		var meta *dbMeta
		if e != nil && e.d == st.d && e.gen == st.gen {
			meta = e.meta
		}
		rc, err := st.d.ReadConn(ctx)
		if err != nil {
			continue // dropped meanwhile
		}
		if meta == nil {
			if meta, err = loadDBMeta(ctx, rc); err != nil {
				rc.Close()
				return nil, err
			}
			c.dbs[st.name] = &isDBCache{d: st.d, gen: st.gen, meta: meta}
		}
		for _, t := range meta.tables {
			t.hasStat = false
		}
		loadStats(ctx, rc, meta)
		rc.Close()
		metas = append(metas, namedMeta{st.name, meta})
	}
	for n := range c.dbs {
		if !live[n] {
			delete(c.dbs, n)
		}
	}
	sn, err := buildSnapshot(ctx, metas)
	if err != nil {
		return nil, err
	}
	sn.cache, sn.schemaKey, sn.dataKey = c, sk.String(), dk.String()
	sn.refs = 1
	c.swap(sn)
	return sn, nil
}

// swap makes sn the current snapshot (nil: none) and retires the previous
// one, closing it now unless a query still uses it (it closes when
// released).
func (c *isCache) swap(sn *isSnapshot) {
	c.mu.Lock()
	old := c.cur
	c.cur = sn
	closeOld := false
	if old != nil {
		old.retired = true
		closeOld = old.refs == 0
	}
	c.mu.Unlock()
	if closeOld {
		old.close()
	}
}

// close drops the snapshot; Server.Close calls it.
func (c *isCache) close() {
	c.buildMu.Lock()
	defer c.buildMu.Unlock()
	c.swap(nil)
}

type namedMeta struct {
	db   string
	meta *dbMeta
}

// buildSnapshot creates and fills a new in-memory information_schema.
func buildSnapshot(ctx context.Context, metas []namedMeta) (*isSnapshot, error) {
	sn := &isSnapshot{built: time.Now()}
	sn.db = newMemoryDB(fmt.Sprintf("file:marmot_infoschema_%d?mode=memory&cache=shared", isSeq.Add(1)), &sn.envs)
	sn.db.SetMaxOpenConns(8)
	sn.db.SetMaxIdleConns(8)
	var err error
	if sn.anchor, err = sn.db.Conn(ctx); err != nil {
		sn.db.Close()
		return nil, err
	}
	fail := func(err error) (*isSnapshot, error) {
		sn.close()
		return nil, err
	}
	if _, err := sn.anchor.ExecContext(ctx, "BEGIN"); err != nil {
		return fail(err)
	}
	rows := infoSchemaRows(metas)
	for _, t := range infoSchemaTables {
		if _, err := sn.anchor.ExecContext(ctx, createSpecSQL(t, "")); err != nil {
			return fail(err)
		}
		if err := insertRows(ctx, sn.anchor, "", t, rows[t.name]); err != nil {
			return fail(err)
		}
	}
	if _, err := sn.anchor.ExecContext(ctx, "COMMIT"); err != nil {
		return fail(err)
	}
	return sn, nil
}

func createSpecSQL(t isTableSpec, schema string) string {
	defs := make([]string, len(t.cols))
	for i, c := range t.cols {
		defs[i] = sqliteIdent(c.name) + " " + c.decl
	}
	return "CREATE " + schema + "TABLE " + sqliteIdent(t.name) + " (" + strings.Join(defs, ", ") + ")"
}

func insertRows(ctx context.Context, c *sql.Conn, schema string, t isTableSpec, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	q := "INSERT INTO " + schema + sqliteIdent(t.name) + " VALUES (" + strings.TrimSuffix(strings.Repeat("?,", len(t.cols)), ",") + ")"
	st, err := c.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		if len(r) != len(t.cols) {
			return fmt.Errorf("information_schema.%s: row has %d values for %d columns", t.name, len(r), len(t.cols))
		}
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return nil
}

// infoSchemaRows computes every static table's rows.
func infoSchemaRows(metas []namedMeta) map[string][][]any {
	out := map[string][][]any{}
	add := func(table string, row ...any) { out[table] = append(out[table], row) }

	add("SCHEMATA", "def", infoSchemaDB, "utf8mb3", "utf8mb3_general_ci", nil, "NO")
	for _, m := range metas {
		add("SCHEMATA", "def", m.db, "utf8mb4", "utf8mb4_general_ci", nil, "NO")
	}
	for _, r := range engineRows {
		add("ENGINES", r...)
	}
	for _, r := range charsetRows {
		add("CHARACTER_SETS", r[0], r[1], r[2], r[3])
	}
	for _, r := range collationRows {
		add("COLLATIONS", r[0], r[1], r[2], r[3], r[4], r[5], r[6])
		add("COLLATION_CHARACTER_SET_APPLICABILITY", r[0], r[1])
	}
	// information_schema's own tables and columns.
	for _, t := range infoSchemaTables {
		add("TABLES", "def", infoSchemaDB, t.name, "SYSTEM VIEW", nil, int64(10), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "", "")
		for i, c := range t.cols {
			mt := mysqlTypeOf(c.decl)
			add("COLUMNS", "def", infoSchemaDB, t.name, c.name, int64(i+1), nil, "YES", mt.data, mt.charMax, mt.charOctet, mt.precision, mt.scale, mt.dtPrec,
				mt.charset(), mt.collation(), mt.column, "", "", "select", "", "", nil)
		}
	}
	for _, m := range metas {
		db := m.db
		for _, t := range m.meta.tables {
			for _, r := range tableStatusRows(db, t) {
				add("TABLES", r...)
			}
			for _, c := range t.cols {
				null := "YES"
				if c.notNull {
					null = "NO"
				}
				add("COLUMNS", "def", db, t.name, c.name, int64(c.ordinal), c.showDefault(), null, c.typ.data, c.typ.charMax, c.typ.charOctet,
					c.typ.precision, c.typ.scale, c.typ.dtPrec, c.typ.charset(), c.typ.collation(), c.typ.column, t.columnKey(c), c.extra(),
					privilegesText, "", mysqlExpr(c.genExpr), nil)
			}
			if t.view {
				add("VIEWS", "def", db, t.name, viewDefinition(t.sql), "NONE", "NO", definer, "DEFINER", "utf8mb4", "utf8mb4_general_ci")
				continue
			}
			for _, r := range indexRows(t) {
				add("STATISTICS", "def", db, t.name, r.nonUnique, db, r.name, r.seq, r.col, r.collation, r.cardinality, nil, nil, r.nullable, "BTREE", "", "", "YES", nil)
			}
			if len(t.pk) > 0 {
				add("TABLE_CONSTRAINTS", "def", db, "PRIMARY", db, t.name, "PRIMARY KEY", "YES")
				for i, col := range t.pk {
					add("KEY_COLUMN_USAGE", "def", db, "PRIMARY", "def", db, t.name, col, int64(i+1), nil, nil, nil, nil)
				}
			}
			for _, ix := range t.sortedIndexes() {
				if !ix.unique || ix.hasExpr {
					continue
				}
				add("TABLE_CONSTRAINTS", "def", db, ix.name, db, t.name, "UNIQUE", "YES")
				for i, col := range ix.cols {
					add("KEY_COLUMN_USAGE", "def", db, ix.name, "def", db, t.name, col, int64(i+1), nil, nil, nil, nil)
				}
			}
			for _, fk := range t.fks {
				add("TABLE_CONSTRAINTS", "def", db, fk.name, db, t.name, "FOREIGN KEY", "YES")
				for i, col := range fk.cols {
					var ref any
					if i < len(fk.refCols) && fk.refCols[i] != "" {
						ref = fk.refCols[i]
					}
					add("KEY_COLUMN_USAGE", "def", db, fk.name, "def", db, t.name, col, int64(i+1), int64(i+1), db, fk.refTable, ref)
				}
				add("REFERENTIAL_CONSTRAINTS", "def", db, fk.name, "def", db, uniqueConstraintOf(m.meta, fk), "NONE",
					ruleName(fk.onUpdate), ruleName(fk.onDelete), t.name, fk.refTable)
			}
			for _, ck := range t.checks {
				add("TABLE_CONSTRAINTS", "def", db, ck.name, db, t.name, "CHECK", "YES")
				add("CHECK_CONSTRAINTS", "def", db, ck.name, "("+mysqlExpr(ck.expr)+")")
			}
		}
		for _, tr := range m.meta.triggers {
			add("TRIGGERS", "def", db, tr.name, tr.event, "def", db, tr.table, int64(tr.actionSeq), nil, tr.body, "ROW", tr.timing,
				nil, nil, "OLD", "NEW", nil, globalVars["sql_mode"], definer, "utf8mb4", "utf8mb4_general_ci", "utf8mb4_general_ci")
		}
	}
	return out
}

// ruleName is a referential action as information_schema reports it.
func ruleName(a string) string {
	a = strings.ToUpper(strings.TrimSpace(a))
	if a == "" {
		return "NO ACTION"
	}
	return a
}

// uniqueConstraintOf names the parent key a foreign key references.
func uniqueConstraintOf(m *dbMeta, fk *fkMeta) any {
	p := m.table(fk.refTable)
	if p == nil {
		return nil
	}
	if equalFoldList(p.pk, fk.refCols) {
		return "PRIMARY"
	}
	for _, ix := range p.indexes {
		if ix.unique && equalFoldList(ix.cols, fk.refCols) {
			return ix.name
		}
	}
	return nil
}

// tableStatusRows is a table's information_schema.TABLES row.
func tableStatusRows(db string, t *tableMeta) [][]any {
	if t.view {
		return [][]any{{"def", db, t.name, "VIEW", nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, "VIEW"}}
	}
	avg, data := tableSizes(t)
	return [][]any{{"def", db, t.name, "BASE TABLE", "InnoDB", int64(10), "Dynamic", t.rows, avg, data, int64(0), int64(0), int64(0), t.nextID,
		nil, nil, nil, "utf8mb4_general_ci", nil, "", ""}}
}

// tableSizes estimates AVG_ROW_LENGTH and DATA_LENGTH (SQLite keeps no
// per-table size without the dbstat extension): InnoDB's 16 KiB page
// minimum and a nominal row width from the column types.
func tableSizes(t *tableMeta) (avg, data int64) {
	for _, c := range t.cols {
		switch {
		case c.typ.blobLike:
			avg += 64
		case c.typ.charMax != nil:
			n, _ := c.typ.charMax.(int64)
			avg += min(n, 64) + 1
		default:
			avg += 8
		}
	}
	if t.rows == 0 {
		return 0, 16384
	}
	data = avg * t.rows
	if data < 16384 {
		data = 16384
	}
	return avg, data
}

// indexRow is one column of one index (SHOW INDEX, STATISTICS).
type indexRow struct {
	nonUnique   int64
	name        string
	seq         int64
	col         any
	collation   any
	cardinality any
	nullable    string
}

// indexRows lists the PRIMARY key, then unique, then other indexes.
func indexRows(t *tableMeta) []indexRow {
	var out []indexRow
	nullable := func(col string) string {
		if c := t.col(col); c != nil && !c.notNull {
			return "YES"
		}
		return ""
	}
	for i, col := range t.pk {
		out = append(out, indexRow{0, "PRIMARY", int64(i + 1), col, "A", t.rows, ""})
	}
	for _, ix := range t.sortedIndexes() {
		nu := int64(1)
		var card any
		if ix.unique {
			nu, card = 0, t.rows
		}
		for i, col := range ix.cols {
			coll := "A"
			if ix.desc[i] {
				coll = "D"
			}
			var c any = col
			if col == "" {
				c = nil
			}
			out = append(out, indexRow{nu, ix.name, int64(i + 1), c, coll, card, nullable(col)})
		}
	}
	return out
}

// ---------------------------------------------------------------------
// Queries.

var reISNoTable = regexp.MustCompile(`no such table: (?:main\.)?(\S+)`)

// dynamicISTables are filled per query, on the query's own connection.
var dynamicISTables = map[string]func(s *Session) [][]any{
	"PROCESSLIST": func(s *Session) [][]any { return s.srv.processList() },
}

// infoSchema answers a query against information_schema.
func (s *Session) infoSchema(ctx context.Context, st transpile.Statement, args []any, binary bool) (*mysql.Result, error) {
	sn, err := s.infoSchemaSnapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer sn.release()
	c, err := sn.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := fillDynamic(ctx, c, s, st.SQL); err != nil {
		return nil, err
	}
	env := envOfConn(&sn.envs, c)
	env.Session = s
	defer func() { env.Session = nil }()
	rows, err := c.QueryContext(ctx, st.SQL, args...)
	if err != nil {
		return nil, infoSchemaError(err)
	}
	cols, data, _, err := readRows(rows, st.Table, 0)
	if err != nil {
		return nil, infoSchemaError(err)
	}
	s.foundRows, s.rowCount = int64(len(data)), -1
	return buildResult(cols, data, binary), nil
}

// fillDynamic creates per-connection TEMP copies of the dynamic tables a
// query mentions (a TEMP table hides the main one of the same name).
func fillDynamic(ctx context.Context, c *sql.Conn, s *Session, query string) error {
	for _, tk := range sqlTokens(query) {
		if tk.kind != 'w' && tk.kind != 'i' {
			continue
		}
		name := strings.ToUpper(tk.val)
		fill, ok := dynamicISTables[name]
		if !ok {
			continue
		}
		spec, _ := isTableSpecOf(name)
		if _, err := c.ExecContext(ctx, "DROP TABLE IF EXISTS temp."+sqliteIdent(name)); err != nil {
			return err
		}
		if _, err := c.ExecContext(ctx, createSpecSQL(spec, "TEMP ")); err != nil {
			return err
		}
		if err := insertRows(ctx, c, "temp.", spec, fill(s)); err != nil {
			return err
		}
	}
	return nil
}

func infoSchemaError(err error) error {
	if m := reISNoTable.FindStringSubmatch(err.Error()); m != nil {
		return myErr(mysql.ER_UNKNOWN_TABLE, "42S02", "Unknown table '%s' in information_schema", strings.Trim(m[1], `"`+"`"))
	}
	return err
}

// infoSchemaFieldList answers COM_FIELD_LIST while information_schema is
// the current database.
func infoSchemaFieldList(table string) ([]*mysql.Field, error) {
	spec, ok := isTableSpecOf(table)
	if !ok {
		return nil, myErr(mysql.ER_UNKNOWN_TABLE, "42S02", "Unknown table '%s' in information_schema", table)
	}
	out := make([]*mysql.Field, 0, len(spec.cols))
	for _, c := range spec.cols {
		col, _ := columnFromDecl(c.name, c.decl)
		out = append(out, &mysql.Field{Name: []byte(c.name), OrgName: []byte(c.name), Table: []byte(spec.name), OrgTable: []byte(spec.name),
			Schema: []byte(infoSchemaDB), Charset: col.charset, Type: col.typ, Flag: col.flag, ColumnLength: col.length})
	}
	return out, nil
}

// ---------------------------------------------------------------------
// Filtering SHOW results with their WHERE clause.

var (
	scratchOnce sync.Once
	scratchDB   *sql.DB
	scratchEnvs sync.Map
)

// scratch is a pool of private in-memory connections with marmot's
// functions, for evaluating SHOW ... WHERE over literal rows.
func scratch() *sql.DB {
	scratchOnce.Do(func() {
		scratchDB = newMemoryDB(":memory:", &scratchEnvs)
		scratchDB.SetMaxOpenConns(4)
		scratchDB.SetMaxIdleConns(4) // never closed: the env map stays bounded
	})
	return scratchDB
}

// whereFilter keeps the rows for which where (an SQLite expression over the
// columns names) is true.
func (s *Session) whereFilter(ctx context.Context, names []string, rows [][]any, where string) ([][]any, error) {
	if where == "" || len(rows) == 0 {
		return rows, nil
	}
	var b strings.Builder
	b.WriteString(`WITH "marmot_show"("marmot_row"`)
	for _, n := range names {
		b.WriteString(", " + sqliteIdent(n))
	}
	b.WriteString(") AS (VALUES ")
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(" + strconv.Itoa(i))
		for _, v := range r {
			b.WriteString(", " + sqliteLiteral(v))
		}
		b.WriteString(")")
	}
	b.WriteString(`) SELECT "marmot_row" FROM "marmot_show" WHERE ` + where)
	c, err := scratch().Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	env := envOfConn(&scratchEnvs, c)
	env.Session = s
	defer func() { env.Session = nil }()
	res, err := c.QueryContext(ctx, b.String())
	if err != nil {
		return nil, err
	}
	defer res.Close()
	var out [][]any
	for res.Next() {
		var i int
		if err := res.Scan(&i); err != nil {
			return nil, err
		}
		out = append(out, rows[i])
	}
	return out, res.Err()
}

// sqliteLiteral renders a value as an SQLite literal.
func sqliteLiteral(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case int64:
		return strconv.FormatInt(x, 10)
	case int:
		return strconv.Itoa(x)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return fmt.Sprintf("X'%x'", x)
	case string:
		return "'" + strings.ReplaceAll(strings.ReplaceAll(x, "\x00", ""), "'", "''") + "'"
	}
	return sqliteLiteral(string(textValue(v)))
}
