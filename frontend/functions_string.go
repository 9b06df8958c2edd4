package frontend

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MySQL's string functions. Text arguments are handled in characters,
// blob arguments (MySQL binary strings) in bytes, and a blob argument makes
// the result a blob. Searches and comparisons (LOCATE, INSTR, FIND_IN_SET,
// FIELD, STRCMP) are case-insensitive like MySQL's default collation,
// unless an argument is binary.

// mfMaxStringLen is max_allowed_packet: longer results are NULL, as in MySQL.
const mfMaxStringLen = 64 << 20

func mfStringFunctions() []mfSQLFunc {
	return []mfSQLFunc{
		{"concat", mfConcat, true},
		{"concat_ws", mfConcatWS, true},
		{"substring_index", mfSubstringIndex, true},
		{"find_in_set", mfFindInSet, true},
		{"lpad", func(s, n, p any) any { return mfPad3(s, n, p, true) }, true},
		{"rpad", func(s, n, p any) any { return mfPad3(s, n, p, false) }, true},
		{"left", func(s, n any) any { return mfLeftRight(s, n, true) }, true},
		{"right", func(s, n any) any { return mfLeftRight(s, n, false) }, true},
		{"insert", mfInsertStr, true},
		{"locate", mfLocate, true},
		{"instr", func(s, sub any) any { return mfLocate(sub, s) }, true},
		{"position", func(sub, s any) any { return mfLocate(sub, s) }, true},
		{"substr", mfSubstr, true},
		{"substring", mfSubstr, true},
		{"mid", mfSubstr, true},
		{"upper", func(v any) any { return mfMapCase(v, strings.ToUpper) }, true},
		{"ucase", func(v any) any { return mfMapCase(v, strings.ToUpper) }, true},
		{"lower", func(v any) any { return mfMapCase(v, strings.ToLower) }, true},
		{"lcase", func(v any) any { return mfMapCase(v, strings.ToLower) }, true},
		{"reverse", mfReverse, true},
		{"repeat", mfRepeat, true},
		{"space", func(n any) any { return mfRepeat(" ", n) }, true},
		{"strcmp", mfStrcmp, true},
		{"field", mfField, true},
		{"elt", mfElt, true},
		{"make_set", mfMakeSet, true},
		{"export_set", mfExportSet, true},
		{"format", mfFormatNumber, true},
		{"hex", mfHexFn, true},
		{"unhex", mfUnhex, true},
		{"bin", func(v any) any { return mfConv(v, int64(10), int64(2)) }, true},
		{"oct", func(v any) any { return mfConv(v, int64(10), int64(8)) }, true},
		{"conv", mfConv, true},
		{"ascii", mfAscii, true},
		{"ord", mfOrd, true},
		{"bit_length", func(v any) any {
			if mfIsNull(v) {
				return nil
			}
			return int64(8 * len(mfArgBytes(v)))
		}, true},
		{"quote", mfQuote, true},
		{"to_base64", mfToBase64, true},
		{"from_base64", mfFromBase64, true},
		{"trim", func(s, r any) any { return mfTrimStr(s, r, true, true) }, true},
		{"ltrim", func(s, r any) any { return mfTrimStr(s, r, true, false) }, true},
		{"rtrim", func(s, r any) any { return mfTrimStr(s, r, false, true) }, true},
	}
}

// mfStrArg is a string argument and whether it is binary (a blob).
func mfStrArg(v any) (s string, bin, ok bool) {
	if b, isBlob := v.([]byte); isBlob {
		return string(b), true, b != nil
	}
	s, ok = mfArgStr(v)
	return s, false, ok
}

// mfStrResult returns s as text, or as a blob when bin (an empty blob would
// read as NULL through go-sqlite3, so it stays text).
func mfStrResult(s string, bin bool) any {
	if bin && s != "" {
		return []byte(s)
	}
	return s
}

// mfChars splits s into characters (bytes when bin).
func mfChars(s string, bin bool) []string {
	if bin {
		out := make([]string, len(s))
		for i := range s {
			out[i] = s[i : i+1]
		}
		return out
	}
	out := make([]string, 0, len(s))
	for i := 0; i < len(s); {
		_, n := utf8.DecodeRuneInString(s[i:])
		out = append(out, s[i:i+n])
		i += n
	}
	return out
}

