package frontend

import (
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
)

// MySQL's numeric functions that SQLite lacks or computes differently.
// SQLite's own (sqlite_math_functions) serve the rest: pow/power, sqrt,
// exp, pi, sin/cos/tan/asin/acos/atan/atan2, degrees/radians, sign, abs.

func mfMathFunctions() []mfSQLFunc {
	return []mfSQLFunc{
		{"round", mfRoundFn, true},
		{"truncate", func(x, d any) any { return mfRoundTo(x, d, true) }, true},
		{"floor", func(v any) any { return mfFloorCeil(v, math.Floor) }, true},
		{"ceil", func(v any) any { return mfFloorCeil(v, math.Ceil) }, true},
		{"ceiling", func(v any) any { return mfFloorCeil(v, math.Ceil) }, true},
		{"log", mfLogFn, true},
		{"ln", func(v any) any { return mfLogBase(v, 0) }, true},
		{"log2", func(v any) any { return mfLogBase(v, 2) }, true},
		{"log10", func(v any) any { return mfLogBase(v, 10) }, true},
		{"cot", func(v any) (any, error) {
			f, ok := mfArgFloat(v)
			if !ok {
				return nil, nil
			}
			if math.Tan(f) == 0 {
				return nil, fmt.Errorf("DOUBLE value is out of range in 'cot(%s)'", mfFmtDouble(f))
			}
			return 1 / math.Tan(f), nil
		}, true},
		{"atan", func(y, x any) any {
			a, ok1 := mfArgFloat(y)
			b, ok2 := mfArgFloat(x)
			if !ok1 || !ok2 {
				return nil
			}
			return math.Atan2(a, b)
		}, true},
		{"rand", mfRandFn, false},
		{"crc32", func(v any) any {
			if mfIsNull(v) {
				return nil
			}
			return int64(crc32.ChecksumIEEE(mfArgBytes(v)))
		}, true},
	}
}

// mfRoundFn is ROUND(x[, d]): half away from zero on the exact decimal value;
// d may be negative. Integers stay integers.
func mfRoundFn(args ...any) any {
	switch len(args) {
	case 1:
		return mfRoundTo(args[0], int64(0), false)
	case 2:
		return mfRoundTo(args[0], args[1], false)
	}
	return nil
}

func mfRoundTo(xv, dv any, truncate bool) any {
	d, ok := mfArgInt(dv)
	if !ok || mfIsNull(xv) {
		return nil
	}
	if d > 30 {
		d = 30
	}
	if d < -400 {
		d = -400
	}
	x, ok := mfArgDecimal(xv)
	if !ok {
		if f, isF := xv.(float64); isF {
			return f // inf
		}
		return nil
	}
	r := x.round(int(d), truncate)
	if _, isInt := xv.(int64); isInt {
		if r.unscaled.IsInt64() {
			return r.unscaled.Int64()
		}
		return r.float()
	}
	return r.float()
}

// mfFloorCeil returns an integer when the result fits one (MySQL's BIGINT).
func mfFloorCeil(v any, f func(float64) float64) any {
	if n, ok := v.(int64); ok {
		return n
	}
	x, ok := mfArgFloat(v)
	if !ok {
		return nil
	}
	r := f(x)
	if r >= -9.2e18 && r <= 9.2e18 {
		return int64(r)
	}
	return r
}

// mfLogFn is LOG(x) (natural) or LOG(b, x).
func mfLogFn(args ...any) any {
	switch len(args) {
	case 1:
		return mfLogBase(args[0], 0)
	case 2:
		b, ok := mfArgFloat(args[0])
		if !ok || b <= 0 || b == 1 {
			return nil
		}
		x, ok := mfArgFloat(args[1])
		if !ok || x <= 0 {
			return nil
		}
		return math.Log(x) / math.Log(b)
	}
	return nil
}

// mfLogBase is LN (base 0), LOG2, LOG10: NULL for x <= 0, as MySQL.
func mfLogBase(v any, base int) any {
	x, ok := mfArgFloat(v)
	if !ok || x <= 0 {
		return nil
	}
	switch base {
	case 2:
		return math.Log2(x)
	case 10:
		return math.Log10(x)
	}
	return math.Log(x)
}

// mfMysqlRand is MySQL's my_rnd generator, so that RAND(n) gives MySQL's
// numbers.
type mfMysqlRand struct{ seed1, seed2 uint64 }

const mfRandMax = 0x3FFFFFFF

func mfNewMySQLRand(seed int64) *mfMysqlRand {
	tmp := uint64(uint32(seed))
	return &mfMysqlRand{seed1: uint64(uint32(tmp*0x10001+55555555)) % mfRandMax, seed2: uint64(uint32(tmp*0x10000001)) % mfRandMax}
}

func (r *mfMysqlRand) next() float64 {
	r.seed1 = (r.seed1*3 + r.seed2) % mfRandMax
	r.seed2 = (r.seed1 + r.seed2 + 33) % mfRandMax
	return float64(r.seed1) / float64(mfRandMax)
}

// mfRandFn is RAND([seed]). A seeded call returns the first number of
// MySQL's sequence for that seed (each call re-seeds).
func mfRandFn(args ...any) any {
	if len(args) == 0 {
		return rand.Float64()
	}
	seed, _ := mfArgInt(args[0])
	return mfNewMySQLRand(seed).next()
}
