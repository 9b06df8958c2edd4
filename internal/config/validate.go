package config

import (
	"errors"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"
)

// Validate reports every setting marmotd cannot run with, joined with errors.Join;
// each line reads "config: <toml key> = <value>: <reason>", so the operator can find
// the key in config.toml (or its MARMOT_* variable) and knows what to write instead.
// Enumerations are matched case-insensitively.
func (c Config) Validate() error {
	var v validator
	v.nonEmpty("data_dir", c.DataDir)
	// node_id: any uint64 is valid; 0 means "derive one".

	t := c.Transaction
	v.positive("transaction.heartbeat_timeout_seconds", t.HeartbeatTimeoutSeconds)
	v.positive("transaction.conflict_window_seconds", t.ConflictWindowSeconds)
	v.positive("transaction.lock_wait_timeout_seconds", t.LockWaitTimeoutSeconds)

	p := c.ConnectionPool
	v.positive("connection_pool.pool_size", p.PoolSize)
	v.positive("connection_pool.max_idle_time_seconds", p.MaxIdleTimeSeconds)
	v.nonNegative("connection_pool.max_lifetime_seconds", p.MaxLifetimeSeconds, "0 means unlimited")

	g := c.GRPCClient
	v.positive("grpc_client.keepalive_time_seconds", g.KeepaliveTimeSeconds)
	v.positive("grpc_client.keepalive_timeout_seconds", g.KeepaliveTimeoutSeconds)
	v.nonNegative("grpc_client.max_retries", g.MaxRetries, "0 disables retries")
	v.positive("grpc_client.retry_backoff_ms", g.RetryBackoffMS)

	co := c.Coordinator
	v.positive("coordinator.prepare_timeout_ms", co.PrepareTimeoutMS)
	v.positive("coordinator.commit_timeout_ms", co.CommitTimeoutMS)
	v.positive("coordinator.abort_timeout_ms", co.AbortTimeoutMS)
	// An intent stands heartbeat_timeout_seconds; a commit round takes at
	// most prepare + commit timeout. If intents could expire mid-round,
	// two transactions could both win a row.
	if hb := t.HeartbeatTimeoutSeconds * 1000; hb > 0 && co.PrepareTimeoutMS > 0 && co.CommitTimeoutMS > 0 && hb <= co.PrepareTimeoutMS+co.CommitTimeoutMS {
		v.add("transaction.heartbeat_timeout_seconds", t.HeartbeatTimeoutSeconds, "must exceed coordinator.prepare_timeout_ms + commit_timeout_ms (%d ms): write intents must outlive a commit round", co.PrepareTimeoutMS+co.CommitTimeoutMS)
	}

	v.cluster(c.Cluster, c.MySQL)
	v.replica(c.Replica, c.Cluster)
	v.replication(c.Replication)

	q := c.QueryPipeline
	v.nonNegative("query_pipeline.transpiler_cache_size", q.TranspilerCacheSize, "0 disables the cache")
	v.positive("query_pipeline.validator_pool_size", q.ValidatorPoolSize)

	v.mysql(c.MySQL)
	v.publisher(c.Publisher)

	v.oneOf("logging.format", c.Logging.Format, "console", "json")
	v.positive("ddl.lock_lease_seconds", c.DDL.LockLeaseSeconds)
	return errors.Join(v.errs...)
}

