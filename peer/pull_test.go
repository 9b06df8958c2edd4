package peer

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/prometheus/client_golang/prometheus/testutil"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// TestPullDoesNotEchoCallersOwn: once a stream has caught up, the change
// sets of the caller's own origin that this node ingests are not sent back
// to the caller (it wrote them); this node's own change sets still are.
func TestPullDoesNotEchoCallersOwn(t *testing.T) {
	const caller = 7
	l, err := txlog.Open(txlog.Options{Dir: t.TempDir(), NodeID: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The catch-up returns the caller's own tail it lacks.
	ingest := func(seq uint64) {
		t.Helper()
		cs := changeSet(row(int64(seq), "from the caller"))
		cs.Origin, cs.Seq = caller, seq
		cs.Hlc = txlog.Timestamp{WallMS: time.Now().UnixMilli(), Node: caller}.Proto()
		if err := l.Ingest(ctx, cs); err != nil {
			t.Fatal(err)
		}
	}
	ingest(1)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Log: l, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	path, h, err := svc.Handler(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := &http.Server{Handler: mux, Protocols: ServerProtocols()}
	go srv.Serve(ln)
	defer srv.Close()

	hc := &http.Client{Transport: signingTransport{secret: []byte(testSecret), node: caller, next: peerTransport()}}
	client := marmotv1connect.NewPeerServiceClient(hc, "http://"+ln.Addr().String(), peerClientOptions())
	stream, err := client.Pull(ctx, connect.NewRequest(&marmotv1.PullRequest{NodeId: caller, Watermark: map[uint64]uint64{}}))
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	next := func() *marmotv1.PullResponse {
		t.Helper()
		for stream.Receive() {
			if m := stream.Msg(); len(m.ChangeSet) > 0 {
				return m
			}
		}
		t.Fatalf("stream ended: %v", stream.Err())
		return nil
	}
	if m := next(); m.Origin != caller || m.Seq != 1 {
		t.Fatalf("catch-up sent %d/%d, want the caller's %d/1", m.Origin, m.Seq, caller)
	}
	for seq := uint64(2); seq <= 6; seq++ {
		ingest(seq) // durable here before this node's own next change set
		own := changeSet(row(100+int64(seq), "local"))
		if err := l.Commit(ctx, own, nil); err != nil {
			t.Fatal(err)
		}
		m := next()
		if m.Origin != 1 || m.Seq != own.Seq {
			t.Fatalf("after the catch-up the stream sent %d/%d, want only this node's own %d/%d", m.Origin, m.Seq, 1, own.Seq)
		}
	}
}

// waitStreaming polls until every other node follows nd's log.
func waitStreaming(t *testing.T, nd *testNode, others ...*testNode) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, o := range others {
		for !nd.svc.Streaming(o.log.Node()) {
			if time.Now().After(deadline) {
				t.Fatalf("node %d does not pull from node %d", o.log.Node(), nd.log.Node())
			}
			time.Sleep(10 * time.Millisecond) // polling interval
		}
	}
}

// TestCommitDelivery: members that follow the coordinator's Pull stream
// get Commit without the change set and confirm it only once the stream's
// copy is durable in their log; when the stream does not deliver it (held
// back here), the member answers NOT_FOUND and the coordinator sends it in
// the call. Either way the commit succeeds, durable everywhere, intents
// released.
func TestCommitDelivery(t *testing.T) {
	for _, tc := range []struct {
		name    string
		holdOwn bool
		via     string
	}{
		{"over the stream", false, "stream"},
		{"in the call when the stream does not deliver", true, "call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := startTestCluster(t, 3)
			waitStreaming(t, nodes[0], nodes[1], nodes[2])
			nodes[0].holdOwn.Store(tc.holdOwn)
			before := testutil.ToFloat64(metricCommitDelivery.WithLabelValues(tc.via))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cs := changeSet(row(1, "a"))
			if err := commit(ctx, nodes[0], cs, nil, txlog.All); err != nil {
				t.Fatal(err)
			}
			for _, nd := range nodes[1:] {
				if !nd.log.Durable().Covers(cs.Origin, cs.Seq) {
					t.Fatalf("ALL acknowledged but node %d lacks %d/%d", nd.log.Node(), cs.Origin, cs.Seq)
				}
				if n := nd.log.Intents(); n != 0 {
					t.Fatalf("node %d still holds %d intents", nd.log.Node(), n)
				}
			}
			if got := testutil.ToFloat64(metricCommitDelivery.WithLabelValues(tc.via)) - before; got != 2 {
				t.Fatalf("%v commits delivered %s, want 2", got, tc.via)
			}
		})
	}
}
