package log

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

func codecCases() map[string]*marmotv1.ChangeSet {
	text := func(s string) *marmotv1.Value { return &marmotv1.Value{Kind: &marmotv1.Value_Text{Text: []byte(s)}} }
	return map[string]*marmotv1.ChangeSet{
		"empty": {},
		"rows of every value kind": {
			Id: []byte("0123456789abcdef"), Origin: 7, Seq: 42, Database: "app",
			Hlc:  &marmotv1.HLC{WallMs: 1790000000000, Logical: 3, NodeId: 7},
			Deps: map[uint64]uint64{7: 41, 9: 1 << 60, 11: 0},
			Rows: []*marmotv1.RowChange{{
				Table: "t", Op: marmotv1.Op_OP_UPDATE,
				Pk:      []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: -5}}},
				Columns: []string{"id", "r", "s", "b", "n", "é"},
				Before:  []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: -5}}, {Kind: &marmotv1.Value_Real{Real: 1.5}}, text("a"), {Kind: &marmotv1.Value_Blob{Blob: []byte{0, 0xff}}}, {Kind: &marmotv1.Value_Null{Null: true}}, text("")},
				After:   []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: -5}}, {Kind: &marmotv1.Value_Real{Real: -0.0}}, text("\xff not UTF-8 is fine in TEXT"), {Kind: &marmotv1.Value_Blob{Blob: nil}}, {Kind: &marmotv1.Value_Null{Null: true}}, text("x")},
			}, {Table: "u", Op: marmotv1.Op_OP_DELETE, Pk: []*marmotv1.Value{text("k")}}},
		},
		"ddl":         {Database: "app", Ddl: "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY)", DdlTables: []string{"t"}},
		"database op": {Database: "app", DatabaseOp: marmotv1.DatabaseOp_DATABASE_OP_DROP},
	}
}

// TestCodecMatchesProtobufGo: the generated encoder and decoder read and
// write what protobuf-go does, in both directions.
func TestCodecMatchesProtobufGo(t *testing.T) {
	for name, cs := range codecCases() {
		t.Run(name, func(t *testing.T) {
			b, err := encodeChangeSet(cs)
			if err != nil {
				t.Fatal(err)
			}
			back := &marmotv1.ChangeSet{}
			if err := proto.Unmarshal(b, back); err != nil {
				t.Fatalf("protobuf-go cannot read the encoding: %v", err)
			}
			if !proto.Equal(back, cs) {
				t.Fatalf("protobuf-go read %v, want %v", back, cs)
			}
			pb, err := proto.Marshal(cs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeChangeSet(pb)
			if err != nil {
				t.Fatalf("decoding protobuf-go's encoding: %v", err)
			}
			if !proto.Equal(got, cs) {
				t.Fatalf("decoded %v, want %v", got, cs)
			}
		})
	}
}

// TestCodecRefusesInvalidUTF8: string fields must hold UTF-8 (proto3), as
// protobuf-go insists, both when encoding and when decoding.
func TestCodecRefusesInvalidUTF8(t *testing.T) {
	bad := "t\xff"
	for name, cs := range map[string]*marmotv1.ChangeSet{
		"database":   {Database: bad},
		"ddl":        {Ddl: bad},
		"ddl table":  {DdlTables: []string{"ok", bad}},
		"row table":  {Rows: []*marmotv1.RowChange{{Table: bad}}},
		"row column": {Rows: []*marmotv1.RowChange{{Table: "t", Columns: []string{"a", bad}}}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := proto.Marshal(cs); err == nil {
				t.Fatal("protobuf-go encodes it: the case tests nothing")
			}
			if _, err := encodeChangeSet(cs); !errors.Is(err, errNotUTF8) {
				t.Fatalf("encode: %v, want %v", err, errNotUTF8)
			}
			// The same bytes as they would arrive from a peer.
			b, err := proto.MarshalOptions{}.Marshal(stripUTF8Check(cs))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := decodeChangeSet(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("decode: %v, want %v", err, ErrCorrupt)
			}
		})
	}
}

// stripUTF8Check encodes cs with the generated encoder, which does not
// check strings, and returns a message carrying those bytes as unknown
// fields, so protobuf-go writes them out unchanged.
func stripUTF8Check(cs *marmotv1.ChangeSet) *marmotv1.ChangeSet {
	b, err := cs.MarshalVT()
	if err != nil {
		panic(err)
	}
	m := &marmotv1.ChangeSet{}
	m.ProtoReflect().SetUnknown(b)
	return m
}

// FuzzDecodeChangeSet: any bytes decode without panicking; what decodes
// encodes again to the same change set; and bytes protobuf-go would write
// decode to what protobuf-go reads from them. (On malformed bytes the two
// decoders may differ: the generated one refuses a known field with the
// wrong wire type, skips an overlong varint in an unknown field, and
// reads a map entry's mistyped key.)
func FuzzDecodeChangeSet(f *testing.F) {
	for _, cs := range codecCases() {
		b, err := encodeChangeSet(cs)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cs, err := decodeChangeSet(b)
		if err == nil {
			again, err := encodeChangeSet(cs)
			if err != nil {
				t.Fatalf("a decoded change set does not encode: %v", err)
			}
			if back, err := decodeChangeSet(again); err != nil || !proto.Equal(back, cs) {
				t.Fatalf("re-encoded change set decodes to %v (%v), want %v", back, err, cs)
			}
		}
		ref := &marmotv1.ChangeSet{}
		if proto.Unmarshal(b, ref) != nil {
			return
		}
		known := proto.Clone(ref)
		discardUnknown(known.ProtoReflect())
		if canon, err := (proto.MarshalOptions{Deterministic: true}).Marshal(known); err != nil || !bytes.Equal(canon, b) {
			return // not bytes protobuf-go writes
		}
		if err != nil {
			t.Fatalf("protobuf-go's encoding of %v does not decode: %v", ref, err)
		}
		if !proto.Equal(cs, ref) {
			t.Fatalf("decoded %v, protobuf-go reads %v", cs, ref)
		}
	})
}

func discardUnknown(m protoreflect.Message) {
	m.SetUnknown(nil)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				discardUnknown(v.List().Get(i).Message())
			}
		case fd.Message() != nil && !fd.IsMap():
			discardUnknown(v.Message())
		}
		return true
	})
}