func (v *validator) cluster(c ClusterConfig, m MySQLConfig) {
	v.nonEmpty("cluster.grpc_bind_address", c.GRPCBindAddress)
	v.port("cluster.grpc_port", c.GRPCPort)
	if m.Enabled && m.Port == c.GRPCPort {
		v.add("mysql.port", m.Port, "must differ from cluster.grpc_port (%d); both listeners need their own port", c.GRPCPort)
	}
	v.addresses("cluster.seed_nodes", c.SeedNodes)
	v.positive("cluster.gossip_interval_ms", c.GossipIntervalMS)
	v.positive("cluster.gossip_fanout", c.GossipFanout)
	v.positive("cluster.suspect_timeout_ms", c.SuspectTimeoutMS)
	if c.DeadTimeoutMS <= c.SuspectTimeoutMS {
		v.add("cluster.dead_timeout_ms", c.DeadTimeoutMS,
			"must be greater than cluster.suspect_timeout_ms (%d) so a silent peer is suspected before it is declared dead", c.SuspectTimeoutMS)
	}
	switch gp := c.GossipPort(); {
	case c.GossipPortSetting != 0:
		v.port("cluster.gossip_port", c.GossipPortSetting)
		if gp == c.GRPCPort {
			v.add("cluster.gossip_port", gp, "must differ from cluster.grpc_port (%d)", c.GRPCPort)
		} else if m.Enabled && gp == m.Port {
			v.add("cluster.gossip_port", gp, "must differ from mysql.port (%d); both listeners need their own port", m.Port)
		}
	case gp > 65535 && c.GRPCPort <= 65535: // an invalid grpc_port is reported already
		v.add("cluster.gossip_port", 0, "0 means grpc_port + 1000 = %d, which is not a port; set gossip_port explicitly", gp)
	case m.Enabled && gp == m.Port:
		v.add("cluster.gossip_port", 0, "0 means grpc_port + 1000 = %d, which is mysql.port; set gossip_port explicitly", gp)
	}
	v.positive("cluster.max_clock_skew_ms", c.MaxClockSkewMS)
}

func (v *validator) replica(r ReplicaConfig, c ClusterConfig) {
	if r.Enabled {
		if len(r.FollowAddresses) == 0 {
			v.add("replica.follow_addresses", r.FollowAddresses, "replica.enabled = true needs at least one cluster node to follow (host:grpc_port)")
		}
		if r.Secret == "" {
			v.add("replica.secret", r.Secret, "replica.enabled = true needs the cluster's replica secret (or set MARMOT_REPLICA_SECRET)")
		}
		if len(c.SeedNodes) > 0 {
			v.add("cluster.seed_nodes", c.SeedNodes, "must be empty when replica.enabled = true: replica mode and cluster mode are mutually exclusive")
		}
	}
	// Cluster nodes tell a replica's calls from a member's by the secret
	// that signs them; one secret for both would give replicas write access.
	if r.Secret != "" && r.Secret == c.ClusterSecret {
		v.add("replica.secret", "REDACTED", "must differ from cluster.cluster_secret: the replica secret only allows reading, the cluster secret everything")
	}
	v.addresses("replica.follow_addresses", r.FollowAddresses)
	v.positive("replica.discovery_interval_seconds", r.DiscoveryIntervalSeconds)
	v.positive("replica.failover_timeout_seconds", r.FailoverTimeoutSeconds)
	v.positive("replica.reconnect_interval_seconds", r.ReconnectIntervalSeconds)
}

func (v *validator) replication(r ReplicationConfig) {
	v.oneOf("replication.default_write_consistency", r.DefaultWriteConsistency, "ONE", "QUORUM", "ALL")
	if v.oneOf("replication.default_read_consistency", r.DefaultReadConsistency, "LOCAL_ONE", "ONE", "QUORUM", "ALL") &&
		!strings.EqualFold(r.DefaultReadConsistency, "LOCAL_ONE") && !strings.EqualFold(r.DefaultReadConsistency, "ONE") {
		// Refused rather than silently served locally: a reader who asked
		// for QUORUM expects to see what a quorum holds.
		v.add("replication.default_read_consistency", r.DefaultReadConsistency,
			"is not supported: reads are served from this node's SQLite view (LOCAL_ONE; ONE means the same). Write at QUORUM or ALL and read on the writing node, which always sees its own acknowledged writes")
	}
	v.positive("replication.write_timeout_ms", r.WriteTimeoutMS)
	v.positive("replication.read_timeout_ms", r.ReadTimeoutMS)
	v.positive("replication.anti_entropy_interval_seconds", r.AntiEntropyIntervalSeconds)
	v.positive("replication.delta_sync_threshold_transactions", r.DeltaSyncThresholdTransactions)
	v.positive("replication.delta_sync_threshold_seconds", r.DeltaSyncThresholdSeconds)
	v.nonNegative("replication.view_commit_delay_ms", r.ViewCommitDelayMS, "0 commits as soon as the writer is free")
	// GC must keep at least the window in which a lagging peer is still repaired by
	// delta sync, or the entries it needs are gone and it silently needs a snapshot.
	if r.GCMinRetentionHours*3600 < float64(r.DeltaSyncThresholdSeconds) {
		v.add("replication.gc_min_retention_hours", r.GCMinRetentionHours,
			"must be >= delta_sync_threshold_seconds (%ds = %s) so a lagging peer can still delta-sync",
			r.DeltaSyncThresholdSeconds, hours(r.DeltaSyncThresholdSeconds))
	}
	if r.GCMaxRetentionHours < 0 || (r.GCMaxRetentionHours != 0 && r.GCMaxRetentionHours < r.GCMinRetentionHours) {
		v.add("replication.gc_max_retention_hours", r.GCMaxRetentionHours,
			"must be 0 (keep forever) or >= gc_min_retention_hours (%g)", r.GCMinRetentionHours)
	}
}

