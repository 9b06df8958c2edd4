package e2e

import (
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func need(t *testing.T, bin, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s not installed (apt-get install %s; .ci/run installs it)", bin, pkg)
	}
	return p
}

// TestPyMySQL runs testdata/pymysql_client.py (Debian's python3-pymysql).
func TestPyMySQL(t *testing.T) {
	need(t, "/usr/bin/python3", "python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import pymysql").CombinedOutput(); err != nil {
		t.Fatalf("python3-pymysql not installed: %s", out)
	}
	n := StartNode(t)
	out, err := exec.Command("/usr/bin/python3", "testdata/pymysql_client.py", fmt.Sprint(n.MySQLPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pymysql ok") {
		t.Fatalf("pymysql: %v\n%s\nserver:\n%s", err, out, n.Logs())
	}
}

// TestPHP runs testdata/php_client.php with mysqli and PDO (php-cli, php-mysql).
func TestPHP(t *testing.T) {
	php := need(t, "php", "php-cli php-mysql")
	n := StartNode(t)
	out, err := exec.Command(php, "testdata/php_client.php", fmt.Sprint(n.MySQLPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "php ok") {
		t.Fatalf("php: %v\n%s\nserver:\n%s", err, out, n.Logs())
	}
}

var sysbenchErrors = regexp.MustCompile(`ignored errors:\s+(\d+)`)

// TestSysbench runs sysbench's OLTP workloads (prepare, run, cleanup) with
// server-side prepared statements and with --db-ps-mode=disable: zero
// errors, zero ignored (retried) errors.
func TestSysbench(t *testing.T) {
	sb := need(t, "sysbench", "sysbench")
	n := StartNode(t)
	mustExec(t, n.DB(t, ""), "CREATE DATABASE sbtest")
	for _, ps := range []string{"auto", "disable"} {
		for _, w := range []string{"oltp_insert", "oltp_point_select", "oltp_read_write", "oltp_update_index", "oltp_delete"} {
			t.Run(w+"/ps="+ps, func(t *testing.T) {
				args := []string{w, "--db-driver=mysql", "--mysql-host=127.0.0.1", fmt.Sprintf("--mysql-port=%d", n.MySQLPort),
					"--mysql-user=root", "--mysql-db=sbtest", "--tables=2", "--table-size=500", "--db-ps-mode=" + ps,
					"--mysql-ignore-errors=none"}
				for _, phase := range []struct {
					cmd   string
					extra []string
				}{{"prepare", nil}, {"run", []string{"--threads=4", "--time=2"}}, {"cleanup", nil}} {
					out, err := exec.Command(sb, append(append(append([]string{}, args...), phase.extra...), phase.cmd)...).CombinedOutput()
					if err != nil || strings.Contains(string(out), "FATAL") {
						t.Fatalf("sysbench %s %s: %v\n%s", w, phase.cmd, err, out)
					}
					if m := sysbenchErrors.FindStringSubmatch(string(out)); m != nil && m[1] != "0" {
						t.Fatalf("sysbench %s %s: %s ignored errors\n%s", w, phase.cmd, m[1], out)
					}
				}
			})
		}
	}
}
