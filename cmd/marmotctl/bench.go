package main

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-sql-driver/mysql"
)

const benchUsage = `
Usage: marmotctl bench [--hosts H:P,...] [--db NAME] [--phases load,mixed,verify] [--json]

Runs the published cluster benchmark against running nodes over the MySQL
protocol: table benchmarks(id VARCHAR(64) PRIMARY KEY, field0..field9 TEXT).

  load    inserts --records rows, --ops-per-tx per transaction
  mixed   for --duration, transactions of --ops-per-tx operations drawn by
          --mix weights: READ (point select), UPDATE (one field), INSERT (new
          key), DELETE, UPSERT (INSERT ... ON DUPLICATE KEY UPDATE)
  verify  polls every host's row count and a SHA-256 of all rows until the
          hosts agree; exit status 1 if they do not within --verify-timeout

--threads connections are spread round-robin over --hosts. Transactions
failing with error 1213 (deadlock) or 1205 (lock wait timeout) are retried;
other failures count as errors. Latencies are per transaction, retries
included. The database and table are created when missing; --drop starts
from an empty table. Progress goes to stderr, the report to stdout.
`

// Benchmark schema and statements. Keys are "user" and a 12-digit,
// zero-padded number, so their text order is their numeric order and
// MAX(id) tells a later run where the key space ends.
const (
	benchTable  = "benchmarks"
	benchFields = 10
	benchValue  = 100 // bytes in each random field value
	keyDigits   = 12
)

// benchSQL holds every statement text the workload sends.
var benchSQL = newBenchStatements()

type benchStatements struct {
	createTable, insert, upsert, read, delete, maxID, count, scan string
	update                                                        [benchFields]string
}

func newBenchStatements() benchStatements {
	cols := make([]string, benchFields)
	defs := make([]string, benchFields)
	sets := make([]string, benchFields)
	for i := range cols {
		cols[i] = fmt.Sprintf("field%d", i)
		defs[i] = cols[i] + " TEXT"
		sets[i] = fmt.Sprintf("%s = VALUES(%s)", cols[i], cols[i])
	}
	all := "id, " + strings.Join(cols, ", ")
	marks := strings.TrimSuffix(strings.Repeat("?, ", benchFields+1), ", ")
	s := benchStatements{
		createTable: fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (id VARCHAR(64) PRIMARY KEY, %s)", benchTable, strings.Join(defs, ", ")),
		insert:      fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", benchTable, all, marks),
		read:        fmt.Sprintf("SELECT %s FROM %s WHERE id = ?", all, benchTable),
		delete:      fmt.Sprintf("DELETE FROM %s WHERE id = ?", benchTable),
		maxID:       fmt.Sprintf("SELECT MAX(id) FROM %s", benchTable),
		count:       fmt.Sprintf("SELECT COUNT(*) FROM %s", benchTable),
		scan:        fmt.Sprintf("SELECT %s FROM %s ORDER BY id", all, benchTable),
	}
	s.upsert = s.insert + " ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	for i, c := range cols {
		s.update[i] = fmt.Sprintf("UPDATE %s SET %s = ? WHERE id = ?", benchTable, c)
	}
	return s
}

// prepared lists the statements a worker prepares when parameters are not
// interpolated client-side.
func (s benchStatements) prepared() []string {
	return append([]string{s.insert, s.upsert, s.read, s.delete}, s.update[:]...)
}

func benchKey(n int64) string { return fmt.Sprintf("user%0*d", keyDigits, n) }

// parseBenchKey is benchKey's inverse; it refuses ids this tool did not write.
func parseBenchKey(id string) (int64, error) {
	digits, ok := strings.CutPrefix(id, "user")
	n, err := strconv.ParseInt(digits, 10, 64)
	if !ok || len(digits) != keyDigits || err != nil || n < 0 {
		return 0, fmt.Errorf("id %q is not of the form user%s", id, strings.Repeat("N", keyDigits))
	}
	return n, nil
}

// opKind is one kind of operation of the mixed phase.
type opKind int

const (
	opRead opKind = iota
	opUpdate
	opInsert
	opDelete
	opUpsert
	numOps
)

var opNames = [numOps]string{"read", "update", "insert", "delete", "upsert"}

func (k opKind) String() string { return opNames[k] }

// opMix is the relative weight of each operation kind.
type opMix [numOps]int

var defaultMix = opMix{opRead: 20, opUpdate: 30, opInsert: 35, opDelete: 5, opUpsert: 10}

