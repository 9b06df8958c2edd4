package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

var updateCompat = flag.Bool("update-compat", false, "rewrite docs/compatibility.md from the TestCompatibility entries")

// Compatibility statuses.
const (
	Supported   = "Supported"
	AcceptedNR  = "Accepted, not replicated"
	Refused     = "Refused"
	compatDB    = "compat"
	compatDoc   = "docs/compatibility.md"
	loadDataTSV = "1\tapple\n2\tpear\n"
)

// compatEntry is one row of docs/compatibility.md. TestCompatibility runs
// Setup, then SQL, on a fresh connection to the database "compat":
//   - Supported / Accepted: SQL must succeed; when Want is set, the first
//     column of the first row of Check (or of SQL itself when Check is empty)
//     must read Want ("NULL" for SQL NULL).
//   - Refused: SQL must fail with MySQL error Code.
//
// Cleanup runs afterwards whatever happened.
type compatEntry struct {
	Section    string
	Statement  string
	Setup      []string
	SQL        string
	Check      string
	Want       string
	Status     string
	Replicated string // "yes", "no", "n/a"
	Code       uint16
	Notes      string
	Cleanup    []string
	ShowSetup  bool // print the setup statements after the first in the Example column
}

var compatSections = []string{
	"Data manipulation (DML)",
	"Data definition (DDL)",
	"Database management",
	"Transaction control",
	"Locking",
	"Session configuration",
	"XA transactions",
	"Data control (DCL)",
	"Administrative",
	"Stored programs",
	"Functions and operators",
}

