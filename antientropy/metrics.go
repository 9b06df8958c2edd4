package antientropy

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

var (
	metricSyncs = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "marmot_antientropy_syncs_total",
		Help: "Repairs of this node's lag by kind: delta (missing change sets streamed) or snapshot, and result.",
	}, []string{"kind", "result"})
	metricRuns = promauto.NewCounter(prometheus.CounterOpts{
		Name: "marmot_antientropy_runs_total",
		Help: "Anti-entropy comparisons with peers.",
	})
	metricSnapshotBytes = promauto.NewCounterVec(prometheus.CounterOpts{
		Name: "marmot_snapshot_bytes_total",
		Help: "Snapshot bytes sent to peers and received from them.",
	}, []string{"direction"})
	metricSnapshotProgress = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "marmot_snapshot_transfer_bytes",
		Help: "The snapshot being received: bytes done and total (0 when none).",
	}, []string{"part"})
	metricPeerLag = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "marmot_peer_lag_transactions",
		Help: "Change sets this node lacks that the peer holds, at the last comparison.",
	}, []string{"peer"})
	metricPeerLagSeconds = promauto.NewGaugeVec(prometheus.GaugeOpts{
		Name: "marmot_peer_lag_seconds",
		Help: "Age of the oldest change set this node lacks that the peer holds.",
	}, []string{"peer"})
	metricGCTrimmed = promauto.NewCounter(prometheus.CounterOpts{
		Name: "marmot_gc_trimmed_entries_total",
		Help: "Transaction log entries deleted by garbage collection.",
	})
	metricGCForced = promauto.NewCounter(prometheus.CounterOpts{
		Name: "marmot_gc_forced_total",
		Help: "GC runs that trimmed past a lagging peer or CDC cursor because of gc_max_retention_hours.",
	})
	metricRetained = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "marmot_log_retained_entries",
		Help: "Change sets the transaction log still holds (above the GC floors), after the last GC pass.",
	})
	metricLogBytes = promauto.NewGauge(prometheus.GaugeOpts{
		Name: "marmot_log_disk_bytes",
		Help: "Transaction log size on disk.",
	})
)
