package frontend

//go:generate go run gen_collation.go

// MySQL's utf8mb4_general_ci for SQLite: character columns are declared
// COLLATE utf8mb4_general_ci (see frontend/transpile), so '=', ORDER BY,
// GROUP BY, DISTINCT, UNIQUE and indexes compare as MySQL does, case- and
// accent-insensitively ('é' = 'E', 'ß' = 's'). LIKE follows the same rules
// through a like() function that replaces SQLite's: per character, as
// MySQL's LIKE ('Straße' LIKE 'strase', not 'strasse'), byte for byte when
// an operand is a binary string (BLOB), as MySQL compares binary strings.
// Both are implemented in C (collation_sqlite.go); the Go reference
// implementation is in collation_test.go.
//
// The rules, from MySQL's tables (collation_table.go): every character
// has one 16-bit weight (its upper-case, accent-stripped base letter);
// characters beyond the BMP all weigh 0xFFFD, as in MySQL; strings compare
// by their weights without trailing spaces (PAD SPACE: 'a' = 'a '), a
// string that continues sorting after its prefix. Bytes that are not UTF-8
// weigh 0xFFFD too. (MySQL pads the shorter string with spaces instead, so
// it sorts 'a\t' before 'a'; marmot sorts it after, so that all strings
// with a prefix lie between the prefix and its successor, an index range:
// see LIKE in frontend/transpile. Strings are equal in exactly the same
// cases.)

// ciWeights is the weight of every BMP code point.
var ciWeights = func() *[0x10000]uint16 {
	var w [0x10000]uint16
	for i := range w {
		w[i] = uint16(i)
	}
	for _, e := range generalCIExceptions {
		w[e[0]] = e[1]
	}
	return &w
}()
