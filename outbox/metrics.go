package outbox

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics, per sink (label "sink"), registered with the default registry
// that marmotd serves at /metrics.
var (
	metricEvents = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_outbox_published_total",
		Help: "Messages (events, tombstones, cursor records) acknowledged by the sink."}, []string{"sink"})
	metricFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_outbox_publish_failures_total",
		Help: "Failed publish attempts; each is retried with backoff."}, []string{"sink"})
	metricRetrying = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "marmot_outbox_retrying",
		Help: "1 while the sink is failing and the publisher backs off."}, []string{"sink"})
	metricTakeovers = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_outbox_takeovers_total",
		Help: "Times this node started publishing another origin's change sets."}, []string{"sink"})
	metricLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "marmot_outbox_publish_seconds",
		Help: "Duration of successful publish calls.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"sink"})
	metricSnapshotRows = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_outbox_snapshot_rows_total",
		Help: "Rows sent as snapshot (op r) events by this node."}, []string{"sink"})
	metricBackoff = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "marmot_outbox_backoff_seconds",
		Help: "Current wait before the next publish attempt; 0 while the sink accepts events."}, []string{"sink"})
	registerOnce sync.Once
)

type sinkMetrics struct {
	events, failures, takeovers prometheus.Counter
	retrying, backoff           prometheus.Gauge
	latency                     prometheus.Observer
	snapshotRows                prometheus.Counter
}

func metricsFor(sink string) *sinkMetrics {
	registerOnce.Do(func() {
		for _, c := range []prometheus.Collector{metricEvents, metricFailures, metricRetrying, metricTakeovers, metricLatency, metricSnapshotRows, metricBackoff} {
			_ = prometheus.Register(c)
		}
	})
	return &sinkMetrics{events: metricEvents.WithLabelValues(sink), failures: metricFailures.WithLabelValues(sink),
		takeovers: metricTakeovers.WithLabelValues(sink), retrying: metricRetrying.WithLabelValues(sink),
		latency: metricLatency.WithLabelValues(sink), snapshotRows: metricSnapshotRows.WithLabelValues(sink),
		backoff: metricBackoff.WithLabelValues(sink)}
}
