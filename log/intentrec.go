package log

// Granted intents survive restarts. A member's yes vote is a promise: until
// the coordinator's outcome is known here, no other transaction gets the
// rows. Kept only in memory, the promise died with the process, and when
// every member that voted for a committed transaction restarted while its
// coordinator was down, a quorum of them could commit over its rows; the
// coordinator, back, then delivered a change set that last-writer-wins
// applied to some rows and not to others. So a member records the claim
// (one key per transaction) and makes it durable before it answers yes.
// The record goes with the change set's own batch when it is ingested, so
// "intent gone, change set not here" is never on disk; an abort deletes it
// without waiting, and one that a crash undoes is simply asked about again.
// A node's own transactions need no record: after a crash they either are
// in its log (committed) or never will be.

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

type intentRec struct {
	coord   uint64
	since   Timestamp
	expires time.Time
	keys    []string
}

const intentRecVersion = 1

func (r intentRec) encode() []byte {
	b := []byte{intentRecVersion}
	b = binary.AppendUvarint(b, r.coord)
	b = r.since.Append(b)
	b = binary.AppendVarint(b, r.expires.UnixNano())
	b = binary.AppendUvarint(b, uint64(len(r.keys)))
	for _, k := range r.keys {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
	}
	return b
}

func decodeIntentRec(b []byte) (intentRec, error) {
	var r intentRec
	bad := func(what string) (intentRec, error) {
		return intentRec{}, fmt.Errorf("%w: intent record: %s", ErrCorrupt, what)
	}
	if len(b) < 1 || b[0] != intentRecVersion {
		return bad("unknown version")
	}
	b = b[1:]
	var n int
	if r.coord, n = binary.Uvarint(b); n <= 0 {
		return bad("coordinator")
	}
	b = b[n:]
	if len(b) < TimestampLen {
		return bad("timestamp")
	}
	var err error
	if r.since, err = DecodeTimestamp(b[:TimestampLen]); err != nil {
		return bad("timestamp")
	}
	b = b[TimestampLen:]
	exp, n := binary.Varint(b)
	if n <= 0 {
		return bad("expiry")
	}
	r.expires = time.Unix(0, exp)
	b = b[n:]
	count, n := binary.Uvarint(b)
	if n <= 0 || count > uint64(len(b)) {
		return bad("key count")
	}
	b = b[n:]
	r.keys = make([]string, 0, count)
	for range count {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return bad("key")
		}
		r.keys = append(r.keys, string(b[n:n+int(l)]))
		b = b[n+int(l):]
	}
	if len(b) != 0 {
		return bad("trailing bytes")
	}
	return r, nil
}

// recordIntentLocked writes txn's claim and returns the batch to wait on
// (SyncWait) once mu is released: the vote may be given only when it is
// durable. Applying under mu orders the record before any later delete.
func (l *Log) recordIntentLocked(txn string, r intentRec) (*pebble.Batch, error) {
	b := l.db.NewBatch()
	if err := b.Set(intentKey(txn), r.encode(), nil); err != nil {
		b.Close()
		return nil, err
	}
	if err := l.db.ApplyNoSyncWait(b, pebble.Sync); err != nil {
		b.Close()
		return nil, fmt.Errorf("log: record intent: %w", err)
	}
	if l.intentRecs == nil {
		l.intentRecs = map[string]bool{}
	}
	l.intentRecs[txn] = true
	return b, nil
}

// forgetIntentLocked deletes txn's record, without waiting for it to be
// durable: a record a crash brings back is settled with its coordinator.
func (l *Log) forgetIntentLocked(txn string) {
	if !l.intentRecs[txn] {
		return
	}
	delete(l.intentRecs, txn)
	if err := l.db.Delete(intentKey(txn), pebble.NoSync); err != nil {
		l.logger.Warn("log: could not delete an intent record; it is settled again after a restart", "txn", fmt.Sprintf("%x", txn), "err", err)
	}
}

// loadIntents restores the claims this node granted before it stopped.
// Each keeps its lease: one already past it is overdue at once, and the
// resolver asks its coordinator how it ended.
func (l *Log) loadIntents() (int, error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixIntent, '/'}, UpperBound: []byte{prefixIntent, '/' + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		txn := string(it.Key()[2:])
		r, err := decodeIntentRec(it.Value())
		if err != nil {
			return n, err
		}
		l.claimLocked(txn, r.keys, intent{txn: txn, expires: r.expires, coord: r.coord, since: r.since})
		if l.intentRecs == nil {
			l.intentRecs = map[string]bool{}
		}
		l.intentRecs[txn] = true
		n++
	}
	return n, it.Error()
}
