// Package sqlite reads table shapes from a node's SQLite views for the
// outbox: which columns form the primary key and each column's declared
// type (the transpiler keeps MySQL type names in the SQLite schema). It
// only reads the schema, through its own short-lived query-only
// connections, and never the rows.
package sqlite

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"sort"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" driver

	"github.com/marmotdb/marmot/outbox"
)

// Catalog implements outbox.Catalog over the files <Dir>/<db>.db. Safe for
// concurrent use.
type Catalog struct {
	Dir string

	mu     sync.Mutex
	tables map[[2]string]entry
}

type entry struct {
	t      outbox.Table
	loaded time.Time
}

// retryUnknown is how long a table missing from its file stays unknown
// before it is looked up again: the view may not have applied its CREATE
// TABLE yet when the first events are published.
const retryUnknown = time.Second

var _ outbox.Catalog = (*Catalog)(nil)

// Table reads the table's shape once and caches it until Forget.
func (c *Catalog) Table(db, table string) (outbox.Table, bool) {
	k := [2]string{db, table}
	c.mu.Lock()
	e, ok := c.tables[k]
	c.mu.Unlock()
	if ok && (len(e.t.PK) > 0 || time.Since(e.loaded) < retryUnknown) {
		return e.t, len(e.t.PK) > 0
	}
	t := c.load(db, table)
	c.mu.Lock()
	if c.tables == nil {
		c.tables = map[[2]string]entry{}
	}
	c.tables[k] = entry{t, time.Now()}
	c.mu.Unlock()
	return t, len(t.PK) > 0
}

// Forget drops what is cached of db, after its schema changed.
func (c *Catalog) Forget(db string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.tables {
		if k[0] == db {
			delete(c.tables, k)
		}
	}
}

func (c *Catalog) load(db, table string) outbox.Table {
	path := filepath.Join(c.Dir, db+".db")
	conn, err := sql.Open("sqlite3", "file:"+url.PathEscape(path)+"?_query_only=true&_busy_timeout=5000")
	if err != nil {
		return outbox.Table{}
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rows, err := conn.QueryContext(ctx, "SELECT name, type, pk FROM pragma_table_info(?)", table)
	if err != nil {
		return outbox.Table{}
	}
	defer rows.Close()
	t := outbox.Table{Types: map[string]string{}}
	type pkcol struct {
		name  string
		order int
	}
	var pks []pkcol
	for rows.Next() {
		var name, typ string
		var pk int
		if err := rows.Scan(&name, &typ, &pk); err != nil {
			return outbox.Table{}
		}
		t.Types[name] = typ
		if pk > 0 {
			pks = append(pks, pkcol{name, pk})
		}
	}
	if rows.Err() != nil {
		return outbox.Table{}
	}
	sort.Slice(pks, func(i, j int) bool { return pks[i].order < pks[j].order })
	for _, p := range pks {
		t.PK = append(t.PK, p.name)
	}
	return t
}
