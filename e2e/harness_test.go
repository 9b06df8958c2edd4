package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

// Tags is the build tag set used for every build of marmot.
const Tags = "sqlite_preupdate_hook sqlite_math_functions"

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds marmotd and marmotctl once per test run.
func binaries(t testing.TB) (marmotd, marmotctl string) {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "marmot-e2e-bin")
		if buildErr != nil {
			return
		}
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Dir(filepath.Dir(file))
		cmd := exec.Command("go", "build", "-tags", Tags, "-o", binDir+"/", "./cmd/marmotd", "./cmd/marmotctl")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "marmotd"), filepath.Join(binDir, "marmotctl")
}

// Node is a real marmotd process on loopback ports.
type Node struct {
	t         testing.TB
	Dir       string
	MySQLPort int
	HTTPPort  int
	// GossipPort is the membership gossip port (cluster nodes only).
	GossipPort int
	Env        []string
	Args       []string
	cmd        *exec.Cmd
	dsnUser    string // user[:password] for DSN; root when empty
	logs       *lockedBuffer
	exited     chan struct{}
	faults     *nodeFaults // its MARMOT_TEST_FAULTS file (faults_harness_test.go)
	poolMu     sync.Mutex
	pools      map[string]*sql.DB // by DSN (DB)
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// freePort returns a loopback port that is free for TCP and UDP. Ports
// come from below the kernel's ephemeral range (32768+), handed out once
// per test process: a port from bind(:0) is itself ephemeral, and the
// outgoing connections of already running nodes may take it before the
// node meant to listen on it starts.
func freePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	if nextPort == 0 {
		nextPort = 20000 + (os.Getpid()*37)%10000
	}
	for range 12000 {
		p := nextPort
		nextPort++
		if nextPort >= 32000 {
			nextPort = 20000
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return p
	}
	t.Fatal("no free port in 20000-32000")
	return 0
}

var (
	portMu   sync.Mutex
	nextPort int
)

// StartNode starts marmotd on a fresh data dir and waits until it serves.
func StartNode(t testing.TB, extraArgs ...string) *Node {
	t.Helper()
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Args: extraArgs}
	n.Start()
	t.Cleanup(n.Stop)
	return n
}

// Start (re)starts the process on the same data dir and ports and waits
// until it serves.
func (n *Node) Start() {
	n.t.Helper()
	n.StartNoWait()
	n.WaitReady(60 * time.Second)
}

// StartNoWait (re)starts the process without waiting for it to serve.
func (n *Node) StartNoWait() {
	n.t.Helper()
	marmotd, _ := binaries(n.t)
	args := append([]string{"--data-dir", n.Dir, "--mysql-port", fmt.Sprint(n.MySQLPort), "--grpc-port", fmt.Sprint(n.HTTPPort)}, n.Args...)
	n.cmd = exec.Command(marmotd, args...)
	if n.GossipPort == 0 {
		n.GossipPort = freePort(n.t)
	}
	n.cmd.Env = append(filteredEnv(), "MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1", "MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1",
		fmt.Sprintf("MARMOT_CLUSTER_GOSSIP_PORT=%d", n.GossipPort))
	n.cmd.Env = append(n.cmd.Env, n.faultsEnv())
	n.cmd.Env = append(n.cmd.Env, n.Env...)
	n.logs = &lockedBuffer{}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(n.cmd, n.exited)
}

// WaitReady polls until a MySQL ping succeeds.
func (n *Node) WaitReady(timeout time.Duration) {
	n.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		db, err := sql.Open("mysql", n.DSN(""))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return
		}
		select {
		case <-n.exited:
			n.t.Fatalf("marmotd exited during start-up: %s", n.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("marmotd not ready after %v: %v\n%s", timeout, err, n.logs.String())
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for replication
	}
}

// Kill sends SIGKILL and waits for the process to die.
func (n *Node) Kill() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
	n.cmd = nil
}

// Stop shuts down gracefully (SIGTERM), killing after a grace period.
func (n *Node) Stop() {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	defer func() {
		if d := time.Since(start); d > 2*time.Second {
			n.t.Logf("marmotd took %v to stop", d.Round(time.Millisecond))
		}
	}()
	select {
	case <-n.exited:
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.exited
	}
	n.cmd = nil
}

// AliveMembers asks the node's admin API how many cluster members it sees
// alive (itself included).
func (n *Node) AliveMembers() (int, error) {
	secret := ""
	for _, kv := range n.Env {
		if v, ok := strings.CutPrefix(kv, "MARMOT_CLUSTER_SECRET="); ok {
			secret = v
		}
	}
	req, err := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/admin/cluster/members", n.HTTPPort), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("X-Marmot-Secret", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var body struct {
		Members []struct {
			State string `json:"state"`
		} `json:"members"`
	}
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("members: HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return 0, err
	}
	alive := 0
	for _, m := range body.Members {
		if m.State == "alive" {
			alive++
		}
	}
	return alive, nil
}

// Logs returns what the process printed.
func (n *Node) Logs() string { return n.logs.String() }

// DSN is a go-sql-driver DSN for root on this node.
func (n *Node) DSN(db string) string {
	user := n.dsnUser
	if user == "" {
		user = "root"
	}
	return fmt.Sprintf("%s@tcp(127.0.0.1:%d)/%s?parseTime=false&timeout=10s", user, n.MySQLPort, db)
}

// DB opens a go-sql-driver pool; closed at test end.
//
// Pools are kept per DSN, so a test polling n.DB(t, "x") in a loop reuses
// one pool instead of opening connections until max_connections (1040).
func (n *Node) DB(t testing.TB, db string, params ...string) *sql.DB {
	t.Helper()
	dsn := n.DSN(db)
	if len(params) > 0 {
		dsn += "&" + strings.Join(params, "&")
	}
	n.poolMu.Lock()
	defer n.poolMu.Unlock()
	if pool, ok := n.pools[dsn]; ok {
		return pool
	}
	pool, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if n.pools == nil {
		n.pools = map[string]*sql.DB{}
	}
	n.pools[dsn] = pool
	t.Cleanup(func() {
		n.poolMu.Lock()
		delete(n.pools, dsn)
		n.poolMu.Unlock()
		pool.Close()
	})
	return pool
}

// MySQL runs the mysql CLI with input on stdin and returns its output.
func (n *Node) MySQL(t testing.TB, input string, args ...string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("mysql"); err != nil {
		t.Fatalf("mysql CLI not installed (apt-get install mariadb-client): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--protocol=TCP", "-h", "127.0.0.1", "-P", fmt.Sprint(n.MySQLPort), "-u", "root", "--skip-ssl"}
	cmd := exec.CommandContext(ctx, "mysql", append(base, args...)...)
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestMain removes the binaries built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// filteredEnv is the test's environment without MARMOT_* variables:
// marmotd refuses unknown ones, and the test's own knobs
// (MARMOT_CRASH_LOOPS) must not reach it.
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MARMOT_") {
			env = append(env, kv)
		}
	}
	return env
}
