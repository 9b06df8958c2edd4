package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const msSecret = "membership-test-secret"

// Short timeouts, as the brief of the tests asks: gossip 100ms, suspect
// 500ms, dead 1s.
const (
	msGossip  = 100 * time.Millisecond
	msSuspect = 500 * time.Millisecond
	msDead    = time.Second
)

// msSyncLog is a slog sink for tests: lines go to t.Log until the test ends.
type msSyncLog struct {
	mu   sync.Mutex
	t    *testing.T
	done bool
}

func (w *msSyncLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

func msLogger(t *testing.T) *slog.Logger {
	w := &msSyncLog{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	level := slog.LevelInfo
	if os.Getenv("MARMOT_TEST_DEBUG") != "" {
		level = slog.LevelDebug // memberlist's own log too
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// msNode is one member: an HTTP server for its peer port (kept across
// restarts of the membership, so its address stays) and a membership.
type msNode struct {
	t          *testing.T
	id         uint64
	secret     string
	seeds      []string
	dir        string
	srv        *httptest.Server
	handler    atomic.Pointer[http.Handler]
	gossipPort int
	logger     *slog.Logger
	ctx        context.Context // StartMembership's ctx; nil = Background

	mu    sync.Mutex
	alive []uint64 // OnAlive calls, in order
	m     *Membership
}

func newMSNode(t *testing.T, logger *slog.Logger, id uint64, secret string, seeds ...string) *msNode {
	t.Helper()
	n := &msNode{t: t, id: id, secret: secret, seeds: seeds, dir: t.TempDir(), logger: logger}
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := n.handler.Load()
		if h == nil {
			http.Error(w, "membership not running", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	t.Cleanup(n.close)
	return n
}

func (n *msNode) addr() string { return n.srv.Listener.Addr().String() }

func (n *msNode) cfg() MembershipConfig {
	return MembershipConfig{
		NodeID: n.id, Addr: n.addr(), BindAddr: "127.0.0.1", GossipPort: n.gossipPort,
		Secret: n.secret, Seeds: n.seeds,
		GossipInterval: msGossip, SuspectTimeout: msSuspect, DeadTimeout: msDead, Fanout: 3,
		Dir: n.dir, Logger: n.logger.With("node", n.id),
		OnAlive: func(m Member) {
			n.mu.Lock()
			n.alive = append(n.alive, m.ID)
			n.mu.Unlock()
		},
	}
}

// start starts (or restarts, on the same gossip port and directory) the
// membership.
func (n *msNode) start() *Membership {
	n.t.Helper()
	var m *Membership
	var err error
	for range 5 { // a free TCP port may be taken for UDP: pick again
		ctx := n.ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if m, err = StartMembership(ctx, n.cfg()); err == nil || n.gossipPort != 0 {
			break
		}
	}
	if err != nil {
		n.t.Fatalf("node %d: StartMembership: %v", n.id, err)
	}
	if n.gossipPort == 0 {
		_, p, _ := strings.Cut(m.GossipAddr(), ":")
		fmt.Sscan(p, &n.gossipPort)
	}
	_, h := m.Handler()
	n.handler.Store(&h)
	n.mu.Lock()
	n.m = m
	n.mu.Unlock()
	return m
}

func (n *msNode) mem() *Membership {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.m
}

func (n *msNode) close() {
	if m := n.mem(); m != nil {
		if err := m.Close(); err != nil {
			n.t.Errorf("node %d: Close: %v", n.id, err)
		}
	}
}

func (n *msNode) crash() { n.mem().crash() }

func (n *msNode) aliveCalls() []uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.alive)
}

// msCluster starts n nodes with ids 1..n; 2..n join through node 1.
func msCluster(t *testing.T, size int) []*msNode {
	t.Helper()
	logger := msLogger(t)
	seed := newMSNode(t, logger, 1, msSecret)
	seed.seeds = []string{seed.addr()} // a seed listing itself is common
	nodes := []*msNode{seed}
	seed.start()
	for id := 2; id <= size; id++ {
		n := newMSNode(t, logger, uint64(id), msSecret, seed.addr())
		n.start()
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	return nodes
}

// msEventually polls cond until it returns nil or the deadline passes.
func msEventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func msDescribe(ms []Member) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%d@%s=%s ", m.ID, m.Addr, m.State)
	}
	return b.String()
}

func msWantAll(nodes []*msNode, s MemberState) map[uint64]MemberState {
	want := map[uint64]MemberState{}
	for _, n := range nodes {
		want[n.id] = s
	}
	return want
}

// msWaitStates waits until n's Members() is exactly the ids of want in those
// states, each at its node's address.
func msWaitStates(t *testing.T, n *msNode, want map[uint64]MemberState) {
	t.Helper()
	msEventually(t, fmt.Sprintf("node %d members", n.id), func() error {
		ms := n.mem().Members()
		ok := len(ms) == len(want)
		for _, m := range ms {
			s, in := want[m.ID]
			ok = ok && in && s == m.State && m.Self == (m.ID == n.id)
		}
		if !ok {
			return fmt.Errorf("got %s, want %v", msDescribe(ms), want)
		}
		return nil
	})
}

func msIDs(ms []Member) []uint64 {
	var out []uint64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestMembershipGossipTiming(t *testing.T) {
	tests := []struct {
		suspect, dead     time.Duration
		interval, timeout time.Duration
		mult              int
	}{
		{500 * time.Millisecond, time.Second, 250 * time.Millisecond, 125 * time.Millisecond, 3},
		{5 * time.Second, 10 * time.Second, 2500 * time.Millisecond, 1250 * time.Millisecond, 3},
		{time.Second, 10 * time.Second, 500 * time.Millisecond, 250 * time.Millisecond, 19},
		{4 * time.Second, 5 * time.Second, 2 * time.Second, time.Second, 2},
	}
	for _, tt := range tests {
		g := newGossipTiming(tt.suspect, tt.dead)
		if g.probeInterval != tt.interval || g.probeTimeout != tt.timeout || g.suspicionMult != tt.mult {
			t.Errorf("timing(%v, %v) = interval %v timeout %v mult %d, want %v %v %d",
				tt.suspect, tt.dead, g.probeInterval, g.probeTimeout, g.suspicionMult, tt.interval, tt.timeout, tt.mult)
		}
		// Declared dead no earlier than DeadTimeout after a failed probe
		// started: one probe interval plus the suspicion period.
		if got := g.probeInterval * time.Duration(1+g.suspicionMult); got < tt.dead {
			t.Errorf("timing(%v, %v): dead after %v, before the dead timeout", tt.suspect, tt.dead, got)
		}
	}
}

func TestMembershipStateString(t *testing.T) {
	for s, want := range map[MemberState]string{MemberAlive: "alive", MemberSuspect: "suspect", MemberDead: "dead", MemberLeft: "left"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q, want %q", s, s.String(), want)
		}
	}
}

func TestMembershipConfigErrors(t *testing.T) {
	ok := MembershipConfig{NodeID: 1, Addr: "127.0.0.1:1", Secret: "s", Dir: t.TempDir()}
	tests := []struct {
		name   string
		mutate func(*MembershipConfig)
		want   string
	}{
		{"no node id", func(c *MembershipConfig) { c.NodeID = 0 }, "node id"},
		{"no secret", func(c *MembershipConfig) { c.Secret = "" }, "secret"},
		{"no dir", func(c *MembershipConfig) { c.Dir = "" }, "Dir"},
		{"bad addr", func(c *MembershipConfig) { c.Addr = "nowhere" }, "host:port"},
		{"bad bind", func(c *MembershipConfig) { c.BindAddr = "eth0" }, "not an IP"},
		{"dead before suspect", func(c *MembershipConfig) { c.SuspectTimeout, c.DeadTimeout = time.Second, time.Second }, "must exceed"},
	}
	for _, tt := range tests {
		c := ok
		tt.mutate(&c)
		_, err := StartMembership(context.Background(), c)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestMembershipJoinThroughOneSeed(t *testing.T) {
	nodes := msCluster(t, 3)
	for _, n := range nodes {
		m := n.mem()
		if !m.Joined() || m.Err() != nil {
			t.Errorf("node %d: Joined %v Err %v", n.id, m.Joined(), m.Err())
		}
		for _, mem := range m.Members() {
			if want := nodes[mem.ID-1].addr(); mem.Addr != want {
				t.Errorf("node %d sees %d at %s, want %s", n.id, mem.ID, mem.Addr, want)
			}
		}
		// OnAlive once for each other member.
		n := n
		msEventually(t, fmt.Sprintf("node %d OnAlive", n.id), func() error {
			got := n.aliveCalls()
			slices.Sort(got)
			var want []uint64
			for _, o := range nodes {
				if o.id != n.id {
					want = append(want, o.id)
				}
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("OnAlive for %v, want %v", got, want)
			}
			return nil
		})
	}
}

func TestMembershipCrashSuspectDeadRestart(t *testing.T) {
	nodes := msCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n3.crash()
	// Each survivor sees 3 suspect, then dead; it stays listed.
	for _, n := range []*msNode{n1, n2} {
		sawSuspect := false
		msEventually(t, fmt.Sprintf("node %d sees node 3 dead", n.id), func() error {
			ms := n.mem().Members()
			if len(ms) != 3 {
				return fmt.Errorf("members %s: want all 3 listed", msDescribe(ms))
			}
			switch ms[2].State {
			case MemberSuspect:
				sawSuspect = true
			case MemberDead:
				return nil
			}
			return fmt.Errorf("members %s", msDescribe(ms))
		})
		if !sawSuspect && n == n1 {
			t.Errorf("node %d: node 3 went dead without being seen suspect", n.id)
		}
		msWaitStates(t, n, map[uint64]MemberState{1: MemberAlive, 2: MemberAlive, 3: MemberDead})
	}
	before := len(n1.aliveCalls())
	n3.start() // same directory, address and gossip port
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	msEventually(t, "OnAlive for the restarted node", func() error {
		if calls := n1.aliveCalls(); len(calls) <= before || calls[len(calls)-1] != 3 {
			return fmt.Errorf("OnAlive calls %v", calls)
		}
		return nil
	})
	// A graceful Close is seen as left, not dead.
	n3.close()
	want := msWantAll(nodes, MemberAlive)
	want[3] = MemberLeft
	msWaitStates(t, n1, want)
	msWaitStates(t, n2, want)
}

// A node restarted on another gossip port while the others still hold its
// old instance alive waits (hello answers 503) instead of clashing, and
// joins once the old instance is declared dead.
func TestMembershipRestartOnNewGossipPort(t *testing.T) {
	nodes := msCluster(t, 3)
	n3 := nodes[2]
	n3.crash()
	n3.gossipPort = 0
	m := n3.start()
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	if err := m.Err(); err != nil {
		t.Errorf("Err() = %v after rejoining", err)
	}
	for _, n := range nodes[:2] {
		if g := n.mem().Members()[2]; g.Addr != n3.addr() {
			t.Errorf("node %d sees node 3 at %s", n.id, g.Addr)
		}
	}
}

// Members that were declared dead are re-joined by their last gossip
// address, so a node that comes back without seeds (as after a healed
// partition, where neither side would join the other) meets the cluster.
func TestMembershipReconnectDead(t *testing.T) {
	nodes := msCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	n2.crash()
	msWaitStates(t, n1, map[uint64]MemberState{1: MemberAlive, 2: MemberDead})
	n2.seeds, n2.dir = nil, t.TempDir() // knows nobody, joins nobody
	m := n2.start()
	if !m.Joined() || len(m.Members()) != 1 {
		t.Fatalf("fresh founder: joined %v members %s", m.Joined(), msDescribe(m.Members()))
	}
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
}

func TestMembershipPersistedAcrossRestart(t *testing.T) {
	nodes := msCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	n2.close()
	n3.crash()
	n1.close()
	if _, err := os.Stat(filepath.Join(n1.dir, "members.json")); err != nil {
		t.Fatal(err)
	}
	// Node 1 restarts alone, seeded with a node that is down: it still
	// counts three members.
	n1.seeds = []string{n2.addr()}
	m := n1.start()
	if ms := m.Members(); !slices.Equal(msIDs(ms), []uint64{1, 2, 3}) || ms[0].State != MemberAlive ||
		ms[1].State != MemberDead || ms[2].State != MemberDead || !ms[0].Self || ms[1].Addr != n2.addr() {
		t.Fatalf("after a lone restart: %s", msDescribe(ms))
	}
	if !m.Joined() {
		t.Error("Joined() = false for a node that knew members from its table")
	}
	// The others come back and all meet again, through node 1's background
	// joining (node 2, its seed, starts later) and theirs.
	n2.start()
	n3.start()
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
}

func TestMembershipWrongSecret(t *testing.T) {
	nodes := msCluster(t, 2)
	n1 := nodes[0]
	bad := newMSNode(t, msLogger(t), 9, "not-the-secret", n1.addr())
	m := bad.start()
	msEventually(t, "the wrong secret is reported", func() error {
		if err := m.Err(); err == nil || !strings.Contains(err.Error(), "cluster_secret") {
			return fmt.Errorf("Err() = %v", err)
		}
		return nil
	})
	if m.Joined() {
		t.Error("node with the wrong secret says it joined")
	}
	// Straight to the gossip port (no hello): the encryption refuses it.
	if n, err := m.gossipJoin([]string{n1.mem().GossipAddr()}); n != 0 {
		t.Fatalf("gossip join with the wrong key reached %d nodes (err %v)", n, err)
	}
	for _, n := range nodes {
		if got := msIDs(n.mem().Members()); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("node %d members %v after a wrong-secret join", n.id, got)
		}
	}
	if got := msIDs(m.Members()); !slices.Equal(got, []uint64{9}) {
		t.Errorf("the outsider learned members %v", got)
	}
}

func TestMembershipDuplicateNodeID(t *testing.T) {
	nodes := msCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	tests := []struct {
		name   string
		id     uint64
		holder string
	}{
		{"same id as the seed", 1, n1.addr()},
		{"same id as another member", 2, n2.addr()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dup := newMSNode(t, msLogger(t), tt.id, msSecret, n1.addr())
			m := dup.start()
			msEventually(t, "the clash is reported", func() error {
				err := m.Err()
				if err == nil || !strings.Contains(err.Error(), "node id clash") ||
					!strings.Contains(err.Error(), tt.holder) || !strings.Contains(err.Error(), dup.addr()) {
					return fmt.Errorf("Err() = %v, want a clash naming %s and %s", err, tt.holder, dup.addr())
				}
				return nil
			})
			if m.Joined() {
				t.Error("the clashing node says it joined")
			}
			for _, n := range nodes {
				ms := n.mem().Members()
				if !slices.Equal(msIDs(ms), []uint64{1, 2}) || ms[tt.id-1].Addr != tt.holder {
					t.Errorf("node %d members %s after the clash", n.id, msDescribe(ms))
				}
			}
		})
	}
	// A clash found by gossip itself (no hello: memberlist's conflict
	// delegate). The newcomer reports it; the incumbent carries on.
	t.Run("gossip conflict", func(t *testing.T) {
		dup := newMSNode(t, msLogger(t), 2, msSecret, "127.0.0.1:1") // its seed is down
		m := dup.start()
		m.gossipJoin([]string{n1.mem().GossipAddr()})
		msEventually(t, "the conflict is reported", func() error {
			if err := m.Err(); err == nil || !strings.Contains(err.Error(), "node id clash") {
				return fmt.Errorf("Err() = %v", err)
			}
			return nil
		})
		if err := n2.mem().Err(); err != nil {
			t.Errorf("the incumbent got Err() = %v", err)
		}
		ms := n1.mem().Members()
		if !slices.Equal(msIDs(ms), []uint64{1, 2}) || ms[1].Addr != n2.addr() {
			t.Errorf("node 1 members %s after the conflict", msDescribe(ms))
		}
	})
}

func TestMembershipRemoveAllow(t *testing.T) {
	nodes := msCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	m1 := n1.mem()
	for _, tt := range []struct {
		id   uint64
		want string
	}{{1, "itself"}, {42, "not a member"}} {
		if err := m1.Remove(tt.id); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Remove(%d) = %v, want %q", tt.id, err, tt.want)
		}
	}
	if err := m1.Remove(3); err != nil {
		t.Fatal(err)
	}
	if got := msIDs(m1.Members()); !slices.Equal(got, []uint64{1, 2}) {
		t.Fatalf("after Remove(3): members %v", got)
	}
	if err := m1.Remove(3); err != nil {
		t.Errorf("second Remove(3) = %v", err)
	}
	// The removal spreads; the removed node learns it and leaves.
	msEventually(t, "node 2 learns the removal", func() error {
		if got := msIDs(n2.mem().Members()); !slices.Equal(got, []uint64{1, 2}) {
			return fmt.Errorf("members %v", got)
		}
		return nil
	})
	msEventually(t, "node 3 learns it was removed", func() error {
		if err := n3.mem().Err(); err == nil || !strings.Contains(err.Error(), "removed") {
			return fmt.Errorf("Err() = %v", err)
		}
		return nil
	})
	// Persisted, and refused on rejoin.
	n1.close()
	m1 = n1.start()
	if got, rm := msIDs(m1.Members()), m1.Removed(); !slices.Equal(got, []uint64{1, 2}) || !slices.Equal(rm, []uint64{3}) {
		t.Fatalf("after restart: members %v removed %v", got, rm)
	}
	n3.close()
	n3.seeds = []string{n2.addr()}
	m3 := n3.start()
	msEventually(t, "the removed node is refused", func() error {
		if err := m3.Err(); err == nil || !strings.Contains(err.Error(), "removed") {
			return fmt.Errorf("Err() = %v", err)
		}
		return nil
	})
	for _, n := range []*msNode{n1, n2} {
		if got := msIDs(n.mem().Members()); !slices.Equal(got, []uint64{1, 2}) {
			t.Errorf("node %d members %v while the removed node knocks", n.id, got)
		}
	}
	// Allowed on another member; after a restart it joins again.
	if err := n2.mem().Allow(3); err != nil {
		t.Fatal(err)
	}
	msEventually(t, "node 1 learns the allow", func() error {
		if rm := n1.mem().Removed(); len(rm) != 0 {
			return fmt.Errorf("removed %v", rm)
		}
		return nil
	})
	n3.close()
	n3.start()
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	if err := n3.mem().Err(); err != nil {
		t.Errorf("node 3 Err() = %v after rejoining", err)
	}
}

func TestMembershipHello(t *testing.T) {
	logger := msLogger(t)
	n := newMSNode(t, logger, 7, msSecret)
	m := n.start()
	path, h := m.Handler()
	if path != MembershipHelloPath {
		t.Fatalf("path %q", path)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	signed := &http.Client{Transport: signingTransport{secret: []byte(msSecret), node: 8, next: http.DefaultTransport}}
	tests := []struct {
		name   string
		client *http.Client
		query  string
		status int
	}{
		{"unauthenticated", http.DefaultClient, "?node_id=8&rpc_addr=127.0.0.1:9", http.StatusUnauthorized},
		{"no node id", signed, "?rpc_addr=127.0.0.1:9", http.StatusBadRequest},
		{"bad address", signed, "?node_id=8&rpc_addr=nowhere", http.StatusBadRequest},
		{"its own id elsewhere", signed, "?node_id=7&rpc_addr=127.0.0.1:9", http.StatusConflict},
		{"ok", signed, "?node_id=8&rpc_addr=127.0.0.1:9", http.StatusOK},
	}
	for _, tt := range tests {
		res, err := tt.client.Get(srv.URL + path + tt.query)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, res.StatusCode, body, tt.status)
			continue
		}
		if tt.status == http.StatusOK {
			var hr helloResponse
			if err := json.Unmarshal(body, &hr); err != nil || hr.NodeID != 7 || hr.GossipAddr != m.GossipAddr() || hr.RPCAddr != n.addr() {
				t.Errorf("hello answer %s (%v)", body, err)
			}
		}
	}
}

func TestMembershipUnspecifiedAddr(t *testing.T) {
	c := MembershipConfig{NodeID: 5, Addr: "0.0.0.0:8080", BindAddr: "127.0.0.1", Secret: "s", Dir: t.TempDir(), Logger: msLogger(t)}
	m, err := StartMembership(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Addr() != "127.0.0.1:8080" || !strings.HasPrefix(m.GossipAddr(), "127.0.0.1:") {
		t.Errorf("Addr %q GossipAddr %q", m.Addr(), m.GossipAddr())
	}
	if ms := m.Members(); len(ms) != 1 || ms[0].Addr != "127.0.0.1:8080" || !ms[0].Self || !m.Joined() {
		t.Errorf("members %s joined %v", msDescribe(ms), m.Joined())
	}
}

// The sequence of e2e TestClusterAdmin, where the removed node vanishes
// without a leave (killed, or, as marmotd did at SIGTERM, exiting before
// its leave went out) before it heard of its removal, is allowed back and
// restarts at once on the same addresses: memberlist never saw it go, and
// the restarted instance (incarnation 1, the same meta) changes nothing
// there, so no event marks it alive; it must be alive again all the same.
func TestMembershipRemoveVanishAllowRestart(t *testing.T) {
	nodes := msCluster(t, 3)
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	if err := n1.mem().Remove(3); err != nil {
		t.Fatal(err)
	}
	n3.crash() // before the removal reaches it (the next gossip round)
	msWaitStates(t, n1, map[uint64]MemberState{1: MemberAlive, 2: MemberAlive})
	if err := n1.mem().Allow(3); err != nil {
		t.Fatal(err)
	}
	n3.seeds = []string{n1.addr(), n2.addr()}
	n3.start()
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	if err := n3.mem().Err(); err != nil {
		t.Errorf("node 3 Err() = %v after rejoining", err)
	}
}

// marmotd stops on SIGTERM as here: the signal ends StartMembership's ctx,
// which starts a Close, then the deferred Close runs and the process exits.
// That Close must return only once the node has left, or the process exits
// mid-leave. Then the e2e TestClusterAdmin sequence goes on: the removed
// node is allowed back and restarts.
func TestMembershipRemoveStopAllowRestart(t *testing.T) {
	nodes := msCluster(t, 2)
	n1, n2 := nodes[0], nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n3 := newMSNode(t, n1.logger, 3, msSecret, n1.addr(), n2.addr())
	n3.ctx = ctx
	m3 := n3.start()
	nodes = append(nodes, n3)
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
	if err := n1.mem().Remove(3); err != nil {
		t.Fatal(err)
	}
	msWaitStates(t, n1, map[uint64]MemberState{1: MemberAlive, 2: MemberAlive})
	cancel()
	msEventually(t, "the end of ctx starts a Close", func() error {
		m3.mu.Lock()
		defer m3.mu.Unlock()
		if !m3.closed {
			return fmt.Errorf("not closing")
		}
		return nil
	})
	if err := m3.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	// The process exits now: its gossip must be down (a restart binds the
	// same port).
	l, err := net.Listen("tcp", m3.GossipAddr())
	if err != nil {
		t.Fatalf("Close returned while the Close started by ctx was still leaving: %v", err)
	}
	l.Close()
	if err := n1.mem().Allow(3); err != nil {
		t.Fatal(err)
	}
	n3.ctx = nil
	n3.start()
	for _, n := range nodes {
		msWaitStates(t, n, msWantAll(nodes, MemberAlive))
	}
}
