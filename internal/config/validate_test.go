package config

import (
	"strings"
	"testing"
)

// Each rule has a case that breaks it; the message must name the full TOML key (so
// the operator can find it) followed by " = ", and say why.
func TestValidateRules(t *testing.T) {
	kafka := func(c *Config) *SinkConfig {
		s := DefaultSink()
		s.Name, s.Type, s.Brokers = "k", "kafka", []string{"b:9092"}
		c.Publisher.Sinks = append(c.Publisher.Sinks, s)
		return &c.Publisher.Sinks[len(c.Publisher.Sinks)-1]
	}
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // the key and value as reported
		reason string // a fragment of the reason
	}{
		{"data_dir empty", func(c *Config) { c.DataDir = " " }, `data_dir = " "`, "must not be empty"},
		{"heartbeat", func(c *Config) { c.Transaction.HeartbeatTimeoutSeconds = 0 }, "transaction.heartbeat_timeout_seconds = 0", "greater than 0"},
		{"heartbeat shorter than a commit round", func(c *Config) { c.Transaction.HeartbeatTimeoutSeconds = 3 }, "transaction.heartbeat_timeout_seconds = 3", "must exceed coordinator.prepare_timeout_ms"},
		{"conflict window", func(c *Config) { c.Transaction.ConflictWindowSeconds = -1 }, "transaction.conflict_window_seconds = -1", "greater than 0"},
		{"lock wait", func(c *Config) { c.Transaction.LockWaitTimeoutSeconds = 0 }, "transaction.lock_wait_timeout_seconds = 0", "greater than 0"},
		{"pool size", func(c *Config) { c.ConnectionPool.PoolSize = 0 }, "connection_pool.pool_size = 0", "greater than 0"},
		{"idle time", func(c *Config) { c.ConnectionPool.MaxIdleTimeSeconds = 0 }, "connection_pool.max_idle_time_seconds = 0", "greater than 0"},
		{"lifetime", func(c *Config) { c.ConnectionPool.MaxLifetimeSeconds = -1 }, "connection_pool.max_lifetime_seconds = -1", "unlimited"},
		{"keepalive", func(c *Config) { c.GRPCClient.KeepaliveTimeSeconds = 0 }, "grpc_client.keepalive_time_seconds = 0", "greater than 0"},
		{"keepalive timeout", func(c *Config) { c.GRPCClient.KeepaliveTimeoutSeconds = 0 }, "grpc_client.keepalive_timeout_seconds = 0", "greater than 0"},
		{"retries", func(c *Config) { c.GRPCClient.MaxRetries = -1 }, "grpc_client.max_retries = -1", ">= 0"},
		{"backoff", func(c *Config) { c.GRPCClient.RetryBackoffMS = 0 }, "grpc_client.retry_backoff_ms = 0", "greater than 0"},
		{"prepare", func(c *Config) { c.Coordinator.PrepareTimeoutMS = 0 }, "coordinator.prepare_timeout_ms = 0", "greater than 0"},
		{"commit", func(c *Config) { c.Coordinator.CommitTimeoutMS = 0 }, "coordinator.commit_timeout_ms = 0", "greater than 0"},
		{"abort", func(c *Config) { c.Coordinator.AbortTimeoutMS = 0 }, "coordinator.abort_timeout_ms = 0", "greater than 0"},
		{"grpc bind", func(c *Config) { c.Cluster.GRPCBindAddress = "" }, `cluster.grpc_bind_address = ""`, "must not be empty"},
		{"grpc port low", func(c *Config) { c.Cluster.GRPCPort = 0 }, "cluster.grpc_port = 0", "1 to 65535"},
		{"grpc port high", func(c *Config) { c.Cluster.GRPCPort = 65536 }, "cluster.grpc_port = 65536", "1 to 65535"},
		{"ports clash", func(c *Config) { c.MySQL.Port = 8080 }, "mysql.port = 8080", "must differ from cluster.grpc_port (8080)"},
		{"seed without port", func(c *Config) { c.Cluster.SeedNodes = []string{"a:1", "b"} }, `cluster.seed_nodes[1] = "b"`, "host:port"},
		{"gossip interval", func(c *Config) { c.Cluster.GossipIntervalMS = 0 }, "cluster.gossip_interval_ms = 0", "greater than 0"},
		{"fanout", func(c *Config) { c.Cluster.GossipFanout = 0 }, "cluster.gossip_fanout = 0", "greater than 0"},
		{"suspect", func(c *Config) { c.Cluster.SuspectTimeoutMS = 0 }, "cluster.suspect_timeout_ms = 0", "greater than 0"},
		{"dead before suspect", func(c *Config) { c.Cluster.DeadTimeoutMS = 5000 }, "cluster.dead_timeout_ms = 5000", "greater than cluster.suspect_timeout_ms (5000)"},
		{"gossip port high", func(c *Config) { c.Cluster.GossipPortSetting = 65536 }, "cluster.gossip_port = 65536", "1 to 65535"},
		{"gossip port negative", func(c *Config) { c.Cluster.GossipPortSetting = -1 }, "cluster.gossip_port = -1", "1 to 65535"},
		{"gossip port is grpc port", func(c *Config) { c.Cluster.GossipPortSetting = 8080 }, "cluster.gossip_port = 8080", "must differ from cluster.grpc_port (8080)"},
		{"gossip port is mysql port", func(c *Config) { c.Cluster.GossipPortSetting = 3306 }, "cluster.gossip_port = 3306", "must differ from mysql.port (3306)"},
		{"gossip default past 65535", func(c *Config) { c.Cluster.GRPCPort = 65000 }, "cluster.gossip_port = 0", "grpc_port + 1000 = 66000"},
		{"gossip default is mysql port", func(c *Config) { c.Cluster.GRPCPort, c.MySQL.Port = 2306, 3306 }, "cluster.gossip_port = 0", "which is mysql.port"},
		{"clock skew", func(c *Config) { c.Cluster.MaxClockSkewMS = 0 }, "cluster.max_clock_skew_ms = 0", "greater than 0"},
		{"replica needs addresses", func(c *Config) { c.Replica.Enabled, c.Replica.Secret = true, "s" }, "replica.follow_addresses = []", "at least one"},
		{"replica needs secret", func(c *Config) { c.Replica.Enabled, c.Replica.FollowAddresses = true, []string{"n:8080"} }, `replica.secret = ""`, "MARMOT_REPLICA_SECRET"},
		{"replica excludes seeds", func(c *Config) {
			c.Replica.Enabled, c.Replica.FollowAddresses, c.Replica.Secret = true, []string{"n:8080"}, "s"
			c.Cluster.SeedNodes = []string{"m:8080"}
		}, `cluster.seed_nodes = ["m:8080"]`, "mutually exclusive"},
		{"replica secret is the cluster secret", func(c *Config) { c.Replica.Secret, c.Cluster.ClusterSecret = "same", "same" }, `replica.secret = "REDACTED"`, "must differ from cluster.cluster_secret"},
		{"follow address", func(c *Config) { c.Replica.FollowAddresses = []string{"n"} }, `replica.follow_addresses[0] = "n"`, "host:port"},
		{"discovery", func(c *Config) { c.Replica.DiscoveryIntervalSeconds = 0 }, "replica.discovery_interval_seconds = 0", "greater than 0"},
		{"failover", func(c *Config) { c.Replica.FailoverTimeoutSeconds = 0 }, "replica.failover_timeout_seconds = 0", "greater than 0"},
		{"reconnect", func(c *Config) { c.Replica.ReconnectIntervalSeconds = 0 }, "replica.reconnect_interval_seconds = 0", "greater than 0"},
		{"write consistency", func(c *Config) { c.Replication.DefaultWriteConsistency = "LOCAL_ONE" }, `replication.default_write_consistency = "LOCAL_ONE"`, "one of ONE, QUORUM, ALL"},
		{"read consistency", func(c *Config) { c.Replication.DefaultReadConsistency = "TWO" }, `replication.default_read_consistency = "TWO"`, "one of LOCAL_ONE, ONE, QUORUM, ALL"},
		{"quorum reads", func(c *Config) { c.Replication.DefaultReadConsistency = "QUORUM" }, `replication.default_read_consistency = "QUORUM"`, "reads are served from this node's SQLite view"},
		{"write timeout", func(c *Config) { c.Replication.WriteTimeoutMS = 0 }, "replication.write_timeout_ms = 0", "greater than 0"},
		{"read timeout", func(c *Config) { c.Replication.ReadTimeoutMS = 0 }, "replication.read_timeout_ms = 0", "greater than 0"},
		{"anti-entropy interval", func(c *Config) { c.Replication.AntiEntropyIntervalSeconds = 0 }, "replication.anti_entropy_interval_seconds = 0", "greater than 0"},
		{"delta txns", func(c *Config) { c.Replication.DeltaSyncThresholdTransactions = 0 }, "replication.delta_sync_threshold_transactions = 0", "greater than 0"},
		{"delta seconds", func(c *Config) { c.Replication.DeltaSyncThresholdSeconds = 0 }, "replication.delta_sync_threshold_seconds = 0", "greater than 0"},
		{"gc max below min", func(c *Config) { c.Replication.GCMaxRetentionHours = 1 }, "replication.gc_max_retention_hours = 1", ">= gc_min_retention_hours (2)"},
		{"gc max negative", func(c *Config) { c.Replication.GCMaxRetentionHours = -1 }, "replication.gc_max_retention_hours = -1", "must be 0 (keep forever)"},
		{"cache size", func(c *Config) { c.QueryPipeline.TranspilerCacheSize = -1 }, "query_pipeline.transpiler_cache_size = -1", "disables the cache"},
		{"validator pool", func(c *Config) { c.QueryPipeline.ValidatorPoolSize = 0 }, "query_pipeline.validator_pool_size = 0", "greater than 0"},
		{"mysql port", func(c *Config) { c.MySQL.Port = 70000 }, "mysql.port = 70000", "1 to 65535"},
		{"mysql bind", func(c *Config) { c.MySQL.BindAddress = "" }, `mysql.bind_address = ""`, "must not be empty"},
		{"max connections", func(c *Config) { c.MySQL.MaxConnections = 0 }, "mysql.max_connections = 0", "greater than 0"},
		{"socket perm", func(c *Config) { c.MySQL.UnixSocketPerm = 0o1777 }, "mysql.unix_socket_perm = 0o1777", "0o777"},
		{"auto id", func(c *Config) { c.MySQL.AutoIDMode = "wide" }, `mysql.auto_id_mode = "wide"`, "one of compact, extended"},
		{"packet small", func(c *Config) { c.MySQL.MaxAllowedPacket = 100 }, "mysql.max_allowed_packet = 100", "between 1024 and 1073741824"},
		{"packet large", func(c *Config) { c.MySQL.MaxAllowedPacket = 1<<30 + 1 }, "mysql.max_allowed_packet = 1073741825", "between"},
		{"user no name", func(c *Config) { c.MySQL.Users = []MySQLUser{{Name: "", Password: "x"}} }, `mysql.users[0].name = ""`, "needs a name"},
		{"user duplicate", func(c *Config) { c.MySQL.Users = []MySQLUser{{Name: "a"}, {Name: "a"}} }, `mysql.users[1].name = "a"`, "duplicate"},
		{"sink no name", func(c *Config) { kafka(c).Name = "" }, `publisher.sinks[0].name = ""`, "needs a name"},
		{"sink duplicate", func(c *Config) { kafka(c); kafka(c) }, `publisher.sinks[1].name = "k"`, "duplicate"},
		{"sink type", func(c *Config) { kafka(c).Type = "redis" }, `publisher.sinks[0].type = "redis"`, "one of kafka, nats"},
		{"sink format", func(c *Config) { kafka(c).Format = "avro" }, `publisher.sinks[0].format = "avro"`, "one of debezium"},
		{"publish timeout", func(c *Config) { kafka(c).PublishTimeoutMS = 0 }, "publisher.sinks[0].publish_timeout_ms = 0", "greater than 0"},
		{"snapshot mode", func(c *Config) { kafka(c).SnapshotMode = "schema_only" }, `publisher.sinks[0].snapshot_mode = "schema_only"`, "one of initial, never"},
		{"kafka brokers", func(c *Config) { kafka(c).Brokers = nil }, "publisher.sinks[0].brokers = []", "at least one broker"},
		{"kafka broker address", func(c *Config) { kafka(c).Brokers = []string{"b"} }, `publisher.sinks[0].brokers[0] = "b"`, "host:port"},
		{"nats url", func(c *Config) { kafka(c).Type = "nats" }, `publisher.sinks[0].nats_url = ""`, "server URL"},
		{"topic prefix", func(c *Config) { kafka(c).TopicPrefix = "" }, `publisher.sinks[0].topic_prefix = ""`, "must not be empty"},
		{"filter tables empty", func(c *Config) { kafka(c).FilterTables = nil }, "publisher.sinks[0].filter_tables = []", `use ["*"]`},
		{"filter databases glob", func(c *Config) { kafka(c).FilterDatabases = []string{"[x"} }, `publisher.sinks[0].filter_databases[0] = "[x"`, "glob"},
		{"batch size", func(c *Config) { kafka(c).BatchSize = 0 }, "publisher.sinks[0].batch_size = 0", "greater than 0"},
		{"poll interval", func(c *Config) { kafka(c).PollIntervalMS = 0 }, "publisher.sinks[0].poll_interval_ms = 0", "greater than 0"},
		{"retry initial", func(c *Config) { kafka(c).RetryInitialMS = 0 }, "publisher.sinks[0].retry_initial_ms = 0", "greater than 0"},
		{"retry max", func(c *Config) { kafka(c).RetryMaxMS = 50 }, "publisher.sinks[0].retry_max_ms = 50", ">= retry_initial_ms (100)"},
		{"retry multiplier", func(c *Config) { kafka(c).RetryMultiplier = 0.5 }, "publisher.sinks[0].retry_multiplier = 0.5", ">= 1"},
		{"log format", func(c *Config) { c.Logging.Format = "xml" }, `logging.format = "xml"`, "one of console, json"},
		{"ddl lease", func(c *Config) { c.DDL.LockLeaseSeconds = 0 }, "ddl.lock_lease_seconds = 0", "greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			want := "config: " + tt.want + ": "
			if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("Validate() = %q\nwant a line starting %q and containing %q", err, want, tt.reason)
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
				t.Errorf("want one problem, got %d:\n%v", n, err)
			}
		})
	}
}

