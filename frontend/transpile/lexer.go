package transpile

import (
	"strings"
)

// A small MySQL lexer used in front of the vitess parser: it splits
// multi-statement text, classifies statements by their leading keywords and
// handles the statements vitess cannot parse (triggers, LOAD DATA, XA, GRANT...).

type tokType int

const (
	tkWord   tokType = iota // unquoted identifier or keyword
	tkQIdent                // `quoted identifier`
	tkString                // 'string' or "string"
	tkNumber
	tkPunct // operators and punctuation
	tkParam // ?
	tkVar   // @x, @@x, @'x'
)

type token struct {
	typ   tokType
	text  string // raw text
	val   string // decoded value: string contents, identifier name; upper-case for words
	start int    // byte offsets in the source
	end   int
}

// serverVersion is the version used for /*!NNNNN ... */ comments: content
// guarded by a version <= this one is executed.
const serverVersion = 80040

func (t token) is(words ...string) bool {
	if t.typ != tkWord {
		return false
	}
	for _, w := range words {
		if t.val == w {
			return true
		}
	}
	return false
}

func (t token) isPunct(p string) bool { return t.typ == tkPunct && t.text == p }

// ident returns the identifier name of a word or quoted identifier token.
func (t token) ident() (string, bool) {
	switch t.typ {
	case tkWord:
		return t.text, true
	case tkQIdent:
		return t.val, true
	}
	return "", false
}

type lexer struct {
	src       string
	pos       int
	versioned int // depth of open /*!...*/ comments whose content is code
	unclosed  bool
}

func isIdentChar(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// lex returns all tokens of src. Comments are skipped; the content of
// versioned comments /*!NNNNN ... */ is lexed as code.
func lex(src string) ([]token, bool) {
	return lexInto(make([]token, 0, 16+len(src)/16), src)
}

// lexInto is lex appending to toks.
func lexInto(toks []token, src string) ([]token, bool) {
	l := &lexer{src: src}
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		toks = append(toks, t)
	}
	return toks, !l.unclosed
}

func (l *lexer) skipSpaceAndComments() {
	s := l.src
	for l.pos < len(s) {
		c := s[l.pos]
		switch {
		case isSpace(c):
			l.pos++
		case c == '#':
			l.skipLine()
		case c == '-' && l.pos+1 < len(s) && s[l.pos+1] == '-' && (l.pos+2 >= len(s) || isSpace(s[l.pos+2]) || s[l.pos+2] < 32):
			l.skipLine()
		case c == '/' && l.pos+1 < len(s) && s[l.pos+1] == '*':
			if l.pos+2 < len(s) && s[l.pos+2] == '!' {
				// versioned comment
				p := l.pos + 3
				q := p
				for q < len(s) && q-p < 6 && s[q] >= '0' && s[q] <= '9' {
					q++
				}
				ver := 0
				if q-p >= 5 {
					for _, d := range s[p:q] {
						ver = ver*10 + int(d-'0')
					}
				} else {
					q = p
				}
				if ver <= serverVersion {
					l.versioned++
					l.pos = q
					continue
				}
			}
			end := strings.Index(s[l.pos+2:], "*/")
			if end < 0 {
				l.unclosed = true
				l.pos = len(s)
				return
			}
			l.pos += 2 + end + 2
		case c == '*' && l.versioned > 0 && l.pos+1 < len(s) && s[l.pos+1] == '/':
			l.versioned--
			l.pos += 2
		default:
			return
		}
	}
}

func (l *lexer) skipLine() {
	for l.pos < len(l.src) && l.src[l.pos] != '\n' {
		l.pos++
	}
}

var multiPuncts = []string{"<=>", "->>", "<=", ">=", "<>", "!=", ":=", "||", "&&", "<<", ">>", "->"}

