package frontend

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"unicode/utf8"

	sqlite3 "github.com/mattn/go-sqlite3"
)

// The cost of utf8mb4_general_ci and MySQL's LIKE against SQLite's
// built-in NOCASE and LIKE, which character columns had before, on a
// 100,000-row table of 15-45 character names:
//
//	go test -tags "sqlite_preupdate_hook sqlite_math_functions" ./frontend -run '^$' -bench Collation
//
// Each benchmark runs per implementation: /nocase (SQLite's NOCASE and
// LIKE, as before), /go (the Go reference through go-sqlite3's callbacks),
// /c (what marmot registers).

var registerBenchDrivers sync.Once

// benchCollationDB opens a 100,000-row table whose text columns use
// SQLite's NOCASE (with SQLite's LIKE: what marmot had before), or
// utf8mb4_general_ci and like() in Go (go-sqlite3's RegisterCollation and
// RegisterFunc) or in C (what marmot registers).
func benchCollationDB(b *testing.B, coll string) *sql.DB {
	registerBenchDrivers.Do(func() {
		sql.Register("bench_sqlite", &sqlite3.SQLiteDriver{})
		sql.Register("bench_go", &sqlite3.SQLiteDriver{ConnectHook: registerGoCollation})
	})
	driver, decl := "bench_sqlite", "utf8mb4_general_ci"
	switch coll {
	case "nocase":
		decl = "NOCASE"
		if err := enableMySQLCollation(false); err != nil {
			b.Fatal(err)
		}
		defer func() {
			if err := enableMySQLCollation(true); err != nil {
				b.Fatal(err)
			}
		}()
	case "go":
		driver = "bench_go"
	}
	db, err := sql.Open(driver, ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		"CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR(64) COLLATE " + decl + ", plain VARCHAR(64) COLLATE " + decl + ")",
		"CREATE INDEX t_name ON t (name)",
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	tx, _ := db.Begin()
	st, _ := tx.Prepare("INSERT INTO t (id, name, plain) VALUES (?, ?, ?)")
	for i := range benchRows {
		n := benchName(i)
		if _, err := st.Exec(i, n, n); err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return db
}

const benchRows = 100000

// benchName is row i's name: mostly ASCII words, one in ten with accents.
func benchName(i int) string {
	r := rand.New(rand.NewPCG(uint64(i), 7))
	words := []string{"alpha", "Bravo", "charlie", "Delta", "echo", "foxtrot", "Golf", "hotel", "India", "juliett", "kilo", "Lima"}
	s := fmt.Sprintf("%s %s %d", words[r.IntN(len(words))], words[r.IntN(len(words))], i)
	if i%10 == 0 {
		s = "Crème brûlée " + s
	}
	return s
}

func benchCollation(b *testing.B, run func(b *testing.B, db *sql.DB), colls ...string) {
	if len(colls) == 0 {
		colls = []string{"nocase", "go", "c"}
	}
	for _, coll := range colls {
		b.Run(coll, func(b *testing.B) {
			db := benchCollationDB(b, coll)
			b.ResetTimer()
			run(b, db)
		})
	}
}

func queryCount(b *testing.B, db *sql.DB, q string, args ...any) int64 {
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// An indexed equality lookup: a B-tree descent of ~17 comparisons.
func BenchmarkCollationIndexedLookup(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		st, err := db.Prepare("SELECT count(*) FROM t WHERE name = ?")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		for i := 0; i < b.N; i++ {
			var n int64
			if err := st.QueryRow(benchName(i % benchRows)).Scan(&n); err != nil || n != 1 {
				b.Fatalf("%v %d", err, n)
			}
		}
	})
}

// An equality filter over every row (no index): 100,000 comparisons.
func BenchmarkCollationScanEquals(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		for i := 0; i < b.N; i++ {
			queryCount(b, db, "SELECT count(*) FROM t WHERE plain = ?", "no such name")
		}
	})
}

// Sorting 100,000 rows by an unindexed column.
func BenchmarkCollationOrderBy(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		for i := 0; i < b.N; i++ {
			queryCount(b, db, "SELECT count(*) FROM (SELECT plain FROM t ORDER BY plain)")
		}
	})
}

// LIKE with a prefix on the indexed column: SQLite's built-in LIKE can
// use a NOCASE index; the registered like() cannot.
func BenchmarkCollationLikePrefix(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		for i := 0; i < b.N; i++ {
			queryCount(b, db, "SELECT count(*) FROM t WHERE name LIKE 'hotel golf 1%'")
		}
	})
}

// The same LIKE as marmot transpiles it for a character column: with the
// range of strings that can match, which SQLite searches in the index.
func BenchmarkCollationLikePrefixRange(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		for i := 0; i < b.N; i++ {
			queryCount(b, db, "SELECT count(*) FROM t WHERE (name LIKE 'hotel golf 1%' AND name >= 'hotel golf 1' COLLATE utf8mb4_general_ci AND name < 'hotel golf 2' COLLATE utf8mb4_general_ci)")
		}
	}, "go", "c")
}

// LIKE '%x%' over every row.
func BenchmarkCollationLikeScan(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		for i := 0; i < b.N; i++ {
			queryCount(b, db, "SELECT count(*) FROM t WHERE plain LIKE '%lima 9%'")
		}
	})
}

// Inserting into the indexed column (index maintenance compares).
func BenchmarkCollationInsert(b *testing.B) {
	benchCollation(b, func(b *testing.B, db *sql.DB) {
		tx, _ := db.Begin()
		defer tx.Rollback()
		st, _ := tx.Prepare("INSERT INTO t (id, name, plain) VALUES (?, ?, ?)")
		defer st.Close()
		for i := 0; i < b.N; i++ {
			n := benchName(benchRows + i)
			if _, err := st.Exec(benchRows+i, n, n); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkCollationCompareGo(b *testing.B) {
	x, y := "juliett Delta 12345", "juliett delta 12346"
	for i := 0; i < b.N; i++ {
		ciCompare(x, y)
	}
}

// registerGoCollation registers the Go reference implementation.
func registerGoCollation(c *sqlite3.SQLiteConn) error {
	if err := c.RegisterCollation("utf8mb4_general_ci", ciCompare); err != nil {
		return err
	}
	like := func(pat, val string, esc rune) bool { return likeMatch(compileLike(pat, esc, false), val, false) }
	if err := c.RegisterFunc("like", func(pat, val string) bool { return like(pat, val, -1) }, true); err != nil {
		return err
	}
	return c.RegisterFunc("like", func(pat, val, esc string) bool {
		r, _ := utf8.DecodeRuneInString(esc)
		return like(pat, val, r)
	}, true)
}
