package log

import "github.com/prometheus/client_golang/prometheus"

// Metrics of the group committer, registered with the default registry
// that marmotd serves at /metrics.
var (
	metricCommitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "marmot_log_append_seconds",
		Help:    "Duration of one group commit: the Pebble batch write and its fsync.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	metricBatchEntries = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "marmot_log_batch_entries",
		Help:    "Change sets made durable by one fsync (group commit size).",
		Buckets: prometheus.ExponentialBuckets(1, 2, 12)})
	metricEntries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_log_entries_total",
		Help: "Change sets made durable, by where they originated: local or remote."}, []string{"origin"})
)

func init() {
	prometheus.MustRegister(metricCommitSeconds, metricBatchEntries, metricEntries)
}
