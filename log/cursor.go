package log

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/cockroachdb/pebble/v2"
)

// Cursors are named watermarks that readers of the log persist beside it:
// the outbox keeps one per sink (what that sink has been sent), and garbage
// collection must not trim a change set a cursor has not passed.
//
//	m/cursor/<name>  ->  (<origin:8><seq:8>)*   origins ascending
//
// A cursor is a Watermark, not an HLC position: change sets of different
// origins become durable out of HLC order (a replicated one may carry an
// older HLC than one already read), and only a per-origin sequence names
// an exact set.
const cursorPrefix = "m/cursor/"

func cursorKey(name string) []byte { return append([]byte(cursorPrefix), name...) }

// SetCursor stores the cursor name. It is written without an fsync: a
// cursor only ever lags what its reader handled, so losing its last update
// in a power failure makes the reader repeat work, never skip it.
func (l *Log) SetCursor(name string, w Watermark) error {
	if name == "" {
		return errors.New("log: cursor needs a name")
	}
	b := make([]byte, 0, 16*len(w))
	for _, o := range sortedOrigins(w) {
		b = binary.BigEndian.AppendUint64(b, o)
		b = binary.BigEndian.AppendUint64(b, w[o])
	}
	if err := l.db.Set(cursorKey(name), b, pebble.NoSync); err != nil {
		return fmt.Errorf("log: set cursor %s: %w", name, err)
	}
	return nil
}

// Cursor returns the stored cursor name; an empty watermark and false if
// there is none.
func (l *Log) Cursor(name string) (Watermark, bool, error) {
	v, closer, err := l.db.Get(cursorKey(name))
	if errors.Is(err, pebble.ErrNotFound) {
		return Watermark{}, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("log: read cursor %s: %w", name, err)
	}
	defer closer.Close()
	w, err := decodeCursor(v)
	return w, err == nil, err
}

// DeleteCursor removes the cursor name, so it no longer holds back GC.
func (l *Log) DeleteCursor(name string) error {
	return l.db.Delete(cursorKey(name), pebble.NoSync)
}

// Cursors returns every stored cursor by name. Garbage collection keeps
// each change set some cursor does not cover (CursorFloor).
func (l *Log) Cursors() (map[string]Watermark, error) {
	lower := []byte(cursorPrefix)
	upper := append(bytes.Clone(lower[:len(lower)-1]), '/'+1)
	it, err := l.db.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	out := map[string]Watermark{}
	for ok := it.First(); ok; ok = it.Next() {
		w, err := decodeCursor(it.Value())
		if err != nil {
			return nil, fmt.Errorf("%w: cursor %q", err, it.Key())
		}
		out[string(it.Key()[len(cursorPrefix):])] = w
	}
	return out, it.Error()
}

// CursorFloor is, per origin, the lowest sequence every stored cursor has
// passed: change sets above it are still needed by some reader. An origin
// a cursor does not list counts as 0 for that cursor; with no cursors the
// floor is nil (nothing is held back).
func (l *Log) CursorFloor() (Watermark, error) {
	all, err := l.Cursors()
	if err != nil || len(all) == 0 {
		return nil, err
	}
	origins := map[uint64]bool{}
	for _, w := range all {
		for o := range w {
			origins[o] = true
		}
	}
	floor := Watermark{}
	for o := range origins {
		low := ^uint64(0)
		for _, w := range all {
			low = min(low, w[o])
		}
		floor[o] = low
	}
	return floor, nil
}

func decodeCursor(b []byte) (Watermark, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("%w: cursor of %d bytes", ErrCorrupt, len(b))
	}
	w := make(Watermark, len(b)/16)
	for ; len(b) > 0; b = b[16:] {
		w[binary.BigEndian.Uint64(b)] = binary.BigEndian.Uint64(b[8:])
	}
	return w, nil
}

func sortedOrigins(w Watermark) []uint64 {
	return slices.Sorted(maps.Keys(w))
}
