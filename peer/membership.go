package peer

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// Membership: who is in the cluster, and which of them are up.
//
// Gossip is SWIM (hashicorp/memberlist) on its own TCP+UDP port
// (cluster.gossip_port, default grpc_port + 1000), encrypted and
// authenticated with AES-256-GCM under SHA-256(cluster secret). A node's
// memberlist name is its node id in decimal; its node meta carries its peer
// RPC address.
//
// The member table. memberlist forgets dead nodes; marmot must not: quorum
// is counted over every configured member, up or down. So Membership keeps
// its own table of every node that ever joined, with the state it was last
// seen in, persisted in <Dir>/members.json and exchanged in memberlist's
// push/pull so a node that was down learns of members that joined meanwhile.
// Only Remove drops a member. A removal (and a later Allow) is a
// last-writer-wins record that is gossiped, pushed and persisted, so an
// operator removes a node on any one member; a removed node is refused on
// every member and, when it hears of its removal, leaves the gossip. An
// allowed node is a member again as soon as gossip holds it live: if it
// never left (it did not hear of its removal, or stopped without a leave),
// memberlist, which ignores removed nodes' news but keeps them, may hold it
// live all along, and a restart at the same address changes nothing there.
//
// States, as seen from this node:
//   - alive: in memberlist, and it answered this node within SuspectTimeout;
//   - suspect: still in memberlist, but silent towards this node for
//     SuspectTimeout (this node pings every live member every
//     SuspectTimeout/4; memberlist exposes no suspect state of its own);
//   - dead: declared dead by memberlist's failure detector, or not seen
//     since this node started;
//   - left: it left gracefully (Close).
//
// Timeouts onto memberlist (gossipTiming): ProbeInterval = SuspectTimeout/2
// and ProbeTimeout = ProbeInterval/2, so a silent node fails a probe, and is
// suspected by memberlist, within about one SuspectTimeout; SuspicionMult =
// ceil((DeadTimeout - ProbeInterval) / ProbeInterval), so memberlist's
// suspicion period (SuspicionMult x ProbeInterval for clusters below ten
// nodes) ends no earlier than DeadTimeout after the node fell silent;
// SuspicionMaxTimeoutMult = 2 bounds it at twice that when no other member
// confirms the suspicion. GossipInterval and Fanout are memberlist's
// GossipInterval and GossipNodes.
//
// Joining. Seeds are peer RPC addresses. The joiner asks each seed, over the
// authenticated peer port, for its gossip address (GET
// /marmot.v1.Membership/Hello); the seed refuses, with the reason in the
// body, a removed node (403) and a node id already used by a live member at
// another address (409), and asks a node whose previous instance (another
// gossip address) is still alive to retry later (503). Then it joins
// memberlist through the gossip addresses it got. It retries in the
// background with backoff (up to DeadTimeout, at most 30s) until one seed
// takes it; members from the persisted table count as seeds too. Once
// joined, dead members are re-joined by gossip address every DeadTimeout (at
// least 1s), so a healed partition merges again without an operator.
//
// Id clashes memberlist itself finds (NotifyConflict, a node that reached
// the gossip port without the hello) are decided for the incumbent: the
// node that was joining reports the clash in Err and stops gossiping
// (without a leave message, which would be about the other node's name).

// MemberState is a member's state as seen from this node.
type MemberState int

const (
	MemberAlive MemberState = iota
	MemberSuspect
	MemberDead
	MemberLeft
)

func (s MemberState) String() string {
	switch s {
	case MemberAlive:
		return "alive"
	case MemberSuspect:
		return "suspect"
	case MemberDead:
		return "dead"
	case MemberLeft:
		return "left"
	}
	return "MemberState(" + strconv.Itoa(int(s)) + ")"
}

