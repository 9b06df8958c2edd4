package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MembershipHelloPath is the seed-bootstrap endpoint on the peer port.
const MembershipHelloPath = "/marmot.v1.Membership/Hello"

// helloResponse is the seed's answer: where to gossip with it.
type helloResponse struct {
	NodeID     uint64 `json:"node_id"`
	GossipAddr string `json:"gossip_addr"`
	RPCAddr    string `json:"rpc_addr"`
}

// Handler returns the seed-bootstrap endpoint and its mount path:
// GET MembershipHelloPath?node_id=N&rpc_addr=host:port&gossip_addr=host:port,
// authenticated with the cluster secret (RequireAuth). It answers
// {node_id, gossip_addr, rpc_addr} as JSON, or refuses with the reason as
// text: 403 for a removed node, 409 for a node id already used by a live
// member at another address, 503 (retry) while an earlier instance of the
// same node on another gossip address is still considered alive, or while
// this node is not in the cluster itself.
func (m *Membership) Handler() (path string, h http.Handler) {
	return MembershipHelloPath, RequireAuth(m.cfg.Secret, http.HandlerFunc(m.serveHello))
}

func (m *Membership) serveHello(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "membership hello: use GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	id, err := strconv.ParseUint(q.Get("node_id"), 10, 64)
	addr := q.Get("rpc_addr")
	if err != nil || id == 0 {
		http.Error(w, "membership hello: node_id must be a non-zero decimal node id", http.StatusBadRequest)
		return
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		http.Error(w, "membership hello: rpc_addr must be host:port", http.StatusBadRequest)
		return
	}
	if m.stopped.Load() || m.isFatal() {
		http.Error(w, fmt.Sprintf("membership hello: node %d at %s is not in the cluster; try another seed", m.id, m.addr), http.StatusServiceUnavailable)
		return
	}
	code, err := m.admit(id, addr, q.Get("gossip_addr"))
	switch {
	case code == http.StatusServiceUnavailable:
		m.logger.Info("joining node must wait", "joiner", id, "addr", addr, "err", err)
		http.Error(w, err.Error(), code)
		return
	case err != nil:
		m.logger.Error("refused joining node", "joiner", id, "addr", addr, "err", err)
		http.Error(w, err.Error(), code)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(helloResponse{NodeID: m.id, GossipAddr: m.gossip, RPCAddr: m.addr})
}

// admit decides whether node id at addr (gossiping at gossip) may join.
func (m *Membership) admit(id uint64, addr, gossip string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.removals[id].Removed {
		return http.StatusForbidden, fmt.Errorf("node %d (%s) was removed from the cluster by an operator; allow it on a member first", id, addr)
	}
	var holder string
	switch r := m.members[id]; {
	case id == m.id:
		if addr != m.addr {
			holder = m.addr + " (the seed itself)"
		}
	case r != nil && (r.state == MemberAlive || r.state == MemberSuspect) && r.addr != addr:
		holder = r.addr
	}
	if holder != "" {
		return http.StatusConflict, fmt.Errorf("node id clash: node id %d is already used by live member at %s; the node at %s must use another node_id", id, holder, addr)
	}
	if r := m.members[id]; r != nil && id != m.id && gossip != "" && r.gossip != gossip &&
		(r.state == MemberAlive || r.state == MemberSuspect) {
		// The same node restarted on another gossip port before its old
		// instance was declared dead: gossip would see two nodes with one
		// name. It retries until the old instance is dead.
		return http.StatusServiceUnavailable, fmt.Errorf("node %d's previous instance (gossip %s) is still considered %s; retry once it is declared dead", id, r.gossip, r.state)
	}
	return 0, nil
}

// helloClient asks seeds for their gossip address.
type helloClient struct {
	hc *http.Client
}

func newHelloClient(secret string, node uint64, timeout time.Duration) *helloClient {
	timeout = min(max(timeout, time.Second), 5*time.Second)
	next := &http.Transport{
		DialContext:       (&net.Dialer{Timeout: timeout}).DialContext,
		DisableKeepAlives: true, // a handful of calls at start-up
	}
	return &helloClient{hc: &http.Client{
		Transport: signingTransport{secret: []byte(secret), node: node, next: next},
		Timeout:   timeout,
	}}
}

// refusedError: a seed answered, and refused this node.
type refusedError struct {
	seed   string
	status int
	msg    string
}

func (e *refusedError) Error() string {
	if e.status == http.StatusUnauthorized {
		return fmt.Sprintf("seed %s refused this node: %s (is cluster_secret the same on every node?)", e.seed, e.msg)
	}
	return fmt.Sprintf("seed %s refused this node: %s", e.seed, e.msg)
}

func (c *helloClient) hello(ctx context.Context, seed string, id uint64, self, gossip string) (helloResponse, error) {
	var resp helloResponse
	u := "http://" + seed + MembershipHelloPath + "?" + url.Values{
		"node_id":     {strconv.FormatUint(id, 10)},
		"rpc_addr":    {self},
		"gossip_addr": {gossip},
	}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return resp, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return resp, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if err != nil {
		return resp, fmt.Errorf("seed %s: %w", seed, err)
	}
	switch res.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict:
		return resp, &refusedError{seed: seed, status: res.StatusCode, msg: strings.TrimSpace(string(body))}
	default:
		return resp, fmt.Errorf("seed %s: %s: %s", seed, res.Status, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return resp, fmt.Errorf("seed %s: bad hello answer: %w", seed, err)
	}
	if _, _, err := net.SplitHostPort(resp.GossipAddr); err != nil || resp.NodeID == 0 {
		return resp, fmt.Errorf("seed %s: bad hello answer %q", seed, body)
	}
	return resp, nil
}

// joinCandidates are the seeds plus the persisted members, other than this
// node.
func (m *Membership) joinCandidates() []string {
	seen := map[string]bool{m.addr: true, m.cfg.Addr: true}
	var out []string
	add := func(a string) {
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, s := range m.cfg.Seeds {
		add(strings.TrimSpace(s))
	}
	m.mu.Lock()
	var known []string
	for id, r := range m.members {
		if id != m.id {
			known = append(known, r.addr)
		}
	}
	m.mu.Unlock()
	for _, a := range known {
		add(a)
	}
	return out
}

// joinLoop joins through the candidates, retrying with backoff until one
// takes this node, another member reaches it first, or it is stopped.
func (m *Membership) joinLoop(ctx context.Context) {
	backoff := min(max(m.cfg.GossipInterval, 50*time.Millisecond), time.Second)
	maxBackoff := min(max(m.cfg.DeadTimeout, time.Second), 30*time.Second)
	last := ""
	for {
		if ctx.Err() != nil || m.stopped.Load() {
			return
		}
		err := m.tryJoin(ctx)
		if err == nil {
			m.joinPending.Store(false)
			return
		}
		if ctx.Err() != nil || m.stopped.Load() {
			return
		}
		if msg := err.Error(); msg != last {
			m.logger.Warn("not joined yet; retrying in the background", "err", err)
			last = msg
		} else {
			m.logger.Debug("not joined yet", "err", err)
		}
		wait := backoff/2 + rand.N(backoff)
		backoff = min(2*backoff, maxBackoff)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// tryJoin makes one pass over the candidates.
func (m *Membership) tryJoin(ctx context.Context) error {
	ml := m.ml.Load()
	if ml.NumMembers() > 1 {
		// Another member reached us (it joined us, or a reconnect did).
		m.joinedOK()
		return nil
	}
	cands := m.joinCandidates()
	var gossip, errs []string
	var refusal error
	for _, c := range cands {
		resp, err := m.helloCli.hello(ctx, c, m.id, m.addr, m.gossip)
		if err != nil {
			var re *refusedError
			if errors.As(err, &re) {
				if re.status == http.StatusUnauthorized {
					m.refuse(err, false) // this seed's secret differs; another may still take us
				} else {
					refusal = err
				}
			}
			errs = append(errs, err.Error())
			continue
		}
		if resp.NodeID == m.id {
			if resp.GossipAddr == m.gossip {
				continue // our own address under another name
			}
			refusal = fmt.Errorf("node id clash: seed %s (gossip %s) has node id %d, the same as this node at %s; the node at %s must use another node_id",
				c, resp.GossipAddr, m.id, m.addr, m.addr)
			continue
		}
		gossip = append(gossip, resp.GossipAddr)
		// The seed may advertise an IP we cannot reach (NAT, containers):
		// also try its gossip port on the host we reached it at.
		sh, _, _ := net.SplitHostPort(c)
		gh, gp, _ := net.SplitHostPort(resp.GossipAddr)
		if sh != gh {
			gossip = append(gossip, net.JoinHostPort(sh, gp))
		}
	}
	if refusal != nil {
		m.refuse(refusal, false)
		return refusal
	}
	if len(gossip) == 0 {
		if len(errs) == 0 {
			// Every seed turned out to be this node: it founds the cluster.
			m.joinedOK()
			return nil
		}
		return fmt.Errorf("no seed answered: %s", strings.Join(errs, "; "))
	}
	n, err := m.gossipJoin(gossip)
	if n == 0 {
		return fmt.Errorf("gossip join via %s failed: %w", strings.Join(gossip, ", "), err)
	}
	if err := m.Err(); err != nil && !m.Joined() {
		return err // the gossip found our id taken
	}
	m.logger.Info("joined the cluster", "via", gossip, "members", ml.NumMembers())
	return nil
}

// gossipJoin joins memberlist through gossip addresses; when it reaches a
// node and memberlist found no other node with our name, this node has
// joined.
func (m *Membership) gossipJoin(addrs []string) (int, error) {
	m.mu.Lock()
	m.joining++
	clashes := m.selfClashes
	m.mu.Unlock()
	n, err := m.ml.Load().Join(addrs)
	m.mu.Lock()
	m.joining--
	clean := n > 0 && m.selfClashes == clashes
	m.mu.Unlock()
	if clean {
		m.joinedOK()
	}
	return n, err
}

func (m *Membership) joinedOK() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fatal {
		return // removed or clashed meanwhile: keep the reason
	}
	m.joined, m.settled = true, true
	m.err = nil
}
