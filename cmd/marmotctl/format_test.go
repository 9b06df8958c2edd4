package main

import (
	"encoding/json"
	"math"
	"slices"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func TestParseHLC(t *testing.T) {
	tests := []struct {
		in   string
		want txlog.Timestamp
		form hlcForm
		ok   bool
	}{
		{"1700000000000.3@7", txlog.Timestamp{WallMS: 1700000000000, Logical: 3, Node: 7}, hlcFull, true},
		{"1700000000000.0@18446744073709551615", txlog.Timestamp{WallMS: 1700000000000, Node: math.MaxUint64}, hlcFull, true},
		{"1700000000000.3", txlog.Timestamp{WallMS: 1700000000000, Logical: 3}, hlcNoNode, true},
		{"1700000000000", txlog.Timestamp{WallMS: 1700000000000}, hlcNoNode, true},
		{"0.0@1", txlog.Timestamp{Node: 1}, hlcFull, true},
		{"2023-11-14T22:13:20Z", txlog.Timestamp{WallMS: 1700000000000}, hlcTime, true},
		{"2023-11-14T22:13:20.005Z", txlog.Timestamp{WallMS: 1700000000005}, hlcTime, true},
		{"2023-11-14T23:13:20.005+01:00", txlog.Timestamp{WallMS: 1700000000005}, hlcTime, true},
		{"2023-11-14T22:13:20.0059Z", txlog.Timestamp{WallMS: 1700000000005}, hlcTime, true}, // sub-ms truncates
		{"", txlog.Timestamp{}, 0, false},
		{"1700000000000@7", txlog.Timestamp{}, 0, false}, // logical missing
		{"1700000000000.3@", txlog.Timestamp{}, 0, false},
		{"1700000000000.3@x", txlog.Timestamp{}, 0, false},
		{"1700000000000.x", txlog.Timestamp{}, 0, false},
		{"1700000000000.4294967296", txlog.Timestamp{}, 0, false}, // logical is 32 bits
		{"1.2.3", txlog.Timestamp{}, 0, false},
		{"-5.0@1", txlog.Timestamp{}, 0, false},
		{"2023-11-14", txlog.Timestamp{}, 0, false},
		{"yesterday", txlog.Timestamp{}, 0, false},
	}
	for _, tt := range tests {
		got, form, err := parseHLC(tt.in)
		if (err == nil) != tt.ok || got != tt.want || form != tt.form {
			t.Errorf("parseHLC(%q) = %v, %v, %v; want %v, %v, ok=%v", tt.in, got, form, err, tt.want, tt.form, tt.ok)
		}
	}
}

// A printed HLC parses back to itself.
func TestParseHLCRoundTrip(t *testing.T) {
	for _, ts := range []txlog.Timestamp{{}, {WallMS: 1, Logical: 2, Node: 3}, {WallMS: math.MaxInt64, Logical: math.MaxUint32, Node: math.MaxUint64}} {
		got, form, err := parseHLC(ts.String())
		if err != nil || got != ts || form != hlcFull {
			t.Errorf("parseHLC(%q) = %v, %v, %v", ts.String(), got, form, err)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		wall int64
		want string
	}{
		{0, "1970-01-01T00:00:00.000Z"},
		{1700000000000, "2023-11-14T22:13:20.000Z"},
		{1700000000042, "2023-11-14T22:13:20.042Z"},
	}
	for _, tt := range tests {
		if got := formatTime(txlog.Timestamp{WallMS: tt.wall, Logical: 9, Node: 1}); got != tt.want {
			t.Errorf("formatTime(%d) = %s, want %s", tt.wall, got, tt.want)
		}
	}
}

func TestShortID(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{nil, "-"},
		{[]byte{0xab}, "ab"},
		{[]byte{1, 2, 3, 4, 5, 6}, "01020304"},
	}
	for _, tt := range tests {
		if got := shortID(tt.in); got != tt.want {
			t.Errorf("shortID(%x) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestKindAndTables(t *testing.T) {
	tests := []struct {
		name   string
		cs     *marmotv1.ChangeSet
		kind   string
		tables []string
	}{
		{"create", &marmotv1.ChangeSet{DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_CREATE}, "create-db", nil},
		{"drop", &marmotv1.ChangeSet{DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_DROP}, "drop-db", nil},
		{"ddl", &marmotv1.ChangeSet{Ddl: "DROP TABLE IF EXISTS b", DdlTables: []string{"b", "a"}}, "ddl", []string{"a", "b"}},
		{"rows", &marmotv1.ChangeSet{Rows: []*marmotv1.RowChange{{Table: "t2"}, {Table: "t1"}, {Table: "t2"}}}, "rows", []string{"t1", "t2"}},
		{"empty", &marmotv1.ChangeSet{}, "rows", nil},
	}
	for _, tt := range tests {
		if got := kindOf(tt.cs); got != tt.kind {
			t.Errorf("%s: kind %s, want %s", tt.name, got, tt.kind)
		}
		if got := tablesOf(tt.cs); !slices.Equal(got, tt.tables) {
			t.Errorf("%s: tables %v, want %v", tt.name, got, tt.tables)
		}
	}
}

func TestAssignments(t *testing.T) {
	tests := []struct {
		cols []string
		vals []*marmotv1.Value
		want string
	}{
		{[]string{"id", "name"}, []*marmotv1.Value{vInt(1), vText("a b")}, `id=1, name="a b"`},
		{[]string{"r", "b", "n"}, []*marmotv1.Value{vReal(0.5), vBlob([]byte{0xde, 0xad}), vNull()}, `r=0.5, b=x'dead', n=NULL`},
		{[]string{"id"}, []*marmotv1.Value{vInt(1), vInt(2)}, `id=1, #1=2`},
		{nil, nil, ``},
	}
	for _, tt := range tests {
		if got := assignments(tt.cols, tt.vals); got != tt.want {
			t.Errorf("assignments(%v) = %s, want %s", tt.cols, got, tt.want)
		}
	}
	if got := tuple([]*marmotv1.Value{vInt(1), vText("x")}); got != `(1,"x")` {
		t.Errorf("tuple = %s", got)
	}
}

func TestJSONValue(t *testing.T) {
	tests := []struct {
		v    *marmotv1.Value
		want string
	}{
		{vInt(-3), `{"column":"c","type":"int","value":-3}`},
		{vInt(math.MaxInt64), `{"column":"c","type":"int","value":9223372036854775807}`},
		{vReal(1.25), `{"column":"c","type":"real","value":1.25}`},
		{vReal(math.Inf(1)), `{"column":"c","type":"real","value":"+Inf"}`},
		{vText("héllo"), `{"column":"c","type":"text","value":"héllo"}`},
		{vText(""), `{"column":"c","type":"text","value":""}`},
		{&marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte{0xff, 'a'}}}, `{"column":"c","type":"text","hex":"ff61"}`},
		{vBlob([]byte{0, 1}), `{"column":"c","type":"blob","hex":"0001"}`},
		{vNull(), `{"column":"c","type":"null"}`},
		{nil, `{"column":"c","type":"null"}`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(toJSONValue("c", tt.v))
		if err != nil || string(b) != tt.want {
			t.Errorf("toJSONValue(%v) = %s, %v; want %s", tt.v, b, err, tt.want)
		}
	}
}

func TestWatermarkString(t *testing.T) {
	tests := []struct {
		w    txlog.Watermark
		want string
	}{
		{nil, "nothing"},
		{txlog.Watermark{9: 1, 7: 12}, "7:12 9:1"},
	}
	for _, tt := range tests {
		if got := watermarkString(tt.w); got != tt.want {
			t.Errorf("watermarkString(%v) = %s, want %s", tt.w, got, tt.want)
		}
	}
}
