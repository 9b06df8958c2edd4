package materializer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	sqlite3 "github.com/mattn/go-sqlite3"

	txlog "github.com/marmotdb/marmot/log"
)

var (
	// ErrNoDatabase: the database does not exist (or was dropped).
	ErrNoDatabase = errors.New("materializer: unknown database")
	// ErrBadName: the name cannot be a database (file) name.
	ErrBadName = errors.New("materializer: incorrect database name")
	// ErrLockWait: the writer was busy for longer than the lock wait timeout.
	ErrLockWait = errors.New("materializer: lock wait timeout exceeded")
)

// Options configure Open.
type Options struct {
	// Dir holds the SQLite files.
	Dir string
	Log *txlog.Log
	// ReadPoolSize is the number of read connections per database.
	ReadPoolSize int
	// ReadConnMaxIdle closes read connections idle this long, and
	// ReadConnMaxLifetime recycles them after this long ([connection_pool];
	// zero: never).
	ReadConnMaxIdle, ReadConnMaxLifetime time.Duration
	// BatchSize bounds the change sets applied in one SQLite transaction.
	BatchSize int
	// ViewCommitDelay bounds how long a busy single node's autocommit
	// writes, answered once durable in the log, may stay in an open SQLite
	// transaction before they reach the file for readers outside marmotd
	// (kept groups, kept.go). Zero: committed as soon as the writer is free.
	ViewCommitDelay time.Duration
	// ConnectHook runs on every new SQLite connection (register functions
	// here). env belongs to the connection; see Env.
	ConnectHook func(conn *sqlite3.SQLiteConn, env *Env) error
	Logger      *slog.Logger
}

// Env is per-connection state for SQL functions that need their session
// (LAST_INSERT_ID(), DATABASE(), @@variables). Whoever runs statements on a
// connection sets Session before and clears it after; functions run on the
// goroutine executing the statement, so no locking is needed.
type Env struct {
	Session any
}

// Materializer owns the SQLite views of all databases. Safe for concurrent use.
type Materializer struct {
	opts   Options
	log    *txlog.Log
	driver string
	logger *slog.Logger
	// envs maps each SQLite connection to its function environment. Keys
	// are weak, and an entry goes with its connection (runtime cleanup),
	// so a read pool that recycles connections does not grow it.
	envs sync.Map // weak.Pointer[sqlite3.SQLiteConn] -> *Env

	mu  sync.Mutex
	dbs map[string]*DB

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// keptPace is keptPace (kept.go), set per materializer so tests can
	// change it without racing another's timers.
	keptPace int
}

var driverSeq atomic.Int64

var validName = regexp.MustCompile(`^[A-Za-z0-9_$][A-Za-z0-9_$-]{0,63}$`)

// ValidName reports whether name can be a database name.
func ValidName(name string) bool {
	return validName.MatchString(name) && !strings.HasPrefix(name, "__marmot")
}

// Open opens every database found on disk or in the log and brings each up
// to the log before returning, so the first read after start-up already
// sees every durable transaction.
func Open(ctx context.Context, opts Options) (*Materializer, error) {
	if opts.ReadPoolSize < 1 {
		opts.ReadPoolSize = 4
	}
	if opts.BatchSize < 1 {
		opts.BatchSize = 512
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("materializer: %w", err)
	}
	if err := registerWALBuf(); err != nil {
		return nil, err
	}
	m := &Materializer{opts: opts, log: opts.Log, logger: opts.Logger, dbs: map[string]*DB{}, keptPace: keptPace}
	m.driver = fmt.Sprintf("marmot_sqlite3_%d", driverSeq.Add(1))
	sql.Register(m.driver, &sqlite3.SQLiteDriver{ConnectHook: func(c *sqlite3.SQLiteConn) error {
		env := &Env{}
		key := weak.Make(c)
		m.envs.Store(key, env)
		runtime.AddCleanup(c, func(k weak.Pointer[sqlite3.SQLiteConn]) { m.envs.Delete(k) }, key)
		if opts.ConnectHook != nil {
			return opts.ConnectHook(c, env)
		}
		return nil
	}})
	m.ctx, m.cancel = context.WithCancel(context.Background())

	names := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(opts.Dir, "*.db"))
	for _, f := range files {
		names[strings.TrimSuffix(filepath.Base(f), ".db")] = true
	}
	for _, n := range opts.Log.DatabaseNames() {
		names[n] = true
	}
	for n := range names {
		d, err := m.ensure(n)
		if err != nil {
			m.Close()
			return nil, err
		}
		if err := d.catchUp(ctx); err != nil {
			m.Close()
			return nil, fmt.Errorf("materializer: bring %s up to the log: %w", n, err)
		}
	}
	m.wg.Add(1)
	go m.watch()
	return m, nil
}

