// Package transpile turns MySQL statement text, as it arrives on marmot's
// MySQL wire protocol, into SQLite SQL plus a classification the executor
// uses (one SQLite file per MySQL database).
//
// # Entry point
//
//	stmts, err := transpile.Transpile(sessionDB, text, schema)
//
// The text may hold several ';'-separated statements; they are split outside
// quotes and comments (a CREATE TRIGGER/PROCEDURE body keeps its inner ';'),
// and empty statements (";", comments only) are skipped. Each statement is
// parsed with the vitess MySQL 8 grammar (vitess.io/vitess/go/vt/sqlparser)
// and printed back as SQLite text by this package's own printer; vitess's
// formatter (sqlparser.TrackedBuffer with a custom NodeFormatter) is only a
// fallback for rarely used expression nodes, whose children still come back
// through this package. On error the returned slice holds the statements that
// precede the failing one, and err is an *Error (MySQL code and SQLSTATE).
// Transpile never panics: a panic inside becomes Error 1064.
//
// Statement.SQL is "" when the executor handles the kind itself (USE, SET,
// SHOW, DESCRIBE, CREATE/DROP/ALTER DATABASE, LOAD DATA, KILL, Noop). For
// transaction control it holds the plain SQLite equivalent (BEGIN, COMMIT,
// SAVEPOINT "x", ...), which a distributed executor may ignore. EXPLAIN
// SELECT ... becomes EXPLAIN QUERY PLAN <translated statement>. DDL is always
// written in its idempotent form (CREATE TABLE IF NOT EXISTS, DROP TABLE IF
// EXISTS, CREATE INDEX IF NOT EXISTS, ...) and may hold several
// ';'-separated statements. A DDL statement that has nothing to do in SQLite
// (ALTER TABLE t ENGINE=InnoDB, DISABLE KEYS, MODIFY COLUMN, a FULLTEXT
// index...) is reported as Kind Noop with Table set.
//
// Statement.Params counts the '?' placeholders. They are kept as '?' in source
// order; if a rewrite had to repeat or reorder one (x ^ ?), the statement uses
// numbered placeholders ?1, ?2, ... instead, which SQLite binds by number, so
// binding the arguments in order stays correct.
//
// # Quoting
//
// Table names, column definitions, column lists, aliases and index names are
// quoted with double quotes. Column references inside expressions are quoted
// with backticks: SQLite treats an unknown "double-quoted" name as a string
// literal, but never a backtick-quoted one, so a misspelt column is an error
// as in MySQL. String literals use SQLite quoting ('it”s') after decoding
// MySQL's backslash escapes (\n \t \r \b \Z \0 \\ \' \"; \% and \_ keep their
// backslash, as in MySQL). Text that is not valid UTF-8 becomes a blob
// literal X'..'; text containing NUL becomes CAST(X'..' AS TEXT) (SQLite stops
// reading SQL text at a NUL byte). _binary 'x' and 0x... items of INSERT
// VALUES (mysqldump --hex-blob) are blobs; elsewhere a 0x literal of up to 15
// hex digits is an integer.
//
// # Column types
//
// The MySQL type name is kept where SQLite accepts it, so that the declared
// type still tells the executor (SHOW COLUMNS, result metadata) what the
// column was. SQLite derives a column's affinity from its declared type:
// contains "INT" → INTEGER; "CHAR", "CLOB" or "TEXT" → TEXT; "BLOB" → BLOB;
// "REAL", "FLOA" or "DOUB" → REAL; otherwise NUMERIC. Where the kept name
// would give the wrong affinity, a suffix fixes it:
//
//	MySQL type                               SQLite declared type          affinity
//	TINYINT(1), BOOL, BOOLEAN                TINYINT(1)                    INTEGER
//	TINYINT..BIGINT [UNSIGNED] (width)       BIGINT UNSIGNED, INT ...      INTEGER  (display width, ZEROFILL dropped)
//	INT AUTO_INCREMENT PRIMARY KEY           INTEGER PRIMARY KEY AUTOINCREMENT  INTEGER (64-bit rowid)
//	DECIMAL(p,s), NUMERIC, DEC, FIXED        DECIMAL(p,s)                  NUMERIC  (compares as a number)
//	FLOAT, DOUBLE, REAL [(m,d)] [UNSIGNED]   FLOAT, DOUBLE, REAL ...       REAL
//	CHAR(n), VARCHAR(n), *TEXT               CHAR(n), VARCHAR(n), *TEXT    TEXT     (COLLATE utf8mb4_general_ci, see Collation)
//	BINARY(n), VARBINARY(n)                  BINARY_BLOB(n), VARBINARY_BLOB(n)  BLOB
//	TINYBLOB, BLOB, MEDIUMBLOB, LONGBLOB     same                          BLOB
//	BIT(n)                                   BIT_BLOB(n)                   BLOB     (b'..' literals become integers)
//	DATE, DATETIME(n), TIMESTAMP(n), TIME(n) same                          NUMERIC  (values are 'YYYY-MM-DD HH:MM:SS' text, which NUMERIC keeps as text)
//	YEAR                                     YEAR                          NUMERIC
//	JSON                                     JSON_TEXT                     TEXT
//	ENUM('a','b')                            TEXT CHECK (col IN ('a','b') OR col IS NULL)   TEXT
//	SET('a','b')                             TEXT CHECK (every ','-separated member allowed) TEXT
//	GEOMETRY, POINT, ... (spatial)           GEOMETRY_BLOB                 BLOB     ("POINT" would mean INTEGER)
//
// Type synonyms vitess cannot parse (DEC, FIXED, DOUBLE PRECISION, NCHAR,
// NATIONAL VARCHAR, LONG VARCHAR, INT1..INT8, MIDDLEINT, FLOAT4/8, SERIAL) are
// rewritten before parsing. DECIMAL columns have NUMERIC affinity so that
// `price > 100` and ORDER BY compare numbers (a TEXT column would compare
// '5.00' > '100' as text); values are stored as integers or doubles, so
// digits beyond double precision (about 15 significant) are not exact, and
// the frontend prints them with the column's scale (2.5 in DECIMAL(10,2)
// reads back 2.50).
//
// Kept: NOT NULL, DEFAULT (literals, NULL, CURRENT_TIMESTAMP/NOW() →
// CURRENT_TIMESTAMP, MySQL 8 expression defaults in parentheses; '0000-00-00
// 00:00:00' stays text), PRIMARY KEY, UNIQUE, CHECK, generated columns,
// foreign keys (as SQLite REFERENCES). Dropped: ENGINE, CHARSET, COLLATE,
// COMMENT, ROW_FORMAT, AUTO_INCREMENT=N and other table options, PARTITION BY,
// column CHARACTER SET / COLLATE / COMMENT / ZEROFILL / VISIBLE, NOT ENFORCED
// checks, and ON UPDATE CURRENT_TIMESTAMP, which is reported instead in
// Statement.OnUpdateNow so the executor can maintain the column. None of the
// dropped items changes what SQLite stores.
//
// # Collation
//
// Character columns (CHAR, VARCHAR, *TEXT, ENUM, SET) are declared COLLATE
// utf8mb4_general_ci (CICollation), a collation the executor registers on
// every connection with MySQL's utf8mb4_general_ci rules (case- and
// accent-insensitive, 'ß' = 's', trailing spaces ignored), so '=', ORDER BY,
// GROUP BY, DISTINCT, UNIQUE and indexes compare as in MySQL; columns
// declared BINARY, CHARACTER SET binary or with a _bin collation keep
// SQLite's byte comparison. Any other MySQL column collation (utf8mb4_unicode_ci,
// utf8mb4_0900_ai_ci, ...) becomes utf8mb4_general_ci. Tables created by
// earlier versions keep COLLATE NOCASE (ASCII only). A comparison of a string
// literal with something that brings no collation in SQLite (another literal,
// a function of columns: 'é' = 'E', CONCAT(a, b) = 'x') gets COLLATE
// utf8mb4_general_ci, MySQL's connection collation; x COLLATE *_ci becomes
// COLLATE utf8mb4_general_ci, x COLLATE *_bin COLLATE BINARY. LIKE is the
// executor's like() function (case- and accent-insensitive per character, as
// MySQL; byte-exact on BLOBs, so a column declared BINARY, VARBINARY, BLOB or
// with a _bin collation, or a LIKE with COLLATE x_bin, is CAST to BLOB and
// matches case-sensitively, as in MySQL; the column's collation comes from
// TableDefiner); SQLite cannot search an index for it, so "col
// LIKE 'prefix%...'" on a character column also gets the range of strings
// that can match: (col LIKE 'ab%' AND col >= 'ab' COLLATE utf8mb4_general_ci
// AND col < 'aC' COLLATE utf8mb4_general_ci).
//
// A replicated table needs a PRIMARY KEY (Error 3750); an AUTO_INCREMENT
// column must be the whole primary key (Error 1075). CREATE TEMPORARY TABLE
// becomes CREATE TEMP TABLE (not replicated, no key required).
//
// # Index naming
//
// MySQL index names are per table, SQLite's are per database, so the index
// KEY name (cols) of table t is created as "t__name" (an unnamed index takes
// its first column's name, then name_2, ... as MySQL does). KEY/INDEX/UNIQUE
// KEY inside CREATE TABLE, ALTER TABLE ADD INDEX and CREATE INDEX all become
// CREATE [UNIQUE] INDEX IF NOT EXISTS "t__name" ON "t" (cols), and DROP INDEX
// name ON t / ALTER TABLE DROP INDEX name become DROP INDEX IF EXISTS
// "t__name". Index prefix lengths col(191) are dropped. FULLTEXT and SPATIAL
// indexes are accepted and not created (no full-text search; MATCH ... AGAINST
// is Error 1235). Column-level UNIQUE stays an inline constraint. After
// RENAME TABLE the existing indexes keep their old prefix.
//
// # Auto-increment ids
//
// An AUTO_INCREMENT column becomes INTEGER PRIMARY KEY AUTOINCREMENT; the
// AUTOINCREMENT keyword is how the executor later recognises such columns in
// the SQLite schema (Schema.AutoIncrement). On INSERT/REPLACE into a table
// with such a column, ids are injected through the SQL function
// marmot_auto_id(x), which the executor registers: it returns x unless x is
// NULL or 0, in which case it returns a new cluster-unique id.
//
//   - column listed: each row's value v becomes marmot_auto_id(v) (DEFAULT → NULL);
//   - column not listed: it is appended to the column list with marmot_auto_id(NULL);
//   - no column list: Schema.Columns gives its position (unknown table → Error 1146);
//   - INSERT ... SELECT without the column:
//     INSERT INTO t (cols..., id) SELECT *, marmot_auto_id(NULL) FROM (<select>);
//   - INSERT ... SELECT with it (or without column list):
//     INSERT INTO t (...) WITH "marmot_src" ("c1", ...) AS (<select>) SELECT marmot_auto_id(`c1`), ... FROM "marmot_src".
//
// Tables created, dropped or renamed earlier in the same multi-statement text
// (a mysqldump file) are taken into account.
//
// # DML
//
// INSERT IGNORE → INSERT OR IGNORE; REPLACE stays REPLACE; INSERT ... SET →
// column-list form; ON DUPLICATE KEY UPDATE a = VALUES(a) (or the MySQL 8 row
// alias new.a) → ON CONFLICT DO UPDATE SET a = excluded.a (an INSERT ...
// SELECT source gets WHERE true to avoid SQLite's ON ambiguity). DEFAULT in
// VALUES drops the column when every row uses it. UPDATE/DELETE with ORDER BY
// or LIMIT become ... WHERE rowid IN (SELECT rowid FROM t WHERE ... ORDER BY
// ... LIMIT n). Multi-table UPDATE and DELETE (joins, comma lists, DELETE ...
// USING) select their rows from one evaluation of the join, before any row
// changes, as MySQL does: with one target table, one SQLite statement (UPDATE
// ... FROM (SELECT rowid, new values FROM <join> WHERE ...), DELETE ... WHERE
// rowid IN (SELECT ...)); with several, Statement.Parts: a temporary table of
// the join's target rowids and new values, one statement per target table,
// then DROP (see multi.go). ORDER BY/LIMIT there are Error 1221 as in MySQL;
// several target tables inside a trigger are Error 1235. LOW_PRIORITY,
// DELAYED, HIGH_PRIORITY and QUICK are dropped. TRUNCATE TABLE t → DELETE FROM
// "t". A database qualifier equal to the session's is stripped; another one is
// stripped and reported in Statement.Database (the executor routes the
// statement to that file); two databases in one statement are Error 1235.
//
// # Expressions
//
//	a || b, a && b, !a          a OR b, a AND b, (NOT a)     (MySQL's default sql_mode)
//	a XOR b                      ((NOT a) <> (NOT b))
//	x DIV y, x MOD y, MOD(x,y)   CAST((x) / (y) AS INTEGER), x % y
//	x / y                        x * 1.0 / y                 (MySQL division never truncates; see Result types)
//	a <=> b                      a IS b
//	LIKE without ESCAPE          ... ESCAPE '\' when the pattern may hold '\' (MySQL's default escape)
//	REGEXP / RLIKE, REGEXP_LIKE  REGEXP operator (SQLite calls regexp(pattern, value))
//	IF(c,a,b), ISNULL(x)         iif(c,a,b), (x IS NULL)
//	CAST/CONVERT AS SIGNED/UNSIGNED → INTEGER, CHAR → TEXT, DECIMAL → NUMERIC, DOUBLE → REAL,
//	  DATE/DATETIME/TIME → date()/datetime()/time(), JSON → json(), BINARY x → x
//	DATE_ADD(d, INTERVAL n u), DATE_SUB, ADDDATE, SUBDATE, TIMESTAMPADD, d ± INTERVAL n u
//	                             datetime(d, '+n units'); date(...) when d is a date-only literal
//	                             or CURDATE() and the unit has no time part (as MySQL); WEEK → 7 days,
//	                             QUARTER → 3 months; compound units ('1:30' HOUR_MINUTE) need a literal
//	NOW(), CURRENT_TIMESTAMP, LOCALTIME...  now(); CURDATE()/CURRENT_DATE → curdate(); CURTIME() → curtime()
//	@@var, @@session.var, @@global.var      marmot_sysvar('var')  (aliased "@@var" when unaliased at top level)
//	@var                                    marmot_uservar('var')
//	LENGTH(x), CHAR_LENGTH(x)    octet_length(x), length(x)
//	GREATEST/LEAST(...)          max(...)/min(...)
//	LCASE/UCASE, SCHEMA()        lower/upper, database()
//	EXTRACT(YEAR FROM d)         year(d) (month, day, hour, ...); compound units extract('year_month', d)
//	TIMESTAMPDIFF(u, a, b)       timestampdiff('u', a, b)
//	LOCATE(s, x), POSITION       instr(x, s); LOCATE(s, x, p) → locate(s, x, p)
//	TRIM([LEADING|TRAILING|BOTH] r FROM s)  ltrim/rtrim/trim(s, r)
//	GROUP_CONCAT(x ORDER BY y SEPARATOR s)  group_concat(x, s ORDER BY y)
//	doc->'$.p', doc->>'$.p', JSON_EXTRACT(doc, p)  (doc -> p), (doc ->> p)
//	COLLATE x_bin / binary       COLLATE BINARY; COLLATE x_ci → COLLATE utf8mb4_general_ci; others dropped
//	_charset 'x', N'x', CONVERT(x USING cs), ANY_VALUE(x)  'x', 'x', x, x
//	SELECT ... FROM DUAL         FROM dropped; SQL_CALC_FOUND_ROWS dropped (Statement.CalcFoundRows),
//	                             SQL_NO_CACHE, HIGH_PRIORITY, STRAIGHT_JOIN, index hints dropped;
//	                             FOR UPDATE, FOR SHARE, LOCK IN SHARE MODE dropped from the SQL and
//	                             kept as Statement.Locking (the session begins its capture)
//	(SELECT ...) UNION (SELECT ... LIMIT 1)  operands with ORDER BY/LIMIT become SELECT * FROM (...)
//	(a, b) IN ((1, 2), (3, 4))   (a, b) IN (VALUES (1, 2), (3, 4))
//	TABLE t, VALUES ROW(..)      SELECT * FROM "t", VALUES (..)
//
// Every other function is called by its lower-cased MySQL name (quoted when it
// is an SQLite keyword, e.g. "left"(s, 2)); the executor registers MySQL's
// functions (date_format, unix_timestamp, concat with MySQL's NULL rule, ...)
// as SQLite functions.
//
// # Result types
//
// SQLite computes exact arithmetic in doubles and types expression results
// by their values; MySQL types them. The transpiler infers the MySQL type of
// each top-level select list item (literals; columns, from
// ColumnTyper/TableDefiner; + - * / DIV %, CAST, SUM/AVG/MIN/MAX, common
// functions) and lists in Statement.Decimals the items that are DECIMAL with
// digits after the point: x / y of exact operands (integers, DECIMAL) has the
// dividend's scale + 4 (div_precision_increment), so 7/2 is 3.5000 and 1/3 is
// 0.3333; a DECIMAL(10,2) column times 2 keeps scale 2; AVG of integers has
// scale 4; 1.50 keeps 2. The executor reports those columns as DECIMAL and
// prints the values with exactly that scale (rounded half away from zero).
// DOUBLE or string operands keep float division (1.0e0/3 is
// 0.3333333333333333); x / 0 is NULL. UNION results and placeholders are not
// typed.
//
// # CREATE TABLE ... LIKE / SELECT
//
// Both become an ordinary CREATE TABLE IF NOT EXISTS with every column spelled
// out, which is what replicates (another node's source table might differ).
// LIKE takes the source's definition from TableDefiner (SHOW CREATE TABLE)
// and keeps columns, defaults, keys, indexes, AUTO_INCREMENT, CHECK and ON
// UPDATE CURRENT_TIMESTAMP, not foreign keys, as MySQL does. CREATE TABLE t
// [(definitions)] [IGNORE|REPLACE] [AS] SELECT ... orders columns as MySQL
// (columns only declared first, then the result columns; a declared column
// overrides a result column's type), types a result column that is a plain
// column reference with that column's type, nullability, default and
// collation (no keys or AUTO_INCREMENT; nullable on the inner side of an
// outer join) and an expression with its inferred type (LONGTEXT when
// unknown). MySQL creates such tables without a PRIMARY KEY; marmot requires
// one declared before the SELECT, e.g. CREATE TABLE t2 (PRIMARY KEY (id))
// SELECT id, name FROM t1 (Error 3750 otherwise; vitess cannot parse a
// definition list that starts with a key, so the text is parsed with a
// placeholder column that is then dropped). Statement.FillSQL holds the
// INSERT ... SELECT that fills the table; the executor runs it after the DDL.
// CREATE TEMPORARY TABLE ... SELECT is Error 1235.
//
// # Statements handled without SQL
//
// SET → Kind Set with one SetVar per assignment (SET NAMES x COLLATE y → Name
// "names", Collate y; SET CHARACTER SET x → "charset"; SET @x → Scope "user").
// SHOW ..., DESCRIBE/DESC/EXPLAIN t → Kind Show/Describe with ShowInfo (the
// WHERE filter translated as a SQLite expression over the result columns).
// LOAD DATA [LOCAL] INFILE → Kind LoadData with LoadInfo (file, table,
// terminators, column list). Accepted no-ops (Kind Noop, MySQL's OK reply):
// LOCK/UNLOCK TABLES, XA ..., GRANT/REVOKE, CREATE/DROP/ALTER/RENAME USER and
// ROLE, SET PASSWORD/ROLE, FLUSH, OPTIMIZE/REPAIR/ANALYZE/CHECK/CHECKSUM
// TABLE, SET TRANSACTION ..., DO ..., PURGE/RESET, DROP PROCEDURE/FUNCTION/
// EVENT IF EXISTS, and the ALTER TABLE options listed above.
//
// # Fallback classifier
//
// A small lexer in front of the parser (lexer.go, classify.go) decides by
// leading keywords for statements vitess cannot parse or parses into an opaque
// node: the no-ops above, COMMIT [WORK] [AND CHAIN], ROLLBACK [WORK] [TO
// [SAVEPOINT] x], BEGIN WORK, CREATE TRIGGER / DROP TRIGGER (the body, one
// statement or BEGIN ... END of INSERT/UPDATE/DELETE, is translated; SET
// NEW.col and control flow are Error 1235), LOAD DATA, and the unsupported
// stored programs (CREATE PROCEDURE/FUNCTION/EVENT, CALL, HANDLER, PREPARE →
// Error 1235). SHOW forms vitess rejects (SHOW MASTER LOGS, SHOW CREATE SCHEMA,
// SHOW COUNT(*) WARNINGS) are classified by their words. Versioned comments
// /*!NNNNN ... */ with a version up to 8.0.40 are executed as SQL, as MySQL
// does (mysqldump relies on it). Anything still unparseable is Error 1064
// "You have an error in your SQL syntax; <parser message> near '...'".
//
// # Known differences
//
// SQLite cannot change a column's type, default or nullability: ALTER TABLE
// MODIFY/CHANGE/ALTER COLUMN apply only their rename part; ADD COLUMN puts the
// column last and gives NOT NULL columns MySQL's implicit default; ADD/DROP
// PRIMARY KEY, ADD CHECK, RENAME INDEX and adding
// AUTO_INCREMENT or DEFAULT CURRENT_TIMESTAMP columns are Error 1235; foreign
// keys added or dropped by ALTER TABLE are accepted and not enforced. Month arithmetic follows SQLite (2024-01-31 + 1 month = 2024-03-02).
package transpile
