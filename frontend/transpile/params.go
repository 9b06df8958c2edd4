package transpile

import (
	"strconv"
	"strings"
)

// Parameterize turns the literal values of a text-protocol INSERT,
// REPLACE, UPDATE or DELETE into placeholders, so statements that differ
// only in their values share one transpiled form (and one cache entry):
// clients that interpolate their parameters (most ORMs, WordPress, the
// benchmark tools) would otherwise pay the full parse for every row.
//
// It declines (ok false) anything where a literal is not a plain value: a
// statement with placeholders already, several statements, SELECTs
// (literals name result columns), LIMIT/ORDER BY/INTERVAL, character set
// introducers and hex, bit or decimal literals (their types differ from a
// bound parameter's). Strings and integers that fit int64 are replaced.
func Parameterize(query string) (string, []any, bool) {
	toks, ok := lex(query)
	if !ok || len(toks) < 3 {
		return "", nil, false
	}
	switch toks[0].val {
	case "INSERT", "REPLACE", "UPDATE", "DELETE":
	default:
		return "", nil, false
	}
	var b strings.Builder
	var args []any
	last := 0
	for i, t := range toks {
		switch t.typ {
		case tkParam, tkVar:
			return "", nil, false
		case tkPunct:
			if t.text == ";" && i != len(toks)-1 {
				return "", nil, false
			}
		case tkWord:
			switch t.val {
			case "SELECT", "LIMIT", "ORDER", "INTERVAL", "BINARY", "COLLATE", "_BINARY",
				"LIKE", "REGEXP", "RLIKE": // a literal pattern lets the transpiler use an index range
				return "", nil, false
			}
			if strings.HasPrefix(t.val, "JSON") {
				return "", nil, false // JSON paths are translated as literals
			}
			if strings.HasPrefix(t.val, "_") || t.val == "N" || t.val == "X" || t.val == "B" {
				// A character set introducer (_utf8mb4'..') or N'..',
				// X'..', B'..' when a string follows directly.
				if i+1 < len(toks) && toks[i+1].typ == tkString && toks[i+1].start == t.end {
					return "", nil, false
				}
			}
		case tkString:
			if i > 0 && toks[i-1].typ == tkString {
				return "", nil, false // 'a' 'b' concatenation
			}
			b.WriteString(query[last:t.start])
			b.WriteByte('?')
			last = t.end
			args = append(args, t.val)
		case tkNumber:
			n, err := strconv.ParseInt(t.text, 10, 64)
			if err != nil {
				continue // decimal, float, hex or huge: stays literal
			}
			b.WriteString(query[last:t.start])
			b.WriteByte('?')
			last = t.end
			args = append(args, n)
		}
	}
	if len(args) == 0 {
		return "", nil, false
	}
	b.WriteString(query[last:])
	return b.String(), args, true
}
