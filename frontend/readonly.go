package frontend

import "github.com/marmotdb/marmot/frontend/transpile"

// A read-only server (a replica, Options.ReadOnly) refuses every statement
// that would change data or schema, as MySQL does under --read-only, before
// it takes a writer or reaches the committer: a replica's log holds only
// what its cluster wrote, and a change set originating on it would reach no
// one else.

// changesData reports whether a statement of kind k writes: DML, DDL,
// CREATE/ALTER/DROP DATABASE and LOAD DATA.
func changesData(k transpile.Kind) bool {
	switch k {
	case transpile.Insert, transpile.Replace, transpile.Update, transpile.Delete, transpile.TruncateTable,
		transpile.CreateTable, transpile.AlterTable, transpile.DropTable, transpile.RenameTable,
		transpile.CreateIndex, transpile.DropIndex, transpile.CreateView, transpile.DropView,
		transpile.CreateTrigger, transpile.DropTrigger,
		transpile.CreateDatabase, transpile.DropDatabase, transpile.AlterDatabase, transpile.LoadData:
		return true
	}
	return false
}

// refuseWrite is the read-only check of one statement; nil lets it run.
func (s *Session) refuseWrite(st transpile.Statement) error {
	if s.srv.opts.ReadOnly && changesData(st.Kind) {
		return errReadOnly()
	}
	return nil
}

// initialSysVars are a new (or reset) session's variable overrides:
// @@read_only reports 1 on a read-only server.
func (srv *Server) initialSysVars() map[string]string {
	if srv.opts.ReadOnly {
		return map[string]string{"read_only": "1"}
	}
	return map[string]string{}
}
