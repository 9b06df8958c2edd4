package peer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"connectrpc.com/connect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// AdminSecretHeader carries the cluster secret on admin calls (the
// product's documented curl interface; operators call it over a trusted
// network, unlike peer calls, which never send the secret).
const AdminSecretHeader = "X-Marmot-Secret"

// httpHandler serves the plain-HTTP admin endpoints, the product's
// documented curl interface:
//
//	GET  /admin/cluster/members      members, their states and the quorum size
//	POST /admin/cluster/remove/{id}  exclude a node from quorum, block its rejoin
//	POST /admin/cluster/allow/{id}   let a removed node rejoin
//
// Each calls the AdminService method the Connect clients use, so the two
// interfaces cannot drift apart; only the JSON shape is this file's.
func (a *AdminService) httpHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/cluster/members", func(w http.ResponseWriter, r *http.Request) {
		resp, err := a.Members(r.Context(), connect.NewRequest(&marmotv1.MembersRequest{}))
		if err != nil {
			writeAdminError(w, err)
			return
		}
		type member struct {
			ID    uint64 `json:"id"`
			Addr  string `json:"addr"`
			State string `json:"state"`
			Self  bool   `json:"self,omitempty"`
		}
		out := struct {
			Members []member `json:"members"`
			Quorum  int      `json:"quorum"`
		}{Members: []member{}, Quorum: int(resp.Msg.Quorum)}
		for _, m := range resp.Msg.Members {
			out.Members = append(out.Members, member{ID: m.Id, Addr: m.Addr, State: m.State, Self: m.Self})
		}
		writeJSON(w, out)
	})
	change := func(call func(ctx context.Context, id uint64) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
			if err != nil {
				id = 0 // refused by the call with the same message as a 0
			}
			if err := call(r.Context(), id); err != nil {
				writeAdminError(w, err)
				return
			}
			writeJSON(w, map[string]any{"ok": true, "node_id": id})
		}
	}
	mux.HandleFunc("POST /admin/cluster/remove/{id}", change(func(ctx context.Context, id uint64) error {
		_, err := a.Remove(ctx, connect.NewRequest(&marmotv1.RemoveRequest{NodeId: id}))
		return err
	}))
	mux.HandleFunc("POST /admin/cluster/allow/{id}", change(func(ctx context.Context, id uint64) error {
		_, err := a.Allow(ctx, connect.NewRequest(&marmotv1.AllowRequest{NodeId: id}))
		return err
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.authorize(r.Header.Get(AdminSecretHeader)); err != nil {
			writeAdminError(w, err)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Protect puts another package's plain-HTTP admin endpoint (the outbox's
// POST /admin/outbox/resnapshot/{sink}) behind the same X-Marmot-Secret
// check and error answers as /admin/cluster/*, so there is one admin
// authentication.
func (a *AdminService) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.authorize(r.Header.Get(AdminSecretHeader)); err != nil {
			writeAdminError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeAdminError answers a plain-HTTP call with the status a Connect
// client would see for the same error, and its message as the body.
func writeAdminError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var ce *connect.Error
	if errors.As(err, &ce) {
		switch ce.Code() {
		case connect.CodeInvalidArgument:
			status = http.StatusBadRequest
		case connect.CodeUnauthenticated:
			status = http.StatusUnauthorized
		case connect.CodePermissionDenied:
			status = http.StatusForbidden
		case connect.CodeNotFound:
			status = http.StatusNotFound
		case connect.CodeFailedPrecondition:
			// The curl interface has always answered refused changes so.
			status = http.StatusConflict
		case connect.CodeUnavailable:
			status = http.StatusServiceUnavailable
		}
		http.Error(w, ce.Message(), status)
		return
	}
	http.Error(w, err.Error(), status)
}
