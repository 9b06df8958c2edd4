package peer

// The participant side of the distributed commit: vote on prepares, make
// committed change sets durable, release aborted intents.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Prepare votes on a transaction coordinated by another node.
func (s *Service) Prepare(ctx context.Context, req *connect.Request[marmotv1.PrepareRequest]) (*connect.Response[marmotv1.PrepareResponse], error) {
	m := req.Msg
	if m.Coordinator == s.Log.Node() {
		return nil, connect.NewError(connect.CodeFailedPrecondition, fmt.Errorf("node id clash: coordinator %d has this node's id", m.Coordinator))
	}
	if m.Now != nil {
		if err := s.Log.Clock().Update(txlog.FromProto(m.Now)); err != nil {
			s.Logger.Error("refusing coordinator: clock skew", "coordinator", m.Coordinator, "err", err)
			return nil, connect.NewError(connect.CodeFailedPrecondition, err)
		}
	}
	rows := make([]txlog.IntentRow, len(m.Rows))
	for i, r := range m.Rows {
		rows[i] = txlog.IntentRow{Table: r.Table, PK: r.Pk}
		if r.Expected != nil {
			v := versionFromProto(r.Expected)
			rows[i].Expected = &v
		}
	}
	ttl := time.Duration(m.TtlMs) * time.Millisecond
	var since txlog.Timestamp
	if m.Now != nil {
		since = txlog.FromProto(m.Now)
	}
	claim := txlog.Claim{Txn: m.TxnId, DB: m.Database, Rows: rows, Lock: m.DdlLock, TTL: ttl, Coord: m.Coordinator, Since: since}
	if m.Seen != nil {
		claim.Seen = txlog.Watermark(m.Seen)
	}
	err := s.Log.Prepare(claim)
	var ce *txlog.ConflictError
	switch {
	case err == nil:
		return connect.NewResponse(&marmotv1.PrepareResponse{Ok: true}), nil
	case errors.As(err, &ce):
		resp := &marmotv1.PrepareResponse{ConflictTable: ce.Table, ConflictKey: ce.Key, ConflictIntent: ce.Intent}
		if !ce.Intent {
			resp.ConflictVersion = versionProto(ce.Version)
		}
		return connect.NewResponse(resp), nil
	case errors.Is(err, txlog.ErrFinished):
		// The outcome overtook the prepare; the coordinator no longer
		// counts this vote.
		return connect.NewResponse(&marmotv1.PrepareResponse{ConflictIntent: true, ConflictTable: "(finished)"}), nil
	}
	return nil, connect.NewError(connect.CodeUnavailable, err)
}

// Commit makes a committed change set durable here. Change sets of one
// origin must be ingested in sequence; an earlier one may still be on its
// way over the Pull stream, so a gap is waited out, not refused.
func (s *Service) Commit(ctx context.Context, req *connect.Request[marmotv1.CommitRequest]) (*connect.Response[marmotv1.CommitResponse], error) {
	cs := req.Msg.ChangeSet
	if cs == nil && req.Msg.Origin != 0 && req.Msg.Seq != 0 && len(req.Msg.TxnId) > 0 {
		return s.commitStreamed(ctx, req.Msg)
	}
	if cs == nil || cs.Hlc == nil || cs.Origin == 0 {
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("commit without a change set"))
	}
	// Decided: its intents stand until it is ingested (which releases
	// them), however long earlier change sets of its origin take.
	s.Log.HoldDecided(cs.Id, cs.Origin)
	wait := s.CommitWait
	if wait <= 0 {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for {
		changed := s.Log.Changed()
		err := s.Log.Ingest(ctx, cs)
		if err == nil {
			// Ingest released the intents when it queued the change set
			// (or, if it was already here, whoever queued it did).
			s.Log.Release(cs.Id)
			return connect.NewResponse(&marmotv1.CommitResponse{}), nil
		}
		// On failure the intents stay held (above): the transaction is
		// decided (durable on its coordinator) and will arrive on the Pull
		// stream. Releasing them before would let another transaction
		// prepare on the rows with the version from before it and
		// overwrite it (a lost update). Ingesting it releases them (or
		// removing its origin from the cluster).
		if !errors.Is(err, txlog.ErrGap) {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, connect.NewError(connect.CodeDeadlineExceeded, fmt.Errorf("commit %d/%d: earlier change sets of origin %d did not arrive: %w", cs.Origin, cs.Seq, cs.Origin, err))
		}
	}
}

// leanCommitWait bounds how long a Commit without its change set waits for
// the coordinator's Pull stream to deliver it before asking for it.
const leanCommitWait = time.Second

// commitStreamed is Commit for a change set the coordinator's Pull stream
// to this node carries: the transaction is decided, so its intents are held
// until that change set is ingested (which releases them), and the answer
// waits until it is durable here. If it does not arrive soon, NOT_FOUND
// asks the coordinator to send it in the Commit itself.
func (s *Service) commitStreamed(ctx context.Context, m *marmotv1.CommitRequest) (*connect.Response[marmotv1.CommitResponse], error) {
	s.Log.HoldDecided(m.TxnId, m.Origin)
	wctx, cancel := context.WithTimeout(ctx, leanCommitWait)
	defer cancel()
	if err := s.Log.WaitDurable(wctx, m.Origin, m.Seq); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, connect.NewError(connect.CodeNotFound, fmt.Errorf("commit %d/%d: not received yet", m.Origin, m.Seq))
		}
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	// Ingesting it released the intents; a hold placed after that has
	// nothing left to hold.
	s.Log.Release(m.TxnId)
	return connect.NewResponse(&marmotv1.CommitResponse{}), nil
}

// Abort releases the intents of a transaction that will not commit.
func (s *Service) Abort(ctx context.Context, req *connect.Request[marmotv1.AbortRequest]) (*connect.Response[marmotv1.AbortResponse], error) {
	s.Log.Release(req.Msg.TxnId)
	return connect.NewResponse(&marmotv1.AbortResponse{}), nil
}

func versionProto(v txlog.Version) *marmotv1.RowVersion {
	return &marmotv1.RowVersion{Hlc: v.HLC.Proto(), Seq: v.Seq, Deleted: v.Deleted}
}

func versionFromProto(p *marmotv1.RowVersion) txlog.Version {
	return txlog.Version{HLC: txlog.FromProto(p.Hlc), Seq: p.Seq, Deleted: p.Deleted}
}
