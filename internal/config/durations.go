package config

import (
	"net"
	"strconv"
	"time"
)

// The struct fields keep the unit of their key; these convert at the point of use so
// no caller multiplies by the wrong unit.

func ms(n int) time.Duration  { return time.Duration(n) * time.Millisecond }
func sec(n int) time.Duration { return time.Duration(n) * time.Second }

// HeartbeatTimeout is HeartbeatTimeoutSeconds as a duration.
func (c TransactionConfig) HeartbeatTimeout() time.Duration { return sec(c.HeartbeatTimeoutSeconds) }

// ConflictWindow is ConflictWindowSeconds as a duration.
func (c TransactionConfig) ConflictWindow() time.Duration { return sec(c.ConflictWindowSeconds) }

// LockWaitTimeout is LockWaitTimeoutSeconds as a duration.
func (c TransactionConfig) LockWaitTimeout() time.Duration { return sec(c.LockWaitTimeoutSeconds) }

// MaxIdleTime is MaxIdleTimeSeconds as a duration.
func (c ConnectionPoolConfig) MaxIdleTime() time.Duration { return sec(c.MaxIdleTimeSeconds) }

// MaxLifetime is MaxLifetimeSeconds as a duration; 0 means unlimited, as in
// database/sql's SetConnMaxLifetime.
func (c ConnectionPoolConfig) MaxLifetime() time.Duration { return sec(c.MaxLifetimeSeconds) }

// KeepaliveTime is KeepaliveTimeSeconds as a duration.
func (c GRPCClientConfig) KeepaliveTime() time.Duration { return sec(c.KeepaliveTimeSeconds) }

// KeepaliveTimeout is KeepaliveTimeoutSeconds as a duration.
func (c GRPCClientConfig) KeepaliveTimeout() time.Duration { return sec(c.KeepaliveTimeoutSeconds) }

// RetryBackoff is RetryBackoffMS as a duration.
func (c GRPCClientConfig) RetryBackoff() time.Duration { return ms(c.RetryBackoffMS) }

// PrepareTimeout is PrepareTimeoutMS as a duration.
func (c CoordinatorConfig) PrepareTimeout() time.Duration { return ms(c.PrepareTimeoutMS) }

// CommitTimeout is CommitTimeoutMS as a duration.
func (c CoordinatorConfig) CommitTimeout() time.Duration { return ms(c.CommitTimeoutMS) }

// AbortTimeout is AbortTimeoutMS as a duration.
func (c CoordinatorConfig) AbortTimeout() time.Duration { return ms(c.AbortTimeoutMS) }

// GRPCAddr is the cluster listener's host:port for net.Listen.
func (c ClusterConfig) GRPCAddr() string {
	return net.JoinHostPort(c.GRPCBindAddress, strconv.Itoa(c.GRPCPort))
}

// GossipPort is the membership gossip port (TCP and UDP): GossipPortSetting, or
// GRPCPort + 1000 when that is 0.
func (c ClusterConfig) GossipPort() int {
	if c.GossipPortSetting != 0 {
		return c.GossipPortSetting
	}
	return c.GRPCPort + 1000
}

// GossipAddr is the gossip listener's host:port (GRPCBindAddress, GossipPort()).
func (c ClusterConfig) GossipAddr() string {
	return net.JoinHostPort(c.GRPCBindAddress, strconv.Itoa(c.GossipPort()))
}

// GossipInterval is GossipIntervalMS as a duration.
func (c ClusterConfig) GossipInterval() time.Duration { return ms(c.GossipIntervalMS) }

// SuspectTimeout is SuspectTimeoutMS as a duration.
func (c ClusterConfig) SuspectTimeout() time.Duration { return ms(c.SuspectTimeoutMS) }

// DeadTimeout is DeadTimeoutMS as a duration.
func (c ClusterConfig) DeadTimeout() time.Duration { return ms(c.DeadTimeoutMS) }

// MaxClockSkew is MaxClockSkewMS as a duration.
func (c ClusterConfig) MaxClockSkew() time.Duration { return ms(c.MaxClockSkewMS) }

// DiscoveryInterval is DiscoveryIntervalSeconds as a duration.
func (c ReplicaConfig) DiscoveryInterval() time.Duration { return sec(c.DiscoveryIntervalSeconds) }

// FailoverTimeout is FailoverTimeoutSeconds as a duration.
func (c ReplicaConfig) FailoverTimeout() time.Duration { return sec(c.FailoverTimeoutSeconds) }

// ReconnectInterval is ReconnectIntervalSeconds as a duration.
func (c ReplicaConfig) ReconnectInterval() time.Duration { return sec(c.ReconnectIntervalSeconds) }

// WriteTimeout is WriteTimeoutMS as a duration.
func (c ReplicationConfig) WriteTimeout() time.Duration { return ms(c.WriteTimeoutMS) }

// ViewCommitDelay is ViewCommitDelayMS as a duration.
func (c ReplicationConfig) ViewCommitDelay() time.Duration { return ms(c.ViewCommitDelayMS) }

// ReadTimeout is ReadTimeoutMS as a duration.
func (c ReplicationConfig) ReadTimeout() time.Duration { return ms(c.ReadTimeoutMS) }

// AntiEntropyInterval is AntiEntropyIntervalSeconds as a duration.
func (c ReplicationConfig) AntiEntropyInterval() time.Duration {
	return sec(c.AntiEntropyIntervalSeconds)
}

// DeltaSyncThreshold is DeltaSyncThresholdSeconds as a duration.
func (c ReplicationConfig) DeltaSyncThreshold() time.Duration {
	return sec(c.DeltaSyncThresholdSeconds)
}

// GCMinRetention is GCMinRetentionHours as a duration.
func (c ReplicationConfig) GCMinRetention() time.Duration {
	return time.Duration(c.GCMinRetentionHours * float64(time.Hour))
}

// GCMaxRetention is GCMaxRetentionHours as a duration; 0 means keep forever.
func (c ReplicationConfig) GCMaxRetention() time.Duration {
	return time.Duration(c.GCMaxRetentionHours * float64(time.Hour))
}

// Addr is the MySQL listener's host:port for net.Listen.
func (c MySQLConfig) Addr() string {
	return net.JoinHostPort(c.BindAddress, strconv.Itoa(c.Port))
}

// LockLease is LockLeaseSeconds as a duration.
func (c DDLConfig) LockLease() time.Duration { return sec(c.LockLeaseSeconds) }
