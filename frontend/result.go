package frontend

import (
	"database/sql"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
)

// column describes one result column as MySQL clients expect it.
type column struct {
	name     string
	table    string
	typ      uint8
	flag     uint16
	charset  uint16
	length   uint32
	decimals uint8
}

const (
	charsetUTF8MB4 = 45 // utf8mb4_general_ci
	charsetBinary  = 63
)

// columnFromDecl maps an SQLite declared type (which keeps the MySQL type
// name, see frontend/transpile) to a MySQL column type, so drivers decode
// integers as integers and dates as dates.
func columnFromDecl(name, decl string) (column, bool) {
	d := strings.ToUpper(decl)
	c := column{name: name, charset: charsetBinary, flag: mysql.BINARY_FLAG}
	unsigned := strings.Contains(d, "UNSIGNED")
	if unsigned {
		c.flag |= mysql.UNSIGNED_FLAG
	}
	base := d
	if i := strings.IndexAny(base, "( _"); i >= 0 {
		base = base[:i]
	}
	switch {
	case base == "TINYINT" || base == "BOOL" || base == "BOOLEAN":
		c.typ, c.length = mysql.MYSQL_TYPE_TINY, 4
	case base == "SMALLINT":
		c.typ, c.length = mysql.MYSQL_TYPE_SHORT, 6
	case base == "MEDIUMINT":
		c.typ, c.length = mysql.MYSQL_TYPE_INT24, 9
	case base == "INT":
		c.typ, c.length = mysql.MYSQL_TYPE_LONG, 11
	case base == "BIGINT" || base == "INTEGER":
		c.typ, c.length = mysql.MYSQL_TYPE_LONGLONG, 20
	case base == "DECIMAL" || base == "NUMERIC" || base == "DEC" || base == "FIXED":
		c.typ, c.length, c.decimals = mysql.MYSQL_TYPE_NEWDECIMAL, 65, decimalsOf(d)
	case base == "FLOAT":
		c.typ, c.length, c.decimals = mysql.MYSQL_TYPE_FLOAT, 12, 31
	case base == "DOUBLE" || base == "REAL":
		c.typ, c.length, c.decimals = mysql.MYSQL_TYPE_DOUBLE, 22, 31
	case base == "DATETIME":
		c.typ, c.length = mysql.MYSQL_TYPE_DATETIME, 19
	case base == "TIMESTAMP":
		c.typ, c.length = mysql.MYSQL_TYPE_TIMESTAMP, 19
	case base == "DATE":
		c.typ, c.length = mysql.MYSQL_TYPE_DATE, 10
	case base == "TIME":
		c.typ, c.length = mysql.MYSQL_TYPE_TIME, 10
	case base == "YEAR":
		c.typ, c.length = mysql.MYSQL_TYPE_YEAR, 4
	case base == "JSON":
		c.typ, c.length, c.charset, c.flag = mysql.MYSQL_TYPE_JSON, 1<<32-1, charsetBinary, mysql.BLOB_FLAG|mysql.BINARY_FLAG
	case strings.Contains(base, "BLOB") || base == "BINARY" || base == "VARBINARY" || base == "BIT":
		c.typ, c.length, c.flag = mysql.MYSQL_TYPE_BLOB, 65535, mysql.BLOB_FLAG|mysql.BINARY_FLAG
	case strings.Contains(base, "TEXT") || base == "CLOB":
		c.typ, c.length, c.charset, c.flag = mysql.MYSQL_TYPE_BLOB, 262140, charsetUTF8MB4, mysql.BLOB_FLAG
	case base == "CHAR" || base == "ENUM" || base == "SET":
		c.typ, c.length, c.charset, c.flag = mysql.MYSQL_TYPE_STRING, 1020, charsetUTF8MB4, 0
	case strings.Contains(base, "CHAR"):
		c.typ, c.length, c.charset, c.flag = mysql.MYSQL_TYPE_VAR_STRING, 1020, charsetUTF8MB4, 0
	default:
		return c, false
	}
	return c, true
}

func decimalsOf(d string) uint8 {
	i, j := strings.IndexByte(d, ','), strings.IndexByte(d, ')')
	if i < 0 || j < i {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(d[i+1 : j]))
	return uint8(n)
}

