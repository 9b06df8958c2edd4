package outbox

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Message is one record handed to a sink.
type Message struct {
	// Topic is the Kafka topic or NATS subject.
	Topic string
	// Key is the record key: the Debezium key message (the row's primary
	// key) for row events, the database for schema changes, the origin for
	// cursor records. Kafka partitions by it, so one row's events stay in
	// one partition, in order.
	Key []byte
	// Value is the Debezium envelope; nil is a tombstone (Kafka log
	// compaction drops the key's earlier records; other sinks skip it).
	Value []byte
	// ID is unique per event cluster-wide and identical when the event is
	// sent again (after a retry, a restart or a takeover): the change set
	// id, the row's index in it, and a suffix for tombstones and schema
	// changes. NATS JetStream de-duplicates on it (Nats-Msg-Id); Kafka
	// records carry it in the marmot.id header.
	ID string
	// Cursor marks a publisher position record (cursors.go), not an event.
	Cursor bool
	// PartitionKey, when set, is what a partitioned sink hashes instead of
	// Key: the row's table and primary-key values, which do not change when
	// the key's schema does (a value outgrowing int32, a table not yet in
	// the catalog), so every event of one row goes to one partition.
	PartitionKey []byte
}

// Connect (Kafka Connect schema) types used in the envelopes. A column's
// type may carry a suffix after '#' naming a Debezium semantic type:
// "decimal#S" is a DECIMAL of scale S, sent as a string with S decimals
// (Debezium's decimal.handling.mode = string); the others add the schema
// name semanticNames gives them, and the temporal ones convert MySQL's
// text to Debezium's value (time.precision.mode =
// adaptive_time_microseconds, the MySQL connector's default).
const (
	typeInt16  = "int16"
	typeInt32  = "int32"
	typeInt64  = "int64"
	typeFloat  = "float"
	typeDouble = "double"
	typeString = "string"
	typeBytes  = "bytes"
	typeJSON   = "string#json"
	typeYear   = "int32#year"
	decimalPre = "decimal#"
	// DATE: days since 1970-01-01.
	typeDate = "int32#date"
	// DATETIME(0..3): milliseconds since the epoch, the wall time read as UTC.
	typeTimestamp = "int64#timestamp"
	// DATETIME(4..6): microseconds since the epoch, as UTC.
	typeMicroTimestamp = "int64#microtimestamp"
	// TIME(0..6): microseconds, signed (MySQL TIME is a duration up to ±838 h).
	typeMicroTime = "int64#microtime"
	// TIMESTAMP(fsp): ISO 8601 in UTC with fsp decimals ("2024-01-02T03:04:05.678Z"
	// for TIMESTAMP(3)); the type is this prefix and fsp. marmot runs every
	// session at time_zone +00:00, so the stored text is UTC.
	zonedPre = "string#zoned"
)

// semanticNames are Debezium's schema names of the '#' types.
var semanticNames = map[string]string{
	typeJSON:           "io.debezium.data.Json",
	typeYear:           "io.debezium.time.Year",
	typeDate:           "io.debezium.time.Date",
	typeTimestamp:      "io.debezium.time.Timestamp",
	typeMicroTimestamp: "io.debezium.time.MicroTimestamp",
	typeMicroTime:      "io.debezium.time.MicroTime",
}

// Table is what a Catalog knows about a table: its primary key columns in
// key order and each column's declared (MySQL) type.
type Table struct {
	PK    []string
	Types map[string]string
}

// Catalog describes tables, so keys name the primary-key columns and
// schemas carry declared types. It may be nil: keys then name the columns
// whose values match the key (in column order) and field types follow the
// values' SQLite storage classes.
//
// Table is called from the publisher goroutine only; Forget when a schema
// change of db was published (its cached tables may be stale).
type Catalog interface {
	Table(db, table string) (Table, bool)
	Forget(db string)
}

