package log

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// Floors record, per origin, the sequence up to which this log no longer
// holds (or never held) change sets: garbage collection trimmed them, or an
// installed snapshot stands in for them. Sequences stay gap-free above the
// floor, and a reader asking for anything at or below it is told so
// (TrimmedError) instead of silently getting a partial history: that
// reader needs a snapshot.
//
//	m/floor/<origin:8>  ->  seq
const floorPrefix = "m/floor/"

func floorKey(origin uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(floorPrefix), origin)
}

// TrimmedError: the change sets a reader asked for are below the log's
// floor for that origin.
type TrimmedError struct {
	Origin, After, Floor uint64
}

func (e *TrimmedError) Error() string {
	return fmt.Sprintf("log: change sets of origin %d after %d are trimmed up to %d; a snapshot is needed", e.Origin, e.After, e.Floor)
}

// ErrTrimmed matches every *TrimmedError with errors.Is.
var ErrTrimmed = errors.New("log: trimmed")

// Is makes errors.Is(err, ErrTrimmed) true.
func (e *TrimmedError) Is(target error) bool { return target == ErrTrimmed }

func (l *Log) loadFloors() error {
	lower := []byte(floorPrefix)
	upper := append(bytes.Clone(lower[:len(lower)-1]), '/'+1)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return err
	}
	defer it.Close()
	l.floors = Watermark{}
	for ok := it.First(); ok; ok = it.Next() {
		k, v := it.Key(), it.Value()
		if len(k) != len(floorPrefix)+8 || len(v) != 8 {
			return fmt.Errorf("%w: floor key %x", ErrCorrupt, k)
		}
		o, seq := binary.BigEndian.Uint64(k[len(floorPrefix):]), binary.BigEndian.Uint64(v)
		l.floors[o] = seq
		l.lastSeq[o] = max(l.lastSeq[o], seq)
	}
	return it.Error()
}

// Floors returns a copy of the per-origin floors.
func (l *Log) Floors() Watermark {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.floors.Clone()
}

func (l *Log) checkFloor(origin, after uint64) error {
	l.mu.Lock()
	f := l.floors[origin]
	l.mu.Unlock()
	if after < f {
		return &TrimmedError{Origin: origin, After: after, Floor: f}
	}
	return nil
}

// EntryTime returns the commit time of change set (origin, seq); false if
// the log does not hold it.
func (l *Log) EntryTime(origin, seq uint64) (time.Time, bool) {
	b, closer, err := l.db.Get(originKey(origin, seq))
	if err != nil {
		return time.Time{}, false
	}
	defer closer.Close()
	ts, err := DecodeTimestamp(b)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ts.WallMS), true
}

// Trim deletes origin's change sets with sequence <= upto and raises the
// floor to upto, atomically. Row versions stay: they are the tombstones and
// last-writer-wins state, not history. It returns how many entries went.
// Only durable entries may be trimmed.
func (l *Log) Trim(origin, upto uint64) (int, error) {
	l.mu.Lock()
	if err := l.usable(); err != nil {
		l.mu.Unlock()
		return 0, err
	}
	upto = min(upto, l.durable[origin])
	from := l.floors[origin]
	l.mu.Unlock()
	if upto <= from {
		return 0, nil
	}
	n := 0
	for from < upto {
		// Bounded batches keep a large first GC from building one huge batch.
		b := l.db.NewBatch()
		last := from
		it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: originKey(origin, from+1), UpperBound: originKey(origin, upto+1)})
		if err != nil {
			b.Close()
			return n, err
		}
		count := 0
		for ok := it.First(); ok && count < 1000; ok = it.Next() {
			seq := binary.BigEndian.Uint64(it.Key()[10:])
			ts, err := DecodeTimestamp(it.Value())
			if err != nil {
				it.Close()
				b.Close()
				return n, err
			}
			ek := entryKey(ts)
			if v, closer, err := l.db.Get(ek); err == nil {
				if cs, err := decodeChangeSet(v); err == nil {
					_ = b.Delete(dbKey(cs.Database, origin, seq), nil)
				}
				closer.Close()
			}
			_ = b.Delete(ek, nil)
			_ = b.Delete(bytes.Clone(it.Key()), nil)
			last = seq
			count++
		}
		err = it.Close()
		if err != nil {
			b.Close()
			return n, err
		}
		if count < 1000 {
			last = upto
		}
		_ = b.Set(floorKey(origin), binary.BigEndian.AppendUint64(nil, last), nil)
		if err := b.Commit(pebble.Sync); err != nil {
			b.Close()
			return n, err
		}
		b.Close()
		l.mu.Lock()
		l.floors[origin] = max(l.floors[origin], last)
		l.mu.Unlock()
		n += count
		from = last
	}
	return n, nil
}

