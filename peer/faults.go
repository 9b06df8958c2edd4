package peer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// Test faults. Partition and clock tests run real marmotd processes that
// all share 127.0.0.1, so a proxy in front of a node cannot tell its peers
// apart, and gossip also uses UDP. The cut is made inside the node instead:
// when FaultsEnv names a file, the node reads its faults from it and
// applies them to every kind of peer traffic:
//
//   - outgoing peer HTTP calls (pull streams, prepares and commits, hello):
//     signingTransport, which every peer client goes through;
//   - incoming peer HTTP calls: RequireAuth, which knows the caller's id;
//   - calls already under way in either direction, streams included: their
//     contexts are cancelled when their peer becomes blocked;
//   - gossip: memberlist's transport (faultTransport);
//   - the log's fsyncs (BeforeSync, wired to txlog.Options.BeforeSync): a
//     slow or stalled disk.
//
// Without the variable none of this exists: each hook is a nil check of
// activeFaults.
//
// The file is JSON (faultSpec), re-read when it changes (polled every
// faultsPoll); a missing file means no faults. A link is cut when either
// end blocks the other: the e2e harness writes both ends' files, because
// an incoming gossip TCP stream cannot be told apart by its source address
// (see faultTransport) and an unknown address is let through.

// FaultsEnv names the environment variable holding the faults file's path.
const FaultsEnv = "MARMOT_TEST_FAULTS"

// faultsPoll is how often the faults file is checked for changes.
const faultsPoll = 100 * time.Millisecond

// faultSpec is the faults file.
type faultSpec struct {
	// Blocked lists the node ids this node exchanges no traffic with.
	Blocked []uint64 `json:"blocked"`
	// ClockOffsetMS shifts the physical clock under the node's HLC.
	ClockOffsetMS int64 `json:"clock_offset_ms"`
	// PausePeers stalls every peer link: HTTP calls in either direction
	// wait, unanswered, until the pause is lifted or they time out; calls
	// under way are cut; gossip packets are dropped and its streams refused.
	PausePeers bool `json:"pause_peers"`
	// StallFsync holds every fsync of the log's files until it is lifted: a
	// stalled disk. Commits wait at their commit point.
	StallFsync bool `json:"stall_fsync"`
	// FsyncDelayMS slows every fsync of the log's files by this much.
	FsyncDelayMS int64 `json:"fsync_delay_ms"`
	// ExitAtCommitPoint makes the process exit, as a kill -9 would, the
	// next time it coordinates a QUORUM or ALL commit: right after the
	// change set is durable in its own log (the commit point) and before
	// any member is told (Coordinator.AtCommitPoint; its Pull streams hold
	// its own change sets back meanwhile, see HoldOwn).
	ExitAtCommitPoint bool `json:"exit_at_commit_point"`
	// Tag is echoed in the log line that reports the applied faults, so a
	// harness can wait until the node runs with what it wrote.
	Tag string `json:"tag,omitempty"`
}

// faultState is one applied faultSpec. It is never modified; changed is
// closed when a newer state replaces it, which wakes calls held by a pause.
type faultState struct {
	blocked    map[uint64]bool
	paused     bool
	stallFsync bool
	exitCommit bool
	changed    chan struct{}
}

func (s *faultState) cut(id uint64) bool { return s.paused || s.blocked[id] }

// Faults is this node's test faults, as last read from its file. Safe for
// concurrent use.
type Faults struct {
	path    string
	logger  *slog.Logger
	offset  atomic.Int64 // ms
	fsync   atomic.Int64 // fsync delay, ms
	state   atomic.Pointer[faultState]
	members atomic.Pointer[Membership] // maps addresses to node ids

	mu      sync.Mutex
	file    fs.FileInfo // what the current state was read from; nil: none
	streams map[uint64]map[*context.CancelFunc]struct{}
}

// activeFaults is the process's faults hook; nil unless FaultsFromEnv found
// the variable. It is process-wide because the variable is.
var activeFaults atomic.Pointer[Faults]

// errLinkCut is what a call over a cut link fails with, in the shape of a
// refused connection so callers treat it as one.
var errLinkCut = errors.New("peer: link cut by the test fault hook (" + FaultsEnv + ")")

