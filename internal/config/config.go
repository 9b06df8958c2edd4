package config

// Config is everything marmotd can be told. Each field carries two tags: `toml` is the
// key in config.toml and `env` the suffix of its MARMOT_* variable (section structs add
// an `envPrefix`). Counts and timeouts keep the unit written in their key name (…_ms,
// …_seconds, …_hours) so file, environment and code read the same; the methods on each
// section convert them to time.Duration at the point of use.
type Config struct {
	// NodeID identifies this node in the HLC tie-break, in auto-increment IDs and in
	// cluster membership, so it must be unique in the cluster. 0 (the default) asks the
	// daemon to derive one; any other uint64 is used as given.
	NodeID uint64 `toml:"node_id" env:"NODE_ID"`

	// DataDir holds the transaction log, the SQLite files and node state. A relative
	// path resolves against the daemon's working directory. Default "./marmot-data".
	DataDir string `toml:"data_dir" env:"DATA_DIR"`

	// Transaction is [transaction]: how long a transaction may hold resources.
	Transaction TransactionConfig `toml:"transaction" envPrefix:"TRANSACTION_"`
	// ConnectionPool is [connection_pool]: the SQLite connection pool.
	ConnectionPool ConnectionPoolConfig `toml:"connection_pool" envPrefix:"CONNECTION_POOL_"`
	// GRPCClient is [grpc_client]: the client side of node-to-node RPC.
	GRPCClient GRPCClientConfig `toml:"grpc_client" envPrefix:"GRPC_CLIENT_"`
	// Coordinator is [coordinator]: two-phase commit timeouts.
	Coordinator CoordinatorConfig `toml:"coordinator" envPrefix:"COORDINATOR_"`
	// Cluster is [cluster]: membership, gossip and the cluster listener.
	Cluster ClusterConfig `toml:"cluster" envPrefix:"CLUSTER_"`
	// Replica is [replica]: read-only follower mode (off by default).
	Replica ReplicaConfig `toml:"replica" envPrefix:"REPLICA_"`
	// Replication is [replication]: consistency, anti-entropy and log retention.
	Replication ReplicationConfig `toml:"replication" envPrefix:"REPLICATION_"`
	// QueryPipeline is [query_pipeline]: the MySQL-to-SQLite statement pipeline.
	QueryPipeline QueryPipelineConfig `toml:"query_pipeline" envPrefix:"QUERY_PIPELINE_"`
	// MySQL is [mysql] and [[mysql.users]]: the MySQL wire-protocol server.
	MySQL MySQLConfig `toml:"mysql" envPrefix:"MYSQL_"`
	// Publisher is [publisher] and [[publisher.sinks]]: CDC to Kafka/NATS (off by
	// default).
	Publisher PublisherConfig `toml:"publisher" envPrefix:"PUBLISHER_"`
	// Logging is [logging]: verbosity and encoding.
	Logging LoggingConfig `toml:"logging" envPrefix:"LOGGING_"`
	// Prometheus is [prometheus]: the metrics endpoint.
	Prometheus PrometheusConfig `toml:"prometheus" envPrefix:"PROMETHEUS_"`
	// DDL is [ddl]: replicated schema changes.
	DDL DDLConfig `toml:"ddl" envPrefix:"DDL_"`
}

// TransactionConfig bounds how long a transaction may hold resources.
type TransactionConfig struct {
	// HeartbeatTimeoutSeconds is the lease of a prepared transaction's write
	// intents. Past it a member asks the coordinator whether the transaction
	// committed, and holds or releases its rows by the answer: only the coordinator
	// knows, so the rows of one that is down stay locked until it answers or is
	// removed from the cluster. Default 10.
	HeartbeatTimeoutSeconds int `toml:"heartbeat_timeout_seconds" env:"HEARTBEAT_TIMEOUT_SECONDS"`

	// ConflictWindowSeconds is accepted for compatibility and has no effect:
	// conflicts are detected against each row's exact committed version, with no
	// time window (Config.Inert says so at start-up). Default 10.
	ConflictWindowSeconds int `toml:"conflict_window_seconds" env:"CONFLICT_WINDOW_SECONDS"`

	// LockWaitTimeoutSeconds is how long a statement waits for a row lock before the
	// client gets an error, matching MySQL's innodb_lock_wait_timeout so applications
	// see familiar behaviour. Default 50.
	LockWaitTimeoutSeconds int `toml:"lock_wait_timeout_seconds" env:"LOCK_WAIT_TIMEOUT_SECONDS"`
}

