package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// writeFaults replaces the faults file in one rename, as the e2e harness
// does, so a poll never reads half a file.
func writeFaults(t *testing.T, path string, spec faultSpec) {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// mustStartFaults watches a faults file in a fresh dir (none written yet).
func mustStartFaults(t *testing.T) (*Faults, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "faults.json")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	f, err := StartFaults(ctx, path, msLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

// installFaults makes f the process's hook for the test.
func installFaults(t *testing.T, f *Faults) {
	t.Helper()
	activeFaults.Store(f)
	t.Cleanup(func() { activeFaults.Store(nil) })
}

// addressBook is a membership that knows only its table: enough for the
// hook's address book.
func addressBook(self uint64, addrs map[uint64][2]string) *Membership {
	m := &Membership{id: self, members: map[uint64]*memberRec{}}
	for id, a := range addrs {
		m.members[id] = &memberRec{id: id, addr: a[0], gossip: a[1]}
	}
	return m
}

func TestFaultsFile(t *testing.T) {
	f, path := mustStartFaults(t)
	if f.Blocked(2) || f.offset.Load() != 0 {
		t.Fatal("a missing file must mean no faults")
	}

	writeFaults(t, path, faultSpec{Blocked: []uint64{2, 3}, ClockOffsetMS: 10_000})
	msEventually(t, "faults file read by the poll", func() error {
		if !f.Blocked(2) || !f.Blocked(3) || f.Blocked(4) {
			return fmt.Errorf("blocked 2,3,4 = %v,%v,%v", f.Blocked(2), f.Blocked(3), f.Blocked(4))
		}
		return nil
	})
	if d := time.Until(f.Now()); d < 9*time.Second || d > 11*time.Second {
		t.Fatalf("clock offset 10s: Now is %v ahead", d)
	}
	if f.Clock() == nil || (*Faults)(nil).Clock() != nil {
		t.Fatal("Clock: the hook's Now with the hook, nil (real time) without")
	}

	if err := os.WriteFile(path, []byte(`{"blocked": [`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.reload(); err == nil {
		t.Fatal("a malformed file must be reported")
	}
	if !f.Blocked(2) {
		t.Fatal("a malformed file must keep the previous faults")
	}
	if err := os.WriteFile(path, []byte(`{"blocked": [], "clock_offset_ms": -5000, "paws_peers": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.reload(); err == nil {
		t.Fatal("an unknown key (a typo) must be reported, not ignored")
	}

	writeFaults(t, path, faultSpec{ClockOffsetMS: -5000, PausePeers: true})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(f.Now()); d > -4*time.Second {
		t.Fatalf("clock offset -5s: Now is %v ahead", d)
	}
	if !f.Blocked(7) {
		t.Fatal("a pause cuts every link")
	}

	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	if f.Blocked(2) || f.Blocked(7) || f.offset.Load() != 0 {
		t.Fatal("removing the file must clear every fault")
	}
}

func TestFaultsTrackCutsCalls(t *testing.T) {
	f, path := mustStartFaults(t)
	ctx2, done2 := f.Track(context.Background(), 2)
	defer done2()
	ctx3, done3 := f.Track(context.Background(), 3)
	defer done3()

	writeFaults(t, path, faultSpec{Blocked: []uint64{2}})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	if ctx2.Err() == nil || !errors.Is(context.Cause(ctx2), errLinkCut) {
		t.Fatalf("call with node 2 not cut: %v", context.Cause(ctx2))
	}
	if ctx3.Err() != nil {
		t.Fatal("call with node 3 cut with node 2's link")
	}
	late, doneLate := f.Track(context.Background(), 2)
	defer doneLate()
	if late.Err() == nil {
		t.Fatal("a call started on a cut link must be cut at once")
	}
	done3()
	if ctx3.Err() == nil {
		t.Fatal("done must release the call's context")
	}
}

// TestFaultsPeerHTTP: the hooks in RequireAuth and signingTransport refuse
// calls from and to a blocked node, cut a stream under way, and hold calls
// during a pause.
func TestFaultsPeerHTTP(t *testing.T) {
	const secret = "s"
	streaming := make(chan context.Context, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stream" {
			fmt.Fprint(w, "ok")
			return
		}
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		streaming <- r.Context()
		<-r.Context().Done()
	})
	srv := httptest.NewServer(RequireAuth(secret, handler))
	defer srv.Close()
	other := httptest.NewServer(RequireAuth(secret, handler))
	defer other.Close()

	f, path := mustStartFaults(t)
	installFaults(t, f)
	// This process plays node 1; srv is node 2, other is node 3.
	f.SetMembers(addressBook(1, map[uint64][2]string{
		2: {srv.Listener.Addr().String(), ""},
		3: {other.Listener.Addr().String(), ""},
	}))
	client := func(node uint64) *http.Client {
		return &http.Client{Transport: signingTransport{secret: []byte(secret), node: node, next: http.DefaultTransport}}
	}
	get := func(node uint64, url string) (int, error) {
		resp, err := client(node).Get(url)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	// A stream to node 3 and one from node 3, open before the cut.
	out, err := client(1).Get(other.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	outServer := <-streaming
	in, err := client(3).Get(srv.URL + "/stream") // node 3 calls node 2 (both this process)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Body.Close()
	inServer := <-streaming

	writeFaults(t, path, faultSpec{Blocked: []uint64{3}})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, out.Body); err == nil {
		t.Fatal("outgoing stream to a newly blocked node must fail")
	}
	select {
	case <-inServer.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("incoming stream from a newly blocked node not cut")
	}
	select {
	case <-outServer.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the far end of the cut outgoing stream is still open")
	}

	if _, err := get(1, other.URL+"/x"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("call to a blocked node: want a refused connection, got %v", err)
	}
	if code, err := get(3, srv.URL+"/x"); err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("call from a blocked node: want 503, got %d %v", code, err)
	}
	if code, err := get(1, srv.URL+"/x"); err != nil || code != http.StatusOK {
		t.Fatalf("call between unblocked nodes: %d %v", code, err)
	}

	// A pause holds new calls until it is lifted.
	writeFaults(t, path, faultSpec{PausePeers: true})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/x", nil)
	if _, err := client(1).Do(req); !errors.Is(err, syscall.ECONNREFUSED) || ctx.Err() == nil {
		t.Fatalf("call during a pause: want it held until its deadline, got %v", err)
	}
	result := make(chan error, 1)
	go func() {
		code, err := get(1, srv.URL+"/x")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("HTTP %d", code)
		}
		result <- err
	}()
	writeFaults(t, path, faultSpec{})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	if err := <-result; err != nil {
		t.Fatalf("call held by a pause must go through once it is lifted: %v", err)
	}
}

// TestFaultTransport: gossip packets from and to a blocked node are lost,
// streams to it are refused, and both come back when the block goes.
func TestFaultTransport(t *testing.T) {
	newNet := func() *memberlist.NetTransport {
		tr, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
			BindAddrs: []string{"127.0.0.1"}, Logger: log.New(io.Discard, "", 0)})
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	a, b := newNet(), newNet()
	defer b.Shutdown()
	addrOf := func(tr *memberlist.NetTransport) string {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(tr.GetAutoBindPort()))
	}
	f, path := mustStartFaults(t)
	f.SetMembers(addressBook(1, map[uint64][2]string{2: {"127.0.0.1:1", addrOf(b)}}))
	fa := newFaultTransport(a, f)
	defer fa.Shutdown()

	recv := func(ch <-chan *memberlist.Packet) string {
		t.Helper()
		select {
		case p := <-ch:
			return string(p.Buf)
		case <-time.After(10 * time.Second):
			t.Fatal("no packet")
			return ""
		}
	}
	block := func(ids ...uint64) {
		t.Helper()
		writeFaults(t, path, faultSpec{Blocked: ids})
		if err := f.reload(); err != nil {
			t.Fatal(err)
		}
	}

	block(2)
	if _, err := b.WriteTo([]byte("lost-in"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	if _, err := fa.WriteToAddress([]byte("lost-out"), memberlist.Address{Addr: addrOf(b), Name: "2"}); err != nil {
		t.Fatalf("a packet over a cut link is lost silently: %v", err)
	}
	if _, err := fa.DialTimeout(addrOf(b), time.Second); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("stream to a blocked node: want refused, got %v", err)
	}

	msEventually(t, "incoming packet from the blocked node dropped", func() error {
		if fa.dropped.Load() == 0 {
			return errors.New("not yet")
		}
		return nil
	})
	block()
	// Loopback UDP keeps order: the first packet through is the one sent
	// after the block went, so the ones before were dropped.
	if _, err := b.WriteTo([]byte("in"), addrOf(a)); err != nil {
		t.Fatal(err)
	}
	if got := recv(fa.PacketCh()); got != "in" {
		t.Fatalf("incoming packet: got %q, want %q", got, "in")
	}
	if _, err := fa.WriteTo([]byte("out"), addrOf(b)); err != nil {
		t.Fatal(err)
	}
	if got := recv(b.PacketCh()); got != "out" {
		t.Fatalf("outgoing packet: got %q, want %q", got, "out")
	}
	c, err := fa.DialTimeout(addrOf(b), time.Second)
	if err != nil {
		t.Fatalf("stream after the block went: %v", err)
	}
	c.Close()
	(<-b.StreamCh()).Close() // b's Shutdown waits until its stream is taken
}

// TestFaultsFsync: stall_fsync holds the log's fsync hook until lifted;
// fsync_delay_ms slows it; without the hook there is none.
func TestFaultsFsync(t *testing.T) {
	if (*Faults)(nil).BeforeSync() != nil {
		t.Fatal("BeforeSync without the hook must be nil (no wrapper around the log's filesystem)")
	}
	f, path := mustStartFaults(t)
	hook := f.BeforeSync()
	hook() // no faults: returns at once

	writeFaults(t, path, faultSpec{StallFsync: true})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { hook(); close(done) }()
	select {
	case <-done:
		t.Fatal("an fsync passed a stalled disk")
	case <-time.After(100 * time.Millisecond): // it must still be held then
	}
	writeFaults(t, path, faultSpec{FsyncDelayMS: 50})
	if err := f.reload(); err != nil {
		t.Fatal(err)
	}
	<-done // released by the change
	start := time.Now()
	hook()
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("fsync delay 50 ms: the hook returned after %v", d)
	}
}
