package materializer

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Metrics of the appliers, registered with the default registry that
// marmotd serves at /metrics. The counters move as batches are applied;
// the lag gauges are computed when scraped (lagCollector), so a stuck
// applier shows growing lag rather than the value of its last batch.
var (
	metricApplied = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_materializer_applied_total",
		Help: "Change sets applied to a database's SQLite view (kept groups and skipped history of a dropped database included)."}, []string{"db"})
	metricApplySeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "marmot_materializer_apply_seconds",
		Help:    "Duration of applying one batch of change sets in one SQLite transaction.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)})

	metricWriterWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "marmot_materializer_writer_wait_seconds",
		Help:    "Time spent waiting for a database's single SQLite writer, by who waited (capture: a client transaction; apply: the applier, or the commit of a kept group).",
		Buckets: prometheus.ExponentialBuckets(0.00002, 2, 20)}, []string{"role"})
	metricWriterHold = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "marmot_materializer_writer_hold_seconds",
		Help:    "Time a database's SQLite writer was held, by who held it (capture: a client transaction; apply: the applier, or the commit of a kept group).",
		Buckets: prometheus.ExponentialBuckets(0.00002, 2, 20)}, []string{"role"})
	writerWaitCapture, writerWaitApply = metricWriterWait.WithLabelValues("capture"), metricWriterWait.WithLabelValues("apply")
	writerHoldCapture, writerHoldApply = metricWriterHold.WithLabelValues("capture"), metricWriterHold.WithLabelValues("apply")

	metricKeptGroup = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "marmot_materializer_kept_group_transactions",
		Help: "Autocommit transactions committed together in one kept group (single node: captures that run in SQLite once).",
		// Paced groups (kept.go) reach thousands under sustained writes.
		Buckets: prometheus.ExponentialBuckets(1, 4, 9)})
	metricKeptAborts = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_materializer_kept_group_aborts_total",
		Help: "Kept groups rolled back (a member could not be undone alone, or its commit failed); the applier writes their change sets from the log."})
	metricCheckpoints = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_materializer_checkpoints_total",
		Help: "PASSIVE WAL checkpoints run by the databases' checkpointers (off the writer)."})

	pendingDesc = prometheus.NewDesc("marmot_materializer_pending_change_sets",
		"Change sets durable in the log but not yet applied to the database's view (counted up to "+
			"maxPendingCount per origin).", []string{"db"}, nil)
	behindDesc = prometheus.NewDesc("marmot_materializer_lag_seconds",
		"Age of the oldest change set durable in the log but not yet applied to the database's view, "+
			"by its commit HLC; 0 when the view is caught up.", []string{"db"}, nil)
)

// maxPendingCount bounds the log scan one scrape does per database and
// origin: past it the gauge saturates, which is lag enough to alert on.
const maxPendingCount = 10000

// live holds every database whose applier has run, so the collector finds
// them without the materializer registering itself (tests open many).
var live sync.Map // *DB -> struct{}

func init() {
	prometheus.MustRegister(metricApplied, metricApplySeconds, metricWriterWait, metricWriterHold, metricKeptGroup, metricKeptAborts, metricCheckpoints, lagCollector{})
}

func writerWait(apply bool) prometheus.Observer {
	if apply {
		return writerWaitApply
	}
	return writerWaitCapture
}

func writerHold(apply bool) prometheus.Observer {
	if apply {
		return writerHoldApply
	}
	return writerHoldCapture
}

// track makes d visible to the lag collector; cheap after the first call.
func track(d *DB) {
	if _, ok := live.Load(d); !ok {
		live.Store(d, struct{}{})
	}
}

type lagCollector struct{}

func (lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- pendingDesc
	ch <- behindDesc
}

// Collect scans, per database and origin, only the log range between the
// view's watermark and the durable one: an empty range (a caught-up view)
// is one index seek, and recent change sets come from the log's decoded
// cache. Databases of the same name in several materializers (tests) are
// summed.
func (lagCollector) Collect(ch chan<- prometheus.Metric) {
	type lag struct {
		pending int
		behind  float64
	}
	byName := map[string]*lag{}
	now := time.Now()
	live.Range(func(k, _ any) bool {
		d := k.(*DB)
		select {
		case <-d.stop: // shut down: rebuilt, or its materializer closed
			live.Delete(d)
			return true
		default:
		}
		if d.Dropped() {
			return true
		}
		l := byName[d.name]
		if l == nil {
			l = &lag{}
			byName[d.name] = l
		}
		applied := d.Applied()
		for origin, upto := range d.m.log.Durable() {
			if upto <= applied[origin] {
				continue
			}
			n := 0
			_ = d.m.log.ScanDatabase(d.name, origin, applied[origin], func(cs *marmotv1.ChangeSet) error {
				if n == 0 {
					l.behind = max(l.behind, now.Sub(txlog.FromProto(cs.Hlc).Time()).Seconds())
				}
				n++
				if n >= maxPendingCount {
					return txlog.Stop
				}
				return nil
			})
			l.pending += n
		}
		return true
	})
	for name, l := range byName {
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(l.pending), name)
		ch <- prometheus.MustNewConstMetric(behindDesc, prometheus.GaugeValue, max(l.behind, 0), name)
	}
}
