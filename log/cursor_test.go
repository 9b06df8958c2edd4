package log

import (
	"reflect"
	"testing"
)

func TestCursorsPersist(t *testing.T) {
	dir := t.TempDir()
	l := mustOpen(t, Options{Dir: dir, NodeID: 1})
	if w, ok, err := l.Cursor("kafka"); err != nil || ok || len(w) != 0 {
		t.Fatalf("missing cursor = %v, %v, %v", w, ok, err)
	}
	if err := l.SetCursor("kafka", Watermark{2: 7, 1: 9}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetCursor("nats", Watermark{1: 3}); err != nil {
		t.Fatal(err)
	}
	if err := l.SetCursor("", Watermark{}); err == nil {
		t.Fatal("unnamed cursor accepted")
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	l = mustOpen(t, Options{Dir: dir})
	w, ok, err := l.Cursor("kafka")
	if err != nil || !ok || !reflect.DeepEqual(w, Watermark{1: 9, 2: 7}) {
		t.Fatalf("cursor after reopen = %v, %v, %v", w, ok, err)
	}
	all, err := l.Cursors()
	if err != nil || len(all) != 2 || !reflect.DeepEqual(all["nats"], Watermark{1: 3}) {
		t.Fatalf("Cursors = %v, %v", all, err)
	}
	floor, err := l.CursorFloor()
	if err != nil || !reflect.DeepEqual(floor, Watermark{1: 3, 2: 0}) {
		t.Fatalf("CursorFloor = %v, %v (nats has not read origin 2)", floor, err)
	}
	if err := l.DeleteCursor("nats"); err != nil {
		t.Fatal(err)
	}
	if floor, _ := l.CursorFloor(); !reflect.DeepEqual(floor, Watermark{1: 9, 2: 7}) {
		t.Fatalf("CursorFloor after delete = %v", floor)
	}
	// Cursors live under m/: they must not disturb the node's own metadata.
	if l.Node() != 1 {
		t.Fatalf("node = %d", l.Node())
	}
}