func mfCharLen(s string, bin bool) int {
	if bin {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// mfFold lower-cases for MySQL's case-insensitive comparisons.
func mfFold(s string, bin bool) string {
	if bin {
		return s
	}
	return strings.Map(unicode.ToLower, s)
}

// mfConcat is MySQL's CONCAT: NULL if any argument is NULL.
func mfConcat(args ...any) (any, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("Incorrect parameter count in the call to native function 'concat'")
	}
	var b strings.Builder
	bin := false
	for _, a := range args {
		s, isBin, ok := mfStrArg(a)
		if !ok {
			return nil, nil
		}
		bin = bin || isBin
		b.WriteString(s)
	}
	return mfStrResult(b.String(), bin), nil
}

// mfConcatWS is CONCAT_WS(sep, ...): NULL arguments are skipped.
func mfConcatWS(args ...any) any {
	if len(args) == 0 {
		return nil
	}
	sep, bin, ok := mfStrArg(args[0])
	if !ok {
		return nil
	}
	var parts []string
	for _, a := range args[1:] {
		if s, isBin, ok := mfStrArg(a); ok {
			parts = append(parts, s)
			bin = bin || isBin
		}
	}
	return mfStrResult(strings.Join(parts, sep), bin)
}

func mfSubstringIndex(sv, dv, cv any) any {
	s, bin, ok1 := mfStrArg(sv)
	d, _, ok2 := mfStrArg(dv)
	n, ok3 := mfArgInt(cv)
	if !ok1 || !ok2 || !ok3 {
		return nil
	}
	if d == "" || n == 0 {
		return mfStrResult("", bin)
	}
	if n > 0 {
		idx := 0
		for k := int64(0); k < n; k++ {
			j := strings.Index(s[idx:], d)
			if j < 0 {
				return mfStrResult(s, bin)
			}
			idx += j
			if k+1 < n {
				idx += len(d)
			}
		}
		return mfStrResult(s[:idx], bin)
	}
	end := len(s)
	for k := int64(0); k < -n; k++ {
		j := strings.LastIndex(s[:end], d)
		if j < 0 {
			return mfStrResult(s, bin)
		}
		end = j
	}
	return mfStrResult(s[end+len(d):], bin)
}

func mfFindInSet(sv, lv any) any {
	s, bin1, ok1 := mfStrArg(sv)
	l, bin2, ok2 := mfStrArg(lv)
	if !ok1 || !ok2 {
		return nil
	}
	if l == "" || strings.Contains(s, ",") {
		return int64(0)
	}
	bin := bin1 || bin2
	for i, e := range strings.Split(l, ",") {
		if mfFold(e, bin) == mfFold(s, bin) {
			return int64(i + 1)
		}
	}
	return int64(0)
}

func mfPad3(sv, nv, pv any, left bool) any {
	s, bin, ok1 := mfStrArg(sv)
	n, ok2 := mfArgInt(nv)
	p, pbin, ok3 := mfStrArg(pv)
	if !ok1 || !ok2 || !ok3 || n < 0 || n > mfMaxStringLen {
		return nil
	}
	bin = bin || pbin
	cs := mfChars(s, bin)
	if int(n) <= len(cs) {
		return mfStrResult(strings.Join(cs[:n], ""), bin)
	}
	pc := mfChars(p, bin)
	if len(pc) == 0 {
		return nil
	}
	var b strings.Builder
	for i := 0; i < int(n)-len(cs); i++ {
		b.WriteString(pc[i%len(pc)])
	}
	if left {
		return mfStrResult(b.String()+s, bin)
	}
	return mfStrResult(s+b.String(), bin)
}

func mfLeftRight(sv, nv any, left bool) any {
	s, bin, ok1 := mfStrArg(sv)
	n, ok2 := mfArgInt(nv)
	if !ok1 || !ok2 {
		return nil
	}
	cs := mfChars(s, bin)
	if n <= 0 {
		return mfStrResult("", bin)
	}
	if int(n) >= len(cs) || n > math.MaxInt32 {
		return mfStrResult(s, bin)
	}
	if left {
		return mfStrResult(strings.Join(cs[:n], ""), bin)
	}
	return mfStrResult(strings.Join(cs[len(cs)-int(n):], ""), bin)
}

// mfInsertStr is MySQL's INSERT(str, pos, len, newstr).
func mfInsertStr(sv, pv, lv, nv any) any {
	s, bin1, ok1 := mfStrArg(sv)
	pos, ok2 := mfArgInt(pv)
	l, ok3 := mfArgInt(lv)
	ns, bin2, ok4 := mfStrArg(nv)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil
	}
	bin := bin1 || bin2
	cs := mfChars(s, bin)
	if pos < 1 || pos > int64(len(cs)) {
		return mfStrResult(s, bin)
	}
	if l < 0 || l > int64(len(cs))-pos+1 {
		l = int64(len(cs)) - pos + 1
	}
	return mfStrResult(strings.Join(cs[:pos-1], "")+ns+strings.Join(cs[pos-1+l:], ""), bin)
}

