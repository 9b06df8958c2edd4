package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/outbox"
)

// Views implements outbox.Views over the node's materializer: the
// snapshot reads each view in one read transaction of its read pool, so
// it never blocks the applier or clients (WAL readers see one version).
type Views struct {
	Materializer *materializer.Materializer
	Log          *txlog.Log
}

var _ outbox.Views = Views{}

// Databases lists the live databases.
func (v Views) Databases() []string { return v.Materializer.Databases() }

// Read waits until db's view holds every change set of db in at, then runs
// fn in one read transaction, with the watermark that transaction sees.
func (v Views) Read(ctx context.Context, db string, at txlog.Watermark, fn func(applied txlog.Watermark, tx *sql.Tx) error) error {
	d, err := v.Materializer.DB(db)
	if err != nil {
		return err
	}
	for origin, upto := range at {
		seq, ok, err := v.Log.LastInDatabase(db, origin, upto)
		if err != nil {
			return err
		}
		if ok {
			if err := d.WaitApplied(ctx, origin, seq); err != nil {
				return err
			}
		}
	}
	c, err := d.ReadConn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	tx, err := c.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// The first read fixes the transaction's snapshot: the watermark and
	// the rows read after it are the same version of the file.
	rows, err := tx.QueryContext(ctx, `SELECT origin, seq FROM __marmot_applied`)
	if err != nil {
		return fmt.Errorf("outbox/sqlite: %s has no applied watermark: %w", db, err)
	}
	applied := txlog.Watermark{}
	for rows.Next() {
		var o, s int64
		if err := rows.Scan(&o, &s); err != nil {
			rows.Close()
			return err
		}
		applied[uint64(o)] = uint64(s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return fn(applied, tx)
}
