package transpile

import (
	"strconv"
	"strings"
)

// The classifier in front of the vitess parser decides by leading keywords for
// statements vitess cannot parse (or parses into an opaque node): accepted
// no-ops (XA, GRANT, user management, ...), transaction control with optional
// words, triggers, LOAD DATA, and unsupported stored programs.

func at(toks []token, i int) token {
	if i < len(toks) {
		return toks[i]
	}
	return token{typ: tkPunct, text: ""}
}

// skipDefiner skips "DEFINER = user[@host]" starting at toks[i].
func skipDefiner(toks []token, i int) int {
	if !at(toks, i).is("DEFINER") {
		return i
	}
	i++
	if at(toks, i).isPunct("=") {
		i++
	}
	if at(toks, i).is("CURRENT_USER") {
		i++
		if at(toks, i).isPunct("(") && at(toks, i+1).isPunct(")") {
			i += 2
		}
		return i
	}
	if i < len(toks) {
		i++ // user
	}
	if at(toks, i).typ == tkVar {
		i++ // @host
	}
	return i
}

// programKind reports the stored-program object of CREATE [OR REPLACE]
// [DEFINER=...] [AGGREGATE] {TRIGGER|PROCEDURE|FUNCTION|EVENT|VIEW ...}, and the index after it.
func programKind(toks []token) (string, int) {
	i := 1
	if at(toks, i).is("OR") && at(toks, i+1).is("REPLACE") {
		i += 2
	}
	for at(toks, i).is("ALGORITHM") || at(toks, i).is("SQL") {
		if at(toks, i).is("SQL") { // SQL SECURITY x
			i += 3
		} else { // ALGORITHM = x
			i += 3
		}
	}
	i = skipDefiner(toks, i)
	for at(toks, i).is("SQL") {
		i += 3
	}
	if at(toks, i).is("AGGREGATE") {
		i++
	}
	if w := at(toks, i); w.typ == tkWord {
		return w.val, i + 1
	}
	return "", i
}

func noop() (*Statement, error, bool) { return &Statement{Kind: Noop}, nil, true }

func unsupported(format string, args ...any) (*Statement, error, bool) {
	return nil, notSupported(format, args...), true
}

// preClassify handles the statements decided by their leading keywords.
func preClassify(db string, pc piece, ov *overlay) (*Statement, error, bool) {
	toks := pc.toks
	w0 := toks[0].val
	if toks[0].typ != tkWord {
		return nil, nil, false
	}
	w1, w2 := at(toks, 1), at(toks, 2)
	switch w0 {
	case "XA", "GRANT", "REVOKE", "FLUSH", "OPTIMIZE", "REPAIR", "CHECK", "CHECKSUM", "DO", "PURGE",
		"RESET", "CACHE", "LOCK", "UNLOCK", "ANALYZE":
		return noop()
	case "HELP", "SHUTDOWN", "RESTART", "CLONE", "BINLOG", "INSTALL", "UNINSTALL", "IMPORT", "SIGNAL", "RESIGNAL", "GET":
		return unsupported("%s is not supported", w0)
	case "CALL":
		return unsupported("stored procedures are not supported (CALL)")
	case "HANDLER":
		return unsupported("HANDLER statements are not supported")
	case "PREPARE", "EXECUTE", "DEALLOCATE":
		return unsupported("SQL-level PREPARE/EXECUTE/DEALLOCATE is not supported; use the binary protocol")
	case "START", "STOP":
		if w1.is("SLAVE", "REPLICA", "GROUP_REPLICATION") {
			return unsupported("replication control statements are not supported")
		}
	case "CHANGE":
		if w1.is("MASTER", "REPLICATION") {
			return unsupported("replication control statements are not supported")
		}
	case "SET":
		switch {
		case w1.is("PASSWORD", "ROLE", "RESOURCE"), w1.is("DEFAULT") && w2.is("ROLE"):
			return noop()
		case w1.is("TRANSACTION"), w1.is("GLOBAL", "SESSION", "LOCAL") && w2.is("TRANSACTION"):
			return noop()
		}
	case "BEGIN":
		if len(toks) == 1 || len(toks) == 2 && w1.is("WORK") {
			return &Statement{Kind: Begin, SQL: "BEGIN"}, nil, true
		}
	case "COMMIT":
		return &Statement{Kind: Commit, SQL: "COMMIT"}, nil, true
	case "ROLLBACK":
		for i := 1; i < len(toks); i++ {
			if toks[i].is("TO") {
				name, _ := at(toks, len(toks)-1).ident()
				if name == "" || at(toks, len(toks)-1).is("TO", "SAVEPOINT") {
					return nil, syntaxError("syntax error", pc.text), true
				}
				return &Statement{Kind: RollbackTo, Savepoint: name, SQL: "ROLLBACK TO SAVEPOINT " + qid(name)}, nil, true
			}
		}
		return &Statement{Kind: Rollback, SQL: "ROLLBACK"}, nil, true
	case "CREATE", "ALTER", "DROP", "RENAME":
		obj, next := programKind(toks)
		switch obj {
		case "USER", "ROLE", "SERVER", "INSTANCE":
			return noop()
		case "TABLESPACE", "LOGFILE", "SPATIAL", "RESOURCE", "UNDO":
			return unsupported("%s %s is not supported", w0, obj)
		case "TRIGGER":
			if w0 == "CREATE" {
				return createTrigger(db, pc, ov)
			}
			if w0 == "DROP" {
				return dropTrigger(db, toks, next)
			}
		case "PROCEDURE", "FUNCTION", "EVENT":
			if w0 == "DROP" && at(toks, next).is("IF") && at(toks, next+1).is("EXISTS") {
				return noop() // nothing of that kind can exist
			}
			return unsupported("stored procedures, functions and events are not supported (%s %s)", w0, obj)
		}
	case "LOAD":
		if w1.is("DATA") {
			return loadData(db, toks, ov)
		}
		if w1.is("INDEX") {
			return noop()
		}
		return unsupported("LOAD XML is not supported")
	}
	return nil, nil, false
}

