package peer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Service answers the PeerService calls of other nodes from the local log:
// Pull streams, and the participant side of the distributed commit.
type Service struct {
	Log    *txlog.Log
	Logger *slog.Logger
	// OnCaller, if set, learns the cluster address of every authenticated
	// caller (host as seen on the connection, port as the caller states);
	// the node pulls from it in turn. Called from request goroutines.
	OnCaller func(addr string)
	// HoldOwn, if set and true, keeps this node's own change sets off the
	// Pull streams (test faults only; see Faults.HoldOwn).
	HoldOwn func() bool
	// CommitWait bounds how long Commit waits for earlier change sets of
	// the same origin (they arrive on the Pull stream).
	CommitWait time.Duration
	// Relay, if set, says whether a stream forwards another origin's new
	// change sets after its catch-up: only when the caller cannot get them
	// from the origin itself (it is not alive). Every node pulls from every
	// live member, so forwarding everything would deliver each change set
	// once per member. Nil forwards everything.
	Relay func(origin uint64) bool
	// Snapshots serves PrepareSnapshot and FetchSnapshot; nil refuses them.
	Snapshots SnapshotSource
	// ReplicaSecret, if set, also admits read-only replicas that sign
	// with it (see RequireAuthOrReplica); their Pull streams relay every
	// origin, since a replica follows one node, not every member.
	ReplicaSecret string

	mu      sync.Mutex
	pulling map[uint64]int // callers' node ids -> their open Pull streams
}

// Streaming reports whether node follows this node's log over a Pull
// stream right now: a Commit to it need not carry the change set.
func (s *Service) Streaming(node uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pulling[node] > 0
}

func (s *Service) trackPull(node uint64) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pulling == nil {
		s.pulling = map[uint64]int{}
	}
	s.pulling[node]++
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.pulling[node]--; s.pulling[node] <= 0 {
			delete(s.pulling, node)
		}
	}
}

// SnapshotSource makes and serves snapshots (antientropy implements it).
type SnapshotSource interface {
	// Prepare returns the snapshot req resumes if it is still usable, else
	// a fresh one (or a very recent one covering req.AtLeast).
	Prepare(ctx context.Context, req *marmotv1.PrepareSnapshotRequest) (*marmotv1.SnapshotManifest, error)
	// Fetch sends file name of snapshot id from offset, in chunks.
	Fetch(ctx context.Context, id, name string, offset uint64, send func(*marmotv1.SnapshotChunk) error) error
}

// SyncStatus tells a caller how far behind this node it is.
func (s *Service) SyncStatus(ctx context.Context, req *connect.Request[marmotv1.SyncStatusRequest]) (*connect.Response[marmotv1.SyncStatusResponse], error) {
	mine := s.Log.Durable()
	floors := s.Log.Floors()
	out := &marmotv1.SyncStatusResponse{NodeId: s.Log.Node(), Durable: mine, Floors: floors}
	for o, seq := range mine {
		have := req.Msg.Watermark[o]
		if seq <= have {
			continue
		}
		out.Missing += seq - have
		if have < floors[o] {
			out.Gap = true
			continue
		}
		if t, ok := s.Log.EntryTime(o, have+1); ok && (out.OldestMissingUnixMs == 0 || t.UnixMilli() < out.OldestMissingUnixMs) {
			out.OldestMissingUnixMs = t.UnixMilli()
		}
	}
	return connect.NewResponse(out), nil
}

// PrepareSnapshot makes (or reuses) a snapshot for the caller.
func (s *Service) PrepareSnapshot(ctx context.Context, req *connect.Request[marmotv1.PrepareSnapshotRequest]) (*connect.Response[marmotv1.SnapshotManifest], error) {
	if s.Snapshots == nil {
		return nil, connect.NewError(connect.CodeUnimplemented, errors.New("this node does not serve snapshots"))
	}
	m, err := s.Snapshots.Prepare(ctx, req.Msg)
	if err != nil {
		s.Logger.Error("snapshot for peer failed", "peer", req.Msg.NodeId, "err", err)
		return nil, connect.NewError(connect.CodeInternal, err)
	}
	s.Logger.Info("snapshot prepared for peer", "peer", req.Msg.NodeId, "snapshot", m.Id, "files", len(m.Files))
	return connect.NewResponse(m), nil
}

// FetchSnapshot streams one snapshot file from the requested offset.
func (s *Service) FetchSnapshot(ctx context.Context, req *connect.Request[marmotv1.FetchSnapshotRequest], out *connect.ServerStream[marmotv1.SnapshotChunk]) error {
	if s.Snapshots == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("this node does not serve snapshots"))
	}
	err := s.Snapshots.Fetch(ctx, req.Msg.Id, req.Msg.Name, req.Msg.Offset, out.Send)
	if errors.Is(err, ErrNoSnapshot) {
		return connect.NewError(connect.CodeNotFound, err)
	}
	return err
}

