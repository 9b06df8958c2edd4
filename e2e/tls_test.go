package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// selfSigned writes a fresh ECDSA certificate for 127.0.0.1 and its key
// as PEM files, and returns a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "marmot e2e"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return certFile, keyFile, pool
}

// tlsConfigFile is a marmotd config with TLS on the MySQL port and two
// users: root without a password (the harness's readiness check) and app.
func tlsConfigFile(t *testing.T, require bool) (cfg, certFile string, pool *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	cfg = filepath.Join(dir, "marmot.toml")
	text := fmt.Sprintf(`
[mysql]
tls_cert_file = %q
tls_key_file = %q
require_secure_transport = %v

[[mysql.users]]
name = "root"
password = ""

[[mysql.users]]
name = "app"
password = "s3cret"
`, certFile, keyFile, require)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, certFile, pool
}

// mysqlCLI runs the mysql CLI against n with the given arguments (no
// default TLS choice: each call says --ssl… or --skip-ssl).
func mysqlCLI(t *testing.T, n *Node, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--protocol=TCP", "-h", "127.0.0.1", "-P", fmt.Sprint(n.MySQLPort), "--batch", "--skip-column-names"}
	out, err := exec.CommandContext(ctx, "mysql", append(base, args...)...).CombinedOutput()
	return string(out), err
}

// registerTLS registers a go-sql-driver TLS config that trusts only pool
// and checks the certificate is for 127.0.0.1.
func registerTLS(t *testing.T, pool *x509.CertPool) string {
	t.Helper()
	name := fmt.Sprintf("marmot-e2e-%d", time.Now().UnixNano())
	if err := mysql.RegisterTLSConfig(name, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mysql.DeregisterTLSConfig(name) })
	return name
}

