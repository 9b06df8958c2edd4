package main

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/marmotdb/marmot/antientropy"
	"github.com/marmotdb/marmot/internal/config"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/peer"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// startAntiEntropy wires the syncer and log GC. The first comparison runs
// before the Pull streams start, so a node far behind (or new) takes a
// snapshot instead of replaying the whole backlog. It returns nil when
// anti-entropy is off; GC runs either way, bounded by what peers are known
// to hold.
func startAntiEntropy(ctx context.Context, cfg config.Config, l *txlog.Log, mat *materializer.Materializer,
	members *peer.Membership, pl *peer.Puller, admin *peer.AdminService, logger *slog.Logger) *antientropy.Syncer {
	secret := cfg.Cluster.ClusterSecret
	rc := cfg.Replication
	sy := &antientropy.Syncer{Log: l, Views: mat, DataDir: cfg.DataDir, Interval: rc.AntiEntropyInterval(),
		MaxDeltaTxns: uint64(rc.DeltaSyncThresholdTransactions), MaxDeltaAge: rc.DeltaSyncThreshold(),
		Client: func(addr string) marmotv1connect.PeerServiceClient { return peer.NewClient(secret, l.Node(), addr) },
		Resync: pl.Resync, Logger: logger,
		Peers: func() []antientropy.Peer {
			var out []antientropy.Peer
			for _, m := range members.Members() {
				if !m.Self && (m.State == peer.MemberAlive || m.State == peer.MemberSuspect) {
					out = append(out, antientropy.Peer{ID: m.ID, Addr: m.Addr})
				}
			}
			if len(out) == 0 {
				for _, s := range cfg.Cluster.SeedNodes {
					out = append(out, antientropy.Peer{Addr: s})
				}
			}
			return out
		}}
	gc := &antientropy.GC{Log: l, MinRetention: rc.GCMinRetention(), MaxRetention: rc.GCMaxRetention(), Logger: logger,
		Removed: members.Removed,
		Applied: func() txlog.Watermark {
			w, err := mat.AppliedFloor()
			if err != nil {
				logger.Warn("log GC: cannot read the views' progress", "err", err)
				return txlog.Watermark{}
			}
			return w
		},
		Members: func() ([]txlog.Watermark, bool) {
			lags := sy.Lags()
			var marks []txlog.Watermark
			for _, m := range members.Members() {
				if m.Self || slices.Contains(members.Removed(), m.ID) {
					continue
				}
				i := slices.IndexFunc(lags, func(pl antientropy.PeerLag) bool { return pl.ID == m.ID && pl.Durable != nil })
				if i < 0 {
					return nil, false
				}
				marks = append(marks, lags[i].Durable)
			}
			return marks, true
		}}
	go gc.Run(ctx, min(rc.AntiEntropyInterval(), time.Minute))
	admin.Replication = replicationStatus{sy: sy, gc: gc, log: l}
	if !rc.EnableAntiEntropy {
		logger.Info("anti-entropy disabled (replication.enable_anti_entropy = false)")
		return nil
	}
	pl.OnTrimmed = func(string) { sy.Nudge() }
	pl.Paused = sy.Installing
	sy.StartupCheck(ctx, time.Second)
	return sy
}

// replicationStatus answers the admin Status call from what the syncer and
// GC last saw.
type replicationStatus struct {
	sy  *antientropy.Syncer
	gc  *antientropy.GC
	log *txlog.Log
}

func (r replicationStatus) PeerLag() []peer.PeerLag {
	var out []peer.PeerLag
	for _, l := range r.sy.Lags() {
		out = append(out, peer.PeerLag{PeerID: l.ID, Addr: l.Addr, LagTransactions: l.Missing, Lag: l.Lag, LastSync: l.LastSync})
	}
	return out
}

func (r replicationStatus) Snapshot() (peer.SnapshotTransfer, bool) {
	t, ok := r.sy.Receiving()
	return peer.SnapshotTransfer{ID: t.ID, Source: t.Source, Done: t.Done, Total: t.Total}, ok
}

func (r replicationStatus) GCPosition() (peer.GCPosition, bool) {
	last := r.gc.LastRun()
	if last.IsZero() {
		return peer.GCPosition{}, false
	}
	floor, _ := r.log.CursorFloor()
	return peer.GCPosition{Trimmed: r.log.Floors(), Floor: floor, LastRun: last}, true
}
