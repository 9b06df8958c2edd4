package peer

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"
)

// AdminSecretHeader carries the cluster secret on admin calls (the
// product's documented curl interface; operators call it over a trusted
// network, unlike peer calls, which never send the secret).
const AdminSecretHeader = "X-Marmot-Secret"

// AdminHandler serves the cluster membership admin API:
//
//	GET  /admin/cluster/members      members, their states and the quorum size
//	POST /admin/cluster/remove/{id}  exclude a node from quorum, block its rejoin
//	POST /admin/cluster/allow/{id}   let a removed node rejoin
func AdminHandler(secret string, m *Membership) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/cluster/members", func(w http.ResponseWriter, r *http.Request) {
		members := m.Members()
		type member struct {
			ID    uint64 `json:"id"`
			Addr  string `json:"addr"`
			State string `json:"state"`
			Self  bool   `json:"self,omitempty"`
		}
		out := struct {
			Members []member `json:"members"`
			Quorum  int      `json:"quorum"`
		}{Quorum: len(members)/2 + 1}
		for _, mb := range members {
			out.Members = append(out.Members, member{ID: mb.ID, Addr: mb.Addr, State: mb.State.String(), Self: mb.Self})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	change := func(f func(uint64) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
			if err != nil || id == 0 {
				http.Error(w, "node id must be a positive integer", http.StatusBadRequest)
				return
			}
			if err := f(id); err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "node_id": id})
		}
	}
	mux.HandleFunc("POST /admin/cluster/remove/{id}", change(m.Remove))
	mux.HandleFunc("POST /admin/cluster/allow/{id}", change(m.Allow))
	want := []byte(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := []byte(r.Header.Get(AdminSecretHeader))
		if len(want) == 0 || subtle.ConstantTimeCompare(got, want) != 1 {
			http.Error(w, "admin API: missing or wrong "+AdminSecretHeader+" header", http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
