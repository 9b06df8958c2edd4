package frontend

import (
	"database/sql"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// streamAfterRows is how many rows a result may hold in memory; larger
// results are written to the client as they are read, so a SELECT of a
// huge table (mysqldump --quick, a report) cannot exhaust the node's
// memory.
const streamAfterRows = 10000

// streamResult writes a result set directly to the client: the columns,
// the rows already read, then every remaining row of rest. It returns the
// row count. Called on the connection's goroutine, so nothing else writes
// to the connection meanwhile; the caller answers with alreadyWritten().
func (s *Session) streamResult(cols []column, head [][]any, rest *sql.Rows, binaryProto bool) (int64, error) {
	c := s.conn
	hdr := make([]byte, 4, 32)
	if err := c.WritePacket(append(hdr, mysql.PutLengthEncodedInt(uint64(len(cols)))...)); err != nil {
		return 0, err
	}
	for _, f := range fieldsOf(cols) {
		if err := c.WritePacket(append(make([]byte, 4, 128), f.Dump()...)); err != nil {
			return 0, err
		}
	}
	if err := c.WritePacket(s.eofPacket()); err != nil {
		return 0, err
	}
	write := func(r []any) error {
		// The packet's 4-byte header goes in front of the row, encoded in place.
		if binaryProto {
			row := binaryRow(cols, r)
			return c.WritePacket(append(make([]byte, 4, 4+len(row)), row...))
		}
		return c.WritePacket(appendTextRow(make([]byte, 4, 4+textRowSize(r)), r))
	}
	n := int64(0)
	for _, r := range head {
		if err := write(r); err != nil {
			return n, err
		}
		n++
	}
	for rest.Next() {
		r, err := scanRow(rest, len(cols))
		if err != nil {
			return n, err
		}
		fixRow(cols, r)
		if err := write(r); err != nil {
			return n, err
		}
		n++
	}
	if err := rest.Err(); err != nil {
		// Mid-stream the client expects rows or EOF; an error packet is
		// what MySQL sends when a query fails while rows are being sent.
		_ = c.WriteValue(s.toMySQLError(err))
		return n, nil
	}
	return n, c.WritePacket(s.eofPacket())
}

// eofPacket is an EOF with the session's current status flags.
func (s *Session) eofPacket() []byte {
	var status uint16
	if s.autocommit {
		status |= mysql.SERVER_STATUS_AUTOCOMMIT
	}
	if s.explicit || s.txn != nil {
		status |= mysql.SERVER_STATUS_IN_TRANS
	}
	if s.conn.HasStatus(mysql.SERVER_MORE_RESULTS_EXISTS) {
		status |= mysql.SERVER_MORE_RESULTS_EXISTS
	}
	return []byte{0, 0, 0, 0, mysql.EOF_HEADER, 0, 0, byte(status), byte(status >> 8)}
}

// alreadyWritten is the handler result for a response sent directly: one
// dummy field so go-mysql treats it as a result set, already done, so it
// writes nothing more.
func alreadyWritten() *mysql.Result {
	return mysql.NewResult(&mysql.Resultset{Fields: []*mysql.Field{{}}, Streaming: mysql.StreamingMultiple, StreamingDone: true})
}

// isAlreadyWritten reports whether res was produced by alreadyWritten.
func isAlreadyWritten(res *mysql.Result) bool {
	return res != nil && res.Resultset != nil && res.StreamingDone && res.Streaming == mysql.StreamingMultiple
}