func (v *validator) mysql(m MySQLConfig) {
	if m.Enabled {
		v.nonEmpty("mysql.bind_address", m.BindAddress)
		v.port("mysql.port", m.Port)
	}
	v.positive("mysql.max_connections", m.MaxConnections)
	if m.UnixSocketPerm > 0o777 {
		v.add("mysql.unix_socket_perm", m.UnixSocketPerm, "only permission bits 0o777 are allowed")
	}
	v.oneOf("mysql.auto_id_mode", m.AutoIDMode, "compact", "extended")
	if m.MaxAllowedPacket < 1024 || m.MaxAllowedPacket > 1<<30 {
		v.add("mysql.max_allowed_packet", m.MaxAllowedPacket, "must be between 1024 and 1073741824 (1 GiB), as in MySQL")
	}
	switch {
	case (m.TLSCertFile == "") != (m.TLSKeyFile == ""):
		if m.TLSCertFile == "" {
			v.add("mysql.tls_cert_file", m.TLSCertFile, "mysql.tls_key_file is set: give the certificate too, or neither")
		} else {
			v.add("mysql.tls_key_file", m.TLSKeyFile, "mysql.tls_cert_file is set: give its private key too, or neither")
		}
	case m.TLSCertFile != "":
		if _, err := m.TLS(); err != nil {
			v.errs = append(v.errs, err)
		}
	case m.RequireSecureTransport:
		v.add("mysql.require_secure_transport", m.RequireSecureTransport,
			"needs mysql.tls_cert_file and mysql.tls_key_file, or no TCP client could log in")
	}
	seen := map[string]bool{}
	for i, u := range m.Users {
		key := fmt.Sprintf("mysql.users[%d].name", i)
		switch {
		case u.Name == "":
			v.add(key, u.Name, "every user needs a name")
		case seen[u.Name]:
			v.add(key, u.Name, "duplicate user name")
		}
		seen[u.Name] = true
	}
}

func (v *validator) publisher(p PublisherConfig) {
	v.nonNegative("publisher.takeover_after_ms", p.TakeoverAfterMS, "0 disables takeover")
	seen := map[string]bool{}
	for i, s := range p.Sinks {
		k := func(name string) string { return fmt.Sprintf("publisher.sinks[%d].%s", i, name) }
		switch {
		case s.Name == "":
			v.add(k("name"), s.Name, "every sink needs a name; it keys the sink's cursor")
		case seen[s.Name]:
			v.add(k("name"), s.Name, "duplicate sink name; it keys the sink's cursor")
		}
		seen[s.Name] = true
		if v.oneOf(k("type"), s.Type, "kafka", "nats") {
			switch strings.ToLower(s.Type) {
			case "kafka":
				if len(s.Brokers) == 0 {
					v.add(k("brokers"), s.Brokers, `a kafka sink needs at least one broker, e.g. ["localhost:9092"]`)
				}
				v.addresses(k("brokers"), s.Brokers)
			case "nats":
				if s.NATSURL == "" {
					v.add(k("nats_url"), s.NATSURL, `a nats sink needs a server URL, e.g. "nats://localhost:4222"`)
				}
			}
		}
		v.oneOf(k("format"), s.Format, "debezium")
		v.nonEmpty(k("topic_prefix"), s.TopicPrefix)
		v.globs(k("filter_tables"), s.FilterTables)
		v.globs(k("filter_databases"), s.FilterDatabases)
		v.positive(k("batch_size"), s.BatchSize)
		v.positive(k("poll_interval_ms"), s.PollIntervalMS)
		v.positive(k("retry_initial_ms"), s.RetryInitialMS)
		if s.RetryMaxMS < s.RetryInitialMS {
			v.add(k("retry_max_ms"), s.RetryMaxMS, "must be >= retry_initial_ms (%d)", s.RetryInitialMS)
		}
		if !(s.RetryMultiplier >= 1) { // also rejects NaN
			v.add(k("retry_multiplier"), s.RetryMultiplier, "must be >= 1 so the backoff never shrinks")
		}
		v.positive(k("publish_timeout_ms"), s.PublishTimeoutMS)
		v.oneOf(k("snapshot_mode"), s.SnapshotMode, "initial", "never")
	}
}