// FaultsFromEnv starts the faults hook when FaultsEnv is set, and returns
// nil (and installs nothing) when it is not. The hook stays installed for
// the life of the process; its file is watched until ctx ends.
func FaultsFromEnv(ctx context.Context, logger *slog.Logger) (*Faults, error) {
	path := os.Getenv(FaultsEnv)
	if path == "" {
		return nil, nil
	}
	f, err := StartFaults(ctx, path, logger)
	if err != nil {
		return nil, err
	}
	activeFaults.Store(f)
	return f, nil
}

// StartFaults reads the faults file at path and watches it until ctx ends.
// It does not install the hook (FaultsFromEnv does).
func StartFaults(ctx context.Context, path string, logger *slog.Logger) (*Faults, error) {
	if logger == nil {
		logger = slog.Default()
	}
	f := &Faults{path: path, logger: logger.With("component", "faults"), streams: map[uint64]map[*context.CancelFunc]struct{}{}}
	f.state.Store(&faultState{changed: make(chan struct{})})
	f.logger.Warn("TEST FAULT HOOK ENABLED: peer links and the clock follow "+path+"; never set "+FaultsEnv+" in production", "file", path)
	if err := f.reload(); err != nil {
		return nil, err
	}
	go func() {
		t := time.NewTicker(faultsPoll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if err := f.reload(); err != nil {
				f.logger.Error("faults file unreadable; keeping the previous faults", "file", path, "err", err)
			}
		}
	}()
	return f, nil
}

// reload applies the file if it changed since the last read.
func (f *Faults) reload() error {
	fi, err := os.Stat(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		fi = nil
	} else if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if sameFile(f.file, fi) {
		return nil
	}
	var spec faultSpec
	if fi != nil {
		b, err := os.ReadFile(f.path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // replaced meanwhile: the next poll sees the new file
		}
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			return fmt.Errorf("faults: %s: %w", f.path, err)
		}
	}
	f.file = fi
	f.applyLocked(spec)
	return nil
}

func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.ModTime().Equal(b.ModTime()) && a.Size() == b.Size()
}

// applyLocked makes spec current and cuts the calls under way on links it
// cuts. Called with f.mu held.
func (f *Faults) applyLocked(spec faultSpec) {
	next := &faultState{blocked: map[uint64]bool{}, paused: spec.PausePeers, stallFsync: spec.StallFsync, exitCommit: spec.ExitAtCommitPoint, changed: make(chan struct{})}
	for _, id := range spec.Blocked {
		next.blocked[id] = true
	}
	prev := f.state.Swap(next)
	close(prev.changed)
	f.offset.Store(spec.ClockOffsetMS)
	f.fsync.Store(spec.FsyncDelayMS)
	for id, calls := range f.streams {
		if next.cut(id) {
			for cancel := range calls {
				(*cancel)()
			}
		}
	}
	blocked := slices.Sorted(func(yield func(uint64) bool) {
		for id := range next.blocked {
			if !yield(id) {
				return
			}
		}
	})
	f.logger.Warn("test faults applied", "blocked", blocked, "clock_offset_ms", spec.ClockOffsetMS,
		"pause_peers", spec.PausePeers, "stall_fsync", spec.StallFsync, "fsync_delay_ms", spec.FsyncDelayMS,
		"exit_at_commit_point", spec.ExitAtCommitPoint, "tag", spec.Tag)
}

// AtCommitPoint is the coordinator's hook (Coordinator.AtCommitPoint), or
// nil without the faults hook.
func (f *Faults) AtCommitPoint() func(origin, seq uint64) {
	if f == nil {
		return nil
	}
	return f.atCommitPoint
}

func (f *Faults) atCommitPoint(origin, seq uint64) {
	if f.state.Load().exitCommit {
		f.logger.Error("test faults: exiting at the commit point", "origin", origin, "seq", seq)
		os.Exit(137) // what a kill -9 leaves: no Commit calls, no clean shutdown
	}
}

// HoldOwn is Service.HoldOwn: while exit_at_commit_point is set, Pull
// streams send none of this node's own change sets, so the process dies at
// its commit point before any member hears of the transaction, from a
// Commit call or from the stream. nil without the hook.
func (f *Faults) HoldOwn() func() bool {
	if f == nil {
		return nil
	}
	return func() bool { return f.state.Load().exitCommit }
}