// MarshalText writes the state as its name (JSON, logs).
func (s MemberState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Member is one configured member of the cluster.
type Member struct {
	ID    uint64
	Addr  string // peer RPC address host:port (the node's cluster.grpc_port)
	State MemberState
	Self  bool
}

// MembershipConfig configures StartMembership.
type MembershipConfig struct {
	NodeID uint64
	// Addr is the peer RPC address other nodes reach this node at. A host of
	// 0.0.0.0, :: or "" is replaced by the IP gossip advertises (the bind
	// address, or a private IP of this host when bound to 0.0.0.0); see
	// Membership.Addr.
	Addr       string
	BindAddr   string // gossip bind IP; "" = 0.0.0.0
	GossipPort int    // gossip TCP+UDP port; 0 picks a free one (tests)
	// Secret is the cluster secret; gossip is encrypted and authenticated
	// with AES-256-GCM under SHA-256(Secret), and Hello requests carry the
	// peer HMAC. Required.
	Secret string
	// Seeds are peer RPC addresses (host:grpc_port) of existing members, not
	// gossip addresses. This node's own address may be among them.
	Seeds []string
	// Zero values take the defaults of config.toml: 1s, 5s, 10s, 3.
	GossipInterval, SuspectTimeout, DeadTimeout time.Duration
	Fanout                                      int
	// Dir holds members.json, the persisted member table. Required.
	Dir    string
	Logger *slog.Logger
	// OnAlive is called when a member other than this node becomes alive:
	// joins, returns from dead or suspect, and (at start-up) each persisted
	// member when first seen alive. Calls come in order from one goroutine
	// of Membership, never while it holds a lock; they must not block long.
	OnAlive func(Member)
}

// Membership is this node's view of the cluster. Safe for concurrent use.
type Membership struct {
	cfg      MembershipConfig
	id       uint64
	name     string
	addr     string // resolved peer RPC address of this node
	gossip   string // advertised gossip host:port
	logger   *slog.Logger
	timing   gossipTiming
	file     string
	helloCli *helloClient

	ml      atomic.Pointer[memberlist.Memberlist]
	bcast   *memberlist.TransmitLimitedQueue
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	events  *dispatcher
	saveMu  sync.Mutex  // serializes writes of members.json (taken before mu)
	lifeMu  sync.Mutex  // serializes Leave/Shutdown of the memberlist
	stopped atomic.Bool // memberlist shut down (set under lifeMu)
	saving  atomic.Bool // a saveLater is queued
	// joinPending: the join loop runs (it goes through the seeds' hello, so
	// reconnect, which gossips straight to known addresses, waits for it).
	joinPending atomic.Bool

	mu       sync.Mutex
	members  map[uint64]*memberRec
	removals map[uint64]removal
	joined   bool
	leaving  bool
	err      error // refusal of this node by the cluster
	closed   bool
	// closeDone is closed once the first Close (or crash) has finished;
	// closeErr is its result. A later or concurrent Close waits for it.
	closeDone chan struct{}
	closeErr  error
	// mlLive mirrors the other nodes memberlist holds live, as its events
	// (join, update, leave) tell, removed nodes included: memberlist reports
	// a node again only when its state there changes, so a removed node
	// that is allowed back is put back in members from here (readmitLocked).
	mlLive map[uint64]mlNode
	// stopOnCtx stops the Close that StartMembership's ctx would trigger.
	stopOnCtx func() bool
	// joining counts gossip joins in progress; settled is set once this
	// node is in the cluster without a clash (founder, restarted member,
	// clean join, or joined by another node). A node that is joining or not
	// settled is the newcomer when memberlist finds its name taken.
	joining     int
	settled     bool
	selfClashes uint64 // memberlist conflicts about our own name
	// fatal: refused for good (id clash found by gossip, or removed);
	// stopGossip follows. clashed: our name belongs to another node, so
	// this node must not announce a leave (it would kill the other's name).
	fatal, clashed bool
	conflictLog    map[string]time.Time // rate limit of conflict errors
}

// mlNode is what memberlist's last event told of a live node.
type mlNode struct {
	addr, gossip string
	leaving      bool
}

type memberRec struct {
	id      uint64
	addr    string // peer RPC
	gossip  string // gossip host:port, "" if never seen
	state   MemberState
	leaving bool      // its meta announced a graceful leave
	lastAck time.Time // last ping answer (or join) seen by this node
	pinging bool
}

// StartMembership loads the persisted member table, starts gossip on
// BindAddr:GossipPort and joins the seeds in the background; it does not
// wait for them. When ctx ends the membership closes (as Close).
func StartMembership(ctx context.Context, cfg MembershipConfig) (*Membership, error) {
	if err := fillMembershipDefaults(&cfg); err != nil {
		return nil, err
	}
	m := &Membership{
		cfg:       cfg,
		id:        cfg.NodeID,
		name:      strconv.FormatUint(cfg.NodeID, 10),
		logger:    cfg.Logger.With("component", "membership"),
		timing:    newGossipTiming(cfg.SuspectTimeout, cfg.DeadTimeout),
		file:      membersFile(cfg.Dir),
		members:   map[uint64]*memberRec{},
		mlLive:    map[uint64]mlNode{},
		removals:  map[uint64]removal{},
		helloCli:  newHelloClient(cfg.Secret, cfg.NodeID, cfg.SuspectTimeout),
		closeDone: make(chan struct{}),
	}
	if err := m.load(); err != nil {
		return nil, err
	}

	tr, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{cfg.BindAddr},
		BindPort:  cfg.GossipPort,
		Logger:    log.New(mlLogWriter{m.logger}, "", 0),
	})
	if err != nil {
		return nil, fmt.Errorf("membership: gossip listener on %s: %w",
			net.JoinHostPort(cfg.BindAddr, strconv.Itoa(cfg.GossipPort)), err)
	}
	ip, err := advertiseIP(cfg.Addr, cfg.BindAddr, tr)
	if err != nil {
		tr.Shutdown()
		return nil, err
	}
	port := tr.GetAutoBindPort()
	m.gossip = net.JoinHostPort(ip.String(), strconv.Itoa(port))
	m.addr = resolveAddr(cfg.Addr, ip)

	// This node is a member of its own table from the start.
	m.mu.Lock()
	self := m.recLocked(m.id)
	self.addr, self.gossip, self.state, self.leaving = m.addr, m.gossip, MemberAlive, false
	delete(m.removals, m.id) // a restarted node asks the seeds; they decide
	others := 0
	for id, r := range m.members {
		if id != m.id {
			r.state = MemberDead // unknown until seen
			others++
		}
	}
	m.mu.Unlock()
	founder := len(m.joinCandidates()) == 0 // no seeds but (perhaps) itself
	m.mu.Lock()
	m.joined = founder || others > 0
	m.settled = m.joined
	m.mu.Unlock()

	m.ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.events = newDispatcher()
	m.bcast = &memberlist.TransmitLimitedQueue{
		NumNodes: func() int {
			if ml := m.ml.Load(); ml != nil {
				return ml.NumMembers()
			}
			return 1
		},
		RetransmitMult: 4,
	}

	mc := memberlist.DefaultLANConfig()
	mc.Name = m.name
	mc.Transport = m.withFaults(tr)
	mc.AdvertiseAddr, mc.AdvertisePort = ip.String(), port
	mc.ProtocolVersion = memberlist.ProtocolVersionMax
	key := sha256.Sum256([]byte(cfg.Secret))
	mc.SecretKey = key[:]
	mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	mc.GossipInterval, mc.GossipNodes = cfg.GossipInterval, cfg.Fanout
	m.timing.apply(mc)
	mc.Logger = log.New(mlLogWriter{m.logger}, "", 0)
	d := &mlDelegate{m}
	mc.Delegate, mc.Events, mc.Conflict, mc.Alive = d, d, d, d

	ml, err := memberlist.Create(mc)
	if err != nil {
		tr.Shutdown()
		return nil, fmt.Errorf("membership: start gossip: %w", err)
	}
	m.ml.Store(ml)
	if err := m.save(); err != nil {
		ml.Shutdown()
		return nil, err
	}

	m.wg.Add(3)
	go func() { defer m.wg.Done(); m.events.run(m.ctx) }()
	go func() { defer m.wg.Done(); m.monitor(m.ctx) }()
	go func() { defer m.wg.Done(); m.reconnect(m.ctx) }()
	if len(m.joinCandidates()) > 0 {
		m.joinPending.Store(true)
		m.wg.Add(1)
		go func() { defer m.wg.Done(); m.joinLoop(m.ctx) }()
	}
	m.mu.Lock()
	m.stopOnCtx = context.AfterFunc(ctx, func() { m.Close() })
	m.mu.Unlock()
	m.logger.Info("membership started", "node", m.id, "addr", m.addr, "gossip", m.gossip,
		"seeds", cfg.Seeds, "known_members", len(m.Members()))
	return m, nil
}

