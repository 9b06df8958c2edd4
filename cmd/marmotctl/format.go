package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// timeLayout is RFC 3339 with milliseconds, the HLC's wall resolution.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// formatTime renders an HLC's wall time in UTC.
func formatTime(ts txlog.Timestamp) string { return ts.Time().Format(timeLayout) }

// hlcForm says how much of an HLC a user wrote.
type hlcForm int

const (
	hlcFull   hlcForm = iota // wall.logical@node: names one change set
	hlcNoNode                // wall.logical (or wall): node 0, before every node's stamp
	hlcTime                  // RFC 3339 time: wall only
)

// parseHLC reads "wall.logical@node", "wall.logical", "wall" or an RFC 3339
// time. Missing parts are zero, so the result sorts at or before every
// change set the input describes, which makes it a valid scan start.
func parseHLC(s string) (txlog.Timestamp, hlcForm, error) {
	bad := func() (txlog.Timestamp, hlcForm, error) {
		return txlog.Timestamp{}, 0, fmt.Errorf("invalid HLC %q: want wall.logical@node, wall.logical or an RFC 3339 time", s)
	}
	if s == "" {
		return bad()
	}
	if s[0] >= '0' && s[0] <= '9' && !strings.ContainsAny(s, "-:T") {
		form := hlcNoNode
		clock, node, hasNode := strings.Cut(s, "@")
		var ts txlog.Timestamp
		if hasNode {
			n, err := strconv.ParseUint(node, 10, 64)
			if err != nil {
				return bad()
			}
			ts.Node, form = n, hlcFull
		}
		wall, logical, hasLogical := strings.Cut(clock, ".")
		w, err := strconv.ParseInt(wall, 10, 64)
		if err != nil || w < 0 {
			return bad()
		}
		ts.WallMS = w
		if hasLogical {
			l, err := strconv.ParseUint(logical, 10, 32)
			if err != nil {
				return bad()
			}
			ts.Logical = uint32(l)
		} else if hasNode {
			return bad() // wall@node is probably a typo for wall.logical@node
		}
		return ts, form, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return bad()
	}
	return txlog.Timestamp{WallMS: t.UnixMilli()}, hlcTime, nil
}

// shortID is the first 4 bytes of a transaction id in hex: enough to tell
// transactions apart by eye.
func shortID(id []byte) string {
	if len(id) == 0 {
		return "-"
	}
	return hex.EncodeToString(id[:min(len(id), 4)])
}

// kindOf classifies a change set: create-db, drop-db, ddl or rows.
func kindOf(cs *marmotv1.ChangeSet) string {
	switch {
	case cs.DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_CREATE:
		return "create-db"
	case cs.DatabaseOp == marmotv1.DatabaseOp_DATABASE_OP_DROP:
		return "drop-db"
	case cs.Ddl != "":
		return "ddl"
	}
	return "rows"
}

func opName(op marmotv1.Op) string {
	switch op {
	case marmotv1.Op_OP_INSERT:
		return "insert"
	case marmotv1.Op_OP_UPDATE:
		return "update"
	case marmotv1.Op_OP_DELETE:
		return "delete"
	}
	return "op(" + strconv.Itoa(int(op)) + ")"
}

