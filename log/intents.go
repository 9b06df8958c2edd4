package log

// Write intents: the prepare half of a distributed commit. A prepared
// transaction claims its rows on every node it prepared; while the claim
// stands no other transaction may prepare or append those rows, so two
// concurrent writers of one row cannot both gather a quorum (quorums
// intersect). Intents live in memory next to the row versions they guard:
// the check and the claim happen under the same mutex as Append and Ingest,
// so "version checked, then someone else commits" cannot interleave. The
// claims a node grants other coordinators are also recorded in Pebble and
// restored when it restarts (intentrec.go).

import (
	"fmt"
	"time"

	"github.com/cockroachdb/pebble/v2"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// DDLLockKey is the intent key that serializes schema changes cluster-wide:
// no table is named "", so it never collides with a row.
var DDLLockKey = string(RowKey("", "", nil))

// IntentRow is one row a transaction prepares: its key, and for a claim
// without Seen (from a coordinator that predates it) the version the
// transaction read (Expected nil when the row had none).
type IntentRow struct {
	Table    string
	PK       []*marmotv1.Value
	Expected *Version
}

type intent struct {
	txn     string
	expires time.Time
	// origin is set once the transaction is known to be decided (HoldDecided):
	// such an intent does not expire.
	origin uint64
	// coord is the coordinator of a transaction prepared here for another
	// node (0: this node's own), since its clock when it sent the prepare.
	// Past its lease such an intent is overdue, not free: only the
	// coordinator knows whether the transaction committed (Overdue).
	coord uint64
	since Timestamp
}

// Consistency is how many nodes must hold a change set durably before its
// commit is acknowledged.
type Consistency uint8

const (
	// One: the origin's own log.
	One Consistency = iota + 1
	// Quorum: a majority of the configured members.
	Quorum
	// All: every configured member.
	All
)

func (c Consistency) String() string {
	switch c {
	case One:
		return "ONE"
	case Quorum:
		return "QUORUM"
	case All:
		return "ALL"
	}
	return fmt.Sprintf("Consistency(%d)", uint8(c))
}

// ParseConsistency reads ONE, QUORUM or ALL (any case).
func ParseConsistency(s string) (Consistency, error) {
	switch {
	case equalFold(s, "ONE"):
		return One, nil
	case equalFold(s, "QUORUM"):
		return Quorum, nil
	case equalFold(s, "ALL"):
		return All, nil
	}
	return 0, fmt.Errorf("unknown write consistency %q (want ONE, QUORUM or ALL)", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// PrepareLocal claims a change set's rows for a transaction coordinated by
// this node, checking each against seen (the state the transaction
// executed on) exactly as Append does; the members check theirs against
// seen too (Claim.Seen). It returns the rows to claim on them. lock
// adds the cluster DDL lock. The claim ends when the change set is
// appended (Append) or the transaction is abandoned (Release), or after ttl.
func (l *Log) PrepareLocal(cs *marmotv1.ChangeSet, seen Watermark, lock bool, ttl time.Duration) ([]IntentRow, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return nil, err
	}
	txn := string(cs.Id)
	now := time.Now()
	keys := make([]string, 0, len(cs.Rows)+1)
	rows := make([]IntentRow, len(cs.Rows))
	for i, r := range cs.Rows {
		k := string(RowKey(cs.Database, r.Table, r.Pk))
		if err := l.intentFreeLocked(k, txn, now, r.Table, r.Pk); err != nil {
			return nil, err
		}
		cur, ok, err := l.seenVersionLocked(k, cs.Database, seen)
		if err != nil {
			return nil, err
		}
		if ok && !seen.Covers(cur.HLC.Node, cur.Seq) {
			return nil, &ConflictError{Table: r.Table, Key: pkString(r.Pk), Version: cur}
		}
		rows[i] = IntentRow{Table: r.Table, PK: r.Pk}
		keys = append(keys, k)
	}
	if lock {
		if err := l.intentFreeLocked(DDLLockKey, txn, now, "", nil); err != nil {
			return nil, err
		}
		keys = append(keys, DDLLockKey)
	}
	l.claimLocked(txn, keys, intent{txn: txn, expires: now.Add(ttl)})
	return rows, nil
}

// Claim is what a coordinator asks a member to prepare.
type Claim struct {
	Txn  []byte
	DB   string
	Rows []IntentRow
	// Lock adds the cluster DDL lock.
	Lock bool
	TTL  time.Duration
	// Coord is the coordinator and Since its clock at the prepare (see
	// Overdue).
	Coord uint64
	Since Timestamp
	// Seen is the state the transaction executed on. When set, a row
	// fails if this node holds a version of it outside Seen (the check
	// Append and PrepareLocal make), and the rows' Expected are ignored;
	// when nil, a row fails if this node's version is newer than Expected.
	Seen Watermark
}

// Prepare claims rows for a transaction coordinated by another node. A row
// fails the check when another intent holds it (this node's own only until
// its lease ends, another node's until it is settled), or when this
// node holds a version of it the transaction did not see: then the
// transaction executed on stale data and must not commit.
//
// The claim is durable when Prepare returns nil (intentrec.go): a restart
// keeps the promise the vote made.
func (l *Log) Prepare(c Claim) error {
	b, err := l.prepareLocked(c)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.SyncWait(); err != nil {
		return fmt.Errorf("log: record intent: %w", err)
	}
	return nil
}

func (l *Log) prepareLocked(c Claim) (*pebble.Batch, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.usable(); err != nil {
		return nil, err
	}
	id := string(c.Txn)
	if l.finished[id] {
		// The transaction already committed or aborted (its prepare was
		// overtaken by the outcome): a claim now would never be released.
		return nil, ErrFinished
	}
	now := time.Now()
	keys := make([]string, 0, len(c.Rows)+1)
	for _, r := range c.Rows {
		k := string(RowKey(c.DB, r.Table, r.PK))
		if err := l.intentFreeLocked(k, id, now, r.Table, r.PK); err != nil {
			return nil, err
		}
		var stale bool
		var cur Version
		if c.Seen != nil {
			v, ok, err := l.seenVersionLocked(k, c.DB, c.Seen)
			if err != nil {
				return nil, err
			}
			cur, stale = v, ok && !c.Seen.Covers(v.HLC.Node, v.Seq)
		} else {
			v, ok, err := l.versionLocked(k)
			if err != nil {
				return nil, err
			}
			cur, stale = v, ok && (r.Expected == nil || v.Newer(*r.Expected))
		}
		if stale {
			return nil, &ConflictError{Table: r.Table, Key: pkString(r.PK), Version: cur}
		}
		keys = append(keys, k)
	}
	if c.Lock {
		if err := l.intentFreeLocked(DDLLockKey, id, now, "", nil); err != nil {
			return nil, err
		}
		keys = append(keys, DDLLockKey)
	}
	in := intent{txn: id, expires: now.Add(c.TTL), coord: c.Coord, since: c.Since}
	l.claimLocked(id, keys, in)
	return l.recordIntentLocked(id, intentRec{coord: c.Coord, since: c.Since, expires: in.expires, keys: l.intentKeys[id]})
}

// HoldDecided keeps a transaction's intents until its change set is
// ingested (which releases them), however long that takes: the transaction
// is decided, durable on its coordinator (origin), and its change set is on
// its way. Were the intents to expire first, another transaction could
// prepare on its rows from the version before it and overwrite it. Only
// ReleaseDecidedFrom (the origin was removed from the cluster) drops them
// otherwise. Intents already released (the change set arrived) stay so.
func (l *Log) HoldDecided(txn []byte, origin uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holdDecidedLocked(txn, origin)
}

func (l *Log) holdDecidedLocked(txn []byte, origin uint64) {
	for _, k := range l.intentKeys[string(txn)] {
		if in, ok := l.intents[k]; ok && in.txn == string(txn) {
			in.expires, in.origin = time.Unix(1<<62, 0), origin
			l.intents[k] = in
		}
	}
}

// ReleaseDecidedFrom drops the held intents of transactions whose
// coordinator was origin, decided or overdue: an operator removed that
// node, so its change sets may never arrive and it will never answer for
// them. It returns how many transactions it released.
func (l *Log) ReleaseDecidedFrom(origin uint64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	txns := map[string]bool{}
	for _, in := range l.intents {
		if in.origin == origin || in.coord == origin {
			txns[in.txn] = true
		}
	}
	for t := range txns {
		l.releaseLocked(t)
	}
	return len(txns)
}

// Release drops a transaction's intents (abort, or a coordinator that gave up).
func (l *Log) Release(txn []byte) {
	l.mu.Lock()
	l.releaseLocked(string(txn))
	// The coordinator has ended it: a given-up mark has done its job.
	delete(l.givenUp, string(txn))
	l.mu.Unlock()
}

// Intents reports how many rows are claimed by prepared transactions.
func (l *Log) Intents() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.intents)
}

