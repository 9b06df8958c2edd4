package e2e

import (
	"strings"
	"testing"
)

// TestMySQLCLI drives a real marmotd with the mysql command-line client:
// what a user types in a first session.
func TestMySQLCLI(t *testing.T) {
	n := StartNode(t)
	steps := []struct {
		name  string
		input string
		want  []string // substrings of the output
		fail  string   // expected error substring; "" = must succeed
	}{
		{"connect queries", "SELECT @@version_comment LIMIT 1; SELECT DATABASE();", []string{"marmot"}, ""},
		{"default database", "SHOW DATABASES;", []string{"marmot", "information_schema"}, ""},
		{"create database", "CREATE DATABASE shop; SHOW DATABASES LIKE 'sh%';", []string{"shop"}, ""},
		{"create table", "USE shop; CREATE TABLE items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, price DECIMAL(10,2), created DATETIME DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4; SHOW TABLES;", []string{"items"}, ""},
		{"insert", "USE shop; INSERT INTO items (name, price) VALUES ('apple', 1.25), ('pear', 2.50); INSERT INTO items (id, name, price) VALUES (0, 'plum', 3); SELECT name, price FROM items ORDER BY name;", []string{"apple", "pear", "plum", "1.25"}, ""},
		{"update", "USE shop; UPDATE items SET price = 9.99 WHERE name = 'pear'; SELECT price FROM items WHERE name='pear';", []string{"9.99"}, ""},
		{"delete", "USE shop; DELETE FROM items WHERE name = 'plum'; SELECT COUNT(*) AS n FROM items;", []string{"2"}, ""},
		{"rollback leaves nothing", "USE shop; BEGIN; INSERT INTO items (name) VALUES ('ghost'); ROLLBACK; SELECT COUNT(*) AS ghosts FROM items WHERE name='ghost';", []string{"ghosts\n0"}, ""},
		{"commit", "USE shop; START TRANSACTION; INSERT INTO items (name) VALUES ('kiwi'); UPDATE items SET price=1 WHERE name='kiwi'; COMMIT; SELECT name, price FROM items WHERE name='kiwi';", []string{"kiwi\t1"}, ""},
		{"describe", "USE shop; DESCRIBE items;", []string{"name", "PRI"}, ""},
		{"vertical output", "USE shop; SELECT * FROM items WHERE name='apple'\\G", []string{"name: apple"}, ""},
		{"syntax error", "SELEC 1;", nil, "ERROR 1064"},
		{"unknown table", "USE shop; SELECT * FROM nope;", nil, "ERROR 1146"},
		{"unknown database", "USE nowhere;", nil, "ERROR 1049"},
		{"duplicate key", "USE shop; CREATE TABLE u (id INT PRIMARY KEY); INSERT INTO u VALUES (1); INSERT INTO u VALUES (1);", nil, "ERROR 1062"},
		{"node still serves", "SELECT 1+1 AS two;", []string{"two\n2"}, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			out, err := n.MySQL(t, s.input)
			if s.fail != "" {
				if err == nil || !strings.Contains(out, s.fail) {
					t.Fatalf("want %q, got err=%v output:\n%s", s.fail, err, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("mysql: %v\n%s\nserver log:\n%s", err, out, n.Logs())
			}
			for _, w := range s.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
