package frontend

import (
	"encoding/base64"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// MySQL's number-formatting and encoding string functions: FORMAT, HEX,
// UNHEX, CONV (BIN, OCT), ASCII, ORD, QUOTE, TO_BASE64, FROM_BASE64.

// mfFormatNumber is FORMAT(x, d[, locale]): rounded to d decimals (half away
// from zero), with thousands separators.
func mfFormatNumber(args ...any) any {
	if len(args) < 2 || len(args) > 3 || mfIsNull(args[0]) || mfIsNull(args[1]) {
		return nil
	}
	x, ok := mfArgDecimal(args[0])
	d, _ := mfArgInt(args[1])
	if !ok {
		return nil
	}
	if d < 0 {
		d = 0
	}
	if d > 30 {
		d = 30
	}
	thousands, point := ",", "."
	if len(args) == 3 {
		if loc, ok := mfArgStr(args[2]); ok {
			switch strings.ToLower(loc) {
			case "de_de", "de_at", "de_be", "de_lu", "es_es", "it_it", "nl_nl", "nl_be", "pt_br", "id_id", "da_dk", "tr_tr", "el_gr":
				thousands, point = ".", ","
			}
		}
	}
	s := x.round(int(d), false).text(int(d))
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	ip, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if neg && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i := range ip {
		if i > 0 && (len(ip)-i)%3 == 0 {
			b.WriteString(thousands)
		}
		b.WriteByte(ip[i])
	}
	if d > 0 {
		b.WriteString(point + frac)
	}
	return b.String()
}

// mfHexFn is MySQL's HEX: numbers give the hex of their (rounded) integer
// value, strings the hex of their bytes.
func mfHexFn(v any) any {
	switch x := v.(type) {
	case int64:
		return strings.ToUpper(strconv.FormatUint(uint64(x), 16))
	case float64:
		var u uint64
		switch {
		case x <= math.MinInt64 || x >= math.MaxUint64:
			u = math.MaxUint64
		case x < 0:
			u = uint64(int64(x - 0.5))
		default:
			u = uint64(x + 0.5)
		}
		return strings.ToUpper(strconv.FormatUint(u, 16))
	}
	if mfIsNull(v) {
		return nil
	}
	return strings.ToUpper(hex.EncodeToString(mfArgBytes(v)))
}

func mfUnhex(v any) any {
	s, ok := mfArgStr(v)
	if !ok {
		return nil
	}
	if len(s)%2 == 1 {
		s = "0" + s
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil
	}
	return mfStrResult(string(b), true)
}

// mfConv is CONV(n, from_base, to_base); a negative base means signed.
func mfConv(nv, fv, tv any) any {
	s, ok1 := mfArgStr(nv)
	from, ok2 := mfArgInt(fv)
	to, ok3 := mfArgInt(tv)
	if !ok1 || !ok2 || !ok3 || s == "" || mfAbs64(from) < 2 || mfAbs64(from) > 36 || mfAbs64(to) < 2 || mfAbs64(to) > 36 {
		return nil
	}
	s = strings.TrimLeft(s, " \t\n")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var u uint64
	overflow := false
	base := uint64(mfAbs64(from))
	for i := 0; i < len(s); i++ {
		d := mfDigitVal(s[i])
		if d >= base {
			break
		}
		if u > (math.MaxUint64-d)/base {
			overflow = true
			break
		}
		u = u*base + d
	}
	var val uint64
	if from < 0 {
		// signed parse, saturating
		switch {
		case overflow || !neg && u > math.MaxInt64:
			if neg {
				val = 1 << 63
			} else {
				val = math.MaxInt64
			}
		case neg && u > 1<<63:
			val = 1 << 63
		case neg:
			val = uint64(-int64(u))
		default:
			val = u
		}
	} else {
		switch {
		case overflow:
			val = math.MaxUint64
		case neg:
			val = -u
		default:
			val = u
		}
	}
	if to < 0 && int64(val) < 0 {
		return "-" + strings.ToUpper(strconv.FormatUint(uint64(-int64(val)), int(-to)))
	}
	return strings.ToUpper(strconv.FormatUint(val, int(mfAbs64(to))))
}

func mfAbs64(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

func mfDigitVal(c byte) uint64 {
	switch {
	case c >= '0' && c <= '9':
		return uint64(c - '0')
	case c >= 'a' && c <= 'z':
		return uint64(c-'a') + 10
	case c >= 'A' && c <= 'Z':
		return uint64(c-'A') + 10
	}
	return 99
}

func mfAscii(v any) any {
	b := mfArgBytes(v)
	if mfIsNull(v) {
		return nil
	}
	if len(b) == 0 {
		return int64(0)
	}
	return int64(b[0])
}

// mfOrd is ORD(str): the first character's bytes as a big-endian number.
func mfOrd(v any) any {
	s, bin, ok := mfStrArg(v)
	if !ok {
		return nil
	}
	if s == "" {
		return int64(0)
	}
	n := 1
	if !bin {
		_, n = utf8.DecodeRuneInString(s)
	}
	var r int64
	for i := 0; i < n; i++ {
		r = r<<8 | int64(s[i])
	}
	return r
}

// mfQuote is MySQL's QUOTE: 'it\'s', and the word NULL for NULL.
func mfQuote(v any) any {
	if mfIsNull(v) {
		return "NULL"
	}
	s, _ := mfArgStr(v)
	var b strings.Builder
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case 0:
			b.WriteString(`\0`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// mfToBase64 wraps lines at 76 characters, as MySQL does.
func mfToBase64(v any) any {
	if mfIsNull(v) {
		return nil
	}
	e := base64.StdEncoding.EncodeToString(mfArgBytes(v))
	var b strings.Builder
	for len(e) > 76 {
		b.WriteString(e[:76] + "\n")
		e = e[76:]
	}
	b.WriteString(e)
	return b.String()
}

func mfFromBase64(v any) any {
	s, ok := mfArgStr(v)
	if !ok {
		return nil
	}
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\r' || r == '\t' {
			return -1
		}
		return r
	}, s)
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil
	}
	return mfStrResult(string(b), true)
}
