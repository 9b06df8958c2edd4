package peer

// Exchange: a coordinator's Prepare, Commit and Abort calls to a member
// travel on one long-lived bidirectional stream instead of one HTTP/2
// stream each. Under the cluster benchmark the HTTP/2 and Connect
// machinery of unary calls (a new stream with its headers and HPACK
// state, a handler goroutine, the HMAC, response headers and trailers)
// took about 30% of a node's CPU, several times the work the calls
// carried; a message on an open stream is one DATA frame each way.
//
// The calls keep their unary semantics: each is answered by id with the
// response or the Connect error the unary handler gives, and the member
// serves them concurrently. When the stream breaks (peer restart, link
// cut, keepalive timeout) the calls on it fail as unreachable, which the
// coordinator already handles (a missing vote, a Commit resent), and the
// next call opens a new stream. A member that does not serve Exchange (an
// older version) answers Unimplemented once; the client then uses unary
// calls to it.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"connectrpc.com/connect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// Exchange serves a coordinator's stream of calls (see above).
func (s *Service) Exchange(ctx context.Context, st *connect.BidiStream[marmotv1.ExchangeRequest, marmotv1.ExchangeResponse]) error {
	var sendMu sync.Mutex
	var wg sync.WaitGroup
	// A call may not send after Exchange returns: wait for those under way
	// (ctx ends with the stream, so they end soon).
	defer wg.Wait()
	// Receive blocks on the request body, which ctx does not end: it runs
	// apart so that a cancelled stream (a link cut by the faults hook, a
	// shutdown) ends here at once. Once Exchange returns the body is
	// closed, which ends the Receive.
	reqs := make(chan *marmotv1.ExchangeRequest)
	errc := make(chan error, 1)
	go func() {
		for {
			req, err := st.Receive()
			if err != nil {
				errc <- err
				return
			}
			select {
			case reqs <- req:
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		var req *marmotv1.ExchangeRequest
		select {
		case <-ctx.Done():
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		case err := <-errc:
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case req = <-reqs:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp := s.serveExchange(ctx, req)
			sendMu.Lock()
			defer sendMu.Unlock()
			if ctx.Err() != nil {
				// The stream is gone: the call's error, if any, is likely
				// the stream's end, not the call's. The caller's call
				// fails as unreachable, as a unary call cut off would.
				return
			}
			// A failed send means the stream is gone; the caller's call
			// fails with it.
			_ = st.Send(resp)
		}()
	}
}

// serveExchange runs one call of an Exchange stream with its unary handler.
func (s *Service) serveExchange(ctx context.Context, req *marmotv1.ExchangeRequest) *marmotv1.ExchangeResponse {
	if req.TimeoutMs > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
		defer cancel()
	}
	resp := &marmotv1.ExchangeResponse{Id: req.Id}
	var err error
	switch call := req.Call.(type) {
	case *marmotv1.ExchangeRequest_Prepare:
		var r *connect.Response[marmotv1.PrepareResponse]
		if r, err = s.Prepare(ctx, connect.NewRequest(call.Prepare)); err == nil {
			resp.Result = &marmotv1.ExchangeResponse_Prepare{Prepare: r.Msg}
		}
	case *marmotv1.ExchangeRequest_Commit:
		var r *connect.Response[marmotv1.CommitResponse]
		if r, err = s.Commit(ctx, connect.NewRequest(call.Commit)); err == nil {
			resp.Result = &marmotv1.ExchangeResponse_Commit{Commit: r.Msg}
		}
	case *marmotv1.ExchangeRequest_Abort:
		var r *connect.Response[marmotv1.AbortResponse]
		if r, err = s.Abort(ctx, connect.NewRequest(call.Abort)); err == nil {
			resp.Result = &marmotv1.ExchangeResponse_Abort{Abort: r.Msg}
		}
	default:
		err = connect.NewError(connect.CodeUnimplemented, fmt.Errorf("exchange call %T not served", req.Call))
	}
	if err != nil {
		resp.ErrorCode = uint32(connect.CodeOf(err))
		resp.ErrorMessage = err.Error()
		var ce *connect.Error
		if errors.As(err, &ce) {
			resp.ErrorMessage = ce.Message()
		}
	}
	return resp
}

// exchangeClient is a member's PeerServiceClient whose Prepare, Commit and
// Abort go over an Exchange stream; every other call, and all of them to a
// member that does not serve Exchange, are the embedded unary client's.
type exchangeClient struct {
	marmotv1connect.PeerServiceClient
	unary atomic.Bool // the member answered Unimplemented

	mu sync.Mutex
	st *exchangeStream // nil: none open (or the last one broke)
}

func newExchangeClient(unary marmotv1connect.PeerServiceClient) *exchangeClient {
	return &exchangeClient{PeerServiceClient: unary}
}

func (x *exchangeClient) Prepare(ctx context.Context, req *connect.Request[marmotv1.PrepareRequest]) (*connect.Response[marmotv1.PrepareResponse], error) {
	call := &marmotv1.ExchangeRequest{Call: &marmotv1.ExchangeRequest_Prepare{Prepare: req.Msg}}
	return viaExchange(ctx, x, req, call, (*marmotv1.ExchangeResponse).GetPrepare, x.PeerServiceClient.Prepare)
}

func (x *exchangeClient) Commit(ctx context.Context, req *connect.Request[marmotv1.CommitRequest]) (*connect.Response[marmotv1.CommitResponse], error) {
	call := &marmotv1.ExchangeRequest{Call: &marmotv1.ExchangeRequest_Commit{Commit: req.Msg}}
	return viaExchange(ctx, x, req, call, (*marmotv1.ExchangeResponse).GetCommit, x.PeerServiceClient.Commit)
}

func (x *exchangeClient) Abort(ctx context.Context, req *connect.Request[marmotv1.AbortRequest]) (*connect.Response[marmotv1.AbortResponse], error) {
	call := &marmotv1.ExchangeRequest{Call: &marmotv1.ExchangeRequest_Abort{Abort: req.Msg}}
	return viaExchange(ctx, x, req, call, (*marmotv1.ExchangeResponse).GetAbort, x.PeerServiceClient.Abort)
}

// viaExchange runs call on the member's Exchange stream and returns its
// result, or makes the unary call if the member does not serve Exchange.
func viaExchange[Req, Resp any](ctx context.Context, x *exchangeClient, req *connect.Request[Req], call *marmotv1.ExchangeRequest,
	result func(*marmotv1.ExchangeResponse) *Resp, unary func(context.Context, *connect.Request[Req]) (*connect.Response[Resp], error)) (*connect.Response[Resp], error) {
	if !x.unary.Load() {
		resp, err := x.call(ctx, call)
		if !errors.Is(err, errNoExchange) {
			if err != nil {
				return nil, err
			}
			r := result(resp)
			if r == nil {
				return nil, errNoResult
			}
			return connect.NewResponse(r), nil
		}
	}
	return unary(ctx, req)
}

// errNoResult: an answer without the call's result (a member's bug).
var errNoResult = connect.NewError(connect.CodeInternal, errors.New("peer: Exchange answer without the call's result"))

// errNoExchange: the member does not serve Exchange; use a unary call.
var errNoExchange = errors.New("peer: member does not serve Exchange")

// exchangeQueue bounds the calls waiting for the stream's sender.
const exchangeQueue = 256

// exchangeStream is one open Exchange stream and its calls in flight.
type exchangeStream struct {
	bidi   *connect.BidiStreamForClient[marmotv1.ExchangeRequest, marmotv1.ExchangeResponse]
	cancel context.CancelFunc
	out    chan *marmotv1.ExchangeRequest // to the sender goroutine
	done   chan struct{}                  // closed when the stream broke

	mu      sync.Mutex
	next    uint64
	pending map[uint64]chan *marmotv1.ExchangeResponse
	err     error // why it broke
}

// stream returns the open stream, opening one if there is none. The
// stream's context is its own, not a caller's: it outlives every call.
func (x *exchangeClient) stream() *exchangeStream {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.st != nil {
		return x.st
	}
	ctx, cancel := context.WithCancel(context.Background())
	st := &exchangeStream{
		bidi:    x.PeerServiceClient.Exchange(ctx),
		cancel:  cancel,
		out:     make(chan *marmotv1.ExchangeRequest, exchangeQueue),
		done:    make(chan struct{}),
		pending: map[uint64]chan *marmotv1.ExchangeResponse{},
	}
	x.st = st
	// The sender is a goroutine of its own so that a call never blocks
	// past its deadline in Send (a stalled link, flow control).
	go func() {
		for {
			select {
			case req := <-st.out:
				st.mu.Lock()
				_, waited := st.pending[req.Id]
				st.mu.Unlock()
				if !waited {
					continue // its caller gave up while it queued (a stalled link)
				}
				if err := st.bidi.Send(req); err != nil {
					// EOF: the member ended the stream, and Receive (the
					// other goroutine) has its reason, which says whether
					// the member serves Exchange at all.
					if !errors.Is(err, io.EOF) {
						x.broken(st, err)
					}
					return
				}
			case <-st.done:
				return
			}
		}
	}()
	go func() {
		for {
			resp, err := st.bidi.Receive()
			if err != nil {
				x.broken(st, err)
				return
			}
			st.mu.Lock()
			ch := st.pending[resp.Id]
			delete(st.pending, resp.Id)
			st.mu.Unlock()
			if ch != nil {
				ch <- resp // buffered: the caller may have gone
			}
		}
	}()
	return st
}

// broken retires st: its calls fail with err, and the next call opens a
// new stream. A member without Exchange switches the client to unary calls.
func (x *exchangeClient) broken(st *exchangeStream, err error) {
	if errors.Is(err, io.EOF) {
		err = errors.New("stream closed by the member")
	}
	x.mu.Lock()
	if x.st == st {
		x.st = nil
	}
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		x.unary.Store(true)
	}
	x.mu.Unlock()
	st.mu.Lock()
	if st.err == nil {
		st.err = err
		close(st.done)
		for id, ch := range st.pending {
			close(ch)
			delete(st.pending, id)
		}
	}
	st.mu.Unlock()
	st.cancel()
}