func compatEntries() []compatEntry {
	const (
		dml   = "Data manipulation (DML)"
		ddl   = "Data definition (DDL)"
		dbm   = "Database management"
		txn   = "Transaction control"
		lock  = "Locking"
		sess  = "Session configuration"
		xa    = "XA transactions"
		dcl   = "Data control (DCL)"
		admin = "Administrative"
		prog  = "Stored programs"
		fn    = "Functions and operators"
	)
	kv := func(name string) string {
		return "CREATE TABLE " + name + " (id INT PRIMARY KEY, v VARCHAR(20))"
	}
	kv3 := func(name string) []string {
		return []string{kv(name), "INSERT INTO " + name + " VALUES (1,'a'),(2,'b'),(3,'c')"}
	}
	// sel builds a function entry: SELECT expr, expecting want.
	sel := func(name, expr, want, notes string) compatEntry {
		return compatEntry{Section: fn, Statement: name, SQL: "SELECT " + expr, Want: want, Status: Supported, Replicated: "n/a", Notes: notes}
	}
	return []compatEntry{
		// DML
		{Section: dml, Statement: "INSERT", Setup: []string{kv("ins")}, SQL: "INSERT INTO ins VALUES (1,'a'),(2,'b')", Check: "SELECT COUNT(*) FROM ins", Want: "2", Status: Supported, Replicated: "yes", Notes: "Replicated as row changes."},
		{Section: dml, Statement: "INSERT into db.table", Setup: []string{kv("insq")}, SQL: "INSERT INTO compat.insq (id, v) VALUES (1,'a')", Check: "SELECT v FROM insq", Want: "a", Status: Supported, Replicated: "yes", Notes: "Database-qualified names; one database per statement."},
		{Section: dml, Statement: "INSERT ... SET", Setup: []string{kv("insset")}, SQL: "INSERT INTO insset SET id = 1, v = 'x'", Check: "SELECT v FROM insset", Want: "x", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "INSERT ... SELECT", Setup: append(kv3("inss1"), kv("inss2")), SQL: "INSERT INTO inss2 SELECT id, v FROM inss1 WHERE id > 1", Check: "SELECT COUNT(*) FROM inss2", Want: "2", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "INSERT IGNORE", Setup: kv3("insig"), SQL: "INSERT IGNORE INTO insig VALUES (1,'dup'),(4,'d')", Check: "SELECT GROUP_CONCAT(v ORDER BY id) FROM insig", Want: "a,b,c,d", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "INSERT ... ON DUPLICATE KEY UPDATE", Setup: kv3("odku"), SQL: "INSERT INTO odku VALUES (1,'new') ON DUPLICATE KEY UPDATE v = VALUES(v)", Check: "SELECT v FROM odku WHERE id = 1", Want: "new", Status: Supported, Replicated: "yes", Notes: "Becomes SQLite ON CONFLICT DO UPDATE."},
		{Section: dml, Statement: "INSERT duplicate key", Setup: kv3("insdup"), SQL: "INSERT INTO insdup VALUES (1,'x')", Status: Refused, Replicated: "n/a", Code: 1062, Notes: "Duplicate entry, as in MySQL."},
		{Section: dml, Statement: "REPLACE", Setup: kv3("rep"), SQL: "REPLACE INTO rep VALUES (1,'new')", Check: "SELECT v FROM rep WHERE id = 1", Want: "new", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "REPLACE into db.table", Setup: kv3("repq"), SQL: "REPLACE INTO compat.repq VALUES (2,'new')", Check: "SELECT v FROM repq WHERE id = 2", Want: "new", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "UPDATE", Setup: kv3("upd"), SQL: "UPDATE upd SET v = 'z' WHERE id = 2", Check: "SELECT v FROM upd WHERE id = 2", Want: "z", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "UPDATE db.table", Setup: kv3("updq"), SQL: "UPDATE compat.updq SET v = 'z' WHERE id = 3", Check: "SELECT v FROM updq WHERE id = 3", Want: "z", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "UPDATE ... ORDER BY ... LIMIT", Setup: kv3("updl"), SQL: "UPDATE updl SET v = 'z' ORDER BY id DESC LIMIT 1", Check: "SELECT GROUP_CONCAT(v ORDER BY id) FROM updl", Want: "a,b,z", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "Multi-table UPDATE", Setup: append(kv3("mu1"), kv("mu2"), "INSERT INTO mu2 VALUES (1,'x'),(2,'y')"), SQL: "UPDATE mu1 JOIN mu2 ON mu1.id = mu2.id SET mu1.v = mu2.v", Check: "SELECT GROUP_CONCAT(v ORDER BY id) FROM mu1", Want: "x,y,c", Status: Supported, Replicated: "yes", Notes: "One SQLite UPDATE ... FROM over the join, evaluated before any row changes; outer joins and self-joins included."},
		{Section: dml, Statement: "Multi-table UPDATE (several target tables)", Setup: append(kv3("mu3"), kv3("mu4")...), SQL: "UPDATE mu3, mu4 SET mu3.v = 'p', mu4.v = 'q' WHERE mu3.id = mu4.id AND mu3.v = 'a'", Check: "SELECT CONCAT((SELECT GROUP_CONCAT(v ORDER BY id) FROM mu3), '/', (SELECT GROUP_CONCAT(v ORDER BY id) FROM mu4))", Want: "p,b,c/q,b,c", Status: Supported, Replicated: "yes", Notes: "The matching rows and all new values are taken from the join before anything changes, then each table is updated; one transaction, one change set."},
		{Section: dml, Statement: "DELETE", Setup: kv3("del"), SQL: "DELETE FROM del WHERE id = 1", Check: "SELECT COUNT(*) FROM del", Want: "2", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "DELETE db.table", Setup: kv3("delq"), SQL: "DELETE FROM compat.delq WHERE id > 1", Check: "SELECT COUNT(*) FROM delq", Want: "1", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "Multi-table DELETE (one target table)", Setup: append(kv3("md1"), kv("md2"), "INSERT INTO md2 VALUES (1,'a')"), SQL: "DELETE md1 FROM md1 JOIN md2 ON md1.id = md2.id", Check: "SELECT COUNT(*) FROM md1", Want: "2", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "Multi-table DELETE (self-join)", Setup: []string{"CREATE TABLE mdo (id INT PRIMARY KEY, name VARCHAR(64), val VARCHAR(20))", "INSERT INTO mdo VALUES (1,'_transient_a','x'),(2,'_transient_timeout_a','1000'),(3,'_transient_b','y'),(4,'_transient_timeout_b','99999999999')"}, SQL: "DELETE a, b FROM mdo a, mdo b WHERE a.name LIKE '\\_transient\\_%' AND a.name NOT LIKE '\\_transient\\_timeout\\_%' AND b.name = CONCAT('_transient_timeout_', SUBSTRING(a.name, 12)) AND b.val < UNIX_TIMESTAMP()", Check: "SELECT GROUP_CONCAT(id ORDER BY id) FROM mdo", Want: "3,4", Status: Supported, Replicated: "yes", Notes: "WordPress's expired-transient cleanup."},
		{Section: dml, Statement: "Multi-table DELETE (several target tables)", Setup: append(kv3("md3"), kv3("md4")...), SQL: "DELETE md3, md4 FROM md3 JOIN md4 ON md3.id = md4.id WHERE md3.id < 3", Check: "SELECT (SELECT COUNT(*) FROM md3) + (SELECT COUNT(*) FROM md4)", Want: "2", Status: Supported, Replicated: "yes", Notes: "The rows to delete are found from the join before anything is deleted, then each table is deleted from; one transaction, one change set."},
		{Section: dml, Statement: "DELETE ... USING", Setup: append(kv3("md5"), kv("md6"), "INSERT INTO md6 VALUES (2,'b')"), SQL: "DELETE FROM md5 USING md5 JOIN md6 ON md5.id = md6.id", Check: "SELECT GROUP_CONCAT(id ORDER BY id) FROM md5", Want: "1,3", Status: Supported, Replicated: "yes"},
		{Section: dml, Statement: "Multi-table UPDATE ... LIMIT", Setup: append(kv3("mu5"), kv3("mu6")...), SQL: "UPDATE mu5 JOIN mu6 ON mu5.id = mu6.id SET mu5.v = mu6.v LIMIT 1", Status: Refused, Replicated: "n/a", Code: 1221, Notes: "As in MySQL: ORDER BY and LIMIT are single-table only."},
		{Section: dml, Statement: "SELECT", Setup: append(kv3("s1"), kv3("s2")...), SQL: "SELECT COUNT(*) FROM s1 JOIN s2 USING (id) WHERE s1.id >= 2", Want: "2", Status: Supported, Replicated: "n/a", Notes: "Read locally; joins, subqueries, UNION, GROUP BY."},
		{Section: dml, Statement: "LOAD DATA LOCAL INFILE", Setup: []string{kv("ld")}, SQL: "LOAD DATA LOCAL INFILE 'Reader::compat' INTO TABLE ld", Check: "SELECT GROUP_CONCAT(v ORDER BY id) FROM ld", Want: "apple,pear", Status: Supported, Replicated: "yes", Notes: "Client must enable local infile (mysql --local-infile=1; go-sql-driver allowAllFiles or a registered reader)."},
		{Section: dml, Statement: "LOAD DATA INFILE (server file)", Setup: []string{kv("ldsrv")}, SQL: "LOAD DATA INFILE '/etc/hostname' INTO TABLE ldsrv", Status: Refused, Replicated: "n/a", Code: 1290, Notes: "Server-side files are not read (like --secure-file-priv); use LOCAL."},

		// DDL
		{Section: ddl, Statement: "CREATE TABLE", SQL: "CREATE TABLE ct (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, KEY name_idx (name)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4", Check: "SELECT COUNT(*) FROM ct", Want: "0", Status: Supported, Replicated: "yes", Notes: "Replicated as idempotent DDL; ENGINE/CHARSET dropped."},
		{Section: ddl, Statement: "CREATE TABLE without PRIMARY KEY", SQL: "CREATE TABLE nopk (a INT, b INT)", Status: Refused, Replicated: "n/a", Code: 3750, Notes: "Rows are replicated by key."},
		{Section: ddl, Statement: "CREATE TABLE ... SELECT", Setup: kv3("ctsrc"), SQL: "CREATE TABLE ctsel (PRIMARY KEY (id)) SELECT id, v, id / 4 AS q FROM ctsrc", Check: "SELECT q FROM ctsel WHERE id = 3", Want: "0.7500", Status: Supported, Replicated: "yes", Notes: "The table replicates as DDL (the expanded CREATE TABLE, columns typed from the SELECT), its rows as row changes; a failed insert drops the table again. The PRIMARY KEY must be declared before the SELECT."},
		{Section: ddl, Statement: "CREATE TABLE ... SELECT without PRIMARY KEY", Setup: kv3("ctsrc2"), SQL: "CREATE TABLE ctsel2 SELECT id, v FROM ctsrc2", Status: Refused, Replicated: "n/a", Code: 3750, Notes: "MySQL makes such a table without a key; declare one: CREATE TABLE t2 (PRIMARY KEY (id)) SELECT ... or CREATE TABLE t2 (id BIGINT AUTO_INCREMENT PRIMARY KEY) SELECT ...."},
		{Section: ddl, Statement: "CREATE TABLE ... LIKE", Setup: []string{"CREATE TABLE ctlsrc (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL DEFAULT 'x', KEY v (v))"}, SQL: "CREATE TABLE ctl LIKE ctlsrc", Check: "INSERT INTO ctl () VALUES ()", Status: Supported, Replicated: "yes", Notes: "Columns, defaults, keys, indexes and AUTO_INCREMENT are copied (not foreign keys); replicated as the expanded CREATE TABLE, not the LIKE form."},
		{Section: ddl, Statement: "CREATE TEMPORARY TABLE", Setup: kv3("tmpsrc"), SQL: "CREATE TEMPORARY TABLE tmp1 (a INT)", Check: "INSERT INTO tmp1 SELECT id FROM tmpsrc", Status: Supported, Replicated: "no", Notes: "Private to the session, which may also use it in joins and INSERT ... SELECT into permanent tables (those rows replicate); shadows a permanent table of its name; gone when the session ends. Never in the transaction log, CDC or other nodes; no key required. Creating it inside a transaction does not commit the transaction. SHOW CREATE TABLE (as CREATE TEMPORARY TABLE), DESCRIBE, SHOW COLUMNS, SHOW INDEX and COM_FIELD_LIST (the mysql CLI's column completion) see it; SHOW TABLES and information_schema do not, as in MySQL. DROP DATABASE by any session drops the temp tables in it too (MySQL keeps them): statements on them then fail with 1049 or 1146."},
		{Section: ddl, Statement: "SHOW CREATE TABLE (temporary table)", Setup: []string{"CREATE TEMPORARY TABLE tmp4 (a INT PRIMARY KEY, b VARCHAR(5), KEY b (b))"}, SQL: "SHOW CREATE TABLE tmp4", Check: "DESCRIBE tmp4", Status: Supported, Replicated: "n/a", Notes: "Shows CREATE TEMPORARY TABLE; DESCRIBE, SHOW [FULL] COLUMNS and SHOW INDEX also describe temp tables, the temp one where it shadows a permanent table."},
		{Section: ddl, Statement: "CREATE TABLE ... LIKE (temporary table)", Setup: []string{"CREATE TEMPORARY TABLE tmp5 (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT 'x')"}, SQL: "CREATE TABLE ctltmp LIKE tmp5", Check: "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'ctltmp'", Want: "1", Status: Supported, Replicated: "yes", Notes: "Makes a permanent table with the temp table's definition, as in MySQL.", Cleanup: []string{"DROP TABLE ctltmp"}},
		{Section: ddl, Statement: "CREATE TEMPORARY TABLE ... SELECT", Setup: kv3("tmpsrc2"), SQL: "CREATE TEMPORARY TABLE tmp2 SELECT id, v FROM tmpsrc2 WHERE id > 1", Check: "SELECT GROUP_CONCAT(v ORDER BY id) FROM tmp2", Want: "b,c", Status: Supported, Replicated: "no", Notes: "Also CREATE TEMPORARY TABLE ... LIKE a permanent table. One that fails part way (a duplicate key, inside a transaction or not) leaves no table. RENAME TABLE and ALTER TABLE ... RENAME rename a temp table (a RENAME TABLE of several tables that includes one gets 1235); CREATE TRIGGER on one gets 1361, as in MySQL."},
		{Section: ddl, Statement: "DROP TEMPORARY TABLE", Setup: []string{"CREATE TEMPORARY TABLE tmp3 (a INT)"}, SQL: "DROP TEMPORARY TABLE tmp3", Status: Supported, Replicated: "no", Notes: "DROP TABLE also drops a temporary table first, as in MySQL."},
		{Section: ddl, Statement: "ALTER TABLE ADD COLUMN", Setup: kv3("alt"), SQL: "ALTER TABLE alt ADD COLUMN n INT NOT NULL", Check: "SELECT SUM(n) FROM alt", Want: "0", Status: Supported, Replicated: "yes", Notes: "New column goes last; NOT NULL gets MySQL's implicit default."},
		{Section: ddl, Statement: "ALTER TABLE RENAME COLUMN", Setup: kv3("altr"), SQL: "ALTER TABLE altr RENAME COLUMN v TO w", Check: "SELECT w FROM altr WHERE id = 1", Want: "a", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "ALTER TABLE DROP COLUMN", Setup: []string{"CREATE TABLE altd (id INT PRIMARY KEY, a INT, b INT)"}, SQL: "ALTER TABLE altd DROP COLUMN b", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "ALTER TABLE MODIFY COLUMN", Setup: kv3("altm"), SQL: "ALTER TABLE altm MODIFY COLUMN v VARCHAR(100)", Status: AcceptedNR, Replicated: "no", Notes: "SQLite cannot change a column's type; only a rename part applies."},
		{Section: ddl, Statement: "ALTER TABLE ENGINE=...", Setup: []string{kv("alte")}, SQL: "ALTER TABLE alte ENGINE=InnoDB", Status: AcceptedNR, Replicated: "no", Notes: "Nothing to do in SQLite."},
		{Section: ddl, Statement: "ALTER TABLE DROP PRIMARY KEY", Setup: []string{"CREATE TABLE altpk (id INT PRIMARY KEY, a INT)"}, SQL: "ALTER TABLE altpk DROP PRIMARY KEY", Status: Refused, Replicated: "n/a", Code: 1235},
		{Section: ddl, Statement: "DROP TABLE", Setup: []string{kv("dropme")}, SQL: "DROP TABLE dropme", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "DROP TABLE IF EXISTS", SQL: "DROP TABLE IF EXISTS never_existed", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "TRUNCATE TABLE", Setup: kv3("trunc"), SQL: "TRUNCATE TABLE trunc", Check: "SELECT COUNT(*) FROM trunc", Want: "0", Status: Supported, Replicated: "yes", Notes: "Executed as DELETE FROM (row changes replicate)."},
		{Section: ddl, Statement: "RENAME TABLE", Setup: kv3("ren1"), SQL: "RENAME TABLE ren1 TO ren2", Check: "SELECT COUNT(*) FROM ren2", Want: "3", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "CREATE INDEX", Setup: kv3("idx"), SQL: "CREATE INDEX v_idx ON idx (v)", Status: Supported, Replicated: "yes", Notes: "Created as \"table__name\" (SQLite index names are per database)."},
		{Section: ddl, Statement: "CREATE UNIQUE INDEX", Setup: kv3("uidx"), SQL: "CREATE UNIQUE INDEX v_uidx ON uidx (v)", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "DROP INDEX", Setup: append(kv3("didx"), "CREATE INDEX v_idx ON didx (v)"), SQL: "DROP INDEX v_idx ON didx", ShowSetup: true, Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "CREATE FULLTEXT INDEX", Setup: kv3("ftidx"), SQL: "CREATE FULLTEXT INDEX v_ft ON ftidx (v)", Status: AcceptedNR, Replicated: "no", Notes: "Accepted and not created; MATCH ... AGAINST is refused (1235)."},
		{Section: ddl, Statement: "CREATE VIEW", Setup: kv3("vsrc"), SQL: "CREATE VIEW v1 AS SELECT id, v FROM vsrc WHERE id > 1", Check: "SELECT COUNT(*) FROM v1", Want: "2", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "DROP VIEW", Setup: append(kv3("vsrc2"), "CREATE VIEW v2 AS SELECT id FROM vsrc2"), SQL: "DROP VIEW v2", Status: Supported, Replicated: "yes"},
		{Section: ddl, Statement: "CREATE TRIGGER", Setup: []string{kv("trg"), kv("trglog")}, SQL: "CREATE TRIGGER trg_ai AFTER INSERT ON trg FOR EACH ROW INSERT INTO trglog VALUES (NEW.id, NEW.v)", Check: "INSERT INTO trg VALUES (7,'x')", Status: Supported, Replicated: "yes", Notes: "Body of INSERT/UPDATE/DELETE statements; SET NEW.col and control flow are refused (1235)."},
		{Section: ddl, Statement: "DROP TRIGGER", Setup: []string{kv("dtrg"), kv("dtrglog"), "CREATE TRIGGER dtrg_ai AFTER INSERT ON dtrg FOR EACH ROW INSERT INTO dtrglog VALUES (NEW.id, NEW.v)"}, SQL: "DROP TRIGGER dtrg_ai", Status: Supported, Replicated: "yes"},

		// Database management
		{Section: dbm, Statement: "CREATE DATABASE", SQL: "CREATE DATABASE compat_new", Cleanup: []string{"DROP DATABASE IF EXISTS compat_new"}, Status: Supported, Replicated: "yes", Notes: "A new SQLite file `data_dir/db/<name>.db`."},
		{Section: dbm, Statement: "DROP DATABASE", Setup: []string{"CREATE DATABASE compat_drop"}, SQL: "DROP DATABASE compat_drop", Status: Supported, Replicated: "yes"},
		{Section: dbm, Statement: "ALTER DATABASE", SQL: "ALTER DATABASE compat CHARACTER SET utf8mb4", Status: Supported, Replicated: "yes"},
		{Section: dbm, Statement: "SHOW DATABASES", SQL: "SHOW DATABASES LIKE 'compat'", Want: "compat", Status: Supported, Replicated: "n/a", Notes: "Metadata query."},
		{Section: dbm, Statement: "SHOW TABLES", Setup: []string{kv("shown")}, SQL: "SHOW TABLES LIKE 'shown'", Want: "shown", Status: Supported, Replicated: "n/a", Notes: "Metadata query."},
		{Section: dbm, Statement: "USE", SQL: "USE marmot", Check: "SELECT DATABASE()", Want: "marmot", Status: Supported, Replicated: "n/a", Notes: "Session state."},

		// Transactions
		{Section: txn, Statement: "BEGIN", SQL: "BEGIN", Cleanup: []string{"ROLLBACK"}, Status: Supported, Replicated: "n/a", Notes: "Transaction boundary."},
		{Section: txn, Statement: "START TRANSACTION", SQL: "START TRANSACTION", Cleanup: []string{"ROLLBACK"}, Status: Supported, Replicated: "n/a"},
		{Section: txn, Statement: "COMMIT", Setup: []string{kv("txc"), "BEGIN", "INSERT INTO txc VALUES (1,'a')", "INSERT INTO txc VALUES (2,'b')"}, SQL: "COMMIT", Check: "SELECT COUNT(*) FROM txc", Want: "2", ShowSetup: true, Status: Supported, Replicated: "yes", Notes: "The transaction's row changes replicate as one change set."},
		{Section: txn, Statement: "ROLLBACK", Setup: []string{kv("txr"), "BEGIN", "INSERT INTO txr VALUES (1,'a')"}, SQL: "ROLLBACK", Check: "SELECT COUNT(*) FROM txr", Want: "0", ShowSetup: true, Status: Supported, Replicated: "yes", Notes: "Nothing is replicated."},
		{Section: txn, Statement: "SAVEPOINT", Setup: []string{kv("txs"), "BEGIN", "INSERT INTO txs VALUES (1,'a')"}, SQL: "SAVEPOINT sp1", Cleanup: []string{"ROLLBACK"}, ShowSetup: true, Status: Supported, Replicated: "yes"},
		{Section: txn, Statement: "ROLLBACK TO SAVEPOINT", Setup: []string{kv("txsr"), "BEGIN", "INSERT INTO txsr VALUES (1,'a')", "SAVEPOINT sp1", "INSERT INTO txsr VALUES (2,'b')"}, SQL: "ROLLBACK TO SAVEPOINT sp1", Check: "SELECT COUNT(*) FROM txsr", Want: "1", Cleanup: []string{"COMMIT"}, ShowSetup: true, Status: Supported, Replicated: "yes"},
		{Section: txn, Statement: "RELEASE SAVEPOINT", Setup: []string{kv("txrel"), "BEGIN", "INSERT INTO txrel VALUES (1,'a')", "SAVEPOINT sp1"}, SQL: "RELEASE SAVEPOINT sp1", Cleanup: []string{"ROLLBACK"}, ShowSetup: true, Status: Supported, Replicated: "yes"},

		// Locking
		{Section: lock, Statement: "LOCK TABLES", Setup: []string{kv("lck")}, SQL: "LOCK TABLES lck WRITE", Cleanup: []string{"UNLOCK TABLES"}, Status: AcceptedNR, Replicated: "no", Notes: "No-op: no distributed table locks."},
		{Section: lock, Statement: "UNLOCK TABLES", SQL: "UNLOCK TABLES", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},

		// Session
		{Section: sess, Statement: "SET @user_var", SQL: "SET @x = 5", Check: "SELECT @x", Want: "5", Status: AcceptedNR, Replicated: "no", Notes: "Session state."},
		{Section: sess, Statement: "SET NAMES", SQL: "SET NAMES utf8mb4", Status: AcceptedNR, Replicated: "no", Notes: "Session state."},
		{Section: sess, Statement: "SET SESSION var", SQL: "SET SESSION sql_mode = 'NO_ENGINE_SUBSTITUTION'", Status: AcceptedNR, Replicated: "no", Notes: "Session-local."},
		{Section: sess, Statement: "SET autocommit", SQL: "SET autocommit = 1", Status: AcceptedNR, Replicated: "no", Notes: "Session-local."},
		{Section: sess, Statement: "SET TRANSACTION", SQL: "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},

		// XA
		{Section: xa, Statement: "XA START", SQL: "XA START 'x1'", Status: AcceptedNR, Replicated: "no", Notes: "No-op: marmot uses its own commit protocol."},
		{Section: xa, Statement: "XA END", SQL: "XA END 'x1'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: xa, Statement: "XA PREPARE", SQL: "XA PREPARE 'x1'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: xa, Statement: "XA COMMIT", SQL: "XA COMMIT 'x1'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: xa, Statement: "XA ROLLBACK", SQL: "XA ROLLBACK 'x1'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},

		// DCL
		{Section: dcl, Statement: "GRANT", SQL: "GRANT SELECT ON compat.* TO 'app'@'%'", Status: AcceptedNR, Replicated: "no", Notes: "No-op; users come from `[[mysql.users]]` in the config."},
		{Section: dcl, Statement: "REVOKE", SQL: "REVOKE SELECT ON compat.* FROM 'app'@'%'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: dcl, Statement: "CREATE USER", SQL: "CREATE USER 'app'@'%' IDENTIFIED BY 'secret'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: dcl, Statement: "ALTER USER", SQL: "ALTER USER 'app'@'%' IDENTIFIED BY 'other'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},
		{Section: dcl, Statement: "DROP USER", SQL: "DROP USER 'app'@'%'", Status: AcceptedNR, Replicated: "no", Notes: "No-op."},

		// Administrative
		{Section: admin, Statement: "OPTIMIZE TABLE", Setup: []string{kv("opt")}, SQL: "OPTIMIZE TABLE opt", Status: AcceptedNR, Replicated: "no", Notes: "Node-local no-op."},
		{Section: admin, Statement: "REPAIR TABLE", Setup: []string{kv("rpr")}, SQL: "REPAIR TABLE rpr", Status: AcceptedNR, Replicated: "no", Notes: "Node-local no-op."},
		{Section: admin, Statement: "ANALYZE TABLE", Setup: []string{kv("anl")}, SQL: "ANALYZE TABLE anl", Status: AcceptedNR, Replicated: "no", Notes: "Node-local no-op."},
		{Section: admin, Statement: "FLUSH", SQL: "FLUSH TABLES", Status: AcceptedNR, Replicated: "no", Notes: "Node-local no-op."},

		// Stored programs
		{Section: prog, Statement: "CREATE PROCEDURE", SQL: "CREATE PROCEDURE p1() BEGIN SELECT 1; END", Status: Refused, Replicated: "n/a", Code: 1235},
		{Section: prog, Statement: "CREATE FUNCTION", SQL: "CREATE FUNCTION f1() RETURNS INT DETERMINISTIC RETURN 1", Status: Refused, Replicated: "n/a", Code: 1235},
		{Section: prog, Statement: "CALL", SQL: "CALL p1()", Status: Refused, Replicated: "n/a", Code: 1235},
		{Section: prog, Statement: "DROP PROCEDURE IF EXISTS", SQL: "DROP PROCEDURE IF EXISTS p1", Status: AcceptedNR, Replicated: "no", Notes: "No-op (mysqldump emits it)."},

		// Functions
		sel("NOW", "LENGTH(NOW())", "19", "'YYYY-MM-DD HH:MM:SS'."),
		sel("CURDATE", "LENGTH(CURDATE())", "10", ""),
		sel("DATE_FORMAT", "DATE_FORMAT('2024-03-05 14:07:09', '%Y/%m/%d %H:%i:%s')", "2024/03/05 14:07:09", ""),
		sel("UNIX_TIMESTAMP", "UNIX_TIMESTAMP('2024-01-01 00:00:00')", "1704067200", "marmot's time_zone is always +00:00 (UTC)."),
		sel("DATEDIFF", "DATEDIFF('2024-03-01', '2024-02-01')", "29", ""),
		sel("DATE_ADD", "DATE_ADD('2024-01-31', INTERVAL 1 DAY)", "2024-02-01", ""),
		sel("TIMESTAMPDIFF", "TIMESTAMPDIFF(HOUR, '2024-01-01 00:00:00', '2024-01-02 06:00:00')", "30", ""),
		sel("YEAR", "YEAR('2024-03-05')", "2024", ""),
		sel("MONTH", "MONTH('2024-03-05')", "3", ""),
		sel("DAY", "DAY('2024-03-05')", "5", ""),
		sel("CONCAT", "CONCAT('a', NULL)", "NULL", "NULL if any argument is NULL, as in MySQL."),
		sel("CONCAT_WS", "CONCAT_WS('-', 'a', NULL, 'b')", "a-b", ""),
		sel("SUBSTRING_INDEX", "SUBSTRING_INDEX('www.mysql.com', '.', 2)", "www.mysql", ""),
		sel("SUBSTRING", "SUBSTRING('marmot', 2, 3)", "arm", ""),
		sel("FIND_IN_SET", "FIND_IN_SET('b', 'a,b,c')", "2", ""),
		sel("LPAD", "LPAD('5', 3, '0')", "005", ""),
		sel("RPAD", "RPAD('ab', 4, '.')", "ab..", ""),
		sel("UPPER / LOWER", "CONCAT(UPPER('a'), LOWER('B'))", "Ab", ""),
		sel("LENGTH / CHAR_LENGTH", "CONCAT(LENGTH('é'), ',', CHAR_LENGTH('é'))", "2,1", "LENGTH counts bytes."),
		sel("REPLACE", "REPLACE('a-b-c', '-', '+')", "a+b+c", ""),
		sel("TRIM", "TRIM(BOTH 'x' FROM 'xxhixx')", "hi", ""),
		sel("RAND", "RAND() BETWEEN 0 AND 1", "1", ""),
		sel("MD5", "MD5('abc')", "900150983cd24fb0d6963f7d28e17f72", ""),
		sel("SHA1", "SHA1('abc')", "a9993e364706816aba3e25717850c26c9cd0d89d", ""),
		sel("SHA2", "SHA2('abc', 256)", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", ""),
		sel("POW", "POW(2, 10)", "1024", ""),
		sel("ROUND", "ROUND(2.567, 2)", "2.57", ""),
		sel("FLOOR", "FLOOR(2.7)", "2", ""),
		sel("CEIL", "CEIL(2.1)", "3", ""),
		sel("ABS / MOD", "CONCAT(ABS(-3), ',', MOD(10, 3), ',', 10 DIV 3)", "3,1,3", ""),
		sel("Division", "7 / 2", "3.5000", "DECIMAL with the dividend's scale + 4 digits (div_precision_increment), as MySQL: 1/3 → 0.3333, 10/4 → 2.5000."),
		sel("Division of DOUBLE", "1.0e0 / 3", "0.3333333333333333", "Approximate operands keep float division."),
		sel("Division by zero", "7 / 0", "NULL", ""),
		sel("DIV", "7 DIV 2", "3", "Integer division."),
		{Section: fn, Statement: "Comparison of character columns", Setup: []string{"CREATE TABLE ci (id INT PRIMARY KEY, w VARCHAR(20), b VARCHAR(20) COLLATE utf8mb4_bin, UNIQUE KEY w (w))", "INSERT INTO ci VALUES (1,'résumé','résumé'),(2,'Straße','Straße')"}, SQL: "SELECT GROUP_CONCAT(id ORDER BY id) FROM ci WHERE w IN ('RESUME', 'strase')", Want: "1,2", Status: Supported, Replicated: "n/a", Notes: "Character columns compare as MySQL's utf8mb4_general_ci (its tables): case and accents ignored, ß = s, trailing spaces ignored; also ORDER BY, GROUP BY, DISTINCT and UNIQUE keys. _bin columns compare bytes."},
		sel("Comparison of strings", "'é' = 'E'", "1", "Strings that no column brings a collation to compare as utf8mb4_general_ci (the connection's collation), as in MySQL."),
		sel("LIKE", "CONCAT('Crème brûlée' LIKE 'CREME%', 'Straße' LIKE 'strase', 'Straße' LIKE 'strasse')", "110", "Case- and accent-insensitive, per character as MySQL ('ß' matches 's', not 'ss'); binary strings match bytes. LIKE 'prefix%' on an indexed column searches the index."),
		{Section: fn, Statement: "LIKE on a _bin or binary column", Setup: []string{"CREATE TABLE lkb (id INT PRIMARY KEY, s VARCHAR(20) COLLATE utf8mb4_bin, b VARBINARY(20))", "INSERT INTO lkb VALUES (1,'Apple','Apple'),(2,'apple','apple')"}, SQL: "SELECT CONCAT((SELECT GROUP_CONCAT(id) FROM lkb WHERE s LIKE 'app%'), '/', (SELECT GROUP_CONCAT(id) FROM lkb WHERE b LIKE 'A%'))", Want: "2/1", Status: Supported, Replicated: "n/a", Notes: "Case-sensitive, as in MySQL, on columns with a _bin collation, BINARY, VARBINARY and BLOB columns, and with COLLATE x_bin. Columns of tables made before utf8mb4_general_ci (COLLATE NOCASE) stay case-insensitive."},
		sel("IF", "IF(1 > 0, 'yes', 'no')", "yes", ""),
		sel("IFNULL", "IFNULL(NULL, 'x')", "x", ""),
		sel("COALESCE", "COALESCE(NULL, NULL, 3)", "3", ""),
		sel("GREATEST", "GREATEST(1, 5, 3)", "5", ""),
		sel("LEAST", "LEAST(4, 2, 8)", "2", ""),
		sel("REGEXP", "'abc' REGEXP '^a'", "1", ""),
		sel("CAST", "CAST('42' AS SIGNED) + 1", "43", ""),
		sel("JSON_EXTRACT", "JSON_EXTRACT('{\"a\": {\"b\": 7}}', '$.a.b')", "7", ""),
		sel("DATABASE", "DATABASE()", "compat", ""),
		{Section: fn, Statement: "GROUP_CONCAT", Setup: kv3("gc"), SQL: "SELECT GROUP_CONCAT(v ORDER BY id DESC SEPARATOR '|') FROM gc", Want: "c|b|a", Status: Supported, Replicated: "n/a"},
		{Section: fn, Statement: "SQL_CALC_FOUND_ROWS / FOUND_ROWS", Setup: append(kv3("fr"), "SELECT SQL_CALC_FOUND_ROWS id FROM fr ORDER BY id LIMIT 1"), SQL: "SELECT FOUND_ROWS()", Want: "3", ShowSetup: true, Status: Supported, Replicated: "n/a", Notes: "fr has 3 rows: FOUND_ROWS() counts them without the LIMIT, as MySQL does."},
		{Section: fn, Statement: "LAST_INSERT_ID", Setup: []string{"CREATE TABLE lid (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)", "INSERT INTO lid (v) VALUES (1)"}, SQL: "SELECT LAST_INSERT_ID() = (SELECT MAX(id) FROM lid)", Want: "1", ShowSetup: true, Status: Supported, Replicated: "n/a", Notes: "AUTO_INCREMENT ids are cluster-unique, not consecutive."},
		{Section: fn, Statement: "MATCH ... AGAINST", Setup: kv3("ft"), SQL: "SELECT id FROM ft WHERE MATCH(v) AGAINST ('a')", Status: Refused, Replicated: "n/a", Code: 1235, Notes: "No full-text search."},
	}
}

// TestCompatibility runs every compatEntry against one marmotd and checks
// that docs/compatibility.md is what the entries render to.
func TestCompatibility(t *testing.T) {
	entries := compatEntries()
	known := map[string]bool{}
	for _, s := range compatSections {
		known[s] = true
	}
	for _, e := range entries {
		if !known[e.Section] {
			t.Fatalf("entry %q: section %q not in compatSections", e.Statement, e.Section)
		}
	}
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE "+compatDB)
	mysql.RegisterReaderHandler("compat", func() io.Reader { return strings.NewReader(loadDataTSV) })
	defer mysql.DeregisterReaderHandler("compat")
	db := n.DB(t, compatDB)
	db.SetMaxIdleConns(0) // every entry gets a fresh session

	for _, e := range entries {
		if err := runCompatEntry(t.Context(), db, e); err != nil {
			t.Errorf("%s / %s: %v", e.Section, e.Statement, err)
		}
	}

	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(filepath.Dir(file)), compatDoc)
	want := renderCompat(entries)
	if *updateCompat {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("%s is out of date (%v); run: go test -tags %q ./e2e -run TestCompatibility -update-compat", compatDoc, err, Tags)
	}
}

func runCompatEntry(ctx context.Context, db *sql.DB, e compatEntry) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	defer func() {
		for _, q := range e.Cleanup {
			if _, cerr := conn.ExecContext(ctx, q); cerr != nil && err == nil {
				err = fmt.Errorf("cleanup %q: %v", q, cerr)
			}
		}
	}()
	for _, q := range e.Setup {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("setup %q: %v", q, err)
		}
	}
	query := func(q string) (string, error) {
		var s sql.NullString
		if err := conn.QueryRowContext(ctx, q).Scan(&s); err != nil {
			return "", err
		}
		if !s.Valid {
			return "NULL", nil
		}
		return s.String, nil
	}
	if e.Status == Refused {
		_, err := conn.ExecContext(ctx, e.SQL)
		if got := mysqlCode(err); got != e.Code {
			return fmt.Errorf("%q: want error %d, got %v", e.SQL, e.Code, err)
		}
		return nil
	}
	if e.Want != "" && e.Check == "" {
		got, err := query(e.SQL)
		if err != nil {
			return fmt.Errorf("%q: %v", e.SQL, err)
		}
		if got != e.Want {
			return fmt.Errorf("%q = %q, want %q", e.SQL, got, e.Want)
		}
		return nil
	}
	if _, err := conn.ExecContext(ctx, e.SQL); err != nil {
		return fmt.Errorf("%q: %v (code %d)", e.SQL, err, mysqlCode(err))
	}
	if e.Check != "" {
		if e.Want == "" {
			if _, err := conn.ExecContext(ctx, e.Check); err != nil {
				return fmt.Errorf("check %q: %v", e.Check, err)
			}
			return nil
		}
		got, err := query(e.Check)
		if err != nil {
			return fmt.Errorf("check %q: %v", e.Check, err)
		}
		if got != e.Want {
			return fmt.Errorf("check %q = %q, want %q", e.Check, got, e.Want)
		}
	}
	return nil
}

