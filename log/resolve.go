package log

// Settling intents that outlived their lease. A member that voted yes for a
// transaction of another node cannot tell alone whether it committed: the
// commit point is the coordinator's own log, and a coordinator killed
// between its append and its commit calls leaves members holding intents of
// a committed transaction nobody else knows of. Freeing those rows at the
// lease would let a quorum of the other nodes commit over them, and the
// coordinator, back, would then deliver a change set that last-writer-wins
// applies to some rows and not others. So a member asks the coordinator
// (OwnOutcome there): committed means hold until the change set arrives;
// not committed means release, and the coordinator has made sure it never
// will commit. While the coordinator cannot answer, the rows stay held:
// that is the price of atomicity when the only node that knows is down,
// bounded by its restart or by removing it from the cluster.

import (
	"bytes"
	"context"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// OverdueTxn is a transaction prepared here for another coordinator whose
// intents outlived their lease without a commit or an abort.
type OverdueTxn struct {
	Txn   []byte
	Coord uint64
	// Since is the coordinator's clock when it sent the prepare: a commit
	// of the transaction is in its log at or after it.
	Since Timestamp
}

// OverdueNotify fires when a conflict check meets an overdue intent, so the
// resolver need not wait for its next round.
func (l *Log) OverdueNotify() <-chan struct{} { return l.overdue }

// Overdue lists the transactions whose intents here are overdue.
func (l *Log) Overdue() []OverdueTxn {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	var out []OverdueTxn
	for txn, keys := range l.intentKeys {
		for _, k := range keys {
			in, ok := l.intents[k]
			if !ok || in.txn != txn {
				continue
			}
			if in.coord != 0 && in.origin == 0 && now.After(in.expires) {
				out = append(out, OverdueTxn{Txn: []byte(txn), Coord: in.coord, Since: in.since})
			}
			break
		}
	}
	return out
}

// Settle applies a coordinator's answer for an overdue transaction: one
// that committed as seq is held until that change set is here, which it
// may already be (it arrived before a restart brought the claim back, or
// with a snapshot).
func (l *Log) Settle(txn []byte, coord uint64, committed bool, seq uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if committed && (seq == 0 || seq > l.lastSeq[coord]) {
		l.holdDecidedLocked(txn, coord)
		return
	}
	l.releaseLocked(string(txn))
}

// OwnOutcome answers whether txn, a transaction this node coordinated and
// whose prepare it sent at since, committed, and at which sequence. A
// transaction still prepared here is given up first (its intents released,
// so Append refuses it): the answer "not committed" cannot turn false
// later. A committed one is reported only once durable, since the member
// will then wait for it indefinitely.
func (l *Log) OwnOutcome(ctx context.Context, txn []byte, since Timestamp) (uint64, bool, error) {
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return 0, false, err
	}
	id := string(txn)
	if _, ok := l.intentKeys[id]; ok {
		l.giveUpLocked(id)
		l.mu.Unlock()
		return 0, false, nil
	}
	// Not prepared here: appended already, or never will be (given up,
	// aborted, or prepared before a restart).
	last := l.lastSeq[l.node]
	l.mu.Unlock()
	if err := l.WaitDurable(ctx, l.node, last); err != nil {
		return 0, false, err
	}
	var seq uint64
	err := l.Scan(since, func(cs *marmotv1.ChangeSet) error {
		if cs.Origin == l.node && bytes.Equal(cs.Id, txn) {
			seq = cs.Seq
			return errStop
		}
		return ctx.Err()
	})
	if err != nil {
		return 0, false, err
	}
	return seq, seq != 0, nil
}
