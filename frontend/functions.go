package frontend

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/materializer"
)

// mfSQLFunc is one SQLite function registered on every connection. pure
// functions are registered as deterministic (usable in indexes and
// generated columns); anything that reads the clock, the session or a
// random source is not pure.
type mfSQLFunc struct {
	name string
	impl any
	pure bool
}

// mfSQLAgg is one aggregate function (see (*sqlite3.SQLiteConn).RegisterAggregator).
type mfSQLAgg struct {
	name string
	impl any
}

// registerFunctions installs the MySQL functions and marmot's session
// functions on a new SQLite connection. Session-dependent functions read the
// session from env, which the executor sets around each statement.
//
// Function arguments arrive as int64, float64, string, []byte, or a nil
// []byte for SQL NULL (go-sqlite3's conversion of an `any` parameter); the
// helpers below (mfIsNull, mfArgStr, mfArgInt, mfArgFloat, mfArgDecimal)
// apply MySQL's conversions. A registered name overrides SQLite's built-in function of the
// same name and arity (concat, format, hex, quote, round, instr, substr, ...);
// SQLite's own nested SQL (ALTER TABLE, VACUUM) still uses its built-ins.
func (srv *Server) registerFunctions(c *sqlite3.SQLiteConn, env *materializer.Env) error {
	sess := func() *Session {
		s, _ := env.Session.(*Session)
		return s
	}
	fns := []mfSQLFunc{
		{"marmot_auto_id", func(v any) (int64, error) {
			s := sess()
			if s == nil {
				return 0, fmt.Errorf("marmot_auto_id outside a session")
			}
			return s.autoID(v)
		}, false},
		{"last_insert_id", func(args ...any) int64 {
			s := sess()
			if s == nil {
				return 0
			}
			if len(args) == 1 {
				s.lastInsertID = toInt64(args[0])
			}
			return s.lastInsertID
		}, false},
		{"database", func() any {
			if s := sess(); s != nil && s.db != "" {
				return s.db
			}
			return nil
		}, false},
		{"schema", func() any {
			if s := sess(); s != nil && s.db != "" {
				return s.db
			}
			return nil
		}, false},
		{"marmot_sysvar", func(name string) any {
			return srv.sysVar(sess(), name)
		}, false},
		{"marmot_uservar", func(name string) any {
			if s := sess(); s != nil {
				return s.userVars[strings.ToLower(name)]
			}
			return nil
		}, false},
		{"connection_id", func() int64 {
			if s := sess(); s != nil {
				return int64(s.id)
			}
			return 0
		}, false},
		{"found_rows", func() int64 {
			if s := sess(); s != nil {
				return s.foundRows
			}
			return 0
		}, false},
		{"row_count", func() int64 {
			if s := sess(); s != nil {
				return s.rowCount
			}
			return -1
		}, false},
		{"version", func() string { return srv.version }, true},
		{"user", func() string { return mfSessUser(sess()) }, false},
		{"current_user", func() string { return mfSessUser(sess()) }, false},
		{"session_user", func() string { return mfSessUser(sess()) }, false},
		{"system_user", func() string { return mfSessUser(sess()) }, false},
		{"md5", func(v any) any { return mfHashHex(v, func(b []byte) []byte { h := md5.Sum(b); return h[:] }) }, true},
		{"sha1", func(v any) any { return mfHashHex(v, func(b []byte) []byte { h := sha1.Sum(b); return h[:] }) }, true},
		{"sha", func(v any) any { return mfHashHex(v, func(b []byte) []byte { h := sha1.Sum(b); return h[:] }) }, true},
		{"sha2", mfSha2, true},
		{"regexp", mfRegexpMatch, true},
	}
	fns = append(fns, mfTimeFunctions()...)
	fns = append(fns, mfStringFunctions()...)
	fns = append(fns, mfMathFunctions()...)
	fns = append(fns, mfMiscFunctions(sess, srv)...)
	fns = append(fns, mfJSONFunctions()...)
	for _, f := range fns {
		if err := c.RegisterFunc(f.name, mfGuardFunc(f.name, f.impl), f.pure); err != nil {
			return fmt.Errorf("register %s: %w", f.name, err)
		}
	}
	for _, a := range mfAggregateFunctions() {
		if err := c.RegisterAggregator(a.name, a.impl, true); err != nil {
			return fmt.Errorf("register %s: %w", a.name, err)
		}
	}
	return nil
}

