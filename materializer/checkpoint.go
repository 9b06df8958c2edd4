package materializer

import (
	"context"
	"database/sql"
	"time"
)

// Checkpointing the SQLite WAL happens off the writer. SQLite's automatic
// checkpoint runs inside the COMMIT that crosses 1000 WAL pages: it copies
// the WAL into the database file and fsyncs it while the writer is held,
// stalling every capture and the applier for 10–20 ms each time (a fifth of
// the writer's time under sysbench oltp_insert). The writer connection
// therefore has autocheckpoint off, and a goroutine per database runs
// PASSIVE checkpoints on a connection of its own: they take no writer lock,
// so commits go on while the database file is written and synced.
//
// A PASSIVE checkpoint cannot reset a WAL that readers still use, so under
// constant reads the WAL could only grow; past walForceFrames the checkpointer
// takes the writer and runs a RESTART checkpoint, which waits (busy timeout)
// for the readers of the old WAL to finish.

const (
	// checkpointInterval: a checkpoint at least this often, and of
	// whatever is left once writes pause.
	checkpointInterval = 5 * time.Second
	// walForceFrames bounds a WAL that PASSIVE checkpoints cannot reset
	// because readers keep using it (512 MiB).
	walForceFrames = 131072
)

// checkpointFrames is how far the WAL grows (in frames of 4 KiB pages:
// 256 MiB) before a checkpoint runs early. A checkpoint writes each page
// the WAL holds once, however many commits rewrote it, so the longer the
// WAL between checkpoints, the fewer pages written: a checkpoint every 5 s
// or 256 MiB instead of every second gave sysbench oltp_insert (random
// keys) 5% more inserts for 8% less CPU each over eight alternating runs
// (a 5 s ticker alone, +12% and -16% in four), and SQLite's own 4 MiB was
// slower still. (MariaDB's redo log, which bounds its dirty pages the same
// way, is 96 MiB.) A var for tests.
var checkpointFrames = 65536

// openCheckpointer opens the checkpointer's connection and starts it. The
// writer connection must already have autocheckpoint off.
func (d *DB) openCheckpointer() error {
	c, err := sql.Open(d.m.driver, "file:"+d.path+"?_busy_timeout=10000")
	if err != nil {
		return err
	}
	c.SetMaxOpenConns(1)
	ctx, cancel := context.WithCancel(context.Background())
	d.ckptDB, d.ckptStop = c, cancel
	d.ckptKick = make(chan struct{}, 1)
	d.ckptDone = make(chan struct{})
	go d.checkpointer(ctx, c, d.ckptKick, d.ckptDone)
	return nil
}

// closeCheckpointer stops the checkpointer and closes its connection.
func (d *DB) closeCheckpointer() {
	if d.ckptDB == nil {
		return
	}
	d.ckptStop() // a checkpointer waiting for the writer gives up
	<-d.ckptDone
	d.ckptDB.Close()
	d.ckptDB, d.ckptKick, d.ckptDone, d.ckptStop = nil, nil, nil, nil
}

// committed wakes the checkpointer once the WAL has grown by
// checkpointFrames since it last did. Called with the writer lock held,
// after a commit on the writer.
func (d *DB) committed() {
	if d.ckptKick == nil || d.rcap == nil {
		return
	}
	n := d.rcap.walFrames()
	if n < d.ckptFrom {
		d.ckptFrom = 0 // the WAL was reset: it starts over
	}
	if n-d.ckptFrom < checkpointFrames {
		return
	}
	d.ckptFrom = n
	select {
	case d.ckptKick <- struct{}{}:
	default: // one is already pending
	}
}

// checkpointer runs a checkpoint when kicked and every checkpointInterval (a
// PASSIVE checkpoint with nothing to copy costs next to nothing).
func (d *DB) checkpointer(ctx context.Context, c *sql.DB, kick <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	tick := time.NewTicker(checkpointInterval)
	defer tick.Stop()
	for {
		select {
		case <-kick:
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		d.checkpoint(ctx, c)
	}
}

// checkpoint runs one PASSIVE checkpoint, and a RESTART one under the
// writer if the WAL has grown past walForceFrames.
func (d *DB) checkpoint(ctx context.Context, c *sql.DB) {
	var busy, frames, done int64
	if err := c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		if ctx.Err() == nil {
			d.m.logger.Warn("checkpoint", "db", d.name, "err", err)
		}
		return
	}
	metricCheckpoints.Inc()
	if frames < walForceFrames {
		return
	}
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.lockApplier(lctx); err != nil {
		return
	}
	defer d.unlock()
	if d.wconn == nil {
		return
	}
	if err := d.wconn.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &done); err != nil {
		d.m.logger.Warn("checkpoint", "db", d.name, "mode", "restart", "err", err)
	}
}
