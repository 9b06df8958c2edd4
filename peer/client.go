package peer

import (
	"net/http"
	"strings"

	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// NewClient returns a PeerService client for addr (host:port) whose calls
// carry this node's HMAC. It shares the node's HTTP/2 connections.
func NewClient(secret string, node uint64, addr string) marmotv1connect.PeerServiceClient {
	hc := &http.Client{Transport: signingTransport{secret: []byte(secret), node: node, next: peerTransport()}}
	return marmotv1connect.NewPeerServiceClient(hc, baseURL(addr), peerClientOptions())
}

func baseURL(addr string) string {
	if strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr
}
