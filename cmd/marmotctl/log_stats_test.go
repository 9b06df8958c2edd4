package main

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestLogStatsText(t *testing.T) {
	dir := fixture(t)
	got := runCmd(t, runLogStats, "--data-dir", dir)
	want := `node     7
entries  8
oldest   1700000000000.0@7  2023-11-14T22:13:20.000Z
newest   1700000000005.0@9  2023-11-14T22:13:20.005Z

origin  durable_seq  entries
7       7            7
9       1            1

db    entries  ins  upd  del  ddl
app   5        3    1    1    1
shop  3        1    0    0    1
`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestLogStatsJSON(t *testing.T) {
	dir := fixture(t)
	var st stats
	out := runCmd(t, runLogStats, "--data-dir", dir, "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v in\n%s", err, out)
	}
	if st.Node != fixtureNode || st.Entries != 8 || st.Oldest != "1700000000000.0@7" || st.Newest != "1700000000005.0@9" ||
		st.NewestTime != "2023-11-14T22:13:20.005Z" {
		t.Fatalf("header: %+v", st)
	}
	wantOrigins := []originStats{{Origin: 7, DurableSeq: 7, Entries: 7}, {Origin: 9, DurableSeq: 1, Entries: 1}}
	if !slices.Equal(st.Origins, wantOrigins) {
		t.Fatalf("origins %+v, want %+v", st.Origins, wantOrigins)
	}
	wantDBs := []dbStats{{DB: "app", Entries: 5, Ins: 3, Upd: 1, Del: 1, DDL: 1}, {DB: "shop", Entries: 3, Ins: 1, DDL: 1}}
	if !slices.Equal(st.Databases, wantDBs) {
		t.Fatalf("databases %+v, want %+v", st.Databases, wantDBs)
	}
}

func TestLogStatsEmptyLog(t *testing.T) {
	dir := t.TempDir()
	mustOpenLog(t, dir).Close()
	got := runCmd(t, runLogStats, "--data-dir", dir)
	want := "node     7\nentries  0\n\norigin  durable_seq  entries\n\ndb  entries  ins  upd  del  ddl\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
