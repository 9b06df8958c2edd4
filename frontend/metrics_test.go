package frontend

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
)

func TestQueryKind(t *testing.T) {
	tests := []struct {
		kind transpile.Kind
		want string
	}{
		{transpile.Select, "select"},
		{transpile.Insert, "insert"},
		{transpile.Replace, "insert"},
		{transpile.LoadData, "insert"},
		{transpile.Update, "update"},
		{transpile.Delete, "delete"},
		{transpile.TruncateTable, "delete"},
		{transpile.CreateTable, "ddl"},
		{transpile.AlterTable, "ddl"},
		{transpile.DropIndex, "ddl"},
		{transpile.CreateDatabase, "ddl"},
		{transpile.Show, "other"},
		{transpile.Begin, "other"},
		{transpile.Commit, "other"},
		{transpile.Set, "other"},
	}
	for _, tt := range tests {
		if got := queryKind(tt.kind); got != tt.want {
			t.Errorf("queryKind(%v) = %q, want %q", tt.kind, got, tt.want)
		}
	}
}

// quorumErr stands for the coordinator's errors, which carry their code.
type quorumErr struct{}

func (quorumErr) Error() string               { return "level not met" }
func (quorumErr) MySQLCode() (uint16, string) { return mysql.ER_ERROR_DURING_COMMIT, "HY000" }

func TestAbortReason(t *testing.T) {
	s := &Session{}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"conflict", fmt.Errorf("commit: %w", txlog.ErrConflict), "conflict"},
		{"lock wait", materializer.ErrLockWait, "timeout"},
		{"write timeout", context.DeadlineExceeded, "timeout"},
		{"quorum", quorumErr{}, "quorum"},
		{"shutdown", txlog.ErrClosed, "other"},
		{"unknown", errors.New("disk on fire"), "other"},
	}
	for _, tt := range tests {
		if got := abortReason(s.toMySQLError(tt.err)); got != tt.want {
			t.Errorf("%s: abortReason = %q, want %q", tt.name, got, tt.want)
		}
	}
}
