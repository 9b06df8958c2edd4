package config

// Default is the configuration of a single node started with no file: it needs no
// peers, listens for MySQL on 0.0.0.0:3306 and for peers on 0.0.0.0:8080, and keeps
// its data in ./marmot-data. Every value equals the product reference and the shipped
// config.toml (a test holds the three together).
func Default() Config {
	return Config{
		NodeID:  0,
		DataDir: "./marmot-data",
		Transaction: TransactionConfig{
			HeartbeatTimeoutSeconds: 10,
			ConflictWindowSeconds:   10,
			LockWaitTimeoutSeconds:  50,
		},
		ConnectionPool: ConnectionPoolConfig{
			PoolSize:           4,
			MaxIdleTimeSeconds: 10,
			MaxLifetimeSeconds: 300,
		},
		GRPCClient: GRPCClientConfig{
			KeepaliveTimeSeconds:    10,
			KeepaliveTimeoutSeconds: 3,
			MaxRetries:              3,
			RetryBackoffMS:          100,
		},
		Coordinator: CoordinatorConfig{
			PrepareTimeoutMS: 2000,
			CommitTimeoutMS:  2000,
			AbortTimeoutMS:   2000,
		},
		Cluster: ClusterConfig{
			GRPCBindAddress:   "0.0.0.0",
			GRPCPort:          8080,
			SeedNodes:         []string{},
			ClusterSecret:     "",
			GossipIntervalMS:  1000,
			GossipFanout:      3,
			SuspectTimeoutMS:  5000,
			DeadTimeoutMS:     10000,
			GossipPortSetting: 0,
			MaxClockSkewMS:    500,
		},
		Replica: ReplicaConfig{
			Enabled:                  false,
			FollowAddresses:          []string{},
			Secret:                   "",
			DiscoveryIntervalSeconds: 30,
			FailoverTimeoutSeconds:   60,
			ReconnectIntervalSeconds: 5,
		},
		Replication: ReplicationConfig{
			DefaultWriteConsistency:        "QUORUM",
			DefaultReadConsistency:         "LOCAL_ONE",
			WriteTimeoutMS:                 5000,
			ReadTimeoutMS:                  2000,
			EnableAntiEntropy:              true,
			AntiEntropyIntervalSeconds:     60,
			DeltaSyncThresholdTransactions: 10000,
			DeltaSyncThresholdSeconds:      3600,
			GCMinRetentionHours:            2,
			GCMaxRetentionHours:            24,
			ViewCommitDelayMS:              1000,
		},
		QueryPipeline: QueryPipelineConfig{
			TranspilerCacheSize: 10000,
			ValidatorPoolSize:   8,
		},
		MySQL: MySQLConfig{
			Enabled:          true,
			BindAddress:      "0.0.0.0",
			Port:             3306,
			MaxConnections:   1000,
			UnixSocket:       "",
			UnixSocketPerm:   0o660,
			AutoIDMode:       "compact",
			MaxAllowedPacket: 64 << 20,
			TLSCertFile:      "",
			TLSKeyFile:       "",
			Users:            DefaultUsers(),
		},
		Publisher: PublisherConfig{
			Enabled:         false,
			TakeoverAfterMS: 30000,
			Sinks:           []SinkConfig{},
		},
		Logging: LoggingConfig{
			Verbose: false,
			Format:  "console",
		},
		Prometheus: PrometheusConfig{
			Enabled: true,
		},
		DDL: DDLConfig{
			LockLeaseSeconds: 30,
			EnableIdempotent: true,
		},
	}
}

// DefaultUsers is the account list used when none is configured: "root" with an
// empty password, as a fresh MySQL install has.
func DefaultUsers() []MySQLUser {
	return []MySQLUser{{Name: "root", Password: ""}}
}