func (l *lexer) next() (token, bool) {
	l.skipSpaceAndComments()
	s := l.src
	if l.pos >= len(s) {
		return token{}, false
	}
	start := l.pos
	c := s[start]
	switch {
	case c == '\'' || c == '"':
		val, end, ok := scanQuoted(s, start)
		if !ok {
			l.unclosed = true
		}
		l.pos = end
		return token{typ: tkString, text: s[start:end], val: val, start: start, end: end}, true
	case c == '`':
		i := start + 1
		var b strings.Builder
		for {
			if i >= len(s) {
				l.unclosed = true
				break
			}
			if s[i] == '`' {
				if i+1 < len(s) && s[i+1] == '`' {
					b.WriteByte('`')
					i += 2
					continue
				}
				i++
				break
			}
			b.WriteByte(s[i])
			i++
		}
		l.pos = i
		return token{typ: tkQIdent, text: s[start:i], val: b.String(), start: start, end: i}, true
	case c == '@':
		i := start + 1
		if i < len(s) && s[i] == '@' {
			i++
		}
		if i < len(s) && (s[i] == '\'' || s[i] == '"' || s[i] == '`') {
			if s[i] == '`' {
				j := strings.IndexByte(s[i+1:], '`')
				if j < 0 {
					i = len(s)
				} else {
					i += j + 2
				}
			} else {
				_, end, _ := scanQuoted(s, i)
				i = end
			}
		} else {
			for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
				i++
			}
		}
		l.pos = i
		return token{typ: tkVar, text: s[start:i], val: s[start:i], start: start, end: i}, true
	case c == '?':
		l.pos++
		return token{typ: tkParam, text: "?", start: start, end: l.pos}, true
	case c >= '0' && c <= '9' || c == '.' && start+1 < len(s) && s[start+1] >= '0' && s[start+1] <= '9':
		i := start
		for i < len(s) && (isIdentChar(s[i]) || s[i] == '.') {
			i++
		}
		l.pos = i
		t := token{typ: tkNumber, text: s[start:i], val: s[start:i], start: start, end: i}
		// identifiers may start with digits (e.g. 1abc): treat as word if any letter other than e/x/b
		for _, ch := range s[start:i] {
			if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_' || ch >= 0x80 {
				if !strings.ContainsRune("eExXbB", ch) {
					t.typ = tkWord
					t.val = strings.ToUpper(t.text)
					break
				}
			}
		}
		return t, true
	case isIdentChar(c):
		i := start
		for i < len(s) && isIdentChar(s[i]) {
			i++
		}
		l.pos = i
		return token{typ: tkWord, text: s[start:i], val: strings.ToUpper(s[start:i]), start: start, end: i}, true
	}
	if strings.IndexByte("<->!:|&", c) >= 0 { // the first bytes of multiPuncts
		for _, p := range multiPuncts {
			if strings.HasPrefix(s[start:], p) {
				l.pos += len(p)
				return token{typ: tkPunct, text: p, val: p, start: start, end: l.pos}, true
			}
		}
	}
	l.pos++
	return token{typ: tkPunct, text: s[start:l.pos], val: s[start:l.pos], start: start, end: l.pos}, true
}

// scanQuoted scans a MySQL string literal starting at s[start] (a quote) and
// returns its decoded value and the offset after the closing quote.
func scanQuoted(s string, start int) (string, int, bool) {
	q := s[start]
	i := start + 1
	// Most literals have no escape and no doubled quote: their value is a
	// slice of the source, with no copy (a 1 KB interpolated INSERT used to
	// cost a byte-by-byte rebuild of every value).
	for j := i; j < len(s); j++ {
		if c := s[j]; c == '\\' {
			break
		} else if c == q {
			if j+1 < len(s) && s[j+1] == q {
				break
			}
			return s[i:j], j + 1, true
		}
	}
	var b strings.Builder
	for i < len(s) {
		c := s[i]
		switch {
		case c == q:
			if i+1 < len(s) && s[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			return b.String(), i + 1, true
		case c == '\\' && i+1 < len(s):
			b.WriteString(unescapeMySQL(s[i+1]))
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), len(s), false
}

// unescapeMySQL decodes the character after a backslash in a MySQL string.
func unescapeMySQL(c byte) string {
	switch c {
	case '0':
		return "\x00"
	case 'b':
		return "\b"
	case 'n':
		return "\n"
	case 'r':
		return "\r"
	case 't':
		return "\t"
	case 'Z':
		return "\x1a"
	case '%':
		return "\\%"
	case '_':
		return "\\_"
	}
	return string(c)
}

// piece is one statement of a multi-statement text.
type piece struct {
	text string
	toks []token // tokens with offsets relative to text
}

// splitStatements splits src on ';' outside quotes and comments. Statements
// that define stored programs (CREATE TRIGGER/PROCEDURE/FUNCTION/EVENT) keep
// the ';' inside their BEGIN ... END body. Empty statements are dropped.
func splitStatements(src string) []piece {
	toks, _ := lex(src)
	var out []piece
	stmtStart := 0
	var cur []token
	depth := 0
	program := false
	flush := func(end int) {
		if len(cur) > 0 {
			text := src[stmtStart:end]
			rel := make([]token, len(cur))
			for i, t := range cur {
				t.start -= stmtStart
				t.end -= stmtStart
				rel[i] = t
			}
			out = append(out, piece{text: text, toks: rel})
		}
		cur = nil
		depth = 0
		program = false
	}
	for i, t := range toks {
		if t.isPunct(";") && depth <= 0 {
			flush(t.start)
			stmtStart = t.end
			continue
		}
		cur = append(cur, t)
		if len(cur) <= 12 && cur[0].is("CREATE") && t.is("TRIGGER", "PROCEDURE", "FUNCTION", "EVENT") {
			program = true
		}
		if program && t.typ == tkWord {
			switch t.val {
			case "BEGIN", "CASE":
				depth++
			case "END":
				if i+1 < len(toks) && toks[i+1].is("IF", "LOOP", "WHILE", "REPEAT") {
					break
				}
				depth--
			}
		}
	}
	flush(len(src))
	return out
}

// words returns the upper-cased values of the first n tokens (non-words as their text).
func leadingWords(toks []token, n int) []string {
	var w []string
	for i := 0; i < len(toks) && i < n; i++ {
		if toks[i].typ == tkWord {
			w = append(w, toks[i].val)
		} else {
			w = append(w, toks[i].text)
		}
	}
	return w
}

// stripVersionedComments removes /*!NNNNN and the matching */ markers of
// executed versioned comments (and drops other comments), returning plain SQL.
func stripVersionedComments(src string) string {
	toks, _ := lex(src)
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}
