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
		{"DATETIME(3)", tval("2024-01-02 03:04:05.678"), "int64", "1704164645678"},
		{"DATETIME", tval("2018-06-20 06:37:03"), "int64", "1529476623000"}, // Debezium's own example
		{"DATETIME(6)", tval("2024-01-02 03:04:05.000007"), "int64", "1704164645000007"},
		{"DATETIME", tval("1969-12-31 23:59:59"), "int64", "-1000"},
		{"DATETIME", tval("0000-00-00 00:00:00"), "string", `"0000-00-00 00:00:00"`}, // zero date: not a date
		{"DATETIME", ival(20240102), "int64", "20240102"},                            // a number is no date
		{"TIMESTAMP", tval("2024-01-02 03:04:05"), "string", `"2024-01-02T03:04:05Z"`},
		{"TIMESTAMP(6)", tval("2024-01-02 03:04:05.12"), "string", `"2024-01-02T03:04:05.120000Z"`},
		{"TIMESTAMP(2)", tval("2024-01-02 03:04:05"), "string", `"2024-01-02T03:04:05.00Z"`},
		{"DATE", tval("2024-01-02"), "int32", "19724"},
		{"DATE", tval("1969-12-31"), "int32", "-1"},
		{"DATE", tval("2023-02-29"), "string", `"2023-02-29"`}, // no such day
		{"TIME", tval("03:04:05"), "int64", "11045000000"},
		{"TIME(3)", tval("-838:59:59.5"), "int64", "-3020399500000"},
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
	for decl, want := range map[string]string{
		"JSON_TEXT":    `{"type":"string","name":"io.debezium.data.Json","version":1,`,
		"YEAR":         `{"type":"int32","name":"io.debezium.time.Year","version":1,`,
		"DATE":         `{"type":"int32","name":"io.debezium.time.Date","version":1,`,
		"DATETIME(3)":  `{"type":"int64","name":"io.debezium.time.Timestamp","version":1,`,
		"DATETIME(4)":  `{"type":"int64","name":"io.debezium.time.MicroTimestamp","version":1,`,
		"TIMESTAMP":    `{"type":"string","name":"io.debezium.time.ZonedTimestamp","version":1,`,
		"TIME(6)":      `{"type":"int64","name":"io.debezium.time.MicroTime","version":1,`,
		"TINYINT(1)":   `{"type":"int16",`,
		"DECIMAL(9,2)": `{"type":"string",`,
	} {
		if s := string(appendFieldType(nil, connectType(decl))); s != want {
			t.Errorf("%s field schema %s, want %s", decl, s, want)
		}
	}
}
