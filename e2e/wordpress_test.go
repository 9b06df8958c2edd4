package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const wpDist = "/usr/share/wordpress" // Debian's wordpress package

// wordpress is WordPress served by `php -S` against one marmotd, started
// by startWordPress or by examples/wordpress-cluster/run-local.sh.
type wordpress struct {
	t          *testing.T
	url        string
	debugLog   string
	queryLog   string // what testdata/wordpress/mu-plugins records
	phpOutput  func() string
	marmotLogs func() string
	client     *http.Client
}

// wordpressMissing says why WordPress cannot be served here, "" if it can.
func wordpressMissing() string {
	if _, err := exec.LookPath("php"); err != nil {
		return "php not installed (apt-get install php-cli php-mysql)"
	}
	if _, err := os.Stat(filepath.Join(wpDist, "wp-settings.php")); err != nil {
		return "WordPress not installed (apt-get install wordpress): " + err.Error()
	}
	return ""
}

// needMysqli fails the test if php cannot talk to MySQL at all.
func needMysqli(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("php", "-r", "exit(function_exists('mysqli_connect') ? 0 : 1);").CombinedOutput(); err != nil {
		t.Fatalf("php lacks mysqli (apt-get install php-mysql): %v %s", err, out)
	}
}

// startWordPress builds a docroot of symlinks to wpDist (so nothing under
// /etc/wordpress is read), with the test's wp-config.php, a writable
// wp-content and a query-capturing mu-plugin, and serves it with `php -S`.
func startWordPress(t *testing.T, n *Node) *wordpress {
	if why := wordpressMissing(); why != "" {
		t.Fatal(why)
	}
	needMysqli(t)
	testdata, err := filepath.Abs("testdata/wordpress")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	docroot := filepath.Join(tmp, "wp") // a symlink farm over wpDist
	phpOut := &lockedBuffer{}
	w := &wordpress{t: t, debugLog: filepath.Join(tmp, "debug.log"), queryLog: filepath.Join(tmp, "queries.jsonl"),
		phpOutput: phpOut.String, marmotLogs: n.Logs}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(docroot, 0o755))
	entries, err := os.ReadDir(wpDist)
	must(err)
	for _, e := range entries {
		switch e.Name() {
		case "wp-config.php", "wp-content", ".htaccess":
			continue
		}
		must(os.Symlink(filepath.Join(wpDist, e.Name()), filepath.Join(docroot, e.Name())))
	}
	must(os.Symlink(filepath.Join(testdata, "wp-config.php"), filepath.Join(docroot, "wp-config.php")))
	content := filepath.Join(docroot, "wp-content")
	must(os.MkdirAll(filepath.Join(content, "uploads"), 0o755))
	for _, d := range []string{"themes", "plugins", "languages"} {
		must(os.Symlink(filepath.Join(wpDist, "wp-content", d), filepath.Join(content, d)))
	}
	must(os.Symlink(filepath.Join(testdata, "mu-plugins"), filepath.Join(content, "mu-plugins")))

	port := freePort(t)
	w.url = fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command("php", "-d", "auto_prepend_file="+filepath.Join(testdata, "prepend.php"),
		"-d", "display_errors=stderr", "-d", "memory_limit=512M", "-d", "sendmail_path=/bin/true",
		"-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", docroot)
	cmd.Dir = docroot
	cmd.Env = append(os.Environ(),
		// WordPress requests its own URLs (the install probes pretty
		// permalinks): a single-worker server would wait on itself.
		"PHP_CLI_SERVER_WORKERS=4",
		"WP_ABSPATH="+docroot+"/",
		"WP_DB_NAME=wordpress",
		fmt.Sprintf("WP_DB_HOST=127.0.0.1:%d", n.MySQLPort),
		"WP_URL="+w.url,
		"WP_DEBUG_LOG="+w.debugLog,
		"WP_QUERY_LOG="+w.queryLog,
	)
	cmd.Stdout, cmd.Stderr = phpOut, phpOut
	// PHP_CLI_SERVER_WORKERS forks workers: run them in their own process
	// group and kill the group, or they outlive the test holding its pipes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	must(cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			w.dump()
		}
	})
	jar, _ := cookiejar.New(nil)
	w.client = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	eventually(t, 20*time.Second, func() error {
		select {
		case <-exited:
			t.Fatalf("php -S exited: %s", phpOut.String())
		default:
		}
		resp, err := http.Get(w.url + "/readme.html")
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return w
}

// dump logs everything useful for diagnosing a failure.
func (w *wordpress) dump() {
	read := func(p string) string { b, _ := os.ReadFile(p); return string(b) }
	w.t.Logf("WordPress debug.log:\n%s", read(w.debugLog))
	w.t.Logf("php -S output:\n%s", tail(w.phpOutput(), 20000))
	w.t.Logf("WordPress database errors:\n%s", strings.Join(w.dbErrors(false), "\n"))
	qs := w.queries()
	if len(qs) > 60 {
		qs = qs[len(qs)-60:]
	}
	var last []string
	for _, q := range qs {
		last = append(last, q.URI+": "+q.Query)
	}
	w.t.Logf("last queries:\n%s", strings.Join(last, "\n"))
	w.t.Logf("marmotd logs:\n%s", tail(w.marmotLogs(), 20000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "...\n" + s[len(s)-n:]
	}
	return s
}

type wpQuery struct {
	URI   string `json:"uri"`
	Query string `json:"query"`
	Error string `json:"error"`
}

// queries reads what the mu-plugin captured.
func (w *wordpress) queries() []wpQuery {
	f, err := os.Open(w.queryLog)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []wpQuery
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var q wpQuery
		if json.Unmarshal(sc.Bytes(), &q) == nil {
			out = append(out, q)
		}
	}
	return out
}

// dbErrors lists the database errors WordPress saw. Unless all is set,
// errors an install legitimately provokes (probing for tables that do not
// exist yet) are left out.
func (w *wordpress) dbErrors(all bool) []string {
	var errs []string
	for _, q := range w.queries() {
		if q.Error == "" {
			continue
		}
		if !all && strings.Contains(q.Error, "doesn't exist") && strings.Contains(q.URI, "install.php") {
			continue
		}
		errs = append(errs, fmt.Sprintf("%s: %s\n    %s", q.URI, q.Error, q.Query))
	}
	return errs
}

// check fails on any "WordPress database error" or connection failure.
func (w *wordpress) check(step string) {
	w.t.Helper()
	log, _ := os.ReadFile(w.debugLog)
	var bad []string
	for _, l := range strings.Split(string(log), "\n") {
		if strings.Contains(l, "WordPress database error") || strings.Contains(l, "Error establishing a database connection") ||
			strings.Contains(l, "PHP Fatal error") {
			bad = append(bad, l)
		}
	}
	bad = append(bad, w.dbErrors(false)...)
	if len(bad) > 0 {
		w.t.Fatalf("%s: WordPress reported errors:\n%s", step, strings.Join(bad, "\n"))
	}
}

func (w *wordpress) do(step string, req *http.Request, wantStatus int, wantBody ...string) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.client.Do(req)
	if err != nil {
		w.t.Fatalf("%s: %v", step, err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	body := string(b)
	if resp.StatusCode != wantStatus {
		w.t.Fatalf("%s: %s %s: HTTP %d, want %d\n%s", step, req.Method, req.URL, resp.StatusCode, wantStatus, tail(body, 5000))
	}
	for _, want := range wantBody {
		if !strings.Contains(body, want) {
			w.t.Fatalf("%s: %s %s: response lacks %q\n%s", step, req.Method, req.URL, want, tail(body, 5000))
		}
	}
	if strings.Contains(body, "Error establishing a database connection") {
		w.t.Fatalf("%s: %s", step, tail(body, 5000))
	}
	w.check(step)
	return resp, body
}

func (w *wordpress) get(step, path string, wantStatus int, wantBody ...string) (*http.Response, string) {
	w.t.Helper()
	req, err := http.NewRequest("GET", w.url+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.do(step, req, wantStatus, wantBody...)
}

func (w *wordpress) postForm(step, path string, form url.Values, wantStatus int, wantBody ...string) (*http.Response, string) {
	w.t.Helper()
	req, err := http.NewRequest("POST", w.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(step, req, wantStatus, wantBody...)
}

func (w *wordpress) rest(step, method, route, nonce string, body any, wantStatus int, out any) {
	w.t.Helper()
	b, _ := json.Marshal(body)
	path, query, _ := strings.Cut(route, "?")
	if query != "" {
		query = "&" + query
	}
	req, err := http.NewRequest(method, w.url+"/?rest_route="+url.QueryEscape(path)+query, strings.NewReader(string(b)))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-WP-Nonce", nonce)
	_, resp := w.do(step, req, wantStatus)
	if out != nil {
		if err := json.Unmarshal([]byte(resp), out); err != nil {
			w.t.Fatalf("%s: %v\n%s", step, err, tail(resp, 5000))
		}
	}
}

// install runs wp-admin/install.php (the database must exist and be empty).
func (w *wordpress) install() {
	w.t.Helper()
	w.get("install form", "/wp-admin/install.php?step=1", http.StatusOK, "Information needed")
	w.postForm("install", "/wp-admin/install.php?step=2", url.Values{
		"weblog_title":    {"Marmot Blog"},
		"user_name":       {"admin"},
		"admin_password":  {"marmot-e2e-pass"},
		"admin_password2": {"marmot-e2e-pass"},
		"pw_weak":         {"1"},
		"admin_email":     {"admin@example.com"},
		"blog_public":     {"0"},
		"language":        {""},
	}, http.StatusOK, "Success!")
	w.get("install again", "/wp-admin/install.php", http.StatusOK, "Already Installed")
}

// login logs the admin in and returns a REST API nonce.
func (w *wordpress) login() string {
	w.t.Helper()
	u, _ := url.Parse(w.url)
	w.client.Jar.SetCookies(u, []*http.Cookie{{Name: "wordpress_test_cookie", Value: "WP Cookie check", Path: "/"}})
	w.postForm("login", "/wp-login.php", url.Values{
		"log": {"admin"}, "pwd": {"marmot-e2e-pass"}, "wp-submit": {"Log In"},
		"redirect_to": {w.url + "/wp-admin/"}, "testcookie": {"1"},
	}, http.StatusOK, "Dashboard")
	_, nonce := w.get("rest nonce", "/wp-admin/admin-ajax.php?action=rest-nonce", http.StatusOK)
	nonce = strings.TrimSpace(nonce)
	if nonce == "" || nonce == "0" || nonce == "-1" {
		w.t.Fatalf("no REST nonce: %q", nonce)
	}
	return nonce
}

var wpCommentID = regexp.MustCompile(`#comment-(\d+)`)

// TestWordPress installs WordPress (Debian's package, served by `php -S`)
// on marmotd through wp-admin/install.php, logs in, publishes a post,
// comments on it, approves the comment, and reads the home page, the post
// and a search. Every database error WordPress sees fails the test.
func TestWordPress(t *testing.T) {
	start := time.Now()
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE wordpress")
	w := startWordPress(t, n)

	w.install()
	nonce := w.login()

	// Publish a post.
	const title = "Marmots replicate SQLite"
	var post struct {
		ID   int64  `json:"id"`
		Link string `json:"link"`
	}
	w.rest("publish post", "POST", "/wp/v2/posts", nonce, map[string]any{
		"title": title, "content": "<p>Leaderless burrows everywhere: a zanzibarian marmot.</p>", "status": "publish",
	}, http.StatusCreated, &post)
	if post.ID == 0 {
		t.Fatalf("post has no id")
	}
	w.get("post editor", fmt.Sprintf("/wp-admin/post.php?post=%d&action=edit", post.ID), http.StatusOK)
	w.get("posts list", "/wp-admin/edit.php", http.StatusOK, title)

	// Comment as a visitor (no cookies): held for moderation, then approved.
	visitor := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"comment_post_ID": {fmt.Sprint(post.ID)}, "comment": {"Burrowing is consensus-free."},
		"author": {"Visitor"}, "email": {"visitor@example.com"}, "url": {""}, "comment_parent": {"0"}}
	resp, err := visitor.PostForm(w.url+"/wp-comments-post.php", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	w.check("comment")
	m := wpCommentID.FindStringSubmatch(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || m == nil {
		t.Fatalf("comment: HTTP %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	w.get("comments list", "/wp-admin/edit-comments.php", http.StatusOK, "Burrowing is consensus-free.")
	w.rest("approve comment", "POST", "/wp/v2/comments/"+m[1], nonce, map[string]any{"status": "approved"}, http.StatusOK, nil)
	w.get("dashboard", "/wp-admin/", http.StatusOK, "Dashboard")

	// Read as a visitor.
	anon := *w
	anon.client = &http.Client{Timeout: 30 * time.Second}
	anon.get("home", "/", http.StatusOK, title)
	anon.get("post", fmt.Sprintf("/?p=%d", post.ID), http.StatusOK, title, "Burrowing is consensus-free.")
	anon.get("search", "/?s=zanzibarian", http.StatusOK, title)
	anon.get("search miss", "/?s=nosuchwordanywhere", http.StatusOK)
	anon.get("feed", "/?feed=rss2", http.StatusOK, title)

	// Edit the post (revision), file it under a new category, and delete
	// another post for good (wp_delete_post cleans meta, terms, comments).
	var cat struct {
		ID int64 `json:"id"`
	}
	w.rest("create category", "POST", "/wp/v2/categories", nonce, map[string]any{"name": "Rodents"}, http.StatusCreated, &cat)
	w.rest("edit post", "POST", fmt.Sprintf("/wp/v2/posts/%d", post.ID), nonce, map[string]any{
		"content": "<p>Leaderless burrows everywhere: a zanzibarian marmot, edited.</p>", "categories": []int64{cat.ID},
	}, http.StatusOK, nil)
	var scratch struct {
		ID int64 `json:"id"`
	}
	w.rest("draft post", "POST", "/wp/v2/posts", nonce, map[string]any{"title": "Scratch", "status": "draft"}, http.StatusCreated, &scratch)
	w.rest("delete post", "DELETE", fmt.Sprintf("/wp/v2/posts/%d?force=true", scratch.ID), nonce, nil, http.StatusOK, nil)
	// The taxonomy query of the category archive, through REST.
	var inCat []struct {
		ID int64 `json:"id"`
	}
	w.rest("posts in category", "GET", fmt.Sprintf("/wp/v2/posts?categories=%d", cat.ID), nonce, nil, http.StatusOK, &inCat)
	if len(inCat) != 1 || inCat[0].ID != post.ID {
		t.Fatalf("posts in category %d: %+v, want post %d", cat.ID, inCat, post.ID)
	}
	w.get("post after edit", fmt.Sprintf("/?p=%d", post.ID), http.StatusOK, "edited.", "Burrowing is consensus-free.")
	// WordPress 6.1's install stores rewrite rules without the taxonomy
	// rules (is_admin() and permalink_structure are both false when the
	// category permastruct would be registered); MariaDB gives the same
	// 404. Visiting Settings → Permalinks flushes them, as an admin would.
	w.get("permalink settings", "/wp-admin/options-permalink.php", http.StatusOK)
	w.get("category archive", "/category/rodents/", http.StatusOK, "zanzibarian")

	t.Logf("%d queries, %d expected install-time database errors (missing tables), %v",
		len(w.queries()), len(w.dbErrors(true)), time.Since(start))
	if log, err := os.ReadFile(w.debugLog); err == nil {
		for _, l := range strings.Split(string(log), "\n") {
			if strings.Contains(l, "PHP Warning") || strings.Contains(l, "PHP Notice") {
				t.Log(l)
			}
		}
	}
}