// parseMix reads "read=20,update=30,...". Kinds left out weigh 0, so
// "--mix read=1" is a read-only run.
func parseMix(s string) (opMix, error) {
	var m opMix
	seen := map[string]bool{}
	for part := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		name = strings.ToLower(strings.TrimSpace(name))
		k := slices.Index(opNames[:], name)
		if !ok || k < 0 {
			return opMix{}, fmt.Errorf("invalid mix entry %q: want KIND=WEIGHT with KIND one of %s", part, strings.Join(opNames[:], ", "))
		}
		if seen[name] {
			return opMix{}, fmt.Errorf("invalid mix: %s given twice", name)
		}
		seen[name] = true
		w, err := strconv.Atoi(strings.TrimSpace(weight))
		if err != nil || w < 0 {
			return opMix{}, fmt.Errorf("invalid mix weight %q for %s: want a whole number >= 0", weight, name)
		}
		m[k] = w
	}
	if m.total() == 0 {
		return opMix{}, fmt.Errorf("invalid mix %q: all weights are 0", s)
	}
	return m, nil
}

func (m opMix) total() int {
	t := 0
	for _, w := range m {
		t += w
	}
	return t
}

// pick maps r, uniform in [0, total), to a kind with probability weight/total.
func (m opMix) pick(r int) opKind {
	for k, w := range m {
		if r < w {
			return opKind(k)
		}
		r -= w
	}
	panic(fmt.Sprintf("opMix.pick: %d out of range", r))
}

func (m opMix) String() string {
	parts := make([]string, numOps)
	for k, w := range m {
		parts[k] = fmt.Sprintf("%s=%d", opNames[k], w)
	}
	return strings.Join(parts, ",")
}

// mixFlag adapts opMix to flag.Value.
type mixFlag struct{ m *opMix }

func (f mixFlag) String() string {
	if f.m == nil {
		return "" // the zero value, so flag prints the default
	}
	return f.m.String()
}

func (f mixFlag) Set(s string) error {
	m, err := parseMix(s)
	if err == nil {
		*f.m = m
	}
	return err
}

// Phases run in this order whatever order --phases names them in: a verify
// before the writes it checks would prove nothing.
var benchPhases = []string{"load", "mixed", "verify"}

func parsePhases(s string) (map[string]bool, error) {
	set := map[string]bool{}
	for p := range strings.SplitSeq(s, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(benchPhases, p) {
			return nil, fmt.Errorf("unknown phase %q: want a comma list of %s", p, strings.Join(benchPhases, ", "))
		}
		set[p] = true
	}
	return set, nil
}

// parseHosts splits a comma list of host:port addresses.
func parseHosts(s string) ([]string, error) {
	var hosts []string
	for h := range strings.SplitSeq(s, ",") {
		h = strings.TrimSpace(h)
		if _, port, ok := strings.Cut(h, ":"); !ok || h == "" || port == "" {
			return nil, fmt.Errorf("invalid host %q: want host:port", h)
		}
		hosts = append(hosts, h)
	}
	return hosts, nil
}

// validDBName keeps --db a plain identifier, so it never needs quoting.
var validDBName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

type benchConfig struct {
	hosts         []string
	user          string
	password      string
	db            string
	records       int
	threads       int
	opsPerTx      int
	duration      time.Duration
	mix           opMix
	maxRetries    int
	verifyTimeout time.Duration
	phases        map[string]bool
	drop          bool
	interpolate   bool
	asJSON        bool
}

