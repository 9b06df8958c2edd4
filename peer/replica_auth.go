package peer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// A replica authenticates like a member (the X-Marmot-Auth HMAC, the secret
// never on the wire) but with the replica secret, which cluster nodes
// learn from their own [replica] secret. Holding it lets a node read the
// cluster's log and snapshots, never vote, commit or administer: a replica
// runs where the cluster secret should not be (an edge box, a Lambda
// sidecar), so leaking its secret must not let anyone write.

// ReplicaMembersPath is where a cluster node lists the members a replica
// may follow (GET, JSON ReplicaMembers).
const ReplicaMembersPath = "/marmot.replica/members"

// ErrReplicaForbidden: a call signed with the replica secret asked for
// more than reading.
var ErrReplicaForbidden = errors.New("peer: the replica secret only allows Pull, SyncStatus, PrepareSnapshot, FetchSnapshot and the member list")

// replicaProcedures are the PeerService calls that only read the log or
// snapshots; everything else (Prepare, Commit, Abort) changes state.
var replicaProcedures = map[string]bool{
	marmotv1connect.PeerServicePullProcedure:            true,
	marmotv1connect.PeerServiceSyncStatusProcedure:      true,
	marmotv1connect.PeerServicePrepareSnapshotProcedure: true,
	marmotv1connect.PeerServiceFetchSnapshotProcedure:   true,
	ReplicaMembersPath: true,
}

type replicaCallerKey struct{}

// isReplicaCaller reports whether the request behind ctx was authenticated
// with the replica secret: Pull then relays every origin, since a replica
// follows one node rather than every member.
func isReplicaCaller(ctx context.Context) bool {
	v, _ := ctx.Value(replicaCallerKey{}).(bool)
	return v
}

// RequireAuthOrReplica is RequireAuth that also admits requests signed with
// replicaSecret, for the read-only calls only (403 for the rest). An empty
// replicaSecret admits no replica. A replicaSecret equal to secret could
// not tell the two apart, so it too admits members only (config
// validation refuses that setting).
func RequireAuthOrReplica(secret, replicaSecret string, next http.Handler) http.Handler {
	member := RequireAuth(secret, next)
	if replicaSecret == "" || replicaSecret == secret {
		return member
	}
	key := []byte(replicaSecret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if verify(key, r.Header.Get(AuthHeader), time.Now()) != nil {
			member.ServeHTTP(w, r) // a member's request, or refused there
			return
		}
		if !replicaProcedures[r.URL.Path] {
			http.Error(w, ErrReplicaForbidden.Error(), http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), replicaCallerKey{}, true)))
	})
}

// ReplicaMember is one cluster node as a replica sees it.
type ReplicaMember struct {
	ID    uint64 `json:"id"`
	Addr  string `json:"addr"`
	State string `json:"state"`
}

// ReplicaMembers is the body of ReplicaMembersPath.
type ReplicaMembers struct {
	Members []ReplicaMember `json:"members"`
}

// ReplicaMembersHandler serves this node's member list (every configured
// member with its state) to replicas, and to members for debugging. The
// list is what lets a replica fail over to a node it was never told about.
func ReplicaMembersHandler(secret, replicaSecret string, members func() []Member) (string, http.Handler) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			http.Error(w, "replica members: use GET", http.StatusMethodNotAllowed)
			return
		}
		out := ReplicaMembers{Members: []ReplicaMember{}}
		for _, m := range members() {
			out.Members = append(out.Members, ReplicaMember{ID: m.ID, Addr: m.Addr, State: m.State.String()})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	return ReplicaMembersPath, RequireAuthOrReplica(secret, replicaSecret, h)
}
