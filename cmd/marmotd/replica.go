package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/marmotdb/marmot/antientropy"
	"github.com/marmotdb/marmot/internal/config"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/peer"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// startReplica makes this node a read-only follower of a cluster (replica
// mode): no membership, no coordinator, no peer service. Before the MySQL
// port opens, a replica with an empty log takes a snapshot from the cluster;
// then one Pull stream from one cluster node at a time keeps it current,
// failing over between the members it discovers. Anti-entropy compares
// with the current source. Every call carries the HMAC of replica.secret.
func startReplica(ctx context.Context, cfg config.Config, l *txlog.Log, mat *materializer.Materializer,
	admin *peer.AdminService, logger *slog.Logger) {
	rc, rep := cfg.Replication, cfg.Replica
	seconds := func(n int) time.Duration { return time.Duration(n) * time.Second }
	fl := &peer.Follower{Log: l, Secret: rep.Secret, Seeds: rep.FollowAddresses, Logger: logger,
		Discovery: seconds(rep.DiscoveryIntervalSeconds), FailoverTimeout: seconds(rep.FailoverTimeoutSeconds),
		Reconnect: seconds(rep.ReconnectIntervalSeconds)}
	sy := &antientropy.Syncer{Log: l, Views: mat, DataDir: cfg.DataDir, Interval: rc.AntiEntropyInterval(),
		MaxDeltaTxns: uint64(rc.DeltaSyncThresholdTransactions), MaxDeltaAge: rc.DeltaSyncThreshold(),
		Client: func(addr string) marmotv1connect.PeerServiceClient { return peer.NewClient(rep.Secret, l.Node(), addr) },
		Resync: fl.Resync, Logger: logger,
		Peers: func() []antientropy.Peer {
			if src := fl.Source(); src != "" {
				return []antientropy.Peer{{Addr: src}}
			}
			var out []antientropy.Peer
			for _, c := range fl.Candidates() {
				out = append(out, antientropy.Peer{Addr: c})
			}
			return out
		}}
	fl.OnTrimmed = func(string) { sy.Nudge() }
	fl.Paused = sy.Installing
	// No one pulls from a replica: its log only has to keep what its own
	// views have not applied, plus the retention window.
	gc := &antientropy.GC{Log: l, MinRetention: rc.GCMinRetention(), MaxRetention: rc.GCMaxRetention(), Logger: logger,
		Members: func() ([]txlog.Watermark, bool) { return nil, true },
		Applied: func() txlog.Watermark {
			w, err := mat.AppliedFloor()
			if err != nil {
				logger.Warn("log GC: cannot read the views' progress", "err", err)
				return txlog.Watermark{}
			}
			return w
		}}
	go gc.Run(ctx, min(rc.AntiEntropyInterval(), time.Minute))
	admin.Replication = replicationStatus{sy: sy, gc: gc, log: l}

	logger.Info("replica mode: read-only, following the cluster", "follow_addresses", rep.FollowAddresses,
		"discovery_interval", seconds(rep.DiscoveryIntervalSeconds), "failover_timeout", seconds(rep.FailoverTimeoutSeconds))
	// Bootstrap (a snapshot when the log is empty) happens whether or not
	// anti-entropy runs later: a new replica would otherwise replay the
	// cluster's whole retained history, or miss what GC already trimmed.
	sy.StartupCheck(ctx, 10*time.Second)
	go func() {
		if err := fl.Run(ctx); err != nil {
			logger.Error("replica stopped following the cluster", "err", err)
		}
	}()
	if rc.EnableAntiEntropy {
		go sy.Run(ctx)
	}
}
