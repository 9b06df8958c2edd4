package peer

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// gossipTiming is how marmot's suspect and dead timeouts map onto
// memberlist's SWIM parameters (see the comment at the top of membership.go).
type gossipTiming struct {
	suspect, dead  time.Duration
	probeInterval  time.Duration
	probeTimeout   time.Duration
	suspicionMult  int
	monitorTick    time.Duration // how often this node pings every live member
	reconnectEvery time.Duration // how often dead members are re-joined
}

func newGossipTiming(suspect, dead time.Duration) gossipTiming {
	t := gossipTiming{suspect: suspect, dead: dead}
	t.probeInterval = max(suspect/2, 10*time.Millisecond)
	t.probeTimeout = max(t.probeInterval/2, 5*time.Millisecond)
	// Ceiling: never declared dead before DeadTimeout of silence.
	t.suspicionMult = max(1, int((dead-t.probeInterval+t.probeInterval-1)/t.probeInterval))
	t.monitorTick = max(suspect/4, 5*time.Millisecond)
	t.reconnectEvery = max(dead, time.Second)
	return t
}

func (t gossipTiming) apply(c *memberlist.Config) {
	c.ProbeInterval = t.probeInterval
	c.ProbeTimeout = t.probeTimeout
	c.SuspicionMult = t.suspicionMult
	c.SuspicionMaxTimeoutMult = 2
	// Streams (push/pull, TCP ping fallback) time out on the scale of the
	// failure detector, within memberlist's LAN bounds.
	c.TCPTimeout = min(max(2*t.suspect, time.Second), 10*time.Second)
	// Full state exchange (which also carries the member table and the
	// removals) about every three dead timeouts; dead nodes are forgotten by
	// memberlist (not by us) after the same time. A dead node's name may be
	// taken by a new gossip address at once (a restarted node whose address
	// changed): the hello refuses ids of live members only.
	c.PushPullInterval = max(3*t.dead, time.Second)
	c.GossipToTheDeadTime = c.PushPullInterval
	c.DeadNodeReclaimTime = time.Nanosecond
}

func (t gossipTiming) leaveTimeout(gossip time.Duration) time.Duration {
	return min(max(3*gossip, 500*time.Millisecond), 5*time.Second)
}

// nodeMeta is what a node tells the others about itself (memberlist node
// meta, at most 512 bytes).
type nodeMeta struct {
	Addr    string `json:"a"`           // peer RPC host:port
	Leaving bool   `json:"l,omitempty"` // graceful leave in progress
}

// mlDelegate receives memberlist's callbacks. Some arrive while memberlist
// holds its node lock: they take only m.mu and never call memberlist.
type mlDelegate struct{ m *Membership }

func parseNodeName(name string) (uint64, bool) {
	id, err := strconv.ParseUint(name, 10, 64)
	return id, err == nil && id != 0
}

func parseMeta(b []byte) (nodeMeta, error) {
	var meta nodeMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return meta, fmt.Errorf("bad node meta: %w", err)
	}
	if _, _, err := net.SplitHostPort(meta.Addr); err != nil {
		return meta, fmt.Errorf("bad peer address in node meta: %q", meta.Addr)
	}
	return meta, nil
}

// NodeMeta (memberlist.Delegate).
func (d *mlDelegate) NodeMeta(limit int) []byte {
	d.m.mu.Lock()
	meta := nodeMeta{Addr: d.m.addr, Leaving: d.m.leaving}
	d.m.mu.Unlock()
	b, _ := json.Marshal(meta) // fits: StartMembership bounds Addr
	return b
}

// NotifyMsg (memberlist.Delegate): a gossiped removal record.
func (d *mlDelegate) NotifyMsg(b []byte) {
	var msg removalMsg
	if err := json.Unmarshal(b, &msg); err != nil || msg.ID == 0 {
		d.m.logger.Debug("ignored gossip message", "err", err)
		return
	}
	d.m.mergeRemovals(map[uint64]removal{msg.ID: msg.R}, true)
}

// GetBroadcasts (memberlist.Delegate).
func (d *mlDelegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.m.bcast.GetBroadcasts(overhead, limit)
}

// LocalState (memberlist.Delegate): the member table and removals, for
// push/pull.
func (d *mlDelegate) LocalState(join bool) []byte {
	b, _ := json.Marshal(d.m.snapshot())
	return b
}