func renderCompat(entries []compatEntry) string {
	var b strings.Builder
	b.WriteString(`# MySQL compatibility

<!-- Generated by e2e/compat_test.go (TestCompatibility); do not edit.
     Regenerate: go test -tags "sqlite_preupdate_hook sqlite_math_functions" ./e2e -run TestCompatibility -update-compat -->

This file is generated by ` + "`e2e/compat_test.go`" + `: TestCompatibility runs every
example below against a real marmotd through go-sql-driver/mysql (in a
database named ` + "`compat`" + `) and fails when the behaviour or this file
no longer matches, so the table cannot drift from the code.

Status:

- **Supported**: the statement works as in MySQL and its effects replicate to
  every node as row changes (DML) or as idempotent DDL.
- **Accepted, not replicated**: marmot gives MySQL's OK reply, but the
  statement is a node-local no-op or only changes session state; nothing is
  sent to other nodes.
- **Refused**: marmot answers with the MySQL error whose code is shown.

Replicated: **yes** = the effect reaches every node; **no** = node-local only;
**n/a** = nothing to replicate (reads, session state, refused statements).
The Replicated column states the design (every write is a change set in the
transaction log that nodes exchange); this test runs a single node, so it
checks status and results, not delivery to other nodes.

Example: the statement the test runs, after setup statements that create the
tables it names (other setup statements are shown before it); ` + "`→ x`" + ` is the checked result (first column of the
first row; for a write, of the query shown).
`)
	for _, sec := range compatSections {
		var rows []compatEntry
		for _, e := range entries {
			if e.Section == sec {
				rows = append(rows, e)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", sec)
		b.WriteString("| Statement | Status | Replicated | Example | Notes/Error |\n")
		b.WriteString("|---|---|---|---|---|\n")
		for _, e := range rows {
			ex := mdCode(e.SQL)
			if e.ShowSetup && len(e.Setup) > 1 {
				var pre []string
				for _, q := range e.Setup[1:] {
					pre = append(pre, mdCode(q))
				}
				ex = strings.Join(pre, "; ") + "; " + ex
			}
			if e.Want != "" {
				if e.Check != "" {
					ex += "; " + mdCode(e.Check)
				}
				ex += " → " + mdCode(e.Want)
			}
			notes := e.Notes
			if e.Status == Refused {
				notes = strings.TrimSpace(fmt.Sprintf("Error %d. %s", e.Code, e.Notes))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdCell(e.Statement), e.Status, e.Replicated, ex, mdCell(notes))
		}
	}
	return b.String()
}

func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

func mdCode(s string) string {
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

// TestCompatChangeSets checks what the statements of this file's newer
// rows put in the log of a real marmotd (read offline with marmotctl):
// CREATE TABLE ... LIKE and ... SELECT replicate as the expanded CREATE
// TABLE (another node's source table might differ), ... SELECT's rows as a
// change set of their own, and a multi-table DELETE as one change set
// holding both tables' rows.
func TestCompatChangeSets(t *testing.T) {
	_, marmotctl := binaries(t)
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE cs")
	db := n.DB(t, "cs")
	for _, q := range []string{
		"CREATE TABLE t1 (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10) NOT NULL DEFAULT 'x', KEY v (v))",
		"INSERT INTO t1 (v) VALUES ('a'), ('b')",
		"CREATE TABLE t2 LIKE t1",
		"CREATE TABLE t3 (PRIMARY KEY (id)) SELECT id, v, id / 3 AS third FROM t1",
		"DELETE t1, t3 FROM t1 JOIN t3 ON t3.id = t1.id WHERE t1.v = 'a'",
	} {
		mustExec(t, db, q)
	}
	n.Stop()
	out, err := exec.Command(marmotctl, "log", "list", "--data-dir", n.Dir, "--db", "cs", "--json").Output()
	if err != nil {
		t.Fatalf("marmotctl log list: %v", err)
	}
	type entry struct {
		Origin uint64   `json:"origin"`
		Seq    uint64   `json:"seq"`
		Kind   string   `json:"kind"`
		Tables []string `json:"tables"`
		Ins    int      `json:"ins"`
		Del    int      `json:"del"`
		DDL    string   `json:"ddl"`
	}
	var got []string
	var ddls []entry
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var e entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		got = append(got, fmt.Sprintf("%s %s +%d -%d", e.Kind, strings.Join(e.Tables, ","), e.Ins, e.Del))
		if e.Kind == "ddl" {
			ddls = append(ddls, e)
		}
	}
	want := []string{"create-db  +0 -0", "ddl t1 +0 -0", "rows t1 +2 -0", "ddl t2 +0 -0", "ddl t3 +0 -0", "rows t3 +2 -0", "rows t1,t3 +0 -2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("change sets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, e := range ddls[1:] {
		out, err := exec.Command(marmotctl, "log", "show", "--data-dir", n.Dir, "--origin", fmt.Sprint(e.Origin), "--seq", fmt.Sprint(e.Seq), "--json").Output()
		if err != nil {
			t.Fatalf("marmotctl log show: %v", err)
		}
		var full entry
		if err := json.Unmarshal(out, &full); err != nil {
			t.Fatal(err)
		}
		table := e.Tables[0]
		if !strings.HasPrefix(full.DDL, `CREATE TABLE IF NOT EXISTS "`+table+`" (`) || strings.Contains(full.DDL, "LIKE") || strings.Contains(full.DDL, "SELECT") {
			t.Errorf("DDL of %s: %s", table, full.DDL)
		}
		if table == "t2" && !strings.Contains(full.DDL, `CREATE INDEX IF NOT EXISTS "t2__v"`) {
			t.Errorf("t2's index is not in its DDL: %s", full.DDL)
		}
		if table == "t3" && !strings.Contains(full.DDL, `"third" DECIMAL(`) {
			t.Errorf("t3's DDL does not type id / 3 as DECIMAL: %s", full.DDL)
		}
	}
}
