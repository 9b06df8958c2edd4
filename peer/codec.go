package peer

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"
)

// vtCodec is Connect's binary protobuf codec on the vtprotobuf-generated
// methods (proto/marmot/v1/*_vtproto.pb.go) instead of protobuf-go's
// reflection: every Prepare, Commit and Pull message of the cluster goes
// through it, and the reflective codec was 6% of a node's CPU in the
// cluster benchmark. It writes the same wire format under the same name,
// so either side may use either codec.
type vtCodec struct{}

type vtMessage interface {
	proto.Message
	SizeVT() int
	MarshalToSizedBufferVT([]byte) (int, error)
	UnmarshalVT([]byte) error
}

func (vtCodec) Name() string { return "proto" }

func (c vtCodec) Marshal(m any) ([]byte, error) { return c.MarshalAppend(nil, m) }

func (vtCodec) MarshalAppend(b []byte, m any) ([]byte, error) {
	switch v := m.(type) {
	case vtMessage:
		n := v.SizeVT()
		start := len(b)
		b = slices.Grow(b, n)[:start+n]
		if _, err := v.MarshalToSizedBufferVT(b[start:]); err != nil {
			return nil, err
		}
		return b, nil
	case proto.Message:
		return proto.MarshalOptions{}.MarshalAppend(b, v)
	}
	return nil, fmt.Errorf("peer: cannot encode %T: not a protobuf message", m)
}

func (vtCodec) Unmarshal(data []byte, m any) error {
	switch v := m.(type) {
	case vtMessage:
		proto.Reset(v) // UnmarshalVT merges into what is there
		return v.UnmarshalVT(data)
	case proto.Message:
		return proto.Unmarshal(data, v)
	}
	return fmt.Errorf("peer: cannot decode into %T: not a protobuf message", m)
}

func (vtCodec) IsBinary() bool { return true }
