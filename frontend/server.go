package frontend

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/server"
	lru "github.com/hashicorp/golang-lru/v2"
	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Committer makes a captured change set durable: the log on a single node,
// the distributed-commit coordinator in a cluster. Append runs while the
// database's writer is held, so it must not block on I/O: it checks the
// change set against seen (failing with an error wrapping txlog.ErrConflict
// when rows changed after seen), assigns Origin, Seq and Hlc, and queues
// it. The Commitment's Wait is the commit point: for QUORUM and ALL it is
// where the other nodes are asked, after the writer is released.
type Committer interface {
	Append(cs *marmotv1.ChangeSet, seen txlog.Watermark, level txlog.Consistency) (Commitment, error)
}

// Commitment is a queued commit.
type Commitment interface {
	Wait(ctx context.Context) error
}

// LocalCommitter commits to this node's log alone (single node).
func LocalCommitter(l *txlog.Log) Committer { return localCommitter{l} }

type localCommitter struct{ l *txlog.Log }

func (c localCommitter) Append(cs *marmotv1.ChangeSet, seen txlog.Watermark, _ txlog.Consistency) (Commitment, error) {
	a, err := c.l.Append(cs, seen)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Options configure a Server.
type Options struct {
	Materializer *materializer.Materializer
	Committer    Committer
	// IDs generates AUTO_INCREMENT values (compact or extended layout).
	IDs *txlog.IDGenerator
	// Users maps user name to password; empty means root with no password.
	Users map[string]string
	// Version is reported as @@version and in the handshake.
	Version string
	// CacheSize is the transpiler LRU size (0 disables caching).
	CacheSize int
	// LockWaitTimeout bounds waiting for a database's writer.
	LockWaitTimeout time.Duration
	// WriteTimeout bounds a commit (log append and view update).
	WriteTimeout time.Duration
	// Consistency is the default write consistency level; a session
	// overrides it with SET marmot_write_consistency.
	Consistency    txlog.Consistency
	MaxConnections int
	// MaxAllowedPacket bounds a client request in bytes (0 = unbounded).
	MaxAllowedPacket int
	// Port is the MySQL port, reported as @@port.
	Port int
	// DefaultDatabase is created at start if missing.
	DefaultDatabase string
	// TLS, when set, is offered to clients that ask for it; nil serves
	// plaintext only.
	TLS *tls.Config
	// RequireSecureTransport refuses logins over plaintext TCP (MySQL error
	// 3159); Unix-socket logins are accepted, as in MySQL.
	RequireSecureTransport bool
	// ReadOnly refuses every write with error 1290 (replica mode) and
	// reports @@read_only = 1.
	ReadOnly bool
	Logger   *slog.Logger
}

// Version is the server version string clients see.
const Version = "8.0.36-marmot"

// Server accepts MySQL connections. Safe for concurrent use.
type Server struct {
	opts    Options
	mat     *materializer.Materializer
	logger  *slog.Logger
	version string
	conf    *server.Server
	cache   *lru.Cache[string, []transpile.Statement]

	mu        sync.Mutex
	listeners []net.Listener
	sessions  map[uint32]*Session
	open      atomic.Int64
	closed    bool
	wg        sync.WaitGroup
	started   time.Time
	queries   atomic.Int64
	retries   sync.Map // database name -> *sync.Mutex
	decoy     string   // password of unknown users
	// infoSchema caches the information_schema snapshot between queries.
	infoSchema *isCache
	// defs caches SHOW CREATE TABLE texts for the transpiler by
	// (database, schema generation, table): the LIKE of a SELECT asks for
	// its column's collation.
	defsMu sync.Mutex
	defs   map[string]string
}

// maxCachedDefs bounds srv.defs; it starts over when full.
const maxCachedDefs = 1024

// retryLock serializes conflict retries within one database.
func (srv *Server) retryLock(db string) *sync.Mutex {
	mu, _ := srv.retries.LoadOrStore(db, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

// New returns a server; call Serve for each listener.
func New(opts Options) (*Server, error) {
	if opts.Version == "" {
		opts.Version = Version
	}
	if opts.LockWaitTimeout <= 0 {
		opts.LockWaitTimeout = 50 * time.Second
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if len(opts.Users) == 0 {
		opts.Users = map[string]string{"root": ""}
	}
	srv := &Server{opts: opts, mat: opts.Materializer, logger: opts.Logger, version: opts.Version,
		sessions: map[uint32]*Session{}, started: time.Now(), decoy: rand.Text(),
		infoSchema: &isCache{dbs: map[string]*isDBCache{}}}
	// mysql_native_password is announced (every client has it); a TLS
	// connection is switched to caching_sha2_password (authHandler), whose
	// full authentication sends the password in the clear, which only TLS
	// makes safe. Plaintext connections would need an RSA key pair for it.
	srv.conf = server.NewServerWithAuth(opts.Version, mysql.DEFAULT_COLLATION_ID, mysql.AUTH_NATIVE_PASSWORD, nil, opts.TLS,
		&authProvider{users: opts.Users})
	// LOAD DATA LOCAL INFILE: the client may send files it is asked for.
	if err := srv.conf.SetCapability(mysql.CLIENT_LOCAL_FILES); err != nil {
		return nil, err
	}
	if opts.CacheSize > 0 {
		c, err := lru.New[string, []transpile.Statement](opts.CacheSize)
		if err != nil {
			return nil, err
		}
		srv.cache = c
	}
	return srv, nil
}

// EnsureDatabase creates a database if it does not exist (the default
// `marmot` database a fresh node offers).
func (srv *Server) EnsureDatabase(ctx context.Context, name string) error {
	if _, err := srv.mat.DB(name); err == nil {
		return nil
	}
	s := srv.newSession(0, "root")
	// Every node creates the default database at its first start, before
	// it may have met the others; the creations are idempotent and
	// converge, so the local log is enough.
	s.sysVars["marmot_write_consistency"] = txlog.One.String()
	_, err := s.createDatabase(ctx, name, true)
	return err
}

// Serve accepts connections on l until Close.
func (srv *Server) Serve(l net.Listener) error {
	srv.mu.Lock()
	if srv.closed {
		srv.mu.Unlock()
		return errors.New("frontend: server closed")
	}
	srv.listeners = append(srv.listeners, l)
	srv.mu.Unlock()
	for {
		c, err := l.Accept()
		if err != nil {
			srv.mu.Lock()
			closed := srv.closed
			srv.mu.Unlock()
			if closed {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		srv.wg.Add(1)
		go srv.handle(c)
	}
}

// authProvider checks mysql_native_password logins. go-mysql's default
// provider panics when a password is sent for a user whose password is
// empty, so that case is answered here; all others go to go-mysql.
type authProvider struct {
	server.DefaultAuthenticationProvider
	users map[string]string
}

func (a *authProvider) Authenticate(c *server.Conn, plugin string, data []byte) error {
	empty := len(data) == 0 || (len(data) == 1 && data[0] == 0)
	if pw, ok := a.users[c.GetUser()]; ok && pw == "" {
		if empty {
			return nil
		}
		return server.ErrAccessDenied
	}
	return a.DefaultAuthenticationProvider.Authenticate(c, plugin, data)
}

// authHandler serves one connection's login; it is called from that
// connection's goroutine only.
type authHandler struct {
	srv *Server
	// below is the connection under go-mysql: raw once the client asked
	// for TLS.
	below *bufferedConn
	// local is a Unix-socket connection, secure without TLS.
	local bool
	// refused is why the login was refused (a refused* label), "" if not.
	refused string
}

// GetCredential answers an unknown user with a password nobody knows, so
// the login fails with MySQL's 1045 "Access denied" (not 1449) and does not
// reveal which users exist. Over TLS the plugin is caching_sha2_password,
// which MySQL 8.4+ clients require.
func (a *authHandler) GetCredential(user string) (server.Credential, bool, error) {
	pw, ok := a.srv.opts.Users[user]
	if !ok {
		pw = a.srv.decoy
	}
	plugin := mysql.AUTH_NATIVE_PASSWORD
	if a.below.raw {
		plugin = mysql.AUTH_CACHING_SHA2_PASSWORD
	}
	return server.Credential{Passwords: []string{pw}, AuthPluginName: plugin}, true, nil
}

// OnAuthSuccess enforces require_secure_transport (error 3159) and
// max_connections (error 1040) after authentication, as MySQL does.
func (a *authHandler) OnAuthSuccess(c *server.Conn) error {
	if a.srv.opts.RequireSecureTransport && !a.below.raw && !a.local {
		a.refused = refusedInsecure
		return myErr(erSecureTransportRequired, "HY000", "Connections using insecure transport are prohibited while --require_secure_transport=ON.")
	}
	if m := a.srv.opts.MaxConnections; m > 0 && a.srv.open.Load() > int64(m) {
		a.refused = refusedMaxConns
		return myErr(mysql.ER_CON_COUNT_ERROR, "08004", "Too many connections")
	}
	return nil
}

// OnAuthFailure tells a wrong password from a login that broke off (which
// handle counts as a handshake failure).
func (a *authHandler) OnAuthFailure(_ *server.Conn, err error) {
	var my *mysql.MyError
	if errors.As(err, &my) && my.Code == mysql.ER_ACCESS_DENIED_ERROR {
		a.refused = refusedAuth
	}
}

// erSecureTransportRequired is MySQL's ER_SECURE_TRANSPORT_REQUIRED.
const erSecureTransportRequired = 3159

func (srv *Server) handle(nc net.Conn) {
	defer srv.wg.Done()
	defer func() {
		// A bug in one connection (ours or the protocol library's) must not
		// take the node down: drop that connection and say so.
		if r := recover(); r != nil {
			srv.logger.Error("connection panicked; closed", "remote", nc.RemoteAddr().String(), "panic", r, "stack", string(debug.Stack()))
			nc.Close()
		}
	}()
	srv.open.Add(1)
	defer srv.open.Add(-1)
	metricConnsTotal.Inc()
	metricConnsOpen.Inc()
	defer metricConnsOpen.Dec()
	s := srv.newSession(0, "")
	s.bconn = newBufferedConn(nc, srv.opts.MaxAllowedPacket)
	auth := &authHandler{srv: srv, below: s.bconn, local: nc.LocalAddr().Network() == "unix"}
	conn, err := srv.conf.NewCustomizedConn(s.bconn, auth, s)
	if err != nil {
		nc.Close()
		if auth.refused == "" {
			auth.refused = refusedHandshake
		}
		metricConnsRefused.WithLabelValues(auth.refused).Inc()
		return
	}
	if tc, ok := conn.Conn.Conn.(*tls.Conn); ok {
		// The packet work (client packet limit, parameter types) moves
		// above TLS, where the packets are.
		s.bconn.rawBudget = -1
		s.bconn = newBufferedConn(tc, srv.opts.MaxAllowedPacket)
		conn.Conn.Conn = s.bconn
	}
	s.conn, s.id, s.user = conn, conn.ConnectionID(), conn.GetUser()
	conn.SetStatus(mysql.SERVER_STATUS_AUTOCOMMIT)
	srv.mu.Lock()
	srv.sessions[s.id] = s
	srv.mu.Unlock()
	defer func() {
		srv.mu.Lock()
		delete(srv.sessions, s.id)
		srv.mu.Unlock()
		s.close()
	}()
	for !conn.Closed() {
		if err := conn.HandleCommand(); err != nil {
			return
		}
	}
}

// Close stops accepting, closes client connections and waits for them.
func (srv *Server) Close() error {
	srv.mu.Lock()
	srv.closed = true
	for _, l := range srv.listeners {
		l.Close()
	}
	for _, s := range srv.sessions {
		if s.conn != nil {
			s.conn.Close()
		}
	}
	srv.mu.Unlock()
	srv.wg.Wait()
	srv.infoSchema.close()
	return nil
}

// ConnectHook registers marmot's SQL functions on each SQLite connection;
// pass it to materializer.Options.ConnectHook.
func ConnectHook(c *sqlite3.SQLiteConn, env *materializer.Env) error {
	if err := (&Server{version: Version}).registerFunctions(c, env); err != nil {
		return err
	}
	// marmot_capturing() is true while a client statement executes (the
	// session is set), false while the applier applies change sets: triggers
	// that compute values (ON UPDATE CURRENT_TIMESTAMP) run only at the
	// origin, and replicas store what it chose.
	return c.RegisterFunc("marmot_capturing", func() bool { return env.Session != nil }, false)
}

func (srv *Server) sysVar(s *Session, name string) any {
	return sysVar(s, name)
}

// processList is SHOW PROCESSLIST.
func (srv *Server) processList() [][]any {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	var rows [][]any
	for id, s := range srv.sessions {
		var db any
		if s.db != "" {
			db = s.db
		}
		cmd, info := "Sleep", any(nil)
		if q := s.current.Load(); q != nil {
			cmd, info = "Query", *q
		}
		rows = append(rows, []any{int64(id), s.user, "localhost", db, cmd, int64(0), "", info})
	}
	return rows
}

// tlsStatus is the session's Ssl_version and Ssl_cipher, empty over
// plaintext, as MySQL reports them.
func (s *Session) tlsStatus() (version, cipher string) {
	if s.bconn == nil {
		return "", ""
	}
	tc, ok := s.bconn.Conn.(*tls.Conn)
	if !ok {
		return "", ""
	}
	st := tc.ConnectionState()
	return strings.Replace(tls.VersionName(st.Version), "TLS 1.", "TLSv1.", 1), tls.CipherSuiteName(st.CipherSuite)
}