// watch opens appliers for databases that first appear in the log.
func (m *Materializer) watch() {
	defer m.wg.Done()
	for {
		ch := m.log.Changed()
		for _, n := range m.log.DatabaseNames() {
			m.mu.Lock()
			_, ok := m.dbs[n]
			m.mu.Unlock()
			if !ok {
				if _, err := m.ensure(n); err != nil {
					m.logger.Error("open database", "db", n, "err", err)
				}
			}
		}
		select {
		case <-ch:
		case <-m.ctx.Done():
			return
		}
	}
}

func (m *Materializer) ensure(name string) (*DB, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ensureLocked(name)
}

func (m *Materializer) ensureLocked(name string) (*DB, error) {
	if d, ok := m.dbs[name]; ok {
		return d, nil
	}
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, name)
	}
	d := &DB{m: m, name: name, path: filepath.Join(m.opts.Dir, name+".db"), wl: newWriterLock(),
		applied: txlog.Watermark{}, appliedCh: make(chan struct{}), stop: make(chan struct{}), tables: map[string]*tableInfo{},
		wake: make(chan struct{}, 1)}
	if err := d.openFiles(); err != nil {
		return nil, err
	}
	m.dbs[name] = d
	m.wg.Add(1)
	go d.run()
	return d, nil
}

// DB returns a live (not dropped) database.
func (m *Materializer) DB(name string) (*DB, error) {
	m.mu.Lock()
	d, ok := m.dbs[name]
	m.mu.Unlock()
	if !ok || d.Dropped() {
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, name)
	}
	return d, nil
}