// ErrNoSnapshot: the snapshot or file asked for is not (or no longer) kept.
var ErrNoSnapshot = errors.New("peer: no such snapshot")

// Handler returns the authenticated HTTP handler and its mount path.
func (s *Service) Handler(secret string) (string, http.Handler, error) {
	if err := checkSecret(secret); err != nil {
		return "", nil, err
	}
	path, h := marmotv1connect.NewPeerServiceHandler(s, peerHandlerOptions())
	return path, RequireAuthOrReplica(secret, s.ReplicaSecret, h), nil
}

// Pull sends every durable change set beyond the caller's watermark, origin
// by origin in sequence order (so the receiver never sees a gap), then
// follows the log until the caller goes away.
func (s *Service) Pull(ctx context.Context, req *connect.Request[marmotv1.PullRequest], out *connect.ServerStream[marmotv1.PullResponse]) error {
	if req.Msg.NodeId == s.Log.Node() {
		// Two nodes with one id would mix their sequences: refuse loudly.
		err := fmt.Errorf("node id clash: the caller at %s also has node id %d; give every node a distinct node_id (low 10 bits distinct for compact auto ids)", req.Peer().Addr, req.Msg.NodeId)
		s.Logger.Error("refused peer", "err", err)
		return connect.NewError(connect.CodeFailedPrecondition, err)
	}
	if s.OnCaller != nil && req.Msg.Port != 0 {
		if host, _, err := net.SplitHostPort(req.Peer().Addr); err == nil {
			s.OnCaller(net.JoinHostPort(host, strconv.Itoa(int(req.Msg.Port))))
		}
	}
	defer s.trackPull(req.Msg.NodeId)()
	wm := txlog.Watermark{}
	for o, seq := range req.Msg.Watermark {
		wm[o] = seq
	}
	self := s.Log.Node()
	// A replica, or a caller that says it follows this node alone (an
	// operator's log tail), pulls from no other member: relay everything.
	relayAll := isReplicaCaller(ctx) || req.Msg.RelayAll
	for caughtUp := false; ; caughtUp = true {
		changed := s.Log.Changed()
		for origin, upto := range s.Log.Durable() {
			if upto <= wm[origin] {
				continue
			}
			if caughtUp && origin == req.Msg.NodeId {
				// The caller's own change sets: it wrote them, so after
				// the catch-up (which returns a tail the caller lost, as
				// after a restore) sending them back as this log ingests
				// them only echoed every change set to its origin.
				continue
			}
			if caughtUp && !relayAll && origin != self && s.Relay != nil && !s.Relay(origin) {
				continue
			}
			if origin == self && s.HoldOwn != nil && s.HoldOwn() {
				continue
			}
			err := s.Log.ScanOriginRaw(origin, wm[origin], func(seq uint64, data []byte) error {
				if err := out.Send(&marmotv1.PullResponse{Origin: origin, Seq: seq, ChangeSet: data}); err != nil {
					return err
				}
				wm[origin] = seq
				return nil
			})
			if errors.Is(err, txlog.ErrTrimmed) {
				// The caller is behind what this log keeps: it needs a
				// snapshot (anti-entropy), not a stream with a hole.
				return connect.NewError(connect.CodeFailedPrecondition, err)
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil
		}
	}
}

// Puller keeps this node's log up to date with each peer's: one Pull stream
// per peer, reconnecting with backoff. What arrives is ingested into the
// local log (idempotent, gap-checked, LWW versions) and the materializer
// applies it like any other change set. Peers are the seeds plus every node
// that pulls from this one (AddPeer). Safe for concurrent use.
type Puller struct {
	Log    *txlog.Log
	Secret string
	// Port is this node's cluster port, sent so peers pull from us too.
	Port   uint32
	Logger *slog.Logger
	// Refresh, if set, restarts each stream that often: the new stream's
	// catch-up sends whatever this node lacks from any origin, including
	// what a peer did not relay while it believed the origin reachable.
	Refresh time.Duration
	// OnTrimmed, if set, learns that addr no longer holds change sets this
	// node lacks (they were garbage-collected): only a snapshot helps.
	OnTrimmed func(addr string)
	// Paused, if set and true, holds every stream back (a snapshot is
	// being installed).
	Paused func() bool

	mu      sync.Mutex
	ctx     context.Context
	hc      *http.Client
	peers   map[string]bool
	streams map[*context.CancelFunc]bool // the live streams, for Resync
}

// Resync restarts every stream: each new one starts from the log's
// current watermark, so whatever a stream skipped is sent again.
func (p *Puller) Resync() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.streams {
		(*c)()
	}
}