func parseBenchFlags(args []string, stdout io.Writer) (benchConfig, error) {
	fs := newFlagSet("bench")
	cfg := benchConfig{mix: defaultMix}
	hosts := fs.String("hosts", "127.0.0.1:3306", "comma list of MySQL host:port; connections go round-robin over them")
	fs.StringVar(&cfg.user, "user", "root", "MySQL user")
	fs.StringVar(&cfg.password, "password", "", "MySQL password")
	fs.StringVar(&cfg.db, "db", "bench", "database (created when missing)")
	fs.IntVar(&cfg.records, "records", 200000, "rows the load phase inserts")
	fs.IntVar(&cfg.threads, "threads", 16, "concurrent connections")
	fs.IntVar(&cfg.opsPerTx, "ops-per-tx", 10, "operations per transaction")
	fs.DurationVar(&cfg.duration, "duration", 60*time.Second, "length of the mixed phase")
	fs.Var(mixFlag{&cfg.mix}, "mix", "operation weights of the mixed phase")
	fs.IntVar(&cfg.maxRetries, "max-retries", 10, "retries of a transaction failing with error 1213 or 1205")
	fs.DurationVar(&cfg.verifyTimeout, "verify-timeout", 30*time.Second, "how long verify (and the wait for the table on every host) polls")
	phases := fs.String("phases", strings.Join(benchPhases, ","), "phases to run")
	fs.BoolVar(&cfg.drop, "drop", false, "drop the database first")
	fs.BoolVar(&cfg.interpolate, "interpolate-params", true, "interpolate parameters client-side (one round trip per statement); false uses server-side prepared statements")
	fs.BoolVar(&cfg.asJSON, "json", false, "print the report as JSON")
	if err := parseFlags(fs, benchUsage, args, stdout); err != nil {
		return benchConfig{}, err
	}
	var err error
	if cfg.hosts, err = parseHosts(*hosts); err != nil {
		return benchConfig{}, usageErrorf(fs.Name(), "--hosts: %v", err)
	}
	if cfg.phases, err = parsePhases(*phases); err != nil {
		return benchConfig{}, usageErrorf(fs.Name(), "--phases: %v", err)
	}
	switch {
	case !validDBName.MatchString(cfg.db):
		return benchConfig{}, usageErrorf(fs.Name(), "--db %q: want letters, digits and _", cfg.db)
	case cfg.records < 0:
		return benchConfig{}, usageErrorf(fs.Name(), "--records must be >= 0")
	case cfg.threads < 1:
		return benchConfig{}, usageErrorf(fs.Name(), "--threads must be >= 1")
	case cfg.opsPerTx < 1:
		return benchConfig{}, usageErrorf(fs.Name(), "--ops-per-tx must be >= 1")
	case cfg.duration <= 0:
		return benchConfig{}, usageErrorf(fs.Name(), "--duration must be > 0")
	case cfg.maxRetries < 0:
		return benchConfig{}, usageErrorf(fs.Name(), "--max-retries must be >= 0")
	case cfg.verifyTimeout <= 0:
		return benchConfig{}, usageErrorf(fs.Name(), "--verify-timeout must be > 0")
	}
	return cfg, nil
}

// benchReport is what --json prints.
type benchReport struct {
	Hosts    []string      `json:"hosts"`
	DB       string        `json:"db"`
	Threads  int           `json:"threads"`
	OpsPerTx int           `json:"ops_per_tx"`
	Mix      string        `json:"mix"`
	Phases   []phaseResult `json:"phases"`
	Verify   *verifyResult `json:"verify,omitempty"`
}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	cfg, err := parseBenchFlags(args, stdout)
	if err != nil {
		return err
	}
	b := newBench(cfg, os.Stderr)
	defer b.close()
	report := benchReport{Hosts: cfg.hosts, DB: cfg.db, Threads: cfg.threads, OpsPerTx: cfg.opsPerTx, Mix: cfg.mix.String(), Phases: []phaseResult{}}
	err = b.run(ctx, &report)
	if err != nil && len(report.Phases) == 0 && report.Verify == nil {
		return err
	}
	// A failed verify still reports what was measured, then exits 1.
	if werr := writeBenchReport(stdout, report, cfg.asJSON); werr != nil {
		return werr
	}
	return err
}

// bench is one run: a connection pool per host and the key space.
type bench struct {
	cfg      benchConfig
	pools    []*sql.DB
	progress io.Writer
	keys     keySpace
}

func newBench(cfg benchConfig, progress io.Writer) *bench {
	b := &bench{cfg: cfg, progress: progress}
	for _, h := range cfg.hosts {
		b.pools = append(b.pools, openPool(cfg, h, cfg.db))
	}
	return b
}

func (b *bench) close() {
	for _, p := range b.pools {
		p.Close()
	}
}

// openPool returns a pool for one host. Opening connects nothing; workers
// each hold one connection of their host's pool for a whole phase.
func openPool(cfg benchConfig, host, db string) *sql.DB {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.Net, c.Addr, c.DBName = cfg.user, cfg.password, "tcp", host, db
	c.InterpolateParams = cfg.interpolate
	c.Timeout = 10 * time.Second
	connector, err := mysql.NewConnector(c)
	if err != nil {
		panic(err) // NewConnector fails only on a malformed config, which c is not
	}
	p := sql.OpenDB(connector)
	p.SetMaxIdleConns(cfg.threads)
	return p
}

func (b *bench) run(ctx context.Context, report *benchReport) error {
	if err := b.setup(ctx); err != nil {
		return err
	}
	if b.cfg.phases["load"] {
		r, err := b.load(ctx)
		if err != nil {
			return err
		}
		report.Phases = append(report.Phases, r)
	}
	if b.cfg.phases["mixed"] {
		r, err := b.mixed(ctx)
		if err != nil {
			return err
		}
		report.Phases = append(report.Phases, r)
	}
	if b.cfg.phases["verify"] {
		v, err := b.verify(ctx)
		report.Verify = &v
		return err
	}
	return nil
}

