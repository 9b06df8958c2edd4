package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFileUsersAndUnixSocket starts marmotd from a TOML file that sets
// users and a Unix socket, and logs in over the socket.
func TestConfigFileUsersAndUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "mysql.sock")
	cfg := filepath.Join(dir, "marmot.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`
[mysql]
unix_socket = %q
unix_socket_perm = "0600"

[[mysql.users]]
name = "app"
password = "s3cret"
`, sock)), 0o644)
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Args: []string{"--config", cfg}}
	n.dsnUser = "app:s3cret"
	n.Start()
	t.Cleanup(n.Stop)

	st, err := os.Stat(sock)
	if err != nil {
		t.Fatalf("socket not created: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("socket permissions %v, want 0600", st.Mode().Perm())
	}
	out, err := exec.Command("mysql", "--socket="+sock, "-u", "app", "-ps3cret", "-e", "SELECT CONCAT('via ', 'socket') AS v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "via socket") {
		t.Fatalf("socket login: %v %s", err, out)
	}
	out, err = exec.Command("mysql", "--socket="+sock, "-u", "app", "-pwrong", "-e", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "1045") {
		t.Fatalf("wrong password over the socket: want 1045, got %v %s", err, out)
	}
	out, err = exec.Command("mysql", "--socket="+sock, "-u", "root", "-e", "SELECT 1").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "1045") {
		t.Fatalf("root must not log in when users are configured: %v %s", err, out)
	}
}

// TestInvalidConfigRefusesToStart: a bad setting names the key and value.
func TestInvalidConfigRefusesToStart(t *testing.T) {
	marmotd, _ := binaries(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.toml")
	os.WriteFile(cfg, []byte("[replication]\ngc_min_retention_hours = 0\n[mysql]\nprot = 1\n"), 0o644)
	out, err := exec.Command(marmotd, "--config", cfg, "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mysql.prot") {
		t.Fatalf("unknown key: want refusal naming mysql.prot, got %v %s", err, out)
	}
	os.WriteFile(cfg, []byte("[replication]\ngc_min_retention_hours = 0\n"), 0o644)
	out, err = exec.Command(marmotd, "--config", cfg, "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "gc_min_retention_hours") {
		t.Fatalf("gc rule: want refusal naming gc_min_retention_hours, got %v %s", err, out)
	}
}