func fillMembershipDefaults(cfg *MembershipConfig) error {
	if cfg.NodeID == 0 {
		return errors.New("membership: node id must be set (not 0)")
	}
	if cfg.Secret == "" {
		return errors.New("membership: the cluster secret (cluster.cluster_secret or MARMOT_CLUSTER_SECRET) is required: gossip is encrypted with it")
	}
	if cfg.Dir == "" {
		return errors.New("membership: Dir (where members.json is kept) is required")
	}
	if _, _, err := net.SplitHostPort(cfg.Addr); err != nil {
		return fmt.Errorf("membership: Addr %q is not host:port: %w", cfg.Addr, err)
	}
	if len(cfg.Addr) > 300 { // it travels in memberlist's 512-byte node meta
		return fmt.Errorf("membership: Addr %q is too long", cfg.Addr)
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "0.0.0.0"
	}
	if net.ParseIP(cfg.BindAddr) == nil {
		return fmt.Errorf("membership: gossip bind address %q is not an IP address", cfg.BindAddr)
	}
	if cfg.GossipInterval <= 0 {
		cfg.GossipInterval = time.Second
	}
	if cfg.SuspectTimeout <= 0 {
		cfg.SuspectTimeout = 5 * time.Second
	}
	if cfg.DeadTimeout <= 0 {
		cfg.DeadTimeout = 2 * cfg.SuspectTimeout
	}
	if cfg.DeadTimeout <= cfg.SuspectTimeout {
		return fmt.Errorf("membership: dead timeout %v must exceed suspect timeout %v", cfg.DeadTimeout, cfg.SuspectTimeout)
	}
	if cfg.Fanout <= 0 {
		cfg.Fanout = 3
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// advertiseIP is the IP other nodes reach this node's gossip at: the host of
// Addr when it is a specific IP or a resolvable name, else what the
// transport picks (the bind IP, or a private IP when bound to 0.0.0.0).
func advertiseIP(addr, bind string, tr *memberlist.NetTransport) (net.IP, error) {
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		return ip, nil
	}
	if host != "" && net.ParseIP(host) == nil {
		ips, err := net.LookupIP(host)
		if err != nil || len(ips) == 0 {
			return nil, fmt.Errorf("membership: resolve the host of %q: %v", addr, err)
		}
		for _, ip := range ips {
			if ip.To4() != nil {
				return ip, nil
			}
		}
		return ips[0], nil
	}
	if ip := net.ParseIP(bind); ip != nil && !ip.IsUnspecified() {
		return ip, nil
	}
	ip, _, err := tr.FinalAdvertiseAddr("", 0)
	if err != nil {
		return nil, fmt.Errorf("membership: %q names no host and gossip binds all interfaces, so an address to advertise must be guessed, and: %w; set the node's address explicitly", addr, err)
	}
	return ip, nil
}

// resolveAddr replaces an unspecified host in addr with ip.
func resolveAddr(addr string, ip net.IP) string {
	host, port, _ := net.SplitHostPort(addr)
	if h := net.ParseIP(host); host == "" || (h != nil && h.IsUnspecified()) {
		return net.JoinHostPort(ip.String(), port)
	}
	return addr
}

// Members returns every configured member, this node included, up or down,
// sorted by id. Removed members are not listed.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Member, 0, len(m.members))
	for _, r := range m.members {
		out = append(out, r.member(m.id))
	}
	slices.SortFunc(out, func(a, b Member) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out
}

// Removed lists the node ids an operator removed (and has not allowed
// back), sorted.
func (m *Membership) Removed() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []uint64
	for id, r := range m.removals {
		if r.Removed {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// Joined reports whether this node is part of a cluster: it joined through
// a seed (or a persisted member), has no seeds, or knew other members from
// its persisted table.
func (m *Membership) Joined() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.joined
}

// Err reports why the cluster refuses this node, or nil: its node id is
// used by a live member at another address, a seed rejected its secret, or
// it was removed. Each is also logged at ERROR. A refusal at join time is
// cleared when a later join succeeds (the background join keeps trying); a
// removal, or an id clash found by gossip itself, stops this node's gossip
// for good: restart it once the cause is fixed.
func (m *Membership) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Addr is this node's peer RPC address as advertised to the others (the
// configured Addr with an unspecified host replaced).
func (m *Membership) Addr() string { return m.addr }

// GossipAddr is the gossip address (host:port) other nodes reach this node at.
func (m *Membership) GossipAddr() string { return m.gossip }

// Remove drops member id from the cluster: it no longer counts for quorum,
// and every member refuses it until Allow. The removal is persisted and
// gossiped to the other members; the removed node, when it hears of it,
// leaves the gossip. A node cannot remove itself.
func (m *Membership) Remove(id uint64) error {
	if id == m.id {
		return fmt.Errorf("membership: node %d cannot remove itself; remove it from another member", id)
	}
	m.mu.Lock()
	cur := m.removals[id]
	if cur.Removed {
		m.mu.Unlock()
		return nil
	}
	if _, ok := m.members[id]; !ok {
		m.mu.Unlock()
		return fmt.Errorf("membership: node %d is not a member", id)
	}
	r := removal{Removed: true, Ver: nextVersion(cur.Ver)}
	m.removals[id] = r
	delete(m.members, id)
	m.mu.Unlock()
	m.logger.Warn("member removed by operator", "member", id)
	m.broadcastRemoval(id, r)
	return m.save()
}

// Allow lets a removed node rejoin (it must then restart to join). The
// change is persisted and gossiped.
func (m *Membership) Allow(id uint64) error {
	m.mu.Lock()
	cur, ok := m.removals[id]
	if !ok || !cur.Removed {
		m.mu.Unlock()
		return nil
	}
	r := removal{Removed: false, Ver: nextVersion(cur.Ver)}
	m.removals[id] = r
	m.readmitLocked(id)
	m.mu.Unlock()
	m.logger.Info("removed node allowed to rejoin", "member", id)
	m.broadcastRemoval(id, r)
	return m.save()
}

// Close leaves the cluster gracefully (the others see this node as left,
// not dead), stops gossip and the background work, and saves the table. It
// returns once that is done, also when another Close is in progress (the end
// of StartMembership's ctx starts one): a process that exits after Close has
// left the cluster.
func (m *Membership) Close() error { return m.shut(true) }

// crash stops gossip without leaving, as a killed process would (tests).
func (m *Membership) crash() { m.shut(false) }

// shut stops the membership once; later and concurrent calls wait for the
// first and return its result.
func (m *Membership) shut(leave bool) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.closeDone
		return m.closeErr
	}
	m.closed = true
	if leave {
		m.leaving = true
	}
	stop := m.stopOnCtx
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	m.cancel()
	m.stopGossip(leave)
	m.wg.Wait()
	var err error
	if leave {
		err = m.save()
	}
	m.closeErr = err
	close(m.closeDone)
	return err
}