// setup creates the database and table on the first host, waits until
// every host has the table (at replication ONE the others learn of it
// asynchronously, and a worker meeting a missing table would count errors),
// and finds where the key space ends.
func (b *bench) setup(ctx context.Context) error {
	admin := openPool(b.cfg, b.cfg.hosts[0], "")
	defer admin.Close()
	if b.cfg.drop {
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+b.cfg.db); err != nil {
			return fmt.Errorf("drop database %s on %s: %w", b.cfg.db, b.cfg.hosts[0], err)
		}
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+b.cfg.db); err != nil {
		return fmt.Errorf("create database %s on %s: %w", b.cfg.db, b.cfg.hosts[0], err)
	}
	if _, err := b.pools[0].ExecContext(ctx, benchSQL.createTable); err != nil {
		return fmt.Errorf("create table on %s: %w", b.cfg.hosts[0], err)
	}
	if err := b.waitForTable(ctx); err != nil {
		return err
	}
	var maxID sql.NullString
	if err := b.pools[0].QueryRowContext(ctx, benchSQL.maxID).Scan(&maxID); err != nil {
		return fmt.Errorf("find the key space on %s: %w", b.cfg.hosts[0], err)
	}
	if maxID.Valid {
		n, err := parseBenchKey(maxID.String)
		if err != nil {
			return fmt.Errorf("%s.%s holds rows this tool did not write (%v); use --drop or another --db", b.cfg.db, benchTable, err)
		}
		b.keys.reset(n + 1)
	}
	return nil
}

// waitForTable polls until every host has the table with as many rows as
// the first. Comparing counts (not only existence) keeps a host that has
// not yet applied a --drop from passing with the old table's rows.
func (b *bench) waitForTable(ctx context.Context) error {
	deadline := time.Now().Add(b.cfg.verifyTimeout)
	for {
		states := b.countAll(ctx)
		if countsAgree(states) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("table %s.%s not the same on every host after %v: %s", b.cfg.db, benchTable, b.cfg.verifyTimeout, describeStates(states))
		}
		if err := pause(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
}

// pause waits d, or less if ctx ends. It paces polling and retry backoff.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// op is one statement of a transaction, chosen before the transaction
// starts so that a retry repeats the same keys.
type op struct {
	kind  opKind
	key   int64 // benchKey(key) is the id
	field int   // UPDATE only
}

// load inserts the records in transactions of ops-per-tx rows, keys
// following the existing key space. Batches are handed out by an atomic
// counter so fast connections take more of them.
func (b *bench) load(ctx context.Context) (phaseResult, error) {
	base := b.keys.size()
	per := int64(b.cfg.opsPerTx)
	batches := (int64(b.cfg.records) + per - 1) / per
	end := base + int64(b.cfg.records)
	fmt.Fprintf(b.progress, "bench: load: %d rows into %s.%s, %d threads over %d hosts\n", b.cfg.records, b.cfg.db, benchTable, b.cfg.threads, len(b.cfg.hosts))
	var next atomic.Int64
	r, err := b.runWorkers(ctx, "load", func(w *worker) bool {
		i := next.Add(1) - 1
		if i >= batches {
			return false
		}
		lo := base + i*per
		ops := make([]op, 0, per)
		for k := lo; k < min(lo+per, end); k++ {
			ops = append(ops, op{kind: opInsert, key: k})
		}
		w.runTx(ctx, ops)
		return true
	})
	b.keys.reset(end)
	return r, err
}

// mixed runs transactions drawn from the mix until the duration is over;
// transactions in flight then still finish, and the phase's time includes
// them.
func (b *bench) mixed(ctx context.Context) (phaseResult, error) {
	fmt.Fprintf(b.progress, "bench: mixed: %v of %s, %d ops/tx, %d threads over %d hosts, key space %d\n",
		b.cfg.duration, b.cfg.mix, b.cfg.opsPerTx, b.cfg.threads, len(b.cfg.hosts), b.keys.size())
	var stop atomic.Bool
	timer := time.AfterFunc(b.cfg.duration, func() { stop.Store(true) })
	defer timer.Stop()
	r, err := b.runWorkers(ctx, "mixed", func(w *worker) bool {
		if stop.Load() {
			return false
		}
		ops := b.planMixed(w.rng)
		w.runTx(ctx, ops)
		for _, o := range ops {
			if o.kind == opInsert {
				b.keys.finish(o.key)
			}
		}
		return true
	})
	r.OpCounts = map[string]int64{}
	for k, n := range r.byOp {
		r.OpCounts[opNames[k]] = n
	}
	return r, err
}

// planMixed draws one transaction's operations. INSERT takes a new key;
// the others draw uniformly from the keys whose inserts have finished.
// Keys a DELETE removed make a READ find nothing and an UPDATE change
// nothing, as such a workload does on any database.
func (b *bench) planMixed(rng *rand.Rand) []op {
	ops := make([]op, b.cfg.opsPerTx)
	total := b.cfg.mix.total()
	for i := range ops {
		o := op{kind: b.cfg.mix.pick(rng.IntN(total))}
		switch o.kind {
		case opInsert:
			o.key = b.keys.reserve()
		default:
			o.key = rng.Int64N(max(b.keys.size(), 1))
		}
		if o.kind == opUpdate {
			o.field = rng.IntN(benchFields)
		}
		ops[i] = o
	}
	return ops
}

// keySpace hands out key numbers for new rows and knows which keys exist.
// Keys are handed out in order but their inserts finish out of order, so
// existing keys are drawn only below the acknowledged watermark, below
// which every insert has finished (YCSB's acknowledged counter). Drawing
// a key whose INSERT is still pending would let an UPSERT create the row
// first and fail that INSERT with a duplicate key.
type keySpace struct {
	acked    atomic.Int64 // keys [0, acked) have finished inserting
	mu       sync.Mutex
	next     int64          // the next new key
	finished map[int64]bool // finished keys at or above acked
}

// reset makes keys [0, n) the existing ones.
func (k *keySpace) reset(n int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.next, k.finished = n, map[int64]bool{}
	k.acked.Store(n)
}

// size is the number of keys below the watermark.
func (k *keySpace) size() int64 { return k.acked.Load() }

func (k *keySpace) reserve() int64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.next
	k.next++
	return n
}

