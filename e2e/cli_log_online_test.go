package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// logLine is the part of a `marmotctl log list --json` line the test reads.
type logLine struct {
	Origin uint64 `json:"origin"`
	Seq    uint64 `json:"seq"`
	DB     string `json:"db"`
	Kind   string `json:"kind"`
}

// ctlTimeout runs marmotctl with a deadline, so a command that does not end
// fails the test instead of hanging it; it returns stdout, stderr and the
// exit code.
func ctlTimeout(t *testing.T, timeout time.Duration, secret string, args ...string) (string, string, int) {
	t.Helper()
	_, bin := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(filteredEnv(), "MARMOT_CLUSTER_SECRET="+secret)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ctx.Err() != nil {
		t.Fatalf("marmotctl %v did not end within %s; stdout:\n%s\nstderr:\n%s", args, timeout, out, stderr.String())
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("marmotctl %v: %v", args, err)
	}
	return string(out), stderr.String(), cmd.ProcessState.ExitCode()
}

// TestLogOnline: marmotctl log reads a running node's log over its cluster
// port. list ends although the cluster is live and shows both origins;
// tail --follow prints a change set node 2 commits after it started (node 1
// forwards it although node 2 is alive: the tail asks for every origin); a
// wrong secret exits 2 naming the refusal.
func TestLogOnline(t *testing.T) {
	const secret = "log-online-secret"
	nodes := startClusterAt(t, 2, secret, "ONE")
	addr1 := fmt.Sprintf("127.0.0.1:%d", nodes[0].HTTPPort)

	mustExec(t, nodes[0].DB(t, ""), "CREATE DATABASE logtest")
	eventually(t, 20*time.Second, func() error {
		_, err := nodes[1].DB(t, "logtest").Exec("SELECT 1")
		return err
	})
	mustExec(t, nodes[1].DB(t, "logtest"), "CREATE TABLE kv (id INT PRIMARY KEY, v VARCHAR(20))")
	eventually(t, 20*time.Second, func() error {
		_, err := nodes[0].DB(t, "logtest").Exec("SELECT COUNT(*) FROM kv")
		return err
	})
	mustExec(t, nodes[0].DB(t, "logtest"), "INSERT INTO kv VALUES (1, 'from-1')")
	mustExec(t, nodes[1].DB(t, "logtest"), "INSERT INTO kv VALUES (2, 'from-2')")

	// list: node 1's log holds row change sets of both origins once node
	// 2's insert has arrived.
	eventually(t, 20*time.Second, func() error {
		out, stderr, code := ctlTimeout(t, 60*time.Second, secret, "log", "list", "--addr", addr1, "--json", "--db", "logtest")
		if code != 0 {
			return fmt.Errorf("log list exited %d: %s", code, stderr)
		}
		rows := map[uint64]int{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var ll logLine
			if err := json.Unmarshal([]byte(l), &ll); err != nil {
				t.Fatalf("log list --json line %q: %v", l, err)
			}
			if ll.Kind == "rows" {
				rows[ll.Origin]++
			}
		}
		if rows[1] != 1 || rows[2] != 1 {
			return fmt.Errorf("row change sets per origin: %v, want one of origin 1 and 2:\n%s", rows, out)
		}
		return nil
	})

	// tail: -n 0 prints only what becomes durable after the command read
	// node 1's watermark, so any origin-2 row line proves the stream
	// forwards the other origin's new change sets.
	_, bin := binaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tail := exec.CommandContext(ctx, bin, "log", "tail", "--addr", addr1, "-n", "0", "--follow", "--json")
	tail.Env = append(filteredEnv(), "MARMOT_CLUSTER_SECRET="+secret)
	tail.Cancel = func() error { return tail.Process.Signal(os.Interrupt) }
	tail.WaitDelay = 10 * time.Second
	var tailErr strings.Builder
	tail.Stderr = &tailErr
	stdout, err := tail.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := tail.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	db2 := nodes[1].DB(t, "logtest")
	found := false
	for id := 100; !found; id++ {
		// Until the tail is following, a commit may land before its
		// starting point: commit again until one shows.
		mustExec(t, db2, "INSERT INTO kv VALUES (?, 'tail')", id)
		deadline := time.After(time.Second)
	wait:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("log tail ended early: %v\nstderr: %s", tail.Wait(), tailErr.String())
				}
				var ll logLine
				if err := json.Unmarshal([]byte(l), &ll); err != nil {
					t.Fatalf("log tail --json line %q: %v", l, err)
				}
				if ll.Origin == 2 && ll.DB == "logtest" && ll.Kind == "rows" {
					found = true
					break wait
				}
			case <-deadline:
				break wait
			case <-ctx.Done():
				t.Fatalf("log tail printed no change set of node 2; stderr: %s", tailErr.String())
			}
		}
	}
	// Interrupted, it ends cleanly.
	cancel()
	for range lines {
	}
	if err := tail.Wait(); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("log tail after interrupt: %v\nstderr: %s", err, tailErr.String())
	}
	if code := tail.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("log tail exited %d after interrupt; stderr: %s", code, tailErr.String())
	}

	// A wrong secret is refused: exit 2 and an authentication message.
	_, stderr, code := ctlTimeout(t, 30*time.Second, "not-the-secret", "log", "list", "--addr", addr1)
	if code != 2 || !strings.Contains(stderr, "unauthenticated") {
		t.Fatalf("wrong secret: exit %d, stderr %q; want exit 2 and an authentication message", code, stderr)
	}
}
