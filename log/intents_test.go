package log

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func intentRow(cs *marmotv1.ChangeSet, expected *Version) []IntentRow {
	return []IntentRow{{Table: cs.Rows[0].Table, PK: cs.Rows[0].Pk, Expected: expected}}
}

// TestIntents: a prepared transaction's rows refuse other prepares and
// appends until it commits, aborts or expires; a stale read refuses.
func TestIntents(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	base := mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)
	v1, _, err := l.RowVersion("db", "t", base.Rows[0].Pk)
	if err != nil {
		t.Fatal(err)
	}
	stale := Version{HLC: Timestamp{WallMS: 1, Node: 9}, Seq: 1}
	isIntent := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && ce.Intent }
	isStale := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && !ce.Intent }

	tests := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"fresh read prepares", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(Claim{Txn: cs.Id, DB: "db", Rows: intentRow(cs, &v1), TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatal(err)
			}
			l.Release(cs.Id)
		}},
		{"stale read refused", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(Claim{Txn: cs.Id, DB: "db", Rows: intentRow(cs, &stale), TTL: time.Minute, Coord: 7}); !isStale(err) {
				t.Fatalf("want stale conflict, got %v", err)
			}
			if err := l.Prepare(Claim{Txn: cs.Id, DB: "db", Rows: intentRow(cs, nil), TTL: time.Minute, Coord: 7}); !isStale(err) {
				t.Fatalf("row had a version the txn did not see: want conflict, got %v", err)
			}
		}},
		{"held row refuses prepare and append", func(t *testing.T) {
			a, b := rowCS("db", 1, marmotv1.Op_OP_UPDATE), rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if err := l.Prepare(Claim{Txn: a.Id, DB: "db", Rows: intentRow(a, &v1), TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatal(err)
			}
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); !isIntent(err) {
				t.Fatalf("want intent conflict, got %v", err)
			}
			if _, err := l.Append(b, Watermark{1: 100}); !isIntent(err) {
				t.Fatalf("append over an intent: want intent conflict, got %v", err)
			}
			l.Release(a.Id)
			if err := l.Prepare(Claim{Txn: a.Id, DB: "db", Rows: intentRow(a, &v1), TTL: time.Minute, Coord: 7}); !errors.Is(err, ErrFinished) {
				t.Fatalf("prepare after release: want ErrFinished, got %v", err)
			}
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatalf("after release: %v", err)
			}
			l.Release(b.Id)
		}},
		{"another node's expired intent is overdue until settled", func(t *testing.T) {
			a, b := rowCS("db", 1, marmotv1.Op_OP_UPDATE), rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			since := Timestamp{WallMS: 42, Node: 7}
			if err := l.Prepare(Claim{Txn: a.Id, DB: "db", Rows: intentRow(a, &v1), TTL: time.Millisecond, Coord: 7, Since: since}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond) // the lease itself is what is under test
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); !isIntent(err) {
				t.Fatalf("overdue intent must still block, got %v", err)
			}
			select {
			case <-l.OverdueNotify():
			default:
				t.Fatal("meeting an overdue intent did not wake the resolver")
			}
			od := l.Overdue()
			if len(od) != 1 || string(od[0].Txn) != string(a.Id) || od[0].Coord != 7 || od[0].Since != since {
				t.Fatalf("Overdue() = %+v, want transaction a of node 7 since %v", od, since)
			}
			l.Settle(a.Id, 7, true, 0) // committed: held until its change set arrives
			if len(l.Overdue()) != 0 {
				t.Fatal("a decided transaction is still listed overdue")
			}
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); !isIntent(err) {
				t.Fatalf("decided intent must block, got %v", err)
			}
			l.Settle(a.Id, 7, false, 0) // (as if the coordinator was removed)
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatalf("after settling: %v", err)
			}
			l.Release(b.Id)
		}},
		{"own expired intent yields and its append is refused", func(t *testing.T) {
			a, b := rowCS("db", 1, marmotv1.Op_OP_UPDATE), rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if _, err := l.PrepareLocal(a, l.Durable(), false, time.Millisecond); err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * time.Millisecond)
			if err := l.Prepare(Claim{Txn: b.Id, DB: "db", Rows: intentRow(b, &v1), TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatalf("own expired intent still blocks: %v", err)
			}
			l.Release(b.Id)
			if _, err := l.Append(a, l.Durable()); !isIntent(err) {
				t.Fatalf("append of a transaction given up past its lease: want conflict, got %v", err)
			}
		}},
		{"ddl lock is exclusive", func(t *testing.T) {
			a, b := rowCS("db", 2, marmotv1.Op_OP_INSERT), rowCS("db", 3, marmotv1.Op_OP_INSERT)
			if err := l.Prepare(Claim{Txn: a.Id, DB: "db", Lock: true, TTL: time.Minute, Coord: 7}); err != nil {
				t.Fatal(err)
			}
			if err := l.Prepare(Claim{Txn: b.Id, DB: "other", Lock: true, TTL: time.Minute, Coord: 7}); !isIntent(err) {
				t.Fatalf("second DDL lock: want intent conflict, got %v", err)
			}
			l.Release(a.Id)
		}},
		{"local prepare then append releases", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			rows, err := l.PrepareLocal(cs, l.Durable(), false, time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Table != "t" || rows[0].Expected != nil {
				t.Fatalf("rows to claim %+v, want row t/1 (members check against seen, not an expected version)", rows)
			}
			if l.Intents() != 1 {
				t.Fatalf("intents = %d, want 1", l.Intents())
			}
			a, err := l.Append(cs, l.Durable())
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if l.Intents() != 0 {
				t.Fatalf("intents after append = %d, want 0", l.Intents())
			}
			v, _, _ := l.RowVersion("db", "t", cs.Rows[0].Pk)
			v1 = v
		}},
		{"local prepare on a stale view conflicts", func(t *testing.T) {
			cs := rowCS("db", 1, marmotv1.Op_OP_UPDATE)
			if _, err := l.PrepareLocal(cs, Watermark{}, false, time.Minute); !isStale(err) {
				t.Fatalf("want stale conflict, got %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.run)
	}
}

func TestParseConsistency(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Consistency
		ok   bool
	}{{"ONE", One, true}, {"quorum", Quorum, true}, {"All", All, true}, {"two", 0, false}, {"", 0, false}} {
		got, err := ParseConsistency(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseConsistency(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestUncleanStart: a log reopened after Close starts clean; one that was
// never closed (a crash) says so.
func TestUncleanStart(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.UncleanStart() {
		t.Fatal("fresh log reports an unclean start")
	}
	l.Close()
	l, err = Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if l.UncleanStart() {
		t.Fatal("log closed cleanly reports an unclean start")
	}
	// Simulate a crash: the Pebble handle is closed without Log.Close.
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
	l.db.Close()
	l, err = Open(Options{Dir: dir, NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.UncleanStart() {
		t.Fatal("crashed log reports a clean start")
	}
}

// TestOwnOutcome: what a coordinator answers a member holding an overdue
// intent, and that a "not committed" answer stays true.
func TestOwnOutcome(t *testing.T) {
	l := mustOpen(t, Options{NodeID: 1})
	ctx := t.Context()
	before, _ := l.Clock().Now()
	mustCommit(t, l, rowCS("db", 1, marmotv1.Op_OP_INSERT), nil)

	committed := rowCS("db", 2, marmotv1.Op_OP_INSERT)
	if _, err := l.PrepareLocal(committed, l.Durable(), false, time.Minute); err != nil {
		t.Fatal(err)
	}
	a, err := l.Append(committed, l.Durable())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	seq, ok, err := l.OwnOutcome(ctx, committed.Id, before)
	if err != nil || !ok || seq != committed.Seq {
		t.Fatalf("committed transaction: OwnOutcome = %d, %v, %v; want %d, true", seq, ok, err, committed.Seq)
	}

	pending := rowCS("db", 3, marmotv1.Op_OP_INSERT)
	if _, err := l.PrepareLocal(pending, l.Durable(), false, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.OwnOutcome(ctx, pending.Id, before); err != nil || ok {
		t.Fatalf("prepared transaction: OwnOutcome = %v, %v; want not committed", ok, err)
	}
	var ce *ConflictError
	if _, err := l.Append(pending, l.Durable()); !errors.As(err, &ce) {
		t.Fatalf("append after answering 'not committed': want conflict, got %v", err)
	}
	if l.Intents() != 0 {
		t.Fatalf("intents = %d after giving the transaction up, want 0", l.Intents())
	}

	unknown := rowCS("db", 4, marmotv1.Op_OP_INSERT)
	if _, ok, err := l.OwnOutcome(ctx, unknown.Id, before); err != nil || ok {
		t.Fatalf("unknown transaction: OwnOutcome = %v, %v; want not committed", ok, err)
	}
	// A change set without an id (a single node's, say) is never refused.
	anon := rowCS("db", 5, marmotv1.Op_OP_INSERT)
	for range 2 {
		anon.Id = nil
		mustCommit(t, l, anon, nil)
		anon = rowCS("db", 6, marmotv1.Op_OP_INSERT)
	}
}

// TestGrantedIntentsSurviveCrash: a member's yes vote outlives a crash that
// keeps only what was synced. The claim of a transaction still in doubt is
// back after the restart, with its coordinator and lease; one whose change
// set arrived is not; a coordinator's "committed" for a change set already
// here releases; and a clean stop keeps released claims gone.
func TestGrantedIntentsSurviveCrash(t *testing.T) {
	mem := vfs.NewCrashableMem()
	l := mustOpen(t, Options{Dir: "/data", FS: mem, NodeID: 1})
	isIntent := func(err error) bool { var ce *ConflictError; return errors.As(err, &ce) && ce.Intent }
	since := Timestamp{WallMS: 42, Node: 7}

	arrived := remoteCS("db", 7, 1, Timestamp{WallMS: 50}, 2, marmotv1.Op_OP_INSERT)
	if err := l.Prepare(Claim{Txn: arrived.Id, DB: "db", Rows: intentRow(arrived, nil), TTL: time.Minute, Coord: 7, Since: since}); err != nil {
		t.Fatal(err)
	}
	mustIngest(t, l, arrived)
	aborted := rowCS("db", 3, marmotv1.Op_OP_INSERT)
	if err := l.Prepare(Claim{Txn: aborted.Id, DB: "db", Rows: intentRow(aborted, nil), TTL: time.Minute, Coord: 8, Since: since}); err != nil {
		t.Fatal(err)
	}
	l.Release(aborted.Id)
	doubt := rowCS("db", 1, marmotv1.Op_OP_INSERT)
	if err := l.Prepare(Claim{Txn: doubt.Id, DB: "db", Rows: intentRow(doubt, nil), TTL: time.Millisecond, Coord: 7, Since: since}); err != nil {
		t.Fatal(err)
	}

	// Only synced data survives: Prepare must have synced its claim.
	crashed := mem.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
	r, err := Open(Options{Dir: "/data", FS: crashed})
	if err != nil {
		t.Fatal(err)
	}
	if !r.UncleanStart() {
		t.Fatal("crash image reports a clean start")
	}
	other := rowCS("db", 1, marmotv1.Op_OP_INSERT)
	if err := r.Prepare(Claim{Txn: other.Id, DB: "db", Rows: intentRow(other, nil), TTL: time.Minute, Coord: 9}); !isIntent(err) {
		t.Fatalf("the claim granted before the crash is gone: prepare over it got %v", err)
	}
	if _, err := r.Append(other, r.Durable()); !isIntent(err) {
		t.Fatalf("the claim granted before the crash is gone: append over it got %v", err)
	}
	od := r.Overdue()
	if len(od) != 1 || string(od[0].Txn) != string(doubt.Id) || od[0].Coord != 7 || od[0].Since != since {
		t.Fatalf("Overdue() after restart = %+v, want the transaction in doubt, of node 7 since %v", od, since)
	}
	next := remoteCS("db", 7, 2, Timestamp{WallMS: 60}, 2, marmotv1.Op_OP_UPDATE)
	v, _, err := r.RowVersion("db", "t", arrived.Rows[0].Pk)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Prepare(Claim{Txn: next.Id, DB: "db", Rows: intentRow(next, &v), TTL: time.Minute, Coord: 7, Since: since}); err != nil {
		t.Fatalf("the claim of a change set that arrived before the crash came back: %v", err)
	}
	r.Release(next.Id)

	// The coordinator answers "committed as seq 1", which is here already
	// (as if the doubt's change set had arrived): nothing to wait for.
	r.Settle(doubt.Id, 7, true, 1)
	if err := r.Prepare(Claim{Txn: other.Id, DB: "db", Rows: intentRow(other, nil), TTL: time.Minute, Coord: 9}); err != nil {
		t.Fatalf("after settling: %v", err)
	}
	r.Release(other.Id)
	// The abort's delete was not synced, so its claim may be back too; its
	// coordinator would answer "not committed". Released now, a clean stop
	// keeps it gone.
	r.Settle(aborted.Id, 8, false, 0)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r = mustOpen(t, Options{Dir: "/data", FS: crashed})
	if n := r.Intents(); n != 0 {
		t.Fatalf("%d intents after a clean stop with none held, want 0", n)
	}
	if r.UncleanStart() {
		t.Fatal("clean stop reports an unclean start")
	}
}

func TestIntentRecRoundTrip(t *testing.T) {
	for _, r := range []intentRec{
		{coord: 7, since: Timestamp{WallMS: 42, Logical: 3, Node: 7}, expires: time.Unix(0, 1_700_000_000_123_456_789), keys: []string{"v/db\x00t\x00k", DDLLockKey}},
		{coord: 1 << 40, expires: time.Unix(0, 0)},
	} {
		got, err := decodeIntentRec(r.encode())
		if err != nil {
			t.Fatal(err)
		}
		if got.coord != r.coord || got.since != r.since || !got.expires.Equal(r.expires) || !slices.Equal(got.keys, r.keys) {
			t.Fatalf("round trip: got %+v, want %+v", got, r)
		}
		b := r.encode()
		for i := range len(b) {
			if _, err := decodeIntentRec(b[:i]); err == nil {
				t.Fatalf("truncated record (%d of %d bytes) decoded", i, len(b))
			}
		}
	}
}
