package transpile

import (
	"strings"

	"vitess.io/vitess/go/vt/sqlparser"
)

// set translates SET statements into SetVar assignments for the executor.
func (t *tx) set(n *sqlparser.Set, pc piece, st *translated) {
	st.Kind = Set
	w := leadingWords(pc.toks, 3)
	if len(w) >= 2 && (w[1] == "TRANSACTION" || len(w) >= 3 && w[2] == "TRANSACTION" && (w[1] == "GLOBAL" || w[1] == "SESSION" || w[1] == "LOCAL")) {
		st.Kind = Noop // SET TRANSACTION ISOLATION LEVEL / READ ONLY: accepted, nothing done
		return
	}
	for _, e := range n.Exprs {
		sv := SetVar{Name: strings.ToLower(e.Var.Name.String())}
		switch e.Var.Scope {
		case sqlparser.VariableScope:
			sv.Scope = "user"
		case sqlparser.GlobalScope:
			sv.Scope = "global"
		case sqlparser.PersistSysScope, sqlparser.PersistOnlySysScope:
			sv.Scope = "persist"
		default:
			sv.Scope = "session"
		}
		sv.Value, sv.IsExpr = t.setValue(e.Expr)
		if sv.Name == "names" {
			sv.Collate = namesCollate(pc.toks)
		}
		st.Set = append(st.Set, sv)
	}
	st.Database = t.checkDBs()
}

func (t *tx) setValue(e sqlparser.Expr) (string, bool) {
	switch n := e.(type) {
	case *sqlparser.Literal:
		switch n.Type {
		case sqlparser.StrVal, sqlparser.IntVal, sqlparser.FloatVal, sqlparser.DecimalVal:
			return n.Val, false
		}
	case *sqlparser.Default:
		return "DEFAULT", false
	case *sqlparser.ColName:
		if n.Qualifier.IsEmpty() {
			return n.Name.String(), false // SET sql_mode = TRADITIONAL
		}
	case sqlparser.BoolVal:
		if n {
			return "1", false
		}
		return "0", false
	case *sqlparser.UnaryExpr:
		if v := numericLiteral(n); v != "" {
			return v, false
		}
	}
	return t.expr(e), true
}

// namesCollate finds the COLLATE of SET NAMES x COLLATE y (vitess drops it).
func namesCollate(toks []token) string {
	for i, tk := range toks {
		if tk.is("COLLATE") && i+1 < len(toks) {
			nx := toks[i+1]
			if nx.typ == tkString || nx.typ == tkQIdent {
				return nx.val
			}
			return strings.ToLower(nx.text)
		}
	}
	return ""
}

var showKinds = map[sqlparser.ShowCommandType]string{
	sqlparser.Charset: "charset", sqlparser.Collation: "collation", sqlparser.Column: "columns",
	sqlparser.CreateDb: "create database", sqlparser.CreateE: "create event", sqlparser.CreateF: "create function",
	sqlparser.CreateProc: "create procedure", sqlparser.CreateTbl: "create table", sqlparser.CreateTr: "create trigger",
	sqlparser.CreateV: "create view", sqlparser.Database: "databases", sqlparser.Engines: "engines",
	sqlparser.Errors: "errors", sqlparser.Events: "events", sqlparser.FunctionC: "function code",
	sqlparser.Function: "function status", sqlparser.Index: "index", sqlparser.OpenTable: "open tables",
	sqlparser.Plugins: "plugins", sqlparser.Privilege: "privileges", sqlparser.ProcessList: "processlist",
	sqlparser.ProcedureC: "procedure code", sqlparser.Procedure: "procedure status", sqlparser.Profiles: "profiles",
	sqlparser.StatusGlobal: "status", sqlparser.StatusSession: "status", sqlparser.Table: "tables",
	sqlparser.TableStatus: "table status", sqlparser.Trigger: "triggers", sqlparser.VariableGlobal: "variables",
	sqlparser.VariableSession: "variables", sqlparser.Warnings: "warnings",
}

