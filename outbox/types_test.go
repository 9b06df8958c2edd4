package outbox

import (
	"testing"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func rval(f float64) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Real{Real: f}} }

// TestTypeFidelity: declared types (as the transpiler writes them) map to
// the Connect types Debezium's MySQL connector uses, and values are
// written in them; a value that does not fit falls back to its storage
// class.
func TestTypeFidelity(t *testing.T) {
	cases := []struct {
		decl string
		v    *marmotv1.Value
		typ  string // schema type
		json string // value as written
	}{
		{"INT", ival(7), "int32", "7"},
		{"INT", ival(1 << 40), "int64", "1099511627776"}, // does not fit: storage class
		{"INT UNSIGNED", ival(4000000000), "int64", "4000000000"},
		{"INTEGER", ival(1 << 40), "int64", "1099511627776"},
		{"BIGINT", ival(-5), "int64", "-5"},
		{"TINYINT(1)", ival(1), "int16", "1"},
		{"SMALLINT", ival(300), "int16", "300"},
		{"MEDIUMINT", ival(70000), "int32", "70000"},
		{"DECIMAL(10,2)", rval(2.5), "string", `"2.50"`},
		{"DECIMAL(10,2)", ival(3), "string", `"3.00"`},
		{"DECIMAL(5)", ival(42), "string", `"42"`},
		{"DOUBLE", rval(1.25), "double", "1.25"},
		{"FLOAT", rval(0.5), "float", "0.5"},
		{"DATETIME(3)", tval("2024-01-02 03:04:05.678"), "string", `"2024-01-02 03:04:05.678"`},
		{"TIMESTAMP", tval("2024-01-02 03:04:05"), "string", `"2024-01-02 03:04:05"`},
		{"DATE", tval("2024-01-02"), "string", `"2024-01-02"`},
		{"YEAR", ival(2024), "int32", "2024"},
		{"JSON_TEXT", tval(`{"a":1}`), "string", `"{\"a\":1}"`},
		{"VARBINARY_BLOB(4)", &marmotv1.Value{Kind: &marmotv1.Value_Blob{Blob: []byte{1, 2}}}, "bytes", `"AQI="`},
		{"VARCHAR(20)", tval("x"), "string", `"x"`},
	}
	for _, c := range cases {
		rc := &marmotv1.RowChange{Columns: []string{"c"}, After: []*marmotv1.Value{c.v}}
		types := columnTypes(rc, Table{Types: map[string]string{"c": c.decl}}, true)
		if got := baseType(types[0]); got != c.typ {
			t.Errorf("%s %v: type %s (%s), want %s", c.decl, c.v, got, types[0], c.typ)
		}
		if got := string(appendValue(nil, c.v, types[0])); got != c.json {
			t.Errorf("%s %v: value %s, want %s", c.decl, c.v, got, c.json)
		}
	}
	if s := string(appendFieldType(nil, typeJSON)); s != `{"type":"string","name":"io.debezium.data.Json","version":1,` {
		t.Errorf("JSON field schema %s", s)
	}
}
