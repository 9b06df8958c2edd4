package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Follower keeps a read-only replica's log up to date from a cluster it is
// not a member of: one Pull stream from one cluster node at a time (the
// source), which relays every origin to a replica. It learns the members
// from the source (or a seed) every Discovery, and when the source's
// stream ends it fails over to the next member that answers, so a replica
// survives the loss of any node it follows as long as one is left.
//
// A replica has no gossip, no votes and no coordinator; it never
// originates change sets. Its calls are signed with the replica secret,
// which cluster nodes accept for reading only (RequireAuthOrReplica).
type Follower struct {
	Log *txlog.Log
	// Secret is replica.secret; cluster nodes must be configured with it.
	Secret string
	// Seeds are replica.follow_addresses: where discovery starts, and the
	// candidates of last resort if every discovered member is gone.
	Seeds []string
	// Discovery is how often the member list is refreshed.
	Discovery time.Duration
	// FailoverTimeout: after this long without any node answering, the
	// replica reports (once per outage) that it is cut off; it keeps trying.
	FailoverTimeout time.Duration
	// Reconnect is the pause after a round in which no candidate answered.
	Reconnect time.Duration
	Logger    *slog.Logger
	// OnTrimmed, if set, learns that the source no longer holds change sets
	// this replica lacks: only a snapshot helps (anti-entropy).
	OnTrimmed func(addr string)
	// Paused, if set and true, holds the stream back (a snapshot is being
	// installed). Called from the follower's goroutine.
	Paused func() bool

	mu      sync.Mutex
	hc      *http.Client
	source  string
	members []string // discovered, alive or suspect
	cancel  context.CancelFunc
	healthy bool
}

// errNoSource: no candidate answered a round.
var errNoSource = errors.New("peer: no cluster node answered the replica")

func (f *Follower) client() *http.Client {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hc == nil {
		f.hc = &http.Client{Transport: signingTransport{secret: []byte(f.Secret), node: f.Log.Node(), next: peerTransport()}}
	}
	return f.hc
}

// Source is the cluster node the replica streams from now ("" while it
// looks for one).
func (f *Follower) Source() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.source
}

// Healthy reports whether the replica has a source, or lost it less than
// FailoverTimeout ago.
func (f *Follower) Healthy() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthy
}

// Candidates are the nodes the replica may follow, discovered members
// first, then the seeds not among them.
func (f *Follower) Candidates() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.members)
	for _, s := range f.Seeds {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Resync restarts the stream from the log's current watermark (same
// source), so whatever it did not deliver is sent again.
func (f *Follower) Resync() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cancel != nil {
		f.cancel()
	}
}

// Run follows the cluster until ctx ends.
func (f *Follower) Run(ctx context.Context) error {
	if err := checkSecret(f.Secret); err != nil {
		return err
	}
	f.mu.Lock()
	f.healthy = true
	f.mu.Unlock()
	go f.discoverLoop(ctx)
	pl := &Puller{Log: f.Log, Logger: f.Logger, Paused: f.Paused}
	var avoid string   // the source whose stream just failed: tried last
	var lost time.Time // when the replica last had no source; zero while it has one
	reported := false
	for ctx.Err() == nil {
		if f.Paused != nil && f.Paused() {
			if !sleepCtx(ctx, 200*time.Millisecond) {
				return nil
			}
			continue
		}
		addr, node, err := f.pick(ctx, avoid)
		if err != nil {
			if lost.IsZero() {
				lost = time.Now()
			}
			if time.Since(lost) >= f.FailoverTimeout && !reported {
				reported = true
				f.setHealthy(false)
				f.Logger.Error("replica: no cluster node reachable within replica.failover_timeout_seconds; still trying",
					"candidates", f.Candidates(), "for", time.Since(lost).Round(time.Second), "err", err)
			} else {
				f.Logger.Warn("replica: no cluster node answered; retrying", "candidates", f.Candidates(), "err", err, "retry_in", f.Reconnect)
			}
			avoid = ""
			if !sleepCtx(ctx, f.Reconnect) {
				return nil
			}
			continue
		}
		if f.Source() != addr {
			f.Logger.Info("replica following source", "source", addr, "source_node", node)
		}
		lost, reported = time.Time{}, false
		f.setSource(addr)
		f.setHealthy(true)

		sctx, cancel := context.WithCancel(ctx)
		f.mu.Lock()
		f.cancel = cancel
		f.mu.Unlock()
		n, err := pl.pullOnce(sctx, marmotv1connect.NewPeerServiceClient(f.client(), baseURL(addr), peerClientOptions()))
		resynced := sctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case resynced, errors.Is(err, txlog.ErrGap), err == nil && f.Paused != nil && f.Paused():
			avoid = "" // same source again, from the log's watermark
			continue
		case errors.Is(err, txlog.ErrTrimmed):
			f.Logger.Warn("replica: source no longer holds what this replica lacks; asking for a snapshot", "source", addr)
			if f.OnTrimmed != nil {
				f.OnTrimmed(addr)
			}
			if !sleepCtx(ctx, f.Reconnect) {
				return nil
			}
			avoid = ""
			continue
		}
		f.Logger.Warn("replica: source stream ended; failing over", "source", addr, "received", n, "err", err)
		f.setSource("")
		avoid = addr
	}
	return nil
}

