package frontend

import (
	"bytes"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

func TestColumnFromDecl(t *testing.T) {
	cases := []struct {
		decl     string
		typ      uint8
		unsigned bool
		ok       bool
	}{
		{"INTEGER", mysql.MYSQL_TYPE_LONGLONG, false, true},
		{"BIGINT UNSIGNED", mysql.MYSQL_TYPE_LONGLONG, true, true},
		{"int(11)", mysql.MYSQL_TYPE_LONG, false, true},
		{"TINYINT(1)", mysql.MYSQL_TYPE_TINY, false, true},
		{"VARCHAR(255)", mysql.MYSQL_TYPE_VAR_STRING, false, true},
		{"CHAR(10)", mysql.MYSQL_TYPE_STRING, false, true},
		{"LONGTEXT", mysql.MYSQL_TYPE_BLOB, false, true},
		{"DATETIME", mysql.MYSQL_TYPE_DATETIME, false, true},
		{"DATE", mysql.MYSQL_TYPE_DATE, false, true},
		{"DECIMAL(10,2)", mysql.MYSQL_TYPE_NEWDECIMAL, false, true},
		{"DOUBLE", mysql.MYSQL_TYPE_DOUBLE, false, true},
		{"BLOB", mysql.MYSQL_TYPE_BLOB, false, true},
		{"", 0, false, false},
	}
	for _, c := range cases {
		col, ok := columnFromDecl("c", c.decl)
		if ok != c.ok || (ok && (col.typ != c.typ || (col.flag&mysql.UNSIGNED_FLAG != 0) != c.unsigned)) {
			t.Errorf("%q: got type %d unsigned=%v ok=%v, want %d %v %v", c.decl, col.typ, col.flag&mysql.UNSIGNED_FLAG != 0, ok, c.typ, c.unsigned, c.ok)
		}
	}
}

func TestBinaryDateTime(t *testing.T) {
	cases := []struct {
		in   string
		want []byte
	}{
		{"2024-03-05", []byte{4, 0xe8, 0x07, 3, 5}},
		{"2024-03-05 10:11:12", []byte{7, 0xe8, 0x07, 3, 5, 10, 11, 12}},
		{"2024-03-05 10:11:12.5", []byte{11, 0xe8, 0x07, 3, 5, 10, 11, 12, 0x20, 0xa1, 0x07, 0}},
		{"0000-00-00 00:00:00", []byte{0}},
		{"garbage", []byte{0}},
	}
	for _, c := range cases {
		if got := binaryDateTime(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("%q: got %v want %v", c.in, got, c.want)
		}
	}
}

func TestLike(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"", "anything", true},
		{"'wp\\_%'", "wp_posts", true},
		{"'wp\\_%'", "wpxposts", false},
		{"'%char%'", "character_set_client", true},
		{"'SQL_MODE'", "sql_mode", true},
		{"'a_c'", "abc", true},
		{"'a_c'", "abbc", false},
	}
	for _, c := range cases {
		if got := like(c.pattern, c.s); got != c.want {
			t.Errorf("like(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}

func TestTextRowNullAndValues(t *testing.T) {
	long := strings.Repeat("x", 300) // needs a three-byte length (0xfc)
	cases := []struct {
		name string
		row  []any
		want []byte
	}{
		{"mixed", []any{nil, int64(-5), "hé", []byte{0, 1}, 1.5}, []byte{0xfb, 2, '-', '5', 3, 'h', 0xc3, 0xa9, 2, 0, 1, 3, '1', '.', '5'}},
		{"uint and bool", []any{uint64(18446744073709551615), true, false}, append(append([]byte{20}, "18446744073709551615"...), 1, '1', 1, '0')},
		{"long string", []any{long}, append([]byte{0xfc, 44, 1}, long...)},
		{"long bytes", []any{[]byte(long), nil}, append(append([]byte{0xfc, 44, 1}, long...), 0xfb)},
		{"empty", []any{"", []byte{}}, []byte{0, 0}},
		{"unknown type is empty", []any{struct{}{}}, []byte{0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := textRow(c.row); !bytes.Equal(got, c.want) {
				t.Fatalf("got %v want %v", got, c.want)
			}
		})
	}
}

func TestFormatDecimal(t *testing.T) {
	cases := []struct {
		in    any
		scale uint8
		want  any
	}{
		{"2.5", 2, "2.50"}, {float64(2.5), 2, "2.50"}, {int64(3), 2, "3.00"}, {"-1.005", 2, "-1.01"},
		{"10", 0, "10"}, {".5", 1, "0.5"}, {"abc", 2, "abc"},
		// division results (float64 from SQLite), rounded half away from zero
		{float64(7) / 2, 4, "3.5000"}, {float64(1) / 3, 4, "0.3333"}, {float64(2) / 3, 4, "0.6667"},
		{0.03125, 4, "0.0313"}, {-0.03125, 4, "-0.0313"}, {9.99995, 4, "10.0000"}, {-0.00001, 2, "0.00"},
		{1e-7, 4, "0.0000"}, {1e20, 1, "100000000000000000000.0"}, {"1.5e3", 1, "1500.0"}, {int64(-7), 0, "-7"},
	}
	for _, c := range cases {
		if got := formatDecimal(c.in, c.scale); got != c.want {
			t.Errorf("formatDecimal(%v, %d) = %v, want %v", c.in, c.scale, got, c.want)
		}
	}
}