// prepareText removes MySQL modifiers vitess rejects (INSERT LOW_PRIORITY /
// DELAYED / HIGH_PRIORITY, DELETE QUICK / LOW_PRIORITY, UPDATE LOW_PRIORITY)
// and turns "TABLE t" into "SELECT * FROM t".
func prepareText(pc piece) string {
	toks := pc.toks
	text := pc.text
	switch {
	case toks[0].is("TABLE") && len(toks) > 1:
		return text[:toks[0].start] + "SELECT * FROM" + text[toks[0].end:]
	case toks[0].is("INSERT", "REPLACE", "UPDATE", "DELETE"):
		var b strings.Builder
		last := 0
		for i := 1; i < len(toks) && toks[i].is("LOW_PRIORITY", "HIGH_PRIORITY", "DELAYED", "QUICK", "IGNORE"); i++ {
			if toks[i].is("IGNORE") {
				continue
			}
			b.WriteString(text[last:toks[i].start])
			last = toks[i].end
		}
		b.WriteString(text[last:])
		return b.String()
	}
	return text
}

// postClassify handles statements vitess failed to parse.
func postClassify(db string, pc piece) (*Statement, bool) {
	if pc.toks[0].is("SHOW") {
		return showFallback(db, pc.toks), true
	}
	return nil, false
}

// qualifiedName reads "name" or "db.name" at toks[i].
func qualifiedName(toks []token, i int) (db, name string, next int, ok bool) {
	n1, ok1 := at(toks, i).ident()
	if !ok1 {
		return "", "", i, false
	}
	if at(toks, i+1).isPunct(".") {
		n2, ok2 := at(toks, i+2).ident()
		if !ok2 {
			return "", "", i, false
		}
		return n1, n2, i + 3, true
	}
	return "", n1, i + 1, true
}

func dropTrigger(db string, toks []token, i int) (*Statement, error, bool) {
	st := &Statement{Kind: DropTrigger}
	if at(toks, i).is("IF") && at(toks, i+1).is("EXISTS") {
		st.IfExists = true
		i += 2
	}
	q, name, next, ok := qualifiedName(toks, i)
	if !ok || next != len(toks) {
		return nil, syntaxError("syntax error", joinTokens(toks[min(i, len(toks)):])), true
	}
	if q != "" && q != db {
		st.Database = q
	}
	st.Name = name
	st.SQL = "DROP TRIGGER IF EXISTS " + qid(name)
	return st, nil, true
}

