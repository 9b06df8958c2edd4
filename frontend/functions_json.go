package frontend

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// MySQL JSON functions SQLite lacks or answers differently. SQLite's own
// json_extract, json_set, json_insert, json_replace, json_remove,
// json_array, json_object, json_valid and json_quote serve the rest (their
// output is compact: {"a":1} where MySQL prints {"a": 1}). Documents these
// functions produce use MySQL's format and key order.

func mfJSONFunctions() []mfSQLFunc {
	return []mfSQLFunc{
		{"json_unquote", mfJSONUnquote, true},
		{"json_type", mfJSONType, true},
		{"json_length", mfJSONLength, true},
		{"json_keys", mfJSONKeys, true},
		{"json_contains", mfJSONContains, true},
		{"json_contains_path", mfJSONContainsPath, true},
		{"json_merge_patch", mfJSONMergePatch, true},
	}
}

func mfParseJSON(s, fn string, argN int) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, e2 := dec.Token(); e2 != io.EOF {
			err = fmt.Errorf("The document root must not be followed by other values.")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("Invalid JSON text in argument %d to function %s: %v", argN, fn, err)
	}
	return v, nil
}

// mfJSONArg parses argument argN (1-based) of fn; ok is false for NULL.
func mfJSONArg(v any, fn string, argN int) (any, bool, error) {
	s, ok := mfArgStr(v)
	if !ok {
		return nil, false, nil
	}
	doc, err := mfParseJSON(s, fn, argN)
	return doc, err == nil, err
}

// mfJSONKeyLess is MySQL's object key order: shorter keys first, then bytes.
func mfJSONKeyLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func mfSortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return mfJSONKeyLess(keys[i], keys[j]) })
	return keys
}

// mfJSONText renders a decoded document as MySQL prints JSON.
func mfJSONText(v any) string {
	var b strings.Builder
	mfWriteJSON(&b, v)
	return b.String()
}

func mfWriteJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case json.Number:
		b.WriteString(x.String())
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			b.WriteString("null")
		} else {
			b.WriteString(mfFmtDouble(x))
		}
	case string:
		mfWriteJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			mfWriteJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range mfSortedKeys(x) {
			if i > 0 {
				b.WriteString(", ")
			}
			mfWriteJSONString(b, k)
			b.WriteString(": ")
			mfWriteJSON(b, x[k])
		}
		b.WriteByte('}')
	}
}

func mfWriteJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				fmt.Fprintf(b, `\u%04x`, c)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}

// mfJSONPath evaluates a simple MySQL JSON path ($, .key, ."key", [n],
// [last], [last-n]); found is false when the path selects nothing.
func mfJSONPath(doc any, path string) (v any, found bool, err error) {
	p := strings.TrimSpace(path)
	if !strings.HasPrefix(p, "$") {
		return nil, false, fmt.Errorf("Invalid JSON path expression. The error is around character position 1.")
	}
	p = p[1:]
	v = doc
	for {
		p = strings.TrimLeft(p, " ")
		if p == "" {
			return v, true, nil
		}
		switch p[0] {
		case '.':
			p = p[1:]
			var key string
			if strings.HasPrefix(p, `"`) {
				end := strings.Index(p[1:], `"`)
				if end < 0 {
					return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
				}
				key, p = p[1:end+1], p[end+2:]
			} else {
				end := strings.IndexAny(p, ".[ ")
				if end < 0 {
					end = len(p)
				}
				key, p = p[:end], p[end:]
			}
			if key == "" || key == "*" {
				return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
			}
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false, nil
			}
			if v, ok = m[key]; !ok {
				return nil, false, nil
			}
		case '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
			}
			idxText := strings.TrimSpace(p[1:end])
			p = p[end+1:]
			arr, isArr := v.([]any)
			if !isArr {
				arr = []any{v} // MySQL: a scalar is an array of one element
			}
			var idx int
			if strings.HasPrefix(idxText, "last") {
				idx = len(arr) - 1
				if rest := strings.TrimSpace(idxText[4:]); rest != "" {
					n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(rest, "-")))
					if err != nil || !strings.HasPrefix(rest, "-") {
						return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
					}
					idx -= n
				}
			} else {
				n, err := strconv.Atoi(idxText)
				if err != nil || n < 0 {
					return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
				}
				idx = n
			}
			if idx < 0 || idx >= len(arr) {
				return nil, false, nil
			}
			v = arr[idx]
		default:
			return nil, false, fmt.Errorf("Invalid JSON path expression %q", path)
		}
	}
}

// mfDocAt parses args[0] and applies the optional path args[pathIdx].
func mfDocAt(args []any, pathIdx int, fn string) (any, bool, error) {
	doc, ok, err := mfJSONArg(args[0], fn, 1)
	if !ok || err != nil {
		return nil, false, err
	}
	if len(args) > pathIdx {
		p, ok := mfArgStr(args[pathIdx])
		if !ok {
			return nil, false, nil
		}
		return mfJSONPath(doc, p)
	}
	return doc, true, nil
}

func mfJSONUnquote(v any) (any, error) {
	s, ok := mfArgStr(v)
	if !ok {
		return nil, nil
	}
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s, nil
	}
	var out string
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("Invalid JSON text in argument 1 to function json_unquote: %v", err)
	}
	return out, nil
}

