package frontend

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"vitess.io/vitess/go/mysql/collations"
	"vitess.io/vitess/go/mysql/collations/colldata"
)

func mysqlGeneralCI() colldata.Collation {
	return colldata.Lookup(collations.MySQL8().LookupByName("utf8mb4_general_ci"))
}

// TestCIWeightsAreMySQLs checks every BMP code point's weight against
// MySQL's utf8mb4_general_ci tables (vitess's copy), and characters beyond
// the BMP.
func TestCIWeightsAreMySQLs(t *testing.T) {
	c := mysqlGeneralCI()
	check := func(r rune) {
		var enc [4]byte
		want := c.WeightString(nil, enc[:utf8.EncodeRune(enc[:], r)], 0)
		got, _ := ciNext(string(r))
		if got != uint16(want[0])<<8|uint16(want[1]) {
			t.Fatalf("weight of U+%04X = %04X, MySQL %x", r, got, want)
		}
	}
	for r := rune(0); r < 0x10000; r++ {
		if r < 0xD800 || r > 0xDFFF {
			check(r)
		}
	}
	for _, r := range []rune{0x10000, 0x1F600, 0x10FFFF} {
		check(r)
	}
}

func cmpSign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

// TestCICompareIsMySQLs compares random strings as MySQL does (vitess's
// Collate does not pad, so the strings here have no trailing characters
// below the space).
func TestCICompareIsMySQLs(t *testing.T) {
	c := mysqlGeneralCI()
	alphabet := []rune("aAbBeEéÉèêëzZßsSøØåÅæÆıIiİ ½ÿŸ€😀😃中文-_~09")
	rnd := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		n := rnd.IntN(5)
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 200000 {
		a, b := word(), word()
		if strings.HasSuffix(a, " ") || strings.HasSuffix(b, " ") {
			continue
		}
		if got, want := cmpSign(ciCompare(a, b)), cmpSign(c.Collate([]byte(a), []byte(b), false)); got != want {
			t.Fatalf("ciCompare(%q, %q) = %d, MySQL %d", a, b, got, want)
		}
	}
}