func joinTokens(toks []token) string {
	parts := make([]string, len(toks))
	for i, t := range toks {
		parts[i] = t.text
	}
	return strings.Join(parts, " ")
}

// createTrigger translates a MySQL trigger whose body is one statement or a
// BEGIN ... END block of INSERT/UPDATE/DELETE/SELECT statements.
func createTrigger(db string, pc piece, ov *overlay) (*Statement, error, bool) {
	text := stripVersionedComments(pc.text)
	toks, _ := lex(text)
	bad := func(at int) (*Statement, error, bool) {
		return nil, syntaxError("syntax error", truncate(joinTokens(toks[min(at, len(toks)):]), 80)), true
	}
	_, i := programKind(toks)
	st := &Statement{Kind: CreateTrigger}
	if at(toks, i).is("IF") && at(toks, i+1).is("NOT") && at(toks, i+2).is("EXISTS") {
		st.IfNotExists = true
		i += 3
	}
	tq, name, i, ok := qualifiedName(toks, i)
	if !ok {
		return bad(i)
	}
	timing := at(toks, i)
	event := at(toks, i+1)
	if !timing.is("BEFORE", "AFTER") || !event.is("INSERT", "UPDATE", "DELETE") || !at(toks, i+2).is("ON") {
		return bad(i)
	}
	q, table, i, ok := qualifiedName(toks, i+3)
	if !ok || !at(toks, i).is("FOR") || !at(toks, i+1).is("EACH") || !at(toks, i+2).is("ROW") {
		return bad(i)
	}
	i += 3
	if at(toks, i).is("FOLLOWS", "PRECEDES") {
		i += 2
	}
	if i >= len(toks) {
		return bad(i)
	}
	if q == "" {
		q = tq
	}
	target := db
	if q != "" {
		target = q
		if q != db {
			st.Database = q
		}
	}
	st.Name, st.Table = name, table
	if _, ok, known := ov.columns(target, table); known && !ok {
		return nil, errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", target, table), true
	}
	body := text[toks[i].start:]
	var stmts []piece
	if toks[i].is("BEGIN") {
		last := toks[len(toks)-1]
		if !last.is("END") {
			return bad(len(toks) - 1)
		}
		stmts = splitStatements(text[toks[i].end:last.start])
	} else {
		stmts = splitStatements(body)
	}
	if len(stmts) == 0 {
		return bad(i)
	}
	var out []string
	for _, sp := range stmts {
		lead := sp.toks[0]
		if !lead.is("INSERT", "REPLACE", "UPDATE", "DELETE", "SELECT", "WITH") {
			if lead.is("SET") {
				return nil, notSupported("SET NEW.col = ... in triggers is not supported; use an AFTER trigger with UPDATE"), true
			}
			return nil, notSupported("trigger body statement %s is not supported (only INSERT, UPDATE, DELETE and SELECT)", lead.val), true
		}
		stmt, err := parse(prepareText(sp))
		if err != nil {
			return nil, parseError(sp.text, err), true
		}
		tr, terr := translateIn(target, stmt, sp, ov, false, true)
		if terr != nil {
			return nil, terr, true
		}
		if strings.HasPrefix(tr.SQL, "WITH ") {
			return nil, notSupported("WITH inside triggers is not supported"), true
		}
		if tr.Database != "" {
			return nil, notSupported("a trigger may reference only its own database"), true
		}
		out = append(out, tr.SQL+";")
	}
	st.SQL = "CREATE TRIGGER IF NOT EXISTS " + qid(name) + " " + timing.val + " " + event.val + " ON " + qid(table) +
		" FOR EACH ROW WHEN marmot_capturing() BEGIN " + strings.Join(out, " ") + " END"
	return st, nil, true
}

