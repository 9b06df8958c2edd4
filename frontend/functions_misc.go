package frontend

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"weak"
)

// Miscellaneous MySQL functions: UUID, INET_*, user-level locks, SLEEP,
// CHARSET/COLLATION and the REGEXP_* family.

func mfMiscFunctions(sess func() *Session, srv *Server) []mfSQLFunc {
	return []mfSQLFunc{
		{"uuid", mfUUIDV1, false},
		{"uuid_short", func() int64 { return mfUUIDShortBase + mfUUIDShortSeq.Add(1) }, false},
		{"random_bytes", mfRandomBytes, false},
		{"inet_aton", mfInetAton, true},
		{"inet_ntoa", mfInetNtoa, true},
		{"inet6_aton", mfInet6Aton, true},
		{"inet6_ntoa", mfInet6Ntoa, true},
		{"is_ipv4", func(v any) int64 { a, err := netip.ParseAddr(mfStr0(v)); return mfBoolInt(err == nil && a.Is4()) }, true},
		{"is_ipv6", func(v any) int64 { a, err := netip.ParseAddr(mfStr0(v)); return mfBoolInt(err == nil && a.Is6()) }, true},
		{"get_lock", func(name, timeout any) (any, error) { return mfUserLocks.get(sess(), name) }, false},
		{"release_lock", func(name any) (any, error) { return mfUserLocks.release(sess(), name) }, false},
		{"is_free_lock", func(name any) (any, error) { return mfUserLocks.isFree(sess(), name) }, false},
		{"is_used_lock", func(name any) (any, error) { return mfUserLocks.isUsed(sess(), name) }, false},
		{"release_all_locks", func() int64 { return mfUserLocks.releaseAll(sess()) }, false},
		{"sleep", func(v any) (int64, error) { return mfSleep(srv, sess(), v) }, false},
		{"charset", func(v any) any {
			if _, bin := v.([]byte); bin && !mfIsNull(v) {
				return "binary"
			}
			return "utf8mb4"
		}, true},
		{"collation", func(v any) any {
			if _, bin := v.([]byte); bin && !mfIsNull(v) {
				return "binary"
			}
			return "utf8mb4_0900_ai_ci"
		}, true},
		{"regexp_like", mfRegexpLike, true},
		{"regexp_instr", mfRegexpInstr, true},
		{"regexp_substr", mfRegexpSubstr, true},
		{"regexp_replace", mfRegexpReplace, true},
	}
}

func mfStr0(v any) string { s, _ := mfArgStr(v); return s }

// ---- UUID ----

var (
	mfUUIDMu       sync.Mutex
	mfUUIDLastTS   uint64
	mfUUIDClockSeq uint16
	mfUUIDNode     [6]byte
	mfUUIDOnce     sync.Once

	// UUID_SHORT: (server byte << 56) + (start-up seconds << 24) + counter,
	// as MySQL with a random 7-bit server byte.
	mfUUIDShortBase = func() int64 {
		var b [1]byte
		_, _ = rand.Read(b[:])
		return int64(b[0]&0x7f)<<56 + (time.Now().Unix()&0xffffffff)<<24
	}()
	mfUUIDShortSeq atomic.Int64
)

// mfUUIDV1 is MySQL's UUID(): a version 1 (time-based) UUID with a random
// node and clock sequence.
func mfUUIDV1() string {
	mfUUIDOnce.Do(func() {
		var b [8]byte
		_, _ = rand.Read(b[:])
		copy(mfUUIDNode[:], b[:6])
		mfUUIDNode[0] |= 0x01 // multicast bit: not a real MAC address
		mfUUIDClockSeq = binary.BigEndian.Uint16(b[6:]) & 0x3fff
	})
	mfUUIDMu.Lock()
	ts := uint64(time.Now().UnixNano()/100) + 0x01B21DD213814000
	if ts <= mfUUIDLastTS {
		ts = mfUUIDLastTS + 1
	}
	mfUUIDLastTS = ts
	mfUUIDMu.Unlock()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", uint32(ts), uint16(ts>>32), uint16(ts>>48)&0x0fff|0x1000,
		mfUUIDClockSeq|0x8000, mfUUIDNode[:])
}