// connectType maps a column's SQLite declared type, which keeps the MySQL
// type's name (frontend/transpile: "INT", "BIGINT UNSIGNED", "TINYINT(1)",
// "DECIMAL(10,2)", "VARBINARY_BLOB(16)", "JSON_TEXT", "DATETIME(3)"), to
// the Connect type Debezium's MySQL connector gives that MySQL type; "" when
// unknown. INTEGER (an AUTO_INCREMENT key, a 64-bit rowid) is int64.
func connectType(decl string) string {
	d := strings.ToUpper(strings.TrimSpace(decl))
	unsigned := strings.Contains(d, "UNSIGNED")
	args := ""
	if i := strings.IndexByte(d, '('); i >= 0 {
		if j := strings.IndexByte(d[i:], ')'); j >= 0 {
			args = d[i+1 : i+j]
		}
	}
	if i := strings.IndexAny(d, "( "); i >= 0 {
		d = d[:i]
	}
	switch d {
	case "TINYINT", "SMALLINT", "BOOL", "BOOLEAN":
		if unsigned && d == "SMALLINT" {
			return typeInt32
		}
		return typeInt16
	case "MEDIUMINT", "INT":
		if unsigned && d == "INT" {
			return typeInt64
		}
		return typeInt32
	case "INTEGER", "BIGINT":
		return typeInt64
	case "YEAR":
		return typeYear
	case "FLOAT":
		return typeFloat
	case "DOUBLE", "REAL":
		return typeDouble
	case "DECIMAL", "NUMERIC", "DEC", "FIXED", "DECIMAL_TEXT":
		scale := "0"
		if parts := strings.Split(args, ","); len(parts) == 2 {
			if n, err := strconv.Atoi(strings.TrimSpace(parts[1])); err == nil && n >= 0 && n <= 30 {
				scale = strconv.Itoa(n)
			}
		} else if args == "" && d == "NUMERIC" {
			return typeDouble // SQLite NUMERIC: any number, no scale
		}
		return decimalPre + scale
	case "JSON", "JSON_TEXT":
		return typeJSON
	case "DATE":
		return typeDate
	case "DATETIME":
		if fsp, err := strconv.Atoi(strings.TrimSpace(args)); err == nil && fsp > 3 {
			return typeMicroTimestamp
		}
		return typeTimestamp
	case "TIMESTAMP":
		fsp, err := strconv.Atoi(strings.TrimSpace(args))
		if err != nil || fsp < 0 || fsp > 6 {
			fsp = 0
		}
		return zonedPre + strconv.Itoa(fsp)
	case "TIME":
		return typeMicroTime
	case "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "BINARY_BLOB", "VARBINARY_BLOB",
		"BIT", "BIT_BLOB", "GEOMETRY_BLOB":
		return typeBytes
	case "":
		return ""
	}
	// CHAR, VARCHAR, *TEXT, ENUM/SET (TEXT + CHECK): text.
	return typeString
}

// baseType is t without its '#' suffix: the Connect type in the schema.
func baseType(t string) string {
	if strings.HasPrefix(t, decimalPre) {
		return typeString
	}
	if i := strings.IndexByte(t, '#'); i >= 0 {
		return t[:i]
	}
	return t
}

// fits reports whether a value of SQLite storage class v can be written as
// a field of Connect type t.
func fits(t string, v *marmotv1.Value) bool {
	switch k := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		switch t {
		case typeDate, typeTimestamp, typeMicroTimestamp, typeMicroTime:
			return false // temporal values are text; a number is no date
		}
		switch baseType(t) {
		case typeInt16:
			return k.Int >= math.MinInt16 && k.Int <= math.MaxInt16
		case typeInt32:
			return k.Int >= math.MinInt32 && k.Int <= math.MaxInt32
		}
		return t == typeInt64 || t == typeDouble || t == typeFloat || strings.HasPrefix(t, decimalPre)
	case *marmotv1.Value_Real:
		return t == typeDouble || t == typeFloat || strings.HasPrefix(t, decimalPre)
	case *marmotv1.Value_Text:
		if _, ok := temporal(t, k.Text); ok {
			return true
		}
		return t == typeString || t == typeBytes || t == typeJSON
	case *marmotv1.Value_Blob:
		return t == typeBytes
	}
	return true // NULL fits any optional field
}

func storageType(v *marmotv1.Value) string {
	switch v.GetKind().(type) {
	case *marmotv1.Value_Int:
		return typeInt64
	case *marmotv1.Value_Real:
		return typeDouble
	case *marmotv1.Value_Text:
		return typeString
	case *marmotv1.Value_Blob:
		return typeBytes
	}
	return ""
}

