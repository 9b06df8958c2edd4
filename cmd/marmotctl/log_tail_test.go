package main

import (
	"context"
	"slices"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestLogTail(t *testing.T) {
	dir := fixture(t)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "3"}, []string{"7/6", "7/7", "9/1"}},
		{[]string{"-n", "1"}, []string{"9/1"}},
		{[]string{"-n", "0"}, nil},
		{nil, []string{"7/1", "7/2", "7/3", "7/4", "7/5", "7/6", "7/7", "9/1"}}, // default 20 > entries
	} {
		got := seqsOf(runCmd(t, runLogTail, append([]string{"--data-dir", dir}, tt.args...)...))
		if !slices.Equal(got, tt.want) {
			t.Fatalf("%v: got %v, want %v", tt.args, got, tt.want)
		}
	}
}

// lineWriter hands each Write (one printed line) to a channel, so a test
// can wait for output without sleeping.
type lineWriter chan string

func (w lineWriter) Write(p []byte) (int, error) {
	w <- string(p)
	return len(p), nil
}

func TestLogTailFollow(t *testing.T) {
	dir := fixture(t)
	l := mustOpenLog(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	out := make(lineWriter, 16)
	done := make(chan error, 1)
	go func() { done <- tailLog(ctx, l, tailOpts{n: 1, follow: true}, out) }()

	next := func() string {
		t.Helper()
		select {
		case s := <-out:
			return seqsOf(s)[0]
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10s")
			return ""
		}
	}
	checkFollow(t, l, next)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("tail ended with %v", err)
	}
	select {
	case s := <-out:
		t.Fatalf("unexpected output %q", s)
	default:
	}
}

// checkFollow drives a `log tail -n 1 --follow` (offline or online) over the
// fixture log: the last change set, then a local commit, then a replicated
// change set whose HLC is older than what was printed (still printed once).
func checkFollow(t *testing.T, l *txlog.Log, next func() string) {
	t.Helper()
	if got := next(); got != "9/1" {
		t.Fatalf("initial tail: got %s, want 9/1", got)
	}
	mustCommit(t, l, insertUser(10, "dave"))
	if got := next(); got != "7/8" {
		t.Fatalf("after commit: got %s, want 7/8", got)
	}
	// A replicated change set with an HLC older than what was printed is
	// still printed once.
	old := insertUser(11, "erin")
	old.Origin, old.Seq, old.Hlc = 11, 1, &marmotv1.HLC{WallMs: fixtureWall + 1, NodeId: 11}
	if err := l.Ingest(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	if got := next(); got != "11/1" {
		t.Fatalf("after ingest: got %s, want 11/1", got)
	}
}
