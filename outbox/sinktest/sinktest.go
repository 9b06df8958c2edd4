// Package sinktest is the contract every outbox.Sink must meet, run by
// each sink's tests against its real broker (in process): the memory
// sink, Kafka on kfake, NATS on nats-server.
package sinktest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/marmotdb/marmot/outbox"
)

// Harness is one sink on a fresh broker, and what the suite needs to look
// at the broker.
type Harness struct {
	Sink outbox.Sink
	// Read returns the messages the broker holds (or delivered to a
	// subscriber started before the test published) on topic, waiting
	// until it has at least n or the test's patience runs out. Key, Value
	// and ID must be filled (ID from the header the sink sets).
	Read func(t *testing.T, topic string, n int) []outbox.Message
	// Tombstones: the broker stores tombstones (Kafka); others drop them.
	Tombstones bool
	// HoldsCursors: Watch replays cursor records published before it
	// started (Kafka, JetStream); core NATS only sees new ones.
	HoldsCursors bool
	// Down and Up stop and restart the broker; nil skips the outage test.
	Down, Up func(t *testing.T)
}

// Run runs the contract; newHarness makes a fresh sink and broker per test.
func Run(t *testing.T, newHarness func(t *testing.T) *Harness) {
	t.Run("OrderPerKeyAndIDs", func(t *testing.T) { testOrder(t, newHarness(t)) })
	t.Run("WatchCursorRecords", func(t *testing.T) { testWatch(t, newHarness(t)) })
	t.Run("BrokerOutage", func(t *testing.T) {
		h := newHarness(t)
		if h.Down == nil {
			t.Skip("harness cannot stop its broker")
		}
		testOutage(t, h)
	})
	t.Run("Closed", func(t *testing.T) {
		h := newHarness(t)
		h.Sink.Close()
		if err := h.Sink.Publish(ctx(t, 5*time.Second), []outbox.Message{msg("t.db.x", "k", 1)}); err == nil {
			t.Fatal("Publish after Close succeeded")
		}
	})
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return c
}

func msg(topic, key string, n int) outbox.Message {
	return outbox.Message{Topic: topic, Key: []byte(key), Value: fmt.Appendf(nil, `{"key":%q,"n":%d}`, key, n), ID: fmt.Sprintf("%s:%d", key, n)}
}

func testOrder(t *testing.T, h *Harness) {
	const topic = "marmot.cdc.db.users"
	var sent []outbox.Message
	for batch := range 5 {
		var msgs []outbox.Message
		for i := range 20 {
			n := batch*20 + i
			msgs = append(msgs, msg(topic, fmt.Sprint("k", n%3), n))
		}
		if batch == 4 {
			msgs = append(msgs, outbox.Message{Topic: topic, Key: []byte("k0"), ID: "k0:tomb"})
		}
		if err := h.Sink.Publish(ctx(t, 30*time.Second), msgs); err != nil {
			t.Fatalf("Publish batch %d: %v", batch, err)
		}
		sent = append(sent, msgs...)
	}
	want := sent
	if !h.Tombstones {
		want = slices.DeleteFunc(slices.Clone(sent), func(m outbox.Message) bool { return m.Value == nil })
	}
	got := h.Read(t, topic, len(want))
	if len(got) != len(want) {
		t.Fatalf("read %d messages, want %d", len(got), len(want))
	}
	perKey := func(ms []outbox.Message) map[string][]string {
		out := map[string][]string{}
		for _, m := range ms {
			out[string(m.Key)] = append(out[string(m.Key)], m.ID+"="+string(m.Value))
		}
		return out
	}
	g, w := perKey(got), perKey(want)
	for k := range w {
		if !slices.Equal(g[k], w[k]) {
			t.Errorf("key %s: got\n%v\nwant\n%v", k, g[k], w[k])
		}
	}
}

func testWatch(t *testing.T, h *Harness) {
	const topic = "marmot.cdc.__marmot_cursor"
	rec := func(origin, seq int) outbox.Message {
		return outbox.Message{Topic: topic, Key: fmt.Appendf(nil, "s.%d", origin), Cursor: true,
			Value: fmt.Appendf(nil, `{"origin":%d,"seq":%d}`, origin, seq), ID: fmt.Sprintf("c%d:%d", origin, seq)}
	}
	if err := h.Sink.Publish(ctx(t, 30*time.Second), []outbox.Message{rec(1, 1), rec(1, 2), rec(2, 7)}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]string{}
	ready := make(chan struct{})
	c, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- h.Sink.Watch(c, topic, func(k, v []byte) {
			mu.Lock()
			seen[string(k)] = string(v)
			mu.Unlock()
		}, func() { close(ready) })
	}()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("Watch never ready")
	}
	if h.HoldsCursors {
		mu.Lock()
		if seen["s.1"] != `{"origin":1,"seq":2}` || seen["s.2"] != `{"origin":2,"seq":7}` {
			t.Errorf("replayed %v, want the last record per key", seen)
		}
		mu.Unlock()
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := h.Sink.Publish(ctx(t, 30*time.Second), []outbox.Message{rec(1, 3)}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := seen["s.1"]
		mu.Unlock()
		if got == `{"origin":1,"seq":3}` {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("new record not delivered: %v", seen)
		}
		time.Sleep(50 * time.Millisecond) // the subscription may still be starting
	}
}

func testOutage(t *testing.T, h *Harness) {
	const topic = "marmot.cdc.db.t"
	if err := h.Sink.Publish(ctx(t, 30*time.Second), []outbox.Message{msg(topic, "a", 0)}); err != nil {
		t.Fatal(err)
	}
	h.Down(t)
	if err := h.Sink.Publish(ctx(t, 3*time.Second), []outbox.Message{msg(topic, "a", 1)}); err == nil {
		t.Fatal("Publish to a stopped broker succeeded")
	}
	h.Up(t)
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := h.Sink.Publish(ctx(t, 5*time.Second), []outbox.Message{msg(topic, "a", 2)})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish after the broker came back: %v", err)
		}
	}
}
