package log

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"

	"github.com/cockroachdb/pebble/v2"
)

// versionCache keeps the durable row versions the committer wrote most
// recently, so the hot path rarely reads Pebble: a Pebble point read of a
// version key costs 20–40 µs here (a random walk through one or two 64 MiB
// memtable skiplists, then the L0 files' filters), and the append path did
// two of them per row while the database's writer was held (the conflict
// check, then the applier's last-writer-wins check).
//
// It also knows what it does not hold. floor(db) bounds, per origin, the
// sequence of every version of db absent from the cache: versions from
// before this process started (their entries are at or below the db's last
// entry per origin), evicted ones (the eviction raises the floor), and
// versions a snapshot installed (which raise the floor of every db). A
// conflict check against seen needs no read for a missing row when seen
// covers the floor: whatever version the row has, seen includes it.
//
// Guarded by Log.mu.
type versionCache struct {
	max  int
	m    map[string]cachedVersion
	ring []cacheSlot // FIFO of insertions; a slot whose gen differs is stale
	head int
	gen  uint64

	dbFloor map[string]Watermark
	global  Watermark
}

type cachedVersion struct {
	v   Version
	gen uint64
}

type cacheSlot struct {
	key string
	gen uint64
}

// versionCacheSize bounds the cache (about 150 bytes an entry).
const versionCacheSize = 1 << 16

func newVersionCache(max int) *versionCache {
	return &versionCache{max: max, m: make(map[string]cachedVersion, max), dbFloor: map[string]Watermark{}, global: Watermark{}}
}

// get returns the cached durable version of a row key.
func (c *versionCache) get(key string) (Version, bool) {
	e, ok := c.m[key]
	return e.v, ok
}

// put records key's newest durable version.
func (c *versionCache) put(key string, v Version) {
	c.gen++
	c.m[key] = cachedVersion{v: v, gen: c.gen}
	c.ring = append(c.ring, cacheSlot{key: key, gen: c.gen})
	for len(c.m) > c.max || len(c.ring)-c.head > 2*c.max {
		s := c.ring[c.head]
		c.ring[c.head] = cacheSlot{}
		c.head++
		if e, ok := c.m[s.key]; ok && e.gen == s.gen {
			delete(c.m, s.key)
			c.raise(rowKeyDB(s.key), e.v.HLC.Node, e.v.Seq)
		}
	}
	if c.head > len(c.ring)/2 && c.head > 1024 {
		c.ring = append(c.ring[:0], c.ring[c.head:]...)
		c.head = 0
	}
}

func (c *versionCache) raise(db string, origin, seq uint64) {
	f := c.dbFloor[db]
	if f == nil {
		f = Watermark{}
		c.dbFloor[db] = f
	}
	if seq > f[origin] {
		f[origin] = seq
	}
}

// covered reports whether seen includes every version of db the cache
// does not hold.
func (c *versionCache) covered(db string, seen Watermark) bool {
	for o, s := range c.global {
		if s > seen[o] {
			return false
		}
	}
	for o, s := range c.dbFloor[db] {
		if s > seen[o] {
			return false
		}
	}
	return true
}

// forgetAll empties the cache and raises every floor to w (after a
// snapshot install wrote versions behind the cache's back).
func (c *versionCache) forgetAll(w Watermark) {
	clear(c.m)
	c.ring, c.head = nil, 0
	for o, s := range w {
		if s > c.global[o] {
			c.global[o] = s
		}
	}
}

// rowKeyDB is the database a row key (v/<db>\0…) belongs to.
func rowKeyDB(key string) string {
	if len(key) < 2 {
		return ""
	}
	if i := strings.IndexByte(key[2:], 0); i >= 0 {
		return key[2 : 2+i]
	}
	return key[2:]
}

// loadVersionFloors sets, for every database, this node's last change set
// of it (lastLocal) and the floor of the versions
// written before this start: its last entry per origin in the d/ index,
// and for all databases the trim and snapshot floors (a database whose
// entries were all trimmed is not in the index).
func (l *Log) loadVersionFloors(c *versionCache) error {
	c.global = l.floors.Clone()
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixDB, '/'}, UpperBound: []byte{prefixDB, '/' + 1}})
	if err != nil {
		return err
	}
	defer it.Close()
	for db := range l.dbs {
		for origin := range l.lastSeq {
			lo := dbKey(db, origin, 0)
			if it.SeekLT(dbKey(db, origin, math.MaxUint64)) && bytes.HasPrefix(it.Key(), lo[:len(lo)-8]) && len(it.Key()) == len(lo) {
				seq := binary.BigEndian.Uint64(it.Key()[len(lo)-8:])
				c.raise(db, origin, seq)
				if origin == l.node {
					l.lastLocal[db] = seq
				}
			}
		}
	}
	return it.Error()
}