// loadData parses LOAD DATA [LOCAL] INFILE for the executor.
func loadData(db string, toks []token, ov *overlay) (*Statement, error, bool) {
	li := &LoadInfo{FieldsTerminatedBy: "\t", FieldsEscapedBy: `\`, LinesTerminatedBy: "\n"}
	bad := func(i int) (*Statement, error, bool) {
		return nil, syntaxError("syntax error", truncate(joinTokens(toks[min(i, len(toks)):]), 80)), true
	}
	i := 2
	for at(toks, i).is("LOW_PRIORITY", "CONCURRENT") {
		i++
	}
	if at(toks, i).is("LOCAL") {
		li.Local = true
		i++
	}
	if !at(toks, i).is("INFILE") || at(toks, i+1).typ != tkString {
		return bad(i)
	}
	li.File = toks[i+1].val
	i += 2
	if at(toks, i).is("REPLACE") {
		li.Replace = true
		i++
	} else if at(toks, i).is("IGNORE") {
		li.Ignore = true
		i++
	}
	if !at(toks, i).is("INTO") || !at(toks, i+1).is("TABLE") {
		return bad(i)
	}
	q, table, i, ok := qualifiedName(toks, i+2)
	if !ok {
		return bad(i)
	}
	li.Table = table
	target := db
	if q != "" && q != db {
		li.Database = q
		target = q
	}
	if at(toks, i).is("PARTITION") {
		for i < len(toks) && !toks[i].isPunct(")") {
			i++
		}
		i++
	}
	strArg := func(j int) (string, bool) {
		if at(toks, j).typ == tkString {
			return toks[j].val, true
		}
		return "", false
	}
	for i < len(toks) {
		tk := toks[i]
		switch {
		case tk.is("CHARACTER") && at(toks, i+1).is("SET"):
			li.Charset = strings.ToLower(at(toks, i+2).val)
			if at(toks, i+2).typ == tkString || at(toks, i+2).typ == tkQIdent {
				li.Charset = at(toks, i+2).val
			}
			i += 3
		case tk.is("CHARSET"):
			li.Charset = strings.ToLower(at(toks, i+1).val)
			i += 2
		case tk.is("FIELDS", "COLUMNS", "LINES"):
			i++
		case tk.is("TERMINATED") && at(toks, i+1).is("BY"):
			v, ok := strArg(i + 2)
			if !ok {
				return bad(i)
			}
			if linesContext(toks, i) {
				li.LinesTerminatedBy = v
			} else {
				li.FieldsTerminatedBy = v
			}
			i += 3
		case tk.is("OPTIONALLY"):
			li.FieldsOptionallyEnclosed = true
			i++
		case tk.is("ENCLOSED") && at(toks, i+1).is("BY"):
			v, ok := strArg(i + 2)
			if !ok {
				return bad(i)
			}
			li.FieldsEnclosedBy = v
			i += 3
		case tk.is("ESCAPED") && at(toks, i+1).is("BY"):
			v, ok := strArg(i + 2)
			if !ok {
				return bad(i)
			}
			li.FieldsEscapedBy = v
			i += 3
		case tk.is("STARTING") && at(toks, i+1).is("BY"):
			v, ok := strArg(i + 2)
			if !ok {
				return bad(i)
			}
			li.LinesStartingBy = v
			i += 3
		case tk.is("IGNORE") && at(toks, i+1).typ == tkNumber && at(toks, i+2).is("LINES", "ROWS"):
			n, err := strconv.Atoi(toks[i+1].text)
			if err != nil {
				return bad(i)
			}
			li.IgnoreLines = n
			i += 3
		case tk.isPunct("("):
			i++
			for i < len(toks) && !toks[i].isPunct(")") {
				if toks[i].typ == tkVar {
					li.Columns = append(li.Columns, toks[i].text)
				} else if nm, ok := toks[i].ident(); ok {
					li.Columns = append(li.Columns, nm)
				} else if !toks[i].isPunct(",") {
					return bad(i)
				}
				i++
			}
			i++
		case tk.is("SET"):
			return unsupported("LOAD DATA ... SET is not supported")
		default:
			return bad(i)
		}
	}
	if _, ok, known := ov.columns(target, table); known && !ok {
		return nil, errf(ErrNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", target, table), true
	}
	return &Statement{Kind: LoadData, Database: li.Database, Table: table, Load: li}, nil, true
}

// linesContext reports whether the TERMINATED BY at toks[i] belongs to LINES.
func linesContext(toks []token, i int) bool {
	for j := i - 1; j >= 0; j-- {
		if toks[j].is("LINES") {
			return true
		}
		if toks[j].is("FIELDS", "COLUMNS") {
			return false
		}
	}
	return false
}
