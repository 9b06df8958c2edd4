package frontend

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
)

// createTableSelect runs CREATE TABLE ... SELECT as two change sets: the
// table (DDL: the expanded CREATE TABLE IF NOT EXISTS the transpiler
// built, replicated as such), then its rows (an INSERT ... SELECT,
// replicated as row changes like any insert). As in MySQL 8, where the
// statement is atomic, a failed insert drops the table again.
func (s *Session) createTableSelect(ctx context.Context, st transpile.Statement, args []any) (*mysql.Result, error) {
	d, err := s.targetDB(st)
	if err != nil {
		return nil, err
	}
	if _, exists := d.Table(ctx, st.Table); exists {
		if !st.IfNotExists {
			return nil, myErr(mysql.ER_TABLE_EXISTS_ERROR, "42S01", "Table '%s' already exists", st.Table)
		}
		// MySQL inserts nothing into an existing table.
		s.warnings = append(s.warnings, []any{"Note", int64(mysql.ER_TABLE_EXISTS_ERROR), fmt.Sprintf("Table '%s' already exists", st.Table)})
		return &mysql.Result{Warnings: 1}, nil
	}
	create := st
	create.FillSQL, create.Params = "", 0
	if _, err := s.ddl(ctx, create); err != nil {
		return nil, err
	}
	fill := transpile.Statement{Kind: transpile.Insert, SQL: st.FillSQL, Database: st.Database, Table: st.Table, Params: st.Params}
	res, err := s.write(ctx, fill, args)
	if err == nil && s.txn != nil {
		err = s.commitTxn(ctx) // autocommit=0: DDL still commits
	}
	if err != nil {
		s.rollbackTxn()
		drop := transpile.Statement{Kind: transpile.DropTable, SQL: "DROP TABLE IF EXISTS " + quoteIdent(st.Table), Database: st.Database, Table: st.Table}
		if _, derr := s.ddl(ctx, drop); derr != nil {
			return nil, fmt.Errorf("%w (and dropping the new table failed: %v)", err, derr)
		}
		return nil, err
	}
	return okResult(res.AffectedRows, 0), nil
}

func quoteIdent(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }
