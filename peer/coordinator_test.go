package peer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const testSecret = "coordinator-test-secret"

// testNode is one in-process node: a log, its peer service on a loopback
// HTTP/2 listener, a puller following the others and a coordinator.
type testNode struct {
	log    *txlog.Log
	svc    *Service
	addr   string
	srv    *http.Server
	mux    *http.ServeMux
	coord  *Coordinator
	puller *Puller
	cancel context.CancelFunc
	down   atomic.Bool
	// holdOwn keeps the node's own change sets off its Pull streams.
	holdOwn atomic.Bool
}

func startTestCluster(t *testing.T, n int) []*testNode {
	t.Helper()
	return startTestClusterWrapped(t, n, nil)
}

// startTestClusterWrapped is startTestCluster with each node's peer
// handler wrapped by wrap(node index, handler), if wrap is set.
func startTestClusterWrapped(t *testing.T, n int, wrap func(int, http.Handler) http.Handler) []*testNode {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	nodes := make([]*testNode, n)
	for i := range nodes {
		l, err := txlog.Open(txlog.Options{Dir: t.TempDir(), NodeID: uint64(i + 1)})
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		nd := &testNode{log: l, addr: ln.Addr().String()}
		svc := &Service{Log: l, Logger: logger, HoldOwn: nd.holdOwn.Load}
		nd.svc = svc
		path, h, err := svc.Handler(testSecret)
		if err != nil {
			t.Fatal(err)
		}
		if wrap != nil {
			h = wrap(i, h)
		}
		mux := http.NewServeMux()
		mux.Handle(path, h)
		nd.mux = mux
		nd.srv = &http.Server{Handler: mux, Protocols: ServerProtocols()}
		go nd.srv.Serve(ln)
		nodes[i] = nd
	}
	for i, nd := range nodes {
		others := func() []Target {
			var out []Target
			for j, o := range nodes {
				if j != i {
					out = append(out, Target{ID: o.log.Node(), Addr: o.addr, Live: !o.down.Load()})
				}
			}
			return out
		}
		nd.coord = &Coordinator{Log: nd.log, Members: others, Secret: testSecret, PrepareTimeout: 2 * time.Second,
			CommitTimeout: 2 * time.Second, IntentTTL: 10 * time.Second, DDLLease: 30 * time.Second, Logger: logger,
			Streaming: nd.svc.Streaming}
		ctx, cancel := context.WithCancel(context.Background())
		nd.cancel = cancel
		nd.puller = &Puller{Log: nd.log, Secret: testSecret, Logger: logger}
		var seeds []string
		for j, o := range nodes {
			if j != i {
				seeds = append(seeds, o.addr)
			}
		}
		if err := nd.puller.Start(ctx, seeds); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, nd := range nodes {
			nd.cancel()
			nd.srv.Close()
			nd.log.Close()
		}
	})
	return nodes
}

func row(pk int64, v string) *marmotv1.RowChange {
	return &marmotv1.RowChange{Table: "t", Op: marmotv1.Op_OP_UPDATE, Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: pk}}},
		Columns: []string{"id", "v"}, After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: pk}}, {Kind: &marmotv1.Value_Text{Text: []byte(v)}}}}
}

var txnSeq atomic.Int64

func changeSet(rows ...*marmotv1.RowChange) *marmotv1.ChangeSet {
	return &marmotv1.ChangeSet{Id: []byte(fmt.Sprintf("txn-%d", txnSeq.Add(1))), Database: "db", Rows: rows}
}

func commit(ctx context.Context, nd *testNode, cs *marmotv1.ChangeSet, seen txlog.Watermark, level txlog.Consistency) error {
	cm, err := nd.coord.Append(cs, seen, level)
	if err != nil {
		return err
	}
	return cm.Wait(ctx)
}

// TestCoordinatorQuorumCommit: a QUORUM commit is durable on every live
// node it reached before Wait returns; intents are gone afterwards.
func TestCoordinatorQuorumCommit(t *testing.T) {
	nodes := startTestCluster(t, 3)
	cs := changeSet(row(1, "a"))
	if err := commit(t.Context(), nodes[0], cs, nil, txlog.Quorum); err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, nd := range nodes {
		if nd.log.Durable().Covers(cs.Origin, cs.Seq) {
			held++
		}
	}
	if held < 2 {
		t.Fatalf("acknowledged at QUORUM but durable on %d of 3 nodes", held)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, nd := range nodes {
		for nd.log.Intents() != 0 || !nd.log.Durable().Covers(cs.Origin, cs.Seq) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d: %d intents left, durable %v", nd.log.Node(), nd.log.Intents(), nd.log.Durable())
			}
			time.Sleep(5 * time.Millisecond) // polling
		}
	}
}

// TestCoordinatorConflicts: of two transactions on different nodes that
// read the same version of a row, at most one commits; the other gets a
// conflict and leaves no trace.
func TestCoordinatorConflicts(t *testing.T) {
	nodes := startTestCluster(t, 3)
	for round := 0; round < 20; round++ {
		seen := make([]txlog.Watermark, 2)
		for i := range seen {
			seen[i] = nodes[i].log.Durable()
		}
		// Both read what they have and write row 7.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		css := make([]*marmotv1.ChangeSet, 2)
		for i := range 2 {
			css[i] = changeSet(row(7, fmt.Sprintf("r%d-n%d", round, i)))
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = commit(t.Context(), nodes[i], css[i], seen[i], txlog.Quorum)
			}()
		}
		wg.Wait()
		ok := 0
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, txlog.ErrConflict):
				if css[i].Seq != 0 {
					t.Fatalf("round %d: loser was appended (seq %d)", round, css[i].Seq)
				}
			default:
				t.Fatalf("round %d node %d: %v", round, i+1, err)
			}
		}
		if ok > 1 {
			t.Fatalf("round %d: both conflicting transactions committed", round)
		}
		// Let every node catch up before the next round reads.
		want := nodes[0].log.Durable()
		for k, v := range nodes[1].log.Durable() {
			want[k] = max(want[k], v)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, nd := range nodes {
			for {
				d := nd.log.Durable()
				caught := true
				for k, v := range want {
					caught = caught && d[k] >= v
				}
				if caught {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d did not catch up", nd.log.Node())
				}
				time.Sleep(2 * time.Millisecond) // polling
			}
		}
	}
}

// TestCoordinatorStaleRead: a transaction that read an old version of a row
// is refused by the members holding the new one.
func TestCoordinatorStaleRead(t *testing.T) {
	nodes := startTestCluster(t, 3)
	stale := nodes[1].log.Durable()
	if err := commit(t.Context(), nodes[0], changeSet(row(3, "new")), nil, txlog.Quorum); err != nil {
		t.Fatal(err)
	}
	// Node 2 may already have it (then its own check refuses), or not
	// (then node 1 and 3 do).
	err := commit(t.Context(), nodes[1], changeSet(row(3, "stale")), stale, txlog.Quorum)
	if !errors.Is(err, txlog.ErrConflict) {
		t.Fatalf("stale read committed: %v", err)
	}
}

// TestCoordinatorMinority: with two of three members down, QUORUM and ALL
// fail with a LevelError and nothing reaches any log; ONE succeeds.
func TestCoordinatorMinority(t *testing.T) {
	nodes := startTestCluster(t, 3)
	nodes[1].down.Store(true)
	nodes[2].srv.Close() // unreachable but not known dead
	for _, level := range []txlog.Consistency{txlog.Quorum, txlog.All} {
		before := nodes[0].log.Durable()[nodes[0].log.Node()]
		err := commit(t.Context(), nodes[0], changeSet(row(5, level.String())), nil, level)
		var le *LevelError
		if !errors.As(err, &le) {
			t.Fatalf("%s with a minority: want LevelError, got %v", level, err)
		}
		if after := nodes[0].log.Durable()[nodes[0].log.Node()]; after != before {
			t.Fatalf("%s refused but appended (seq %d -> %d)", level, before, after)
		}
		if nodes[0].log.Intents() != 0 {
			t.Fatalf("%s refused but left %d intents", level, nodes[0].log.Intents())
		}
	}
	if err := commit(t.Context(), nodes[0], changeSet(row(5, "one")), nil, txlog.One); err != nil {
		t.Fatalf("ONE with a minority: %v", err)
	}
}

