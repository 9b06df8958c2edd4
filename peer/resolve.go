package peer

// Settling overdue intents: a member asks the coordinator of a transaction
// whose intents outlived their lease whether it committed (see
// log/resolve.go for why the member may not simply free the rows).

import (
	"context"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// TxnStatus answers a member for transactions this node coordinated.
func (s *Service) TxnStatus(ctx context.Context, req *connect.Request[marmotv1.TxnStatusRequest]) (*connect.Response[marmotv1.TxnStatusResponse], error) {
	out := &marmotv1.TxnStatusResponse{}
	for _, q := range req.Msg.Txns {
		var since txlog.Timestamp
		if q.Since != nil {
			since = txlog.FromProto(q.Since)
		}
		seq, ok, err := s.Log.OwnOutcome(ctx, q.TxnId, since)
		if err != nil {
			return nil, connect.NewError(connect.CodeUnavailable, err)
		}
		out.Outcomes = append(out.Outcomes, &marmotv1.TxnOutcome{TxnId: q.TxnId, Committed: ok, Seq: seq})
	}
	return connect.NewResponse(out), nil
}

// resolveGap is the least time between two rounds of questions, so that
// transactions meeting an overdue intent of an unreachable coordinator do
// not turn into a stream of calls to it.
const resolveGap = 250 * time.Millisecond

// resolveWarnEvery spaces the warnings about an unreachable coordinator.
const resolveWarnEvery = 30 * time.Second

// Resolve settles this node's overdue intents with their coordinators
// until ctx ends: at once when a transaction meets one, else every period.
// An unreachable coordinator is asked again next round; its rows stay
// held until it answers or is removed from the cluster.
func (c *Coordinator) Resolve(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.Log.OverdueNotify():
		}
		c.ResolveOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(resolveGap):
		}
	}
}

// ResolveOnce asks each coordinator of an overdue transaction once. Not
// safe for concurrent use (Resolve runs it from one goroutine).
func (c *Coordinator) ResolveOnce(ctx context.Context) {
	byCoord := map[uint64][]txlog.OverdueTxn{}
	overdue := c.Log.Overdue()
	for _, o := range overdue {
		byCoord[o.Coord] = append(byCoord[o.Coord], o)
	}
	metricOverdueNow.Set(float64(len(overdue)))
	if len(byCoord) == 0 {
		return
	}
	addrs := map[uint64]string{}
	for _, m := range c.Members() {
		addrs[m.ID] = m.Addr
	}
	for coord, txns := range byCoord {
		addr, ok := addrs[coord]
		if !ok {
			// Not a member (any more): removing it released its intents
			// (ReleaseDecidedFrom); until then there is nobody to ask.
			metricOverdue.WithLabelValues("unreachable").Add(float64(len(txns)))
			continue
		}
		req := &marmotv1.TxnStatusRequest{}
		for _, o := range txns {
			req.Txns = append(req.Txns, &marmotv1.TxnQuery{TxnId: o.Txn, Since: o.Since.Proto()})
		}
		cctx, cancel := context.WithTimeout(ctx, c.PrepareTimeout)
		resp, err := c.client(addr).TxnStatus(cctx, connect.NewRequest(req))
		cancel()
		if err != nil {
			metricOverdue.WithLabelValues("unreachable").Add(float64(len(txns)))
			if c.unreachableSince == nil {
				c.unreachableSince = map[uint64]time.Time{}
			}
			// Said once, then every resolveWarnEvery: the question repeats
			// every round for as long as the coordinator is down.
			if last, ok := c.unreachableSince[coord]; !ok || time.Since(last) >= resolveWarnEvery {
				c.unreachableSince[coord] = time.Now()
				c.Logger.Warn("rows held by transactions of an unreachable coordinator stay held until it answers (or is removed from the cluster)", "coordinator", coord, "transactions", len(txns), "err", shortErr(err))
			}
			continue
		}
		delete(c.unreachableSince, coord)
		for _, o := range resp.Msg.Outcomes {
			outcome := "aborted"
			if o.Committed {
				outcome = "committed"
			}
			metricOverdue.WithLabelValues(outcome).Inc()
			c.Log.Settle(o.TxnId, coord, o.Committed, o.Seq)
		}
		c.Logger.Info("settled overdue intents with their coordinator", "coordinator", coord, "transactions", len(resp.Msg.Outcomes))
	}
}
