package peer

import (
	"net"

	"connectrpc.com/connect"
	"net/http"
	"sync"
	"time"
)

var (
	transportOnce sync.Once
	sharedH2C     *http.Transport
	// keepalive and pingTimeout: [grpc_client] keepalive_time_seconds and
	// keepalive_timeout_seconds (ConfigureTransport).
	keepalive, pingTimeout = 10 * time.Second, 3 * time.Second
)

// ConfigureTransport sets the peer connections' keepalive: an idle
// connection is pinged every interval, and closed (its calls fail, so a
// dead peer is noticed) when a ping goes unanswered for timeout. Call it
// before the first peer call; zero values keep the defaults.
func ConfigureTransport(interval, timeout time.Duration) {
	if interval > 0 {
		keepalive = interval
	}
	if timeout > 0 {
		pingTimeout = timeout
	}
}

// peerTransport is the HTTP client transport for peer calls: HTTP/2 over
// cleartext TCP (h2c with prior knowledge), so every prepare, commit and
// stream to a peer is multiplexed on one connection instead of each
// concurrent call opening its own. One transport is shared by the node.
func peerTransport() http.RoundTripper {
	transportOnce.Do(func() {
		t := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: keepalive}).DialContext,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     90 * time.Second,
		}
		t.Protocols = new(http.Protocols)
		t.Protocols.SetUnencryptedHTTP2(true)
		t.HTTP2 = &http.HTTP2Config{PingTimeout: pingTimeout, SendPingTimeout: keepalive}
		sharedH2C = t
	})
	return sharedH2C
}

// ServerProtocols are the protocols the cluster port serves: HTTP/1.1 (for
// curl, /metrics, /healthz) and HTTP/2 cleartext for peers.
func ServerProtocols() *http.Protocols {
	p := new(http.Protocols)
	p.SetHTTP1(true)
	p.SetUnencryptedHTTP2(true)
	return p
}

// Peer calls are not compressed: change sets are mostly row values that
// compress poorly (and peers talk over fast links), and gzip on every
// message cost a quarter of a node's CPU under load. They are encoded by
// vtCodec.
func peerHandlerOptions() connect.HandlerOption {
	return connect.WithHandlerOptions(connect.WithCompression("gzip", nil, nil), connect.WithCodec(vtCodec{}))
}

func peerClientOptions() connect.ClientOption {
	return connect.WithClientOptions(connect.WithAcceptCompression("gzip", nil, nil), connect.WithCodec(vtCodec{}))
}
