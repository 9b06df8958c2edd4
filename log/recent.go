package log

import (
	"encoding/binary"
	"sync"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// recentSize is how many of the newest durable change sets are kept
// decoded in memory. Right after an append the applier materializes the
// entry and every peer stream sends it; without the cache each of them
// reads it back from Pebble and decodes it again.
const recentSize = 8192

type recentKey struct{ origin, seq uint64 }

type recentEntry struct {
	cs   *marmotv1.ChangeSet
	data []byte
}

// recent is a fixed-size FIFO cache of durable change sets. Entries are
// shared: callers must not modify them.
type recent struct {
	mu    sync.RWMutex
	m     map[recentKey]recentEntry
	order []recentKey
	next  int
}

func (r *recent) add(cs *marmotv1.ChangeSet, data []byte) {
	k := recentKey{cs.Origin, cs.Seq}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[recentKey]recentEntry, recentSize)
		r.order = make([]recentKey, recentSize)
	}
	if old := r.order[r.next]; old != (recentKey{}) {
		delete(r.m, old)
	}
	r.order[r.next] = k
	r.next = (r.next + 1) % recentSize
	r.m[k] = recentEntry{cs: cs, data: data}
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
