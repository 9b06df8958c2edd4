package peer

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// callCounter counts a node's incoming peer requests by procedure, and can
// refuse Exchange or cut the Exchange streams under way.
type callCounter struct {
	mu        sync.Mutex
	calls     map[string]int
	noExch    bool
	cancelers []context.CancelFunc
}

func (c *callCounter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.calls[r.URL.Path]++
		refuse := c.noExch && r.URL.Path == marmotv1connect.PeerServiceExchangeProcedure
		var ctx context.Context
		if r.URL.Path == marmotv1connect.PeerServiceExchangeProcedure {
			var cancel context.CancelFunc
			ctx, cancel = context.WithCancel(r.Context())
			c.cancelers = append(c.cancelers, cancel)
			r = r.WithContext(ctx)
		}
		c.mu.Unlock()
		if refuse {
			http.NotFound(w, r) // what a member that predates Exchange answers
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (c *callCounter) count(proc string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[proc]
}

// cut ends every Exchange stream the node serves.
func (c *callCounter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cancel := range c.cancelers {
		cancel()
	}
	c.cancelers = nil
}

// TestExchange: a coordinator's prepares and commits to a member travel on
// one Exchange stream; a member that does not serve Exchange gets unary
// calls; a stream that breaks is replaced by the next call.
func TestExchange(t *testing.T) {
	cases := []struct {
		name       string
		noExchange bool // the members refuse Exchange
		cutAfter   int  // cut the members' streams after this many commits (0: never)
		// Exchange streams each member should have seen opened, and
		// whether Prepare and Commit arrive as unary calls.
		streams int
		unary   bool
	}{
		{name: "one stream", streams: 1},
		{name: "member without Exchange", noExchange: true, streams: 1, unary: true},
		{name: "stream cut", cutAfter: 5, streams: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			counters := make([]*callCounter, 3)
			for i := range counters {
				counters[i] = &callCounter{calls: map[string]int{}, noExch: tc.noExchange}
			}
			nodes := startTestClusterWrapped(t, 3, func(i int, h http.Handler) http.Handler { return counters[i].wrap(h) })
			const commits = 10
			for i := range commits {
				if tc.cutAfter > 0 && i == tc.cutAfter {
					counters[1].cut()
					counters[2].cut()
					// Calls sent before the coordinator learns of the cut
					// fail, as unary calls over a broken connection would;
					// wait until it has.
					for _, nd := range nodes[1:] {
						x := nodes[0].coord.client(nd.addr).(*exchangeClient)
						deadline := time.Now().Add(10 * time.Second)
						for {
							x.mu.Lock()
							open := x.st != nil
							x.mu.Unlock()
							if !open {
								break
							}
							if time.Now().After(deadline) {
								t.Fatal("the coordinator did not notice its Exchange stream was cut")
							}
							time.Sleep(time.Millisecond) // polling
						}
					}
				}
				// ALL: both members must vote and acknowledge.
				if err := commit(t.Context(), nodes[0], changeSet(row(int64(i), "v")), nil, txlog.All); err != nil {
					t.Fatalf("commit %d: %v", i, err)
				}
			}
			for _, c := range counters[1:] {
				if got := c.count(marmotv1connect.PeerServiceExchangeProcedure); got != tc.streams {
					t.Errorf("%d Exchange streams opened, want %d", got, tc.streams)
				}
				prepares := c.count(marmotv1connect.PeerServicePrepareProcedure)
				commitCalls := c.count(marmotv1connect.PeerServiceCommitProcedure)
				if tc.unary && (prepares != commits || commitCalls < commits) {
					t.Errorf("member without Exchange got %d Prepare and %d Commit calls, want %d of each", prepares, commitCalls, commits)
				}
				if !tc.unary && prepares+commitCalls != 0 {
					t.Errorf("%d Prepare and %d Commit unary calls beside the stream", prepares, commitCalls)
				}
			}
		})
	}
}

// emptyExchange answers every Exchange call with no result.
type emptyExchange struct {
	marmotv1connect.UnimplementedPeerServiceHandler
}

func (emptyExchange) Exchange(ctx context.Context, st *connect.BidiStream[marmotv1.ExchangeRequest, marmotv1.ExchangeResponse]) error {
	for {
		req, err := st.Receive()
		if err != nil {
			return nil
		}
		if err := st.Send(&marmotv1.ExchangeResponse{Id: req.Id}); err != nil {
			return err
		}
	}
}

// TestExchangeAnswerWithoutResult: a member's answer that lacks the call's
// result is an error, not a nil response the coordinator would read.
func TestExchangeAnswerWithoutResult(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path, h := marmotv1connect.NewPeerServiceHandler(emptyExchange{})
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := &http.Server{Handler: mux, Protocols: ServerProtocols()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	x := newExchangeClient(marmotv1connect.NewPeerServiceClient(&http.Client{Transport: peerTransport()}, "http://"+ln.Addr().String()))
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	_, err = x.Prepare(ctx, connect.NewRequest(&marmotv1.PrepareRequest{TxnId: []byte("t")}))
	if connect.CodeOf(err) != connect.CodeInternal {
		t.Fatalf("Prepare answered without a result: err %v, want an internal error", err)
	}
}