func mfRandomBytes(v any) (any, error) {
	n, ok := mfArgInt(v)
	if !ok {
		return nil, nil
	}
	if n < 1 || n > 1024 {
		return nil, fmt.Errorf("length value is out of range in 'random_bytes'")
	}
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b, nil
}

// ---- INET ----

// mfInetAton is INET_ATON, with MySQL's short forms (127.1 = 127.0.0.1).
func mfInetAton(v any) any {
	s, ok := mfArgStr(v)
	if !ok {
		return nil
	}
	var result, b uint64
	dots := 0
	c := byte('.')
	for i := 0; i < len(s); i++ {
		c = s[i]
		switch {
		case c >= '0' && c <= '9':
			if b = b*10 + uint64(c-'0'); b > 255 {
				return nil
			}
		case c == '.':
			dots++
			result = result<<8 + b
			b = 0
		default:
			return nil
		}
	}
	if c == '.' || dots > 3 {
		return nil
	}
	switch dots {
	case 1:
		result <<= 16
	case 2:
		result <<= 8
	}
	return int64(result<<8 + b)
}

func mfInetNtoa(v any) any {
	n, ok := mfArgInt(v)
	if !ok || n < 0 || n > 0xffffffff {
		return nil
	}
	return fmt.Sprintf("%d.%d.%d.%d", n>>24&255, n>>16&255, n>>8&255, n&255)
}

func mfInet6Aton(v any) any {
	s, ok := mfArgStr(v)
	if !ok {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return nil
	}
	return a.AsSlice()
}

func mfInet6Ntoa(v any) any {
	b, ok := v.([]byte)
	if !ok || b == nil {
		return nil
	}
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		return nil
	}
	return a.String()
}

// ---- user-level locks ----

// mfLockTable holds GET_LOCK names per session. marmot has no cross-session
// (or cross-node) locking: a lock is always granted, and only its own
// session sees it as taken. Entries of a closed session go when the session
// is garbage-collected.
type mfLockTable struct {
	mu sync.Mutex
	m  map[weak.Pointer[Session]]map[string]int
}

var mfUserLocks = &mfLockTable{m: map[weak.Pointer[Session]]map[string]int{}}

func mfLockName(v any) (string, error) {
	s, ok := mfArgStr(v)
	if !ok || s == "" || utf8.RuneCountInString(s) > 64 {
		if !ok {
			s = "NULL"
		}
		return "", fmt.Errorf("Incorrect user-level lock name '%s'", s)
	}
	return strings.ToLower(s), nil
}

func (lt *mfLockTable) key(s *Session) weak.Pointer[Session] {
	if s == nil {
		return weak.Pointer[Session]{}
	}
	return weak.Make(s)
}