// ConnectionPoolConfig sizes the SQLite connection pool that serves reads and writes.
type ConnectionPoolConfig struct {
	// PoolSize is the number of SQLite connections per database; reads beyond it
	// queue. At least 1. Default 4.
	PoolSize int `toml:"pool_size" env:"POOL_SIZE"`

	// MaxIdleTimeSeconds closes connections idle this long so an idle node gives
	// back file handles and page cache. Default 10.
	MaxIdleTimeSeconds int `toml:"max_idle_time_seconds" env:"MAX_IDLE_TIME_SECONDS"`

	// MaxLifetimeSeconds recycles connections after this long, bounding the life of
	// per-connection state; 0 means connections live forever. Default 300.
	MaxLifetimeSeconds int `toml:"max_lifetime_seconds" env:"MAX_LIFETIME_SECONDS"`
}

// GRPCClientConfig tunes the client side of node-to-node RPC.
type GRPCClientConfig struct {
	// KeepaliveTimeSeconds is the ping interval on idle peer connections, so a dead
	// peer or a NAT that dropped the flow is noticed without waiting for a request.
	// Default 10.
	KeepaliveTimeSeconds int `toml:"keepalive_time_seconds" env:"KEEPALIVE_TIME_SECONDS"`

	// KeepaliveTimeoutSeconds is how long a keepalive ping may go unanswered before
	// the connection is closed. Default 3.
	KeepaliveTimeoutSeconds int `toml:"keepalive_timeout_seconds" env:"KEEPALIVE_TIMEOUT_SECONDS"`

	// MaxRetries is how many times a failed idempotent RPC is retried; 0 disables
	// retries. Default 3.
	MaxRetries int `toml:"max_retries" env:"MAX_RETRIES"`

	// RetryBackoffMS is the pause before a retry, so a struggling peer is not
	// hammered. Default 100.
	RetryBackoffMS int `toml:"retry_backoff_ms" env:"RETRY_BACKOFF_MS"`
}

// CoordinatorConfig bounds each phase of two-phase commit.
type CoordinatorConfig struct {
	// PrepareTimeoutMS is how long the coordinator waits for prepare votes; past it
	// the transaction aborts rather than holding intents on the replicas that did
	// answer. Default 2000.
	PrepareTimeoutMS int `toml:"prepare_timeout_ms" env:"PREPARE_TIMEOUT_MS"`

	// CommitTimeoutMS is how long the coordinator waits for commit acknowledgements
	// before leaving stragglers to anti-entropy. Default 2000.
	CommitTimeoutMS int `toml:"commit_timeout_ms" env:"COMMIT_TIMEOUT_MS"`

	// AbortTimeoutMS is how long the coordinator waits for abort acknowledgements;
	// unacknowledged intents then expire via the heartbeat timeout. Default 2000.
	AbortTimeoutMS int `toml:"abort_timeout_ms" env:"ABORT_TIMEOUT_MS"`
}

// ClusterConfig is membership, gossip and the node's own gRPC listener (which also
// serves /metrics and the admin endpoints).
type ClusterConfig struct {
	// GRPCBindAddress is the interface the cluster listener binds; "0.0.0.0" (the
	// default) listens on all of them.
	GRPCBindAddress string `toml:"grpc_bind_address" env:"GRPC_BIND_ADDRESS"`

	// GRPCPort is the cluster listener's port: peer RPC, /metrics and admin. Default
	// 8080.
	GRPCPort int `toml:"grpc_port" env:"GRPC_PORT"`

	// SeedNodes are host:port addresses of existing members to join through; empty
	// (the default) starts a new cluster of one. MARMOT_CLUSTER_SEED_NODES takes a
	// comma-separated list.
	SeedNodes []string `toml:"seed_nodes" env:"SEED_NODES"`

	// ClusterSecret is the pre-shared key every node presents to its peers and that
	// admin requests must carry. Empty (the default) disables authentication, which
	// is only acceptable on a trusted network. Prefer MARMOT_CLUSTER_SECRET (note: not
	// MARMOT_CLUSTER_CLUSTER_SECRET) over writing it in a file.
	ClusterSecret string `toml:"cluster_secret" env:"SECRET"`

	// GossipIntervalMS is the gossip round period; shorter spreads membership changes
	// faster at the cost of traffic. Default 1000.
	GossipIntervalMS int `toml:"gossip_interval_ms" env:"GOSSIP_INTERVAL_MS"`

	// GossipFanout is how many peers each round talks to. Default 3.
	GossipFanout int `toml:"gossip_fanout" env:"GOSSIP_FANOUT"`

	// SuspectTimeoutMS is how long a peer may be silent before it is suspected and
	// stops being counted on for quorum. Default 5000.
	SuspectTimeoutMS int `toml:"suspect_timeout_ms" env:"SUSPECT_TIMEOUT_MS"`

	// DeadTimeoutMS is how long a peer may be silent before it is declared dead; it
	// must exceed SuspectTimeoutMS so a peer is suspected first. Default 10000.
	DeadTimeoutMS int `toml:"dead_timeout_ms" env:"DEAD_TIMEOUT_MS"`

	// GossipPortSetting (marmot extension) is the TCP and UDP port of membership
	// gossip (SWIM, hashicorp/memberlist), bound on GRPCBindAddress; the traffic is
	// encrypted with a key derived from ClusterSecret. 0 (the default) means
	// GRPCPort + 1000. Read it through GossipPort(), which resolves that default (the
	// field cannot share the method's name).
	GossipPortSetting int `toml:"gossip_port" env:"GOSSIP_PORT"`

	// MaxClockSkewMS (marmot extension) is how far ahead of the local clock a peer's
	// HLC timestamp may be before the message is rejected, so one node with a bad
	// clock cannot drag every HLC into the future. Default 500.
	MaxClockSkewMS int `toml:"max_clock_skew_ms" env:"MAX_CLOCK_SKEW_MS"`
}

