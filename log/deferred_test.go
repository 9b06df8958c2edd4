package log

import (
	"context"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// batchesWritten is how many batches the committer has written (every
// Log in the process counts).
func batchesWritten(t *testing.T) uint64 {
	t.Helper()
	var m dto.Metric
	if err := metricBatchEntries.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}

// TestAppendDeferred: deferred entries wait, unwritten, until something
// needs the log durable, then go in that one batch; alone they are written
// after Options.DeferMax.
func TestAppendDeferred(t *testing.T) {
	cases := []struct {
		name     string
		deferMax time.Duration
		// trigger makes the deferred entries' batch start; nil: wait for
		// DeferMax.
		trigger func(t *testing.T, l *Log)
		entries int // in the one batch
	}{
		{name: "Flush", deferMax: time.Hour, entries: 3, trigger: func(t *testing.T, l *Log) { l.Flush() }},
		{name: "an ordinary append", deferMax: time.Hour, entries: 4, trigger: func(t *testing.T, l *Log) {
			if _, err := l.Append(rowCS("db", 100, marmotv1.Op_OP_INSERT), nil); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "WaitDurable", deferMax: time.Hour, entries: 3, trigger: func(t *testing.T, l *Log) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := l.WaitDurable(ctx, l.Node(), 2); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "DeferMax", deferMax: 5 * time.Millisecond, entries: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := mustOpen(t, Options{NodeID: 1, DeferMax: tc.deferMax})
			before := batchesWritten(t)
			var as []*Appending
			for pk := int64(1); pk <= 3; pk++ {
				a, err := l.AppendDeferred(rowCS("db", pk, marmotv1.Op_OP_INSERT), nil)
				if err != nil {
					t.Fatal(err)
				}
				as = append(as, a)
			}
			if tc.trigger != nil {
				// Nothing needs them durable yet: the committer waits.
				if d := l.Durable()[l.Node()]; d != 0 {
					t.Fatalf("deferred entries durable (up to %d) before anything asked", d)
				}
				tc.trigger(t, l)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i, a := range as {
				if err := a.Wait(ctx); err != nil {
					t.Fatalf("entry %d: %v", i+1, err)
				}
			}
			if err := l.WaitDurable(ctx, l.Node(), uint64(tc.entries)); err != nil {
				t.Fatal(err)
			}
			if n := batchesWritten(t) - before; n != 1 {
				t.Fatalf("%d batches written, want the %d entries in one", n, tc.entries)
			}
		})
	}
}
