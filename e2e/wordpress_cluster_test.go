package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestWordPressCluster runs the description's WordPress cluster without
// Docker: three marmotd nodes at QUORUM, one WordPress (`php -S`) in front
// of each. WordPress is installed through node 1, a post is published
// through node 2 and read through node 3, and no database error is seen
// anywhere.
func TestWordPressCluster(t *testing.T) {
	nodes := startClusterAt(t, 3, "wp-cluster", "QUORUM")
	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE wordpress")
	eventually(t, 30*time.Second, func() error {
		for i, n := range nodes {
			if _, err := n.DB(t, "wordpress").Exec("SELECT 1"); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
		}
		return nil
	})
	wps := make([]*wordpress, len(nodes))
	for i, n := range nodes {
		wps[i] = startWordPress(t, n)
	}

	wps[0].install()
	// Every node has the installed site before the others are used: a
	// QUORUM acknowledgement means durable on two nodes, applied on the
	// third shortly after.
	eventually(t, 30*time.Second, func() error {
		for i, n := range nodes {
			var v string
			if err := n.DB(t, "wordpress").QueryRow("SELECT option_value FROM wp_options WHERE option_name = 'blogname'").Scan(&v); err != nil {
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
}
