package config

import "time"

// PublisherConfig streams committed changes to external systems as Debezium events.
type PublisherConfig struct {
	// Enabled starts the CDC publisher. Sinks are validated even when it is off, so
	// a broken sink is found before someone turns it on. Default false.
	Enabled bool `toml:"enabled" env:"ENABLED"`

	// TakeoverAfterMS (marmot extension): each node publishes the change sets that
	// originated on it. When another node's change sets have waited this long with
	// no progress of its cursor (it is down, or cannot reach the sink), the next node
	// after it in id order publishes them (the one after that waits twice as long,
	// and so on); duplicates of the last batch are possible then, with the same
	// event ids. 0 disables takeover: a dead node's events wait for its return.
	// Default 30000.
	TakeoverAfterMS int `toml:"takeover_after_ms" env:"TAKEOVER_AFTER_MS"`

	// Sinks are the destinations, one [[publisher.sinks]] table each. Keys a sink
	// leaves out take the defaults of DefaultSink. Default: none.
	// MARMOT_PUBLISHER_SINKS_<i>_<KEY> overrides key KEY of sink i (0-based) or adds
	// the sink.
	Sinks []SinkConfig `toml:"sinks" envPrefix:"SINKS_"`
}

// SinkConfig is one CDC destination.
type SinkConfig struct {
	// Name identifies the sink in logs, metrics and its persisted cursor, so it must
	// be unique and should not change. Required.
	Name string `toml:"name" env:"NAME"`

	// Type is "kafka" or "nats". Required.
	Type string `toml:"type" env:"TYPE"`

	// Format is the event encoding; "debezium" (the default) is the only one.
	Format string `toml:"format" env:"FORMAT"`

	// Brokers are Kafka bootstrap addresses (host:port); required for kafka.
	Brokers []string `toml:"brokers" env:"BROKERS"`

	// NATSURL is the NATS server URL such as "nats://localhost:4222"; required for
	// nats.
	NATSURL string `toml:"nats_url" env:"NATS_URL"`

	// TopicPrefix starts every topic or subject: {prefix}.{database}.{table}.
	// Default "marmot.cdc".
	TopicPrefix string `toml:"topic_prefix" env:"TOPIC_PREFIX"`

	// FilterTables are glob patterns (path.Match syntax) of tables to publish.
	// Default ["*"] (all).
	FilterTables []string `toml:"filter_tables" env:"FILTER_TABLES"`

	// FilterDatabases are glob patterns of databases to publish. Default ["*"].
	FilterDatabases []string `toml:"filter_databases" env:"FILTER_DATABASES"`

	// BatchSize is how many events are read from the log per poll, trading latency
	// for throughput. Default 100.
	BatchSize int `toml:"batch_size" env:"BATCH_SIZE"`

	// PollIntervalMS is the pause between polls when the sink is caught up.
	// Default 10.
	PollIntervalMS int `toml:"poll_interval_ms" env:"POLL_INTERVAL_MS"`

	// RetryInitialMS is the first delay after a failed publish. Default 100.
	RetryInitialMS int `toml:"retry_initial_ms" env:"RETRY_INITIAL_MS"`

	// RetryMaxMS caps the backoff so a recovered broker is retried promptly.
	// Default 30000.
	RetryMaxMS int `toml:"retry_max_ms" env:"RETRY_MAX_MS"`

	// RetryMultiplier grows the delay after each consecutive failure; at least 1.
	// Default 2.0.
	RetryMultiplier float64 `toml:"retry_multiplier" env:"RETRY_MULTIPLIER"`

	// PublishTimeoutMS bounds one publish attempt: a broker that has not
	// acknowledged a batch in this long counts as a failure, is logged and backed
	// off from (the batch is then sent again, with the same event ids). Shorter
	// makes an outage visible sooner in marmot_outbox_publish_failures_total.
	// Default 30000.
	PublishTimeoutMS int `toml:"publish_timeout_ms" env:"PUBLISH_TIMEOUT_MS"`

	// SnapshotMode is what a sink new to the cluster gets first, as Debezium's
	// snapshot.mode: "initial" sends an op "r" event for every existing row, then
	// the change stream; "never" sends no snapshot and starts the change stream at
	// the beginning of the retained log (rows whose change sets GC removed are
	// not sent). A sink that already has a cursor ignores it; `marmotctl outbox
	// resnapshot` works in both modes. Default "initial".
	SnapshotMode string `toml:"snapshot_mode" env:"SNAPSHOT_MODE"`
}

// DefaultSink is a sink with every defaulted key set; Load starts each
// [[publisher.sinks]] table from it. Name, Type, Brokers and NATSURL stay empty.
func DefaultSink() SinkConfig {
	return SinkConfig{
		Format:           "debezium",
		Brokers:          []string{},
		TopicPrefix:      "marmot.cdc",
		FilterTables:     []string{"*"},
		FilterDatabases:  []string{"*"},
		BatchSize:        100,
		PollIntervalMS:   10,
		RetryInitialMS:   100,
		RetryMaxMS:       30000,
		RetryMultiplier:  2.0,
		PublishTimeoutMS: 30000,
		SnapshotMode:     "initial",
	}
}

// TakeoverAfter is TakeoverAfterMS as a duration.
func (p PublisherConfig) TakeoverAfter() time.Duration { return ms(p.TakeoverAfterMS) }

// PollInterval is PollIntervalMS as a duration.
func (s SinkConfig) PollInterval() time.Duration { return ms(s.PollIntervalMS) }

// RetryInitial is RetryInitialMS as a duration.
func (s SinkConfig) RetryInitial() time.Duration { return ms(s.RetryInitialMS) }

// RetryMax is RetryMaxMS as a duration.
func (s SinkConfig) RetryMax() time.Duration { return ms(s.RetryMaxMS) }

// PublishTimeout is PublishTimeoutMS as a duration.
func (s SinkConfig) PublishTimeout() time.Duration { return ms(s.PublishTimeoutMS) }
