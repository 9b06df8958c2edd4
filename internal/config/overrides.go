package config

import (
	"net/url"
	"strings"
)

// Overrides are the command-line flags of marmotd. A nil field was not given; a set
// one beats both the file and the environment, because flags are the most specific,
// shortest-lived way to say something.
type Overrides struct {
	DataDir   *string // --data-dir → data_dir
	MySQLPort *int    // --mysql-port → mysql.port
	GRPCPort  *int    // --grpc-port → cluster.grpc_port
	NodeID    *uint64 // --node-id → node_id

	// FollowAddresses (--follow-addresses, comma-separated) replaces
	// replica.follow_addresses when non-nil.
	FollowAddresses []string
}

// Apply writes the given overrides into c. Call it after Load and before Validate.
func (c *Config) Apply(o Overrides) {
	if o.DataDir != nil {
		c.DataDir = *o.DataDir
	}
	if o.MySQLPort != nil {
		c.MySQL.Port = *o.MySQLPort
	}
	if o.GRPCPort != nil {
		c.Cluster.GRPCPort = *o.GRPCPort
	}
	if o.NodeID != nil {
		c.NodeID = *o.NodeID
	}
	if o.FollowAddresses != nil {
		c.Replica.FollowAddresses = append([]string{}, o.FollowAddresses...)
	}
	c.normalize()
}

// normalize puts values in the one spelling the rest of marmot compares against:
// consistency levels upper case, other enumerations lower case, list entries trimmed
// (so "a, b" from the environment works). Validate still accepts any case, for
// configs built in code.
func (c *Config) normalize() {
	r := &c.Replication
	r.DefaultWriteConsistency = strings.ToUpper(strings.TrimSpace(r.DefaultWriteConsistency))
	r.DefaultReadConsistency = strings.ToUpper(strings.TrimSpace(r.DefaultReadConsistency))
	c.MySQL.AutoIDMode = strings.ToLower(strings.TrimSpace(c.MySQL.AutoIDMode))
	c.Logging.Format = strings.ToLower(strings.TrimSpace(c.Logging.Format))
	if len(c.MySQL.Users) == 0 {
		c.MySQL.Users = DefaultUsers()
	}
	trim(c.Cluster.SeedNodes)
	trim(c.Replica.FollowAddresses)
	for i := range c.Publisher.Sinks {
		s := &c.Publisher.Sinks[i]
		s.Type = strings.ToLower(strings.TrimSpace(s.Type))
		s.Format = strings.ToLower(strings.TrimSpace(s.Format))
		s.SnapshotMode = strings.ToLower(strings.TrimSpace(s.SnapshotMode))
		trim(s.Brokers)
		trim(s.FilterTables)
		trim(s.FilterDatabases)
	}
}

func trim(list []string) {
	for i, s := range list {
		list[i] = strings.TrimSpace(s)
	}
}

// Redacted returns a copy safe to log or print: every secret and password that is
// set is replaced by "REDACTED" (an empty one still shows as empty), and a password
// in a sink's nats_url by "xxxxx".
func (c Config) Redacted() Config {
	mask := func(s *string) {
		if *s != "" {
			*s = "REDACTED"
		}
	}
	mask(&c.Cluster.ClusterSecret)
	mask(&c.Replica.Secret)
	c.MySQL.Users = append([]MySQLUser(nil), c.MySQL.Users...)
	for i := range c.MySQL.Users {
		mask(&c.MySQL.Users[i].Password)
	}
	c.Publisher.Sinks = append([]SinkConfig(nil), c.Publisher.Sinks...)
	for i, s := range c.Publisher.Sinks {
		if u, err := url.Parse(s.NATSURL); err == nil && u.User != nil {
			c.Publisher.Sinks[i].NATSURL = u.Redacted()
		}
	}
	return c
}