func (lt *mfLockTable) get(s *Session, name any) (any, error) {
	n, err := mfLockName(name)
	if err != nil {
		return nil, err
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	k := lt.key(s)
	held := lt.m[k]
	if held == nil {
		held = map[string]int{}
		lt.m[k] = held
		if s != nil {
			runtime.AddCleanup(s, func(k weak.Pointer[Session]) {
				lt.mu.Lock()
				delete(lt.m, k)
				lt.mu.Unlock()
			}, k)
		}
	}
	held[n]++
	return int64(1), nil
}

func (lt *mfLockTable) release(s *Session, name any) (any, error) {
	n, err := mfLockName(name)
	if err != nil {
		return nil, err
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	held := lt.m[lt.key(s)]
	if held[n] == 0 {
		return nil, nil
	}
	if held[n]--; held[n] == 0 {
		delete(held, n)
	}
	return int64(1), nil
}

func (lt *mfLockTable) isFree(s *Session, name any) (any, error) {
	n, err := mfLockName(name)
	if err != nil {
		return nil, err
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	return mfBoolInt(lt.m[lt.key(s)][n] == 0), nil
}

func (lt *mfLockTable) isUsed(s *Session, name any) (any, error) {
	n, err := mfLockName(name)
	if err != nil {
		return nil, err
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.m[lt.key(s)][n] == 0 {
		return nil, nil
	}
	if s == nil {
		return int64(0), nil
	}
	return int64(s.id), nil
}

func (lt *mfLockTable) releaseAll(s *Session) int64 {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	k := lt.key(s)
	var n int64
	for _, c := range lt.m[k] {
		n += int64(c)
	}
	if lt.m[k] != nil {
		lt.m[k] = map[string]int{}
	}
	return n
}

// ---- SLEEP ----

// mfMaxSleep bounds one SLEEP() call when max_execution_time is 0.
const mfMaxSleep = time.Hour

// mfSleep is SLEEP(seconds): 0 after sleeping, 1 when cut short by
// max_execution_time (or the one-hour bound), like an interrupted sleep.
func mfSleep(srv *Server, s *Session, v any) (int64, error) {
	f, ok := mfArgFloat(v)
	if !ok || f < 0 {
		return 0, fmt.Errorf("Incorrect arguments to sleep.")
	}
	limit := mfMaxSleep
	if ms, ok := mfArgInt(srv.sysVar(s, "max_execution_time")); ok && ms > 0 && time.Duration(ms)*time.Millisecond < limit {
		limit = time.Duration(ms) * time.Millisecond
	}
	if f*float64(time.Second) > float64(limit) {
		time.Sleep(limit)
		return 1, nil
	}
	time.Sleep(time.Duration(f * float64(time.Second)))
	return 0, nil
}

// ---- REGEXP_* ----

// mfCompileMySQLRegexp compiles pattern with MySQL's match_type flags (c, i,
// m, n, u); matching is case-insensitive by default (MySQL's collation)
// unless an argument is binary.
func mfCompileMySQLRegexp(pattern any, matchType any, bin bool) (*regexp.Regexp, error) {
	p, ok := mfArgStr(pattern)
	if !ok {
		return nil, nil
	}
	ci := !bin
	var flags string
	if !mfIsNull(matchType) && matchType != nil {
		mt, _ := mfArgStr(matchType)
		for _, c := range mt {
			switch c {
			case 'c':
				ci = false
			case 'i':
				ci = true
			case 'm':
				flags += "m"
			case 'n':
				flags += "s"
			case 'u':
			default:
				return nil, fmt.Errorf("Incorrect arguments to regexp_like")
			}
		}
	}
	if ci {
		flags += "i"
	}
	if flags != "" {
		p = "(?" + flags + ")" + p
	}
	return mfCachedRegexp(p)
}

// mfRegexpSubject returns the subject string of a REGEXP_* call and the byte
// offset of position pos (1-based, in characters; nil means 1).
func mfRegexpSubject(exprV, posV any) (subject string, offset int, bin, ok bool) {
	s, bin, ok := mfStrArg(exprV)
	if !ok {
		return "", 0, false, false
	}
	pos := int64(1)
	if posV != nil {
		if pos, ok = mfArgInt(posV); !ok {
			return "", 0, false, false
		}
	}
	if pos < 1 || pos > int64(mfCharLen(s, bin))+1 {
		return "", 0, false, false
	}
	off := 0
	for i := int64(1); i < pos; i++ {
		if bin {
			off++
		} else {
			_, n := utf8.DecodeRuneInString(s[off:])
			off += n
		}
	}
	return s, off, bin, true
}

func mfOptArg(args []any, i int) any {
	if i < len(args) {
		return args[i]
	}
	return nil
}

func mfRegexpLike(args ...any) (any, error) {
	if len(args) < 2 || len(args) > 3 || mfIsNull(args[0]) || mfIsNull(args[1]) {
		return nil, nil
	}
	s, bin, _ := mfStrArg(args[0])
	r, err := mfCompileMySQLRegexp(args[1], mfOptArg(args, 2), bin)
	if err != nil || r == nil {
		return nil, err
	}
	return mfBoolInt(r.MatchString(s)), nil
}

// mfNthMatch finds the occurrence-th match (1-based) at or after off.
func mfNthMatch(r *regexp.Regexp, s string, off int, occurrence int64) []int {
	if occurrence < 1 {
		occurrence = 1
	}
	all := r.FindAllStringIndex(s[off:], int(occurrence))
	if int64(len(all)) < occurrence {
		return nil
	}
	m := all[occurrence-1]
	return []int{m[0] + off, m[1] + off}
}

func mfCharPos(s string, byteOff int, bin bool) int64 {
	if bin {
		return int64(byteOff) + 1
	}
	return int64(utf8.RuneCountInString(s[:byteOff])) + 1
}

func mfRegexpInstr(args ...any) (any, error) {
	if len(args) < 2 || len(args) > 6 || mfAnyNull(args[:min(len(args), 5)]...) {
		return nil, nil
	}
	s, off, bin, ok := mfRegexpSubject(args[0], mfOptArg(args, 2))
	if !ok {
		return nil, nil
	}
	r, err := mfCompileMySQLRegexp(args[1], mfOptArg(args, 5), bin)
	if err != nil || r == nil {
		return nil, err
	}
	occ, _ := mfArgInt(mfOrDefault(mfOptArg(args, 3), int64(1)))
	retOpt, _ := mfArgInt(mfOrDefault(mfOptArg(args, 4), int64(0)))
	m := mfNthMatch(r, s, off, occ)
	if m == nil {
		return int64(0), nil
	}
	if retOpt == 1 {
		return mfCharPos(s, m[1], bin), nil
	}
	return mfCharPos(s, m[0], bin), nil
}

func mfOrDefault(v, d any) any {
	if v == nil {
		return d
	}
	return v
}

func mfRegexpSubstr(args ...any) (any, error) {
	if len(args) < 2 || len(args) > 5 || mfAnyNull(args[:min(len(args), 4)]...) {
		return nil, nil
	}
	s, off, bin, ok := mfRegexpSubject(args[0], mfOptArg(args, 2))
	if !ok {
		return nil, nil
	}
	r, err := mfCompileMySQLRegexp(args[1], mfOptArg(args, 4), bin)
	if err != nil || r == nil {
		return nil, err
	}
	occ, _ := mfArgInt(mfOrDefault(mfOptArg(args, 3), int64(1)))
	m := mfNthMatch(r, s, off, occ)
	if m == nil {
		return nil, nil
	}
	return mfStrResult(s[m[0]:m[1]], bin), nil
}

// mfRegexpReplace is REGEXP_REPLACE(expr, pat, repl[, pos[, occurrence[,
// match_type]]]); occurrence 0 (the default) replaces every match.
func mfRegexpReplace(args ...any) (any, error) {
	if len(args) < 3 || len(args) > 6 || mfAnyNull(args[:min(len(args), 5)]...) {
		return nil, nil
	}
	s, off, bin, ok := mfRegexpSubject(args[0], mfOptArg(args, 3))
	if !ok {
		return nil, nil
	}
	r, err := mfCompileMySQLRegexp(args[1], mfOptArg(args, 5), bin)
	if err != nil || r == nil {
		return nil, err
	}
	repl, _ := mfArgStr(args[2])
	occ, _ := mfArgInt(mfOrDefault(mfOptArg(args, 4), int64(0)))
	head, tail := s[:off], s[off:]
	if occ <= 0 {
		return mfStrResult(head+r.ReplaceAllString(tail, repl), bin), nil
	}
	m := mfNthMatch(r, tail, 0, occ)
	if m == nil {
		return mfStrResult(s, bin), nil
	}
	// expand against the occurrence's own submatches
	full := mfSubmatchAt(r, tail, m[0])
	out := r.ExpandString(nil, repl, tail, full)
	return mfStrResult(head+tail[:m[0]]+string(out)+tail[m[1]:], bin), nil
}

// mfSubmatchAt returns the submatch indexes of the match starting at start.
func mfSubmatchAt(r *regexp.Regexp, s string, start int) []int {
	idx := r.FindStringSubmatchIndex(s[start:])
	for i := range idx {
		if idx[i] >= 0 {
			idx[i] += start
		}
	}
	return idx
}
