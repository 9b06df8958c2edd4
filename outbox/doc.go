// Package outbox publishes the transaction log as change data capture
// events in the Debezium envelope, so existing Debezium consumers can read
// marmot.
//
// # Events
//
// Every row change of a durable change set becomes one message on the
// topic (Kafka) or subject (NATS) {topic_prefix}.{database}.{table}: value
// {schema, payload} with before, after, op ("c", "u", "d"), ts_ms (publish
// time) and source {version, connector "marmot", name, ts_ms (commit
// time), snapshot, db, table, hlc, origin, seq, txId, row}. The schema
// describes every field with its Connect type, taken from the column's
// declared MySQL type (read from the SQLite view by outbox/sqlite) as
// Debezium maps it (INT int32, BIGINT int64, DECIMAL a string with the
// column's scale, BLOB/BINARY bytes in base64, DATE/DATETIME/TIME epoch
// numbers and TIMESTAMP an ISO string with Debezium's io.debezium.time.*
// names, temporal.go; the table is in docs/outbox.md) when the values fit
// it, else from the values' SQLite storage classes. The key message
// holds the primary key columns; a delete is followed by a tombstone with
// the same key, and a primary-key change arrives as a delete and a create
// (that is how the log stores it). A DDL or CREATE/DROP DATABASE change set becomes a
// schema-change record on {topic_prefix} (Debezium's schema change topic),
// keyed by databaseName, whose ddl is the idempotent SQLite statement the
// log stores. Databases and tables are filtered by glob.
//
// Every message has an id, identical whenever it is sent again: txId:row
// (":t" for the tombstone, ":ddl" for a schema change). Kafka records carry
// it in the marmot.id header; NATS messages as Nats-Msg-Id, which
// JetStream de-duplicates on. Consumers drop repeats by it.
//
// # Who publishes, and the cursor
//
// Every node holds every change set; each node publishes the ones that
// originated on it, so in normal operation each event is published once by
// the cluster. A publisher's cursor is a watermark (origin -> last sequence
// whose events the sink acknowledged), not an HLC position: change sets of
// different origins become durable on a node out of HLC order, and an HLC
// cursor would skip a late one. It is kept in two places. In the node's
// log (txlog.Log.SetCursor, name "outbox/<sink>", read by GC through
// txlog.Log.CursorFloor and by Publisher.Watermark). And in the sink, as
// cursor records on {topic_prefix}.__marmot_cursor keyed "<sink>.<origin>"
// (a compacted topic on Kafka; on NATS the subject gets the key as a last
// token, and JetStream, if a stream captures it, keeps the last record per
// subject). A cursor record is sent only after the events it covers were
// acknowledged (with the next batch, or alone when idle, and every
// takeover_after/4 as a heartbeat); every publisher reads the records of
// all nodes, so each node's cursor knows what the others published.
//
// When an origin's change sets have waited on a node for takeover_after
// with no cursor progress (the origin is down, or cut off from the broker),
// the next node after it in node-id order publishes them from its cursor;
// the one after that waits twice as long, and so on, so one node normally
// takes over. It hands back as soon as it sees the origin's records advance
// again. Change sets that only the dead node holds (ONE writes that had not
// replicated) wait for it. With takeover_after 0 nothing is taken over.
//
// # Guarantees
//
// Delivery is at least once, never lossy: the cursor moves only after the
// sink acknowledged, so a crash (kill -9 included) repeats at most the
// batch in flight, a takeover repeats what the origin sent after its last
// cursor record, and a Kafka batch abandoned while its broker was down may
// still land; all repeats carry the same ids. Events of one origin are
// published in its sequence order (its commit order). Kafka records are
// keyed by the row's primary key, so all events of one row written on one
// node stay in one partition in commit order. Events of one row written on
// different nodes are published by different nodes and may reach the sink
// in either order; source.hlc is their commit order, and a consumer that
// keeps the event with the highest hlc per key ends with marmot's row
// (marmot resolves the same way: last writer wins by HLC). Failed
// publishes are logged, counted (marmot_outbox_publish_failures_total,
// marmot_outbox_retrying) and retried with exponential backoff forever.
//
// # Snapshots
//
// With Options.Views set (marmotd sets it), a sink new to the cluster first
// gets an "r" event per existing row, then the change stream from the
// snapshot's end, unless Options.SnapshotMode is SnapshotNever (the
// stream then starts at the beginning of the retained log); Resnapshot
// (marmotctl outbox resnapshot) does it again.
// snapshot.go explains the seam (no change lost or doubled) and who runs
// it. docs/outbox.md is the consumer's contract (format, types, order).
//
// What it does not do: publish uncommitted or not yet durable change sets,
// change the log or SQLite, or promise exactly-once delivery.
//
// Sinks live in sub-packages with the same shape (outbox/kafka on
// franz-go, outbox/nats on nats.go) and are passed in by cmd/marmotd;
// nothing registers itself in init(). One contract suite (outbox/sinktest)
// runs against every sink.
package outbox
