package log

import (
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// Timestamp is a hybrid logical clock reading. The zero value sorts first.
type Timestamp struct {
	WallMS  int64
	Logical uint32
	Node    uint64
}

// TimestampLen is the encoded size of a Timestamp.
const TimestampLen = 20

// Compare orders by wall time, then logical counter, then node id.
func (t Timestamp) Compare(o Timestamp) int {
	switch {
	case t.WallMS != o.WallMS:
		return cmp64(t.WallMS, o.WallMS)
	case t.Logical != o.Logical:
		if t.Logical < o.Logical {
			return -1
		}
		return 1
	case t.Node != o.Node:
		if t.Node < o.Node {
			return -1
		}
		return 1
	}
	return 0
}

func cmp64(a, b int64) int {
	if a < b {
		return -1
	}
	return 1
}

// IsZero reports whether t is the zero timestamp.
func (t Timestamp) IsZero() bool { return t == Timestamp{} }

// String renders wall.logical@node, the form marmotctl prints.
func (t Timestamp) String() string {
	return fmt.Sprintf("%d.%d@%d", t.WallMS, t.Logical, t.Node)
}

// Time is the wall component as a time.Time.
func (t Timestamp) Time() time.Time { return time.UnixMilli(t.WallMS).UTC() }

// Append appends the order-preserving 20-byte encoding of t.
func (t Timestamp) Append(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(t.WallMS))
	b = binary.BigEndian.AppendUint32(b, t.Logical)
	return binary.BigEndian.AppendUint64(b, t.Node)
}

// DecodeTimestamp is the inverse of Append.
func DecodeTimestamp(b []byte) (Timestamp, error) {
	if len(b) < TimestampLen {
		return Timestamp{}, fmt.Errorf("%w: timestamp of %d bytes", ErrCorrupt, len(b))
	}
	return Timestamp{
		WallMS:  int64(binary.BigEndian.Uint64(b)),
		Logical: binary.BigEndian.Uint32(b[8:]),
		Node:    binary.BigEndian.Uint64(b[12:]),
	}, nil
}

// Proto converts t to its wire form.
func (t Timestamp) Proto() *marmotv1.HLC {
	return &marmotv1.HLC{WallMs: t.WallMS, Logical: t.Logical, NodeId: t.Node}
}

// FromProto converts a wire HLC; nil is the zero timestamp.
func FromProto(h *marmotv1.HLC) Timestamp {
	if h == nil {
		return Timestamp{}
	}
	return Timestamp{WallMS: h.WallMs, Logical: h.Logical, Node: h.NodeId}
}

// Clock is a hybrid logical clock. It never goes backwards, also across
// restarts: before it hands out a wall time beyond the persisted high-water
// mark it persists a new mark a lease ahead, and a restarted clock starts at
// the mark. Safe for concurrent use.
type Clock struct {
	mu      sync.Mutex
	node    uint64
	now     func() time.Time
	maxSkew time.Duration
	last    Timestamp
	hwm     int64                    // persisted wall-ms high-water mark
	persist func(wallMS int64) error // durably records a new high-water mark
}

// clockLease is how far ahead of the current wall time a persisted high-water
// mark reaches: one synchronous write per lease of activity.
const clockLease = 2 * time.Second

// NewClock starts a clock for node whose readings are above floorMS.
// persist may be nil (tests); now nil means time.Now.
func NewClock(node uint64, now func() time.Time, maxSkew time.Duration, floorMS int64, persist func(int64) error) *Clock {
	if now == nil {
		now = time.Now
	}
	return &Clock{node: node, now: now, maxSkew: maxSkew, last: Timestamp{WallMS: floorMS, Node: node}, hwm: floorMS, persist: persist}
}

// Node is the clock's node id.
func (c *Clock) Node() uint64 { return c.node }

// Now returns a timestamp greater than every one returned or observed before.
func (c *Clock) Now() (Timestamp, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	phys := c.now().UnixMilli()
	next := c.last
	if phys > next.WallMS {
		next = Timestamp{WallMS: phys, Node: c.node}
	} else {
		next.Logical++
		next.Node = c.node
	}
	if err := c.ensureHWM(next.WallMS); err != nil {
		return Timestamp{}, err
	}
	c.last = next
	return next, nil
}

// Last is the most recent timestamp issued or observed.
func (c *Clock) Last() Timestamp {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

// Update folds in a timestamp seen from a peer so later local readings are
// after it. A peer further ahead of our physical clock than maxSkew is
// refused: accepting it would drag every node's clock into the future.
func (c *Clock) Update(remote Timestamp) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	phys := c.now().UnixMilli()
	if c.maxSkew > 0 && remote.WallMS > phys+c.maxSkew.Milliseconds() {
		return fmt.Errorf("%w: peer %d is %v ahead (bound %v)", ErrClockSkew, remote.Node,
			time.Duration(remote.WallMS-phys)*time.Millisecond, c.maxSkew)
	}
	if remote.WallMS > c.last.WallMS || (remote.WallMS == c.last.WallMS && remote.Logical > c.last.Logical) {
		if err := c.ensureHWM(remote.WallMS); err != nil {
			return err
		}
		c.last = Timestamp{WallMS: remote.WallMS, Logical: remote.Logical, Node: c.node}
	}
	return nil
}

// ensureHWM keeps the persisted mark ahead of wall. Called with mu held.
func (c *Clock) ensureHWM(wall int64) error {
	// Every reading stays strictly below the persisted mark, so a clock
	// restarted at the mark never repeats one.
	if wall < c.hwm {
		return nil
	}
	next := wall + clockLease.Milliseconds()
	if c.persist != nil {
		if err := c.persist(next); err != nil {
			return fmt.Errorf("log: persist clock high-water mark: %w", err)
		}
	}
	c.hwm = next
	return nil
}