// stopGossip shuts memberlist down, once; with leave it first announces a
// graceful leave (meta, then memberlist's leave message).
func (m *Membership) stopGossip(leave bool) {
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.stopped.Load() {
		return
	}
	m.stopped.Store(true)
	ml := m.ml.Load()
	m.mu.Lock()
	if m.clashed {
		leave = false // the name is another node's: a leave would be about it
	}
	m.mu.Unlock()
	if leave {
		t := m.timing.leaveTimeout(m.cfg.GossipInterval)
		m.mu.Lock()
		m.leaving = true
		m.mu.Unlock()
		if err := ml.UpdateNode(t); err != nil {
			m.logger.Debug("announce leave", "err", err)
		}
		if err := ml.Leave(t); err != nil {
			m.logger.Debug("leave", "err", err)
		}
	}
	if err := ml.Shutdown(); err != nil {
		m.logger.Debug("gossip shutdown", "err", err)
	}
	// Without gossip this node knows nothing about the others any more.
	m.mu.Lock()
	clear(m.mlLive)
	for id, r := range m.members {
		if id != m.id && (r.state == MemberAlive || r.state == MemberSuspect) {
			r.state = MemberDead
		}
	}
	m.mu.Unlock()
}

func (r *memberRec) member(self uint64) Member {
	return Member{ID: r.id, Addr: r.addr, State: r.state, Self: r.id == self}
}

