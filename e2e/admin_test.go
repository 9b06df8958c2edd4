package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// TestAdminCluster: the admin API refuses calls without the right secret
// and says why, answers Connect clients, and `marmotctl cluster
// members|remove|allow` list the members, take a node out of the quorum and
// let it back.
func TestAdminCluster(t *testing.T) {
	nodes := startClusterAt(t, 3, "admin-secret", "QUORUM")
	_, ctlBin := binaries(t)
	addr := fmt.Sprintf("127.0.0.1:%d", nodes[0].HTTPPort)

	for _, tc := range []struct {
		secret string
		status int
		body   string
	}{
		{"", http.StatusUnauthorized, "admin API: X-Marmot-Secret header missing"},
		{"wrong", http.StatusForbidden, "wrong secret"},
	} {
		status, body := adminGet(t, addr, tc.secret)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Fatalf("admin call with secret %q: HTTP %d %q, want %d containing %q", tc.secret, status, body, tc.status, tc.body)
		}
	}

	// The same service over Connect, as marmotctl calls it.
	client := marmotv1connect.NewAdminServiceClient(http.DefaultClient, "http://"+addr)
	req := connect.NewRequest(&marmotv1.StatusRequest{})
	req.Header().Set("X-Marmot-Secret", "admin-secret")
	st, err := client.Status(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.Msg; s.NodeId != 1 || len(s.Members) != 3 || s.Quorum != 2 || s.LogDiskBytes == 0 || len(s.Databases) == 0 || s.Version == "" {
		t.Fatalf("Status: %v", s)
	}
	req = connect.NewRequest(&marmotv1.StatusRequest{})
	req.Header().Set("X-Marmot-Secret", "wrong")
	if _, err := client.Status(context.Background(), req); connect.CodeOf(err) != connect.CodePermissionDenied || !strings.Contains(err.Error(), "wrong secret") {
		t.Fatalf("Status with a wrong secret: %v", err)
	}
	if out, code := ctl(t, "admin-secret", "status", "--addr", addr); code != 0 || !strings.Contains(out, "node 1,") || !strings.Contains(out, "quorum 2") {
		t.Fatalf("marmotctl status: exit %d\n%s", code, out)
	}
	var js struct {
		NodeID  string `json:"node_id"`
		PeerLag []any  `json:"peer_lag"`
	}
	if out, code := ctl(t, "admin-secret", "status", "--addr", addr, "--json"); code != 0 || json.Unmarshal([]byte(out), &js) != nil || js.NodeID != "1" || js.PeerLag == nil {
		t.Fatalf("marmotctl status --json: exit %d\n%s", code, out)
	}

	ctlRun := func(args ...string) (string, error) {
		cmd := exec.Command(ctlBin, args...)
		cmd.Env = append(filteredEnv(), "MARMOT_CLUSTER_SECRET=admin-secret")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	members := func() (alive, quorum, total int) {
		t.Helper()
		out, err := ctlRun("cluster", "members", "--addr", addr, "--json")
		if err != nil {
			t.Fatalf("cluster members: %v\n%s", err, out)
		}
		var a struct {
			Members []struct{ State string }
			Quorum  int
		}
		if err := json.Unmarshal([]byte(out), &a); err != nil {
			t.Fatalf("cluster members --json: %v\n%s", err, out)
		}
		for _, m := range a.Members {
			if m.State == "alive" {
				alive++
			}
		}
		return alive, a.Quorum, len(a.Members)
	}
	if alive, quorum, total := members(); alive != 3 || quorum != 2 || total != 3 {
		t.Fatalf("members: %d alive of %d, quorum %d; want 3 of 3, quorum 2", alive, total, quorum)
	}
	if out, err := ctlRun("cluster", "members", "--addr", addr); err != nil || !strings.Contains(out, "quorum 2") {
		t.Fatalf("cluster members (text): %v\n%s", err, out)
	}

	// Node 3 is removed: it no longer counts, so the two remaining nodes
	// are the whole cluster (quorum 2 of 2), and it leaves the gossip.
	if out, err := ctlRun("cluster", "remove", "--addr", addr, "--id", "3"); err != nil {
		t.Fatalf("cluster remove: %v\n%s", err, out)
	}
	eventually(t, 10*time.Second, func() error {
		if _, quorum, total := members(); total != 2 || quorum != 2 {
			return fmt.Errorf("after remove: %d members, quorum %d", total, quorum)
		}
		return nil
	})
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE after_remove")
	// Allowed back, node 3 rejoins when it restarts (same data dir and
	// ports), is alive again in node 1's view and catches up.
	nodes[2].Stop()
	if out, err := ctlRun("cluster", "allow", "--addr", addr, "--id", "3"); err != nil {
		t.Fatalf("cluster allow: %v\n%s", err, out)
	}
	nodes[2].Start()
	eventually(t, 30*time.Second, func() error {
		if alive, _, total := members(); alive != 3 || total != 3 {
			out, _ := ctlRun("cluster", "members", "--addr", addr)
			return fmt.Errorf("after allow and restart: %d alive of %d\n%s", alive, total, out)
		}
		_, err := nodes[2].DB(t, "after_remove").Exec("SELECT 1")
		return err
	})

	if out, code := ctl(t, "admin-secret", "cluster", "members", "--addr", addr, "--secret", "wrong"); code != 2 || !strings.Contains(out, "wrong secret") {
		t.Fatalf("cluster members with a wrong secret: exit %d, want 2 and the reason\n%s", code, out)
	}
}

// adminGet calls GET /admin/cluster/members, sending secret unless empty.
func adminGet(t *testing.T, addr, secret string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/admin/cluster/members", nil)
	if secret != "" {
		req.Header.Set("X-Marmot-Secret", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestAdminWithoutSecret: a node started without cluster_secret has no way
// to authenticate admin calls, so it refuses them all and says so.
func TestAdminWithoutSecret(t *testing.T) {
	n := StartNode(t)
	addr := fmt.Sprintf("127.0.0.1:%d", n.HTTPPort)
	for _, secret := range []string{"", "anything"} {
		status, body := adminGet(t, addr, secret)
		if status != http.StatusForbidden || !strings.Contains(body, "no cluster_secret configured") {
			t.Fatalf("secret %q: HTTP %d %q, want 403 saying the node has no cluster_secret", secret, status, body)
		}
	}
	if out, code := ctl(t, "anything", "status", "--addr", addr); code != 2 || !strings.Contains(out, "no cluster_secret configured") {
		t.Fatalf("marmotctl status: exit %d, want 2 and the reason\n%s", code, out)
	}
}
