// Package frontend is marmot's MySQL face: a wire-protocol server (on
// go-mysql-org/go-mysql's server package), sessions, and the execution of
// transpiled statements against the materialized SQLite views.
//
// Reads run on a database's read pool (WAL readers, never blocked by the
// writer). Writes run in a capture transaction on the database's writer
// connection (materializer.Txn); at COMMIT — or after each statement in
// autocommit mode — the captured change set goes to the Committer (the log
// on a single node, the peer coordinator in a cluster) and the session waits
// until the view includes it before it answers OK, so a client always reads
// its own writes.
//
// Concurrency control is optimistic: the log refuses a change set whose
// rows were changed after the state the transaction read. Transactions of
// one database run one at a time on its writer and interactive ones start
// from the latest committed state, so on one node only an autocommit
// statement's cheap first attempt can lose; it is then re-executed on the
// newer state (invisible to the client). An explicit transaction that loses
// (peers committing concurrently) gets MySQL error 1213 and is rolled back,
// as InnoDB does for a deadlock.
//
// Errors reach clients as MySQL error codes and SQLSTATEs, mapped in one
// place (errors.go).
package frontend