// Databases lists live databases, sorted.
func (m *Materializer) Databases() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n, d := range m.dbs {
		if !d.Dropped() {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// WaitApplied blocks until db's view includes change set (origin, seq).
func (m *Materializer) WaitApplied(ctx context.Context, db string, origin, seq uint64) error {
	d, err := m.ensure(db)
	if err != nil {
		return err
	}
	return d.WaitApplied(ctx, origin, seq)
}

// Rebuild deletes db's SQLite file and re-applies the log from the start.
// m.mu is held throughout so the watcher cannot reopen the old file
// between the delete and the new applier.
func (m *Materializer) Rebuild(ctx context.Context, name string) error {
	m.mu.Lock()
	if d, ok := m.dbs[name]; ok {
		delete(m.dbs, name)
		d.shutdown()
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(filepath.Join(m.opts.Dir, name+".db"+suffix)); err != nil && !os.IsNotExist(err) {
			m.mu.Unlock()
			return err
		}
	}
	d, err := m.ensureLocked(name)
	m.mu.Unlock()
	if err != nil {
		return err
	}
	return d.catchUp(ctx)
}

// Close stops the appliers and closes every file.
func (m *Materializer) Close() error {
	m.cancel()
	m.mu.Lock()
	dbs := m.dbs
	m.dbs = map[string]*DB{}
	m.mu.Unlock()
	for _, d := range dbs {
		d.shutdown()
	}
	m.wg.Wait()
	return nil
}

func (m *Materializer) envOf(c *sql.Conn) *Env {
	var env *Env
	_ = c.Raw(func(dc any) error {
		if v, ok := m.envs.Load(weak.Make(dc.(*sqlite3.SQLiteConn))); ok {
			env = v.(*Env)
		}
		return nil
	})
	if env == nil {
		env = &Env{}
	}
	return env
}

// DB is one database: its SQLite file, writer connection, read pool and
// applier.
type DB struct {
	m    *Materializer
	name string
	path string

	// wl is the writer lock: held by the applier for a batch or by a
	// capture transaction from its first write to COMMIT/ROLLBACK.
	wl *writerLock
	// heldAt and heldUrgent describe the current holder of wl (metrics).
	heldAt     time.Time
	heldUrgent bool
	wsql       *sql.DB
	wconn      *sql.Conn
	wenv       *Env
	rsql       *sql.DB
	capturing  *Txn                      // guarded by wl; set by setCapturing
	rcap       *rowCapture               // the writer's row hook (hookc.go); guarded by wl
	group      atomic.Pointer[keptGroup] // open kept captures (kept.go); set holding wl, read also without
	lent       *lentWriter               // the writer set aside for a session connection (BeginOn); guarded by wl
	stmts      map[string]*sql.Stmt      // apply statements; guarded by wl
	upserts    map[string]*upsertShape   // applyRow's, per table; guarded by wl
	ckptFrom   int                       // the WAL length (frames) at the last checkpoint kick; guarded by wl
	// nextGroupCommit (unix ns) is when a closer may next commit a kept
	// group (keptPace); written holding wl.
	nextGroupCommit atomic.Int64

	// The WAL checkpointer (checkpoint.go); set with the files.
	ckptDB   *sql.DB
	ckptKick chan struct{}
	ckptDone chan struct{}
	ckptStop context.CancelFunc

	tmu       sync.Mutex
	tables    map[string]*tableInfo
	schemaGen atomic.Uint64

	wake chan struct{} // makes the applier look again (a kept group was rolled back)

	mu        sync.Mutex
	applied   txlog.Watermark
	appliedCh chan struct{}
	dropped   bool
	stop      chan struct{}
	stopOnce  sync.Once
}

// Name is the MySQL database name.
func (d *DB) Name() string { return d.name }

// Path is the SQLite file.
func (d *DB) Path() string { return d.path }

// SchemaGen changes whenever DDL is applied; callers key schema caches by it.
func (d *DB) SchemaGen() uint64 { return d.schemaGen.Load() }

// Dropped reports whether DROP DATABASE has been applied.
func (d *DB) Dropped() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Applied is a copy of the applied watermark.
func (d *DB) Applied() txlog.Watermark {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.applied.Clone()
}

func (d *DB) openFiles() error {
	// The writer's page cache is 32 MiB (SQLite's default is 2 MiB): with
	// the default, sysbench's 4 × 10,000 rows already missed it on 2.2
	// page reads per insert, each a pread on the one writer.
	w, err := sql.Open(d.m.driver, "file:"+d.path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_stmt_cache_size=128&_cache_size=-32768&vfs="+walbufVFS)
	if err != nil {
		return err
	}
	w.SetMaxOpenConns(1)
	ctx := context.Background()
	conn, err := w.Conn(ctx)
	if err != nil {
		w.Close()
		return fmt.Errorf("materializer: open %s: %w", d.path, err)
	}
	// Checkpoints run off the writer (checkpoint.go).
	if _, err := conn.ExecContext(ctx, `PRAGMA wal_autocheckpoint = 0`); err != nil {
		conn.Close()
		w.Close()
		return fmt.Errorf("materializer: init %s: %w", d.path, err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS __marmot_applied (origin INTEGER PRIMARY KEY, seq INTEGER NOT NULL)`); err != nil {
		conn.Close()
		w.Close()
		return fmt.Errorf("materializer: init %s: %w", d.path, err)
	}
	if err := conn.Raw(func(dc any) (err error) {
		d.rcap, err = openRowCapture(dc.(*sqlite3.SQLiteConn))
		return err
	}); err != nil {
		conn.Close()
		w.Close()
		return err
	}
	r, err := sql.Open(d.m.driver, "file:"+d.path+"?_busy_timeout=10000&_query_only=1&_stmt_cache_size=128")
	if err != nil {
		conn.Close()
		w.Close()
		return err
	}
	r.SetMaxOpenConns(d.m.opts.ReadPoolSize)
	r.SetMaxIdleConns(d.m.opts.ReadPoolSize)
	r.SetConnMaxIdleTime(d.m.opts.ReadConnMaxIdle)
	r.SetConnMaxLifetime(d.m.opts.ReadConnMaxLifetime)
	d.wsql, d.wconn, d.rsql, d.wenv = w, conn, r, d.m.envOf(conn)
	if err := d.openCheckpointer(); err != nil {
		d.closeFiles()
		return err
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	if d.dropped {
		// Re-created after a drop: the fresh file starts at the in-memory
		// watermark, which already covers everything before the drop.
		d.dropped = false
		return d.writeWatermark(ctx, conn, d.applied)
	}
	rows, err := conn.QueryContext(ctx, `SELECT origin, seq FROM __marmot_applied`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o, s int64
		if err := rows.Scan(&o, &s); err != nil {
			return err
		}
		d.applied[uint64(o)] = uint64(s)
	}
	return rows.Err()
}

func (d *DB) writeWatermark(ctx context.Context, c *sql.Conn, w txlog.Watermark) error {
	const q = `INSERT OR REPLACE INTO __marmot_applied (origin, seq) VALUES (?, ?)`
	for o, s := range w {
		var err error
		if c == d.wconn {
			err = d.execCached(ctx, q, []any{int64(o), int64(s)})
		} else {
			_, err = c.ExecContext(ctx, q, int64(o), int64(s))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) closeFiles() {
	for _, st := range d.stmts {
		st.Close()
	}
	d.stmts = nil
	d.upserts = nil
	d.closeCheckpointer()
	if d.wconn != nil {
		d.wconn.Close()
		d.wsql.Close()
		d.rsql.Close()
		d.wconn, d.wsql, d.rsql = nil, nil, nil
	}
	// After the connection: its hook uses the capture state until then.
	d.rcap.close()
	d.rcap = nil
}

func (d *DB) shutdown() {
	d.stopOnce.Do(func() { close(d.stop) })
	// Wait for the writer so an in-flight batch finishes before closing.
	_ = d.wl.lock(context.Background(), nil, true)
	d.finishGroupLocked()
	d.closeFiles()
	d.wl.unlock()
}

// errStopped: the database is shutting down.
var errStopped = errors.New("materializer: stopped")

// lock takes the writer lock for a capture, waiting at most until ctx ends.
func (d *DB) lock(ctx context.Context) error { return d.lockAs(ctx, false, false) }

// lockApplier takes the writer lock ahead of waiting captures.
func (d *DB) lockApplier(ctx context.Context) error { return d.lockAs(ctx, true, false) }

// lockAs takes the writer. Unless joining an open (unsealed) kept group,
// the holder first commits that group (kept.go), so it finds the writer
// outside any transaction.
func (d *DB) lockAs(ctx context.Context, urgent, joinKept bool) error {
	start := time.Now()
	err := d.wl.lock(ctx, d.stop, urgent)
	switch {
	case err == nil:
		d.heldAt, d.heldUrgent = time.Now(), urgent
		writerWait(urgent).Observe(d.heldAt.Sub(start).Seconds())
		if g := d.group.Load(); g != nil && (!joinKept || g.sealed) {
			d.finishGroupLocked()
		}
		return nil
	case errors.Is(err, errStopped):
		return fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	case errors.Is(err, context.DeadlineExceeded):
		return ErrLockWait
	}
	return err
}

func (d *DB) unlock() {
	writerHold(d.heldUrgent).Observe(time.Since(d.heldAt).Seconds())
	d.wl.unlock()
}

// Conn is a connection with its function environment.
type Conn struct {
	*sql.Conn
	Env *Env
}

// ReadConn takes a connection from the read pool; Close returns it.
func (d *DB) ReadConn(ctx context.Context) (*Conn, error) {
	if err := d.CommitAcked(ctx); err != nil {
		return nil, err
	}
	d.mu.Lock()
	r, dropped := d.rsql, d.dropped
	d.mu.Unlock()
	if dropped || r == nil {
		return nil, fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
	}
	c, err := r.Conn(ctx)
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, Env: d.m.envOf(c)}, nil
}

// WaitApplied blocks until the view includes change set (origin, seq).
func (d *DB) WaitApplied(ctx context.Context, origin, seq uint64) error {
	if g := d.group.Load(); g != nil && origin == d.m.log.Node() && seq > g.base && seq <= g.last.Load() {
		// In the open kept group: committing it is what applies it.
		if err := d.commitGroup(ctx, g); err != nil {
			return err
		}
	}
	for {
		d.mu.Lock()
		ok, ch := d.applied.Covers(origin, seq), d.appliedCh
		d.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-d.stop:
			return fmt.Errorf("%w '%s'", ErrNoDatabase, d.name)
		}
	}
}

// TableInfo describes a table for the frontend (columns, key, auto-increment).
type TableInfo struct {
	Columns       []string
	DeclTypes     []string
	PrimaryKey    []string
	AutoIncrement string
}

// Table returns a table's shape, or ok=false if it does not exist.
func (d *DB) Table(ctx context.Context, name string) (TableInfo, bool) {
	ti, err := d.tableInfoRead(ctx, name)
	if err != nil {
		return TableInfo{}, false
	}
	return ti.export(), true
}

// TempTable returns the shape of a temporary table of the session
// connection c, or ok=false if it has none of that name.
func TempTable(ctx context.Context, c *Conn, name string) (TableInfo, bool) {
	ti, err := loadTableInfoIn(ctx, c, "temp", name)
	if err != nil {
		return TableInfo{}, false
	}
	return ti.export(), true
}

func (ti *tableInfo) export() TableInfo {
	out := TableInfo{Columns: ti.cols, DeclTypes: ti.decl, AutoIncrement: ti.autoInc}
	for _, i := range ti.pk {
		out.PrimaryKey = append(out.PrimaryKey, ti.cols[i])
	}
	return out
}

func (d *DB) tableInfoRead(ctx context.Context, name string) (*tableInfo, error) {
	d.tmu.Lock()
	ti, ok := d.tables[name]
	d.tmu.Unlock()
	if ok {
		return ti, nil
	}
	c, err := d.ReadConn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	ti, err = loadTableInfo(ctx, c, name)
	if err != nil {
		return nil, err
	}
	d.tmu.Lock()
	d.tables[name] = ti
	d.tmu.Unlock()
	return ti, nil
}

// tableInfoWriter reads through the writer connection (caller holds wl),
// which also sees tables created inside the current transaction.
func (d *DB) tableInfoWriter(ctx context.Context, name string) (*tableInfo, error) {
	d.tmu.Lock()
	ti, ok := d.tables[name]
	d.tmu.Unlock()
	if ok {
		return ti, nil
	}
	ti, err := loadTableInfo(ctx, d.wconn, name)
	if err != nil {
		return nil, err
	}
	if d.capturing == nil {
		// Outside a capture the writer sees only committed schema, which
		// is safe to share with readers until the next DDL.
		d.tmu.Lock()
		d.tables[name] = ti
		d.tmu.Unlock()
	}
	return ti, nil
}

func (d *DB) schemaChanged() {
	for _, st := range d.stmts {
		st.Close()
	}
	d.stmts = nil
	d.upserts = nil
	d.tmu.Lock()
	d.tables = map[string]*tableInfo{}
	d.tmu.Unlock()
	d.schemaGen.Add(1)
}

func (d *DB) run() {
	defer d.m.wg.Done()
	backoff := time.Duration(0)
	for {
		ch := d.m.log.Changed()
		if err := d.catchUp(d.m.ctx); err != nil {
			select {
			case <-d.stop:
				return
			default:
			}
			d.m.logger.Error("apply change sets", "db", d.name, "err", err)
			backoff = min(max(2*backoff, 50*time.Millisecond), 5*time.Second)
		} else {
			backoff = 0
		}
		var retry <-chan time.Time
		if backoff > 0 {
			retry = time.After(backoff)
		}
		select {
		case <-ch:
		case <-d.wake:
		case <-retry:
		case <-d.stop:
			return
		case <-d.m.ctx.Done():
			return
		}
	}
}