// MergeRemoteState (memberlist.Delegate).
func (d *mlDelegate) MergeRemoteState(buf []byte, join bool) {
	var st storedMembers
	if err := json.Unmarshal(buf, &st); err != nil {
		d.m.logger.Debug("ignored remote member table", "err", err)
		return
	}
	d.m.mergeRemovals(st.Removals, false)
	d.m.mergeMembers(st.Members)
}

// NotifyAlive (memberlist.AliveDelegate): refuse removed nodes and nodes
// that are not marmot nodes.
func (d *mlDelegate) NotifyAlive(n *memberlist.Node) error {
	id, ok := parseNodeName(n.Name)
	if !ok {
		return fmt.Errorf("node name %q is not a marmot node id", n.Name)
	}
	if _, err := parseMeta(n.Meta); err != nil {
		return err
	}
	m := d.m
	if id == m.id {
		return nil
	}
	m.mu.Lock()
	removed := m.removals[id].Removed
	m.mu.Unlock()
	if removed {
		return fmt.Errorf("node %d was removed from the cluster", id)
	}
	return nil
}

// NotifyConflict (memberlist.ConflictDelegate): two nodes claim one id.
func (d *mlDelegate) NotifyConflict(existing, other *memberlist.Node) {
	m := d.m
	addrOf := func(n *memberlist.Node) string {
		if meta, err := parseMeta(n.Meta); err == nil {
			return fmt.Sprintf("%s (gossip %s)", meta.Addr, n.Address())
		}
		return "gossip " + n.Address()
	}
	err := fmt.Errorf("node id clash: node id %s is used by a member at %s and by a node at %s; give every node a distinct node_id",
		existing.Name, addrOf(existing), addrOf(other))
	if existing.Name != m.name {
		m.conflictError("refused node with a clashing id", err)
		return
	}
	m.mu.Lock()
	m.selfClashes++
	newcomer := m.joining > 0 || !m.settled
	if newcomer {
		m.fatal, m.clashed, m.joined = true, true, false
	}
	m.mu.Unlock()
	if !newcomer {
		// We are the incumbent: the other node is refused, we carry on.
		m.conflictError("refused a node claiming this node's id", err)
		return
	}
	m.refuse(err, true)
	go m.stopGossip(false) // not from memberlist's goroutine: Shutdown waits for it
}

// conflictError logs a clash at ERROR once a minute per message (memberlist
// reports it for every message the other node sends), else at debug.
func (m *Membership) conflictError(msg string, err error) {
	now := time.Now()
	m.mu.Lock()
	if m.conflictLog == nil {
		m.conflictLog = map[string]time.Time{}
	}
	last, seen := m.conflictLog[err.Error()]
	loud := !seen || now.Sub(last) > time.Minute
	if loud {
		m.conflictLog[err.Error()] = now
	}
	m.mu.Unlock()
	if loud {
		m.logger.Error(msg, "err", err)
	} else {
		m.logger.Debug(msg, "err", err)
	}
}

// NotifyJoin (memberlist.EventDelegate).
func (d *mlDelegate) NotifyJoin(n *memberlist.Node) { d.m.seen(n, true) }

// NotifyUpdate (memberlist.EventDelegate).
func (d *mlDelegate) NotifyUpdate(n *memberlist.Node) { d.m.seen(n, false) }

// NotifyLeave (memberlist.EventDelegate): dead, or left if it announced a
// graceful leave.
func (d *mlDelegate) NotifyLeave(n *memberlist.Node) {
	m := d.m
	id, ok := parseNodeName(n.Name)
	if !ok || id == m.id {
		return
	}
	m.mu.Lock()
	delete(m.mlLive, id)
	r := m.members[id]
	if r == nil {
		m.mu.Unlock()
		return
	}
	r.state = MemberDead
	if r.leaving {
		r.state = MemberLeft
	}
	state, addr := r.state, r.addr
	m.mu.Unlock()
	m.logger.Info("member "+state.String(), "member", id, "addr", addr)
}

