// Package antientropy brings lagging nodes back in line with the cluster
// without an operator, and decides when the transaction log may be trimmed.
//
// Every node keeps, per origin, the highest gap-free sequence number it
// holds (a watermark). Periodically (anti_entropy_interval_seconds) a node
// compares its watermark with its peers'. A small lag (fewer than
// delta_sync_threshold_transactions, newer than delta_sync_threshold_seconds)
// is repaired by delta sync: the missing change sets are streamed from a peer
// and appended with the log's idempotent, gap-checked Ingest, so a repeated
// or interrupted sync is harmless. A larger lag, or one behind what peers
// still keep, is repaired by a snapshot (a SQLite file plus the log position
// it reflects) followed by delta sync. Rows converge by last writer wins, so
// the order change sets arrive in does not matter.
//
// Garbage collection: a log entry may go once every peer and the outbox
// cursor are past it and gc_min_retention_hours allows; after
// gc_max_retention_hours it goes regardless, and a peer that far behind
// needs a snapshot.
//
// What it does not do: decide conflicts (the log's versions and the
// materializer's last-writer-wins do), take part in two-phase commit
// (peer), or serve clients. It reaches peers and the materializer through
// small interfaces declared here and passed in by cmd/marmotd.
//
// The implementation arrives with the anti-entropy issue; this file fixes
// the package's job.
package antientropy