// finish records that the insert of key n is over (committed or failed:
// either way nothing will insert n any more) and advances the watermark
// past every finished key.
func (k *keySpace) finish(n int64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.finished == nil {
		k.finished = map[int64]bool{}
	}
	k.finished[n] = true
	a := k.acked.Load()
	for k.finished[a] {
		delete(k.finished, a)
		a++
	}
	k.acked.Store(a)
}

// runWorkers runs --threads workers, worker i on host i mod len(hosts),
// each calling body until it returns false or ctx ends, and merges what
// they measured.
func (b *bench) runWorkers(ctx context.Context, phase string, body func(w *worker) bool) (phaseResult, error) {
	errs := &errorLog{}
	workers := make([]*worker, b.cfg.threads)
	seed := uint64(time.Now().UnixNano())
	for i := range workers {
		workers[i] = &worker{
			sess:       session{pool: b.pools[i%len(b.pools)], prepare: !b.cfg.interpolate},
			rng:        rand.New(rand.NewPCG(seed, uint64(i))),
			maxRetries: b.cfg.maxRetries,
			errs:       errs,
		}
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			defer w.sess.close()
			for ctx.Err() == nil && body(w) {
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var total phaseStats
	for _, w := range workers {
		total.merge(&w.stats)
	}
	return total.result(phase, elapsed, errs.samples()), ctx.Err()
}

// worker is one client connection and what it measured.
type worker struct {
	sess       session
	rng        *rand.Rand
	maxRetries int
	errs       *errorLog
	stats      phaseStats
}

// runTx runs ops as one transaction, retrying deadlocks and lock wait
// timeouts with jittered exponential backoff (so the retries of
// transactions that collided do not collide again), and records the
// outcome. Latency is from the first attempt to the final commit: what the
// application waits.
func (w *worker) runTx(ctx context.Context, ops []op) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		err := w.tryTx(ctx, ops)
		switch {
		case err == nil:
			w.stats.commit(ops, time.Since(start))
			return
		case ctx.Err() != nil:
			return // interrupted: neither a result nor an error
		case retryable(err) && attempt < w.maxRetries:
			w.stats.retries++
			d := min(time.Millisecond<<attempt, 100*time.Millisecond)
			if pause(ctx, d/2+rand.N(d/2+1)) != nil {
				return
			}
		default:
			if retryable(err) {
				err = fmt.Errorf("gave up after %d retries: %w", attempt, err)
			}
			w.stats.errors++
			w.errs.add(err)
			return
		}
	}
}

// retryable reports whether a transaction failed only because another one
// got in its way: marmot's optimistic concurrency reports a lost race as
// 1213 and a writer lock it waited too long for as 1205.
func retryable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1213 || me.Number == 1205)
}

