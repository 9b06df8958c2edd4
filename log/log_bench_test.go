package log

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// BenchmarkCommit measures group commit on a real on-disk directory (real
// fsync). Each op is one Commit of a one-row insert with a unique primary
// key; exactly `committers` goroutines share the b.N ops.
func BenchmarkCommit(b *testing.B) {
	for _, committers := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("committers=%d", committers), func(b *testing.B) {
			fs := newWALFS(vfs.Default)
			l := mustOpen(b, Options{Dir: b.TempDir(), FS: fs, NodeID: 1})
			ctx := context.Background()
			// Prebuild the change sets so the loop measures Commit only.
			sets := make([]*marmotv1.ChangeSet, b.N)
			for i := range sets {
				sets[i] = &marmotv1.ChangeSet{
					Id:       []byte(fmt.Sprintf("bench-%016d", i)),
					Database: "bench",
					Rows: []*marmotv1.RowChange{{
						Table:   "t",
						Op:      marmotv1.Op_OP_INSERT,
						Pk:      []*marmotv1.Value{intVal(int64(i))},
						Columns: []string{"id", "v"},
						After:   []*marmotv1.Value{intVal(int64(i)), {Kind: &marmotv1.Value_Text{Text: []byte("payload-0123456789")}}},
					}},
				}
			}
			var next atomic.Int64
			var failed atomic.Pointer[error]
			fs.syncs.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			for g := 0; g < committers; g++ {
				wg.Go(func() {
					for {
						i := next.Add(1) - 1
						if i >= int64(b.N) {
							return
						}
						if err := l.Commit(ctx, sets[i], nil); err != nil {
							failed.CompareAndSwap(nil, &err)
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatalf("commit: %v", *err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
			b.ReportMetric(float64(fs.syncs.Load())/float64(b.N), "fsyncs/op")
		})
	}
}