// TestCAgreesWithGo runs the C implementation (what SQLite calls) and the
// Go reference on random strings, invalid UTF-8 included.
func TestCAgreesWithGo(t *testing.T) {
	pieces := []string{"a", "A", "é", "É", "ß", "s", " ", "\t", "%", "_", "\\", "😀", "中", "\xff", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc0\xaf", "z"}
	rnd := rand.New(rand.NewPCG(3, 4))
	word := func() string {
		var b strings.Builder
		for range rnd.IntN(6) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return b.String()
	}
	for range 100000 {
		a, b := word(), word()
		if got, want := cmpSign(cCompare(a, b)), cmpSign(ciCompare(a, b)); got != want {
			t.Fatalf("compare(%q, %q): C %d, Go %d", a, b, got, want)
		}
		for _, esc := range []rune{-1, '\\', '%'} {
			for _, bin := range []bool{false, true} {
				if got, want := cLike(a, b, esc, bin), likeMatch(compileLike(b, esc, bin), a, bin); got != want {
					t.Fatalf("%q LIKE %q (escape %q, binary %v): C %v, Go %v", a, b, esc, bin, got, want)
				}
			}
		}
	}
}

// TestLikeRangeIsExact checks that the index range the transpiler adds
// to LIKE 'prefix%' never drops a row like() matches: random values
// (accents, tabs and spaces after the prefix, punctuation) against random
// prefixes, counted with the range (a column on the left) and without (an
// expression on the left).
func TestLikeRangeIsExact(t *testing.T) {
	s := newShowTestSession(t, "CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20), KEY v (v))")
	pieces := []string{"a", "B", "é", "E", "s", "ß", "_", "%", "z", "Z", "~", "`", "@", "[", " ", "\t", "0", "9", "ÿ"}
	rnd := rand.New(rand.NewPCG(5, 6))
	word := func(max int) string {
		var b strings.Builder
		for range 1 + rnd.IntN(max) {
			b.WriteString(pieces[rnd.IntN(len(pieces))])
		}
		return b.String()
	}
	var vals []string
	for i := range 400 {
		vals = append(vals, fmt.Sprintf("(%d, '%s')", i, strings.ReplaceAll(strings.ReplaceAll(word(5), "\\", "\\\\"), "'", "''")))
	}
	mustExec(t, s, "INSERT INTO r VALUES "+strings.Join(vals, ", "))
	for range 300 {
		p := strings.NewReplacer("%", "\\%", "_", "\\_").Replace(word(3)) + "%"
		with := rawQuery(t, s, "SELECT COUNT(*) FROM r WHERE v LIKE '"+p+"'")[0][0]
		without := rawQuery(t, s, "SELECT COUNT(*) FROM r WHERE CONCAT(v) LIKE '"+p+"'")[0][0]
		if with != without {
			t.Fatalf("LIKE %q: %s rows with the index range, %s without", p, with, without)
		}
	}
}

func TestCICompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"é", "e", 0}, {"É", "e", 0}, {"Straße", "STRASE", 0}, {"Straße", "strasse", -1}, {"a", "a  ", 0},
		{"a\t", "a", 1}, {"a", "a\t", -1}, {"a\t ", "a\t", 0}, {"ab", "a", 1}, {"résumé", "RESUME", 0}, {"Ø", "o", 1},
		{"😀", "😃", 0}, {"", " ", 0}, {"", "a", -1}, {"\xff", "\ufffd", 0}, {"z", "É", 1},
	} {
		if got := cmpSign(ciCompare(c.a, c.b)); got != c.want {
			t.Errorf("ciCompare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := cmpSign(ciCompare(c.b, c.a)); got != -c.want {
			t.Errorf("ciCompare(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
		if got := cmpSign(cCompare(c.a, c.b)); got != c.want {
			t.Errorf("C compare(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCILike(t *testing.T) {
	for _, c := range []struct {
		s, pat string
		esc    rune
		binary bool
		want   bool
	}{
		{"Straße", "strase", -1, false, true}, // per character, ß weighs S
		{"Straße", "strasse", -1, false, false},
		{"Straße", "stra_e", -1, false, true},
		{"Crème Brûlée", "%BRULEE", -1, false, true},
		{"Crème Brûlée", "creme%", -1, false, true},
		{"abc", "a%c", -1, false, true},
		{"abc", "a%b", -1, false, false},
		{"aXbXc", "%x%x%", -1, false, true},
		{"mississippi", "%iss%pi", -1, false, true},
		{"mississippi", "%iss%ppx", -1, false, false},
		{"", "%", -1, false, true},
		{"", "_", -1, false, false},
		{"a", "", -1, false, false},
		{"_transient_x", `\_transient\_%`, '\\', false, true},
		{"xtransient_x", `\_transient\_%`, '\\', false, false},
		{"50%", `50\%`, '\\', false, true},
		{"500", `50\%`, '\\', false, false},
		{"a|b", "a||b", '|', false, true},
		{"😀", "_", -1, false, true},
		{"😀x", "😃X", -1, false, true},
		{"ABC", "abc", -1, true, false}, // binary strings compare bytes
		{"abc", "a_c", -1, true, true},
		{"é", "_", -1, true, false}, // two bytes
		{"a ", "a", -1, false, false},
	} {
		if got := likeMatch(compileLike(c.pat, c.esc, c.binary), c.s, c.binary); got != c.want {
			t.Errorf("%q LIKE %q (escape %q, binary %v) = %v, want %v", c.s, c.pat, c.esc, c.binary, got, c.want)
		}
		if got := cLike(c.s, c.pat, c.esc, c.binary); got != c.want {
			t.Errorf("C: %q LIKE %q (escape %q, binary %v) = %v, want %v", c.s, c.pat, c.esc, c.binary, got, c.want)
		}
	}
}

// TestCollationThroughSession: columns, literals, LIKE, ORDER BY, GROUP
// BY, UNIQUE and binary columns, as a client sees them.
func TestCollationThroughSession(t *testing.T) {
	s := newShowTestSession(t,
		"CREATE TABLE words (id INT PRIMARY KEY, w VARCHAR(50), b VARCHAR(50) COLLATE utf8mb4_bin, bin VARBINARY(50), UNIQUE KEY w (w))",
		"INSERT INTO words VALUES (1, 'résumé', 'résumé', 'résumé'), (2, 'Straße', 'Straße', 'Straße'), (3, 'apple', 'apple', 'apple'), (4, 'Éclair', 'Éclair', 'Éclair'), (5, 'zebra', 'zebra', 'zebra')")
	q := func(sql string) string {
		t.Helper()
		var rows []string
		for _, r := range rawQuery(t, s, sql) {
			rows = append(rows, strings.Join(r, ":"))
		}
		return strings.Join(rows, " ")
	}
	for sql, want := range map[string]string{
		"SELECT id FROM words WHERE w = 'RESUME'":                                                       "1",
		"SELECT id FROM words WHERE w = 'strase'":                                                       "2",
		"SELECT id FROM words WHERE w = 'strasse'":                                                      "",
		"SELECT id FROM words WHERE b = 'RESUME'":                                                       "",
		"SELECT id FROM words WHERE b = 'résumé'":                                                       "1",
		"SELECT id FROM words WHERE w LIKE 'eclair'":                                                    "4",
		"SELECT id FROM words WHERE w LIKE 'stra_e'":                                                    "2",
		"SELECT id FROM words WHERE w LIKE '%SUM%' ORDER BY id":                                         "1",
		"SELECT id FROM words WHERE bin LIKE 'RÉSUMÉ'":                                                  "",
		"SELECT id FROM words WHERE bin LIKE 'résumé'":                                                  "1",
		"SELECT id FROM words WHERE w NOT LIKE '%e%' ORDER BY id":                                       "",
		"SELECT GROUP_CONCAT(id ORDER BY w) FROM words":                                                 "3,4,1,2,5",
		"SELECT GROUP_CONCAT(id ORDER BY b) FROM words":                                                 "2,3,1,5,4",
		"SELECT 'é' = 'e', 'a' < 'B', 'Straße' = 'strase', 'x' = 'y'":                                   "1:1:1:0",
		"SELECT 'é' LIKE 'E', 'Straße' LIKE 'strasse', 'ABC' LIKE 'a%'":                                 "1:0:1",
		"SELECT CONCAT(w, '!') = 'APPLE!' FROM words WHERE id = 3":                                      "1",
		"SELECT 'A' = 'a' COLLATE utf8mb4_bin, 'é' = 'E' COLLATE utf8mb4_unicode_ci":                    "0:1",
		"SELECT COUNT(DISTINCT w) FROM (SELECT w FROM words UNION ALL SELECT UPPER(w) FROM words) AS x": "5",
	} {
		if got := q(sql); got != want {
			t.Errorf("%s = %q, want %q", sql, got, want)
		}
	}
	// LIKE 'prefix%' on a character column searches the index
	if got := q("SELECT id FROM words WHERE w LIKE 'res%'"); got != "1" {
		t.Errorf("w LIKE 'res%%' = %q", got)
	}
	if plan := q("EXPLAIN SELECT id FROM words WHERE w LIKE 'res%'"); !strings.Contains(plan, "USING INDEX words__w") && !strings.Contains(plan, "USING COVERING INDEX words__w") {
		t.Errorf("LIKE 'res%%' does not use the index on w: %s", plan)
	}
	// UNIQUE compares like MySQL: 'RÉSUMÉ' is a duplicate of 'résumé'
	if _, err := execQuery(s, "INSERT INTO words (id, w) VALUES (6, 'RESUME')"); err == nil || !strings.Contains(err.Error(), "Duplicate") {
		t.Errorf("UNIQUE on a _ci column: %v", err)
	}
}

// The Go reference implementation of utf8mb4_general_ci and LIKE (the C
// one in collation_sqlite.go must agree with it).

var ciASCII = func() (w [utf8.RuneSelf]uint16) {
	for i := range w {
		w[i] = ciWeights[i]
	}
	return w
}()

// ciNext returns the weight of the character at the start of s and its
// length in bytes; s must not be empty.
func ciNext(s string) (uint16, int) {
	if c := s[0]; c < utf8.RuneSelf {
		return ciASCII[c], 1
	}
	r, n := utf8.DecodeRuneInString(s)
	if r > 0xFFFF {
		return 0xFFFD, n
	}
	return ciWeights[r], n
}

// ciCompare compares a and b under utf8mb4_general_ci: <0, 0 or >0.
func ciCompare(a, b string) int {
	a, b = strings.TrimRight(a, " "), strings.TrimRight(b, " ") // PAD SPACE
	for len(a) > 0 && len(b) > 0 {
		// ASCII fast path
		if ca, cb := a[0], b[0]; ca < utf8.RuneSelf && cb < utf8.RuneSelf {
			if wa, wb := ciASCII[ca], ciASCII[cb]; wa != wb {
				return int(wa) - int(wb)
			}
			a, b = a[1:], b[1:]
			continue
		}
		wa, na := ciNext(a)
		wb, nb := ciNext(b)
		if wa != wb {
			return int(wa) - int(wb)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// ciEqual reports whether a and b are equal under utf8mb4_general_ci.
func ciEqual(a, b string) bool { return ciCompare(a, b) == 0 }

// likeToken is one element of a LIKE pattern.
type likeToken struct {
	kind byte   // 'c' one character of weight w (or byte w for binary), '_' any one, '%' any run
	w    uint16 // weight
}

// compileLike parses a LIKE pattern; esc < 0 means no escape character.
// binary patterns match bytes, the others characters by weight.
func compileLike(pat string, esc rune, binary bool) []likeToken {
	toks := make([]likeToken, 0, len(pat))
	for len(pat) > 0 {
		var r rune
		var n int
		if binary {
			r, n = rune(pat[0]), 1
		} else {
			r, n = utf8.DecodeRuneInString(pat)
		}
		switch {
		case esc >= 0 && r == esc && len(pat) > n:
			pat = pat[n:]
			if binary {
				toks = append(toks, likeToken{'c', uint16(pat[0])})
				pat = pat[1:]
			} else {
				w, m := ciNext(pat)
				toks = append(toks, likeToken{'c', w})
				pat = pat[m:]
			}
			continue
		case r == '_':
			toks = append(toks, likeToken{kind: '_'})
		case r == '%':
			if len(toks) == 0 || toks[len(toks)-1].kind != '%' {
				toks = append(toks, likeToken{kind: '%'})
			}
		case binary:
			toks = append(toks, likeToken{'c', uint16(pat[0])})
		default:
			w, _ := ciNext(pat)
			toks = append(toks, likeToken{'c', w})
		}
		pat = pat[n:]
	}
	return toks
}

// likeMatch matches s against a compiled pattern: each '%' may match any
// run of characters; on a mismatch the last '%' takes one more character.
func likeMatch(toks []likeToken, s string, binary bool) bool {
	next := func(s string) (uint16, int) {
		if binary {
			return uint16(s[0]), 1
		}
		return ciNext(s)
	}
	pi, star, starS := 0, -1, ""
	for len(s) > 0 {
		if pi < len(toks) {
			switch t := toks[pi]; t.kind {
			case '%':
				star, starS = pi, s
				pi++
				continue
			case '_':
				_, n := next(s)
				s = s[n:]
				pi++
				continue
			default:
				if w, n := next(s); w == t.w {
					s = s[n:]
					pi++
					continue
				}
			}
		}
		if star < 0 {
			return false
		}
		_, n := next(starS)
		starS = starS[n:]
		s, pi = starS, star+1
	}
	for pi < len(toks) && toks[pi].kind == '%' {
		pi++
	}
	return pi == len(toks)
}
