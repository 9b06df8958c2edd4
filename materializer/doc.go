// Package materializer keeps one SQLite file per MySQL database as a
// materialized view of the transaction log, and captures row images from
// SQLite for new transactions.
//
// Apply: each database has an applier goroutine that reads the database's
// durable change sets from the log (per origin, in sequence order, merged by
// HLC so a DDL precedes the writes that depend on it) and applies a batch of
// them in one SQLite transaction. A row change is applied only if no newer
// durable version of the row exists (last writer wins by HLC; deletes leave
// versions too), so the same change sets arriving in any order give the same
// rows. The applied watermark (origin -> seq) is stored in the table
// __marmot_applied in the same SQLite transaction as the rows, so a file
// never claims more than it holds; on start-up every file is brought up to
// the log from its watermark. SQLite runs with synchronous=NORMAL: the log,
// not SQLite, is the durability point, and a file that lost its last
// transactions in a crash simply re-applies them.
//
// Capture: a client transaction runs in a SQLite transaction on the
// database's single writer connection while the preupdate hook records
// every row it changes (table, op, before and after image). At COMMIT the
// SQLite transaction is rolled back and the net row changes become a change
// set for the log. The view is then updated by the applier like any other
// change set: SQLite never runs ahead of the log.
//
// Files: <data_dir>/db/<name>.db (+ -wal, -shm). A file can be deleted and
// rebuilt from the log alone (Rebuild).
//
// What it does not do: parse MySQL, decide conflicts, or talk to peers.
package materializer
