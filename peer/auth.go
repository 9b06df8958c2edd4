package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AuthHeader carries "<node>:<unix ms>:<hex HMAC-SHA256(secret, node:ms)>".
// The secret itself never crosses the wire; the timestamp bounds replay.
const AuthHeader = "X-Marmot-Auth"

// authWindow is how far a request's timestamp may be from the receiver's
// clock (replay bound; also tolerates modest clock skew).
const authWindow = 5 * time.Minute

var (
	// ErrNoSecret: cluster mode needs a shared secret.
	ErrNoSecret = errors.New("peer: cluster_secret (or MARMOT_CLUSTER_SECRET) is required when seed_nodes are set")
	errAuth     = errors.New("peer: request not authenticated: missing or wrong cluster secret, or clock skew above 5m")
)

func sign(secret []byte, node uint64, ms int64) string {
	msg := strconv.FormatUint(node, 10) + ":" + strconv.FormatInt(ms, 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(msg))
	return msg + ":" + hex.EncodeToString(m.Sum(nil))
}

func verify(secret []byte, header string, now time.Time) error {
	parts := strings.Split(header, ":")
	if len(parts) != 3 {
		return errAuth
	}
	node, err1 := strconv.ParseUint(parts[0], 10, 64)
	ms, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil {
		return errAuth
	}
	if d := now.Sub(time.UnixMilli(ms)); d > authWindow || d < -authWindow {
		return errAuth
	}
	if !hmac.Equal([]byte(sign(secret, node, ms)), []byte(header)) {
		return errAuth
	}
	return nil
}

// RequireAuth wraps the peer handler: requests without a valid HMAC get 401
// and a body that says why.
func RequireAuth(secret string, next http.Handler) http.Handler {
	key := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := verify(key, r.Header.Get(AuthHeader), time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		if f := activeFaults.Load(); f != nil {
			f.serve(next, w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// signingTransport adds the HMAC header to every outgoing peer request.
type signingTransport struct {
	secret []byte
	node   uint64
	next   http.RoundTripper
}

func (t signingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(AuthHeader, sign(t.secret, t.node, time.Now().UnixMilli()))
	if f := activeFaults.Load(); f != nil {
		return f.roundTrip(t.next, r)
	}
	return t.next.RoundTrip(r)
}

func checkSecret(secret string) error {
	if secret == "" {
		return ErrNoSecret
	}
	return nil
}
