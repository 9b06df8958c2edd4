package frontend

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/marmotdb/marmot/materializer"
)

// registerFunctions installs the MySQL functions and marmot's session
// functions on a new SQLite connection. Session-dependent functions read the
// session from env, which the executor sets around each statement.
func (srv *Server) registerFunctions(c *sqlite3.SQLiteConn, env *materializer.Env) error {
	sess := func() *Session {
		s, _ := env.Session.(*Session)
		return s
	}
	type fn struct {
		name string
		impl any
		pure bool
	}
	fns := []fn{
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
		{"user", func() string { return sessUser(sess()) }, false},
		{"current_user", func() string { return sessUser(sess()) }, false},
		{"session_user", func() string { return sessUser(sess()) }, false},
		{"system_user", func() string { return sessUser(sess()) }, false},
		{"now", func(args ...any) string { return nowText(args) }, false},
		{"sysdate", func(args ...any) string { return nowText(args) }, false},
		{"localtime", func(args ...any) string { return nowText(args) }, false},
		{"localtimestamp", func(args ...any) string { return nowText(args) }, false},
		{"current_timestamp", func(args ...any) string { return nowText(args) }, false},
		{"utc_timestamp", func() string { return time.Now().UTC().Format("2006-01-02 15:04:05") }, false},
		{"curdate", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"current_date", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"utc_date", func() string { return time.Now().UTC().Format("2006-01-02") }, false},
		{"curtime", func() string { return time.Now().UTC().Format("15:04:05") }, false},
		{"current_time", func() string { return time.Now().UTC().Format("15:04:05") }, false},
		{"unix_timestamp", unixTimestamp, false},
		{"from_unixtime", func(v int64) string { return time.Unix(v, 0).UTC().Format("2006-01-02 15:04:05") }, true},
		{"md5", func(v any) string { h := md5.Sum(toBytes(v)); return hex.EncodeToString(h[:]) }, true},
		{"sha1", func(v any) string { h := sha1.Sum(toBytes(v)); return hex.EncodeToString(h[:]) }, true},
		{"sha", func(v any) string { h := sha1.Sum(toBytes(v)); return hex.EncodeToString(h[:]) }, true},
		{"sha2", sha2, true},
		{"regexp", regexpMatch, true},
	}
	for _, f := range fns {
		if err := c.RegisterFunc(f.name, f.impl, f.pure); err != nil {
			return fmt.Errorf("register %s: %w", f.name, err)
		}
	}
	return nil
}

func sessUser(s *Session) string {
	if s == nil {
		return ""
	}
	return s.user + "@localhost"
}

func nowText(args []any) string {
	t := time.Now().UTC()
	if len(args) == 1 {
		if p := toInt64(args[0]); p > 0 && p <= 6 {
			return t.Format("2006-01-02 15:04:05." + strings.Repeat("0", int(p)))
		}
	}
	return t.Format("2006-01-02 15:04:05")
}

func unixTimestamp(args ...any) (int64, error) {
	if len(args) == 0 {
		return time.Now().Unix(), nil
	}
	s := string(toBytes(args[0]))
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04:05.999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Unix(), nil
		}
	}
	return 0, nil
}

func sha2(v any, bits int64) any {
	b := toBytes(v)
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

var regexCache sync.Map // pattern -> *regexp.Regexp

// regexpMatch implements X REGEXP Y (SQLite calls regexp(Y, X)); MySQL's
// default collation is case-insensitive, so is the match.
func regexpMatch(pattern, value any) (bool, error) {
	if pattern == nil || value == nil {
		return false, nil
	}
	p := string(toBytes(pattern))
	re, ok := regexCache.Load(p)
	if !ok {
		c, err := regexp.Compile("(?i)" + p)
		if err != nil {
			return false, err
		}
		re, _ = regexCache.LoadOrStore(p, c)
	}
	return re.(*regexp.Regexp).Match(toBytes(value)), nil
}

func toBytes(v any) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	case nil:
		return nil
	}
	return textValue(v)
}

func toInt64(v any) int64 {
	if v == nil {
		return 0
	}
	return asInt(v)
}
