package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
)

// offline lists every command that opens a data dir, with the flags it
// needs besides --data-dir.
var offline = []struct {
	name string
	run  func(context.Context, []string, io.Writer) error
	args []string
}{
	{"log list", runLogList, nil},
	{"log tail", runLogTail, nil},
	{"log show", runLogShow, []string{"--origin", "7", "--seq", "1"}},
	{"log stats", runLogStats, nil},
	{"rebuild", runRebuild, []string{"--db", "app"}},
}

func TestOfflineInUseInProcess(t *testing.T) {
	dir := fixture(t)
	mustOpenLog(t, dir) // held until cleanup
	for _, c := range offline {
		var out bytes.Buffer
		err := c.run(context.Background(), append([]string{"--data-dir", dir}, c.args...), &out)
		wantErr(t, err, errInUse, "data dir is in use by a running marmotd; stop it or use --addr")
	}
}

// TestOfflineInUseByProcess holds the log open in a child process, as a
// running marmotd would, so the lock failure is the real cross-process one.
func TestOfflineInUseByProcess(t *testing.T) {
	dir := fixture(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLog$")
	cmd.Env = append(os.Environ(), "MARMOTCTL_HOLD_LOG="+filepath.Join(dir, "log"))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); err != nil || line != "holding\n" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	for _, c := range offline {
		var out bytes.Buffer
		err := c.run(context.Background(), append([]string{"--data-dir", dir}, c.args...), &out)
		wantErr(t, err, errInUse, "in use by a running marmotd")
	}
}

// TestHelperHoldLog is the child of TestOfflineInUseByProcess: it opens the
// log, says so, and keeps it open until its stdin closes.
func TestHelperHoldLog(t *testing.T) {
	dir := os.Getenv("MARMOTCTL_HOLD_LOG")
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := txlog.Open(txlog.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("holding\n")
	io.Copy(io.Discard, os.Stdin)
	l.Close()
}

func TestOfflineTargetErrors(t *testing.T) {
	empty := t.TempDir()
	if err := os.Mkdir(filepath.Join(empty, "log"), 0o755); err != nil {
		t.Fatal(err)
	}
	var ue *usageError
	for _, c := range offline {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			run := func(args ...string) error {
				return c.run(context.Background(), append(args, c.args...), &out)
			}
			err := run()
			wantErr(t, err, nil, "--data-dir is required")
			if !errors.As(err, &ue) {
				t.Fatalf("%v is not a usage error", err)
			}
			if c.name == "rebuild" { // the log commands read a running node (log_remote_test.go)
				wantErr(t, run("--addr", "127.0.0.1:8080"), errOnline, "online mode arrives with the admin API")
			}
			wantErr(t, run("--addr", "x", "--data-dir", "y"), nil, "exclude each other")
			missing := filepath.Join(t.TempDir(), "nope")
			wantErr(t, run("--data-dir", missing), nil, "no transaction log at "+filepath.Join(missing, "log"))
			if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a missing data dir was created: %v", err)
			}
			wantErr(t, run("--data-dir", empty), nil, "is empty")
			wantErr(t, run("--data-dir", empty, "stray"), nil, `unexpected argument "stray"`)
		})
	}
}
