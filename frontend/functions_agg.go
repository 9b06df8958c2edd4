package frontend

import (
	"fmt"
	"math"
	"strconv"
)

// MySQL aggregate functions SQLite lacks: BIT_AND/BIT_OR/BIT_XOR,
// STD/STDDEV/STDDEV_POP/STDDEV_SAMP/VARIANCE/VAR_POP/VAR_SAMP,
// JSON_ARRAYAGG/JSON_OBJECTAGG. They are plain aggregates (not window
// functions). NULL inputs are skipped.

func mfAggregateFunctions() []mfSQLAgg {
	return []mfSQLAgg{
		{"bit_and", func() *mfBitAgg { return &mfBitAgg{op: '&', acc: math.MaxUint64} }},
		{"bit_or", func() *mfBitAgg { return &mfBitAgg{op: '|'} }},
		{"bit_xor", func() *mfBitAgg { return &mfBitAgg{op: '^'} }},
		{"std", func() *mfVarAgg { return &mfVarAgg{sqrt: true} }},
		{"stddev", func() *mfVarAgg { return &mfVarAgg{sqrt: true} }},
		{"stddev_pop", func() *mfVarAgg { return &mfVarAgg{sqrt: true} }},
		{"stddev_samp", func() *mfVarAgg { return &mfVarAgg{sqrt: true, sample: true} }},
		{"variance", func() *mfVarAgg { return &mfVarAgg{} }},
		{"var_pop", func() *mfVarAgg { return &mfVarAgg{} }},
		{"var_samp", func() *mfVarAgg { return &mfVarAgg{sample: true} }},
		{"json_arrayagg", func() *mfJSONArrayAgg { return &mfJSONArrayAgg{} }},
		{"json_objectagg", func() *mfJSONObjectAgg { return &mfJSONObjectAgg{m: map[string]any{}} }},
	}
}

// mfBitAgg computes on unsigned 64-bit values, as MySQL: BIT_AND of no rows
// is 18446744073709551615, BIT_OR/BIT_XOR of no rows 0. Values beyond
// BIGINT's range come back as text.
type mfBitAgg struct {
	op  byte
	acc uint64
}

func (a *mfBitAgg) Step(v any) {
	if mfIsNull(v) {
		return
	}
	var u uint64
	if s, ok := v.(string); ok {
		if n, err := strconv.ParseUint(mfNumPrefix(s), 10, 64); err == nil {
			u = n
		} else {
			n, _ := mfArgInt(v)
			u = uint64(n)
		}
	} else {
		n, _ := mfArgInt(v)
		u = uint64(n)
	}
	switch a.op {
	case '&':
		a.acc &= u
	case '|':
		a.acc |= u
	default:
		a.acc ^= u
	}
}

func (a *mfBitAgg) Done() any {
	if a.acc > math.MaxInt64 {
		return strconv.FormatUint(a.acc, 10)
	}
	return int64(a.acc)
}

// mfVarAgg is Welford's running variance.
type mfVarAgg struct {
	sqrt, sample bool
	n            int64
	mean, m2     float64
}

func (a *mfVarAgg) Step(v any) {
	f, ok := mfArgFloat(v)
	if !ok {
		return
	}
	a.n++
	d := f - a.mean
	a.mean += d / float64(a.n)
	a.m2 += d * (f - a.mean)
}

func (a *mfVarAgg) Done() any {
	div := float64(a.n)
	if a.sample {
		div--
	}
	if a.n == 0 || div <= 0 {
		return nil
	}
	r := a.m2 / div
	if a.sqrt {
		r = math.Sqrt(r)
	}
	return r
}

// mfJSONValue converts an SQL value for a JSON aggregate: text that is a
// JSON array or object is embedded as JSON, other text is a string.
func mfJSONValue(v any) any {
	switch x := v.(type) {
	case int64:
		return x
	case float64:
		return x
	case string:
		if len(x) > 0 && (x[0] == '{' || x[0] == '[') {
			if doc, err := mfParseJSON(x, "", 0); err == nil {
				return doc
			}
		}
		return x
	case []byte:
		if x == nil {
			return nil
		}
		return string(x)
	}
	return nil
}

type mfJSONArrayAgg struct {
	vals []any
	any  bool
}

func (a *mfJSONArrayAgg) Step(v any) {
	a.any = true
	a.vals = append(a.vals, mfJSONValue(v))
}

func (a *mfJSONArrayAgg) Done() any {
	if !a.any {
		return nil
	}
	return mfJSONText(a.vals)
}

type mfJSONObjectAgg struct {
	m   map[string]any
	any bool
}

func (a *mfJSONObjectAgg) Step(k, v any) error {
	key, ok := mfArgStr(k)
	if !ok {
		return fmt.Errorf("JSON documents may not contain NULL member names.")
	}
	a.any = true
	a.m[key] = mfJSONValue(v)
	return nil
}

func (a *mfJSONObjectAgg) Done() any {
	if !a.any {
		return nil
	}
	return mfJSONText(a.m)
}