// tablesOf lists the tables a change set touches, sorted: the row tables,
// or the tables a DDL statement names.
func tablesOf(cs *marmotv1.ChangeSet) []string {
	out := slices.Clone(cs.DdlTables)
	for _, r := range cs.Rows {
		out = append(out, r.Table)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// summary is one change set as a line of `log list`; the JSON form carries
// the same fields, with the full transaction id.
type summary struct {
	HLC    string   `json:"hlc"`
	Time   string   `json:"time"`
	Origin uint64   `json:"origin"`
	Seq    uint64   `json:"seq"`
	DB     string   `json:"db"`
	Kind   string   `json:"kind"`
	Tables []string `json:"tables"`
	Ins    int      `json:"ins"`
	Upd    int      `json:"upd"`
	Del    int      `json:"del"`
	Txn    string   `json:"txn"`
}

func summarize(cs *marmotv1.ChangeSet) summary {
	ts := txlog.FromProto(cs.Hlc)
	s := summary{
		HLC: ts.String(), Time: formatTime(ts), Origin: cs.Origin, Seq: cs.Seq,
		DB: cs.Database, Kind: kindOf(cs), Tables: tablesOf(cs), Txn: hex.EncodeToString(cs.Id),
	}
	if s.Tables == nil {
		s.Tables = []string{}
	}
	for _, r := range cs.Rows {
		switch r.Op {
		case marmotv1.Op_OP_INSERT:
			s.Ins++
		case marmotv1.Op_OP_UPDATE:
			s.Upd++
		case marmotv1.Op_OP_DELETE:
			s.Del++
		}
	}
	return s
}

// line is the text form: HLC and time first (they sort the log), then
// key=value fields for grep and awk.
func (s summary) line() string {
	tables := strings.Join(s.Tables, ",")
	if tables == "" {
		tables = "-"
	}
	txn := s.Txn
	if len(txn) > 8 {
		txn = txn[:8]
	} else if txn == "" {
		txn = "-"
	}
	return fmt.Sprintf("%s  %s  origin=%d seq=%d db=%s kind=%s tables=%s %s txn=%s",
		s.HLC, s.Time, s.Origin, s.Seq, s.DB, s.Kind, tables, s.counts(), txn)
}

func (s summary) counts() string {
	return fmt.Sprintf("ins=%d upd=%d del=%d", s.Ins, s.Upd, s.Del)
}

// writeSummary prints one change set as a text line or an NDJSON object.
func writeSummary(w io.Writer, cs *marmotv1.ChangeSet, asJSON bool) error {
	s := summarize(cs)
	if asJSON {
		return json.NewEncoder(w).Encode(s)
	}
	_, err := fmt.Fprintln(w, s.line())
	return err
}

// assignments renders a row image as "col=value, col=value". A value
// without a column name (a malformed image) is shown by position.
func assignments(cols []string, vals []*marmotv1.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		name := "#" + strconv.Itoa(i)
		if i < len(cols) {
			name = cols[i]
		}
		parts[i] = name + "=" + txlog.ValueString(v)
	}
	return strings.Join(parts, ", ")
}

// tuple renders key values as (v1,v2).
func tuple(vals []*marmotv1.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = txlog.ValueString(v)
	}
	return "(" + strings.Join(parts, ",") + ")"
}

// valueJSON is a SQLite value in JSON, keeping its storage class: NULL has
// no value; INTEGER and REAL are numbers (non-finite reals are strings);
// TEXT is a string, or hex when it is not valid UTF-8; BLOB is hex.
type valueJSON struct {
	Column string `json:"column,omitempty"`
	Type   string `json:"type"`
	Value  any    `json:"value,omitempty"`
	Hex    string `json:"hex,omitempty"`
}

func toJSONValue(col string, v *marmotv1.Value) valueJSON {
	out := valueJSON{Column: col, Type: "null"}
	switch k := v.GetKind().(type) {
	case *marmotv1.Value_Int:
		out.Type, out.Value = "int", k.Int
	case *marmotv1.Value_Real:
		out.Type = "real"
		if math.IsInf(k.Real, 0) || math.IsNaN(k.Real) {
			out.Value = strconv.FormatFloat(k.Real, 'g', -1, 64)
		} else {
			out.Value = k.Real
		}
	case *marmotv1.Value_Text:
		out.Type = "text"
		if utf8.Valid(k.Text) {
			out.Value = string(k.Text)
		} else {
			out.Hex = hex.EncodeToString(k.Text)
		}
	case *marmotv1.Value_Blob:
		out.Type, out.Hex = "blob", hex.EncodeToString(k.Blob)
	}
	return out
}

// toJSONValues names each value of a row image by its column.
func toJSONValues(cols []string, vals []*marmotv1.Value) []valueJSON {
	if len(vals) == 0 {
		return nil
	}
	out := make([]valueJSON, len(vals))
	for i, v := range vals {
		col := "#" + strconv.Itoa(i)
		if i < len(cols) {
			col = cols[i]
		}
		out[i] = toJSONValue(col, v)
	}
	return out
}

// keyJSON renders primary-key values, which carry no column names.
func keyJSON(vals []*marmotv1.Value) []valueJSON {
	out := make([]valueJSON, len(vals))
	for i, v := range vals {
		out[i] = toJSONValue("", v)
	}
	return out
}

// watermarkString renders a watermark as "origin:seq" pairs sorted by origin.
func watermarkString(w txlog.Watermark) string {
	if len(w) == 0 {
		return "nothing"
	}
	origins := make([]uint64, 0, len(w))
	for o := range w {
		origins = append(origins, o)
	}
	slices.Sort(origins)
	parts := make([]string, len(origins))
	for i, o := range origins {
		parts[i] = fmt.Sprintf("%d:%d", o, w[o])
	}
	return strings.Join(parts, " ")
}