func (p *Puller) track(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	if p.streams == nil {
		p.streams = map[*context.CancelFunc]bool{}
	}
	p.streams[&cancel] = true
	p.mu.Unlock()
	return ctx, func() {
		p.mu.Lock()
		delete(p.streams, &cancel)
		p.mu.Unlock()
		cancel()
	}
}

// Start begins pulling from the seeds, and from every peer added later,
// until ctx ends. It does not block.
func (p *Puller) Start(ctx context.Context, seeds []string) error {
	if err := checkSecret(p.Secret); err != nil {
		return err
	}
	p.mu.Lock()
	p.ctx = ctx
	p.hc = &http.Client{Transport: signingTransport{secret: []byte(p.Secret), node: p.Log.Node(), next: peerTransport()}}
	p.mu.Unlock()
	for _, s := range seeds {
		p.AddPeer(s)
	}
	return nil
}

// AddPeer starts following addr (host:port) unless already following it.
func (p *Puller) AddPeer(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ctx == nil || p.peers[addr] {
		return
	}
	if p.peers == nil {
		p.peers = map[string]bool{}
	}
	p.peers[addr] = true
	p.Logger.Info("following peer", "peer", addr)
	go p.follow(p.ctx, p.hc, addr)
}

func (p *Puller) follow(ctx context.Context, hc *http.Client, addr string) {
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	client := marmotv1connect.NewPeerServiceClient(hc, url, peerClientOptions())
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if p.Paused != nil && p.Paused() {
			select {
			case <-time.After(200 * time.Millisecond):
				continue
			case <-ctx.Done():
				return
			}
		}
		sctx, cancel := p.track(ctx)
		if p.Refresh > 0 {
			var stop context.CancelFunc
			untrack := cancel
			sctx, stop = context.WithTimeout(sctx, p.Refresh)
			cancel = func() { stop(); untrack() }
		}
		start := time.Now()
		n, err := p.pullOnce(sctx, client)
		// The peer ends a stream cleanly only when its context ends, and
		// Connect hands it this side's deadline: at a refresh its end
		// often comes first, by the network's delay.
		refreshed := sctx.Err() != nil || (err == nil && p.Refresh > 0 && time.Since(start) >= p.Refresh-time.Second)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if refreshed {
			continue
		}
		if errors.Is(err, txlog.ErrGap) {
			// Another stream is behind this one for some origin (each
			// origin arrives directly and relayed): restart at once from
			// what the log now holds; the stream resends from there.
			p.Logger.Debug("peer stream ahead of the log; restarting", "peer", addr, "err", err)
			continue
		}
		if n > 0 {
			backoff = 100 * time.Millisecond
		}
		if errors.Is(err, txlog.ErrTrimmed) && p.OnTrimmed != nil {
			p.OnTrimmed(addr)
		}
		p.Logger.Warn("peer stream ended; reconnecting", "peer", addr, "received", n, "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (p *Puller) pullOnce(ctx context.Context, client marmotv1connect.PeerServiceClient) (int, error) {
	stream, err := client.Pull(ctx, connect.NewRequest(&marmotv1.PullRequest{Watermark: p.Log.Durable(), NodeId: p.Log.Node(), Port: p.Port}))
	if err != nil {
		return 0, err
	}
	defer stream.Close()
	n := 0
	for stream.Receive() {
		if p.Paused != nil && p.Paused() {
			return n, nil
		}
		msg := stream.Msg()
		if len(msg.ChangeSet) == 0 {
			continue
		}
		if msg.Origin != 0 && p.Log.Has(msg.Origin, msg.Seq) {
			// Already here (it came directly, or relayed by another peer).
			// Ingest would wait for it to be durable; that is not this
			// stream's business.
			n++
			continue
		}
		cs, err := txlog.DecodeChangeSet(msg.ChangeSet)
		if err != nil {
			return n, fmt.Errorf("peer sent an undecodable change set %d/%d: %w", msg.Origin, msg.Seq, err)
		}
		// Queued without waiting for each fsync: the group commit writes
		// a catch-up's change sets many at a time. Waiting on every
		// 256th bounds the queue; an append failure fails the log, so the
		// next ingest reports it.
		a, err := p.Log.IngestQueuedRaw(cs, msg.ChangeSet)
		if err == nil && a != nil && n%256 == 255 {
			err = a.Wait(ctx)
		}
		if err != nil {
			if errors.Is(err, txlog.ErrGap) {
				// Another peer's stream got ahead of this one; restart from
				// what the log now holds.
				return n, err
			}
			return n, fmt.Errorf("ingest %d/%d: %w", cs.Origin, cs.Seq, err)
		}
		n++
	}
	err = stream.Err()
	if connect.CodeOf(err) == connect.CodeFailedPrecondition && strings.Contains(err.Error(), "trimmed") {
		err = fmt.Errorf("%w: %v", txlog.ErrTrimmed, err)
	}
	return n, err
}
