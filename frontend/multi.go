package frontend

import (
	"context"
	"strings"

	"github.com/marmotdb/marmot/frontend/transpile"
	"github.com/marmotdb/marmot/materializer"
)

// execStatement runs a write statement's SQL on c and returns the rows it
// changed. A statement in several parts (a multi-table UPDATE or DELETE of
// several tables) runs part by part, the arguments bound to the first; its
// count is the sum of what its UPDATE and DELETE parts changed (the others
// only build and drop its temporary table).
func execStatement(ctx context.Context, c *materializer.Conn, st transpile.Statement, args []any) (int64, error) {
	if len(st.Parts) == 0 {
		res, err := c.ExecContext(ctx, st.SQL, args...)
		if err != nil {
			return 0, err
		}
		n, _ := res.RowsAffected()
		return n, nil
	}
	var total int64
	for i, part := range st.Parts {
		var a []any
		if i == 0 {
			a = args
		}
		res, err := c.ExecContext(ctx, part, a...)
		if err != nil {
			return 0, err
		}
		if strings.HasPrefix(part, "UPDATE ") || strings.HasPrefix(part, "DELETE ") {
			n, _ := res.RowsAffected()
			total += n
		}
	}
	return total, nil
}