// unify is the narrowest Connect type both a and b fit.
func unify(a, b string) string {
	switch {
	case a == "" || a == b:
		return b
	case b == "":
		return a
	case (a == typeInt64 && b == typeDouble) || (a == typeDouble && b == typeInt64):
		return typeDouble
	case (a == typeString && b == typeBytes) || (a == typeBytes && b == typeString):
		return typeBytes
	}
	return typeString // numbers and text mixed: render all as text
}

// columnTypes picks each column's Connect type: the declared type's when
// every value of the event fits it (SQLite does not enforce declared
// types), else one derived from the values' storage classes.
func columnTypes(rc *marmotv1.RowChange, t Table, known bool) []string {
	out := make([]string, len(rc.Columns))
	for i, c := range rc.Columns {
		var vals [2]*marmotv1.Value
		if i < len(rc.Before) {
			vals[0] = rc.Before[i]
		}
		if i < len(rc.After) {
			vals[1] = rc.After[i]
		}
		if known {
			if ct := connectType(t.Types[c]); ct != "" && fits(ct, vals[0]) && fits(ct, vals[1]) {
				out[i] = ct
				continue
			}
		}
		typ := unify(storageType(vals[0]), storageType(vals[1]))
		if typ == "" {
			typ = typeString
		}
		out[i] = typ
	}
	return out
}

// pkColumns names the key columns: the catalog's, or else the columns
// whose values equal the key values, taken in column order.
func pkColumns(rc *marmotv1.RowChange, t Table, known bool) []string {
	if known && len(t.PK) == len(rc.Pk) {
		return t.PK
	}
	img := rc.After
	if len(img) == 0 {
		img = rc.Before
	}
	out := make([]string, 0, len(rc.Pk))
	used := make([]bool, len(rc.Columns))
	for k, pv := range rc.Pk {
		name := "pk" + strconv.Itoa(k)
		for i := range rc.Columns {
			if !used[i] && i < len(img) && sameValue(img[i], pv) {
				used[i], name = true, rc.Columns[i]
				break
			}
		}
		out = append(out, name)
	}
	return out
}

func sameValue(a, b *marmotv1.Value) bool {
	return string(txlog.AppendValues(nil, []*marmotv1.Value{a})) == string(txlog.AppendValues(nil, []*marmotv1.Value{b}))
}

// encoder builds Debezium JSON for one sink. Schemas repeat for every
// event of a table, so they are rendered once per shape and cached. Used by
// one goroutine.
type encoder struct {
	prefix  string
	version string
	catalog Catalog
	schemas map[string][]byte // shape -> rendered "schema" JSON
}

func newEncoder(prefix, version string, catalog Catalog) *encoder {
	return &encoder{prefix: prefix, version: version, catalog: catalog, schemas: map[string][]byte{}}
}

// Topic is {prefix}.{database}.{table}.
func (e *encoder) topic(db, table string) string { return e.prefix + "." + db + "." + table }

// schemaTopic receives schema changes, as Debezium's MySQL connector
// sends them to the topic named by its prefix.
func (e *encoder) schemaTopic() string { return e.prefix }

// changeID is the dedupe id of a change set's i-th row event.
func changeID(cs *marmotv1.ChangeSet, suffix string) string {
	return hex.EncodeToString(cs.Id) + ":" + suffix
}

// rowMessages appends the messages of one row change: the event and, after
// a delete, a tombstone with the same key.
func (e *encoder) rowMessages(out []Message, cs *marmotv1.ChangeSet, i int, nowMS int64, snapshot string) []Message {
	return e.rowEvent(out, cs, i, i, nowMS, snapshot, changeID(cs, strconv.Itoa(i)))
}