// call sends req on the stream and waits for its answer, or ctx.
func (x *exchangeClient) call(ctx context.Context, req *marmotv1.ExchangeRequest) (*marmotv1.ExchangeResponse, error) {
	st := x.stream()
	ch := make(chan *marmotv1.ExchangeResponse, 1)
	st.mu.Lock()
	if st.err != nil {
		err := st.err
		st.mu.Unlock()
		return nil, x.streamErr(err)
	}
	st.next++
	id := st.next
	st.pending[id] = ch
	st.mu.Unlock()
	forget := func() {
		st.mu.Lock()
		delete(st.pending, id)
		st.mu.Unlock()
	}
	req.Id = id
	if dl, ok := ctx.Deadline(); ok {
		req.TimeoutMs = uint32(max(time.Until(dl).Milliseconds(), 1))
	}
	select {
	case st.out <- req:
	case <-st.done:
	case <-ctx.Done():
		forget()
		return nil, ctxErr(ctx)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			st.mu.Lock()
			err := st.err
			st.mu.Unlock()
			return nil, x.streamErr(err)
		}
		if resp.ErrorCode != 0 {
			return nil, connect.NewError(connect.Code(resp.ErrorCode), errors.New(resp.ErrorMessage))
		}
		return resp, nil
	case <-ctx.Done():
		forget()
		return nil, ctxErr(ctx)
	}
}

// streamErr is what a call on a broken stream fails with: errNoExchange
// for a member without Exchange, otherwise unreachable, as a unary call
// over a broken connection would.
func (x *exchangeClient) streamErr(err error) error {
	if connect.CodeOf(err) == connect.CodeUnimplemented {
		return errNoExchange
	}
	return connect.NewError(connect.CodeUnavailable, fmt.Errorf("exchange stream: %w", err))
}

// ctxErr is a unary call's error for its context ending.
func ctxErr(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return connect.NewError(connect.CodeDeadlineExceeded, ctx.Err())
	}
	return connect.NewError(connect.CodeCanceled, ctx.Err())
}