// seen records that memberlist holds n as a live member.
func (m *Membership) seen(n *memberlist.Node, join bool) {
	id, ok := parseNodeName(n.Name)
	if !ok {
		return
	}
	meta, err := parseMeta(n.Meta)
	if err != nil {
		return
	}
	m.mu.Lock()
	if id != m.id {
		m.mlLive[id] = mlNode{addr: meta.Addr, gossip: n.Address(), leaving: meta.Leaving}
	}
	if m.removals[id].Removed && id != m.id {
		m.mu.Unlock()
		return
	}
	if id != m.id && !m.fatal {
		m.joined = true // someone joined us, or we them
		if m.joining == 0 {
			m.settled = true // it joined us
		}
	}
	_, known := m.members[id]
	r := m.recLocked(id)
	dirty := !known || r.addr != meta.Addr || r.gossip != n.Address()
	r.addr, r.gossip, r.leaving = meta.Addr, n.Address(), meta.Leaving
	if id != m.id && (join || r.state == MemberDead || r.state == MemberLeft) {
		m.aliveLocked(r)
	}
	m.mu.Unlock()
	if dirty {
		m.saveLater()
	}
}

// monitor pings every live member each monitorTick and marks those that
// have not answered for SuspectTimeout suspect (and back alive when they
// answer).
func (m *Membership) monitor(ctx context.Context) {
	m.every(ctx, m.timing.monitorTick, func() {
		ml := m.ml.Load()
		now := time.Now()
		type target struct {
			id   uint64
			addr *net.UDPAddr
		}
		var pings []target
		m.mu.Lock()
		for id, r := range m.members {
			if id == m.id || (r.state != MemberAlive && r.state != MemberSuspect) {
				continue
			}
			if r.state == MemberAlive && now.Sub(r.lastAck) > m.timing.suspect {
				r.state = MemberSuspect
				m.logger.Info("member suspect", "member", id, "addr", r.addr, "silent_for", now.Sub(r.lastAck).Round(time.Millisecond))
			}
			if r.pinging {
				continue
			}
			ua, err := net.ResolveUDPAddr("udp", r.gossip)
			if err != nil {
				continue
			}
			r.pinging = true
			pings = append(pings, target{id, ua})
		}
		m.mu.Unlock()
		for _, p := range pings {
			m.wg.Add(1) // Close waits for pings in flight (at most ProbeTimeout)
			go func() {
				defer m.wg.Done()
				_, err := ml.Ping(strconv.FormatUint(p.id, 10), p.addr)
				m.mu.Lock()
				defer m.mu.Unlock()
				r := m.members[p.id]
				if r == nil {
					return
				}
				r.pinging = false
				if err != nil || ctx.Err() != nil {
					return
				}
				switch r.state {
				case MemberAlive:
					r.lastAck = time.Now()
				case MemberSuspect:
					m.aliveLocked(r)
				}
			}()
		}
	})
}

// every runs fn every d until ctx ends or gossip stops.
func (m *Membership) every(ctx context.Context, d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if m.stopped.Load() {
			return
		}
		fn()
	}
}

// reconnect re-joins dead members by their last gossip address every
// reconnectEvery, once this node has joined: memberlist forgets dead nodes,
// so two halves of a healed partition would otherwise never merge again.
func (m *Membership) reconnect(ctx context.Context) {
	m.every(ctx, m.timing.reconnectEvery, func() {
		if m.joinPending.Load() {
			return // the first join goes through the seeds' hello
		}
		var addrs []string
		m.mu.Lock()
		for id, r := range m.members {
			if id != m.id && r.state == MemberDead && r.gossip != "" {
				addrs = append(addrs, r.gossip)
			}
		}
		m.mu.Unlock()
		for _, a := range addrs {
			if ctx.Err() != nil || m.stopped.Load() {
				return
			}
			if n, err := m.gossipJoin([]string{a}); n > 0 {
				m.logger.Debug("reconnected to dead member", "gossip", a)
			} else {
				m.logger.Debug("dead member still unreachable", "gossip", a, "err", err)
			}
		}
	})
}

// mlLogWriter routes memberlist's log lines to slog at debug level: it is
// chatty, and whatever matters (clashes, refusals, state changes) marmot
// logs itself.
type mlLogWriter struct{ l *slog.Logger }

func (w mlLogWriter) Write(p []byte) (int, error) {
	if w.l.Enabled(context.Background(), slog.LevelDebug) {
		line := strings.TrimSpace(string(p))
		level := ""
		if strings.HasPrefix(line, "[") {
			if i := strings.IndexByte(line, ']'); i > 0 {
				level, line = line[1:i], strings.TrimSpace(line[i+1:])
			}
		}
		line = strings.TrimPrefix(line, "memberlist: ")
		w.l.Debug("memberlist: "+line, "memberlist_level", level)
	}
	return len(p), nil
}