// TestCoordinatorAllNeedsEveryNode: ALL with one member down fails; with
// all up it is durable everywhere on return.
func TestCoordinatorAllNeedsEveryNode(t *testing.T) {
	nodes := startTestCluster(t, 3)
	cs := changeSet(row(9, "all"))
	if err := commit(t.Context(), nodes[0], cs, nil, txlog.All); err != nil {
		t.Fatal(err)
	}
	for _, nd := range nodes {
		if !nd.log.Durable().Covers(cs.Origin, cs.Seq) {
			t.Fatalf("ALL acknowledged but node %d lacks it", nd.log.Node())
		}
	}
	nodes[2].down.Store(true)
	var le *LevelError
	if err := commit(t.Context(), nodes[0], changeSet(row(9, "all2")), nodes[0].log.Durable(), txlog.All); !errors.As(err, &le) {
		t.Fatalf("ALL with a node down: want LevelError, got %v", err)
	}
}

// TestCoordinatorDDLLock: while a schema change holds the cluster DDL lock
// on a majority, another one cannot commit anywhere; once released, it can.
func TestCoordinatorDDLLock(t *testing.T) {
	nodes := startTestCluster(t, 3)
	// An in-flight DDL coordinated by node 1 holds the lock on 1 and 3.
	held := []byte("ddl-in-flight")
	for _, nd := range []*testNode{nodes[0], nodes[2]} {
		if err := nd.log.Prepare(txlog.Claim{Txn: held, DB: "db", Lock: true, TTL: time.Minute, Coord: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ddl := func(id string) *marmotv1.ChangeSet {
		return &marmotv1.ChangeSet{Id: []byte(id), Database: "db", Ddl: "CREATE TABLE IF NOT EXISTS " + id + " (id INTEGER PRIMARY KEY)"}
	}
	err := commit(t.Context(), nodes[1], ddl("b"), nil, txlog.Quorum)
	if !errors.Is(err, txlog.ErrConflict) {
		t.Fatalf("DDL while the lock is held: want a conflict, got %v", err)
	}
	// Row writes are not blocked by the DDL lock.
	if err := commit(t.Context(), nodes[1], changeSet(row(1, "x")), nil, txlog.Quorum); err != nil {
		t.Fatalf("row write during DDL lock: %v", err)
	}
	for _, nd := range []*testNode{nodes[0], nodes[2]} {
		nd.log.Release(held)
	}
	if err := commit(t.Context(), nodes[1], ddl("c"), nodes[1].log.Durable(), txlog.Quorum); err != nil {
		t.Fatalf("DDL after the lock was released: %v", err)
	}
}

// TestPrepareRefusesSkewedCoordinator: a coordinator whose clock is beyond
// the skew bound cannot prepare here (and does not drag this clock ahead).
func TestPrepareRefusesSkewedCoordinator(t *testing.T) {
	l, err := txlog.Open(txlog.Options{Dir: t.TempDir(), NodeID: 1, MaxClockSkew: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	svc := &Service{Log: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, tc := range []struct {
		name  string
		ahead time.Duration
		ok    bool
	}{{"in bound", 100 * time.Millisecond, true}, {"beyond", time.Hour, false}} {
		t.Run(tc.name, func(t *testing.T) {
			now := txlog.Timestamp{WallMS: time.Now().Add(tc.ahead).UnixMilli(), Node: 2}
			req := &marmotv1.PrepareRequest{TxnId: []byte(tc.name), Coordinator: 2, Database: "db", TtlMs: 1000, Now: now.Proto(),
				Rows: []*marmotv1.IntentRow{{Table: "t", Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}}}}
			resp, err := svc.Prepare(t.Context(), connect.NewRequest(req))
			if tc.ok {
				if err != nil || !resp.Msg.Ok {
					t.Fatalf("prepare in bound: %v %v", resp, err)
				}
				svc.Log.Release(req.TxnId)
				return
			}
			if err == nil || !strings.Contains(err.Error(), "skew") {
				t.Fatalf("want a clock skew refusal, got %v %v", resp, err)
			}
			if last := l.Clock().Last(); last.WallMS > time.Now().Add(time.Minute).UnixMilli() {
				t.Fatalf("refused coordinator moved the clock to %v", last)
			}
		})
	}
}

// TestCommitFailureKeepsIntents: a participant that cannot ingest a
// decided transaction in time (an earlier change set of its origin is
// missing) keeps that transaction's intents, so no other transaction can
// prepare on its rows from the old version and overwrite it.
func TestCommitFailureKeepsIntents(t *testing.T) {
	nodes := startTestCluster(t, 2)
	p := nodes[1]
	rows := []txlog.IntentRow{{Table: "t", PK: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}}}
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("decided"), DB: "db", Rows: rows, TTL: time.Minute, Coord: 77}); err != nil {
		t.Fatal(err)
	}
	cs := changeSet(row(1, "x"))
	cs.Id, cs.Database, cs.Origin, cs.Seq = []byte("decided"), "db", 77, 5 // seq 1..4 never arrive
	cs.Hlc = p.log.Clock().Last().Proto()
	svc := &Service{Log: p.log, Logger: slog.Default(), CommitWait: 50 * time.Millisecond}
	if _, err := svc.Commit(context.Background(), connect.NewRequest(&marmotv1.CommitRequest{ChangeSet: cs})); err == nil {
		t.Fatal("commit with a gap succeeded")
	}
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("other"), DB: "db", Rows: rows, TTL: time.Minute, Coord: 77}); err == nil {
		t.Fatal("another transaction prepared on a row of a decided, not yet ingested transaction")
	}
	// Not even after its prepare's ttl: it is decided.
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("decided2"), DB: "db", Rows: []txlog.IntentRow{{Table: "t", PK: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 2}}}}}, TTL: time.Millisecond, Coord: 77}); err != nil {
		t.Fatal(err)
	}
	cs2 := changeSet(row(2, "y"))
	cs2.Id, cs2.Database, cs2.Origin, cs2.Seq, cs2.Hlc = []byte("decided2"), "db", 77, 6, cs.Hlc
	if _, err := svc.Commit(context.Background(), connect.NewRequest(&marmotv1.CommitRequest{ChangeSet: cs2})); err == nil {
		t.Fatal("commit with a gap succeeded")
	}
	row2 := []txlog.IntentRow{{Table: "t", PK: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 2}}}}}
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("other2"), DB: "db", Rows: row2, TTL: time.Minute, Coord: 77}); err == nil {
		t.Fatal("a decided transaction's intent expired")
	}
	// Its origin removed from the cluster: the rows are free again.
	if n := p.log.ReleaseDecidedFrom(77); n != 2 {
		t.Fatalf("ReleaseDecidedFrom = %d, want 2", n)
	}
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("other3"), DB: "db", Rows: row2, TTL: time.Minute, Coord: 77}); err != nil {
		t.Fatalf("rows still held after the origin was removed: %v", err)
	}
}