// ReplicaConfig turns the node into a read-only follower of a cluster. Replica mode
// and cluster mode (cluster.seed_nodes) are mutually exclusive.
type ReplicaConfig struct {
	// Enabled makes this node a read-only replica streaming from a cluster; it then
	// refuses writes. Default false.
	Enabled bool `toml:"enabled" env:"ENABLED"`

	// FollowAddresses are cluster nodes (host:port of their gRPC listener) used to
	// discover the membership; required when Enabled. Default empty.
	FollowAddresses []string `toml:"follow_addresses" env:"FOLLOW_ADDRESSES"`

	// Secret is the pre-shared key the replica presents to the cluster; required when
	// Enabled. On a cluster node (Enabled false) it is the key that node accepts from
	// replicas, for reading only (log stream, sync status, snapshots, member list);
	// empty admits no replica. It must differ from cluster.cluster_secret. Default "".
	// Prefer MARMOT_REPLICA_SECRET over a file.
	Secret string `toml:"secret" env:"SECRET"`

	// DiscoveryIntervalSeconds is how often the replica refreshes the cluster
	// membership so failover has fresh candidates. Default 30.
	DiscoveryIntervalSeconds int `toml:"discovery_interval_seconds" env:"DISCOVERY_INTERVAL_SECONDS"`

	// FailoverTimeoutSeconds is how long the replica searches for a live source
	// before reporting itself unhealthy. Default 60.
	FailoverTimeoutSeconds int `toml:"failover_timeout_seconds" env:"FAILOVER_TIMEOUT_SECONDS"`

	// ReconnectIntervalSeconds is the pause between reconnect attempts after the
	// stream drops. Default 5.
	ReconnectIntervalSeconds int `toml:"reconnect_interval_seconds" env:"RECONNECT_INTERVAL_SECONDS"`
}

