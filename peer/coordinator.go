package peer

// The coordinator side of the distributed commit.
//
// A transaction taken by this node at QUORUM or ALL commits in two rounds:
//
//  1. prepare: its rows are claimed here (under the database's writer, so
//     local transactions serialize with it) and then, in parallel, on the
//     other members, each checking the version the transaction read. The
//     writer is released before any network call.
//  2. commit: once enough members voted yes, the change set is appended to
//     the local log (the decision, durable before anyone applies it) and,
//     once durable here, sent to the members, who append it to theirs. The
//     client is answered when the level's count of nodes hold it durably.
//
// If too few members vote yes the intents are released everywhere and
// nothing was written anywhere: the client gets a conflict (1213, retry)
// or a clear "level not reachable" error.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Target is a configured member as the coordinator sees it.
type Target struct {
	ID   uint64
	Addr string // peer RPC address host:port
	// Live is false for members known to be dead or gone: they are not
	// asked, but still count towards the size of a quorum.
	Live bool
}

// Coordinator runs distributed commits for transactions taken by this node.
type Coordinator struct {
	Log *txlog.Log
	// Members returns every configured member except this node.
	Members func() []Target
	// Joined, if set, reports whether this node has learned the cluster's
	// membership yet; before that QUORUM and ALL are refused rather than
	// counted against a cluster of one.
	Joined func() bool
	// Secret signs calls to peers.
	Secret string
	// PrepareTimeout bounds the prepare round; CommitTimeout the wait for
	// commit acknowledgements; IntentTTL how long an unresolved intent
	// blocks a row; DDLLease how long the cluster DDL lock may be held.
	PrepareTimeout, CommitTimeout, IntentTTL, DDLLease time.Duration
	// AbortTimeout bounds each abort call (PrepareTimeout if zero).
	AbortTimeout time.Duration
	// MaxRetries is how many times a Commit call that failed to reach a
	// member is sent again, RetryBackoff apart, within CommitTimeout:
	// Commit is idempotent (the member ingests a change set once).
	MaxRetries   int
	RetryBackoff time.Duration
	Logger       *slog.Logger
	// AtCommitPoint, if set, runs once a distributed commit is durable in
	// this node's log and before the members are told (the test faults
	// hook kills the process there).
	AtCommitPoint func(origin, seq uint64)
	// Streaming, if set, reports whether a member follows this node's log
	// over a Pull stream; Commit to such a member leaves the change set
	// out (the stream carries it), which saves encoding, sending and
	// decoding it twice.
	Streaming func(node uint64) bool

	// unreachableSince: when the resolver last warned about a coordinator
	// it could not ask (resolve.go); used by the resolver goroutine only.
	unreachableSince map[uint64]time.Time

	once    sync.Once
	hc      *http.Client
	mu      sync.Mutex
	clients map[string]marmotv1connect.PeerServiceClient
}

// LevelError: the write consistency level could not be met, and nothing
// was written anywhere. It reaches the client as MySQL error 1180.
type LevelError struct {
	Level            txlog.Consistency
	Got, Need, Nodes int
	Reason           string
}

func (e *LevelError) Error() string {
	return fmt.Sprintf("marmot: write consistency %s not reached: %d of %d nodes prepared, %d needed (%s); nothing was written", e.Level, e.Got, e.Nodes, e.Need, e.Reason)
}

// MySQLCode maps the error for the frontend.
func (e *LevelError) MySQLCode() (uint16, string) { return 1180, "HY000" }

// InDoubtError: the change set is committed in this node's log (it will
// reach every node) but fewer nodes than the level asks confirmed it in
// time. The client cannot count it as acknowledged at that level.
type InDoubtError struct {
	Level      txlog.Consistency
	Got, Need  int
	Origin     uint64
	Seq        uint64
	LastReason string
}

func (e *InDoubtError) Error() string {
	return fmt.Sprintf("marmot: transaction %d/%d is committed on this node but only %d nodes confirmed it, %s needs %d (%s); it will replicate when peers return", e.Origin, e.Seq, e.Got, e.Level, e.Need, e.LastReason)
}

// MySQLCode maps the error for the frontend.
func (e *InDoubtError) MySQLCode() (uint16, string) { return 1180, "HY000" }

// Commitment is a commit under way; Wait reports its outcome.
type Commitment interface {
	Wait(ctx context.Context) error
}

