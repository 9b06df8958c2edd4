package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestClusterAdmin: the admin API refuses calls without the right secret,
// and `marmotctl cluster members|remove|allow` list the members, take a
// node out of the quorum and let it back.
func TestClusterAdmin(t *testing.T) {
	nodes := startClusterAt(t, 3, "admin-secret", "QUORUM")
	_, ctl := binaries(t)
	addr := fmt.Sprintf("127.0.0.1:%d", nodes[0].HTTPPort)

	for _, secret := range []string{"", "wrong"} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/admin/cluster/members", nil)
		if secret != "" {
			req.Header.Set("X-Marmot-Secret", secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("admin call with secret %q: HTTP %d, want 401", secret, resp.StatusCode)
		}
	}

	ctlRun := func(args ...string) (string, error) {
		cmd := exec.Command(ctl, args...)
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

	if out, err := ctlRun("cluster", "members", "--addr", addr, "--secret", "wrong"); err == nil || !strings.Contains(out, "401") {
		t.Fatalf("cluster members with a wrong secret: want a 401 failure, got %v\n%s", err, out)
	}
}
