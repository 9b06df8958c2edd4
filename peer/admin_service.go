package peer

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// MemberAdmin is the membership the admin API lists and changes
// (*Membership). Its methods are called from request goroutines,
// concurrently with each other and with gossip.
type MemberAdmin interface {
	Members() []Member
	Remove(id uint64) error
	Allow(id uint64) error
}

// LogStatus is what Status reports of the transaction log (*txlog.Log).
// Called concurrently from request goroutines; the returned watermarks and
// maps belong to the caller.
type LogStatus interface {
	Node() uint64
	Durable() txlog.Watermark
	Cursors() (map[string]txlog.Watermark, error)
	Intents() int
	// DiskSize is the log's size on disk (Pebble's accounting).
	DiskSize() uint64
}

// Views are the SQLite views of the databases (the materializer), which
// peer may not import. Called concurrently from request goroutines.
type Views interface {
	// Databases lists the live databases, sorted.
	Databases() []string
	// ViewState is one database's applied watermark and schema generation.
	ViewState(db string) (applied txlog.Watermark, schemaGen uint64, err error)
	// Checksums reads db in one read transaction: begin gets the watermark
	// and the table names, then table is called once per table in that
	// order. An error from a callback ends the scan and is returned.
	Checksums(ctx context.Context, db string,
		begin func(applied txlog.Watermark, tables []string) error,
		table func(name string, rows uint64, sum []byte) error) error
}

// Replication is where anti-entropy reports per-peer lag and GC progress
// for Status. It may be nil (nothing is reported). Called concurrently from
// request goroutines; it must answer from state it already has, not by
// asking peers.
type Replication interface {
	PeerLag() []PeerLag
	// GCPosition reports ok = false while GC has never run.
	GCPosition() (pos GCPosition, ok bool)
	// Snapshot is the snapshot being received; ok = false when none.
	Snapshot() (s SnapshotTransfer, ok bool)
}

// SnapshotTransfer is the progress of a snapshot this node receives.
type SnapshotTransfer struct {
	ID, Source  string
	Done, Total uint64
}

// PeerLag is one peer's replication lag as anti-entropy measures it.
type PeerLag struct {
	PeerID          uint64
	Addr            string
	LagTransactions uint64
	Lag             time.Duration
	LastSync        time.Time // zero: never synced
}

// GCPosition is where log garbage collection stands.
type GCPosition struct {
	Trimmed txlog.Watermark // per origin, sequences at or below are gone
	Floor   txlog.Watermark // per origin, the lowest position a reader needs
	LastRun time.Time
}

// AdminService serves marmotv1.AdminService and the plain-HTTP
// /admin/cluster/* endpoints (the documented curl interface), both
// authenticated by the cluster secret itself in X-Marmot-Secret.
type AdminService struct {
	// Secret is the cluster secret. Empty: the node has no cluster_secret
	// and every admin call is refused, since nothing else authenticates
	// them.
	Secret string
	Log    LogStatus
	// Membership is nil on a node that is not in a cluster.
	Membership  MemberAdmin
	Views       Views
	Replication Replication // nil until anti-entropy provides it
	Version     string
	Started     time.Time
}

var _ marmotv1connect.AdminServiceHandler = (*AdminService)(nil)

// Register mounts the Connect service and the plain-HTTP endpoints on mux.
func (a *AdminService) Register(mux *http.ServeMux) {
	path, h := marmotv1connect.NewAdminServiceHandler(a, connect.WithInterceptors(adminAuth{a}))
	mux.Handle(path, h)
	mux.Handle("/admin/cluster/", a.httpHandler())
}

// authorize checks the secret a caller sent. The messages name the cause:
// an operator with a 401/403 otherwise cannot tell a typo in the secret
// from a node that was started without one.
func (a *AdminService) authorize(got string) error {
	switch {
	case a.Secret == "":
		return connect.NewError(connect.CodePermissionDenied, errors.New("admin API: this node has no cluster_secret configured, so the admin API is disabled; set cluster_secret (or MARMOT_CLUSTER_SECRET) and restart it"))
	case got == "":
		return connect.NewError(connect.CodeUnauthenticated, errors.New("admin API: "+AdminSecretHeader+" header missing"))
	case subtle.ConstantTimeCompare([]byte(got), []byte(a.Secret)) != 1:
		return connect.NewError(connect.CodePermissionDenied, errors.New("admin API: "+AdminSecretHeader+" header holds the wrong secret"))
	}
	return nil
}

// adminAuth runs authorize before every Connect call.
type adminAuth struct{ a *AdminService }

func (i adminAuth) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if err := i.a.authorize(req.Header().Get(AdminSecretHeader)); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i adminAuth) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i adminAuth) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := i.a.authorize(conn.RequestHeader().Get(AdminSecretHeader)); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

func (a *AdminService) members() ([]*marmotv1.Member, uint32, error) {
	if a.Membership == nil {
		return nil, 0, connect.NewError(connect.CodeFailedPrecondition, errors.New("admin API: this node is not in a cluster"))
	}
	ms := a.Membership.Members()
	out := make([]*marmotv1.Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, &marmotv1.Member{Id: m.ID, Addr: m.Addr, State: m.State.String(), Self: m.Self})
	}
	return out, uint32(len(ms)/2 + 1), nil
}