// Append starts the commit of cs at level. It runs under the database's
// writer: only local work happens here (the conflict check and the local
// intents, or for ONE the log append itself).
func (c *Coordinator) Append(cs *marmotv1.ChangeSet, seen txlog.Watermark, level txlog.Consistency) (Commitment, error) {
	if level != txlog.One && c.Joined != nil && !c.Joined() {
		return nil, &LevelError{Level: level, Got: 1, Need: 2, Nodes: 1, Reason: "this node has not joined the cluster through its seeds yet"}
	}
	members := c.Members()
	if level == txlog.One || len(members) == 0 {
		a, err := c.Log.Append(cs, seen)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	ddl := cs.Ddl != "" || cs.DatabaseOp != marmotv1.DatabaseOp_DATABASE_OP_UNSPECIFIED
	ttl := c.IntentTTL
	if ddl {
		ttl = c.DDLLease
	}
	rows, err := c.Log.PrepareLocal(cs, seen, ddl, ttl)
	if err != nil {
		return nil, err
	}
	return &distCommit{c: c, cs: cs, seen: seen, level: level, members: members, rows: rows, ddl: ddl, ttl: ttl}, nil
}

type distCommit struct {
	c       *Coordinator
	cs      *marmotv1.ChangeSet
	seen    txlog.Watermark
	level   txlog.Consistency
	members []Target
	rows    []txlog.IntentRow
	ddl     bool
	ttl     time.Duration
}

// need is how many nodes (this one included) a level requires, out of the
// configured members: dead ones count, so a minority cannot commit.
func need(level txlog.Consistency, nodes int) int {
	if level == txlog.All {
		return nodes
	}
	return nodes/2 + 1
}

type vote struct {
	t    Target
	resp *marmotv1.PrepareResponse
	err  error
}

func (d *distCommit) Wait(ctx context.Context) error {
	start := time.Now()
	err := d.wait(ctx)
	metricCommitSeconds.WithLabelValues(d.level.String()).Observe(time.Since(start).Seconds())
	metricCommits.WithLabelValues(d.level.String(), outcome(err)).Inc()
	return err
}

func outcome(err error) string {
	var le *LevelError
	var ie *InDoubtError
	switch {
	case err == nil:
		return "committed"
	case errors.Is(err, txlog.ErrConflict):
		return "conflict"
	case errors.As(err, &le):
		return "level_unmet"
	case errors.As(err, &ie):
		return "in_doubt"
	}
	return "error"
}

func (d *distCommit) wait(ctx context.Context) error {
	c := d.c
	nodes := len(d.members) + 1
	needed := need(d.level, nodes)
	var live []Target
	for _, t := range d.members {
		if t.Live {
			live = append(live, t)
		}
	}
	if 1+len(live) < needed {
		c.Log.Release(d.cs.Id)
		return &LevelError{Level: d.level, Got: 1, Need: needed, Nodes: nodes, Reason: fmt.Sprintf("%d of %d other members are down", len(d.members)-len(live), len(d.members))}
	}

	req := &marmotv1.PrepareRequest{TxnId: d.cs.Id, Coordinator: c.Log.Node(), Database: d.cs.Database, DdlLock: d.ddl, TtlMs: uint32(d.ttl / time.Millisecond), Seen: d.seen}
	req.Rows = make([]*marmotv1.IntentRow, len(d.rows))
	for i, r := range d.rows {
		req.Rows[i] = &marmotv1.IntentRow{Table: r.Table, Pk: r.PK}
	}
	if now, err := c.Log.Clock().Now(); err == nil {
		req.Now = now.Proto()
	}
	// The members' intents stand ttl from when they receive the prepare,
	// which is after this.
	sent := time.Now()
	pctx, cancel := context.WithTimeout(ctx, c.PrepareTimeout)
	votes := make(chan vote, len(live))
	for _, t := range live {
		go func() {
			resp, err := c.client(t.Addr).Prepare(pctx, connect.NewRequest(req))
			if err != nil {
				votes <- vote{t: t, err: err}
				return
			}
			votes <- vote{t: t, resp: resp.Msg}
		}()
	}
	yes, pending := 1, len(live)
	var conflict *txlog.ConflictError
	var reasons []string
	for yes < needed && yes+pending >= needed {
		v := <-votes
		pending--
		switch {
		case v.err != nil:
			metricVotes.WithLabelValues("error").Inc()
			reasons = append(reasons, fmt.Sprintf("node %d: %v", v.t.ID, shortErr(v.err)))
		case v.resp.Ok:
			metricVotes.WithLabelValues("yes").Inc()
			yes++
		default:
			metricVotes.WithLabelValues("no").Inc()
			ce := &txlog.ConflictError{Table: v.resp.ConflictTable, Key: v.resp.ConflictKey, Intent: v.resp.ConflictIntent}
			if v.resp.ConflictVersion != nil {
				ce.Version = versionFromProto(v.resp.ConflictVersion)
			}
			// A newer committed version is the better reason to report:
			// the retry can wait for it to arrive.
			if conflict == nil || conflict.Intent && !ce.Intent {
				conflict = ce
			}
		}
	}
	// Votes still in flight are answered by the outcome below (commit or
	// abort goes to every live member), so their intents do not linger.
	go func() {
		for ; pending > 0; pending-- {
			<-votes
		}
		cancel()
	}()
	if yes < needed {
		d.abort(live)
		if conflict != nil {
			return conflict
		}
		return &LevelError{Level: d.level, Got: yes, Need: needed, Nodes: nodes, Reason: strings.Join(reasons, "; ")}
	}

	// A coordinator that stalled during the prepare round (a GC pause, a
	// SIGSTOP, an overloaded host) may hold yes votes whose intents have
	// expired on the members, which then let other transactions take the
	// rows. Committing would let both write them. The decision must leave
	// the commit round (at most CommitTimeout) inside the intents' lease;
	// otherwise it aborts, and the client retries on fresh state.
	if left := d.ttl - time.Since(sent); left < c.CommitTimeout {
		metricLeaseAborts.Inc()
		d.abort(live)
		return &txlog.ConflictError{Intent: true, Reason: fmt.Sprintf("the prepare round took %v of the intents' %v lease; aborted so no other transaction's writes to its rows are overwritten", time.Since(sent).Round(time.Millisecond), d.ttl)}
	}
	a, err := c.Log.Append(d.cs, d.seen)
	if err != nil {
		d.abort(live)
		return err
	}
	return d.commit(ctx, a, live, needed)
}

// commit sends the decided change set to the live members and waits until
// needed nodes (this one included) hold it durably. The client going away
// does not stop it: the outcome is decided.
func (d *distCommit) commit(ctx context.Context, a *txlog.Appending, live []Target, needed int) error {
	c := d.c
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.CommitTimeout)
	// Durable here before any peer gets it: a peer must never hold an
	// entry of this origin that this log lacks, or this node, restarted
	// after a crash, would give that sequence number to another change set.
	if err := a.Wait(cctx); err != nil {
		// The log failed (the node must restart): nothing was committed.
		cancel()
		d.abort(live)
		return err
	}
	if c.AtCommitPoint != nil {
		c.AtCommitPoint(d.cs.Origin, d.cs.Seq)
	}
	acks := make(chan error, len(live))
	creq := &marmotv1.CommitRequest{ChangeSet: d.cs}
	lean := &marmotv1.CommitRequest{TxnId: d.cs.Id, Origin: d.cs.Origin, Seq: d.cs.Seq}
	for _, t := range live {
		go func() {
			if c.Streaming != nil && c.Streaming(t.ID) {
				err := c.sendCommit(cctx, t, lean)
				if err == nil {
					metricCommitDelivery.WithLabelValues("stream").Inc()
				}
				if err == nil || cctx.Err() != nil {
					acks <- err
					return
				}
				// Not received over the stream in time (or a member
				// that predates lean commits): send it in the call.
				c.Logger.Debug("commit without change set not confirmed; sending it", "peer", t.ID, "err", err)
			}
			metricCommitDelivery.WithLabelValues("call").Inc()
			acks <- c.sendCommit(cctx, t, creq)
		}()
	}
	got, pending := 1, len(live)
	var last error
wait:
	for got < needed && got+pending >= needed {
		select {
		case err := <-acks:
			pending--
			if err == nil {
				got++
			} else {
				last = err
			}
		case <-cctx.Done():
			last = cctx.Err()
			break wait
		}
	}
	go func() {
		for ; pending > 0; pending-- {
			<-acks
		}
		cancel()
	}()
	if got >= needed {
		return nil
	}
	reason := "timed out"
	if last != nil {
		reason = shortErr(last)
	}
	return &InDoubtError{Level: d.level, Got: got, Need: needed, Origin: d.cs.Origin, Seq: d.cs.Seq, LastReason: reason}
}

