package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestLogShowRows(t *testing.T) {
	dir := fixture(t)
	want := `hlc     1700000000000.3@7
time    2023-11-14T22:13:20.000Z
origin  7
seq     4
db      app
kind    rows
tables  users
rows    ins=0 upd=1 del=1
txn     04040404040404040404040404040404

update users pk=(1)
  before: id=1, name="alice"
  after:  id=1, name="alicia"

delete users pk=(2)
  before: id=2, name="bob"
`
	for _, args := range [][]string{
		{"--origin", "7", "--seq", "4"},
		{"--hlc", "1700000000000.3@7"},
		{"--hlc", "1700000000000.3"},
	} {
		got := runCmd(t, runLogShow, append([]string{"--data-dir", dir}, args...)...)
		if got != want {
			t.Fatalf("%v: got\n%s\nwant\n%s", args, got, want)
		}
	}
}

func TestLogShowDDLAndTypes(t *testing.T) {
	dir := fixture(t)
	got := runCmd(t, runLogShow, "--data-dir", dir, "--origin", "7", "--seq", "6")
	if !strings.Contains(got, "kind    ddl\n") ||
		!strings.Contains(got, "ddl     CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, price REAL, img BLOB, note TEXT)\n") {
		t.Fatalf("ddl entry:\n%s", got)
	}
	got = runCmd(t, runLogShow, "--data-dir", dir, "--origin", "7", "--seq", "7")
	if !strings.Contains(got, "insert items pk=(1)\n  after:  id=1, price=9.5, img=x'00ff', note=NULL\n") {
		t.Fatalf("typed values:\n%s", got)
	}
}

func TestLogShowJSON(t *testing.T) {
	dir := fixture(t)
	var d struct {
		summary
		DDL  string `json:"ddl"`
		Rows []struct {
			Table  string           `json:"table"`
			Op     string           `json:"op"`
			PK     []map[string]any `json:"pk"`
			Before []map[string]any `json:"before"`
			After  []map[string]any `json:"after"`
		} `json:"rows"`
	}
	out := runCmd(t, runLogShow, "--data-dir", dir, "--hlc", "1700000000000.3@7", "--json")
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if d.HLC != "1700000000000.3@7" || d.Seq != 4 || d.Kind != "rows" || len(d.Rows) != 2 {
		t.Fatalf("header: %+v", d)
	}
	upd := d.Rows[0]
	if upd.Table != "users" || upd.Op != "update" || upd.PK[0]["type"] != "int" || upd.PK[0]["value"] != 1.0 || upd.PK[0]["column"] != nil {
		t.Fatalf("update row: %+v", upd)
	}
	if upd.Before[1]["column"] != "name" || upd.Before[1]["value"] != "alice" || upd.After[1]["value"] != "alicia" {
		t.Fatalf("update images: %+v", upd)
	}
	if del := d.Rows[1]; del.Op != "delete" || del.After != nil || len(del.Before) != 2 {
		t.Fatalf("delete row: %+v", del)
	}

	out = runCmd(t, runLogShow, "--data-dir", dir, "--origin", "7", "--seq", "7", "--json")
	d.Rows = nil
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	after := d.Rows[0].After
	wantAfter := []map[string]any{
		{"column": "id", "type": "int", "value": 1.0},
		{"column": "price", "type": "real", "value": 9.5},
		{"column": "img", "type": "blob", "hex": "00ff"},
		{"column": "note", "type": "null"},
	}
	for i, w := range wantAfter {
		if len(after[i]) != len(w) {
			t.Fatalf("after[%d] = %v, want %v", i, after[i], w)
		}
		for k, v := range w {
			if after[i][k] != v {
				t.Fatalf("after[%d] = %v, want %v", i, after[i], w)
			}
		}
	}

	out = runCmd(t, runLogShow, "--data-dir", dir, "--origin", "7", "--seq", "2", "--json")
	d.Rows = nil
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	if d.DDL != "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)" || len(d.Rows) != 0 {
		t.Fatalf("ddl json: %s", out)
	}
}

func TestLogShowErrors(t *testing.T) {
	dir := fixture(t)
	var ue *usageError
	tests := []struct {
		name   string
		args   []string
		target error
		substr string
	}{
		{"nothing named", nil, nil, "either --hlc or --origin"},
		{"both", []string{"--hlc", "1.0@7", "--origin", "7", "--seq", "1"}, nil, "either --hlc or --origin"},
		{"seq without origin", []string{"--seq", "3"}, nil, "go together"},
		{"time", []string{"--hlc", "2023-11-14T22:13:20Z"}, nil, "names no single change set"},
		{"bad hlc", []string{"--hlc", "yesterday"}, nil, "invalid HLC"},
		{"missing hlc", []string{"--hlc", "1700000000000.9@7"}, txlog.ErrNotFound, "1700000000000.9@7"},
		{"missing clock", []string{"--hlc", "1700000000000.9"}, txlog.ErrNotFound, "1700000000000.9"},
		{"missing seq", []string{"--origin", "7", "--seq", "99"}, txlog.ErrNotFound, "seq 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			err := runLogShow(context.Background(), append([]string{"--data-dir", dir}, tt.args...), &out)
			wantErr(t, err, tt.target, tt.substr)
			if tt.target == nil && !errors.As(err, &ue) {
				t.Fatalf("%v is not a usage error", err)
			}
		})
	}
}

func TestLogShowAmbiguous(t *testing.T) {
	dir := t.TempDir()
	l := mustOpenLog(t, dir)
	mustCommit(t, l, insertUser(1, "a")) // fixtureWall.0@7
	peer := insertUser(2, "b")
	peer.Origin, peer.Seq, peer.Hlc = peerNode, 1, &marmotv1.HLC{WallMs: fixtureWall, NodeId: peerNode}
	if err := l.Ingest(context.Background(), peer); err != nil {
		t.Fatal(err)
	}
	l.Close()
	var out bytes.Buffer
	err := runLogShow(context.Background(), []string{"--data-dir", dir, "--hlc", "1700000000000.0"}, &out)
	wantErr(t, err, nil, "ambiguous: 1700000000000.0@7, 1700000000000.0@9; add @node")
	got := runCmd(t, runLogShow, "--data-dir", dir, "--hlc", "1700000000000.0@9")
	if !strings.Contains(got, "origin  9\n") {
		t.Fatalf("got\n%s", got)
	}
}
