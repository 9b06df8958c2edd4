package antientropy

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Peer is a node to compare with.
type Peer struct {
	ID   uint64 // 0 if not known yet (a seed address)
	Addr string
}

// PeerLag is what the last comparison with a peer found.
type PeerLag struct {
	Peer
	Missing  uint64
	Lag      time.Duration
	Gap      bool
	Durable  txlog.Watermark
	LastSync time.Time
	Err      string
}

// Syncer compares this node's log with its peers' and repairs the lag:
// small lags by delta sync (the change sets stream in over the peer Pull
// streams, which it restarts if they stall), large ones or ones behind a
// peer's GC floor by a snapshot.
type Syncer struct {
	Log      *txlog.Log
	Views    Views
	DataDir  string
	Interval time.Duration
	// Thresholds: lags at or beyond either one are repaired by snapshot.
	MaxDeltaTxns uint64
	MaxDeltaAge  time.Duration
	// Peers lists the members to compare with (alive ones, not this node).
	Peers  func() []Peer
	Client func(addr string) marmotv1connect.PeerServiceClient
	// Resync restarts the delta streams (the Puller), so change sets a
	// stream did not deliver are sent again from the current watermark.
	Resync func()
	Logger *slog.Logger

	installing atomic.Bool
	transfer   atomic.Pointer[Transfer]
	nudge      chan struct{}
	once       sync.Once

	mu   sync.Mutex
	lags map[string]*PeerLag // by addr
	// stalled remembers the watermark of the previous run, to see whether
	// delta sync is making progress.
	prevMissing map[string]uint64
}

// Transfer is the progress of a snapshot being received.
type Transfer struct {
	ID, Source  string
	Done, Total uint64
}

// Receiving returns the snapshot being received, if any.
func (s *Syncer) Receiving() (Transfer, bool) {
	if t := s.transfer.Load(); t != nil {
		return *t, true
	}
	return Transfer{}, false
}

// Installing reports whether a snapshot is being installed: the Pull
// streams hold back meanwhile.
func (s *Syncer) Installing() bool { return s.installing.Load() }

// Nudge asks for a comparison now (a peer said it trimmed what we lack).
func (s *Syncer) Nudge() {
	s.init()
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

func (s *Syncer) init() {
	s.once.Do(func() {
		s.nudge = make(chan struct{}, 1)
		s.lags = map[string]*PeerLag{}
		s.prevMissing = map[string]uint64{}
	})
}

// Lags returns what the last comparisons found, by peer.
func (s *Syncer) Lags() []PeerLag {
	s.init()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PeerLag, 0, len(s.lags))
	for _, l := range s.lags {
		out = append(out, *l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out
}

// Run compares with peers every Interval (and when nudged) until ctx ends.
func (s *Syncer) Run(ctx context.Context) {
	s.init()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.nudge:
		}
		s.Check(ctx, false)
	}
}

// Check compares with every peer once and repairs what it finds. At start-up
// (first = true) a node with an empty log takes a snapshot from any peer
// that has data: a new node joins with a full copy instead of replaying the
// cluster's whole history.
func (s *Syncer) Check(ctx context.Context, first bool) (kind string, err error) {
	s.init()
	metricRuns.Inc()
	mine := s.Log.Durable()
	empty := true
	for _, seq := range mine {
		empty = empty && seq == 0
	}
	var best *PeerLag
	for _, p := range s.Peers() {
		lag := s.compare(ctx, p, mine)
		if lag.Err == "" && (best == nil || lag.Missing > best.Missing) {
			best = lag
		}
	}
	if best == nil || best.Missing == 0 {
		return "", nil
	}
	needSnapshot := best.Gap || (s.MaxDeltaTxns > 0 && best.Missing >= s.MaxDeltaTxns) ||
		(s.MaxDeltaAge > 0 && best.Lag >= s.MaxDeltaAge) || (first && empty)
	if needSnapshot {
		why := "lag beyond the delta sync thresholds"
		switch {
		case best.Gap:
			why = "the peer already trimmed change sets this node lacks"
		case first && empty:
			why = "new node"
		}
		s.Logger.Info("anti-entropy: snapshot sync", "peer", best.Addr, "missing", best.Missing, "lag", best.Lag.Round(time.Second), "why", why)
		if err := s.SnapshotFrom(ctx, best.Addr, best.Durable); err != nil {
			metricSyncs.WithLabelValues("snapshot", "error").Inc()
			s.Logger.Error("anti-entropy: snapshot sync failed", "peer", best.Addr, "err", err)
			return "snapshot", err
		}
		metricSyncs.WithLabelValues("snapshot", "ok").Inc()
		return "snapshot", nil
	}
	s.mu.Lock()
	prev, seen := s.prevMissing[best.Addr]
	s.prevMissing[best.Addr] = best.Missing
	s.mu.Unlock()
	s.Logger.Info("anti-entropy: delta sync", "peer", best.Addr, "missing", best.Missing, "lag", best.Lag.Round(time.Millisecond))
	metricSyncs.WithLabelValues("delta", "ok").Inc()
	if seen && best.Missing >= prev && s.Resync != nil {
		// No progress since the last run: the streams may have skipped
		// something (a relay gap); restart them from the watermark.
		s.Resync()
	}
	return "delta", nil
}

