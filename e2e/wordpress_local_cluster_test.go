package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runLocal runs examples/wordpress-cluster/run-local.sh with env.
func runLocal(t *testing.T, env []string, timeout time.Duration, arg string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../examples/wordpress-cluster/run-local.sh", arg)
	cmd.Env = env
	// The script leaves daemons running; they must not hold this pipe.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestWordPressCluster runs the description's WordPress cluster without
// Docker, as an operator would: examples/wordpress-cluster/run-local.sh
// starts three marmotd nodes at QUORUM and a WordPress (`php -S`) in front
// of each. WordPress is installed through node 1, a post is published
// through node 2 and read through node 3, no database error is seen
// anywhere, and `down` leaves nothing listening.
func TestWordPressCluster(t *testing.T) {
	if why := wordpressMissing(); why != "" {
		t.Skip(why)
	}
	needMysqli(t)
	marmotd, _ := binaries(t)
	plugins, err := filepath.Abs("testdata/wordpress/mu-plugins")
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	ports := map[string][]int{}
	for _, kind := range []string{"MYSQL_PORTS", "WP_PORTS", "CLUSTER_PORTS", "GOSSIP_PORTS"} {
		for range n {
			ports[kind] = append(ports[kind], freePort(t))
		}
	}
	state := t.TempDir()
	env := append(filteredEnv(), "STATE_DIR="+state, "MARMOTD="+marmotd, "WP_MU_PLUGINS="+plugins,
		"MARMOT_CLUSTER_SECRET=wp-local-cluster", "UP_TIMEOUT=60")
	for kind, ps := range ports {
		env = append(env, fmt.Sprintf("%s=%s", kind, strings.Trim(fmt.Sprint(ps), "[]")))
	}

	// Registered before `up` so a half-started cluster is stopped too.
	t.Cleanup(func() {
		if out, err := runLocal(t, env, 90*time.Second, "down"); err != nil {
			t.Errorf("run-local.sh down: %v\n%s", err, out)
		}
		for i, p := range ports["MYSQL_PORTS"] {
			if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
				c.Close()
				t.Errorf("after down, node %d's MySQL port %d still answers", i+1, p)
			}
		}
	})
	start := time.Now()
	if out, err := runLocal(t, env, 3*time.Minute, "up"); err != nil {
		// The nodes' logs live in the temp dir, gone after the test: a
		// node that exited at start-up is only explained here.
		for i := range n {
			if b, rerr := os.ReadFile(filepath.Join(state, fmt.Sprintf("node%d", i+1), "marmotd.log")); rerr == nil {
				lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
				t.Logf("node %d marmotd.log (last 30 lines):\n%s", i+1, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
		t.Fatalf("run-local.sh up: %v\n%s", err, out)
	}
	t.Logf("run-local.sh up: %v", time.Since(start))

	nodes := make([]*Node, n)
	wps := make([]*wordpress, n)
	for i := range n {
		dir := filepath.Join(state, fmt.Sprintf("node%d", i+1))
		file := func(name string) func() string {
			return func() string { b, _ := os.ReadFile(filepath.Join(dir, name)); return string(b) }
		}
		nodes[i] = &Node{t: t, MySQLPort: ports["MYSQL_PORTS"][i]}
		jar, _ := cookiejar.New(nil)
		wps[i] = &wordpress{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", ports["WP_PORTS"][i]),
			debugLog: filepath.Join(dir, "debug.log"), queryLog: filepath.Join(dir, "queries.jsonl"),
			phpOutput: file("php.log"), marmotLogs: file("marmotd.log"),
			client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	}
	t.Cleanup(func() {
		if t.Failed() {
			for i, w := range wps {
				t.Logf("===== node %d", i+1)
				w.dump()
			}
		}
	})

	status, err := runLocal(t, env, time.Minute, "status")
	if err != nil {
		t.Fatalf("run-local.sh status: %v\n%s", err, status)
	}
	if got := strings.Count(status, `"state":"alive"`); got != n*n {
		t.Fatalf("run-local.sh status: %d alive members in all nodes' views, want %d\n%s", got, n*n, status)
	}

	wps[0].install()
	// Every node has the installed site before the others are used: a
	// QUORUM acknowledgement means durable on two nodes, applied on the
	// third shortly after.
	dbs := make([]*sql.DB, n)
	for i, nd := range nodes {
		dbs[i] = nd.DB(t, "wordpress")
	}
	eventually(t, 30*time.Second, func() error {
		for i, db := range dbs {
			var v string
			if err := db.QueryRow("SELECT option_value FROM wp_options WHERE option_name = 'blogname'").Scan(&v); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
		}
		return nil
	})

	nonce := wps[1].login()
	const title = "Published on node 2, read on node 3"
	var post struct {
		ID int64 `json:"id"`
	}
	wps[1].rest("publish post", "POST", "/wp/v2/posts", nonce, map[string]any{
		"title": title, "content": "<p>Three burrows, one blog.</p>", "status": "publish",
	}, http.StatusCreated, &post)
	if post.ID == 0 {
		t.Fatal("post has no id")
	}

	eventually(t, 30*time.Second, func() error {
		resp, err := wps[2].client.Get(fmt.Sprintf("%s/?p=%d", wps[2].url, post.ID))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), title) {
			return fmt.Errorf("node 3 serves HTTP %d without the post", resp.StatusCode)
		}
		return nil
	})
	wps[2].get("home page on node 3", "/", http.StatusOK, title)
	wps[2].login()
	wps[2].get("posts list on node 3", "/wp-admin/edit.php", http.StatusOK, title)
	for i, w := range wps {
		w.check(fmt.Sprintf("WordPress %d", i+1))
	}
	t.Logf("installed, published and read across three nodes in %v", time.Since(start))
}
