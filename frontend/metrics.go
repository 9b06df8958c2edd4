package frontend

import (
	"errors"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
)

// Metrics of the MySQL server as its clients see it, registered with the
// default registry that marmotd serves at /metrics. They are package-wide:
// a process runs one Server (tests that run several add up their counts).
var (
	metricConnsOpen = prometheus.NewGauge(prometheus.GaugeOpts{Name: "marmot_mysql_connections",
		Help: "MySQL client connections open now, those still logging in included."})
	metricConnsTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_mysql_connections_total",
		Help: "MySQL client connections accepted (TCP and Unix socket), refused ones included."})
	metricConnsRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_mysql_connections_refused_total",
		Help: "MySQL connections that did not get a session, by reason: auth (1045), max_connections (1040), insecure_transport (3159), handshake (the client left or spoke no MySQL/TLS)."},
		[]string{"reason"})
	metricQueries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_mysql_queries_total",
		Help: "Statements executed, by kind: select, insert, update, delete, ddl, other (each statement of a multi-statement query counts)."},
		[]string{"kind"})
	metricCommitted = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_transactions_committed_total",
		Help: "Transactions committed: autocommit writes, COMMIT of a transaction that wrote, DDL, CREATE/DROP DATABASE."})
	metricAborted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "marmot_transactions_aborted_total",
		Help: "Commits that failed, by reason: conflict (1213), timeout (1205, 3024), quorum (1180), other. Client ROLLBACK is not counted."},
		[]string{"reason"})
	metricRetries = prometheus.NewCounter(prometheus.CounterOpts{Name: "marmot_transaction_retries_total",
		Help: "Autocommit statements run again after a conflict, invisibly to the client."})
	metricCommitSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "marmot_commit_seconds",
		Help:    "Duration of committed statements as the client sees it: from receiving the autocommit write, COMMIT or DDL to its OK (execution, retries, log fsync or distributed commit, view update).",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18)})
)

func init() {
	prometheus.MustRegister(metricConnsOpen, metricConnsTotal, metricConnsRefused, metricQueries,
		metricCommitted, metricAborted, metricRetries, metricCommitSeconds)
	// Every label value exists from the start, so rates and alerts see 0
	// rather than a missing series.
	for _, r := range []string{refusedAuth, refusedMaxConns, refusedInsecure, refusedHandshake} {
		metricConnsRefused.WithLabelValues(r)
	}
	for _, k := range []string{"select", "insert", "update", "delete", "ddl", "other"} {
		metricQueries.WithLabelValues(k)
	}
	for _, r := range []string{"conflict", "timeout", "quorum", "other"} {
		metricAborted.WithLabelValues(r)
	}
}

// Reasons a connection is refused (label values of
// marmot_mysql_connections_refused_total).
const (
	refusedAuth      = "auth"
	refusedMaxConns  = "max_connections"
	refusedInsecure  = "insecure_transport"
	refusedHandshake = "handshake"
)

// queryKind is a statement's label in marmot_mysql_queries_total.
func queryKind(k transpile.Kind) string {
	switch k {
	case transpile.Select:
		return "select"
	case transpile.Insert, transpile.Replace, transpile.LoadData:
		return "insert"
	case transpile.Update:
		return "update"
	case transpile.Delete, transpile.TruncateTable:
		return "delete"
	case transpile.CreateTable, transpile.AlterTable, transpile.DropTable, transpile.RenameTable,
		transpile.CreateIndex, transpile.DropIndex, transpile.CreateView, transpile.DropView,
		transpile.CreateTrigger, transpile.DropTrigger, transpile.CreateDatabase, transpile.DropDatabase,
		transpile.AlterDatabase:
		return "ddl"
	}
	return "other"
}

// observeCommit counts the end of a commit attempt. A conflict the
// autocommit path is about to retry is no abort the client sees: it is
// counted as a retry instead.
func (s *Session) observeCommit(err error) {
	if err == nil {
		metricCommitted.Inc()
		if !s.stmtStart.IsZero() {
			metricCommitSeconds.Observe(time.Since(s.stmtStart).Seconds())
		}
		return
	}
	var ce *txlog.ConflictError
	if s.retryConflict && errors.As(err, &ce) {
		metricRetries.Inc()
		return
	}
	metricAborted.WithLabelValues(abortReason(s.toMySQLError(err))).Inc()
}

// abortReason classifies a failed commit by the MySQL error the client gets.
func abortReason(err error) string {
	var my *mysql.MyError
	if !errors.As(err, &my) {
		return "other"
	}
	switch my.Code {
	case mysql.ER_LOCK_DEADLOCK:
		return "conflict"
	case mysql.ER_LOCK_WAIT_TIMEOUT, 3024:
		return "timeout"
	case mysql.ER_ERROR_DURING_COMMIT:
		return "quorum"
	}
	return "other"
}