func (w *worker) tryTx(ctx context.Context, ops []op) error {
	if err := w.sess.open(ctx); err != nil {
		return err
	}
	err := w.sess.exec(ctx, "BEGIN")
	for i := 0; err == nil && i < len(ops); i++ {
		err = w.do(ctx, ops[i])
	}
	if err == nil {
		if err = w.sess.exec(ctx, "COMMIT"); err == nil {
			return nil
		}
	}
	// A connection that cannot roll back is in an unknown state: replace it.
	if rbErr := w.sess.exec(ctx, "ROLLBACK"); rbErr != nil {
		w.sess.close()
	}
	return err
}

func (w *worker) do(ctx context.Context, o op) error {
	key := benchKey(o.key)
	switch o.kind {
	case opRead:
		return w.sess.read(ctx, benchSQL.read, key)
	case opUpdate:
		return w.sess.exec(ctx, benchSQL.update[o.field], randomValue(w.rng), key)
	case opInsert:
		return w.sess.exec(ctx, benchSQL.insert, w.row(key)...)
	case opDelete:
		return w.sess.exec(ctx, benchSQL.delete, key)
	case opUpsert:
		return w.sess.exec(ctx, benchSQL.upsert, w.row(key)...)
	}
	panic(fmt.Sprintf("unknown op %d", o.kind))
}

// row is the arguments of an INSERT: the key and fresh field values.
func (w *worker) row(key string) []any {
	args := make([]any, 1, 1+benchFields)
	args[0] = key
	for range benchFields {
		args = append(args, randomValue(w.rng))
	}
	return args
}

const valueAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func randomValue(rng *rand.Rand) string {
	var b [benchValue]byte
	for i := range b {
		b[i] = valueAlphabet[rng.IntN(len(valueAlphabet))]
	}
	return string(b[:])
}

// session is a worker's own connection. Holding one connection for the
// whole phase makes --threads exactly the number of client connections,
// and lets BEGIN/COMMIT be plain statements on it.
type session struct {
	pool    *sql.DB
	prepare bool
	conn    *sql.Conn
	stmts   map[string]*sql.Stmt
}

func (s *session) open(ctx context.Context) error {
	if s.conn != nil {
		return nil
	}
	c, err := s.pool.Conn(ctx)
	if err != nil {
		return err
	}
	s.conn, s.stmts = c, map[string]*sql.Stmt{}
	if !s.prepare {
		return nil
	}
	for _, q := range benchSQL.prepared() {
		st, err := c.PrepareContext(ctx, q)
		if err != nil {
			s.close()
			return fmt.Errorf("prepare %q: %w", q, err)
		}
		s.stmts[q] = st
	}
	return nil
}

func (s *session) close() {
	if s.conn == nil {
		return
	}
	for _, st := range s.stmts {
		st.Close()
	}
	s.conn.Close()
	s.conn, s.stmts = nil, nil
}

func (s *session) exec(ctx context.Context, q string, args ...any) error {
	var err error
	if st := s.stmts[q]; st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = s.conn.ExecContext(ctx, q, args...)
	}
	return err
}