// mfGuardFunc wraps a function implementation so that a panic becomes an SQL
// error (or NULL when the function has no error result) instead of
// unwinding through SQLite's C frames.
func mfGuardFunc(name string, impl any) any {
	// The signatures most functions have are wrapped directly: go-sqlite3
	// calls the wrapper by reflection anyway, and a reflect.MakeFunc
	// wrapper made every call pay for reflection twice.
	switch f := impl.(type) {
	case func(any) any:
		return func(a any) (out any) {
			defer mfRecover(name, nil)
			return f(a)
		}
	case func(any, any) any:
		return func(a, b any) (out any) {
			defer mfRecover(name, nil)
			return f(a, b)
		}
	case func(any, any, any) any:
		return func(a, b, c any) (out any) {
			defer mfRecover(name, nil)
			return f(a, b, c)
		}
	case func(...any) any:
		return func(args ...any) (out any) {
			defer mfRecover(name, nil)
			return f(args...)
		}
	case func(...any) string:
		return func(args ...any) (out string) {
			defer mfRecover(name, nil)
			return f(args...)
		}
	case func(any) (any, error):
		return func(a any) (out any, err error) {
			defer mfRecover(name, &err)
			return f(a)
		}
	case func(any) (int64, error):
		return func(a any) (out int64, err error) {
			defer mfRecover(name, &err)
			return f(a)
		}
	}
	v := reflect.ValueOf(impl)
	t := v.Type()
	return reflect.MakeFunc(t, func(args []reflect.Value) (out []reflect.Value) {
		defer func() {
			if r := recover(); r != nil {
				out = make([]reflect.Value, t.NumOut())
				for i := range out {
					out[i] = reflect.Zero(t.Out(i))
				}
				if t.NumOut() == 2 {
					err := fmt.Errorf("%s: internal error: %v", name, r)
					out[1] = reflect.ValueOf(&err).Elem()
				}
			}
		}()
		if t.IsVariadic() {
			return v.CallSlice(args)
		}
		return v.Call(args)
	}).Interface()
}

// mfRecover turns a panic into the function's zero result, and into an
// error when the function has one (err non-nil); deferred by the
// wrappers of mfGuardFunc, whose named results are then returned.
func mfRecover(name string, err *error) {
	if r := recover(); r != nil && err != nil {
		*err = fmt.Errorf("%s: internal error: %v", name, r)
	}
}

func mfSessUser(s *Session) string {
	if s == nil {
		return ""
	}
	return s.user + "@localhost"
}

func mfHashHex(v any, sum func([]byte) []byte) any {
	if mfIsNull(v) {
		return nil
	}
	return hex.EncodeToString(sum(mfArgBytes(v)))
}

// mfSha2 is SHA2(str, bits): NULL for NULL arguments or an unsupported length.
func mfSha2(v, bitsArg any) any {
	bits, ok := mfArgInt(bitsArg)
	if mfIsNull(v) || !ok {
		return nil
	}
	b := mfArgBytes(v)
	switch bits {
	case 0, 256:
		h := sha256.Sum256(b)
		return hex.EncodeToString(h[:])
	case 224:
		h := sha256.Sum224(b)
		return hex.EncodeToString(h[:])
	case 384:
		h := sha512.Sum384(b)
		return hex.EncodeToString(h[:])
	case 512:
		h := sha512.Sum512(b)
		return hex.EncodeToString(h[:])
	}
	return nil
}

var mfRegexCache sync.Map // pattern -> *regexp.Regexp

// mfRegexpMatch implements X REGEXP Y (SQLite calls regexp(Y, X)); MySQL's
// default collation is case-insensitive, so is the match.
func mfRegexpMatch(pattern, value any) (any, error) {
	if mfIsNull(pattern) || mfIsNull(value) {
		return nil, nil
	}
	re, err := mfCachedRegexp("(?i)" + string(mfArgBytes(pattern)))
	if err != nil {
		return nil, err
	}
	return mfBoolInt(re.Match(mfArgBytes(value))), nil
}

func mfCachedRegexp(p string) (*regexp.Regexp, error) {
	if re, ok := mfRegexCache.Load(p); ok {
		return re.(*regexp.Regexp), nil
	}
	c, err := regexp.Compile(p)
	if err != nil {
		return nil, fmt.Errorf("regexp: %w", err)
	}
	re, _ := mfRegexCache.LoadOrStore(p, c)
	return re.(*regexp.Regexp), nil
}

// ---- argument conversion (MySQL rules) ----

// mfIsNull reports SQL NULL: go-sqlite3 passes NULL to an `any` parameter as
// a nil []byte (an empty blob is a non-nil empty slice).
func mfIsNull(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case []byte:
		return x == nil
	}
	return false
}

func mfAnyNull(args ...any) bool {
	for _, a := range args {
		if mfIsNull(a) {
			return true
		}
	}
	return false
}

func mfBoolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// mfArgStr is an argument's string value as MySQL converts it.
func mfArgStr(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case []byte:
		if x == nil {
			return "", false
		}
		return string(x), true
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return mfFmtDouble(x), true
	}
	return string(textValue(v)), true
}

// mfArgBytes is like mfArgStr without the copy for blobs.
func mfArgBytes(v any) []byte {
	if b, ok := v.([]byte); ok {
		return b
	}
	s, _ := mfArgStr(v)
	return []byte(s)
}

// mfFmtDouble renders a DOUBLE as MySQL does: shortest round-trip digits,
// exponent notation (1e15, 1.5e-7) only for very large or small values.
func mfFmtDouble(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e15) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	neg := strings.HasPrefix(exp, "-")
	exp = strings.TrimLeft(exp, "+-0")
	if neg {
		exp = "-" + exp
	}
	return mant + "e" + exp
}