// ReplicationConfig is consistency, anti-entropy and transaction-log retention.
type ReplicationConfig struct {
	// DefaultWriteConsistency is how many replicas must durably accept a write before
	// the client gets OK: ONE, QUORUM or ALL (case-insensitive; Load upper-cases it).
	// QUORUM (the default) survives a minority of failures and detects conflicts.
	DefaultWriteConsistency string `toml:"default_write_consistency" env:"DEFAULT_WRITE_CONSISTENCY"`

	// DefaultReadConsistency is LOCAL_ONE (the default; ONE means the same): reads
	// are served from the local SQLite view without a network hop. QUORUM and ALL
	// are refused by Validate rather than silently served locally.
	DefaultReadConsistency string `toml:"default_read_consistency" env:"DEFAULT_READ_CONSISTENCY"`

	// WriteTimeoutMS bounds a replicated write; past it the client gets an error
	// rather than hanging on an unreachable quorum. Default 5000.
	WriteTimeoutMS int `toml:"write_timeout_ms" env:"WRITE_TIMEOUT_MS"`

	// ReadTimeoutMS is accepted for compatibility and has no effect: no read waits
	// for other nodes (Config.Inert). Default 2000.
	ReadTimeoutMS int `toml:"read_timeout_ms" env:"READ_TIMEOUT_MS"`

	// EnableAntiEntropy runs background comparison with peers and repairs lag by
	// delta sync or snapshot; turning it off means a node that missed writes only
	// catches up by accident. Default true.
	EnableAntiEntropy bool `toml:"enable_anti_entropy" env:"ENABLE_ANTI_ENTROPY"`

	// AntiEntropyIntervalSeconds is how often peers are compared. Default 60.
	AntiEntropyIntervalSeconds int `toml:"anti_entropy_interval_seconds" env:"ANTI_ENTROPY_INTERVAL_SECONDS"`

	// DeltaSyncThresholdTransactions: a peer behind by fewer transactions than this is
	// repaired by replaying the log; beyond it a snapshot is cheaper. Default 10000.
	DeltaSyncThresholdTransactions int `toml:"delta_sync_threshold_transactions" env:"DELTA_SYNC_THRESHOLD_TRANSACTIONS"`

	// DeltaSyncThresholdSeconds: a peer behind by less than this much time is repaired
	// by replaying the log; beyond it it gets a snapshot. Default 3600 (1 hour).
	DeltaSyncThresholdSeconds int `toml:"delta_sync_threshold_seconds" env:"DELTA_SYNC_THRESHOLD_SECONDS"`

	// GCMinRetentionHours keeps at least this much transaction log even when every
	// peer has it, so a peer that falls behind can still delta-sync; it must cover
	// DeltaSyncThresholdSeconds. Default 2.
	GCMinRetentionHours float64 `toml:"gc_min_retention_hours" env:"GC_MIN_RETENTION_HOURS"`

	// GCMaxRetentionHours deletes log older than this even if a peer still lags (it
	// will need a snapshot), bounding disk use; 0 keeps the log forever. When set it
	// must be >= GCMinRetentionHours. Default 24.
	GCMaxRetentionHours float64 `toml:"gc_max_retention_hours" env:"GC_MAX_RETENTION_HOURS"`

	// ViewCommitDelayMS bounds how long a busy single node (no peers) may hold
	// autocommit writes, already durable and answered, in an open SQLite
	// transaction before readers outside marmotd (the sqlite3 CLI, an
	// application reading the file, Litestream) see them. Reads through marmotd
	// always see them. Larger groups write each changed page once per group
	// rather than once per few writes: under sysbench oltp_insert 1000 measured
	// +15% throughput against committing as soon as the writer was free (0). A
	// lightly loaded node commits within milliseconds whatever this is. Default
	// 1000.
	ViewCommitDelayMS int `toml:"view_commit_delay_ms" env:"VIEW_COMMIT_DELAY_MS"`
}

// QueryPipelineConfig sizes the MySQL-to-SQLite statement pipeline.
type QueryPipelineConfig struct {
	// TranspilerCacheSize is the number of transpiled statements kept in an LRU so
	// repeated queries skip parsing; 0 disables the cache. Default 10000.
	TranspilerCacheSize int `toml:"transpiler_cache_size" env:"TRANSPILER_CACHE_SIZE"`

	// ValidatorPoolSize is accepted for compatibility and has no effect: statements
	// are checked by the transpiler, not on a pool of SQLite connections
	// (Config.Inert). At least 1. Default 8.
	ValidatorPoolSize int `toml:"validator_pool_size" env:"VALIDATOR_POOL_SIZE"`
}

// LoggingConfig selects log verbosity and encoding.
type LoggingConfig struct {
	// Verbose enables debug-level logs. Default false.
	Verbose bool `toml:"verbose" env:"VERBOSE"`

	// Format is "console" (human-readable, the default) or "json" (for collectors).
	Format string `toml:"format" env:"FORMAT"`
}

// PrometheusConfig controls the metrics endpoint.
type PrometheusConfig struct {
	// Enabled serves Prometheus metrics at /metrics on the cluster gRPC port (no
	// separate listener to secure). Default true.
	Enabled bool `toml:"enabled" env:"ENABLED"`
}

// DDLConfig governs replicated schema changes.
type DDLConfig struct {
	// LockLeaseSeconds is how long a cluster-wide DDL lock is held before it expires,
	// so a node that crashes mid-DDL does not block schema changes forever. Default 30.
	LockLeaseSeconds int `toml:"lock_lease_seconds" env:"LOCK_LEASE_SECONDS"`

	// EnableIdempotent rewrites DDL (CREATE TABLE → CREATE TABLE IF NOT EXISTS, …) so
	// replaying it during catch-up is harmless. Always on: false is ignored, with a
	// warning at start-up (Config.Inert). Default true.
	EnableIdempotent bool `toml:"enable_idempotent" env:"ENABLE_IDEMPOTENT"`
}