// rowEvent encodes cs.Rows[i] with the given id; row is source.row (-1:
// null, for snapshot reads, which are no change set's row).
func (e *encoder) rowEvent(out []Message, cs *marmotv1.ChangeSet, i, row int, nowMS int64, snapshot, id string) []Message {
	rc := cs.Rows[i]
	var t Table
	known := false
	if e.catalog != nil {
		t, known = e.catalog.Table(cs.Database, rc.Table)
	}
	types := columnTypes(rc, t, known)
	pkNames := pkColumns(rc, t, known)
	pkTypes := make([]string, len(rc.Pk))
	for k, pv := range rc.Pk {
		pkTypes[k] = storageType(pv)
		for c, name := range rc.Columns {
			if name == pkNames[k] && fits(types[c], pv) {
				pkTypes[k] = types[c]
			}
		}
		if pkTypes[k] == "" {
			pkTypes[k] = typeString
		}
	}

	base := e.prefix + "." + cs.Database + "." + rc.Table
	key := make([]byte, 0, 128)
	key = append(key, `{"schema":`...)
	key = append(key, e.keySchema(base, pkNames, pkTypes)...)
	key = append(key, `,"payload":{`...)
	for k, pv := range rc.Pk {
		if k > 0 {
			key = append(key, ',')
		}
		key = appendString(key, pkNames[k])
		key = append(key, ':')
		key = appendValue(key, pv, pkTypes[k])
	}
	key = append(key, "}}"...)

	op := "c"
	switch {
	case snapshot != "false":
		op = "r"
	case rc.Op == marmotv1.Op_OP_UPDATE:
		op = "u"
	case rc.Op == marmotv1.Op_OP_DELETE:
		op = "d"
	}
	v := make([]byte, 0, 512)
	v = append(v, `{"schema":`...)
	v = append(v, e.valueSchema(base, rc.Columns, types)...)
	v = append(v, `,"payload":{"before":`...)
	v = appendImage(v, rc.Columns, rc.Before, types)
	v = append(v, `,"after":`...)
	v = appendImage(v, rc.Columns, rc.After, types)
	v = append(v, `,"source":`...)
	v = e.appendSource(v, cs, rc.Table, row, snapshot)
	v = append(v, `,"op":"`...)
	v = append(v, op...)
	v = append(v, `","ts_ms":`...)
	v = strconv.AppendInt(v, nowMS, 10)
	v = append(v, `,"transaction":null}}`...)

	topic := e.topic(cs.Database, rc.Table)
	pkey := txlog.AppendValues([]byte(rc.Table+"\x00"), rc.Pk)
	out = append(out, Message{Topic: topic, Key: key, Value: v, ID: id, PartitionKey: pkey})
	if op == "d" {
		out = append(out, Message{Topic: topic, Key: key, ID: id + ":t", PartitionKey: pkey})
	}
	return out
}

// ddlMessage is the schema-change event of a DDL or CREATE/DROP DATABASE
// change set, shaped like Debezium's MySQL schema change records. The
// statement is the idempotent SQLite form the log stores.
func (e *encoder) ddlMessage(cs *marmotv1.ChangeSet, nowMS int64, snapshot string) Message {
	ddl := cs.Ddl
	switch cs.DatabaseOp {
	case marmotv1.DatabaseOp_DATABASE_OP_CREATE:
		ddl = "CREATE DATABASE IF NOT EXISTS `" + cs.Database + "`"
	case marmotv1.DatabaseOp_DATABASE_OP_DROP:
		ddl = "DROP DATABASE IF EXISTS `" + cs.Database + "`"
	}
	name := e.prefix + ".SchemaChange"
	key := []byte(`{"schema":{"type":"struct","name":` + quote(name+"Key") +
		`,"optional":false,"fields":[{"type":"string","optional":false,"field":"databaseName"}]},"payload":{"databaseName":`)
	key = appendString(key, cs.Database)
	key = append(key, "}}"...)

	v := []byte(`{"schema":{"type":"struct","name":` + quote(name+"Value") + `,"optional":false,"fields":[` +
		sourceSchema + `,{"type":"int64","optional":false,"field":"ts_ms"},` +
		`{"type":"string","optional":true,"field":"databaseName"},{"type":"string","optional":false,"field":"ddl"},` +
		`{"type":"array","optional":true,"field":"tables","items":{"type":"string","optional":false}}]},"payload":{"source":`)
	table := ""
	if len(cs.DdlTables) > 0 {
		table = cs.DdlTables[0]
	}
	v = e.appendSource(v, cs, table, -1, snapshot)
	v = append(v, `,"ts_ms":`...)
	v = strconv.AppendInt(v, nowMS, 10)
	v = append(v, `,"databaseName":`...)
	v = appendString(v, cs.Database)
	v = append(v, `,"ddl":`...)
	v = appendString(v, ddl)
	v = append(v, `,"tables":[`...)
	for i, t := range cs.DdlTables {
		if i > 0 {
			v = append(v, ',')
		}
		v = appendString(v, t)
	}
	v = append(v, "]}}"...)
	return Message{Topic: e.schemaTopic(), Key: key, Value: v, ID: changeID(cs, "ddl")}
}

