package frontend

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
	txlog "github.com/marmotdb/marmot/log"
)

// globalVars are the system variables clients and tools ask for. Values are
// what a MySQL 8.0 server with utf8mb4 defaults reports.
var globalVars = map[string]string{
	"version":                         Version,
	"version_comment":                 "marmot - distributed SQLite over the MySQL protocol",
	"version_compile_os":              "Linux",
	"version_compile_machine":         "x86_64",
	"protocol_version":                "10",
	"port":                            "3306",
	"hostname":                        "localhost",
	"autocommit":                      "1",
	"auto_increment_increment":        "1",
	"auto_increment_offset":           "1",
	"character_set_client":            "utf8mb4",
	"character_set_connection":        "utf8mb4",
	"character_set_results":           "utf8mb4",
	"character_set_server":            "utf8mb4",
	"character_set_database":          "utf8mb4",
	"character_set_system":            "utf8mb3",
	"collation_connection":            "utf8mb4_general_ci",
	"collation_server":                "utf8mb4_general_ci",
	"collation_database":              "utf8mb4_general_ci",
	"default_storage_engine":          "InnoDB",
	"storage_engine":                  "InnoDB",
	"sql_mode":                        "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION",
	"time_zone":                       "+00:00",
	"system_time_zone":                "UTC",
	"transaction_isolation":           "READ-COMMITTED",
	"tx_isolation":                    "READ-COMMITTED",
	"transaction_read_only":           "0",
	"tx_read_only":                    "0",
	"read_only":                       "0",
	"innodb_lock_wait_timeout":        "50",
	"lock_wait_timeout":               "50",
	"max_allowed_packet":              "67108864",
	"max_connections":                 "1000",
	"net_write_timeout":               "60",
	"net_read_timeout":                "30",
	"wait_timeout":                    "28800",
	"interactive_timeout":             "28800",
	"sql_auto_is_null":                "0",
	"sql_select_limit":                "18446744073709551615",
	"sql_safe_updates":                "0",
	"lower_case_table_names":          "0",
	"license":                         "MIT",
	"have_ssl":                        "DISABLED",
	"performance_schema":              "0",
	"query_cache_size":                "0",
	"query_cache_type":                "OFF",
	"init_connect":                    "",
	"foreign_key_checks":              "1",
	"unique_checks":                   "1",
	"sql_notes":                       "1",
	"warning_count":                   "0",
	"error_count":                     "0",
	"default_authentication_plugin":   "mysql_native_password",
	"explicit_defaults_for_timestamp": "1",
	"group_concat_max_len":            "1024",
	"max_execution_time":              "0",
	"div_precision_increment":         "4",
	"identity":                        "0",
	"last_insert_id":                  "0",
}

// sysVar resolves @@name for a session: session overrides, then live
// session state, then the global defaults. Unknown names are NULL.
func sysVar(s *Session, name string) any {
	n := strings.ToLower(name)
	for _, p := range []string{"session.", "global.", "local."} {
		n = strings.TrimPrefix(n, p)
	}
	if s != nil {
		switch n {
		case "autocommit":
			if s.autocommit {
				return int64(1)
			}
			return int64(0)
		case "last_insert_id", "identity":
			return s.lastInsertID
		case "warning_count":
			return int64(len(s.warnings))
		case "port":
			return int64(s.srv.opts.Port)
		case "marmot_write_consistency":
			return s.consistency().String()
		case "have_ssl", "have_openssl":
			if s.srv.opts.TLS != nil {
				return "YES"
			}
			return "DISABLED"
		case "require_secure_transport":
			if s.srv.opts.RequireSecureTransport {
				return int64(1)
			}
			return int64(0)
		}
		if v, ok := s.sysVars[n]; ok {
			return v
		}
	}
	if v, ok := globalVars[n]; ok {
		if i, err := strconv.ParseInt(v, 10, 64); err == nil && v != "" {
			return i
		}
		return v
	}
	return nil
}

// set handles SET: session variables are kept per session and never
// replicated; user variables too.
func (s *Session) set(ctx context.Context, st transpile.Statement) (*mysql.Result, error) {
	for _, v := range st.Set {
		name := strings.ToLower(v.Name)
		val := v.Value
		if v.IsExpr {
			if ev := s.evalSetValue(ctx, v.Value); ev != nil {
				val = string(textValue(ev))
			} else {
				val = ""
			}
		}
		switch {
		case v.Scope == "user":
			if v.IsExpr {
				s.userVars[name] = s.evalSetValue(ctx, v.Value)
			} else if i, err := strconv.ParseInt(v.Value, 10, 64); err == nil {
				s.userVars[name] = i
			} else {
				s.userVars[name] = v.Value
			}
		case name == "autocommit":
			on := val == "1" || strings.EqualFold(val, "on") || strings.EqualFold(val, "true")
			if on && !s.autocommit {
				// Turning autocommit on commits the open transaction.
				if err := s.commitTxn(ctx); err != nil {
					return nil, err
				}
			}
			s.autocommit = on
			s.syncStatus()
		case name == "marmot_write_consistency":
			c, err := txlog.ParseConsistency(strings.TrimSpace(val))
			if err != nil {
				return nil, myErr(mysql.ER_WRONG_VALUE_FOR_VAR, "42000", "Variable 'marmot_write_consistency' can't be set to the value of '%s' (ONE, QUORUM or ALL)", val)
			}
			s.sysVars[name] = c.String()
		case name == "names" || name == "charset":
			cs := strings.ToLower(val)
			for _, k := range []string{"character_set_client", "character_set_connection", "character_set_results"} {
				s.sysVars[k] = cs
			}
			if v.Collate != "" {
				s.sysVars["collation_connection"] = strings.ToLower(v.Collate)
			}
		default:
			s.sysVars[name] = val
		}
	}
	return okResult(0, 0), nil
}

// evalSetValue evaluates the right side of SET @x = expr through SQLite.
func (s *Session) evalSetValue(ctx context.Context, expr string) any {
	d, err := s.anyDB()
	if err != nil {
		return unquote(expr)
	}
	c, err := d.ReadConn(ctx)
	if err != nil {
		return unquote(expr)
	}
	defer c.Close()
	c.Env.Session = s
	defer func() { c.Env.Session = nil }()
	var v any
	if err := c.QueryRowContext(ctx, "SELECT "+expr).Scan(&v); err != nil {
		return unquote(expr)
	}
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return v
}

func unquote(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"' || v[0] == '`') && v[len(v)-1] == v[0] {
		return strings.ReplaceAll(v[1:len(v)-1], string(v[0])+string(v[0]), string(v[0]))
	}
	return v
}