// Members lists the members and the quorum size.
func (a *AdminService) Members(context.Context, *connect.Request[marmotv1.MembersRequest]) (*connect.Response[marmotv1.MembersResponse], error) {
	ms, quorum, err := a.members()
	if err != nil {
		return nil, err
	}
	return connect.NewResponse(&marmotv1.MembersResponse{Members: ms, Quorum: quorum}), nil
}

func (a *AdminService) change(id uint64, f func(MemberAdmin, uint64) error) error {
	if id == 0 {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("node id must be a positive integer"))
	}
	if a.Membership == nil {
		return connect.NewError(connect.CodeFailedPrecondition, errors.New("admin API: this node is not in a cluster"))
	}
	if err := f(a.Membership, id); err != nil {
		return connect.NewError(connect.CodeFailedPrecondition, err)
	}
	return nil
}

// Remove excludes a node from the quorum and blocks its rejoin.
func (a *AdminService) Remove(_ context.Context, req *connect.Request[marmotv1.RemoveRequest]) (*connect.Response[marmotv1.RemoveResponse], error) {
	if err := a.change(req.Msg.NodeId, MemberAdmin.Remove); err != nil {
		return nil, err
	}
	return connect.NewResponse(&marmotv1.RemoveResponse{}), nil
}

// Allow lets a removed node rejoin.
func (a *AdminService) Allow(_ context.Context, req *connect.Request[marmotv1.AllowRequest]) (*connect.Response[marmotv1.AllowResponse], error) {
	if err := a.change(req.Msg.NodeId, MemberAdmin.Allow); err != nil {
		return nil, err
	}
	return connect.NewResponse(&marmotv1.AllowResponse{}), nil
}

// Status gathers the node's state. Parts that fail (a database dropped
// meanwhile, an unreadable log directory) are left out rather than failing
// the call: an operator asks for status most when something is wrong.
func (a *AdminService) Status(context.Context, *connect.Request[marmotv1.StatusRequest]) (*connect.Response[marmotv1.StatusResponse], error) {
	now := time.Now()
	s := &marmotv1.StatusResponse{Version: a.Version, StartedUnixMs: a.Started.UnixMilli(), UptimeMs: now.Sub(a.Started).Milliseconds()}
	if a.Membership != nil {
		s.Members, s.Quorum, _ = a.members()
	}
	if a.Log != nil {
		s.NodeId = a.Log.Node()
		s.Durable = a.Log.Durable()
		s.IntentRows = uint64(a.Log.Intents())
		cursors, err := a.Log.Cursors()
		if err != nil {
			return nil, connect.NewError(connect.CodeInternal, err)
		}
		for _, name := range slices.Sorted(maps.Keys(cursors)) {
			s.Cursors = append(s.Cursors, &marmotv1.Cursor{Name: name, Watermark: cursors[name]})
		}
	}
	s.LogDiskBytes = a.Log.DiskSize()
	if a.Views != nil {
		for _, db := range a.Views.Databases() {
			applied, gen, err := a.Views.ViewState(db)
			if err != nil {
				continue
			}
			s.Databases = append(s.Databases, &marmotv1.DatabaseStatus{Name: db, Applied: applied, SchemaGen: gen})
		}
	}
	if a.Replication != nil {
		for _, p := range a.Replication.PeerLag() {
			pl := &marmotv1.PeerLag{PeerId: p.PeerID, Addr: p.Addr, LagTransactions: p.LagTransactions, LagMs: p.Lag.Milliseconds()}
			if !p.LastSync.IsZero() {
				pl.LastSyncUnixMs = p.LastSync.UnixMilli()
			}
			s.PeerLag = append(s.PeerLag, pl)
		}
		if st, ok := a.Replication.Snapshot(); ok {
			s.Snapshot = &marmotv1.SnapshotTransfer{Id: st.ID, Source: st.Source, BytesDone: st.Done, BytesTotal: st.Total}
		}
		if gc, ok := a.Replication.GCPosition(); ok {
			s.Gc = &marmotv1.GCPosition{Trimmed: gc.Trimmed, Floor: gc.Floor}
			if !gc.LastRun.IsZero() {
				s.Gc.LastRunUnixMs = gc.LastRun.UnixMilli()
			}
		}
	}
	return connect.NewResponse(s), nil
}

// Checksums streams one database's table checksums after a header with
// the watermark they reflect.
func (a *AdminService) Checksums(ctx context.Context, req *connect.Request[marmotv1.ChecksumsRequest], out *connect.ServerStream[marmotv1.ChecksumsResponse]) error {
	db := req.Msg.Database
	if db == "" {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("admin API: checksums needs a database"))
	}
	if a.Views == nil || !slices.Contains(a.Views.Databases(), db) {
		return connect.NewError(connect.CodeNotFound, fmt.Errorf("admin API: no database %q on this node", db))
	}
	err := a.Views.Checksums(ctx, db, func(applied txlog.Watermark, tables []string) error {
		return out.Send(&marmotv1.ChecksumsResponse{Item: &marmotv1.ChecksumsResponse_Header{Header: &marmotv1.ChecksumsHeader{
			Database: db, Applied: applied, Tables: uint32(len(tables))}}})
	}, func(name string, rows uint64, sum []byte) error {
		return out.Send(&marmotv1.ChecksumsResponse{Item: &marmotv1.ChecksumsResponse_Table{Table: &marmotv1.TableChecksum{
			Table: name, Rows: rows, Sha256: sum}}})
	})
	if err != nil && ctx.Err() == nil && connect.CodeOf(err) == connect.CodeUnknown {
		return connect.NewError(connect.CodeInternal, err)
	}
	return err
}
