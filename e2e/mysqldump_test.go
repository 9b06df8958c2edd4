package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMysqldumpRoundTrip dumps a database with mysqldump, restores the dump
// into a fresh database through marmotd with the mysql CLI, and compares
// every row and the schema.
func TestMysqldumpRoundTrip(t *testing.T) {
	need(t, "mysqldump", "mariadb-client")
	n := StartNode(t)
	setup := `CREATE DATABASE src; USE src;
CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2),
  made DATETIME, day DATE, data BLOB, note TEXT, kind ENUM('a','b') DEFAULT 'a',
  KEY name_idx (name), UNIQUE KEY uq (name, price)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE tags (item_id BIGINT NOT NULL, tag VARCHAR(20) NOT NULL, PRIMARY KEY (item_id, tag));
INSERT INTO items (name, price, made, day, data, note, kind) VALUES
  ('apple', 1.25, '2024-01-02 03:04:05', '2024-01-02', x'00ff10', 'line1\nline2', 'b'),
  ('pe''ar \\ "q"', 2.5, NULL, NULL, NULL, NULL, 'a'),
  ('plum', 3, '0000-00-00 00:00:00', '0000-00-00', '', 'ünïcödé ✓', 'a');
INSERT INTO tags SELECT id, 'fruit' FROM items;
`
	if out, err := n.MySQL(t, setup); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	dump := filepath.Join(t.TempDir(), "dump.sql")
	cmd := exec.Command("mysqldump", "--protocol=TCP", "-h", "127.0.0.1", "-P", fmt.Sprint(n.MySQLPort), "-u", "root", "--skip-ssl", "src")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("mysqldump: %v\n%s", err, cmd.Stderr)
	}
	os.WriteFile(dump, out, 0o644)
	if !strings.Contains(string(out), "CREATE TABLE `items`") || !strings.Contains(string(out), "INSERT INTO `tags`") {
		t.Fatalf("dump lacks schema or data:\n%s", out)
	}
	if out, err := n.MySQL(t, "CREATE DATABASE dst;"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := n.MySQL(t, string(out), "dst"); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	for _, q := range []string{
		"SELECT id, name, price, made, day, HEX(data), note, kind FROM %s.items ORDER BY id",
		"SELECT * FROM %s.tags ORDER BY item_id, tag",
		"SHOW CREATE TABLE %s.items",
	} {
		a, err1 := n.MySQL(t, fmt.Sprintf(q, "src")+";")
		b, err2 := n.MySQL(t, fmt.Sprintf(q, "dst")+";")
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v\n%s\n%s", q, err1, err2, a, b)
		}
		if a != b {
			t.Errorf("%s differs after dump and restore:\nsource:\n%s\nrestored:\n%s", q, a, b)
		}
	}
}

// TestMySQLCLIScripts: SOURCE of a script file and SHOW WARNINGS, as a mysql
// CLI user would use them.
func TestMySQLCLIScripts(t *testing.T) {
	n := StartNode(t)
	script := filepath.Join(t.TempDir(), "script.sql")
	os.WriteFile(script, []byte("CREATE TABLE s (id INT PRIMARY KEY, v VARCHAR(10));\nINSERT INTO s VALUES (1,'one'),(2,'two');\n"), 0o644)
	out, err := n.MySQL(t, "SOURCE "+script+"\nSELECT v FROM s ORDER BY id;\nCREATE DATABASE IF NOT EXISTS marmot;\nSHOW WARNINGS;\n", "marmot")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"one", "two", "1007"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