// columnFromValue types an expression column by its first non-NULL value.
func columnFromValue(name string, v any) column {
	c := column{name: name, charset: charsetBinary, flag: mysql.BINARY_FLAG}
	switch v.(type) {
	case int64, bool:
		c.typ, c.length = mysql.MYSQL_TYPE_LONGLONG, 21
	case float64:
		c.typ, c.length, c.decimals = mysql.MYSQL_TYPE_DOUBLE, 23, 31
	case []byte:
		c.typ, c.length, c.flag = mysql.MYSQL_TYPE_BLOB, 65535, mysql.BLOB_FLAG|mysql.BINARY_FLAG
	case nil:
		c.typ, c.charset, c.flag = mysql.MYSQL_TYPE_NULL, charsetBinary, mysql.BINARY_FLAG
	default:
		c.typ, c.length, c.charset, c.flag = mysql.MYSQL_TYPE_VAR_STRING, 1020, charsetUTF8MB4, 0
	}
	return c
}

// readRows reads up to limit rows (0 = all) into memory and types the
// columns. When more rows remain it returns rest (the same rows, still
// open, positioned after data), and the caller streams the remainder;
// otherwise rows is closed.
func readRows(rows *sql.Rows, table string, limit int) (cols []column, data [][]any, rest *sql.Rows, err error) {
	defer func() {
		if rest == nil {
			rows.Close()
		}
	}()
	names, err := rows.Columns()
	if err != nil {
		return nil, nil, nil, err
	}
	cts, _ := rows.ColumnTypes()
	cols = make([]column, len(names))
	typed := make([]bool, len(names))
	for i, n := range names {
		if cts != nil {
			cols[i], typed[i] = columnFromDecl(n, cts[i].DatabaseTypeName())
		}
		cols[i].name, cols[i].table = n, table
	}
	more := false
	for rows.Next() {
		vals, err := scanRow(rows, len(names))
		if err != nil {
			return nil, nil, nil, err
		}
		data = append(data, vals)
		if limit > 0 && len(data) >= limit {
			more = true
			break
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	for i := range cols {
		if typed[i] {
			continue
		}
		var first any
		for _, r := range data {
			if r[i] != nil {
				first = r[i]
				break
			}
		}
		cols[i] = columnFromValue(names[i], first)
		cols[i].table = table
	}
	for _, r := range data {
		fixRow(cols, r)
	}
	if more {
		return cols, data, rows, nil
	}
	return cols, data, nil, nil
}

func scanRow(rows *sql.Rows, n int) ([]any, error) {
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	return vals, rows.Scan(ptrs...)
}

// fixRow turns driver values into what MySQL clients expect for the column.
func fixRow(cols []column, r []any) {
	for i, v := range r {
		if tv, ok := v.(time.Time); ok {
			r[i] = formatTime(tv, cols[i].typ)
		} else if cols[i].typ == mysql.MYSQL_TYPE_NEWDECIMAL && v != nil {
			r[i] = formatDecimal(v, cols[i].decimals)
		}
	}
}

func fieldsOf(cols []column) []*mysql.Field {
	fs := make([]*mysql.Field, len(cols))
	for i, c := range cols {
		fs[i] = &mysql.Field{Name: []byte(c.name), OrgName: []byte(c.name), Table: []byte(c.table), OrgTable: []byte(c.table),
			Charset: c.charset, Type: c.typ, Flag: c.flag, ColumnLength: c.length, Decimal: c.decimals}
	}
	return fs
}

// buildResult encodes rows in the text or binary (prepared statement) protocol.
func buildResult(cols []column, data [][]any, binaryProto bool) *mysql.Result {
	rs := &mysql.Resultset{Fields: fieldsOf(cols), FieldNames: make(map[string]int, len(cols))}
	for i, c := range cols {
		rs.FieldNames[c.name] = i
	}
	rs.RowDatas = make([]mysql.RowData, 0, len(data))
	for _, row := range data {
		if binaryProto {
			rs.RowDatas = append(rs.RowDatas, binaryRow(cols, row))
		} else {
			rs.RowDatas = append(rs.RowDatas, textRow(row))
		}
	}
	return mysql.NewResult(rs)
}

func textValue(v any) []byte {
	switch x := v.(type) {
	case int64:
		return strconv.AppendInt(nil, x, 10)
	case uint64:
		return strconv.AppendUint(nil, x, 10)
	case float64:
		return []byte(mfFmtDouble(x)) // MySQL's form: 1000000, not 1e+06
	case string:
		return []byte(x)
	case []byte:
		return x
	case bool:
		if x {
			return []byte("1")
		}
		return []byte("0")
	case time.Time:
		return []byte(x.Format("2006-01-02 15:04:05"))
	}
	return nil
}

// textRow encodes a text-protocol row in one allocation: rows are the bulk
// of what a read sends, and copying each value through its own
// length-encoded slice was most of the cost of encoding them.
func textRow(row []any) []byte { return appendTextRow(make([]byte, 0, textRowSize(row)), row) }

// textRowSize is at least the encoded size of row, for one allocation.
func textRowSize(row []any) int {
	n := 0
	for _, v := range row {
		switch x := v.(type) {
		case string:
			n += 9 + len(x)
		case []byte:
			n += 9 + len(x)
		default:
			n += 25
		}
	}
	return n
}

func appendTextRow(b []byte, row []any) []byte {
	for _, v := range row {
		b = appendTextValue(b, v)
	}
	return b
}

// appendTextValue appends v as a length-encoded string (NULL as 0xfb).
func appendTextValue(b []byte, v any) []byte {
	var tmp [24]byte
	var s []byte
	switch x := v.(type) {
	case nil:
		return append(b, 0xfb)
	case string:
		b = mysql.AppendLengthEncodedInteger(b, uint64(len(x)))
		return append(b, x...)
	case []byte:
		s = x
	case int64:
		s = strconv.AppendInt(tmp[:0], x, 10)
	case uint64:
		s = strconv.AppendUint(tmp[:0], x, 10)
	default:
		s = textValue(v)
	}
	b = mysql.AppendLengthEncodedInteger(b, uint64(len(s)))
	return append(b, s...)
}

func binaryRow(cols []column, row []any) []byte {
	b := []byte{0}
	nullMap := make([]byte, (len(cols)+7+2)/8)
	b = append(b, nullMap...)
	for i, v := range row {
		if v == nil {
			b[1+(i+2)/8] |= 1 << uint((i+2)%8)
			continue
		}
		switch cols[i].typ {
		case mysql.MYSQL_TYPE_TINY:
			b = append(b, byte(asInt(v)))
		case mysql.MYSQL_TYPE_SHORT, mysql.MYSQL_TYPE_YEAR:
			b = binary.LittleEndian.AppendUint16(b, uint16(asInt(v)))
		case mysql.MYSQL_TYPE_LONG, mysql.MYSQL_TYPE_INT24:
			b = binary.LittleEndian.AppendUint32(b, uint32(asInt(v)))
		case mysql.MYSQL_TYPE_LONGLONG:
			b = binary.LittleEndian.AppendUint64(b, uint64(asInt(v)))
		case mysql.MYSQL_TYPE_FLOAT:
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(asFloat(v))))
		case mysql.MYSQL_TYPE_DOUBLE:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(asFloat(v)))
		case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_DATETIME, mysql.MYSQL_TYPE_TIMESTAMP:
			b = append(b, binaryDateTime(string(textValue(v)))...)
		case mysql.MYSQL_TYPE_TIME:
			b = append(b, binaryTime(string(textValue(v)))...)
		default:
			b = append(b, mysql.PutLengthEncodedString(textValue(v))...)
		}
	}
	return b
}

func asInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return int64(x)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(textValue(v))), 10, 64)
	if n == 0 {
		f, _ := strconv.ParseFloat(strings.TrimSpace(string(textValue(v))), 64)
		return int64(f)
	}
	return n
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	f, _ := strconv.ParseFloat(strings.TrimSpace(string(textValue(v))), 64)
	return f
}

// binaryDateTime encodes 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' in the binary
// protocol; text that is not a date (MySQL's zero date included) encodes as
// the zero date.
func binaryDateTime(s string) []byte {
	var y, mo, d, h, mi, sec, us int
	n := len(s)
	if n < 10 || s[4] != '-' || s[7] != '-' {
		return []byte{0}
	}
	y, _ = strconv.Atoi(s[0:4])
	mo, _ = strconv.Atoi(s[5:7])
	d, _ = strconv.Atoi(s[8:10])
	if n >= 19 {
		h, _ = strconv.Atoi(s[11:13])
		mi, _ = strconv.Atoi(s[14:16])
		sec, _ = strconv.Atoi(s[17:19])
		if n > 20 && s[19] == '.' {
			frac := (s[20:] + "000000")[:6]
			us, _ = strconv.Atoi(frac)
		}
	}
	if y == 0 && mo == 0 && d == 0 && h == 0 && mi == 0 && sec == 0 && us == 0 {
		return []byte{0}
	}
	b := []byte{4, 0, 0, byte(mo), byte(d)}
	binary.LittleEndian.PutUint16(b[1:], uint16(y))
	if h != 0 || mi != 0 || sec != 0 || us != 0 {
		b[0] = 7
		b = append(b, byte(h), byte(mi), byte(sec))
	}
	if us != 0 {
		b[0] = 11
		b = binary.LittleEndian.AppendUint32(b, uint32(us))
	}
	return b
}