// The GC rule from the product reference: gc_min_retention_hours must cover
// delta_sync_threshold_seconds, or a lagging peer finds its entries deleted.
func TestValidateGCRetention(t *testing.T) {
	tests := []struct {
		minHours         float64
		thresholdSeconds int
		maxHours         float64
		want             string // "" = valid
	}{
		{2, 3600, 24, ""},
		{1, 3600, 24, ""},     // exactly the threshold is enough
		{1, 3600, 0, ""},      // 0 = keep forever
		{0.001, 1, 0.002, ""}, // fractions of an hour (tests, small deployments)
		{0, 3600, 24, "config: replication.gc_min_retention_hours = 0: must be >= delta_sync_threshold_seconds (3600s = 1h) so a lagging peer can still delta-sync"},
		{1, 5400, 24, "config: replication.gc_min_retention_hours = 1: must be >= delta_sync_threshold_seconds (5400s = 1h30m0s) so a lagging peer can still delta-sync"},
		{3, 7200, 2, "config: replication.gc_max_retention_hours = 2: must be 0 (keep forever) or >= gc_min_retention_hours (3)"},
	}
	for _, tt := range tests {
		c := Default()
		c.Replication.GCMinRetentionHours = tt.minHours
		c.Replication.DeltaSyncThresholdSeconds = tt.thresholdSeconds
		c.Replication.GCMaxRetentionHours = tt.maxHours
		err := c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("min %vh threshold %vs max %vh: unexpected %v", tt.minHours, tt.thresholdSeconds, tt.maxHours, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("min %vh threshold %vs max %vh:\n got %v\nwant %s", tt.minHours, tt.thresholdSeconds, tt.maxHours, err, tt.want)
		}
	}
}

