// Package outbox publishes the transaction log as change data capture
// events in the Debezium envelope, so existing Debezium consumers can read
// marmot.
//
// A publisher reads durable change sets from a persisted cursor (a log
// position per sink), turns every row change into one event (op "c", "u"
// or "d"; before and after images; source with db, table and the commit
// time) on the topic {topic_prefix}.{database}.{table}, filters databases
// and tables by glob, hands batches to its sink and advances the cursor
// only after the sink acknowledged them. Delivery is therefore at least
// once: after a crash the last batch may be sent again, so consumers must
// tolerate duplicates. Failed sends retry with
// exponential backoff. The cursor also holds back log garbage collection,
// so an unreachable sink delays trimming rather than losing events.
//
// Sinks live in sub-packages with the same shape (outbox/kafka with
// franz-go, outbox/nats with nats.go) and are passed in by cmd/marmotd;
// nothing registers itself in init(). One contract test suite runs against
// every sink.
//
// What it does not do: publish uncommitted or not yet durable change sets,
// change the log or SQLite, or promise exactly-once delivery.
//
// The implementation arrives with the outbox issue; this file fixes the
// package's job.
package outbox