// Now is the physical clock shifted by the current offset, for the HLC
// (log.Options.Now). The HLC never runs backwards, so a negative jump only
// holds its wall part until real time catches up.
func (f *Faults) Now() time.Time {
	return time.Now().Add(time.Duration(f.offset.Load()) * time.Millisecond)
}

// Clock is Now for the HLC, or nil (the real clock) without the hook.
func (f *Faults) Clock() func() time.Time {
	if f == nil {
		return nil
	}
	return f.Now
}

// BeforeSync is the log's fsync hook (txlog.Options.BeforeSync), or nil
// without the hook.
func (f *Faults) BeforeSync() func() {
	if f == nil {
		return nil
	}
	return f.beforeSync
}

// beforeSync holds an fsync while the disk is stalled, then delays it by
// the current fsync delay. Called concurrently from Pebble's goroutines.
func (f *Faults) beforeSync() {
	for {
		st := f.state.Load()
		if !st.stallFsync {
			break
		}
		<-st.changed
	}
	if d := f.fsync.Load(); d > 0 {
		time.Sleep(time.Duration(d) * time.Millisecond) // the slow disk itself
	}
}

// Blocked reports whether traffic with node id is cut (blocked or paused).
func (f *Faults) Blocked(id uint64) bool { return f.state.Load().cut(id) }

// Track ties a call with node peer to the link: the returned context is
// cancelled as soon as the link is cut, at once if it already is. done
// must be called when the call ends. peer 0 (unknown) is cut only by a
// pause.
func (f *Faults) Track(ctx context.Context, peer uint64) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.CancelFunc(func() { cancel(fmt.Errorf("%w: node %d", errLinkCut, peer)) })
	f.mu.Lock()
	set := f.streams[peer]
	if set == nil {
		set = map[*context.CancelFunc]struct{}{}
		f.streams[peer] = set
	}
	set[&stop] = struct{}{}
	cutNow := f.state.Load().cut(peer)
	f.mu.Unlock()
	if cutNow {
		stop()
	}
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(set, &stop) // the emptied set stays: one per peer ever seen
			f.mu.Unlock()
			cancel(nil)
		})
	}
}

// pass waits while a pause holds the link to peer and reports whether the
// link is up; false if it is blocked or ctx ended first.
func (f *Faults) pass(ctx context.Context, peer uint64) bool {
	for {
		st := f.state.Load()
		if st.blocked[peer] {
			return false
		}
		if !st.paused {
			return true
		}
		select {
		case <-st.changed:
		case <-ctx.Done():
			return false
		}
	}
}

// SetMembers gives the hook the membership it maps peer addresses to node
// ids with.
func (f *Faults) SetMembers(m *Membership) { f.members.Store(m) }

// nodeAt is the id of the member at addr (peer RPC or gossip host:port), 0
// if none is known there.
func (f *Faults) nodeAt(addr string) uint64 {
	m := f.members.Load()
	if m == nil {
		return 0
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, r := range m.members {
		if id != m.id && (r.addr == addr || r.gossip == addr) {
			return id
		}
	}
	return 0
}

// roundTrip is an outgoing peer call over next, refused when the link to
// the target is cut, and cut when the link is cut while it runs (the
// response body of a stream included).
func (f *Faults) roundTrip(next http.RoundTripper, r *http.Request) (*http.Response, error) {
	peer := f.nodeAt(r.URL.Host)
	if !f.pass(r.Context(), peer) {
		return nil, f.refusal(peer, r.URL.Host)
	}
	ctx, done := f.Track(r.Context(), peer)
	resp, err := next.RoundTrip(r.WithContext(ctx))
	if err != nil {
		done()
		if ctx.Err() != nil && r.Context().Err() == nil {
			return nil, f.refusal(peer, r.URL.Host)
		}
		return nil, err
	}
	resp.Body = &trackedBody{ReadCloser: resp.Body, done: done}
	return resp, nil
}

func (f *Faults) refusal(peer uint64, addr string) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: fakeAddr(addr),
		Err: fmt.Errorf("%w: node %d: %w", errLinkCut, peer, syscall.ECONNREFUSED)}
}

