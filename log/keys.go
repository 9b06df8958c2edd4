package log

import (
	"encoding/binary"
	"fmt"
	"math"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Key prefixes; see doc.go for the layout.
const (
	prefixEntry   = 'h'
	prefixOrigin  = 'o'
	prefixDB      = 'd'
	prefixVersion = 'v'
	prefixMeta    = 'm'
	prefixIntent  = 'i'
)

var (
	keyClockHWM = []byte("m/hlc")
	keyNodeID   = []byte("m/node")
	// keyRunning is set while a log is open and cleared by a clean Close.
	keyRunning = []byte("m/running")
)

func entryKey(ts Timestamp) []byte {
	return ts.Append(append(make([]byte, 0, 2+TimestampLen), prefixEntry, '/'))
}

// intentKey holds the claim a member granted a transaction of another
// coordinator (intents.go), so that a restart does not forget it.
func intentKey(txn string) []byte {
	return append(append(make([]byte, 0, 2+len(txn)), prefixIntent, '/'), txn...)
}

func originKey(origin, seq uint64) []byte {
	b := append(make([]byte, 0, 18), prefixOrigin, '/')
	b = binary.BigEndian.AppendUint64(b, origin)
	return binary.BigEndian.AppendUint64(b, seq)
}

func dbPrefix(db string) []byte {
	b := append(make([]byte, 0, 3+len(db)+16), prefixDB, '/')
	b = append(b, db...)
	return append(b, 0)
}

func dbKey(db string, origin, seq uint64) []byte {
	b := dbPrefix(db)
	b = binary.BigEndian.AppendUint64(b, origin)
	return binary.BigEndian.AppendUint64(b, seq)
}

// RowKey identifies a row across the cluster: database, table and the
// encoded primary key. It is the unit of versioning and conflict detection.
func RowKey(db, table string, pk []*marmotv1.Value) []byte {
	b := append(make([]byte, 0, 4+len(db)+len(table)+9*len(pk)), prefixVersion, '/')
	b = append(b, db...)
	b = append(b, 0)
	b = append(b, table...)
	b = append(b, 0)
	return AppendValues(b, pk)
}

func tablePrefix(db, table string) []byte {
	b := append([]byte{prefixVersion, '/'}, db...)
	b = append(b, 0)
	b = append(b, table...)
	return append(b, 0)
}

// AppendValues encodes values so equal values give equal bytes.
func AppendValues(b []byte, vals []*marmotv1.Value) []byte {
	for _, v := range vals {
		switch k := v.GetKind().(type) {
		case *marmotv1.Value_Int:
			b = append(b, 1)
			b = binary.BigEndian.AppendUint64(b, uint64(k.Int)^(1<<63))
		case *marmotv1.Value_Real:
			b = append(b, 2)
			b = binary.BigEndian.AppendUint64(b, math.Float64bits(k.Real))
		case *marmotv1.Value_Text:
			b = append(b, 3)
			b = binary.AppendUvarint(b, uint64(len(k.Text)))
			b = append(b, k.Text...)
		case *marmotv1.Value_Blob:
			b = append(b, 4)
			b = binary.AppendUvarint(b, uint64(len(k.Blob)))
			b = append(b, k.Blob...)
		default:
			b = append(b, 0)
		}
	}
	return b
}

// Version is a row's latest committed version: the commit HLC of the change
// set that last wrote it (its node is the origin), that change set's origin
// sequence, and whether that write deleted the row (a tombstone, so a late,
// older update cannot resurrect it).
type Version struct {
	HLC     Timestamp
	Seq     uint64
	Deleted bool
}

// Newer reports whether v wins last-writer-wins against o.
func (v Version) Newer(o Version) bool { return v.HLC.Compare(o.HLC) > 0 }

func (v Version) encode() []byte {
	b := v.HLC.Append(make([]byte, 0, TimestampLen+9))
	b = binary.BigEndian.AppendUint64(b, v.Seq)
	if v.Deleted {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeVersion(b []byte) (Version, error) {
	if len(b) != TimestampLen+9 {
		return Version{}, fmt.Errorf("%w: version of %d bytes", ErrCorrupt, len(b))
	}
	ts, _ := DecodeTimestamp(b)
	return Version{HLC: ts, Seq: binary.BigEndian.Uint64(b[TimestampLen:]), Deleted: b[TimestampLen+8] == 1}, nil
}

// Watermark is how far a consumer has read each origin: origin -> highest
// sequence number included. Sequences are gap-free per origin, so a
// watermark describes an exact set of change sets.
type Watermark map[uint64]uint64

// Covers reports whether the change set (origin, seq) is included.
func (w Watermark) Covers(origin, seq uint64) bool { return seq <= w[origin] }

// Clone returns a copy safe to keep.
func (w Watermark) Clone() Watermark {
	c := make(Watermark, len(w))
	for k, v := range w {
		c[k] = v
	}
	return c
}
