package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writePair writes a fresh self-signed certificate and its key as PEM files.
func writePair(t *testing.T, dir, name string) (cert, key string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestValidateTLS(t *testing.T) {
	dir := t.TempDir()
	cert, key := writePair(t, dir, "a")
	_, otherKey := writePair(t, dir, "b")
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		cert, key string
		require   bool
		want      string // fragment of the error; "" = valid
	}{
		{"neither", "", "", false, ""},
		{"pair", cert, key, false, ""},
		{"pair required", cert, key, true, ""},
		{"key without cert", "", key, false, `config: mysql.tls_cert_file = "": mysql.tls_key_file is set`},
		{"cert without key", cert, "", false, `config: mysql.tls_key_file = "": mysql.tls_cert_file is set`},
		{"require without files", "", "", true, "config: mysql.require_secure_transport = true: needs mysql.tls_cert_file"},
		{"missing file", filepath.Join(dir, "nope.crt"), key, false, "no such file"},
		{"key of another cert", cert, otherKey, false, "private key does not match public key"},
		{"not PEM", garbage, key, false, "mysql.tls_cert_file = \"" + garbage + "\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.MySQL.TLSCertFile, c.MySQL.TLSKeyFile, c.MySQL.RequireSecureTransport = tt.cert, tt.key, tt.require
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.want)
			}
			tc, err := c.MySQL.TLS()
			if tt.want == "" && (err != nil || (tc == nil) != (tt.cert == "")) {
				t.Fatalf("TLS() = %v, %v", tc, err)
			}
		})
	}
}

func TestTLSFromEnv(t *testing.T) {
	c := mustLoad(t, "", map[string]string{"MARMOT_MYSQL_TLS_CERT_FILE": "/c.pem", "MARMOT_MYSQL_TLS_KEY_FILE": "/k.pem",
		"MARMOT_MYSQL_REQUIRE_SECURE_TRANSPORT": "true"})
	if m := c.MySQL; m.TLSCertFile != "/c.pem" || m.TLSKeyFile != "/k.pem" || !m.RequireSecureTransport {
		t.Fatalf("mysql = %+v", m)
	}
}