// sourceSchema describes the source block: Debezium's common fields plus
// marmot's position (commit HLC, origin node and sequence, change set id,
// row index) which orders and de-duplicates events.
const sourceSchema = `{"type":"struct","name":"io.debezium.connector.marmot.Source","optional":false,"field":"source","fields":[` +
	`{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},` +
	`{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},` +
	`{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,last,false,incremental"},"default":"false","field":"snapshot"},` +
	`{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"table"},` +
	`{"type":"string","optional":false,"field":"hlc"},{"type":"int64","optional":false,"field":"origin"},` +
	`{"type":"int64","optional":false,"field":"seq"},{"type":"string","optional":false,"field":"txId"},` +
	`{"type":"int32","optional":true,"field":"row"}]}`

func (e *encoder) appendSource(v []byte, cs *marmotv1.ChangeSet, table string, row int, snapshot string) []byte {
	ts := txlog.FromProto(cs.Hlc)
	v = append(v, `{"version":`...)
	v = appendString(v, e.version)
	v = append(v, `,"connector":"marmot","name":"marmot","ts_ms":`...)
	v = strconv.AppendInt(v, ts.WallMS, 10)
	v = append(v, `,"snapshot":"`...)
	v = append(v, snapshot...)
	v = append(v, `","db":`...)
	v = appendString(v, cs.Database)
	v = append(v, `,"table":`...)
	if table == "" {
		v = append(v, "null"...)
	} else {
		v = appendString(v, table)
	}
	v = append(v, `,"hlc":"`...)
	v = strconv.AppendInt(v, ts.WallMS, 10)
	v = append(v, '.')
	v = strconv.AppendUint(v, uint64(ts.Logical), 10)
	v = append(v, '.')
	v = strconv.AppendUint(v, ts.Node, 10)
	v = append(v, `","origin":`...)
	v = strconv.AppendUint(v, cs.Origin, 10)
	v = append(v, `,"seq":`...)
	v = strconv.AppendUint(v, cs.Seq, 10)
	v = append(v, `,"txId":"`...)
	v = hex.AppendEncode(v, cs.Id)
	v = append(v, `","row":`...)
	if row < 0 {
		v = append(v, "null"...)
	} else {
		v = strconv.AppendInt(v, int64(row), 10)
	}
	return append(v, '}')
}

func (e *encoder) keySchema(base string, names, types []string) []byte {
	shape := "k\x00" + base + "\x00" + strings.Join(names, "\x01") + "\x00" + strings.Join(types, "\x01")
	if s, ok := e.schemas[shape]; ok {
		return s
	}
	s := []byte(`{"type":"struct","name":` + quote(base+".Key") + `,"optional":false,"fields":[`)
	for i, n := range names {
		if i > 0 {
			s = append(s, ',')
		}
		s = appendFieldType(s, types[i])
		s = append(s, `"optional":false,"field":`...)
		s = appendString(s, n)
		s = append(s, '}')
	}
	s = append(s, "]}"...)
	e.remember(shape, s)
	return s
}

func (e *encoder) valueSchema(base string, cols, types []string) []byte {
	shape := "v\x00" + base + "\x00" + strings.Join(cols, "\x01") + "\x00" + strings.Join(types, "\x01")
	if s, ok := e.schemas[shape]; ok {
		return s
	}
	row := []byte(`"name":` + quote(base+".Value") + `,"optional":true,"fields":[`)
	for i, c := range cols {
		if i > 0 {
			row = append(row, ',')
		}
		row = appendFieldType(row, types[i])
		row = append(row, `"optional":true,"field":`...)
		row = appendString(row, c)
		row = append(row, '}')
	}
	row = append(row, ']')
	s := []byte(`{"type":"struct","name":` + quote(base+".Envelope") + `,"optional":false,"fields":[`)
	s = append(s, `{"type":"struct",`...)
	s = append(s, row...)
	s = append(s, `,"field":"before"},{"type":"struct",`...)
	s = append(s, row...)
	s = append(s, `,"field":"after"},`...)
	s = append(s, sourceSchema...)
	s = append(s, `,{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},`+
		`{"type":"struct","optional":true,"name":"event.block","version":1,"field":"transaction","fields":[`+
		`{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},`+
		`{"type":"int64","optional":false,"field":"data_collection_order"}]}]}`...)
	e.remember(shape, s)
	return s
}