type fakeAddr string

func (a fakeAddr) Network() string { return "tcp" }
func (a fakeAddr) String() string  { return string(a) }

// trackedBody ends a tracked call when its body is drained or closed.
type trackedBody struct {
	io.ReadCloser
	done func()
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil {
		b.done()
	}
	return n, err
}

func (b *trackedBody) Close() error {
	err := b.ReadCloser.Close()
	b.done()
	return err
}

// serve is an incoming, authenticated peer call: refused (503) from a
// blocked node, held while paused, and cut when the link is cut while it
// runs.
func (f *Faults) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	peer := callerID(r.Header.Get(AuthHeader))
	if !f.pass(r.Context(), peer) {
		http.Error(w, fmt.Sprintf("%v: node %d", errLinkCut, peer), http.StatusServiceUnavailable)
		return
	}
	ctx, done := f.Track(r.Context(), peer)
	defer done()
	next.ServeHTTP(w, r.WithContext(ctx))
}

// callerID is the node id an AuthHeader (already verified) names.
func callerID(header string) uint64 {
	s, _, _ := strings.Cut(header, ":")
	id, _ := strconv.ParseUint(s, 10, 64)
	return id
}

// withFaults is memberlist's transport for m: tr itself without the hook,
// else tr behind the hook (and m becomes the hook's address book).
func (m *Membership) withFaults(tr memberlist.NodeAwareTransport) memberlist.NodeAwareTransport {
	f := activeFaults.Load()
	if f == nil {
		return tr
	}
	f.SetMembers(m)
	return newFaultTransport(tr, f)
}

// faultTransport is memberlist's transport with the links the faults cut
// taken out: packets to and from a blocked node's gossip address are
// dropped, as a lossy network would; streams to it fail to connect.
// Incoming streams pass: their source port is an ephemeral one, which
// names no node, and the dialling end, blocking its side of the link,
// refuses them itself.
type faultTransport struct {
	memberlist.NodeAwareTransport
	f       *Faults
	packets chan *memberlist.Packet
	stop    chan struct{}
	once    sync.Once
	dropped atomic.Uint64 // incoming packets taken out (tests wait for it)
}

func newFaultTransport(tr memberlist.NodeAwareTransport, f *Faults) *faultTransport {
	t := &faultTransport{NodeAwareTransport: tr, f: f, packets: make(chan *memberlist.Packet), stop: make(chan struct{})}
	go t.filter()
	return t
}

// filter forwards the packets from nodes the faults do not cut.
func (t *faultTransport) filter() {
	in := t.NodeAwareTransport.PacketCh()
	for {
		var p *memberlist.Packet
		select {
		case p = <-in:
		case <-t.stop:
			return
		}
		if t.f.Blocked(t.f.nodeAt(p.From.String())) {
			t.dropped.Add(1)
			continue
		}
		select {
		case t.packets <- p:
		case <-t.stop:
			return
		}
	}
}

func (t *faultTransport) cut(addr string) bool { return t.f.Blocked(t.f.nodeAt(addr)) }

// PacketCh (memberlist.Transport).
func (t *faultTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

// WriteTo (memberlist.Transport): a packet over a cut link is lost, which
// UDP does not report.
func (t *faultTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.cut(addr) {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteTo(b, addr)
}

// WriteToAddress (memberlist.NodeAwareTransport).
func (t *faultTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.cut(a.Addr) {
		return time.Now(), nil
	}
	return t.NodeAwareTransport.WriteToAddress(b, a)
}

// DialTimeout (memberlist.Transport).
func (t *faultTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout (memberlist.NodeAwareTransport): a cut link refuses
// the connection, as a closed port would.
func (t *faultTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if peer := t.f.nodeAt(a.Addr); t.f.Blocked(peer) {
		return nil, t.f.refusal(peer, a.Addr)
	}
	return t.NodeAwareTransport.DialAddressTimeout(a, timeout)
}

// Shutdown (memberlist.Transport).
func (t *faultTransport) Shutdown() error {
	t.once.Do(func() { close(t.stop) })
	return t.NodeAwareTransport.Shutdown()
}