// recLocked returns the record of id, creating it (dead) if needed.
func (m *Membership) recLocked(id uint64) *memberRec {
	r := m.members[id]
	if r == nil {
		r = &memberRec{id: id, state: MemberDead}
		m.members[id] = r
	}
	return r
}

func (m *Membership) isFatal() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.fatal
}

// refuse records err as this node's refusal by the cluster and logs it at
// ERROR (once per distinct message).
func (m *Membership) refuse(err error, fatal bool) {
	m.mu.Lock()
	if m.fatal && !fatal {
		m.mu.Unlock()
		return // keep the reason this node stopped
	}
	same := m.err != nil && m.err.Error() == err.Error()
	m.err = err
	m.mu.Unlock()
	if !same {
		m.logger.Error("cluster refuses this node", "node", m.id, "err", err)
	}
}

// readmitLocked puts id, allowed back (or learned of), in the table as
// memberlist holds it: memberlist may hold it live already (it never left:
// stopped without a leave, or never heard of its removal, and a restart at
// the same address, with an incarnation no higher than the old one, changes
// nothing there), and then no event will come to mark it alive. It reports
// whether id is live.
func (m *Membership) readmitLocked(id uint64) bool {
	live, ok := m.mlLive[id]
	if !ok || id == m.id || m.removals[id].Removed {
		return false
	}
	r := m.recLocked(id)
	r.addr, r.gossip, r.leaving = live.addr, live.gossip, live.leaving
	if r.state == MemberDead || r.state == MemberLeft {
		m.aliveLocked(r)
	}
	return true
}

// aliveLocked marks r alive and queues OnAlive if it was not.
func (m *Membership) aliveLocked(r *memberRec) {
	was := r.state
	r.state = MemberAlive
	r.lastAck = time.Now()
	if was == MemberAlive || r.id == m.id {
		return
	}
	mem := r.member(m.id)
	m.logger.Info("member alive", "member", r.id, "addr", r.addr, "was", was.String())
	if cb := m.cfg.OnAlive; cb != nil {
		m.events.push(func() { cb(mem) })
	}
}

// dispatcher runs callbacks in order on one goroutine, so memberlist's
// goroutines (which call us holding memberlist's locks) never wait for them.
type dispatcher struct {
	mu    sync.Mutex
	queue []func()
	wake  chan struct{}
}

func newDispatcher() *dispatcher { return &dispatcher{wake: make(chan struct{}, 1)} }

func (d *dispatcher) push(f func()) {
	d.mu.Lock()
	d.queue = append(d.queue, f)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		}
		for {
			d.mu.Lock()
			q := d.queue
			d.queue = nil
			d.mu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, f := range q {
				if ctx.Err() != nil {
					return
				}
				f()
			}
		}
	}
}