// sendCommit delivers a decided change set to one member, retrying a call
// that did not reach it (MaxRetries, RetryBackoff apart) while ctx lasts.
// A member that answered with an error is not asked again.
func (c *Coordinator) sendCommit(ctx context.Context, t Target, req *marmotv1.CommitRequest) error {
	for attempt := 0; ; attempt++ {
		_, err := c.client(t.Addr).Commit(ctx, connect.NewRequest(req))
		if err == nil {
			return nil
		}
		if attempt >= c.MaxRetries || connect.CodeOf(err) != connect.CodeUnavailable {
			return fmt.Errorf("node %d: %s", t.ID, shortErr(err))
		}
		select {
		case <-time.After(c.RetryBackoff):
		case <-ctx.Done():
			return fmt.Errorf("node %d: %s", t.ID, shortErr(err))
		}
	}
}

// abort releases the transaction's intents here and on the members.
func (d *distCommit) abort(live []Target) {
	c := d.c
	c.Log.Release(d.cs.Id)
	req := &marmotv1.AbortRequest{TxnId: d.cs.Id}
	for _, t := range live {
		go func() {
			timeout := c.AbortTimeout
			if timeout <= 0 {
				timeout = c.PrepareTimeout
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			if _, err := c.client(t.Addr).Abort(ctx, connect.NewRequest(req)); err != nil {
				c.Logger.Debug("abort not delivered; the intent expires", "peer", t.ID, "err", err)
			}
		}()
	}
}

func (c *Coordinator) client(addr string) marmotv1connect.PeerServiceClient {
	c.once.Do(func() {
		c.hc = &http.Client{Transport: signingTransport{secret: []byte(c.Secret), node: c.Log.Node(), next: peerTransport()}}
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.clients[addr]; ok {
		return cl
	}
	if c.clients == nil {
		c.clients = map[string]marmotv1connect.PeerServiceClient{}
	}
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	cl := newExchangeClient(marmotv1connect.NewPeerServiceClient(c.hc, url, peerClientOptions()))
	c.clients[addr] = cl
	return cl
}

func shortErr(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce.Code().String() + ": " + ce.Message()
	}
	return err.Error()
}
