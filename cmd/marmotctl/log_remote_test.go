package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/peer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const testSecret = "log-remote-secret"

// serveLog serves l's PeerService on a loopback port, as marmotd's cluster
// port does, and returns its address. Relay forwards no other origin after
// the catch-up, as on a node whose peers are all alive: only relay_all
// makes a follower see them.
func serveLog(t *testing.T, l *txlog.Log) string {
	t.Helper()
	svc := &peer.Service{Log: l, Logger: slog.New(slog.DiscardHandler), Relay: func(uint64) bool { return false }}
	path, h, err := svc.Handler(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, Protocols: peer.ServerProtocols()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// captureNotes collects what the online commands note on stderr.
func captureNotes(t *testing.T) *lockedBuf {
	t.Helper()
	b := &lockedBuf{}
	old := noteOut
	noteOut = b
	t.Cleanup(func() { noteOut = old })
	return b
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestLogOnlineMatchesOffline: every log command prints the same over
// --addr as over --data-dir, filters and formats included.
func TestLogOnlineMatchesOffline(t *testing.T) {
	dir := fixture(t)
	type cmdCase struct {
		name string
		run  func(context.Context, []string, io.Writer) error
		args []string
	}
	cases := []cmdCase{
		{"list", runLogList, nil},
		{"list", runLogList, []string{"--json"}},
		{"list", runLogList, []string{"--db", "app"}},
		{"list", runLogList, []string{"--origin", "7"}},
		{"list", runLogList, []string{"--origin", "9", "--db", "app"}},
		{"list", runLogList, []string{"--since", fmt.Sprintf("%d.3", fixtureWall)}},
		{"list", runLogList, []string{"--since", "2023-11-14T22:13:20.001Z"}},
		{"list", runLogList, []string{"--limit", "3", "--db", "shop"}},
		{"stats", runLogStats, nil},
		{"stats", runLogStats, []string{"--json"}},
		{"show", runLogShow, []string{"--origin", "7", "--seq", "4"}},
		{"show", runLogShow, []string{"--origin", "9", "--seq", "1", "--json"}},
		{"show", runLogShow, []string{"--hlc", fmt.Sprintf("%d.6@7", fixtureWall)}},
		{"show", runLogShow, []string{"--hlc", fmt.Sprintf("%d.0", fixtureWall+5)}},
		{"tail", runLogTail, []string{"-n", "3"}},
		{"tail", runLogTail, []string{"-n", "1", "--json"}},
		{"tail", runLogTail, []string{"-n", "0"}},
		{"tail", runLogTail, nil},
		{"tail", runLogTail, []string{"--since", fmt.Sprintf("%d.5", fixtureWall)}},
	}
	offline := make([]string, len(cases))
	for i, c := range cases {
		offline[i] = runCmd(t, c.run, append([]string{"--data-dir", dir}, c.args...)...)
		if offline[i] == "" && !slices.Contains(c.args, "0") {
			t.Fatalf("%s %v printed nothing offline", c.name, c.args)
		}
	}

	notes := captureNotes(t)
	addr := serveLog(t, mustOpenLog(t, dir))
	for i, c := range cases {
		got := runCmd(t, c.run, append([]string{"--addr", addr, "--secret", testSecret}, c.args...)...)
		if got != offline[i] {
			t.Errorf("%s %v online:\n%s\noffline:\n%s", c.name, c.args, got, offline[i])
		}
	}
	if s := notes.String(); s != "" {
		t.Fatalf("unexpected notes: %s", s)
	}
}

// TestLogOnlineNotFound: show names what is missing, as offline.
func TestLogOnlineNotFound(t *testing.T) {
	addr := serveLog(t, mustOpenLog(t, fixture(t)))
	var out bytes.Buffer
	for _, args := range [][]string{
		{"--origin", "7", "--seq", "99"},
		{"--origin", "5", "--seq", "1"},
		{"--hlc", fmt.Sprintf("%d.9@7", fixtureWall)},
		{"--hlc", fmt.Sprintf("%d.9", fixtureWall)},
	} {
		err := runLogShow(context.Background(), append([]string{"--addr", addr, "--secret", testSecret}, args...), &out)
		wantErr(t, err, txlog.ErrNotFound, "not found")
	}
}

// TestLogOnlineTrimmed: change sets GC trimmed are noted on stderr and the
// listing goes on from the floor, whether the command knew the floor when
// it started or met it in the middle (a Pull refused as trimmed).
func TestLogOnlineTrimmed(t *testing.T) {
	l := mustOpenLog(t, fixture(t))
	addr := serveLog(t, l)
	notes := captureNotes(t)
	if _, err := l.Trim(fixtureNode, 2); err != nil {
		t.Fatal(err)
	}
	got := seqsOf(runCmd(t, runLogList, "--addr", addr, "--secret", testSecret))
	if want := []string{"7/3", "7/4", "7/5", "7/6", "7/7", "9/1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	const note = "log trimmed up to seq 2 for origin 7 by GC; continuing from seq 3"
	if !strings.Contains(notes.String(), note) {
		t.Fatalf("notes %q lack %q", notes.String(), note)
	}

	// The floor moves after the command read it: the stream is refused.
	lt := logTarget{target: target{addr: addr}, secret: testSecret}
	r, err := lt.dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Trim(fixtureNode, 4); err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	err = r.scan(context.Background(), txlog.Watermark{fixtureNode: 2}, []uint64{fixtureNode}, func(cs *marmotv1.ChangeSet) error {
		seqs = append(seqs, cs.Seq)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint64{5, 6, 7}; !slices.Equal(seqs, want) {
		t.Fatalf("after a trim mid-way: got %v, want %v", seqs, want)
	}
	if !strings.Contains(notes.String(), "log trimmed up to seq 4 for origin 7 by GC") {
		t.Fatalf("notes %q lack the second trim", notes.String())
	}
}

// TestLogOnlineTailFollow: tail --follow over --addr prints what becomes
// durable after it started, the node's own change sets and, thanks to
// relay_all, other origins' too, although the node relays none to peers.
func TestLogOnlineTailFollow(t *testing.T) {
	l := mustOpenLog(t, fixture(t))
	addr := serveLog(t, l)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := make(lineWriter, 16)
	done := make(chan error, 1)
	go func() {
		done <- runLogTail(ctx, []string{"--addr", addr, "--secret", testSecret, "-n", "1", "--follow"}, out)
	}()
	next := func() string {
		t.Helper()
		select {
		case s := <-out:
			return seqsOf(s)[0]
		case err := <-done:
			t.Fatalf("tail ended: %v", err)
		case <-time.After(10 * time.Second):
			t.Fatal("no line within 10s")
		}
		return ""
	}
	checkFollow(t, l, next)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tail ended with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not end after cancel")
	}
}

// TestLogTargetFlags: exactly one of --data-dir and --addr; --addr needs a
// secret; a refused secret or no node is a connection error (exit 2).
func TestLogTargetFlags(t *testing.T) {
	t.Setenv("MARMOT_CLUSTER_SECRET", "")
	addr := serveLog(t, mustOpenLog(t, fixture(t)))
	var ue *usageError
	var ce *connError
	for _, c := range offline[:4] { // the log commands
		t.Run(c.name, func(t *testing.T) {
			run := func(args ...string) error {
				return c.run(context.Background(), append(args, c.args...), io.Discard)
			}
			for _, tc := range []struct {
				args []string
				want string
			}{
				{nil, "--data-dir is required"},
				{[]string{"--addr", "x", "--data-dir", "y"}, "exclude each other"},
				{[]string{"--addr", addr}, "no cluster secret"},
			} {
				err := run(tc.args...)
				wantErr(t, err, nil, tc.want)
				if !errors.As(err, &ue) || exitCode(err, io.Discard) != 2 {
					t.Fatalf("%v: %v is not a usage error", tc.args, err)
				}
			}
			err := run("--addr", addr, "--secret", "wrong")
			wantErr(t, err, nil, "unauthenticated")
			if !errors.As(err, &ce) || exitCode(err, io.Discard) != 2 {
				t.Fatalf("wrong secret: %v is not a connection error", err)
			}
			t.Setenv("MARMOT_CLUSTER_SECRET", testSecret)
			if err := run("--addr", addr); err != nil {
				t.Fatalf("secret from the environment: %v", err)
			}
			t.Setenv("MARMOT_CLUSTER_SECRET", "")
		})
	}
}
