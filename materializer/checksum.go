package materializer

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"strings"

	txlog "github.com/marmotdb/marmot/log"
)

// Checksums hashes every user table of database db; see DB.Checksums. The
// signature uses only the log's and the language's types so that callers
// outside this package (the admin API) can declare it as an interface.
func (m *Materializer) Checksums(ctx context.Context, db string,
	begin func(applied txlog.Watermark, tables []string) error,
	table func(name string, rows uint64, sum []byte) error) error {
	d, err := m.DB(db)
	if err != nil {
		return err
	}
	return d.Checksums(ctx, begin, table)
}

// ViewState reports what the admin status shows of one database: its
// applied watermark and schema generation.
func (m *Materializer) ViewState(db string) (applied txlog.Watermark, schemaGen uint64, err error) {
	d, err := m.DB(db)
	if err != nil {
		return nil, 0, err
	}
	return d.Applied(), d.SchemaGen(), nil
}

// Checksums lets operators compare views across nodes (marmotctl verify):
// nodes whose views hold the same change sets must hold the same rows, so
// equal watermarks with different checksums mean a view was changed
// behind marmot's back or an apply went wrong.
//
// Everything is read in one read transaction: begin gets the watermark
// stored in the file (__marmot_applied, written with the rows) and the
// table names, sorted; then table is called once per table, in that order.
// Rows are read in primary-key order one at a time, so memory does not grow
// with the table. marmot's own tables (__marmot*) and SQLite's (sqlite_*)
// are skipped.
//
// A table's sum is SHA-256 over its column names and declared types, then
// each row's values in column order, each as its storage class and its
// bytes (integers and reals as 8 bytes big endian, text and blobs with their
// length), so NULL, the empty string, 0 and 0.0 all differ and no two rows' encodings
// run into each other.
func (d *DB) Checksums(ctx context.Context,
	begin func(applied txlog.Watermark, tables []string) error,
	table func(name string, rows uint64, sum []byte) error) error {
	c, err := d.ReadConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("materializer: checksum %s: %w", d.name, err)
	}
	defer tx.Rollback()

	applied, err := readApplied(ctx, tx)
	if err != nil {
		return fmt.Errorf("materializer: checksum %s: %w", d.name, err)
	}
	names, err := userTables(ctx, tx)
	if err != nil {
		return fmt.Errorf("materializer: checksum %s: %w", d.name, err)
	}
	if err := begin(applied, names); err != nil {
		return err
	}
	for _, name := range names {
		rows, sum, err := tableChecksum(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("materializer: checksum %s.%s: %w", d.name, name, err)
		}
		if err := table(name, rows, sum); err != nil {
			return err
		}
	}
	return nil
}

func readApplied(ctx context.Context, tx *sql.Tx) (txlog.Watermark, error) {
	rows, err := tx.QueryContext(ctx, `SELECT origin, seq FROM __marmot_applied`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	w := txlog.Watermark{}
	for rows.Next() {
		var o, s int64
		if err := rows.Scan(&o, &s); err != nil {
			return nil, err
		}
		w[uint64(o)] = uint64(s)
	}
	return w, rows.Err()
}

func userTables(ctx context.Context, tx *sql.Tx) ([]string, error) {
	return queryStrings(ctx, tx, `SELECT name FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE '\_\_marmot%' ESCAPE '\' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
}

// queryStrings returns the first column of every row of a query.
func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

type column struct {
	name, declType string
	pk             int // position in the primary key, 1-based; 0 if not part of it
}

func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]column, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.declType, &c.pk); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// checksumQuery selects every column as `+col`: an expression has no
// declared type, so the driver hands back the stored value as it is rather
// than converting DATETIME text to time.Time or BOOLEAN to bool. The order
// is the primary key's; a table without one (marmot refuses to create
// them, but a file may hold one) is ordered by every column, since rowids
// differ between nodes.
func checksumQuery(table string, cols []column) string {
	sel := make([]string, len(cols))
	var pk []string
	for i, c := range cols {
		sel[i] = "+" + quoteIdent(c.name)
	}
	for n := 1; ; n++ {
		found := false
		for _, c := range cols {
			if c.pk == n {
				pk = append(pk, quoteIdent(c.name))
				found = true
			}
		}
		if !found {
			break
		}
	}
	if len(pk) == 0 {
		for _, c := range cols {
			pk = append(pk, quoteIdent(c.name))
		}
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM " + quoteIdent(table) + " ORDER BY " + strings.Join(pk, ", ")
}

func tableChecksum(ctx context.Context, tx *sql.Tx, table string) (uint64, []byte, error) {
	cols, err := tableColumns(ctx, tx, table)
	if err != nil {
		return 0, nil, err
	}
	h := sha256.New()
	for _, c := range cols {
		writeBytes(h, 's', []byte(c.name))
		writeBytes(h, 's', []byte(c.declType))
	}
	rows, err := tx.QueryContext(ctx, checksumQuery(table, cols))
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n uint64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, nil, err
		}
		h.Write([]byte{'r'})
		for _, v := range vals {
			if err := writeValue(h, v); err != nil {
				return 0, nil, err
			}
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return 0, nil, err
	}
	return n, h.Sum(nil), nil
}

// writeValue encodes one value with its storage class: NULL 'n', INTEGER
// 'i', REAL 'f', TEXT 't', BLOB 'b'.
func writeValue(h hash.Hash, v any) error {
	var b [9]byte
	switch v := v.(type) {
	case nil:
		h.Write([]byte{'n'})
	case int64:
		b[0] = 'i'
		binary.BigEndian.PutUint64(b[1:], uint64(v))
		h.Write(b[:])
	case float64:
		b[0] = 'f'
		binary.BigEndian.PutUint64(b[1:], math.Float64bits(v))
		h.Write(b[:])
	case string:
		writeBytes(h, 't', []byte(v))
	case []byte:
		writeBytes(h, 'b', v)
	default:
		return fmt.Errorf("unexpected value %T from SQLite", v)
	}
	return nil
}

func writeBytes(h hash.Hash, class byte, p []byte) {
	var b [9]byte
	b[0] = class
	binary.BigEndian.PutUint64(b[1:], uint64(len(p)))
	h.Write(b[:])
	h.Write(p)
}