// mfJSONType is MySQL's JSON_TYPE (SQLite's json_type(x, path) stays).
func mfJSONType(v any) (any, error) {
	doc, ok, err := mfJSONArg(v, "json_type", 1)
	if !ok || err != nil {
		return nil, err
	}
	switch x := doc.(type) {
	case nil:
		return "NULL", nil
	case bool:
		return "BOOLEAN", nil
	case string:
		return "STRING", nil
	case []any:
		return "ARRAY", nil
	case map[string]any:
		return "OBJECT", nil
	case json.Number:
		if strings.ContainsAny(x.String(), ".eE") {
			return "DOUBLE", nil
		}
		if _, err := strconv.ParseInt(x.String(), 10, 64); err == nil {
			return "INTEGER", nil
		}
		if _, err := strconv.ParseUint(x.String(), 10, 64); err == nil {
			return "UNSIGNED INTEGER", nil
		}
		return "DOUBLE", nil
	}
	return nil, nil
}

func mfJSONLength(args ...any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("Incorrect parameter count in the call to native function 'json_length'")
	}
	v, found, err := mfDocAt(args, 1, "json_length")
	if !found || err != nil {
		return nil, err
	}
	switch x := v.(type) {
	case []any:
		return int64(len(x)), nil
	case map[string]any:
		return int64(len(x)), nil
	}
	return int64(1), nil
}

func mfJSONKeys(args ...any) (any, error) {
	if len(args) < 1 || len(args) > 2 {
		return nil, fmt.Errorf("Incorrect parameter count in the call to native function 'json_keys'")
	}
	v, found, err := mfDocAt(args, 1, "json_keys")
	if !found || err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, nil
	}
	keys := mfSortedKeys(m)
	arr := make([]any, len(keys))
	for i, k := range keys {
		arr[i] = k
	}
	return mfJSONText(arr), nil
}

func mfJSONNumEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, err1 := strconv.ParseFloat(a.String(), 64)
	y, err2 := strconv.ParseFloat(b.String(), 64)
	return err1 == nil && err2 == nil && x == y
}

// mfJSONContainsValue is MySQL's containment rule.
func mfJSONContainsValue(target, cand any) bool {
	switch t := target.(type) {
	case []any:
		if c, ok := cand.([]any); ok {
			for _, ce := range c {
				if !mfJSONContainsValue(t, ce) {
					return false
				}
			}
			return true
		}
		for _, te := range t {
			if mfJSONContainsValue(te, cand) {
				return true
			}
		}
		return false
	case map[string]any:
		c, ok := cand.(map[string]any)
		if !ok {
			return false
		}
		for k, cv := range c {
			tv, ok := t[k]
			if !ok || !mfJSONContainsValue(tv, cv) {
				return false
			}
		}
		return true
	case json.Number:
		c, ok := cand.(json.Number)
		return ok && mfJSONNumEqual(t, c)
	case string:
		c, ok := cand.(string)
		return ok && c == t
	case bool:
		c, ok := cand.(bool)
		return ok && c == t
	case nil:
		return cand == nil
	}
	return false
}

func mfJSONContains(args ...any) (any, error) {
	if len(args) < 2 || len(args) > 3 {
		return nil, fmt.Errorf("Incorrect parameter count in the call to native function 'json_contains'")
	}
	cand, ok, err := mfJSONArg(args[1], "json_contains", 2)
	if !ok || err != nil {
		return nil, err
	}
	docArgs := []any{args[0]}
	if len(args) == 3 {
		docArgs = append(docArgs, args[2])
	}
	target, found, err := mfDocAt(docArgs, 1, "json_contains")
	if !found || err != nil {
		return nil, err
	}
	return mfBoolInt(mfJSONContainsValue(target, cand)), nil
}

func mfJSONContainsPath(args ...any) (any, error) {
	if len(args) < 3 || mfAnyNull(args...) {
		return nil, nil
	}
	doc, _, err := mfJSONArg(args[0], "json_contains_path", 1)
	if err != nil {
		return nil, err
	}
	mode, _ := mfArgStr(args[1])
	mode = strings.ToLower(mode)
	if mode != "one" && mode != "all" {
		return nil, fmt.Errorf("The oneOrAll argument to json_contains_path may take these values: 'one' or 'all'.")
	}
	for _, pa := range args[2:] {
		p, _ := mfArgStr(pa)
		_, found, err := mfJSONPath(doc, p)
		if err != nil {
			return nil, err
		}
		if found && mode == "one" {
			return int64(1), nil
		}
		if !found && mode == "all" {
			return int64(0), nil
		}
	}
	return mfBoolInt(mode == "all"), nil
}

// mfMergePatch is RFC 7396, as JSON_MERGE_PATCH.
func mfMergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	} else {
		c := make(map[string]any, len(t))
		for k, v := range t {
			c[k] = v
		}
		t = c
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
		} else {
			t[k] = mfMergePatch(t[k], v)
		}
	}
	return t
}

func mfJSONMergePatch(args ...any) (any, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("Incorrect parameter count in the call to native function 'json_merge_patch'")
	}
	var result any
	isNullResult := false
	for i, a := range args {
		doc, ok, err := mfJSONArg(a, "json_merge_patch", i+1)
		if err != nil {
			return nil, err
		}
		switch {
		case !ok:
			isNullResult = true
		case i == 0:
			result = doc
		case isNullResult:
			// a later object patch is the result; anything else stays NULL
			if _, isObj := doc.(map[string]any); isObj {
				result, isNullResult = mfMergePatch(nil, doc), false
			}
		default:
			result = mfMergePatch(result, doc)
		}
	}
	if isNullResult {
		return nil, nil
	}
	return mfJSONText(result), nil
}
