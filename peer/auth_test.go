package peer

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestVerify(t *testing.T) {
	secret := []byte("s3cret")
	now := time.UnixMilli(1_800_000_000_000)
	good := sign(secret, 7, now.UnixMilli())
	cases := []struct {
		name   string
		header string
		ok     bool
	}{
		{"valid", good, true},
		{"other secret", sign([]byte("other"), 7, now.UnixMilli()), false},
		{"other node claimed", sign(secret, 8, now.UnixMilli())[:2] + good[2:], false},
		{"too old", sign(secret, 7, now.Add(-6*time.Minute).UnixMilli()), false},
		{"from the future", sign(secret, 7, now.Add(6*time.Minute).UnixMilli()), false},
		{"within the window", sign(secret, 7, now.Add(-4*time.Minute).UnixMilli()), true},
		{"empty", "", false},
		{"garbage", "a:b:c", false},
		{"secret in clear", "7:1800000000000:s3cret", false},
	}
	for _, c := range cases {
		if err := verify(secret, c.header, now); (err == nil) != c.ok {
			t.Errorf("%s: verify(%q) = %v, want ok=%v", c.name, c.header, err, c.ok)
		}
	}
}

func TestRequireAuth(t *testing.T) {
	h := RequireAuth("s3cret", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, c := range []struct {
		header string
		want   int
	}{
		{"", http.StatusUnauthorized},
		{sign([]byte("wrong"), 1, time.Now().UnixMilli()), http.StatusUnauthorized},
		{sign([]byte("s3cret"), 1, time.Now().UnixMilli()), http.StatusNoContent},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", "/marmot.v1.PeerService/Pull", nil)
		if c.header != "" {
			req.Header.Set(AuthHeader, c.header)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != c.want {
			t.Errorf("header %q: status %d, want %d (%s)", c.header, rec.Code, c.want, rec.Body)
		}
	}
	if err := checkSecret(""); err == nil {
		t.Error("an empty secret must be refused")
	}
}
