package peer

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

type adminFakeMembers struct{ removed []uint64 }

func (f *adminFakeMembers) Members() []Member {
	return []Member{{ID: 1, Addr: "127.0.0.1:1", State: MemberAlive, Self: true}, {ID: 2, Addr: "127.0.0.1:2", State: MemberDead}}
}

func (f *adminFakeMembers) Remove(id uint64) error {
	if id == 1 {
		return errors.New("membership: node 1 cannot remove itself")
	}
	f.removed = append(f.removed, id)
	return nil
}

func (f *adminFakeMembers) Allow(uint64) error { return nil }

type adminFakeLog struct{}

func (adminFakeLog) Node() uint64             { return 1 }
func (adminFakeLog) Durable() txlog.Watermark { return txlog.Watermark{1: 7, 2: 3} }
func (adminFakeLog) Intents() int             { return 4 }
func (adminFakeLog) DiskSize() uint64         { return 4096 }
func (adminFakeLog) Cursors() (map[string]txlog.Watermark, error) {
	return map[string]txlog.Watermark{"outbox/b": {1: 5}, "outbox/a": {1: 6}}, nil
}

type adminFakeViews struct{}

func (adminFakeViews) Databases() []string { return []string{"app"} }
func (adminFakeViews) ViewState(string) (txlog.Watermark, uint64, error) {
	return txlog.Watermark{1: 7}, 3, nil
}

func (adminFakeViews) Checksums(_ context.Context, _ string, begin func(txlog.Watermark, []string) error, table func(string, uint64, []byte) error) error {
	if err := begin(txlog.Watermark{1: 7}, []string{"a", "b"}); err != nil {
		return err
	}
	if err := table("a", 2, []byte{1}); err != nil {
		return err
	}
	return table("b", 0, []byte{2})
}

func startAdmin(t *testing.T, secret string) (string, *adminFakeMembers) {
	t.Helper()
	fm := &adminFakeMembers{}
	a := &AdminService{Secret: secret, Log: adminFakeLog{}, Membership: fm, Views: adminFakeViews{}, Version: "test",
		Started: time.Now().Add(-time.Minute)}
	mux := http.NewServeMux()
	a.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL, fm
}

// TestAdminAuth: every refusal says why, on the curl interface and to
// Connect clients alike.
func TestAdminAuth(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured string // the node's cluster_secret
		sent       string // X-Marmot-Secret; "-" sends no header
		status     int
		code       connect.Code
		body       string
	}{
		{"no secret configured", "", "s3cret", http.StatusForbidden, connect.CodePermissionDenied, "no cluster_secret configured, so the admin API is disabled"},
		{"no secret configured, no header", "", "-", http.StatusForbidden, connect.CodePermissionDenied, "no cluster_secret configured"},
		{"missing header", "s3cret", "-", http.StatusUnauthorized, connect.CodeUnauthenticated, "admin API: X-Marmot-Secret header missing"},
		{"empty header", "s3cret", "", http.StatusUnauthorized, connect.CodeUnauthenticated, "X-Marmot-Secret header missing"},
		{"wrong secret", "s3cret", "s3cre", http.StatusForbidden, connect.CodePermissionDenied, "wrong secret"},
		{"right secret", "s3cret", "s3cret", http.StatusOK, 0, `"quorum":2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, _ := startAdmin(t, tc.configured)
			req, _ := http.NewRequest("GET", url+"/admin/cluster/members", nil)
			if tc.sent != "-" {
				req.Header.Set(AdminSecretHeader, tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
				t.Errorf("plain HTTP: %d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.body)
			}

			c := marmotv1connect.NewAdminServiceClient(http.DefaultClient, url)
			creq := connect.NewRequest(&marmotv1.MembersRequest{})
			if tc.sent != "-" {
				creq.Header().Set(AdminSecretHeader, tc.sent)
			}
			_, err = c.Members(context.Background(), creq)
			if tc.code == 0 {
				if err != nil {
					t.Errorf("Connect: %v", err)
				}
				return
			}
			if connect.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.body) {
				t.Errorf("Connect: %v, want %v containing %q", err, tc.code, tc.body)
			}
			// Streams are refused the same way.
			sreq := connect.NewRequest(&marmotv1.ChecksumsRequest{Database: "app"})
			if tc.sent != "-" {
				sreq.Header().Set(AdminSecretHeader, tc.sent)
			}
			st, err := c.Checksums(context.Background(), sreq)
			if err == nil {
				for st.Receive() {
					t.Error("Checksums sent a message to an unauthorized caller")
				}
				err = st.Err()
			}
			if connect.CodeOf(err) != tc.code {
				t.Errorf("Checksums: %v, want %v", err, tc.code)
			}
		})
	}
}

func TestAdminHTTPChanges(t *testing.T) {
	url, fm := startAdmin(t, "s")
	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		{"/admin/cluster/remove/2", http.StatusOK, `"node_id":2`},
		{"/admin/cluster/remove/1", http.StatusConflict, "cannot remove itself"},
		{"/admin/cluster/remove/0", http.StatusBadRequest, "positive integer"},
		{"/admin/cluster/remove/x", http.StatusBadRequest, "positive integer"},
		{"/admin/cluster/allow/2", http.StatusOK, `"ok":true`},
	} {
		req, _ := http.NewRequest("POST", url+tc.path, nil)
		req.Header.Set(AdminSecretHeader, "s")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("POST %s: %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
	}
	if len(fm.removed) != 1 || fm.removed[0] != 2 {
		t.Errorf("removed %v, want [2]", fm.removed)
	}
}

func TestAdminStatusAndChecksums(t *testing.T) {
	url, _ := startAdmin(t, "s")
	c := marmotv1connect.NewAdminServiceClient(http.DefaultClient, url)
	req := connect.NewRequest(&marmotv1.StatusRequest{})
	req.Header().Set(AdminSecretHeader, "s")
	resp, err := c.Status(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	s := resp.Msg
	if s.NodeId != 1 || s.Version != "test" || s.UptimeMs < 60_000 || s.Quorum != 2 || len(s.Members) != 2 ||
		s.Durable[2] != 3 || s.IntentRows != 4 || len(s.Databases) != 1 || s.Databases[0].SchemaGen != 3 ||
		len(s.Cursors) != 2 || s.Cursors[0].Name != "outbox/a" || len(s.PeerLag) != 0 || s.Gc != nil {
		t.Errorf("status: %v", s)
	}

	for _, tc := range []struct {
		db     string
		code   connect.Code
		tables []string
	}{
		{"app", 0, []string{"a", "b"}},
		{"nope", connect.CodeNotFound, nil},
		{"", connect.CodeInvalidArgument, nil},
	} {
		req := connect.NewRequest(&marmotv1.ChecksumsRequest{Database: tc.db})
		req.Header().Set(AdminSecretHeader, "s")
		st, err := c.Checksums(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		var header *marmotv1.ChecksumsHeader
		var tables []string
		for st.Receive() {
			if h := st.Msg().GetHeader(); h != nil {
				header = h
			} else {
				tables = append(tables, st.Msg().GetTable().Table)
			}
		}
		if connect.CodeOf(st.Err()) != tc.code && !(tc.code == 0 && st.Err() == nil) {
			t.Errorf("checksums %q: %v, want %v", tc.db, st.Err(), tc.code)
		}
		if tc.code == 0 && (header == nil || header.Tables != 2 || header.Applied[1] != 7 || strings.Join(tables, ",") != "a,b") {
			t.Errorf("checksums %q: header %v, tables %v", tc.db, header, tables)
		}
	}
}