// appendFieldType opens a field's schema with its type and, for semantic
// types, Debezium's name.
func appendFieldType(b []byte, t string) []byte {
	b = append(b, `{"type":"`+baseType(t)+`",`...)
	if name, ok := semanticNames[t]; ok {
		b = append(b, `"name":"`+name+`","version":1,`...)
	} else if strings.HasPrefix(t, zonedPre) {
		b = append(b, `"name":"io.debezium.time.ZonedTimestamp","version":1,`...)
	}
	return b
}

func (e *encoder) remember(shape string, s []byte) {
	if len(e.schemas) > 4096 { // shapes of dropped tables and ALTERed columns
		clear(e.schemas)
	}
	e.schemas[shape] = s
}

func appendImage(b []byte, cols []string, img []*marmotv1.Value, types []string) []byte {
	if len(img) == 0 {
		return append(b, "null"...)
	}
	b = append(b, '{')
	for i, c := range cols {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, c)
		b = append(b, ':')
		var v *marmotv1.Value
		if i < len(img) {
			v = img[i]
		}
		b = appendValue(b, v, types[i])
	}
	return append(b, '}')
}

// appendValue writes v as JSON for a field of Connect type t: bytes as
// base64 (as Kafka Connect's JSON converter does), numbers in a text
// field as their text.
func appendValue(b []byte, v *marmotv1.Value, t string) []byte {
	if strings.HasPrefix(t, decimalPre) {
		return appendDecimal(b, v, t[len(decimalPre):])
	}
	full := t
	t = baseType(t)
	switch k := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		if t == typeString {
			return append(strconv.AppendInt(append(b, '"'), k.Int, 10), '"')
		}
		return strconv.AppendInt(b, k.Int, 10)
	case *marmotv1.Value_Real:
		f := k.Real
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return append(b, "null"...)
		}
		if t == typeString {
			return append(strconv.AppendFloat(append(b, '"'), f, 'g', -1, 64), '"')
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case *marmotv1.Value_Text:
		if tv, ok := temporal(full, k.Text); ok {
			if tv.zoned != "" {
				return appendString(b, tv.zoned)
			}
			return strconv.AppendInt(b, tv.n, 10)
		}
		if t == typeBytes {
			return appendBase64(b, k.Text)
		}
		return appendString(b, string(k.Text))
	case *marmotv1.Value_Blob:
		if t == typeString {
			return appendString(b, string(k.Blob))
		}
		return appendBase64(b, k.Blob)
	}
	return append(b, "null"...)
}

// appendDecimal writes a DECIMAL value as a string with the column's
// scale, as MySQL prints it ("2.50" in DECIMAL(10,2)). marmot stores
// DECIMAL as an SQLite integer or double, so digits beyond a double's ~15
// significant ones were already lost when the row was written.
func appendDecimal(b []byte, v *marmotv1.Value, scale string) []byte {
	s, _ := strconv.Atoi(scale)
	b = append(b, '"')
	switch k := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		b = strconv.AppendInt(b, k.Int, 10)
		if s > 0 {
			b = append(b, '.')
			b = append(b, strings.Repeat("0", s)...)
		}
	case *marmotv1.Value_Real:
		if math.IsNaN(k.Real) || math.IsInf(k.Real, 0) {
			return append(b[:len(b)-1], "null"...)
		}
		b = strconv.AppendFloat(b, k.Real, 'f', s, 64)
	default:
		return append(b[:len(b)-1], "null"...)
	}
	return append(b, '"')
}

func appendBase64(b, data []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, data)
	return append(b, '"')
}

func quote(s string) string { return string(appendString(nil, s)) }

// appendString writes s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
