package log

import (
	"fmt"
	"sync"
	"time"
)

// IDMode selects the auto-increment id layout.
type IDMode int

const (
	// IDCompact ids fit in 53 bits, so JavaScript numbers and JSON keep them
	// exact:  [31 bits: seconds since 2025-01-01 UTC][10 bits: node slot][12 bits: sequence].
	// Good for 68 years and 4096 ids per second per node; a burst beyond that
	// borrows the next second, so the time part may run ahead of the wall
	// clock for a while and catches up when the burst ends.
	IDCompact IDMode = iota
	// IDExtended ids use 63 bits (always positive int64):
	// [41 bits: milliseconds since 2025-01-01 UTC][10 bits: node slot][12 bits: sequence].
	// Good for 69 years and 4096 ids per millisecond per node.
	IDExtended
)

// idEpoch is the zero of the id time component.
var idEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	idSeqBits  = 12
	idNodeBits = 10
	idNodeMask = 1<<idNodeBits - 1
	idSeqMax   = 1<<idSeqBits - 1
)

// IDGenerator hands out auto-increment ids unique across the cluster (the
// node slot is node_id mod 1024, so node ids must differ in their low ten
// bits) and across restarts (the time unit is persisted a lease ahead, like
// the HLC, and a restarted generator starts past it). Safe for concurrent use.
type IDGenerator struct {
	mu      sync.Mutex
	mode    IDMode
	slot    int64
	now     func() time.Time
	unit    int64 // time unit of the last id
	seq     int64
	hwm     int64 // persisted unit high-water mark
	persist func(int64) error
}

// NewIDGenerator returns the node's id generator for mode. Call once per mode.
func (l *Log) NewIDGenerator(mode IDMode, now func() time.Time) (*IDGenerator, error) {
	key := []byte(fmt.Sprintf("m/autoid/%d", mode))
	hwm, err := l.metaInt(key)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	g := &IDGenerator{mode: mode, slot: int64(l.node & idNodeMask), now: now, unit: int64(hwm), seq: idSeqMax, hwm: int64(hwm),
		persist: func(v int64) error { return l.setMetaInt(key, uint64(v)) }}
	return g, nil
}

func (g *IDGenerator) currentUnit() int64 {
	d := g.now().Sub(idEpoch)
	if g.mode == IDCompact {
		return int64(d / time.Second)
	}
	return int64(d / time.Millisecond)
}

// Next returns a new id.
func (g *IDGenerator) Next() (int64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	u := g.currentUnit()
	switch {
	case u > g.unit:
		g.unit, g.seq = u, 0
	case g.seq < idSeqMax:
		g.seq++
	default:
		g.unit, g.seq = g.unit+1, 0 // burst: borrow the next unit
	}
	if g.unit >= g.hwm {
		lease := int64(10) // units
		if g.mode == IDExtended {
			lease = 10_000
		}
		if err := g.persist(g.unit + lease); err != nil {
			return 0, fmt.Errorf("log: persist id high-water mark: %w", err)
		}
		g.hwm = g.unit + lease
	}
	return g.unit<<(idNodeBits+idSeqBits) | g.slot<<idSeqBits | g.seq, nil
}
