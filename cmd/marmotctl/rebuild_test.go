package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	_ "github.com/mattn/go-sqlite3" // "sqlite3" driver to inspect the rebuilt file
)

// usersIn reads app.users from a SQLite file as "id:name" strings.
func usersIn(t *testing.T, path string) []string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query("SELECT id, name FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+":"+name)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRebuild(t *testing.T) {
	dir := fixture(t)
	path := filepath.Join(dir, "db", "app.db")
	want := []string{"1:alicia", "3:carol"}

	got := runCmd(t, runRebuild, "--data-dir", dir, "--db", "app")
	if wantOut := "rebuilt app (" + path + ") from the log; applied origin:seq 7:4 9:1\n"; got != wantOut {
		t.Fatalf("got %q, want %q", got, wantOut)
	}
	if rows := usersIn(t, path); !slices.Equal(rows, want) {
		t.Fatalf("after first rebuild: %v, want %v", rows, want)
	}

	// Damage the file behind the log's back; a rebuild restores it.
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("DELETE FROM users WHERE id = 1; INSERT INTO users VALUES (99, 'stray')"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	runCmd(t, runRebuild, "--data-dir", dir, "--db", "app")
	if rows := usersIn(t, path); !slices.Equal(rows, want) {
		t.Fatalf("after second rebuild: %v, want %v", rows, want)
	}
}

func TestRebuildRefusesUnknownDatabase(t *testing.T) {
	dir := fixture(t)
	// A file the log knows nothing about must survive.
	if err := os.MkdirAll(filepath.Join(dir, "db"), 0o755); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join(dir, "db", "orphan.db")
	if err := os.WriteFile(orphan, []byte("not rebuilt"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := runRebuild(context.Background(), []string{"--data-dir", dir, "--db", "orphan"}, &out)
	wantErr(t, err, nil, `no change sets for database "orphan"`)
	if _, err := os.Stat(orphan); err != nil {
		t.Fatalf("orphan file: %v", err)
	}
	err = runRebuild(context.Background(), []string{"--data-dir", dir, "--db", "a/b"}, &out)
	wantErr(t, err, nil, "not a database name")
	err = runRebuild(context.Background(), []string{"--data-dir", dir}, &out)
	wantErr(t, err, nil, "--db is required")
}