// show classifies SHOW statements; the executor answers them.
func (t *tx) show(n *sqlparser.Show, st *translated) {
	st.Kind = Show
	st.ReadOnly = true
	si := &ShowInfo{}
	switch in := n.Internal.(type) {
	case *sqlparser.ShowBasic:
		k, ok := showKinds[in.Command]
		if !ok {
			t.fail(syntaxError("syntax error", strings.TrimSpace(sqlparser.String(n))))
			return
		}
		si.Kind = k
		si.Full = in.Full
		si.Global = in.Command == sqlparser.StatusGlobal || in.Command == sqlparser.VariableGlobal
		if !in.Tbl.IsEmpty() {
			si.Table = in.Tbl.Name.String()
			si.Database = in.Tbl.Qualifier.String()
		}
		if !in.DbName.IsEmpty() {
			si.Database = in.DbName.String()
		}
		if in.Filter != nil {
			si.Like = in.Filter.Like
			if in.Filter.Filter != nil {
				si.Where = t.expr(in.Filter.Filter)
			}
		}
		if in.Limit != nil && in.Limit.Rowcount != nil {
			si.Limit = t.expr(in.Limit.Rowcount)
		}
	case *sqlparser.ShowCreate:
		k, ok := showKinds[in.Command]
		if !ok {
			t.fail(syntaxError("syntax error", strings.TrimSpace(sqlparser.String(n))))
			return
		}
		si.Kind = k
		if in.Command == sqlparser.CreateDb {
			si.Database = in.Op.Name.String()
		} else {
			si.Table = in.Op.Name.String()
			si.Database = in.Op.Qualifier.String()
		}
	case *sqlparser.ShowGrants:
		si.Kind = "grants"
		if in.User != nil && in.User.Name != nil {
			si.Name = *in.User.Name
			if in.User.Host != nil {
				si.Name += "@" + *in.User.Host
			}
		}
	case *sqlparser.ShowEngine:
		si.Kind = "engine " + strings.ToLower(in.Action)
		si.Name = in.EngineName
	case *sqlparser.ShowReplicationSourceStatus:
		si.Kind = "master status"
	case *sqlparser.ShowBinaryLogs:
		si.Kind = "binary logs"
	case *sqlparser.ShowReplicationStatus:
		si.Kind = "replica status"
	case *sqlparser.ShowReplicas:
		si.Kind = "replicas"
	case *sqlparser.ShowProfile:
		si.Kind = "profile"
	case *sqlparser.ShowCreateUser:
		si.Kind = "create user"
	case *sqlparser.ShowBinlogEvents:
		si.Kind = "binlog events"
	default:
		t.fail(syntaxError("syntax error", strings.TrimSpace(sqlparser.String(n))))
		return
	}
	st.Show = si
	st.Table = si.Table
	if si.Database != "" && si.Database != t.sessDB {
		st.Database = si.Database
	}
}

// showFallback classifies SHOW forms vitess cannot parse (SHOW MASTER LOGS,
// SHOW CREATE SCHEMA x, SHOW COUNT(*) WARNINGS, ...) by their keywords.
func showFallback(sessDB string, toks []token) *Statement {
	si := &ShowInfo{}
	var kw []string
	i := 1
	for ; i < len(toks); i++ {
		tk := toks[i]
		if tk.is("FROM", "IN", "LIKE", "WHERE", "LIMIT", "FOR") {
			break
		}
		if tk.is("FULL") && len(kw) == 0 {
			si.Full = true
			continue
		}
		if tk.is("GLOBAL") && len(kw) == 0 {
			si.Global = true
			continue
		}
		if tk.is("SESSION") && len(kw) == 0 {
			continue
		}
		if tk.typ == tkWord {
			kw = append(kw, strings.ToLower(tk.val))
		} else if _, ok := tk.ident(); ok || tk.typ == tkString {
			break
		}
	}
	kind := strings.Join(kw, " ")
	var name string
	if i < len(toks) {
		if nm, ok := toks[i].ident(); ok {
			name = nm
		}
	}
	if strings.HasPrefix(kind, "create ") && len(kw) > 2 {
		// SHOW CREATE SCHEMA name: the unquoted name was read as a word
		name = kw[len(kw)-1]
		kind = strings.Join(kw[:len(kw)-1], " ")
	}
	switch {
	case kind == "master logs" || kind == "binary logs":
		kind = "binary logs"
	case strings.HasPrefix(kind, "count") && strings.HasSuffix(kind, "warnings"):
		kind = "count warnings"
	case strings.HasPrefix(kind, "count") && strings.HasSuffix(kind, "errors"):
		kind = "count errors"
	case kind == "create schema" || kind == "create database":
		kind = "create database"
		si.Database = name
	case strings.HasPrefix(kind, "create "):
		si.Table = name
	}
	for ; i < len(toks); i++ {
		tk := toks[i]
		switch {
		case tk.is("FROM", "IN") && i+1 < len(toks):
			if nm, ok := toks[i+1].ident(); ok {
				si.Database = nm
			}
		case tk.is("LIKE") && i+1 < len(toks) && toks[i+1].typ == tkString:
			si.Like = toks[i+1].val
		case tk.is("LIMIT") && i+1 < len(toks):
			si.Limit = toks[len(toks)-1].text
		}
	}
	si.Kind = kind
	st := &Statement{Kind: Show, ReadOnly: true, Show: si, Table: si.Table}
	if si.Database != "" && si.Database != sessDB {
		st.Database = si.Database
	}
	return st
}
