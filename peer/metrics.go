package peer

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics of the distributed commit and membership, registered with the
// default registry that marmotd serves at /metrics.
var (
	metricCommits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_distributed_commits_total",
		Help: "Commits at QUORUM or ALL by outcome: committed, conflict (1213), level_unmet (1180, nothing written), in_doubt (1180, committed here but not confirmed by enough nodes), error."},
		[]string{"level", "outcome"})
	metricCommitSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "marmot_distributed_commit_seconds",
		Help:    "Duration of the distributed part of a commit (prepare round, append, commit acknowledgements).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"level"})
	metricVotes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_prepare_votes_total",
		Help: "Prepare answers received from peers: yes, no (conflict), error (unreachable, refused)."}, []string{"vote"})
	metricLeaseAborts = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_commit_lease_aborts_total",
		Help: "Transactions aborted after a quorum voted yes because the prepare round left too little of the intents' lease (heartbeat_timeout_seconds) for the commit round: the coordinator stalled."})
	metricOverdue = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_overdue_intents_total",
		Help: "Questions about other nodes' transactions whose intents here outlived their lease, by answer: committed (held until the change set arrives), aborted (released), unreachable (held, asked again)."},
		[]string{"outcome"})
	metricCommitDelivery = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_commit_deliveries_total",
		Help: "Commit calls to members by how the change set reached them: stream (the member's Pull stream carried it; the call confirmed it durable) or call (sent in the Commit call: no stream, or the stream did not deliver it within a second)."},
		[]string{"via"})
	metricOverdueNow = prometheus.NewGauge(prometheus.GaugeOpts{Name: "marmot_overdue_transactions",
		Help: "Other nodes' transactions whose intents here are overdue (past their lease, outcome not yet known): their rows stay locked until the coordinator answers."})
)

func init() {
	prometheus.MustRegister(metricCommits, metricCommitSeconds, metricVotes, metricLeaseAborts, metricOverdue, metricOverdueNow, metricCommitDelivery)
}

// RegisterMembershipMetrics exports the members by state
// (marmot_cluster_members{state}), read from m at each scrape.
func RegisterMembershipMetrics(m *Membership) error {
	return prometheus.Register(membersCollector{m})
}

var membersDesc = prometheus.NewDesc("marmot_cluster_members", "Configured cluster members by state, this node included.", []string{"state"}, nil)

type membersCollector struct{ m *Membership }

func (c membersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- membersDesc }

func (c membersCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[MemberState]int{MemberAlive: 0, MemberSuspect: 0, MemberDead: 0, MemberLeft: 0}
	for _, mb := range c.m.Members() {
		counts[mb.State]++
	}
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(membersDesc, prometheus.GaugeValue, float64(n), st.String())
	}
}
