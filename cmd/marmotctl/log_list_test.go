package main

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

func TestLogListText(t *testing.T) {
	dir := fixture(t)
	got := lines(runCmd(t, runLogList, "--data-dir", dir))
	want := []string{
		"1700000000000.0@7  2023-11-14T22:13:20.000Z  origin=7 seq=1 db=app kind=create-db tables=- ins=0 upd=0 del=0 txn=01010101",
		"1700000000000.1@7  2023-11-14T22:13:20.000Z  origin=7 seq=2 db=app kind=ddl tables=users ins=0 upd=0 del=0 txn=02020202",
		"1700000000000.2@7  2023-11-14T22:13:20.000Z  origin=7 seq=3 db=app kind=rows tables=users ins=2 upd=0 del=0 txn=03030303",
		"1700000000000.3@7  2023-11-14T22:13:20.000Z  origin=7 seq=4 db=app kind=rows tables=users ins=0 upd=1 del=1 txn=04040404",
		"1700000000000.4@7  2023-11-14T22:13:20.000Z  origin=7 seq=5 db=shop kind=create-db tables=- ins=0 upd=0 del=0 txn=05050505",
		"1700000000000.5@7  2023-11-14T22:13:20.000Z  origin=7 seq=6 db=shop kind=ddl tables=items ins=0 upd=0 del=0 txn=06060606",
		"1700000000000.6@7  2023-11-14T22:13:20.000Z  origin=7 seq=7 db=shop kind=rows tables=items ins=1 upd=0 del=0 txn=07070707",
		"1700000000005.0@9  2023-11-14T22:13:20.005Z  origin=9 seq=1 db=app kind=rows tables=users ins=1 upd=0 del=0 txn=08080808",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// seqsOf extracts "origin/seq" of each listed line, for filter tests.
func seqsOf(out string) []string {
	var s []string
	for _, l := range lines(out) {
		var origin, seq string
		for _, f := range strings.Fields(l) {
			if v, ok := strings.CutPrefix(f, "origin="); ok {
				origin = v
			}
			if v, ok := strings.CutPrefix(f, "seq="); ok {
				seq = v
			}
		}
		s = append(s, origin+"/"+seq)
	}
	return s
}

func TestLogListFilters(t *testing.T) {
	dir := fixture(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"db", []string{"--db", "shop"}, []string{"7/5", "7/6", "7/7"}},
		{"origin", []string{"--origin", "9"}, []string{"9/1"}},
		{"origin and db", []string{"--origin", "7", "--db", "app"}, []string{"7/1", "7/2", "7/3", "7/4"}},
		{"origin and other db", []string{"--origin", "9", "--db", "shop"}, nil},
		{"since full hlc", []string{"--since", "1700000000000.5@7"}, []string{"7/6", "7/7", "9/1"}},
		{"since wall.logical", []string{"--since", "1700000000000.6"}, []string{"7/7", "9/1"}},
		{"since time", []string{"--since", "2023-11-14T22:13:20.001Z"}, []string{"9/1"}},
		{"since with origin", []string{"--origin", "7", "--since", "1700000000000.5"}, []string{"7/6", "7/7"}},
		{"limit", []string{"--limit", "2"}, []string{"7/1", "7/2"}},
		{"db and limit", []string{"--db", "app", "--since", "1700000000000.3", "--limit", "2"}, []string{"7/4", "9/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := seqsOf(runCmd(t, runLogList, append([]string{"--data-dir", dir}, tt.args...)...))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLogListJSON(t *testing.T) {
	dir := fixture(t)
	out := runCmd(t, runLogList, "--data-dir", dir, "--json", "--db", "app")
	var got []summary
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var s summary
		if err := dec.Decode(&s); err != nil {
			t.Fatalf("decode %q: %v", out, err)
		}
		got = append(got, s)
	}
	if len(got) != 5 || len(lines(out)) != 5 {
		t.Fatalf("want 5 NDJSON lines, got %d objects in\n%s", len(got), out)
	}
	if s := got[3]; s.HLC != "1700000000000.3@7" || s.Time != "2023-11-14T22:13:20.000Z" || s.Origin != 7 || s.Seq != 4 ||
		s.DB != "app" || s.Kind != "rows" || !slices.Equal(s.Tables, []string{"users"}) ||
		s.Ins != 0 || s.Upd != 1 || s.Del != 1 || s.Txn != strings.Repeat("04", 16) {
		t.Fatalf("entry 4: %+v", s)
	}
	// Every field is present, also the empty ones, so consumers need no defaults.
	var raw map[string]any
	if err := json.Unmarshal([]byte(lines(out)[0]), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"hlc", "time", "origin", "seq", "db", "kind", "tables", "ins", "upd", "del", "txn"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("field %q missing from %v", k, raw)
		}
	}
	if tables, ok := raw["tables"].([]any); !ok || len(tables) != 0 {
		t.Errorf("tables of create-db = %#v, want []", raw["tables"])
	}
}

func TestLogListCancelled(t *testing.T) {
	dir := fixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	wantErr(t, runLogList(ctx, []string{"--data-dir", dir}, &out), context.Canceled, "")
}