func (l *Log) intentFreeLocked(key, txn string, now time.Time, table string, pk []*marmotv1.Value) error {
	in, ok := l.intents[key]
	if !ok || in.txn == txn {
		return nil
	}
	if now.After(in.expires) {
		if in.coord == 0 {
			// This node's own transaction stalled past its lease: it is
			// given up (Append refuses it now), the row is free.
			l.giveUpLocked(in.txn)
			return nil
		}
		// Another node's transaction: it may have committed there (the
		// commit point is its coordinator's log) with its change set still
		// on the way, so freeing the row could let a transaction that
		// read the row before it overwrite it. The resolver asks.
		select {
		case l.overdue <- struct{}{}:
		default:
		}
		return &ConflictError{Table: table, Key: pkString(pk), Intent: true, Reason: fmt.Sprintf("row %s of %s is held by transaction %x of node %d, which outlived its lease; its outcome is being settled with that node", pkString(pk), table, in.txn, in.coord)}
	}
	if key == DDLLockKey {
		return &ConflictError{Table: "(DDL lock)", Key: "cluster", Intent: true}
	}
	return &ConflictError{Table: table, Key: pkString(pk), Intent: true}
}

func (l *Log) claimLocked(txn string, keys []string, in intent) {
	if l.intents == nil {
		l.intents = map[string]intent{}
		l.intentKeys = map[string][]string{}
	}
	for _, k := range keys {
		l.intents[k] = in
	}
	l.intentKeys[txn] = append(l.intentKeys[txn], keys...)
}

