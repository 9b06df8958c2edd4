package frontend

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/marmotdb/marmot/frontend/transpile"
)

// loadData runs LOAD DATA LOCAL INFILE: the client is asked for the file
// (0xFB + name), streams it in packets ending with an empty one, and the
// rows are inserted as one transaction through the normal write path (so
// they replicate as row changes and get AUTO_INCREMENT ids). LOAD DATA
// without LOCAL would read the server's file system and is refused, as a
// MySQL server with secure_file_priv = NULL refuses it.
func (s *Session) loadData(ctx context.Context, st transpile.Statement) (*mysql.Result, error) {
	li := st.Load
	if li == nil {
		return nil, myErr(mysql.ER_PARSE_ERROR, "42000", "You have an error in your SQL syntax near LOAD DATA")
	}
	if !li.Local {
		return nil, myErr(mysql.ER_OPTION_PREVENTS_STATEMENT, "HY000", "The MySQL server is running with the --secure-file-priv option so it cannot execute this statement (use LOAD DATA LOCAL INFILE)")
	}
	for _, c := range li.Columns {
		if strings.HasPrefix(c, "@") {
			return nil, myErr(mysql.ER_NOT_SUPPORTED_YET, "42000", "This version of marmot doesn't yet support 'LOAD DATA with user variables in the column list'")
		}
	}
	data, err := s.readLocalFile(li.File)
	if err != nil {
		return nil, err
	}
	rows := splitLoadData(data, li)
	if li.IgnoreLines > 0 {
		rows = rows[min(li.IgnoreLines, len(rows)):]
	}
	db := firstNonEmpty(li.Database, st.Database)
	cols := li.Columns
	if len(cols) == 0 {
		ti, ok := schemaOf{s}.table(db, st.Table)
		if !ok {
			return nil, myErr(mysql.ER_NO_SUCH_TABLE, "42S02", "Table '%s.%s' doesn't exist", firstNonEmpty(db, s.db), st.Table)
		}
		cols = ti.Columns
	}
	verb := "INSERT"
	switch {
	case li.Replace:
		verb = "REPLACE"
	case li.Ignore:
		verb = "INSERT IGNORE"
	}
	target := "`" + strings.ReplaceAll(st.Table, "`", "``") + "`"
	if db != "" {
		target = "`" + strings.ReplaceAll(db, "`", "``") + "`." + target
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = "`" + strings.ReplaceAll(c, "`", "``") + "`"
	}
	q := fmt.Sprintf("%s INTO %s (%s) VALUES (%s)", verb, target, strings.Join(quoted, ", "), strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", "))
	stmts, err := s.transpile(q)
	if err != nil {
		return nil, err
	}
	ins := stmts[0]

	// One transaction for the whole file: all rows or none.
	wasExplicit := s.explicit || !s.autocommit
	if !wasExplicit {
		s.explicit = true
	}
	var affected uint64
	for _, r := range rows {
		args := make([]any, len(cols))
		for i := range args {
			if i < len(r) && r[i] != nil {
				args[i] = *r[i]
			}
		}
		res, err := s.write(ctx, ins, args)
		if err != nil {
			if !wasExplicit {
				s.rollbackTxn()
			}
			return nil, err
		}
		affected += res.AffectedRows
	}
	if !wasExplicit {
		if err := s.commitTxn(ctx); err != nil {
			return nil, err
		}
	}
	return &mysql.Result{AffectedRows: affected}, nil
}

// readLocalFile asks the client for a file and reads it to the empty
// packet that ends it.
func (s *Session) readLocalFile(name string) ([]byte, error) {
	if s.conn == nil {
		return nil, myErr(mysql.ER_NOT_ALLOWED_COMMAND, "42000", "The used command is not allowed with this MySQL version")
	}
	req := append([]byte{0, 0, 0, 0, 0xfb}, name...)
	if err := s.conn.WritePacket(req); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	for {
		p, err := s.conn.ReadPacket()
		if err != nil {
			return nil, err
		}
		if len(p) == 0 {
			return buf.Bytes(), nil
		}
		buf.Write(p)
	}
}

// splitLoadData parses file content per the FIELDS/LINES clauses. A field
// \N (with the default escape) is NULL (nil).
func splitLoadData(data []byte, li *transpile.LoadInfo) [][]*string {
	fieldTerm := loadDefault(li.FieldsTerminatedBy, "\t")
	lineTerm := loadDefault(li.LinesTerminatedBy, "\n")
	enclosed := li.FieldsEnclosedBy
	escape := li.FieldsEscapedBy
	if escape == "" && li.FieldsEscapedBy == "" {
		escape = "\\"
	}
	var rows [][]*string
	text := string(data)
	for len(text) > 0 {
		if li.LinesStartingBy != "" {
			i := strings.Index(text, li.LinesStartingBy)
			if i < 0 {
				break
			}
			text = text[i+len(li.LinesStartingBy):]
		}
		var row []*string
		var field strings.Builder
		quoted, wasQuoted := false, false
		endRow := false
		i := 0
		for i < len(text) && !endRow {
			switch {
			case escape != "" && strings.HasPrefix(text[i:], escape) && i+len(escape) < len(text):
				c := text[i+len(escape)]
				switch c {
				case 'N':
					if field.Len() == 0 && !quoted {
						field.WriteString("\x00NULL")
					} else {
						field.WriteByte('N')
					}
				case 'n':
					field.WriteByte('\n')
				case 't':
					field.WriteByte('\t')
				case 'r':
					field.WriteByte('\r')
				case '0':
					field.WriteByte(0)
				case 'Z':
					field.WriteByte(26)
				case 'b':
					field.WriteByte('\b')
				default:
					field.WriteByte(c)
				}
				i += len(escape) + 1
			case enclosed != "" && !quoted && field.Len() == 0 && strings.HasPrefix(text[i:], enclosed):
				quoted, wasQuoted = true, true
				i += len(enclosed)
			case quoted && strings.HasPrefix(text[i:], enclosed+enclosed):
				field.WriteString(enclosed)
				i += 2 * len(enclosed)
			case quoted && strings.HasPrefix(text[i:], enclosed):
				quoted = false
				i += len(enclosed)
			case !quoted && strings.HasPrefix(text[i:], fieldTerm):
				row = append(row, fieldValue(field.String(), wasQuoted))
				field.Reset()
				wasQuoted = false
				i += len(fieldTerm)
			case !quoted && strings.HasPrefix(text[i:], lineTerm):
				endRow = true
				i += len(lineTerm)
			default:
				field.WriteByte(text[i])
				i++
			}
		}
		row = append(row, fieldValue(field.String(), wasQuoted))
		text = text[i:]
		if len(row) == 1 && row[0] != nil && *row[0] == "" && !endRow && len(text) == 0 {
			break // trailing empty line
		}
		rows = append(rows, row)
	}
	return rows
}

func fieldValue(v string, quoted bool) *string {
	if v == "\x00NULL" && !quoted {
		return nil
	}
	return &v
}

func loadDefault(v, d string) string {
	if v == "" {
		return d
	}
	return v
}
