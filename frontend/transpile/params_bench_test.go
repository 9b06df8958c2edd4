package transpile

import (
	"strings"
	"testing"
)

// BenchmarkParameterize: the per-statement cost every text-protocol write
// pays (sysbench oltp_insert, the cluster benchmark's interpolated
// inserts), on the session's goroutine.
func BenchmarkParameterize(b *testing.B) {
	field := strings.Repeat("abcdefghij", 10)
	for _, bc := range []struct{ name, q string }{
		{"sysbench-insert", "INSERT INTO sbtest1 (id, k, c, pad) VALUES (5012, 4993, '" + strings.Repeat("83868641912-", 10) + "', '" + strings.Repeat("67847967377-", 5) + "')"},
		{"bench-insert-10-fields", "INSERT INTO benchmarks (id, field0, field1, field2, field3, field4, field5, field6, field7, field8, field9) VALUES ('user000000012345'" + strings.Repeat(", '"+field+"'", 10) + ")"},
		{"escaped", `INSERT INTO t (a) VALUES ('it''s a \'quoted\' value\n` + field + `')`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.q)))
			for b.Loop() {
				if _, _, ok := Parameterize(bc.q); !ok {
					b.Fatal("not parameterized")
				}
			}
		})
	}
}
