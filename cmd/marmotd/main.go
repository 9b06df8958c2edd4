// Command marmotd is the marmot service: a MySQL-protocol server whose
// databases are SQLite files materialized from a transaction log.
//
// main only wires packages together, top to bottom: flags and config, one
// startup line, log, materializer, frontend, HTTP; shutdown in reverse.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/marmotdb/marmot/antientropy"
	"github.com/marmotdb/marmot/frontend"
	"github.com/marmotdb/marmot/internal/config"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/peer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "marmotd:", err)
		os.Exit(1)
	}
}

type flags struct {
	configPath string
	overrides  config.Overrides
	rebuild    string
}

func parseFlags(args []string, stderr io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("marmotd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.configPath, "config", os.Getenv("MARMOT_CONFIG"), "TOML config file (default: built-in single-node defaults)")
	dataDir := fs.String("data-dir", "", "data directory (overrides data_dir)")
	mysqlPort := fs.Int("mysql-port", 0, "MySQL port (overrides mysql.port)")
	grpcPort := fs.Int("grpc-port", 0, "cluster/admin HTTP port (overrides cluster.grpc_port)")
	nodeID := fs.Uint64("node-id", 0, "node id (overrides node_id; 0 = keep)")
	follow := fs.String("follow-addresses", "", "replica mode: comma-separated cluster nodes host:grpc_port to follow (overrides replica.follow_addresses)")
	fs.StringVar(&f.rebuild, "rebuild", "", "delete the SQLite file of this database and rebuild it from the log before serving")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "data-dir":
			f.overrides.DataDir = dataDir
		case "mysql-port":
			f.overrides.MySQLPort = mysqlPort
		case "grpc-port":
			f.overrides.GRPCPort = grpcPort
		case "node-id":
			f.overrides.NodeID = nodeID
		case "follow-addresses":
			f.overrides.FollowAddresses = []string{}
			for _, a := range strings.Split(*follow, ",") {
				if a = strings.TrimSpace(a); a != "" {
					f.overrides.FollowAddresses = append(f.overrides.FollowAddresses, a)
				}
			}
		}
	})
	return f, nil
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := config.Load(f.configPath)
	if err != nil {
		return err
	}
	cfg.Apply(f.overrides)
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := newLogger(cfg.Logging, stderr)
	peer.ConfigureTransport(time.Duration(cfg.GRPCClient.KeepaliveTimeSeconds)*time.Second, time.Duration(cfg.GRPCClient.KeepaliveTimeoutSeconds)*time.Second)
	for _, w := range cfg.Inert() {
		logger.Warn("config setting has no effect", "setting", w)
	}
	faults, err := peer.FaultsFromEnv(ctx, logger) // nil unless a test set MARMOT_TEST_FAULTS
	if err != nil {
		return err
	}

	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(cfg.DataDir, "log"), NodeID: cfg.NodeID,
		MaxClockSkew: cfg.Cluster.MaxClockSkew(), Now: faults.Clock(), BeforeSync: faults.BeforeSync(), Logger: logger})
	if err != nil {
		return err
	}
	defer l.Close()
	logger = logger.With("node", l.Node())
	logger.Info("marmotd starting", "version", frontend.Version, "data_dir", cfg.DataDir,
		"mysql", cfg.MySQL.Addr(), "http", cfg.Cluster.GRPCAddr(), "unix_socket", cfg.MySQL.UnixSocket, "previous_run_crashed", l.UncleanStart())

	mode := txlog.IDCompact
	if cfg.MySQL.AutoIDMode == "extended" {
		mode = txlog.IDExtended
	}
	ids, err := l.NewIDGenerator(mode, nil)
	if err != nil {
		return err
	}

	viewsDir := filepath.Join(cfg.DataDir, "db")
	if err := antientropy.ResumeInstall(cfg.DataDir, l, materializer.InstallFile, viewsDir, logger); err != nil {
		return fmt.Errorf("finish interrupted snapshot install: %w", err)
	}
	mat, err := materializer.Open(ctx, materializer.Options{Dir: filepath.Join(cfg.DataDir, "db"), Log: l,
		ReadPoolSize: cfg.ConnectionPool.PoolSize, ReadConnMaxIdle: time.Duration(cfg.ConnectionPool.MaxIdleTimeSeconds) * time.Second,
		ReadConnMaxLifetime: time.Duration(cfg.ConnectionPool.MaxLifetimeSeconds) * time.Second,
		ConnectHook:         frontend.ConnectHook, Logger: logger, ViewCommitDelay: cfg.Replication.ViewCommitDelay()})
	if err != nil {
		return err
	}
	defer mat.Close()
	if f.rebuild != "" {
		start := time.Now()
		if err := mat.Rebuild(ctx, f.rebuild); err != nil {
			return fmt.Errorf("rebuild %s: %w", f.rebuild, err)
		}
		logger.Info("rebuilt database from the log", "db", f.rebuild, "took", time.Since(start))
	}
	stopOutbox, outboxAdmin, err := startOutbox(ctx, cfg, l, mat, logger)
	if err != nil {
		return err
	}
	defer stopOutbox()

	mux := http.NewServeMux()
	admin := &peer.AdminService{Secret: cfg.Cluster.ClusterSecret, Log: l,
		Views: mat, Version: frontend.Version, Started: time.Now()}
	var committer frontend.Committer = frontend.LocalCommitter(l)
	if cfg.Replica.Enabled {
		// Replica mode: read-only, following a cluster it is not a member of.
		startReplica(ctx, cfg, l, mat, admin, logger)
	} else if cfg.Cluster.ClusterSecret != "" || len(cfg.Cluster.SeedNodes) > 0 {
		c, stop, err := startCluster(ctx, cfg, l, mat, mux, admin, faults, logger)
		if err != nil {
			return err
		}
		defer stop()
		committer = c
	}
	admin.Register(mux) // without a cluster_secret it refuses every call, saying why
	mux.Handle("POST /admin/outbox/resnapshot/{sink}", admin.Protect(outboxAdmin))
	level, err := txlog.ParseConsistency(cfg.Replication.DefaultWriteConsistency)
	if err != nil {
		return err
	}

	tlsConf, err := cfg.MySQL.TLS()
	if err != nil {
		return err
	}
	users := map[string]string{}
	for _, u := range cfg.MySQL.Users {
		users[u.Name] = u.Password
	}
	srv, err := frontend.New(frontend.Options{Materializer: mat, Committer: committer, Consistency: level, IDs: ids, Users: users,
		CacheSize: cfg.QueryPipeline.TranspilerCacheSize, LockWaitTimeout: cfg.Transaction.LockWaitTimeout(),
		WriteTimeout: cfg.Replication.WriteTimeout(), MaxConnections: cfg.MySQL.MaxConnections, MaxAllowedPacket: cfg.MySQL.MaxAllowedPacket, Port: cfg.MySQL.Port,
		DefaultDatabase: "marmot", TLS: tlsConf, RequireSecureTransport: cfg.MySQL.RequireSecureTransport,
		ReadOnly: cfg.Replica.Enabled, Logger: logger})
	if err != nil {
		return err
	}
	// A replica writes nothing of its own: the cluster's `marmot` database
	// reaches it with the rest.
	if !cfg.Replica.Enabled {
		if err := srv.EnsureDatabase(ctx, "marmot"); err != nil {
			return fmt.Errorf("create default database: %w", err)
		}
	}
	defer srv.Close()

	errc := make(chan error, 3)
	if cfg.MySQL.Enabled {
		ln, err := net.Listen("tcp", cfg.MySQL.Addr())
		if err != nil {
			return fmt.Errorf("mysql listener: %w", err)
		}
		go func() { errc <- srv.Serve(ln) }()
		if cfg.MySQL.UnixSocket != "" {
			_ = os.Remove(cfg.MySQL.UnixSocket)
			ul, err := net.Listen("unix", cfg.MySQL.UnixSocket)
			if err != nil {
				return fmt.Errorf("unix socket: %w", err)
			}
			if err := os.Chmod(cfg.MySQL.UnixSocket, cfg.MySQL.UnixSocketPerm.Perm()); err != nil {
				return fmt.Errorf("unix socket permissions: %w", err)
			}
			defer os.Remove(cfg.MySQL.UnixSocket)
			go func() { errc <- srv.Serve(ul) }()
		}
	}

	if cfg.Prometheus.Enabled {
		mux.Handle("/metrics", promhttp.Handler())
	}
	if cfg.Logging.Verbose {
		// Profiling reveals internals; only when asked for (no admin auth yet).
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.Handle("/debug/pprof/goroutine", pprof.Handler("goroutine"))
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	hs := &http.Server{Addr: cfg.Cluster.GRPCAddr(), Handler: mux, ReadHeaderTimeout: 10 * time.Second, Protocols: peer.ServerProtocols()}
	hl, err := net.Listen("tcp", hs.Addr)
	if err != nil {
		return fmt.Errorf("http listener: %w", err)
	}
	go func() { errc <- hs.Serve(hl) }()
	defer hs.Close()

	logger.Info("marmotd ready", "mysql", cfg.MySQL.Addr(), "http", hs.Addr)
	select {
	case <-ctx.Done():
		logger.Info("marmotd shutting down")
		return nil
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

func newLogger(c config.LoggingConfig, w io.Writer) *slog.Logger {
	level := slog.LevelInfo
	if c.Verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// startCluster joins the cluster: gossip membership, the peer service
// (log streams and the participant side of commits), pulling from every
// member, and the commit coordinator the frontend writes through.
func startCluster(ctx context.Context, cfg config.Config, l *txlog.Log, mat *materializer.Materializer, mux *http.ServeMux, admin *peer.AdminService, faults *peer.Faults, logger *slog.Logger) (frontend.Committer, func(), error) {
	secret := cfg.Cluster.ClusterSecret
	if secret == "" {
		return nil, nil, peer.ErrNoSecret
	}
	advertise, err := advertiseAddr(cfg.Cluster.GRPCBindAddress, cfg.Cluster.GRPCPort)
	if err != nil {
		return nil, nil, err
	}
	pl := &peer.Puller{Log: l, Secret: secret, Port: uint32(cfg.Cluster.GRPCPort), Logger: logger, Refresh: 30 * time.Second}
	members, err := peer.StartMembership(ctx, peer.MembershipConfig{NodeID: l.Node(), Addr: advertise, BindAddr: cfg.Cluster.GRPCBindAddress,
		GossipPort: cfg.Cluster.GossipPort(), Secret: secret, Seeds: cfg.Cluster.SeedNodes,
		GossipInterval: millis(cfg.Cluster.GossipIntervalMS), Fanout: cfg.Cluster.GossipFanout,
		SuspectTimeout: millis(cfg.Cluster.SuspectTimeoutMS), DeadTimeout: millis(cfg.Cluster.DeadTimeoutMS),
		Dir: cfg.DataDir, Logger: logger, OnAlive: func(m peer.Member) { pl.AddPeer(m.Addr) }})
	if err != nil {
		return nil, nil, err
	}
	svc := &peer.Service{Log: l, Logger: logger, OnCaller: pl.AddPeer, CommitWait: millis(cfg.Coordinator.CommitTimeoutMS), ReplicaSecret: cfg.Replica.Secret, HoldOwn: faults.HoldOwn(),
		Relay: func(origin uint64) bool {
			for _, m := range members.Members() {
				if m.ID == origin {
					return m.State != peer.MemberAlive
				}
			}
			return true
		}}
	ttl := time.Duration(cfg.Transaction.HeartbeatTimeoutSeconds) * time.Second
	path, h, err := svc.Handler(secret)
	if err != nil {
		members.Close()
		return nil, nil, err
	}
	mux.Handle(path, h)
	mpath, mh := members.Handler()
	mux.Handle(mpath, mh)
	if cfg.Replica.Secret != "" { // replicas may follow this node
		mux.Handle(peer.ReplicaMembersHandler(secret, cfg.Replica.Secret, members.Members))
	}
	admin.Membership = members
	if err := peer.RegisterMembershipMetrics(members); err != nil {
		logger.Warn("membership metrics not exported", "err", err)
	}
	svc.Snapshots = &antientropy.Source{Dir: antientropy.SnapshotsDir(cfg.DataDir), Log: l, Views: mat, Logger: logger}
	sy := startAntiEntropy(ctx, cfg, l, mat, members, pl, admin, logger)
	if err := pl.Start(ctx, cfg.Cluster.SeedNodes); err != nil {
		members.Close()
		return nil, nil, err
	}
	if sy != nil {
		go sy.Run(ctx)
	}
	coord := &peer.Coordinator{Log: l, Secret: secret, Logger: logger, Joined: members.Joined,
		PrepareTimeout: millis(cfg.Coordinator.PrepareTimeoutMS), CommitTimeout: millis(cfg.Coordinator.CommitTimeoutMS),
		IntentTTL: ttl, DDLLease: time.Duration(cfg.DDL.LockLeaseSeconds) * time.Second, AtCommitPoint: faults.AtCommitPoint(), Streaming: svc.Streaming,
		AbortTimeout: millis(cfg.Coordinator.AbortTimeoutMS), MaxRetries: cfg.GRPCClient.MaxRetries, RetryBackoff: millis(cfg.GRPCClient.RetryBackoffMS),
		Members: func() []peer.Target {
			var out []peer.Target
			for _, m := range members.Members() {
				if !m.Self {
					out = append(out, peer.Target{ID: m.ID, Addr: m.Addr, Live: m.State == peer.MemberAlive || m.State == peer.MemberSuspect})
				}
			}
			return out
		}}
	go coord.Resolve(ctx, time.Second)
	logger.Info("cluster member", "advertise", advertise, "gossip_port", cfg.Cluster.GossipPort(), "seeds", cfg.Cluster.SeedNodes,
		"write_consistency", cfg.Replication.DefaultWriteConsistency)
	return committer{coord}, func() { _ = members.Close() }, nil
}

// committer adapts the coordinator to the frontend's Committer.
type committer struct{ c *peer.Coordinator }

func (c committer) Append(cs *marmotv1.ChangeSet, seen txlog.Watermark, level txlog.Consistency) (frontend.Commitment, error) {
	return c.c.Append(cs, seen, level)
}

func millis(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// advertiseAddr is the peer RPC address other nodes reach this one at: the
// bind address, or for a wildcard bind the host's first non-loopback IPv4
// address (loopback if it has none).
func advertiseAddr(bind string, port int) (string, error) {
	host := bind
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return "", err
		}
		for _, a := range addrs {
			if ip, ok := a.(*net.IPNet); ok && !ip.IP.IsLoopback() && ip.IP.To4() != nil {
				host = ip.IP.String()
				break
			}
		}
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}
