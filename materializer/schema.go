package materializer

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// tableInfo is what capture and apply need to know about a table.
type tableInfo struct {
	name    string
	cols    []string
	decl    []string // declared types
	blob    []bool   // BLOB affinity per column
	pk      []int    // column indexes of the primary key, in key order; nil = rowid
	autoInc string   // AUTOINCREMENT column, if any
}

// loadTableInfo reads a table's shape from SQLite itself, so tables created
// by any means (including existing databases) are understood.
func loadTableInfo(ctx context.Context, q queryer, table string) (*tableInfo, error) {
	return loadTableInfoIn(ctx, q, "main", table)
}

// loadTableInfoIn is loadTableInfo for a table of schema ("main", or
// "temp" for a session's temporary tables).
func loadTableInfoIn(ctx context.Context, q queryer, schema, table string) (*tableInfo, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, type, pk FROM pragma_table_info(?, ?)", table, schema)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ti := &tableInfo{name: table}
	type pkcol struct{ idx, order int }
	var pks []pkcol
	for rows.Next() {
		var name, typ string
		var pk int
		if err := rows.Scan(&name, &typ, &pk); err != nil {
			return nil, err
		}
		if pk > 0 {
			pks = append(pks, pkcol{len(ti.cols), pk})
		}
		ti.cols = append(ti.cols, name)
		ti.decl = append(ti.decl, typ)
		ti.blob = append(ti.blob, blobAffinity(typ))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ti.cols) == 0 {
		return nil, fmt.Errorf("materializer: no such table %q", table)
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i].order < pks[j].order })
	for _, p := range pks {
		ti.pk = append(ti.pk, p.idx)
	}
	var ddl sql.NullString
	if err := q.QueryRowContext(ctx, "SELECT sql FROM "+schema+".sqlite_master WHERE type='table' AND name=?", table).Scan(&ddl); err != nil && err != sql.ErrNoRows {
		return nil, err
	}
	// AUTOINCREMENT is how marmot writes MySQL's AUTO_INCREMENT; a bare
	// INTEGER PRIMARY KEY (a rowid alias, as in SQLite databases marmot did
	// not create) auto-assigns too, and must get cluster-unique ids as well.
	if len(ti.pk) == 1 && (strings.Contains(strings.ToUpper(ddl.String), "AUTOINCREMENT") || strings.EqualFold(ti.decl[ti.pk[0]], "INTEGER")) {
		ti.autoInc = ti.cols[ti.pk[0]]
	}
	return ti, nil
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}