func (s *Syncer) compare(ctx context.Context, p Peer, mine txlog.Watermark) *PeerLag {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	resp, err := s.Client(p.Addr).SyncStatus(cctx, connect.NewRequest(&marmotv1.SyncStatusRequest{Watermark: mine, NodeId: s.Log.Node()}))
	lag := &PeerLag{Peer: p, LastSync: time.Now()}
	if err != nil {
		lag.Err = err.Error()
		s.mu.Lock()
		if prev := s.lags[p.Addr]; prev != nil {
			// What the peer last told us still bounds GC.
			lag.ID, lag.Durable, lag.LastSync = prev.ID, prev.Durable, prev.LastSync
		}
		s.mu.Unlock()
	} else {
		r := resp.Msg
		lag.ID, lag.Missing, lag.Gap, lag.Durable = r.NodeId, r.Missing, r.Gap, r.Durable
		if r.OldestMissingUnixMs > 0 {
			lag.Lag = time.Since(time.UnixMilli(r.OldestMissingUnixMs))
		}
		label := strconv.FormatUint(lag.ID, 10)
		metricPeerLag.WithLabelValues(label).Set(float64(lag.Missing))
		metricPeerLagSeconds.WithLabelValues(label).Set(lag.Lag.Seconds())
	}
	s.mu.Lock()
	s.lags[p.Addr] = lag
	s.mu.Unlock()
	return lag
}

// SnapshotFrom receives a snapshot from addr (at least as new as atLeast) and installs it, retrying a
// broken transfer (it resumes where it stopped) for up to a few minutes.
func (s *Syncer) SnapshotFrom(ctx context.Context, addr string, atLeast txlog.Watermark) error {
	client := s.Client(addr)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	resp, err := client.PrepareSnapshot(pctx, connect.NewRequest(&marmotv1.PrepareSnapshotRequest{NodeId: s.Log.Node(), ResumeId: Unfinished(s.DataDir), AtLeast: atLeast}))
	if err != nil {
		return fmt.Errorf("prepare snapshot on %s: %w", addr, err)
	}
	m := resp.Msg
	start := time.Now()
	var lastLog time.Time
	progress := func(done, total uint64) {
		s.transfer.Store(&Transfer{ID: m.Id, Source: addr, Done: done, Total: total})
		metricSnapshotProgress.WithLabelValues("done").Set(float64(done))
		metricSnapshotProgress.WithLabelValues("total").Set(float64(total))
		if time.Since(lastLog) > 2*time.Second || done == total {
			lastLog = time.Now()
			s.Logger.Info("snapshot transfer", "snapshot", m.Id, "from", addr, "bytes_done", done, "bytes_total", total)
		}
	}
	defer func() {
		s.transfer.Store(nil)
		metricSnapshotProgress.WithLabelValues("done").Set(0)
		metricSnapshotProgress.WithLabelValues("total").Set(0)
	}()
	var dir string
	backoff := 200 * time.Millisecond
	for {
		dir, err = Download(pctx, client, s.DataDir, m, progress, s.Logger)
		if err == nil {
			break
		}
		if connect.CodeOf(err) == connect.CodeNotFound || pctx.Err() != nil {
			return fmt.Errorf("snapshot %s from %s: %w", m.Id, addr, err)
		}
		s.Logger.Warn("snapshot transfer broken; resuming", "snapshot", m.Id, "from", addr, "err", err, "retry_in", backoff)
		if !sleepCtx(pctx, backoff) {
			return pctx.Err()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	s.installing.Store(true)
	defer s.installing.Store(false)
	if err := Install(ctx, dir, s.Log, s.Views); err != nil {
		return fmt.Errorf("install snapshot %s: %w", m.Id, err)
	}
	var size uint64
	for _, f := range m.Files {
		size += f.Size
	}
	took := time.Since(start)
	s.Logger.Info("snapshot installed", "snapshot", m.Id, "from", addr, "bytes", size, "took", took.Round(time.Millisecond),
		"mb_per_s", fmt.Sprintf("%.1f", float64(size)/1e6/max(took.Seconds(), 1e-3)), "watermark", m.Watermark)
	return nil
}

// StartupCheck runs the first comparison before the node starts streaming,
// retrying for up to wait while no peer answers (they may be starting
// too). Without an answer the node proceeds: its Pull streams catch up
// when peers appear, and the periodic check takes a snapshot if the lag
// turns out to be large.
func (s *Syncer) StartupCheck(ctx context.Context, wait time.Duration) {
	s.init()
	deadline := time.Now().Add(wait)
	for {
		_, err := s.Check(ctx, true)
		reached := false
		for _, l := range s.Lags() {
			reached = reached || l.Err == ""
		}
		if (reached && err == nil) || time.Now().After(deadline) || ctx.Err() != nil {
			return
		}
		if !sleepCtx(ctx, 500*time.Millisecond) {
			return
		}
	}
}

// SnapshotsDir is where a node keeps the snapshots it serves.
func SnapshotsDir(dataDir string) string { return filepath.Join(dataDir, "snapshots") }