// finishedMemory is how many ended transactions a node remembers, to
// refuse prepares that arrive after the outcome.
const finishedMemory = 1 << 16

func (l *Log) releaseLocked(txn string) {
	if !l.finished[txn] {
		if l.finished == nil {
			l.finished = map[string]bool{}
		}
		if len(l.finishedOrder) >= finishedMemory {
			delete(l.finished, l.finishedOrder[0])
			l.finishedOrder = l.finishedOrder[1:]
		}
		l.finished[txn] = true
		l.finishedOrder = append(l.finishedOrder, txn)
	}
	l.forgetIntentLocked(txn)
	keys, ok := l.intentKeys[txn]
	if !ok {
		return
	}
	for _, k := range keys {
		if in, ok := l.intents[k]; ok && in.txn == txn {
			delete(l.intents, k)
		}
	}
	delete(l.intentKeys, txn)
}

// giveUpLocked releases a transaction of this node that was prepared but
// not appended, and makes Append refuse it: its rows may be taken by
// others from now on. A transaction appended already is only released.
func (l *Log) giveUpLocked(txn string) {
	if _, ok := l.intentKeys[txn]; ok {
		if l.givenUp == nil {
			l.givenUp = map[string]struct{}{}
		}
		l.givenUp[txn] = struct{}{}
	}
	l.releaseLocked(txn)
}
