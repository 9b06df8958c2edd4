package transpile

import (
	"strconv"
	"strings"
	"sync"
)

var tokenPool = sync.Pool{New: func() any {
	toks := make([]token, 0, 128)
	return &toks
}}

// Parameterize turns the literal values of a text-protocol INSERT,
// REPLACE, UPDATE or DELETE, and those in the WHERE clause of a plain
// SELECT, into placeholders, so statements that differ only in their
// values share one transpiled form (and one cache entry): clients that
// interpolate their parameters (most ORMs, WordPress, the benchmark tools)
// would otherwise pay the full parse for every row.
//
// It declines (ok false) anything where a literal is not a plain value: a
// statement with placeholders already, several statements, a SELECT's
// literals outside its WHERE clause (they name and type result columns),
// subqueries, UNION, GROUP BY, HAVING, LIMIT/ORDER BY/INTERVAL, character
// set introducers and hex, bit or decimal literals (their types differ
// from a bound parameter's). Strings and integers that fit int64 are
// replaced. A literal the grammar needs as such (CAST(x AS CHAR(10)))
// makes the result fail to parse: the caller then runs the text as sent.
func Parameterize(query string) (string, []any, bool) {
	// Every text-protocol statement comes through here: its tokens live
	// only for this call, so their slice is reused (allocating it was 1.5%
	// of a cluster node's CPU under the benchmark's 1 KB inserts).
	bp := tokenPool.Get().(*[]token)
	toks, ok := lexInto((*bp)[:0], query)
	defer func() {
		clear(toks) // they point into query
		*bp = toks[:0]
		tokenPool.Put(bp)
	}()
	if !ok || len(toks) < 3 {
		return "", nil, false
	}
	sel := false
	switch toks[0].val {
	case "INSERT", "REPLACE", "UPDATE", "DELETE":
	case "SELECT":
		sel = true
	default:
		return "", nil, false
	}
	var b strings.Builder
	args := make([]any, 0, 16)
	last := 0
	depth := 0
	values := !sel // a SELECT's values start at its top-level WHERE
	for i, t := range toks {
		switch t.typ {
		case tkParam, tkVar:
			return "", nil, false
		case tkPunct:
			switch t.text {
			case ";":
				if i != len(toks)-1 {
					return "", nil, false
				}
			case "(":
				depth++
			case ")":
				depth--
			}
		case tkWord:
			if i == 0 {
				continue
			}
			if sel {
				switch t.val {
				case "UNION", "EXCEPT", "INTERSECT", "GROUP", "HAVING", "WINDOW", "INTO":
					return "", nil, false
				case "WHERE":
					values = values || depth == 0
				}
			}
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
			if !values {
				continue
			}
			b.WriteString(query[last:t.start])
			b.WriteByte('?')
			last = t.end
			args = append(args, t.val)
		case tkNumber:
			n, err := strconv.ParseInt(t.text, 10, 64)
			if err != nil || !values {
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
