package frontend

import (
	"database/sql"
	"testing"
)

// The cost of a Go function call through go-sqlite3 (reflection, cgo,
// a copy of the result) against a SQLite built-in, per 100,000 rows, and the
// cost of registering all functions on a new connection.

func BenchmarkFunctionsUpper(b *testing.B)   { benchFunction(b, "upper") }
func BenchmarkFunctionsBuiltin(b *testing.B) { benchFunction(b, "unicode") }

func benchFunction(b *testing.B, fn string) {
	db, err := sql.Open(funcTestDriver, ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	q := "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 100000) SELECT count(" + fn + "('abc' || x)) FROM c"
	for i := 0; i < b.N; i++ {
		var n int64
		if err := db.QueryRow(q).Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFunctionsConnect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		db, err := sql.Open(funcTestDriver, ":memory:")
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Ping(); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}