// TestCommitHoldsIntents: a member told that a transaction is decided
// keeps its intents while it waits for earlier change sets of the origin,
// even past the prepare's ttl, so no other transaction takes the rows
// meanwhile.
func TestCommitHoldsIntents(t *testing.T) {
	nodes := startTestCluster(t, 1)
	p := nodes[0]
	svc := &Service{Log: p.log, Logger: slog.Default(), CommitWait: 300 * time.Millisecond}
	rows := []txlog.IntentRow{{Table: "t", PK: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 9}}}}}
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("decided"), DB: "db", Rows: rows, TTL: 50 * time.Millisecond, Coord: 77}); err != nil {
		t.Fatal(err)
	}
	cs := changeSet(row(9, "x"))
	cs.Id, cs.Origin, cs.Seq, cs.Hlc = []byte("decided"), 77, 5, p.log.Clock().Last().Proto() // seq 1..4 never arrive
	done := make(chan error, 1)
	go func() {
		_, err := svc.Commit(context.Background(), connect.NewRequest(&marmotv1.CommitRequest{ChangeSet: cs}))
		done <- err
	}()
	time.Sleep(150 * time.Millisecond) // past the prepare's 50 ms ttl, inside the 300 ms wait
	if err := p.log.Prepare(txlog.Claim{Txn: []byte("other"), DB: "db", Rows: rows, TTL: time.Minute, Coord: 77}); err == nil {
		t.Fatal("another transaction took a row of a decided transaction while its commit waited")
	}
	if err := <-done; err == nil {
		t.Fatal("commit with a gap succeeded")
	}
}

