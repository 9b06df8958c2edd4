package outbox

import (
	"context"
	"errors"
	"sync"
)

// Sink is a destination: Kafka (outbox/kafka), NATS (outbox/nats), or
// Memory in tests.
//
// Publish and Watch are called from different goroutines; each is called
// by one goroutine at a time.
type Sink interface {
	// Publish delivers msgs and returns nil only once the broker has
	// acknowledged every one of them. Messages with the same Topic and
	// Key must be stored in the order given. On error some messages may
	// have been delivered: the publisher sends the whole batch again
	// (with the same IDs). A nil Value is a tombstone; a sink without
	// log compaction may drop it.
	Publish(ctx context.Context, msgs []Message) error

	// Watch delivers the records published to the cursor topic (by any
	// node, this one included) to fn: first those the broker still holds
	// (at least the latest per key, if it keeps any), then new ones as
	// they arrive, until ctx ends. It calls ready once after the held
	// records, or at once if the sink holds none. fn and ready run on
	// Watch's goroutine; key is the record's Key.
	Watch(ctx context.Context, topic string, fn func(key, value []byte), ready func()) error

	// Close releases the connection; pending Publish calls fail.
	Close() error
}

// ErrClosed: the sink was closed.
var ErrClosed = errors.New("outbox: sink closed")

// Memory is an in-process sink for tests: it keeps every message it
// acknowledged, in order, and can be told to fail.
type Memory struct {
	mu      sync.Mutex
	msgs    []Message
	fail    error
	changed chan struct{}
	closed  bool
}

// NewMemory returns an empty memory sink.
func NewMemory() *Memory { return &Memory{changed: make(chan struct{})} }

// Publish stores msgs, or returns the error set by Fail.
func (m *Memory) Publish(ctx context.Context, msgs []Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case m.closed:
		return ErrClosed
	case m.fail != nil:
		return m.fail
	case ctx.Err() != nil:
		return ctx.Err()
	}
	m.msgs = append(m.msgs, msgs...)
	close(m.changed)
	m.changed = make(chan struct{})
	return nil
}

// Fail makes Publish return err until Fail(nil): a broker that is down.
func (m *Memory) Fail(err error) {
	m.mu.Lock()
	m.fail = err
	m.mu.Unlock()
}

// Messages returns a copy of everything acknowledged so far.
func (m *Memory) Messages() []Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Message(nil), m.msgs...)
}

// Watch replays and then follows the messages of topic.
func (m *Memory) Watch(ctx context.Context, topic string, fn func(key, value []byte), ready func()) error {
	next := 0
	first := true
	for {
		m.mu.Lock()
		msgs, ch, closed := m.msgs[next:], m.changed, m.closed
		next = len(m.msgs)
		m.mu.Unlock()
		if closed {
			return ErrClosed
		}
		for _, msg := range msgs {
			if msg.Topic == topic {
				fn(msg.Key, msg.Value)
			}
		}
		if first {
			first = false
			ready()
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close makes later calls fail.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.closed {
		m.closed = true
		close(m.changed)
	}
	return nil
}