func binaryTime(s string) []byte {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return []byte{0}
	}
	h, _ := strconv.Atoi(parts[0])
	mi, _ := strconv.Atoi(parts[1])
	secf, _ := strconv.ParseFloat(parts[2], 64)
	sec := int(secf)
	us := int((secf - float64(sec)) * 1e6)
	b := []byte{8, 0}
	if neg {
		b[1] = 1
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(h/24))
	b = append(b, byte(h%24), byte(mi), byte(sec))
	if us != 0 {
		b[0] = 12
		b = binary.LittleEndian.AppendUint32(b, uint32(us))
	}
	return b
}

// okResult is an OK packet's content.
func okResult(affected uint64, insertID uint64) *mysql.Result {
	return &mysql.Result{AffectedRows: affected, InsertId: insertID}
}

// simpleResult builds a text-typed result set from literal rows (SHOW ...).
func simpleResult(names []string, rows [][]any, binaryProto bool) *mysql.Result {
	cols := make([]column, len(names))
	for i, n := range names {
		var first any
		for _, r := range rows {
			if r[i] != nil {
				first = r[i]
				break
			}
		}
		cols[i] = columnFromValue(n, first)
		if first == nil {
			cols[i] = columnFromValue(n, "")
		}
	}
	return buildResult(cols, rows, binaryProto)
}

func timeSince(t time.Time) time.Duration { return time.Since(t) }

// formatTime undoes go-sqlite3's conversion of DATE/DATETIME/TIMESTAMP
// columns to time.Time: clients get MySQL's text form, and a value that was
// not a valid date (MySQL's zero date) reads back as the zero date.
func formatTime(t time.Time, typ uint8) string {
	if t.IsZero() {
		if typ == mysql.MYSQL_TYPE_DATE {
			return "0000-00-00"
		}
		return "0000-00-00 00:00:00"
	}
	t = t.UTC()
	switch {
	case typ == mysql.MYSQL_TYPE_DATE:
		return t.Format("2006-01-02")
	case t.Nanosecond() != 0:
		return t.Format("2006-01-02 15:04:05.999999")
	}
	return t.Format("2006-01-02 15:04:05")
}

// formatDecimal renders a DECIMAL(p,s) value with exactly s decimals, as
// MySQL does (2.5 in a DECIMAL(10,2) reads back as 2.50; 1/3 is 0.3333).
// Digits beyond the scale are rounded half away from zero on the number's
// shortest decimal form, as MySQL rounds decimals.
func formatDecimal(v any, scale uint8) any {
	var s string
	switch x := v.(type) {
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return v
		}
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		s = strings.TrimSpace(string(textValue(v)))
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return v
		}
		if strings.ContainsAny(s, "eE") || strings.HasPrefix(s, "+") {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		}
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" {
		intPart = "0"
	}
	n := int(scale)
	if len(frac) > n {
		roundUp := frac[n] >= '5'
		frac = frac[:n]
		if roundUp {
			digits := []byte(intPart + frac)
			i := len(digits) - 1
			for ; i >= 0; i-- {
				if digits[i] == '9' {
					digits[i] = '0'
					continue
				}
				digits[i]++
				break
			}
			if i < 0 {
				digits = append([]byte{'1'}, digits...)
			}
			intPart, frac = string(digits[:len(digits)-n]), string(digits[len(digits)-n:])
		}
	}
	frac += strings.Repeat("0", n-len(frac))
	out := intPart
	if n > 0 {
		out += "." + frac
	}
	if neg && strings.Trim(out, "0.") != "" {
		out = "-" + out
	}
	return out
}

// applyDecimals types the result columns the transpiler found MySQL types
// as DECIMAL (SQLite returns them as plain numbers) and prints their values
// with the column's scale. Rows read later (streamed) are formatted by
// fixRow from the same columns.
func applyDecimals(cols []column, data [][]any, decs []transpile.DecimalColumn) {
	for _, d := range decs {
		i := d.Index
		if i < 0 {
			i += len(cols)
		}
		if i < 0 || i >= len(cols) {
			continue
		}
		c := &cols[i]
		c.typ, c.decimals, c.charset, c.flag = mysql.MYSQL_TYPE_NEWDECIMAL, uint8(d.Scale), charsetBinary, mysql.BINARY_FLAG
		c.length = uint32(d.Prec + 2)
		for _, r := range data {
			if r[i] != nil {
				r[i] = formatDecimal(r[i], c.decimals)
			}
		}
	}
}

func sign(neg bool) string {
	if neg {
		return "-"
	}
	return ""
}