// read runs a query and reads every row, as an application would.
func (s *session) read(ctx context.Context, q string, args ...any) error {
	var rows *sql.Rows
	var err error
	if st := s.stmts[q]; st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = s.conn.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

// phaseStats is what one worker measured; merged into a phase's total.
type phaseStats struct {
	tx, ops, errors, retries int64
	byOp                     [numOps]int64
	latencies                []time.Duration
}

func (s *phaseStats) commit(ops []op, latency time.Duration) {
	s.tx++
	s.ops += int64(len(ops))
	for _, o := range ops {
		s.byOp[o.kind]++
	}
	s.latencies = append(s.latencies, latency)
}

func (s *phaseStats) merge(o *phaseStats) {
	s.tx += o.tx
	s.ops += o.ops
	s.errors += o.errors
	s.retries += o.retries
	for k := range s.byOp {
		s.byOp[k] += o.byOp[k]
	}
	s.latencies = append(s.latencies, o.latencies...)
}

// phaseResult is one phase of the report.
type phaseResult struct {
	Phase        string           `json:"phase"`
	Seconds      float64          `json:"seconds"`
	Ops          int64            `json:"ops"`
	Transactions int64            `json:"transactions"`
	OpsPerSec    float64          `json:"ops_per_sec"`
	TxPerSec     float64          `json:"tx_per_sec"`
	LatencyMS    latencySummary   `json:"latency_ms"`
	Errors       int64            `json:"errors"`
	Retries      int64            `json:"retries"`
	OpCounts     map[string]int64 `json:"op_counts,omitempty"`
	ErrorSamples []errorSample    `json:"error_samples,omitempty"`
	byOp         [numOps]int64
}

// latencySummary is transaction latency in milliseconds.
type latencySummary struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func (s *phaseStats) result(phase string, elapsed time.Duration, samples []errorSample) phaseResult {
	slices.Sort(s.latencies)
	ms := func(p float64) float64 { return float64(percentile(s.latencies, p)) / float64(time.Millisecond) }
	secs := elapsed.Seconds()
	return phaseResult{
		Phase:        phase,
		Seconds:      secs,
		Ops:          s.ops,
		Transactions: s.tx,
		OpsPerSec:    float64(s.ops) / secs,
		TxPerSec:     float64(s.tx) / secs,
		LatencyMS:    latencySummary{P50: ms(50), P90: ms(90), P95: ms(95), P99: ms(99), Max: ms(100)},
		Errors:       s.errors,
		Retries:      s.retries,
		ErrorSamples: samples,
		byOp:         s.byOp,
	}
}

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted:
// the smallest sample that at least p% of the samples do not exceed. It is
// always a measured value; 0 for no samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// errorLog keeps the first few distinct error messages and how often each
// occurred: a broken statement fails every transaction the same way, and
// thousands of identical lines would hide the cause.
type errorLog struct {
	mu   sync.Mutex
	seen []errorSample
}

type errorSample struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

const maxErrorSamples = 5

func (l *errorLog) add(err error) {
	msg := err.Error()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := range l.seen {
		if l.seen[i].Message == msg {
			l.seen[i].Count++
			return
		}
	}
	if len(l.seen) < maxErrorSamples {
		l.seen = append(l.seen, errorSample{Message: msg, Count: 1})
	}
}

func (l *errorLog) samples() []errorSample {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

// verifyResult says whether, and how fast, the hosts converged.
type verifyResult struct {
	OK bool `json:"ok"`
	// ConvergedAfterS is from the start of verify to the start of the
	// scans that found the hosts agreeing. Each scan is one statement, which
	// reads one snapshot taken as it starts, so the hosts had converged by
	// then (within one poll interval, 100 ms plus the previous poll).
	ConvergedAfterS float64 `json:"converged_after_s"`
	// ScanS is how long the last full scans took; Seconds the whole phase.
	ScanS   float64     `json:"scan_s"`
	Seconds float64     `json:"seconds"`
	Polls   int         `json:"polls"`
	Hosts   []hostState `json:"hosts"`
}

// hostState is one host's table as verify saw it.
type hostState struct {
	Host     string `json:"host"`
	Rows     int64  `json:"rows"`
	Checksum string `json:"sha256,omitempty"`
	Error    string `json:"error,omitempty"`
}

// verify polls until every host has the same rows. Each poll compares the
// cheap COUNT(*) first and scans whole tables only when the counts agree:
// a host still catching up usually differs in count, and a scan of every
// row on every host costs seconds.
func (b *bench) verify(ctx context.Context) (verifyResult, error) {
	fmt.Fprintf(b.progress, "bench: verify: polling %d hosts for up to %v\n", len(b.cfg.hosts), b.cfg.verifyTimeout)
	start := time.Now()
	deadline := start.Add(b.cfg.verifyTimeout)
	var res verifyResult
	for {
		res.Polls++
		res.Hosts = b.countAll(ctx)
		if countsAgree(res.Hosts) {
			scanStart := time.Now()
			b.checksumAll(ctx, res.Hosts)
			res.ScanS = time.Since(scanStart).Seconds()
			if res.OK = statesAgree(res.Hosts); res.OK {
				res.ConvergedAfterS = scanStart.Sub(start).Seconds()
				res.Seconds = time.Since(start).Seconds()
				return res, nil
			}
		}
		res.Seconds = time.Since(start).Seconds()
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("verify: the %d hosts did not agree within %v (%d polls); last seen: %s",
				len(res.Hosts), b.cfg.verifyTimeout, res.Polls, describeStates(res.Hosts))
		}
		if err := pause(ctx, 100*time.Millisecond); err != nil {
			return res, err
		}
	}
}

// countAll reads every host's COUNT(*).
func (b *bench) countAll(ctx context.Context) []hostState {
	states := make([]hostState, len(b.pools))
	for i, p := range b.pools {
		states[i].Host = b.cfg.hosts[i]
		if err := p.QueryRowContext(ctx, benchSQL.count).Scan(&states[i].Rows); err != nil {
			states[i].Error = err.Error()
		}
	}
	return states
}

func countsAgree(states []hostState) bool {
	for _, s := range states {
		if s.Error != "" || s.Rows != states[0].Rows {
			return false
		}
	}
	return true
}

// checksumAll scans every host's table, in parallel: the hosts scan
// independently.
func (b *bench) checksumAll(ctx context.Context, states []hostState) {
	var wg sync.WaitGroup
	for i, p := range b.pools {
		wg.Go(func() {
			sum, rows, err := tableChecksum(ctx, p)
			switch {
			case err != nil:
				states[i].Error = err.Error()
			case rows != states[i].Rows:
				// The table changed between COUNT(*) and the scan.
				states[i].Error = fmt.Sprintf("scan read %d rows, COUNT(*) said %d", rows, states[i].Rows)
			default:
				states[i].Checksum = sum
			}
		})
	}
	wg.Wait()
}

func statesAgree(states []hostState) bool {
	for _, s := range states {
		if s.Error != "" || s.Checksum == "" || s.Rows != states[0].Rows || s.Checksum != states[0].Checksum {
			return false
		}
	}
	return true
}

func describeStates(states []hostState) string {
	parts := make([]string, len(states))
	for i, s := range states {
		switch {
		case s.Error != "":
			parts[i] = fmt.Sprintf("%s: %d rows, %s", s.Host, s.Rows, s.Error)
		case s.Checksum == "":
			parts[i] = fmt.Sprintf("%s: %d rows", s.Host, s.Rows)
		default:
			parts[i] = fmt.Sprintf("%s: %d rows, sha256 %.12s", s.Host, s.Rows, s.Checksum)
		}
	}
	return strings.Join(parts, "; ")
}

// tableChecksum streams the table in key order and hashes it client-side.
// Each value is length-prefixed (NULL has its own marker) so that no two
// different tables hash the same input.
func tableChecksum(ctx context.Context, p *sql.DB) (string, int64, error) {
	rows, err := p.QueryContext(ctx, benchSQL.scan)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	h := sha256.New()
	vals := make([]sql.RawBytes, 1+benchFields)
	dest := make([]any, len(vals))
	for i := range vals {
		dest[i] = &vals[i]
	}
	var n int64
	var lenBuf [4]byte
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return "", 0, err
		}
		for _, v := range vals {
			l := uint32(len(v))
			if v == nil {
				l = math.MaxUint32
			}
			binary.BigEndian.PutUint32(lenBuf[:], l)
			h.Write(lenBuf[:])
			h.Write(v)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func writeBenchReport(w io.Writer, r benchReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "%d hosts (%s), db %s, %d threads, %d ops/tx, mix %s\n\n",
		len(r.Hosts), strings.Join(r.Hosts, ","), r.DB, r.Threads, r.OpsPerTx, r.Mix)
	if len(r.Phases) > 0 {
		if err := writePhaseTable(w, r.Phases); err != nil {
			return err
		}
	}
	for _, p := range r.Phases {
		if p.OpCounts != nil && p.Ops > 0 {
			parts := make([]string, 0, numOps)
			for _, name := range opNames {
				n := p.OpCounts[name]
				parts = append(parts, fmt.Sprintf("%s %d (%.1f%%)", name, n, 100*float64(n)/float64(p.Ops)))
			}
			fmt.Fprintf(w, "\n%s operations: %s\n", p.Phase, strings.Join(parts, ", "))
		}
		for _, e := range p.ErrorSamples {
			fmt.Fprintf(w, "%s error (%dx): %s\n", p.Phase, e.Count, e.Message)
		}
	}
	if v := r.Verify; v != nil {
		fmt.Fprintln(w)
		if v.OK {
			fmt.Fprintf(w, "verify: OK, %d hosts agree: %d rows, sha256 %.16s\n", len(v.Hosts), v.Hosts[0].Rows, v.Hosts[0].Checksum)
			fmt.Fprintf(w, "verify: converged within %.2fs of verify starting (%d polls; the agreeing scans took %.2fs)\n",
				v.ConvergedAfterS, v.Polls, v.ScanS)
		} else {
			fmt.Fprintf(w, "verify: FAILED, hosts still differ after %.2fs (%d polls): %s\n", v.Seconds, v.Polls, describeStates(v.Hosts))
		}
	}
	return nil
}

func writePhaseTable(w io.Writer, phases []phaseResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "phase\tseconds\tops\tops/s\ttx/s\tp50 ms\tp90 ms\tp95 ms\tp99 ms\tmax ms\terrors\tretries\t\n")
	for _, p := range phases {
		l := p.LatencyMS
		fmt.Fprintf(tw, "%s\t%.1f\t%d\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t\n",
			p.Phase, p.Seconds, p.Ops, p.OpsPerSec, p.TxPerSec, l.P50, l.P90, l.P95, l.P99, l.Max, p.Errors, p.Retries)
	}
	return tw.Flush()
}
