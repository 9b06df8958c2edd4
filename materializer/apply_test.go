package materializer

import (
	"context"
	"testing"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// TestApplyBatchWithFailure: a batch is applied without per-change-set
// savepoints; when one change set fails, the batch is applied again with
// them, so the failing one alone is skipped (a broken row) or cut off with
// what follows (a table that has not arrived yet).
func TestApplyBatchWithFailure(t *testing.T) {
	row := func(seq uint64, table string, id int64, v *marmotv1.Value) *marmotv1.ChangeSet {
		return &marmotv1.ChangeSet{Origin: 9, Seq: seq, Database: "app", Hlc: &marmotv1.HLC{WallMs: int64(1000 + seq), NodeId: 9},
			Rows: []*marmotv1.RowChange{{Table: table, Op: marmotv1.Op_OP_INSERT, Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}},
				Columns: []string{"id", "v"}, After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}, v}}}}
	}
	text := &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte("x")}}
	null := &marmotv1.Value{}
	tests := []struct {
		name        string
		batch       []*marmotv1.ChangeSet
		wantN       int
		wantRows    string
		wantApplied uint64
	}{
		{"all good", []*marmotv1.ChangeSet{row(1, "t", 1, text), row(2, "t", 2, text)}, 2, "2;", 2},
		{"broken row skipped", []*marmotv1.ChangeSet{row(1, "t", 1, text), row(2, "t", 2, null), row(3, "t", 3, text)}, 3, "2;", 3},
		{"missing table cuts the batch", []*marmotv1.ChangeSet{row(1, "t", 1, text), row(2, "later", 2, text), row(3, "t", 3, text)}, 1, "1;", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, m := mustOpen(t, t.TempDir())
			d := createDB(t, l, m, "app", `CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
			ctx := context.Background()
			if err := d.lockApplier(ctx); err != nil {
				t.Fatal(err)
			}
			n, err := d.applyLocked(ctx, tc.batch)
			d.unlock()
			if err != nil || n != tc.wantN {
				t.Fatalf("applied %d, %v; want %d", n, err, tc.wantN)
			}
			if got := dump(t, d, "SELECT count(*) FROM t"); got != tc.wantRows {
				t.Fatalf("rows %s, want %s", got, tc.wantRows)
			}
			if got := d.Applied()[9]; got != tc.wantApplied {
				t.Fatalf("watermark %d, want %d", got, tc.wantApplied)
			}
		})
	}
}