func openDSN(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func sslCipher(t *testing.T, db *sql.DB) string {
	t.Helper()
	var name, cipher string
	if err := db.QueryRow("SHOW STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil {
		t.Fatal(err)
	}
	return cipher
}

// TestTLS: a node with a certificate serves TLS and plaintext on one port;
// the session status shows which, and TLS logins use caching_sha2_password.
func TestTLS(t *testing.T) {
	cfg, certFile, pool := tlsConfigFile(t, false)
	n := StartNode(t, "--config", cfg)

	t.Run("mysql CLI verifies the certificate", func(t *testing.T) {
		out, err := mysqlCLI(t, n, "-u", "app", "-ps3cret", "--ssl-ca="+certFile, "--ssl-verify-server-cert",
			"-e", "SHOW STATUS LIKE 'Ssl_cipher'; SHOW STATUS LIKE 'Ssl_version'; SELECT @@have_ssl; \\s")
		if err != nil {
			t.Fatalf("mysql --ssl: %v\n%s", err, out)
		}
		for _, want := range []string{"Ssl_cipher\tTLS_", "Ssl_version\tTLSv1.", "YES", "Cipher in use is TLS_"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("plaintext on the same port", func(t *testing.T) {
		out, err := mysqlCLI(t, n, "-u", "app", "-ps3cret", "--skip-ssl", "-e", "SHOW STATUS LIKE 'Ssl_cipher'")
		if err != nil {
			t.Fatalf("mysql --skip-ssl: %v\n%s", err, out)
		}
		if strings.TrimSpace(out) != "Ssl_cipher" {
			t.Errorf("plaintext session reports a cipher: %q", out)
		}
	})
	t.Run("wrong password over TLS", func(t *testing.T) {
		out, err := mysqlCLI(t, n, "-u", "app", "-pwrong", "--ssl-ca="+certFile, "-e", "SELECT 1")
		if err == nil || !strings.Contains(out, "ERROR 1045") {
			t.Fatalf("want ERROR 1045, got %v\n%s", err, out)
		}
	})

	verified := registerTLS(t, pool)
	for _, mode := range []string{"tls=skip-verify", "tls=" + verified} {
		t.Run("go driver "+mode, func(t *testing.T) {
			dsn := fmt.Sprintf("app:s3cret@tcp(127.0.0.1:%d)/marmot?%s&timeout=10s", n.MySQLPort, mode)
			// Two logins: the first authenticates in full (password over
			// TLS), the second from caching_sha2_password's cache.
			for i := range 2 {
				db := openDSN(t, dsn)
				if c := sslCipher(t, db); !strings.HasPrefix(c, "TLS_") {
					t.Fatalf("login %d: Ssl_cipher = %q, want a TLS cipher", i, c)
				}
				db.Close()
			}
			db := openDSN(t, dsn+"&interpolateParams=false")
			table := "tls_" + strings.NewReplacer("=", "_", "-", "_").Replace(mode)
			mustExec(t, db, "CREATE TABLE "+table+" (id INT PRIMARY KEY, v VARCHAR(64))")
			// Repeated executions of one prepared statement: the packet
			// layer above TLS restores the parameter types.
			st, err := db.Prepare("INSERT INTO " + table + " VALUES (?, ?)")
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for i := range 5 {
				if _, err := st.Exec(i, fmt.Sprint("row ", i)); err != nil {
					t.Fatal(err)
				}
			}
			var count int
			var last string
			if err := db.QueryRow("SELECT COUNT(*), MAX(v) FROM "+table).Scan(&count, &last); err != nil || count != 5 || last != "row 4" {
				t.Fatalf("count %d max %q err %v, want 5 rows", count, last, err)
			}
			// A result bigger than one TLS record.
			var big string
			if err := db.QueryRow("SELECT REPEAT('x', 100000)").Scan(&big); err != nil || len(big) != 100000 {
				t.Fatalf("big value: %d bytes, %v", len(big), err)
			}
		})
	}
	t.Run("go driver wrong password", func(t *testing.T) {
		db := openDSN(t, fmt.Sprintf("app:nope@tcp(127.0.0.1:%d)/marmot?tls=skip-verify&timeout=10s", n.MySQLPort))
		if err := db.Ping(); mysqlCode(err) != 1045 {
			t.Fatalf("wrong password: %v, want 1045", err)
		}
	})
}

// TestRequireSecureTransport: with require_secure_transport a plaintext
// TCP login is refused with 3159, a TLS one is served.
func TestRequireSecureTransport(t *testing.T) {
	cfg, certFile, _ := tlsConfigFile(t, true)
	n := startUnready(t, "--config", cfg)
	plain := openDSN(t, fmt.Sprintf("app:s3cret@tcp(127.0.0.1:%d)/marmot?timeout=10s", n.MySQLPort))
	eventually(t, 60*time.Second, func() error {
		if err := plain.Ping(); mysqlCode(err) != 3159 {
			return fmt.Errorf("plaintext login: %v, want error 3159", err)
		}
		return nil
	})
	out, err := mysqlCLI(t, n, "-u", "app", "-ps3cret", "--skip-ssl", "-e", "SELECT 1")
	if err == nil || !strings.Contains(out, "ERROR 3159") {
		t.Fatalf("mysql --skip-ssl: want ERROR 3159, got %v\n%s", err, out)
	}
	out, err = mysqlCLI(t, n, "-u", "app", "-ps3cret", "--ssl-ca="+certFile, "-e", "SELECT @@require_secure_transport; SHOW STATUS LIKE 'Ssl_version'")
	if err != nil || !strings.Contains(out, "1\n") || !strings.Contains(out, "Ssl_version\tTLSv1.") {
		t.Fatalf("mysql --ssl: %v\n%s", err, out)
	}
	secure := openDSN(t, fmt.Sprintf("app:s3cret@tcp(127.0.0.1:%d)/marmot?tls=skip-verify&timeout=10s", n.MySQLPort))
	if c := sslCipher(t, secure); !strings.HasPrefix(c, "TLS_") {
		t.Fatalf("Ssl_cipher = %q", c)
	}
	if v := metricValue(scrape(t, n), "marmot_mysql_connections_refused_total", map[string]string{"reason": "insecure_transport"}); v < 2 {
		t.Errorf("marmot_mysql_connections_refused_total{insecure_transport} = %v, want >= 2", v)
	}
}

// startUnready starts marmotd like StartNode but waits only for its HTTP
// port (served after the MySQL listener is bound): the harness's
// readiness check logs in over plaintext, which this node may refuse.
func startUnready(t *testing.T, args ...string) *Node {
	t.Helper()
	marmotd, _ := binaries(t)
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t), Args: args}
	n.cmd = exec.Command(marmotd, append([]string{"--data-dir", n.Dir, "--mysql-port", fmt.Sprint(n.MySQLPort),
		"--grpc-port", fmt.Sprint(n.HTTPPort)}, args...)...)
	n.cmd.Env = append(filteredEnv(), "MARMOT_MYSQL_BIND_ADDRESS=127.0.0.1", "MARMOT_CLUSTER_GRPC_BIND_ADDRESS=127.0.0.1",
		fmt.Sprintf("MARMOT_CLUSTER_GOSSIP_PORT=%d", n.GossipPort))
	n.logs = &lockedBuffer{}
	n.cmd.Stdout, n.cmd.Stderr = n.logs, n.logs
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n.exited = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(n.cmd, n.exited)
	t.Cleanup(n.Stop)
	eventually(t, 60*time.Second, func() error {
		select {
		case <-n.exited:
			t.Fatalf("marmotd exited during start-up: %s", n.Logs())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", n.HTTPPort))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	})
	return n
}