func TestValidateAccepts(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
	}{
		{"any node id", func(c *Config) { c.NodeID = 1<<64 - 1 }},
		{"lower-case consistency", func(c *Config) {
			c.Replication.DefaultWriteConsistency, c.Replication.DefaultReadConsistency = "all", "local_one"
		}},
		{"mysql off frees its port", func(c *Config) { c.MySQL.Enabled, c.MySQL.Port = false, 0 }},
		{"no retries, no cache, no lifetime", func(c *Config) {
			c.GRPCClient.MaxRetries, c.QueryPipeline.TranspilerCacheSize, c.ConnectionPool.MaxLifetimeSeconds = 0, 0, 0
		}},
		{"replica", func(c *Config) {
			c.Replica.Enabled, c.Replica.FollowAddresses, c.Replica.Secret = true, []string{"n1:8080", "[::1]:8080"}, "s"
		}},
		{"cluster", func(c *Config) { c.Cluster.SeedNodes, c.Cluster.ClusterSecret = []string{"n1:8080"}, "s" }},
		{"sinks while publisher disabled", func(c *Config) {
			k, n := DefaultSink(), DefaultSink()
			k.Name, k.Type, k.Brokers = "k", "kafka", []string{"b:9092"}
			n.Name, n.Type, n.NATSURL = "n", "NATS", "nats://x:4222"
			c.Publisher.Sinks = []SinkConfig{k, n}
		}},
		{"no users", func(c *Config) { c.MySQL.Users = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mutate(&c)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	c := Default()
	c.MySQL.Port = 0
	c.Logging.Format = "xml"
	c.Replication.GCMinRetentionHours = 0
	err := c.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, key := range []string{"mysql.port", "logging.format", "replication.gc_min_retention_hours"} {
		if !strings.Contains(err.Error(), "config: "+key+" = ") {
			t.Errorf("%q not reported in:\n%v", key, err)
		}
	}
}

// TestInert: settings that are accepted but change nothing are reported
// when set away from their defaults, and only then.
func TestInert(t *testing.T) {
	if got := Default().Inert(); len(got) != 0 {
		t.Fatalf("defaults reported inert: %q", got)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		key  string
	}{
		{"conflict window", func(c *Config) { c.Transaction.ConflictWindowSeconds = 30 }, "transaction.conflict_window_seconds"},
		{"read timeout", func(c *Config) { c.Replication.ReadTimeoutMS = 100 }, "replication.read_timeout_ms"},
		{"validator pool", func(c *Config) { c.QueryPipeline.ValidatorPoolSize = 2 }, "query_pipeline.validator_pool_size"},
		{"idempotent DDL off", func(c *Config) { c.DDL.EnableIdempotent = false }, "ddl.enable_idempotent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.edit(&c)
			got := c.Inert()
			if len(got) != 1 || !strings.HasPrefix(got[0], tc.key) {
				t.Fatalf("Inert() = %q, want one line about %s", got, tc.key)
			}
		})
	}
}
