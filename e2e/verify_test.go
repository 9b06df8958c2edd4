package e2e

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

// ctl runs marmotctl with the cluster secret in the environment and
// returns its output (stdout, then stderr after a blank line when there
// is any) and exit code. With --json, stdout alone is the JSON.
func ctl(t *testing.T, secret string, args ...string) (string, int) {
	t.Helper()
	_, bin := binaries(t)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(filteredEnv(), "MARMOT_CLUSTER_SECRET="+secret)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("marmotctl %v: %v", args, err)
	}
	if slices.Contains(args, "--json") {
		if stderr.Len() > 0 {
			t.Logf("marmotctl %v stderr: %s", args, stderr.String())
		}
		return string(out), code
	}
	return string(out) + "\n" + stderr.String(), code
}

// TestVerify: marmotctl verify finds three nodes identical after writes on
// each, and names the table and node after one row is changed behind
// marmot's back in one node's SQLite file.
func TestVerify(t *testing.T) {
	const secret = "verify-secret"
	nodes := startClusterAt(t, 3, secret, "QUORUM")
	addr := fmt.Sprintf("127.0.0.1:%d", nodes[0].HTTPPort)

	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE shop")
	for i, n := range nodes {
		eventually(t, 10*time.Second, func() error { _, err := n.DB(t, "shop").Exec("SELECT 1"); return err })
		db := n.DB(t, "shop")
		if i == 0 {
			mustExec(t, db, "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40), price DECIMAL(10,2), added DATETIME)")
			mustExec(t, db, "CREATE TABLE tags (item INT, tag VARCHAR(20), PRIMARY KEY (item, tag))")
		}
		for j := range 20 {
			id := i*100 + j
			mustExec(t, db, "INSERT INTO items VALUES (?, ?, ?, NOW())", id, fmt.Sprintf("item %d", id), float64(id)/4)
			mustExec(t, db, "INSERT INTO tags VALUES (?, 'x'), (?, 'y')", id, id)
		}
	}
	mustExec(t, nodes[2].DB(t, "shop"), "UPDATE items SET price = price + 1 WHERE id < 10")

	out, code := ctl(t, secret, "verify", "--addr", addr)
	if code != 0 || !strings.Contains(out, "identical") {
		t.Fatalf("verify of a healthy cluster: exit %d\n%s", code, out)
	}
	out, code = ctl(t, secret, "verify", "--addr", addr, "--json")
	var rep struct {
		OK        bool     `json:"ok"`
		Checked   []uint64 `json:"checked_nodes"`
		Databases []struct {
			Name    string `json:"name"`
			Settled bool   `json:"settled"`
			Tables  []struct {
				Table     string   `json:"table"`
				Same      bool     `json:"same"`
				DiffersOn []uint64 `json:"differs_on"`
			} `json:"tables"`
		} `json:"databases"`
		Differences []string `json:"differences"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.OK || len(rep.Checked) != 3 {
		t.Fatalf("verify --json: exit %d, %v\n%s", code, err, out)
	}

	// One value changed in node 2's view only: the log and the other
	// nodes do not know.
	view, err := sql.Open("sqlite3", "file:"+filepath.Join(nodes[1].Dir, "db", "shop.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	defer view.Close()
	if res, err := view.Exec("UPDATE items SET name = 'tampered' WHERE id = 105"); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("tampering changed %d rows", n)
	}

	out, code = ctl(t, secret, "verify", "--addr", addr)
	if code != 1 || !strings.Contains(out, "table shop.items differs on node 2") || strings.Contains(out, "shop.tags") {
		t.Fatalf("verify after tampering: exit %d, want 1 naming shop.items on node 2 only\n%s", code, out)
	}
	out, code = ctl(t, secret, "verify", "--addr", addr, "--json")
	rep.Databases, rep.Differences = nil, nil
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 || rep.OK {
		t.Fatalf("verify --json after tampering: exit %d, %v\n%s", code, err, out)
	}
	found := false
	for _, d := range rep.Databases {
		for _, tb := range d.Tables {
			if d.Name == "shop" && tb.Table == "items" {
				found = !tb.Same && d.Settled && fmt.Sprint(tb.DiffersOn) == "[2]"
			} else if !tb.Same {
				t.Errorf("%s.%s reported as different", d.Name, tb.Table)
			}
		}
	}
	if !found || len(rep.Differences) != 1 {
		t.Fatalf("verify --json does not name shop.items on node 2 alone:\n%s", out)
	}

	// A node that does not answer is a connection error, not a finding.
	if out, code := ctl(t, secret, "verify", "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t))); code != 2 {
		t.Fatalf("verify of a closed port: exit %d, want 2\n%s", code, out)
	}
}