// mfNumPrefix returns the longest prefix of s (after leading spaces) that is
// a decimal number: MySQL converts '12abc' to 12 and 'abc' to 0.
func mfNumPrefix(s string) string {
	s = strings.TrimLeft(s, " \t\n\r\f\v")
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
			digits++
		}
		if digits > 0 {
			i = j
		}
	}
	if digits == 0 {
		return ""
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	return s[:i]
}

// mfArgFloat is an argument's DOUBLE value.
func mfArgFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	s, ok := mfArgStr(v)
	if !ok {
		return 0, false
	}
	f, _ := strconv.ParseFloat(mfNumPrefix(s), 64)
	return f, true
}

// mfArgInt is an argument's integer value: doubles round half away from zero,
// strings take their leading integer.
func mfArgInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		return mfClampInt(math.Round(x)), true
	}
	s, ok := mfArgStr(v)
	if !ok {
		return 0, false
	}
	p := mfNumPrefix(s)
	if i := strings.IndexAny(p, ".eE"); i >= 0 {
		p = p[:i]
	}
	n, err := strconv.ParseInt(p, 10, 64)
	if err != nil && p != "" && p != "-" && p != "+" {
		if strings.HasPrefix(p, "-") {
			return math.MinInt64, true
		}
		return math.MaxInt64, true
	}
	return n, true
}

func mfClampInt(f float64) int64 {
	switch {
	case math.IsNaN(f):
		return 0
	case f >= math.MaxInt64:
		return math.MaxInt64
	case f <= math.MinInt64:
		return math.MinInt64
	}
	return int64(f)
}

// mfDecimal is an exact decimal number: unscaled × 10^-scale.
type mfDecimal struct {
	unscaled big.Int
	scale    int
}

// mfArgDecimal is an argument's exact decimal value: integers and decimal
// text exactly, doubles by their shortest decimal representation (so 2.5
// rounds like the literal 2.5 does in MySQL).
func mfArgDecimal(v any) (*mfDecimal, bool) {
	var s string
	switch x := v.(type) {
	case int64:
		d := &mfDecimal{}
		d.unscaled.SetInt64(x)
		return d, true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return nil, false
		}
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		var ok bool
		if s, ok = mfArgStr(v); !ok {
			return nil, false
		}
		s = mfNumPrefix(s)
	}
	return mfParseDecimal(s), true
}

func mfParseDecimal(s string) *mfDecimal {
	d := &mfDecimal{}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e, err := strconv.Atoi(s[i+1:])
		if err != nil || e > 400 || e < -400 {
			e = 0
		}
		exp = e
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	if _, ok := d.unscaled.SetString(strings.TrimPrefix(intPart, "+")+frac, 10); !ok {
		d.unscaled.SetInt64(0)
	}
	d.scale = len(frac) - exp
	if d.scale < 0 {
		d.unscaled.Mul(&d.unscaled, mfPow10(-d.scale))
		d.scale = 0
	}
	return d
}

func mfPow10(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// round returns x rounded (half away from zero) or truncated to d decimals;
// d may be negative (ROUND(1234, -2) = 1200). The result has scale max(d, 0)
// unless x had fewer decimals.
func (x *mfDecimal) round(d int, truncate bool) *mfDecimal {
	if d >= x.scale {
		return x
	}
	drop := x.scale - d
	if drop > 500 {
		return &mfDecimal{}
	}
	div := mfPow10(drop)
	q, r := new(big.Int), new(big.Int)
	q.QuoRem(&x.unscaled, div, r)
	if !truncate {
		r.Abs(r).Lsh(r, 1)
		if r.Cmp(div) >= 0 {
			if x.unscaled.Sign() < 0 {
				q.Sub(q, big.NewInt(1))
			} else {
				q.Add(q, big.NewInt(1))
			}
		}
	}
	out := &mfDecimal{scale: d}
	out.unscaled.Set(q)
	if d < 0 {
		out.unscaled.Mul(&out.unscaled, mfPow10(-d))
		out.scale = 0
	}
	return out
}

// text renders x with exactly scale decimals (scale >= x.scale pads zeros).
func (x *mfDecimal) text(scale int) string {
	u := new(big.Int).Set(&x.unscaled)
	if scale > x.scale {
		u.Mul(u, mfPow10(scale-x.scale))
	}
	neg := u.Sign() < 0
	digits := u.Abs(u).String()
	if scale > 0 {
		if len(digits) <= scale {
			digits = strings.Repeat("0", scale-len(digits)+1) + digits
		}
		digits = digits[:len(digits)-scale] + "." + digits[len(digits)-scale:]
	}
	if neg {
		return "-" + digits
	}
	return digits
}

func (x *mfDecimal) float() float64 {
	f, _ := strconv.ParseFloat(x.text(x.scale), 64)
	return f
}

// toInt64 is used by the session code (LAST_INSERT_ID(expr)).
func toInt64(v any) int64 {
	if v == nil {
		return 0
	}
	return asInt(v)
}