// mfLocate is LOCATE(substr, str[, pos]) (INSTR and POSITION too).
func mfLocate(args ...any) any {
	if len(args) < 2 || len(args) > 3 {
		return nil
	}
	sub, bin1, ok1 := mfStrArg(args[0])
	s, bin2, ok2 := mfStrArg(args[1])
	if !ok1 || !ok2 {
		return nil
	}
	bin := bin1 || bin2
	cs := mfChars(s, bin)
	subc := mfChars(sub, bin)
	start := 0
	if len(args) == 3 {
		pos, ok := mfArgInt(args[2])
		if !ok {
			return nil
		}
		if pos <= 0 || pos-1 > int64(len(cs)) {
			return int64(0)
		}
		start = int(pos - 1)
		if start+len(subc) > len(cs) {
			return int64(0)
		}
	}
	if len(subc) == 0 {
		return int64(start + 1)
	}
	hay := make([]string, len(cs))
	for i, c := range cs {
		hay[i] = mfFold(c, bin)
	}
	needle := make([]string, len(subc))
	for i, c := range subc {
		needle[i] = mfFold(c, bin)
	}
outer:
	for i := start; i+len(needle) <= len(hay); i++ {
		for j := range needle {
			if hay[i+j] != needle[j] {
				continue outer
			}
		}
		return int64(i + 1)
	}
	return int64(0)
}

// mfSubstr is MySQL's SUBSTRING(str, pos[, len]): pos 0 or beyond either end
// gives ”.
func mfSubstr(args ...any) any {
	if len(args) < 2 || len(args) > 3 {
		return nil
	}
	s, bin, ok1 := mfStrArg(args[0])
	pos, ok2 := mfArgInt(args[1])
	if !ok1 || !ok2 {
		return nil
	}
	cs := mfChars(s, bin)
	n := int64(len(cs))
	l := n
	if len(args) == 3 {
		var ok bool
		if l, ok = mfArgInt(args[2]); !ok {
			return nil
		}
	}
	if pos < 0 {
		pos = n + pos + 1
		if pos < 1 {
			return mfStrResult("", bin)
		}
	}
	if pos == 0 || pos > n || l <= 0 {
		return mfStrResult("", bin)
	}
	end := n
	if l < n-pos+1 {
		end = pos - 1 + l
	}
	return mfStrResult(strings.Join(cs[pos-1:end], ""), bin)
}

func mfMapCase(v any, f func(string) string) any {
	s, bin, ok := mfStrArg(v)
	if !ok {
		return nil
	}
	if bin {
		return mfStrResult(s, bin)
	}
	return f(s)
}

func mfReverse(v any) any {
	s, bin, ok := mfStrArg(v)
	if !ok {
		return nil
	}
	cs := mfChars(s, bin)
	for i, j := 0, len(cs)-1; i < j; i, j = i+1, j-1 {
		cs[i], cs[j] = cs[j], cs[i]
	}
	return mfStrResult(strings.Join(cs, ""), bin)
}

