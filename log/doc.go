// Package log is marmot's transaction log: the source of truth every other
// part of a node derives from. Import it as txlog so it never hides the
// standard library's log.
//
// A committed transaction is a change set (proto marmot.v1.ChangeSet). The
// log stores change sets in Pebble, keyed by their commit HLC, and keeps the
// indexes the rest of the system reads:
//
//	h/<hlc:20>                         -> ChangeSet (protobuf)     log order
//	o/<origin:8><seq:8>                -> <hlc:20>                 per-origin, gap-free
//	d/<db>\x00<origin:8><seq:8>        -> <hlc:20>                 per-database (materializer)
//	v/<db>\x00<table>\x00<pk>          -> Version                  row versions (LWW, tombstones)
//	i/<txn id>                         -> granted intent           (a member's yes vote, intents.go)
//	m/hlc                              -> wall-ms high-water mark  (clock never goes back)
//	m/node                             -> node id                  (generated once when 0)
//
// HLC encodes as 8 bytes wall ms, 4 bytes logical, 8 bytes node id, all big
// endian, so byte order is clock order and ties break by node id.
//
// The commit point of a transaction is the fsync of the Pebble batch that
// holds it. One goroutine writes batches, so many concurrent commits share one
// fsync (group commit) and per-origin sequence numbers become durable in
// order: if seq n is durable, every seq below it is too. Readers only see
// durable entries.
//
// What the log does not do: execute SQL, talk to peers, or decide quorum. It
// answers "is this write set still based on the latest versions" atomically
// with the append (Commit), which is the local half of conflict detection.
package log
