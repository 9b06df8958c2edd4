package frontend

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
)

// MySQL error codes marmot sends that go-mysql does not name.
const (
	erCheckConstraintViolated = 3819
	erTableWithoutPK          = 3750
)

// errReadOnly is MySQL's answer to a write on a --read-only server (a
// replica, or a view SQLite opened read-only).
func errReadOnly() error {
	return myErr(mysql.ER_OPTION_PREVENTS_STATEMENT, "HY000", "The MySQL server is running with the --read-only option so it cannot execute this statement")
}

func myErr(code uint16, state, format string, args ...any) *mysql.MyError {
	return &mysql.MyError{Code: code, State: state, Message: fmt.Sprintf(format, args...)}
}

var (
	reNoTable     = regexp.MustCompile(`no such table: (?:main\.)?(\S+)`)
	reNoColumn    = regexp.MustCompile(`(?:no such column: |has no column named )(\S+)`)
	reUnique      = regexp.MustCompile(`UNIQUE constraint failed: (.+)`)
	reNotNull     = regexp.MustCompile(`NOT NULL constraint failed: \S+?\.(\S+)`)
	reTableExists = regexp.MustCompile(`table "?([^" ]+)"? already exists`)
	reIndexExists = regexp.MustCompile(`index (\S+) already exists`)
	reNoIndex     = regexp.MustCompile(`no such index: (\S+)`)
)

// toMySQLError maps any error to the MySQL error a client should see. It is
// the one place where error codes are chosen.
func (s *Session) toMySQLError(err error) error {
	if err == nil {
		return nil
	}
	var my *mysql.MyError
	if errors.As(err, &my) {
		return my
	}
	// Errors of other packages (the commit coordinator) that know their
	// MySQL code.
	var coded interface{ MySQLCode() (uint16, string) }
	if errors.As(err, &coded) {
		code, state := coded.MySQLCode()
		return myErr(code, state, "%s", err.Error())
	}
	var te *transpile.Error
	if errors.As(err, &te) {
		return &mysql.MyError{Code: te.Code, State: te.State, Message: te.Message}
	}
	switch {
	case errors.Is(err, txlog.ErrConflict):
		return myErr(mysql.ER_LOCK_DEADLOCK, "40001", "Deadlock found when trying to get lock; try restarting transaction (%v)", err)
	case errors.Is(err, materializer.ErrLockWait):
		return myErr(mysql.ER_LOCK_WAIT_TIMEOUT, "HY000", "Lock wait timeout exceeded; try restarting transaction")
	case errors.Is(err, materializer.ErrNoDatabase):
		return myErr(mysql.ER_BAD_DB_ERROR, "42000", "Unknown database '%s'", s.db)
	case errors.Is(err, context.DeadlineExceeded):
		return myErr(3024, "HY000", "Query execution was interrupted, maximum statement execution time exceeded")
	case errors.Is(err, context.Canceled):
		return myErr(mysql.ER_QUERY_INTERRUPTED, "70100", "Query execution was interrupted")
	case errors.Is(err, txlog.ErrClosed):
		return myErr(mysql.ER_SERVER_SHUTDOWN, "08S01", "Server shutdown in progress")
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		msg := se.Error()
		switch {
		case se.Code == sqlite3.ErrBusy || se.Code == sqlite3.ErrLocked:
			return myErr(mysql.ER_LOCK_WAIT_TIMEOUT, "HY000", "Lock wait timeout exceeded; try restarting transaction")
		case se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey:
			key := "PRIMARY"
			if m := reUnique.FindStringSubmatch(msg); m != nil && se.ExtendedCode == sqlite3.ErrConstraintUnique {
				key = m[1]
			}
			return myErr(mysql.ER_DUP_ENTRY, "23000", "Duplicate entry for key '%s'", key)
		case se.ExtendedCode == sqlite3.ErrConstraintNotNull:
			col := ""
			if m := reNotNull.FindStringSubmatch(msg); m != nil {
				col = m[1]
			}
			return myErr(mysql.ER_BAD_NULL_ERROR, "23000", "Column '%s' cannot be null", col)
		case se.ExtendedCode == sqlite3.ErrConstraintCheck:
			return myErr(erCheckConstraintViolated, "HY000", "Check constraint is violated: %s", msg)
		case se.ExtendedCode == sqlite3.ErrConstraintForeignKey:
			return myErr(mysql.ER_NO_REFERENCED_ROW_2, "23000", "Cannot add or update a child row: a foreign key constraint fails")
		case se.Code == sqlite3.ErrTooBig:
			return myErr(mysql.ER_NET_PACKET_TOO_LARGE, "08S01", "Got a packet bigger than 'max_allowed_packet' bytes")
		case se.Code == sqlite3.ErrReadonly:
			return errReadOnly()
		}
		return s.sqliteMessageError(msg)
	}
	return s.sqliteMessageError(err.Error())
}

func (s *Session) sqliteMessageError(msg string) error {
	switch {
	case reNoTable.MatchString(msg):
		return myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", s.db, reNoTable.FindStringSubmatch(msg)[1])
	case reNoColumn.MatchString(msg):
		return myErr(mysql.ER_BAD_FIELD_ERROR, "42S22", "Unknown column '%s' in 'field list'", reNoColumn.FindStringSubmatch(msg)[1])
	case reTableExists.MatchString(msg):
		return myErr(mysql.ER_TABLE_EXISTS_ERROR, "42S01", "Table '%s' already exists", reTableExists.FindStringSubmatch(msg)[1])
	case reIndexExists.MatchString(msg):
		return myErr(mysql.ER_DUP_KEYNAME, "42000", "Duplicate key name '%s'", reIndexExists.FindStringSubmatch(msg)[1])
	case reNoIndex.MatchString(msg):
		return myErr(mysql.ER_CANT_DROP_FIELD_OR_KEY, "42000", "Can't DROP '%s'; check that column/key exists", reNoIndex.FindStringSubmatch(msg)[1])
	case strings.Contains(msg, "syntax error") || strings.Contains(msg, "incomplete input"):
		return myErr(mysql.ER_PARSE_ERROR, "42000", "You have an error in your SQL syntax; %s", msg)
	case strings.Contains(msg, "no such function"):
		return myErr(mysql.ER_SP_DOES_NOT_EXIST, "42000", "FUNCTION %s does not exist", strings.TrimPrefix(msg, "no such function: "))
	case strings.Contains(msg, "wrong number of arguments"):
		return myErr(mysql.ER_WRONG_PARAMCOUNT_TO_NATIVE_FCT, "42000", "Incorrect parameter count: %s", msg)
	}
	return myErr(mysql.ER_UNKNOWN_ERROR, "HY000", "%s", msg)
}
