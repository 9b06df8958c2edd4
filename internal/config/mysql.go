package config

import (
	"crypto/tls"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
)

// MySQLConfig is the MySQL wire-protocol server that applications connect to.
type MySQLConfig struct {
	// Enabled starts the MySQL server; a node with it off still replicates. Default
	// true.
	Enabled bool `toml:"enabled" env:"ENABLED"`

	// BindAddress is the interface the MySQL listener binds; "0.0.0.0" (the default)
	// listens on all of them.
	BindAddress string `toml:"bind_address" env:"BIND_ADDRESS"`

	// Port is the MySQL listener's TCP port. Default 3306, so clients need no option.
	Port int `toml:"port" env:"PORT"`

	// MaxConnections caps concurrent client connections; more are refused with MySQL
	// error 1040 instead of exhausting memory. Default 1000.
	MaxConnections int `toml:"max_connections" env:"MAX_CONNECTIONS"`

	// UnixSocket is a path for a Unix-domain listener (lower latency than TCP for
	// local clients); "" (the default) disables it.
	UnixSocket string `toml:"unix_socket" env:"UNIX_SOCKET"`

	// UnixSocketPerm is the permission bits given to the socket file, deciding which
	// local users may connect. Default 0660 (owner and group). See FileMode for how
	// to write it.
	UnixSocketPerm FileMode `toml:"unix_socket_perm" env:"UNIX_SOCKET_PERM"`

	// AutoIDMode picks how AUTO_INCREMENT values are generated from the HLC:
	// "compact" (the default) fits in 53 bits so JavaScript clients read them
	// exactly; "extended" uses all 64 bits.
	AutoIDMode string `toml:"auto_id_mode" env:"AUTO_ID_MODE"`

	// MaxAllowedPacket (marmot extension) is the largest packet a client may send,
	// as MySQL's max_allowed_packet (1024 … 1 GiB), so a huge value is refused
	// with a clear error instead of exhausting memory. Default 67108864 (64 MiB).
	MaxAllowedPacket int `toml:"max_allowed_packet" env:"MAX_ALLOWED_PACKET"`

	// TLSCertFile is a PEM certificate (chain) the MySQL listener offers to clients
	// that ask for TLS; set it together with TLSKeyFile, or neither. "" (the
	// default) serves plaintext only. The pair is read once at start; replacing the
	// files needs a restart.
	TLSCertFile string `toml:"tls_cert_file" env:"TLS_CERT_FILE"`

	// TLSKeyFile is the PEM private key of TLSCertFile. Default "".
	TLSKeyFile string `toml:"tls_key_file" env:"TLS_KEY_FILE"`

	// RequireSecureTransport refuses logins over plaintext TCP with MySQL error 3159,
	// as MySQL's require_secure_transport; the Unix socket counts as secure. Needs
	// TLSCertFile and TLSKeyFile. Default false.
	RequireSecureTransport bool `toml:"require_secure_transport" env:"REQUIRE_SECURE_TRANSPORT"`

	// Users (marmot extension) are the accounts allowed to log in. A file without
	// [[mysql.users]] (or with users = []) gets the default: a single user "root"
	// with an empty password, so a fresh node accepts `mysql -u root`. Listing users
	// in the file replaces that default. MARMOT_MYSQL_USERS_<i>_NAME and
	// MARMOT_MYSQL_USERS_<i>_PASSWORD override entry i (0-based) or add it.
	Users []MySQLUser `toml:"users" envPrefix:"USERS_"`
}

// MySQLUser is one account of the MySQL server.
type MySQLUser struct {
	// Name is the login name; unique and non-empty.
	Name string `toml:"name" env:"NAME"`

	// Password is checked with mysql_native_password, or caching_sha2_password on a
	// TLS connection; "" accepts an empty password.
	Password string `toml:"password" env:"PASSWORD"`
}

// FileMode is a Unix permission value such as 0660. TOML forbids integers with a
// leading zero, so the spec's `unix_socket_perm = 0660` cannot be written literally;
// write either an octal TOML integer, 0o660, or a string, "0660" (a string is always
// read as octal, with or without a leading 0 or 0o). A plain decimal integer is taken
// at its value, so 660 means 0o1224 and is rejected because it sets bits outside
// 0o777; decimal 432 would be accepted as 0o660. The environment variable takes the
// string form. Only the permission bits 0o777 are allowed.
type FileMode uint32

// Perm returns the mode for os.Chmod.
func (m FileMode) Perm() fs.FileMode { return fs.FileMode(m) }

// String renders the mode as a four-digit octal number, as chmod takes it: "0660".
func (m FileMode) String() string { return fmt.Sprintf("%04o", uint32(m)) }

// MarshalText writes the string form, so an encoded Config reads back.
func (m FileMode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses octal digits, optionally prefixed by 0 or 0o.
func (m *FileMode) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "0o"), "0O")
	if digits == "" {
		return fmt.Errorf("file mode %q: want octal digits such as \"0660\"", s)
	}
	v, err := strconv.ParseUint(digits, 8, 32)
	if err != nil {
		return fmt.Errorf("file mode %q: want octal digits such as \"0660\"", s)
	}
	return m.set(v)
}

// UnmarshalTOML accepts a TOML integer (its value; write 0o660) or a string ("0660").
func (m *FileMode) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		return m.UnmarshalText([]byte(v))
	case int64:
		if v < 0 {
			return fmt.Errorf("file mode %d: must not be negative", v)
		}
		return m.set(uint64(v))
	default:
		return fmt.Errorf("file mode: want an octal integer such as 0o660 or a string such as \"0660\", got %T", v)
	}
}

func (m *FileMode) set(v uint64) error {
	if v > 0o777 {
		return fmt.Errorf("file mode %#o: only permission bits 0o777 are allowed "+
			"(a decimal 660 means 0o1224; write 0o660 or \"0660\")", v)
	}
	*m = FileMode(v)
	return nil
}

// TLS is the listener's TLS configuration, nil when no certificate is configured.
// It loads the files, so an unreadable file or a certificate that does not match its
// key is reported at start, naming the keys to fix.
func (m MySQLConfig) TLS() (*tls.Config, error) {
	if m.TLSCertFile == "" && m.TLSKeyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(m.TLSCertFile, m.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("config: mysql.tls_cert_file = %q, mysql.tls_key_file = %q: %w "+
			"(both must be readable PEM files and the key must belong to the certificate)", m.TLSCertFile, m.TLSKeyFile, err)
	}
	// TLS 1.2 is the oldest version MySQL 8.0.28+ and current MariaDB clients still
	// offer; older ones are broken.
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