func (f *Follower) setSource(addr string) {
	f.mu.Lock()
	f.source = addr
	f.mu.Unlock()
}

func (f *Follower) setHealthy(ok bool) {
	f.mu.Lock()
	f.healthy = ok
	f.mu.Unlock()
}

// pick returns the first candidate that answers SyncStatus (which also
// proves the replica secret), trying avoid last.
func (f *Follower) pick(ctx context.Context, avoid string) (addr string, node uint64, err error) {
	cands := f.Candidates()
	if i := slices.Index(cands, avoid); i >= 0 {
		cands = append(slices.Delete(cands, i, i+1), avoid)
	}
	if cur := f.Source(); cur != "" && cur != avoid {
		if i := slices.Index(cands, cur); i > 0 {
			cands = append([]string{cur}, slices.Delete(cands, i, i+1)...)
		}
	}
	errs := []error{errNoSource}
	for _, c := range cands {
		node, err := f.probe(ctx, c)
		if err == nil {
			return c, node, nil
		}
		if connect.CodeOf(err) == connect.CodeUnauthenticated || connect.CodeOf(err) == connect.CodePermissionDenied {
			f.Logger.Error("replica: cluster node refused the replica's credentials; set the same replica.secret on the cluster nodes and the replica",
				"peer", c, "err", err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", c, err))
	}
	return "", 0, errors.Join(errs...)
}

func (f *Follower) probe(ctx context.Context, addr string) (uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c := marmotv1connect.NewPeerServiceClient(f.client(), baseURL(addr), peerClientOptions())
	resp, err := c.SyncStatus(cctx, connect.NewRequest(&marmotv1.SyncStatusRequest{Watermark: f.Log.Durable(), NodeId: f.Log.Node()}))
	if err != nil {
		return 0, err
	}
	if resp.Msg.NodeId == f.Log.Node() {
		return 0, fmt.Errorf("node id clash: %s has node id %d like this replica; give the replica a distinct node_id", addr, resp.Msg.NodeId)
	}
	return resp.Msg.NodeId, nil
}

// discoverLoop refreshes the member list now and every Discovery.
func (f *Follower) discoverLoop(ctx context.Context) {
	t := time.NewTicker(f.Discovery)
	defer t.Stop()
	for {
		f.discover(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// discover asks the source (else each candidate in turn) for the members.
// Members seen alive or suspect become candidates; dead and left ones drop
// out (the seeds stay as a last resort).
func (f *Follower) discover(ctx context.Context) {
	cands := f.Candidates()
	if cur := f.Source(); cur != "" {
		cands = append([]string{cur}, cands...)
	}
	for _, c := range cands {
		ms, err := FetchReplicaMembers(ctx, f.client(), c)
		if err != nil {
			f.Logger.Debug("replica: member list unavailable", "peer", c, "err", err)
			continue
		}
		var live []string
		for _, m := range ms.Members {
			if m.State == MemberAlive.String() || m.State == MemberSuspect.String() {
				live = append(live, m.Addr)
			}
		}
		slices.Sort(live)
		f.mu.Lock()
		changed := !slices.Equal(live, f.members)
		f.members = live
		f.mu.Unlock()
		if changed {
			f.Logger.Info("replica: cluster members discovered", "from", c, "members", live)
		}
		return
	}
}

// FetchReplicaMembers asks the cluster node at addr for its member list;
// hc must sign requests (with the replica or the cluster secret).
func FetchReplicaMembers(ctx context.Context, hc *http.Client, addr string) (ReplicaMembers, error) {
	var out ReplicaMembers
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, baseURL(addr)+ReplicaMembersPath, nil)
	if err != nil {
		return out, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var b [256]byte
		n, _ := resp.Body.Read(b[:])
		return out, fmt.Errorf("member list from %s: HTTP %d: %s", addr, resp.StatusCode, b[:n])
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