// TestCoordinatorAbortsAfterLeaseSpent: yes votes gathered too late to
// finish the commit round inside the intents' lease (the coordinator
// stalled) abort the transaction instead of committing it: the members may
// already have let another transaction take the rows. Nothing is written.
func TestCoordinatorAbortsAfterLeaseSpent(t *testing.T) {
	nodes := startTestCluster(t, 3)
	c := nodes[0].coord
	// The whole lease is shorter than a commit round: whatever the prepare
	// round takes, too little of it is left.
	c.IntentTTL, c.CommitTimeout = 100*time.Millisecond, 200*time.Millisecond
	cs := changeSet(row(1, "late"))
	err := commit(context.Background(), nodes[0], cs, nil, txlog.Quorum)
	var ce *txlog.ConflictError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "lease") {
		t.Fatalf("commit after the lease was spent: %v, want a conflict naming the lease", err)
	}
	// The aborts reach the members asynchronously: poll for them.
	deadline := time.Now().Add(5 * time.Second)
	for _, nd := range nodes {
		if nd.log.Has(nodes[0].log.Node(), 1) {
			t.Fatalf("node %d holds the aborted change set", nd.log.Node())
		}
		for nd.log.Intents() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("node %d: %d intents left behind", nd.log.Node(), nd.log.Intents())
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
	}
}

// TestOverdueIntentsAskTheCoordinator: the fault-run trace in
// docs/testing.md. A coordinator commits in its own log (the commit point)
// and stops before telling the members. The members' intents outlive their
// lease; freeing them would let the survivors commit over the rows and the
// returning coordinator's change set half-apply. Instead the rows stay held
// while the coordinator is unreachable; once it answers, the committed
// transaction's rows stay held until its change set arrives and a
// transaction it never committed is released, and can no longer commit.
func TestOverdueIntentsAskTheCoordinator(t *testing.T) {
	nodes := startTestCluster(t, 3)
	ctx := t.Context()
	c, m := nodes[0], nodes[1]
	since, _ := c.log.Clock().Now()
	committed, pending := changeSet(row(1, "committed")), changeSet(row(2, "never"))
	for _, cs := range []*marmotv1.ChangeSet{committed, pending} {
		if _, err := c.log.PrepareLocal(cs, nil, false, time.Minute); err != nil {
			t.Fatal(err)
		}
		for _, nd := range nodes[1:] {
			rows := []txlog.IntentRow{{Table: "t", PK: cs.Rows[0].Pk}}
			if err := nd.log.Prepare(txlog.Claim{Txn: cs.Id, DB: "db", Rows: rows, TTL: 50 * time.Millisecond, Coord: c.log.Node(), Since: since}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The coordinator goes away, then (as far as its own log knows)
	// commits one of them: nobody else learns of it.
	c.srv.Close()
	a, err := c.log.Append(committed, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	stale := func(pk int64) error { // a writer that read the row before either transaction
		return m.log.Prepare(txlog.Claim{Txn: []byte(fmt.Sprintf("stale-%d-%d", pk, txnSeq.Add(1))), DB: "db", Rows: []txlog.IntentRow{{Table: "t", PK: row(pk, "").Pk}}, TTL: time.Minute, Coord: 3})
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(m.log.Overdue()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("intents not overdue after their 50 ms lease: %d", len(m.log.Overdue()))
		}
		time.Sleep(5 * time.Millisecond) // polling
	}
	m.coord.ResolveOnce(ctx) // unreachable: nothing settles
	for _, pk := range []int64{1, 2} {
		if err := stale(pk); err == nil {
			t.Fatalf("row %d freed while its coordinator could not say whether it committed", pk)
		}
	}

	// The coordinator is back.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		t.Fatal(err)
	}
	c.srv = &http.Server{Handler: c.mux, Protocols: ServerProtocols()}
	go c.srv.Serve(ln)
	m.coord.ResolveOnce(ctx)
	if err := stale(2); err != nil {
		t.Fatalf("row of the transaction the coordinator never committed still held: %v", err)
	}
	if _, err := c.log.Append(pending, nil); err == nil {
		t.Fatal("the coordinator committed a transaction after telling a member it had not")
	}
	if err := stale(1); err == nil {
		t.Fatal("a stale writer took a row of the committed transaction")
	}
	// The committed change set arrives (Pull) and releases its intents;
	// after it, the stale writer is refused by the row's version.
	for !m.log.Durable().Covers(committed.Origin, committed.Seq) || m.log.Intents() > 1 {
		if time.Now().After(deadline.Add(10 * time.Second)) {
			t.Fatalf("committed change set not delivered: durable %v, intents %d", m.log.Durable(), m.log.Intents())
		}
		time.Sleep(10 * time.Millisecond) // polling
	}
	if err := stale(1); err == nil {
		t.Fatal("a stale writer overwrote the committed transaction's row")
	}
}
