package log

import (
	"encoding/binary"
	"sync"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// recentSize is how many of the newest durable change sets are kept
// decoded in memory, and recentBytes about how much memory they may take.
// Right after an append the applier materializes the entry and every peer
// stream sends it; without the cache each of them reads it back from
// Pebble and decodes it again. They read it within milliseconds, so a few
// seconds of history is plenty: bounded by count alone, the cache held
// 8,192 change sets of ten 1 KB rows (about 200 MB of live heap) in the
// cluster benchmark, and the heap growing into it was 8% of a node's CPU
// in page faults.
const (
	recentSize  = 8192
	recentBytes = 32 << 20
)

type recentKey struct{ origin, seq uint64 }

type recentEntry struct {
	cs   *marmotv1.ChangeSet
	data []byte
	size int // estimated memory, see entryMemory
}

// entryMemory estimates what a cached change set holds: its encoded bytes
// and its decoded form (every value a separate object with its own copy
// of the bytes, about twice the encoded size).
func entryMemory(data []byte) int { return 3*len(data) + 256 }

// recent is a FIFO cache of durable change sets, bounded by recentSize
// entries and recentBytes of estimated memory. Entries are shared:
// callers must not modify them.
type recent struct {
	mu       sync.RWMutex
	m        map[recentKey]recentEntry
	order    []recentKey // ring: order[head] is the oldest of n entries
	head, n  int
	bytes    int
	maxBytes int // 0: recentBytes
}

func (r *recent) add(cs *marmotv1.ChangeSet, data []byte) {
	k := recentKey{cs.Origin, cs.Seq}
	size := entryMemory(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[recentKey]recentEntry, recentSize)
		r.order = make([]recentKey, recentSize)
		if r.maxBytes == 0 {
			r.maxBytes = recentBytes
		}
	}
	if old, ok := r.m[k]; ok {
		r.bytes -= old.size
	}
	for r.n > 0 && (r.n == len(r.order) || r.bytes+size > r.maxBytes) {
		old := r.order[r.head]
		if e, ok := r.m[old]; ok && old != k {
			r.bytes -= e.size
			delete(r.m, old)
		}
		r.order[r.head] = recentKey{}
		r.head = (r.head + 1) % len(r.order)
		r.n--
	}
	r.order[(r.head+r.n)%len(r.order)] = k
	r.n++
	r.m[k] = recentEntry{cs: cs, data: data, size: size}
	r.bytes += size
}

func (r *recent) get(origin, seq uint64) (recentEntry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.m[recentKey{origin, seq}]
	return e, ok
}

// rangeOf returns the change sets of origin with sequence from..to, in
// order, if the cache holds every one of them.
func (r *recent) rangeOf(origin, from, to uint64) ([]*marmotv1.ChangeSet, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*marmotv1.ChangeSet, 0, to-from+1)
	for seq := from; seq <= to; seq++ {
		e, ok := r.m[recentKey{origin, seq}]
		if !ok {
			return nil, false
		}
		out = append(out, e.cs)
	}
	return out, true
}

// rawRangeOf is rangeOf for the entries' encoded bytes.
func (r *recent) rawRangeOf(origin, from, to uint64) ([][]byte, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([][]byte, 0, to-from+1)
	for seq := from; seq <= to; seq++ {
		e, ok := r.m[recentKey{origin, seq}]
		if !ok {
			return nil, false
		}
		out = append(out, e.data)
	}
	return out, true
}

// originSeqOf reads the (origin, seq) suffix that both index key kinds
// (o/<origin><seq> and d/<db>\0<origin><seq>) end with.
func originSeqOf(key []byte) (uint64, uint64, bool) {
	if len(key) < 18 {
		return 0, 0, false
	}
	tail := key[len(key)-16:]
	return binary.BigEndian.Uint64(tail), binary.BigEndian.Uint64(tail[8:]), true
}
