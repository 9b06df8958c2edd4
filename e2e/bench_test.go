package e2e

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkMySQL measures end to end over the MySQL protocol against one
// real marmotd with 16 concurrent clients (server-side prepared statements,
// go-sql-driver/mysql): single-row autocommit INSERT and point SELECT by
// primary key. Run: make bench, or
//
//	go test -tags "sqlite_preupdate_hook sqlite_math_functions" -run XXX -bench MySQL -benchtime 20000x ./e2e/
func BenchmarkMySQL(b *testing.B) {
	n := StartNode(b)
	setup := n.DB(b, "")
	mustExec(b, setup, "CREATE DATABASE bench")
	db := n.DB(b, "bench", "interpolateParams=false")
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	mustExec(b, db, "CREATE TABLE sbtest (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0, c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '')")
	const clients = 16
	run := func(b *testing.B, stmt *sql.Stmt, args func(i int64) []any) {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		b.ResetTimer()
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := next.Add(1)
					if i > int64(b.N) {
						return
					}
					rows, err := stmt.Query(args(i)...)
					if err != nil {
						errs <- err
						return
					}
					for rows.Next() {
					}
					rows.Close()
				}
			}()
		}
		wg.Wait()
		b.StopTimer()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	}
	var inserted atomic.Int64
	b.Run("insert_autocommit", func(b *testing.B) {
		st, err := db.Prepare("INSERT INTO sbtest (k, c, pad) VALUES (?, ?, ?)")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st, func(i int64) []any {
			return []any{i % 1000, fmt.Sprintf("%0120d", i), "pad-pad-pad"}
		})
		inserted.Store(int64(b.N))
	})
	b.Run("point_select", func(b *testing.B) {
		var ids []int64
		rows, err := db.Query("SELECT id FROM sbtest")
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			for i := 0; i < 1000; i++ {
				mustExec(b, db, "INSERT INTO sbtest (k, c, pad) VALUES (?, 'c', 'p')", i)
			}
			return
		}
		st, err := db.Prepare("SELECT c FROM sbtest WHERE id = ?")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st, func(i int64) []any { return []any{ids[int(i)%len(ids)]} })
	})
}
