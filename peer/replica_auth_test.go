package peer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// TestRequireAuthOrReplica: the replica secret opens the read-only calls
// and marks them as a replica's; the write and admin calls stay shut to
// it; the cluster secret still opens everything; a wrong secret nothing.
func TestRequireAuthOrReplica(t *testing.T) {
	const cluster, replica = "cluster-s3cret", "replica-s3cret"
	var sawReplica bool
	h := RequireAuthOrReplica(cluster, replica, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawReplica = isReplicaCaller(r.Context())
		w.WriteHeader(http.StatusNoContent)
	}))
	now := time.Now().UnixMilli()
	cases := []struct {
		name, secret, path string
		want               int
		asReplica          bool
	}{
		{"replica pulls", replica, marmotv1connect.PeerServicePullProcedure, http.StatusNoContent, true},
		{"replica sync status", replica, marmotv1connect.PeerServiceSyncStatusProcedure, http.StatusNoContent, true},
		{"replica prepares a snapshot", replica, marmotv1connect.PeerServicePrepareSnapshotProcedure, http.StatusNoContent, true},
		{"replica fetches a snapshot", replica, marmotv1connect.PeerServiceFetchSnapshotProcedure, http.StatusNoContent, true},
		{"replica lists members", replica, ReplicaMembersPath, http.StatusNoContent, true},
		{"replica prepares a write", replica, marmotv1connect.PeerServicePrepareProcedure, http.StatusForbidden, false},
		{"replica commits", replica, marmotv1connect.PeerServiceCommitProcedure, http.StatusForbidden, false},
		{"replica aborts", replica, marmotv1connect.PeerServiceAbortProcedure, http.StatusForbidden, false},
		{"replica calls admin", replica, marmotv1connect.AdminServiceRemoveProcedure, http.StatusForbidden, false},
		{"replica says hello", replica, MembershipHelloPath, http.StatusForbidden, false},
		{"member pulls", cluster, marmotv1connect.PeerServicePullProcedure, http.StatusNoContent, false},
		{"member commits", cluster, marmotv1connect.PeerServiceCommitProcedure, http.StatusNoContent, false},
		{"wrong secret", "guess", marmotv1connect.PeerServicePullProcedure, http.StatusUnauthorized, false},
		{"secret in clear", "", marmotv1connect.PeerServicePullProcedure, http.StatusUnauthorized, false},
	}
	for _, c := range cases {
		sawReplica = false
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", c.path, nil)
		if c.secret != "" {
			req.Header.Set(AuthHeader, sign([]byte(c.secret), 42, now))
		} else {
			req.Header.Set(AuthHeader, "42:"+replica)
		}
		h.ServeHTTP(rec, req)
		if rec.Code != c.want || sawReplica != c.asReplica {
			t.Errorf("%s: status %d replica=%v, want %d replica=%v (%s)", c.name, rec.Code, sawReplica, c.want, c.asReplica, rec.Body)
		}
	}
}

// TestRequireAuthOrReplicaOff: without a replica secret (or with one equal
// to the cluster secret, which cannot be told apart) no call is a
// replica's.
func TestRequireAuthOrReplicaOff(t *testing.T) {
	for _, replica := range []string{"", "same"} {
		var sawReplica bool
		h := RequireAuthOrReplica("same", replica, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sawReplica = isReplicaCaller(r.Context())
		}))
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", marmotv1connect.PeerServiceCommitProcedure, nil)
		req.Header.Set(AuthHeader, sign([]byte("same"), 1, time.Now().UnixMilli()))
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || sawReplica {
			t.Errorf("replica secret %q: status %d replica=%v", replica, rec.Code, sawReplica)
		}
	}
}

// TestReplicaMembers: a replica reads the member list with its own secret.
func TestReplicaMembers(t *testing.T) {
	path, h := ReplicaMembersHandler("c", "r", func() []Member {
		return []Member{{ID: 1, Addr: "127.0.0.1:1", State: MemberAlive, Self: true}, {ID: 2, Addr: "127.0.0.1:2", State: MemberDead}}
	})
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	hc := &http.Client{Transport: signingTransport{secret: []byte("r"), node: 9, next: http.DefaultTransport}}
	got, err := FetchReplicaMembers(context.Background(), hc, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Members) != 2 || got.Members[0].State != "alive" || got.Members[1].Addr != "127.0.0.1:2" || got.Members[1].State != "dead" {
		t.Fatalf("members = %+v", got.Members)
	}
	bad := &http.Client{Transport: signingTransport{secret: []byte("x"), node: 9, next: http.DefaultTransport}}
	if _, err := FetchReplicaMembers(context.Background(), bad, srv.URL); err == nil {
		t.Fatal("a wrong secret read the member list")
	}
}
