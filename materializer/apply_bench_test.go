package materializer

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// BenchmarkApply measures how fast a view catches up with the log: b.N
// single-row change sets (rowsPer rows each) are committed while the
// materializer is closed, then timed from Open until the view includes them.
func BenchmarkApply(b *testing.B) {
	for _, rowsPer := range []int{1, 10} {
		b.Run(fmt.Sprintf("rows_per_changeset=%d", rowsPer), func(b *testing.B) {
			dir := b.TempDir()
			l, err := txlog.Open(txlog.Options{Dir: filepath.Join(dir, "log"), NodeID: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			m, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "db"), Log: l})
			if err != nil {
				b.Fatal(err)
			}
			createDB(b, l, m, "bench", `CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, c TEXT, pad TEXT)`)
			m.Close()
			var wg sync.WaitGroup
			work := make(chan int)
			for w := 0; w < 64; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range work {
						cs := &marmotv1.ChangeSet{Database: "bench"}
						for r := 0; r < rowsPer; r++ {
							id := int64(i*rowsPer + r)
							cs.Rows = append(cs.Rows, &marmotv1.RowChange{Table: "t", Op: marmotv1.Op_OP_INSERT,
								Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}}, Columns: []string{"id", "k", "c", "pad"},
								After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}, {Kind: &marmotv1.Value_Int{Int: id % 1000}},
									{Kind: &marmotv1.Value_Text{Text: []byte("68487932199-96439406143-93774651418-41631865787-96406072701")}},
									{Kind: &marmotv1.Value_Text{Text: []byte("22195207048-70116052123-74140395089")}}}})
						}
						if err := l.Commit(context.Background(), cs, nil); err != nil {
							b.Error(err)
						}
					}
				}()
			}
			for i := 0; i < b.N; i++ {
				work <- i
			}
			close(work)
			wg.Wait()
			b.ResetTimer()
			m, err = Open(context.Background(), Options{Dir: filepath.Join(dir, "db"), Log: l})
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			defer m.Close()
			b.ReportMetric(float64(b.N*rowsPer)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