func mfRepeat(sv, nv any) any {
	s, bin, ok1 := mfStrArg(sv)
	n, ok2 := mfArgInt(nv)
	if !ok1 || !ok2 {
		return nil
	}
	if n < 1 || s == "" {
		return mfStrResult("", bin)
	}
	if n > mfMaxStringLen || int64(len(s))*n > mfMaxStringLen {
		return nil
	}
	return mfStrResult(strings.Repeat(s, int(n)), bin)
}

func mfStrcmp(a, b any) any {
	x, bin1, ok1 := mfStrArg(a)
	y, bin2, ok2 := mfStrArg(b)
	if !ok1 || !ok2 {
		return nil
	}
	bin := bin1 || bin2
	return int64(strings.Compare(mfFold(x, bin), mfFold(y, bin)))
}

func mfIsNumber(v any) bool {
	switch v.(type) {
	case int64, float64:
		return true
	}
	return false
}

// mfField is FIELD(str, s1, s2, ...): strings compare case-insensitively,
// numbers numerically (all arguments numbers), otherwise as DOUBLE.
func mfField(args ...any) any {
	if len(args) < 2 || mfIsNull(args[0]) {
		return int64(0)
	}
	allStr := true
	for _, a := range args {
		if !mfIsNull(a) && mfIsNumber(a) {
			allStr = false
		}
	}
	for i, a := range args[1:] {
		if mfIsNull(a) {
			continue
		}
		if allStr {
			x, b1, _ := mfStrArg(args[0])
			y, b2, _ := mfStrArg(a)
			if mfFold(x, b1 || b2) == mfFold(y, b1 || b2) {
				return int64(i + 1)
			}
			continue
		}
		x, _ := mfArgFloat(args[0])
		y, _ := mfArgFloat(a)
		if x == y {
			return int64(i + 1)
		}
	}
	return int64(0)
}

func mfElt(args ...any) any {
	if len(args) < 2 {
		return nil
	}
	n, ok := mfArgInt(args[0])
	if !ok || n < 1 || n >= int64(len(args)) {
		return nil
	}
	s, bin, ok := mfStrArg(args[n])
	if !ok {
		return nil
	}
	return mfStrResult(s, bin)
}

func mfMakeSet(args ...any) any {
	if len(args) < 2 {
		return nil
	}
	bits, ok := mfArgInt(args[0])
	if !ok {
		return nil
	}
	var parts []string
	for i, a := range args[1:] {
		if i < 64 && bits&(1<<uint(i)) != 0 {
			if s, ok := mfArgStr(a); ok {
				parts = append(parts, s)
			}
		}
	}
	return strings.Join(parts, ",")
}

// mfExportSet is EXPORT_SET(bits, on, off[, separator[, number_of_bits]]).
func mfExportSet(args ...any) any {
	if len(args) < 3 || len(args) > 5 || mfAnyNull(args...) {
		return nil
	}
	bits, _ := mfArgInt(args[0])
	on, _ := mfArgStr(args[1])
	off, _ := mfArgStr(args[2])
	sep, n := ",", int64(64)
	if len(args) > 3 {
		sep, _ = mfArgStr(args[3])
	}
	if len(args) > 4 {
		if n, _ = mfArgInt(args[4]); n < 0 || n > 64 {
			n = 64
		}
	}
	parts := make([]string, n)
	for i := range parts {
		if uint64(bits)&(1<<uint(i)) != 0 {
			parts[i] = on
		} else {
			parts[i] = off
		}
	}
	return strings.Join(parts, sep)
}

// mfTrimStr is TRIM([LEADING|TRAILING|BOTH] remstr FROM s): whole
// occurrences of remstr are removed (SQLite's trim(s, chars) removes any of
// the characters instead).
func mfTrimStr(sv, rv any, leading, trailing bool) any {
	s, bin1, ok1 := mfStrArg(sv)
	r, bin2, ok2 := mfStrArg(rv)
	if !ok1 || !ok2 {
		return nil
	}
	bin := bin1 || bin2
	if r == "" {
		return mfStrResult(s, bin)
	}
	if leading {
		for strings.HasPrefix(s, r) {
			s = s[len(r):]
		}
	}
	if trailing {
		for strings.HasSuffix(s, r) {
			s = s[:len(s)-len(r)]
		}
	}
	return mfStrResult(s, bin)
}