// DiskSize is the log's size on disk in bytes.
func (l *Log) DiskSize() uint64 {
	return l.db.Metrics().DiskSpaceUsage()
}

// Snapshot support. A snapshot is the SQLite views plus the row versions
// plus the watermark they reflect. ExportVersions writes the versions;
// InstallSnapshot merges them into another node's log and moves its floors
// up to the watermark, so its sequences continue above what the snapshot
// covers.

// ExportVersions writes every row version to w as (uvarint len, key,
// uvarint len, value) records, from a consistent Pebble snapshot taken now:
// versions only move forward, so a caller that copied the views first gets
// versions at least as new as the views.
func (l *Log) ExportVersions(w io.Writer) (int, error) {
	snap := l.db.NewSnapshot()
	defer snap.Close()
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: []byte{prefixVersion, '/'}, UpperBound: []byte{prefixVersion, '/' + 1}})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	bw := bufio.NewWriterSize(w, 256<<10)
	n := 0
	var hdr [binary.MaxVarintLen64]byte
	for ok := it.First(); ok; ok = it.Next() {
		for _, b := range [][]byte{it.Key(), it.Value()} {
			if _, err := bw.Write(hdr[:binary.PutUvarint(hdr[:], uint64(len(b)))]); err != nil {
				return n, err
			}
			if _, err := bw.Write(b); err != nil {
				return n, err
			}
		}
		n++
	}
	if err := it.Error(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// InstallSnapshot merges exported versions (a newer version wins, so a
// node's own later writes survive) and raises, for every origin this log is
// behind on, both its floor and its sequence to the snapshot's watermark.
// It is idempotent, so an install interrupted by a crash is simply redone.
// The caller replaces the views afterwards.
func (l *Log) InstallSnapshot(at Watermark, versions io.Reader) error {
	br := bufio.NewReaderSize(versions, 256<<10)
	readRec := func() ([]byte, error) {
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		if n > 64<<20 {
			return nil, fmt.Errorf("%w: version record of %d bytes", ErrCorrupt, n)
		}
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		return b, err
	}
	// l.mu is held throughout, from a moment when no append is queued or
	// being written: a queued append carries the version it computed
	// before the merge and would overwrite a newer one from the snapshot.
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		if err := l.usable(); err != nil {
			return err
		}
		if len(l.queue) == 0 && len(l.inflight) == 0 {
			break
		}
		ch := l.changed
		l.mu.Unlock()
		<-ch
		l.mu.Lock()
	}
	// Versions are written behind the version cache's back.
	l.vc.forgetAll(at)
	l.vc.forgetAll(l.lastSeq)
	b := l.db.NewBatch()
	count := 0
	flush := func() error {
		if err := b.Commit(pebble.Sync); err != nil {
			return err
		}
		b.Close()
		b = l.db.NewBatch()
		count = 0
		return nil
	}
	defer func() { b.Close() }()
	for {
		k, err := readRec()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("log: read snapshot versions: %w", err)
		}
		v, err := readRec()
		if err != nil {
			return fmt.Errorf("log: read snapshot versions: %w", err)
		}
		if len(k) < 2 || k[0] != prefixVersion {
			return fmt.Errorf("%w: snapshot version key %x", ErrCorrupt, k)
		}
		in, err := decodeVersion(v)
		if err != nil {
			return err
		}
		cur, ok, err := l.versionLocked(string(k))
		if err != nil {
			return err
		}
		if ok && !in.Newer(cur) {
			continue
		}
		if err := b.Set(k, v, nil); err != nil {
			return err
		}
		if count++; count >= 10000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	for o, seq := range at {
		if seq <= l.lastSeq[o] {
			continue
		}
		if err := b.Set(floorKey(o), binary.BigEndian.AppendUint64(nil, seq), nil); err != nil {
			return err
		}
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return err
	}
	for o, seq := range at {
		if seq <= l.lastSeq[o] {
			continue
		}
		l.floors[o] = seq
		l.lastSeq[o] = seq
		l.durable[o] = seq
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return nil
}

// LastInDatabase is the highest sequence of origin's change sets for db that
// is at most upto and still in the log; false if there is none.
func (l *Log) LastInDatabase(db string, origin, upto uint64) (uint64, bool, error) {
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: dbKey(db, origin, 0), UpperBound: dbKey(db, origin, upto+1)})
	if err != nil {
		return 0, false, err
	}
	defer it.Close()
	if !it.Last() {
		return 0, false, it.Error()
	}
	k := it.Key()
	return binary.BigEndian.Uint64(k[len(k)-8:]), true, nil
}
