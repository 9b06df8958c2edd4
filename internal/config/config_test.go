package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const shippedFile = "../../config.toml"

// writeFile puts a config file in a temporary directory and returns its path.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string, environ map[string]string) Config {
	t.Helper()
	c, err := LoadWithEnv(path, environ)
	if err != nil {
		t.Fatalf("LoadWithEnv: %v", err)
	}
	return c
}

func TestDefaultValidates(t *testing.T) {
	if err := Default().Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
}

func TestEmptyPathIsDefault(t *testing.T) {
	if got := mustLoad(t, "", nil); !reflect.DeepEqual(got, Default()) {
		t.Fatalf("LoadWithEnv(\"\", nil) = %+v, want Default()", got)
	}
}

// The shipped file sets every key to its default, so loading it must change nothing.
func TestShippedFileEqualsDefault(t *testing.T) {
	got := mustLoad(t, shippedFile, nil)
	if !reflect.DeepEqual(got, Default()) {
		t.Fatalf("config.toml differs from Default():\n got %+v\nwant %+v", got, Default())
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

// exampleSinks returns config.toml with its commented-out sink examples enabled.
func exampleSinks(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shippedFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	in, found := false, false
	for i, l := range lines {
		switch {
		case l == "# --- begin example sinks ---":
			in, found = true, true
		case l == "# --- end example sinks ---":
			in = false
		case in:
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		}
	}
	if !found {
		t.Fatal("config.toml: no example sinks block")
	}
	return strings.Join(lines, "\n")
}

// Equality with Default() cannot see a key that is missing from the file (it would
// keep its default), so check that every field's key is written out.
func TestShippedFileHasEveryKey(t *testing.T) {
	var c Config
	md, err := toml.Decode(exampleSinks(t), &c)
	if err != nil {
		t.Fatal(err)
	}
	defined := map[string]bool{}
	for _, k := range md.Keys() {
		defined[k.String()] = true
	}
	for _, l := range leaves() {
		if !defined[l.key] {
			t.Errorf("config.toml does not set %s", l.key)
		}
	}
}

func TestExampleSinksValidate(t *testing.T) {
	c := mustLoad(t, writeFile(t, exampleSinks(t)), nil)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	kafka := DefaultSink()
	kafka.Name, kafka.Type, kafka.Brokers = "kafka-main", "kafka", []string{"localhost:9092"}
	nats := DefaultSink()
	nats.Name, nats.Type, nats.NATSURL = "nats-events", "nats", "nats://localhost:4222"
	if want := []SinkConfig{kafka, nats}; !reflect.DeepEqual(c.Publisher.Sinks, want) {
		t.Fatalf("sinks = %+v, want %+v", c.Publisher.Sinks, want)
	}
}

func TestUnknownKeyRejected(t *testing.T) {
	tests := []struct {
		name, file string
		want       []string
	}{
		{"misspelt key", "[mysql]\nprot = 3307\n",
			[]string{`config: unknown key "mysql.prot" in `, `(did you mean "mysql.port"?)`}},
		{"top level", "node = 1\n", []string{`unknown key "node"`}},
		{"misspelt table reported once", "[mysqll]\nport = 1\nenabled = true\n",
			[]string{`unknown key "mysqll" in`, `did you mean "mysql"`}},
		{"sink key", "[[publisher.sinks]]\nname = \"k\"\nbrokrs = [\"b:1\"]\n",
			[]string{`unknown key "publisher.sinks.brokrs"`, `"publisher.sinks.brokers"`}},
		{"user key", "[[mysql.users]]\nname = \"a\"\npass = \"x\"\n",
			[]string{`unknown key "mysql.users.pass"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWithEnv(writeFile(t, tt.file), nil)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Count(err.Error(), "unknown key") != 1 {
				t.Errorf("want exactly one unknown key reported, got %q", err)
			}
		})
	}
}

func TestFileErrorsNameThePath(t *testing.T) {
	for _, text := range []string{"[mysql]\nport = \"x\"\n", "node_id = \n", "[mysql]\nunix_socket_perm = 0660\n"} {
		path := writeFile(t, text)
		_, err := LoadWithEnv(path, nil)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%q: error %v does not name %s", text, err, path)
		}
	}
	if _, err := LoadWithEnv(filepath.Join(t.TempDir(), "missing.toml"), nil); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestUsers(t *testing.T) {
	tests := []struct {
		name, file string
		want       []MySQLUser
	}{
		{"absent keeps root", "", DefaultUsers()},
		{"empty list falls back to root", "[mysql]\nusers = []\n", DefaultUsers()},
		{"list replaces root", "[[mysql.users]]\nname = \"app\"\npassword = \"s\"\n[[mysql.users]]\nname = \"ro\"\n",
			[]MySQLUser{{"app", "s"}, {"ro", ""}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustLoad(t, writeFile(t, tt.file), nil)
			if !reflect.DeepEqual(c.MySQL.Users, tt.want) {
				t.Fatalf("users = %+v, want %+v", c.MySQL.Users, tt.want)
			}
		})
	}
}

func TestSinkOmittedKeysTakeDefaults(t *testing.T) {
	c := mustLoad(t, writeFile(t, "[[publisher.sinks]]\nname = \"n\"\ntype = \"NATS\"\nnats_url = \"nats://x:4222\"\nbatch_size = 5\n"), nil)
	want := DefaultSink()
	want.Name, want.Type, want.NATSURL, want.BatchSize = "n", "nats", "nats://x:4222", 5
	if !reflect.DeepEqual(c.Publisher.Sinks, []SinkConfig{want}) {
		t.Fatalf("sinks = %+v, want [%+v]", c.Publisher.Sinks, want)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, `node_id = 1
data_dir = "/file"
[mysql]
port = 3307
unix_socket_perm = "0600"
[cluster]
seed_nodes = ["file:8080"]
[replication]
default_write_consistency = "one"
[[publisher.sinks]]
name = "k"
type = "kafka"
brokers = ["file:9092"]
`)
	c := mustLoad(t, path, map[string]string{
		"MARMOT_NODE_ID":                               "18446744073709551615",
		"MARMOT_DATA_DIR":                              "/env",
		"MARMOT_MYSQL_PORT":                            "3310",
		"MARMOT_MYSQL_UNIX_SOCKET_PERM":                "0640",
		"MARMOT_MYSQL_USERS_0_PASSWORD":                "rootpw",
		"MARMOT_CLUSTER_SEED_NODES":                    "a:8080, b:8080",
		"MARMOT_CLUSTER_GOSSIP_PORT":                   "7946",
		"MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY": "all",
		"MARMOT_REPLICATION_ENABLE_ANTI_ENTROPY":       "false",
		"MARMOT_PUBLISHER_SINKS_0_BROKERS":             "e1:9092,e2:9092",
		"MARMOT_PUBLISHER_SINKS_1_NAME":                "n",
		"MARMOT_PUBLISHER_SINKS_1_TYPE":                "nats",
		"MARMOT_PUBLISHER_SINKS_1_NATS_URL":            "nats://n:4222",
		"MARMOT_PUBLISHER_SINKS_1_RETRY_MULTIPLIER":    "1.5",
		"MARMOT_CONFIG":                                "/ignored/reserved.toml",
		"OTHER_VARIABLE":                               "ignored",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"node_id", c.NodeID, uint64(18446744073709551615)},
		{"data_dir", c.DataDir, "/env"},
		{"mysql.port", c.MySQL.Port, 3310},
		{"mysql.unix_socket_perm", c.MySQL.UnixSocketPerm, FileMode(0o640)},
		{"mysql.users", c.MySQL.Users, []MySQLUser{{"root", "rootpw"}}},
		{"cluster.seed_nodes", c.Cluster.SeedNodes, []string{"a:8080", "b:8080"}},
		{"cluster.gossip_port", c.Cluster.GossipPort(), 7946},
		{"replication.default_write_consistency", c.Replication.DefaultWriteConsistency, "ALL"},
		{"replication.enable_anti_entropy", c.Replication.EnableAntiEntropy, false},
		{"publisher.sinks[0].brokers", c.Publisher.Sinks[0].Brokers, []string{"e1:9092", "e2:9092"}},
		{"publisher.sinks[0].name (file)", c.Publisher.Sinks[0].Name, "k"},
		{"publisher.sinks[1].nats_url", c.Publisher.Sinks[1].NATSURL, "nats://n:4222"},
		{"publisher.sinks[1].retry_multiplier", c.Publisher.Sinks[1].RetryMultiplier, 1.5},
		{"publisher.sinks[1].batch_size (default)", c.Publisher.Sinks[1].BatchSize, 100},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

func TestClusterSecretEnvWinsOverFile(t *testing.T) {
	path := writeFile(t, "[cluster]\ncluster_secret = \"from-file\"\n")
	if c := mustLoad(t, path, nil); c.Cluster.ClusterSecret != "from-file" {
		t.Fatalf("without env: cluster_secret = %q", c.Cluster.ClusterSecret)
	}
	c := mustLoad(t, path, map[string]string{"MARMOT_CLUSTER_SECRET": "from-env"})
	if c.Cluster.ClusterSecret != "from-env" {
		t.Fatalf("cluster_secret = %q, want from-env", c.Cluster.ClusterSecret)
	}
}

// Every scalar key has a variable named by one rule, with one documented exception;
// the daemon's docs and operators rely on being able to derive the name.
func TestEveryKeyHasEnvVariable(t *testing.T) {
	for _, l := range leaves() {
		want := EnvPrefix + strings.ToUpper(strings.ReplaceAll(l.key, ".", "_"))
		want = strings.Replace(want, "_USERS_", "_USERS_#_", 1)
		want = strings.Replace(want, "_SINKS_", "_SINKS_#_", 1)
		if l.key == "cluster.cluster_secret" {
			want = "MARMOT_CLUSTER_SECRET"
		}
		if l.env != want {
			t.Errorf("%s: variable %q, want %q", l.key, l.env, want)
		}
	}
}

func TestEnvErrors(t *testing.T) {
	tests := []struct {
		name    string
		environ map[string]string
		want    []string
	}{
		{"unknown variable", map[string]string{"MARMOT_MYSQL_PROT": "1"},
			[]string{"unknown environment variable MARMOT_MYSQL_PROT", "did you mean MARMOT_MYSQL_PORT?"}},
		{"cluster secret by key name", map[string]string{"MARMOT_CLUSTER_CLUSTER_SECRET": "s"},
			[]string{"MARMOT_CLUSTER_CLUSTER_SECRET"}},
		{"bad int", map[string]string{"MARMOT_MYSQL_PORT": "abc", "MARMOT_DATA_DIR": "/ok"},
			[]string{`config: MARMOT_MYSQL_PORT="abc"`, "invalid syntax"}},
		{"bad bool", map[string]string{"MARMOT_MYSQL_ENABLED": "maybe"}, []string{`MARMOT_MYSQL_ENABLED="maybe"`}},
		{"bad file mode", map[string]string{"MARMOT_MYSQL_UNIX_SOCKET_PERM": "0999"}, []string{"MARMOT_MYSQL_UNIX_SOCKET_PERM", "octal"}},
		{"unknown sink variable", map[string]string{"MARMOT_PUBLISHER_SINKS_2_BROKRS": "x"},
			[]string{"did you mean MARMOT_PUBLISHER_SINKS_2_BROKERS?"}},
		{"sink index past the list", map[string]string{"MARMOT_PUBLISHER_SINKS_1_NAME": "x"},
			[]string{"MARMOT_PUBLISHER_SINKS_1_NAME: there are 0 entries"}},
		{"user index past the list", map[string]string{"MARMOT_MYSQL_USERS_2_NAME": "x"},
			[]string{"MARMOT_MYSQL_USERS_2_NAME: there are 1 entries"}},
		{"bad sink index value", map[string]string{"MARMOT_PUBLISHER_SINKS_0_BATCH_SIZE": "x"}, []string{"MARMOT_PUBLISHER_SINKS_0_BATCH_SIZE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadWithEnv("", tt.environ)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestOverridesWinOverEnv(t *testing.T) {
	path := writeFile(t, "data_dir = \"/file\"\n[mysql]\nport = 1111\n")
	c := mustLoad(t, path, map[string]string{
		"MARMOT_DATA_DIR": "/env", "MARMOT_MYSQL_PORT": "2222", "MARMOT_CLUSTER_GRPC_PORT": "3333", "MARMOT_NODE_ID": "4",
		"MARMOT_REPLICA_FOLLOW_ADDRESSES": "env:8080",
	})
	dir, mysqlPort, grpcPort, id := "/flag", 5555, 6666, uint64(7)
	c.Apply(Overrides{DataDir: &dir, MySQLPort: &mysqlPort, GRPCPort: &grpcPort, NodeID: &id, FollowAddresses: []string{"flag:8080"}})
	if c.DataDir != dir || c.MySQL.Port != mysqlPort || c.Cluster.GRPCPort != grpcPort || c.NodeID != id ||
		!reflect.DeepEqual(c.Replica.FollowAddresses, []string{"flag:8080"}) {
		t.Fatalf("after Apply: data_dir %q mysql.port %d grpc_port %d node_id %d follow %v",
			c.DataDir, c.MySQL.Port, c.Cluster.GRPCPort, c.NodeID, c.Replica.FollowAddresses)
	}

	// Unset overrides change nothing.
	before := mustLoad(t, path, nil)
	after := before
	after.Apply(Overrides{})
	if !reflect.DeepEqual(before, after) {
		t.Fatal("Apply(Overrides{}) changed the config")
	}
}

func TestFileMode(t *testing.T) {
	tests := []struct {
		value   string // TOML value of unix_socket_perm
		want    FileMode
		wantErr bool
	}{
		{"0o660", 0o660, false},
		{`"0660"`, 0o660, false},
		{`"660"`, 0o660, false},
		{`"0o600"`, 0o600, false},
		{"432", 0o660, false}, // decimal value of 0o660
		{"660", 0, true},      // decimal 660 = 0o1224: not what anyone meant
		{`"0999"`, 0, true},
		{`""`, 0, true},
		{"-1", 0, true},
		{"6.6", 0, true},
		{"0660", 0, true}, // the spec's spelling is not valid TOML; the error says what to write
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := LoadWithEnv(writeFile(t, "[mysql]\nunix_socket_perm = "+tt.value+"\n"), nil)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %v", c.MySQL.UnixSocketPerm)
				}
				if !strings.Contains(err.Error(), "unix_socket_perm") || !strings.Contains(err.Error(), `0o660 or "0660"`) {
					t.Errorf("error %q does not name the key and the fix", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.MySQL.UnixSocketPerm != tt.want {
				t.Fatalf("got %v, want %v", c.MySQL.UnixSocketPerm, tt.want)
			}
		})
	}
	if s := FileMode(0o660).String(); s != "0660" {
		t.Errorf("String() = %q", s)
	}
	if p := FileMode(0o660).Perm(); p != 0o660 {
		t.Errorf("Perm() = %v", p)
	}
}

func TestDurations(t *testing.T) {
	c := Default()
	tests := []struct {
		name      string
		got, want time.Duration
	}{
		{"lock wait", c.Transaction.LockWaitTimeout(), 50 * time.Second},
		{"prepare", c.Coordinator.PrepareTimeout(), 2 * time.Second},
		{"clock skew", c.Cluster.MaxClockSkew(), 500 * time.Millisecond},
		{"gc min", c.Replication.GCMinRetention(), 2 * time.Hour},
		{"sink poll", DefaultSink().PollInterval(), 10 * time.Millisecond},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if a := c.MySQL.Addr(); a != "0.0.0.0:3306" {
		t.Errorf("MySQL.Addr() = %q", a)
	}
	if a := c.Cluster.GRPCAddr(); a != "0.0.0.0:8080" {
		t.Errorf("Cluster.GRPCAddr() = %q", a)
	}
	if p := c.Cluster.GossipPort(); p != 9080 {
		t.Errorf("default Cluster.GossipPort() = %d, want grpc_port + 1000 = 9080", p)
	}
	c.Cluster.GossipPortSetting = 7946
	if a := c.Cluster.GossipAddr(); a != "0.0.0.0:7946" {
		t.Errorf("Cluster.GossipAddr() = %q", a)
	}
}

func TestRedacted(t *testing.T) {
	c := Default()
	c.Cluster.ClusterSecret, c.Replica.Secret = "s1", "s2"
	c.MySQL.Users = []MySQLUser{{"a", "pw"}, {"b", ""}}
	c.Publisher.Sinks = []SinkConfig{{NATSURL: "nats://u:p@h:4222"}}
	r := c.Redacted()
	if r.Publisher.Sinks[0].NATSURL != "nats://u:xxxxx@h:4222" || c.Publisher.Sinks[0].NATSURL != "nats://u:p@h:4222" {
		t.Errorf("nats_url: redacted %q, original %q", r.Publisher.Sinks[0].NATSURL, c.Publisher.Sinks[0].NATSURL)
	}
	if r.Cluster.ClusterSecret != "REDACTED" || r.Replica.Secret != "REDACTED" ||
		r.MySQL.Users[0].Password != "REDACTED" || r.MySQL.Users[1].Password != "" {
		t.Fatalf("Redacted() = %+v", r)
	}
	if c.MySQL.Users[0].Password != "pw" {
		t.Fatal("Redacted modified the original")
	}
}

func TestEnvIndexesAnExistingEntry(t *testing.T) {
	path := writeFile(t, "[[publisher.sinks]]\nname = \"a\"\ntype = \"nats\"\nnats_url = \"nats://a:4222\"\n"+
		"[[publisher.sinks]]\nname = \"b\"\ntype = \"nats\"\nnats_url = \"nats://b:4222\"\n")
	c := mustLoad(t, path, map[string]string{"MARMOT_PUBLISHER_SINKS_1_BATCH_SIZE": "5"})
	if got := []int{c.Publisher.Sinks[0].BatchSize, c.Publisher.Sinks[1].BatchSize}; got[0] != 100 || got[1] != 5 {
		t.Fatalf("batch sizes = %v, want [100 5]", got)
	}
}
