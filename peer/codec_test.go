package peer

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// TestVTCodecMatchesProtobufGo: vtCodec writes what protobuf-go reads and
// reads what it writes, replacing (not merging into) the message it
// decodes into, and handles messages without generated methods too.
func TestVTCodecMatchesProtobufGo(t *testing.T) {
	cs := &marmotv1.ChangeSet{Id: []byte("id"), Origin: 2, Seq: 9, Database: "app", Deps: map[uint64]uint64{1: 4},
		Rows: []*marmotv1.RowChange{{Table: "t", Op: marmotv1.Op_OP_INSERT,
			Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}, Columns: []string{"id"},
			After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 1}}}}}}
	cases := []struct {
		name  string
		msg   proto.Message
		stale proto.Message // what the decoder's target held before
	}{
		{"prepare on the stream",
			&marmotv1.ExchangeRequest{Id: 3, TimeoutMs: 250, Call: &marmotv1.ExchangeRequest_Prepare{Prepare: &marmotv1.PrepareRequest{TxnId: []byte("x"), Database: "app", Rows: []*marmotv1.IntentRow{{Table: "t", Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: 7}}}}}}}},
			&marmotv1.ExchangeRequest{Id: 99, Call: &marmotv1.ExchangeRequest_Abort{Abort: &marmotv1.AbortRequest{TxnId: []byte("old")}}}},
		{"commit with its change set",
			&marmotv1.ExchangeRequest{Id: 4, Call: &marmotv1.ExchangeRequest_Commit{Commit: &marmotv1.CommitRequest{ChangeSet: cs}}},
			&marmotv1.ExchangeRequest{}},
		{"refusal",
			&marmotv1.ExchangeResponse{Id: 5, Result: &marmotv1.ExchangeResponse_Prepare{Prepare: &marmotv1.PrepareResponse{ConflictTable: "t", ConflictKey: "k", ConflictIntent: true}}},
			&marmotv1.ExchangeResponse{Id: 1, ErrorMessage: "stale"}},
		{"pulled change set", &marmotv1.PullResponse{ChangeSet: []byte{1, 2, 3}}, &marmotv1.PullResponse{ChangeSet: []byte{9}}},
		{"message without generated methods", wrapperspb.String("plain"), wrapperspb.String("stale")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := vtCodec{}.MarshalAppend([]byte("prefix"), c.msg)
			if err != nil {
				t.Fatal(err)
			}
			if string(b[:6]) != "prefix" {
				t.Fatalf("MarshalAppend overwrote the buffer: %q", b[:6])
			}
			ref := c.msg.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b[6:], ref); err != nil || !proto.Equal(ref, c.msg) {
				t.Fatalf("protobuf-go read %v (%v), want %v", ref, err, c.msg)
			}
			pb, err := proto.Marshal(c.msg)
			if err != nil {
				t.Fatal(err)
			}
			got := c.stale
			if err := (vtCodec{}).Unmarshal(pb, got); err != nil || !proto.Equal(got, c.msg) {
				t.Fatalf("decoded %v (%v), want %v", got, err, c.msg)
			}
		})
	}
}