// validator collects problems so the operator sees all of them in one run.
type validator struct{ errs []error }

func (v *validator) add(key string, val any, reason string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("config: %s = %s: %s", key, show(val), fmt.Sprintf(reason, args...)))
}

func (v *validator) positive(key string, n int) {
	if n <= 0 {
		v.add(key, n, "must be greater than 0")
	}
}

func (v *validator) nonNegative(key string, n int, zero string) {
	if n < 0 {
		v.add(key, n, "must be >= 0 (%s)", zero)
	}
}

func (v *validator) nonEmpty(key, s string) {
	if strings.TrimSpace(s) == "" {
		v.add(key, s, "must not be empty")
	}
}

func (v *validator) port(key string, n int) {
	if n < 1 || n > 65535 {
		v.add(key, n, "must be a TCP port, 1 to 65535")
	}
}

// oneOf reports whether s is one of allowed, ignoring case, and records a problem
// if not.
func (v *validator) oneOf(key, s string, allowed ...string) bool {
	for _, a := range allowed {
		if strings.EqualFold(s, a) {
			return true
		}
	}
	v.add(key, s, "must be one of %s", strings.Join(allowed, ", "))
	return false
}

func (v *validator) addresses(key string, list []string) {
	for i, a := range list {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			v.add(fmt.Sprintf("%s[%d]", key, i), a, "must be host:port")
		}
	}
}

func (v *validator) globs(key string, list []string) {
	if len(list) == 0 {
		v.add(key, list, `must list at least one pattern; use ["*"] for everything`)
	}
	for i, g := range list {
		if _, err := path.Match(g, ""); err != nil || g == "" {
			v.add(fmt.Sprintf("%s[%d]", key, i), g, "must be a glob pattern such as \"*\" or \"order_*\"")
		}
	}
}

// show renders a value the way it would be written in config.toml.
func show(val any) string {
	switch x := val.(type) {
	case string:
		return strconv.Quote(x)
	case []string:
		q := make([]string, len(x))
		for i, s := range x {
			q[i] = strconv.Quote(s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	case FileMode:
		return fmt.Sprintf("0o%o", uint32(x))
	default:
		return fmt.Sprint(x)
	}
}

// hours renders a number of seconds as hours when it is whole hours ("1h"), else as
// a duration ("1h30m0s").
func hours(seconds int) string {
	if seconds%3600 == 0 {
		return fmt.Sprintf("%dh", seconds/3600)
	}
	return (time.Duration(seconds) * time.Second).String()
}

// Inert lists the settings this configuration changes from their defaults
// that have no effect, each with why, so marmotd can say so at start-up
// instead of letting an operator believe they tuned something.
func (c Config) Inert() []string {
	d := Default()
	var out []string
	if c.Transaction.ConflictWindowSeconds != d.Transaction.ConflictWindowSeconds {
		out = append(out, "transaction.conflict_window_seconds: conflicts are detected against each row's exact committed version, with no time window")
	}
	if c.Replication.ReadTimeoutMS != d.Replication.ReadTimeoutMS {
		out = append(out, "replication.read_timeout_ms: reads are served from this node's view and never wait for other nodes")
	}
	if c.QueryPipeline.ValidatorPoolSize != d.QueryPipeline.ValidatorPoolSize {
		out = append(out, "query_pipeline.validator_pool_size: statements are checked by the transpiler, not on a pool of SQLite connections")
	}
	if !c.DDL.EnableIdempotent {
		out = append(out, "ddl.enable_idempotent = false: replicated DDL is always rewritten to be safe to replay (IF [NOT] EXISTS), since catch-up may apply it twice")
	}
	return out
}
