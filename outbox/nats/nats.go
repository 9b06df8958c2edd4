// Package nats is the outbox sink for NATS, on nats.go.
//
// Each event goes to the subject {prefix}.{db}.{table}. When a JetStream
// stream captures the subject, the event is published to JetStream with
// its id as Nats-Msg-Id (the stream drops a duplicate within its
// duplicate window) and Publish waits for the stream's acknowledgement;
// otherwise it is a core NATS publish, confirmed by a flush round trip
// (delivered to the subscribers present, at most once). Tombstones are
// not sent: NATS has no log compaction for them to drive.
//
// Cursor records go to {cursor topic}.{sink}.{origin} (names reduced to
// NATS token characters); with a JetStream stream on those subjects a
// restarted node reads the last one per subject, without one it learns
// positions as they are published.
package nats

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/marmotdb/marmot/outbox"
)

// KeyHeader carries the message key (the Debezium key JSON for events):
// NATS messages have no key of their own.
const KeyHeader = "Marmot-Key"

// Options configure a Sink.
type Options struct {
	// URL is the server URL, e.g. nats://localhost:4222 (comma-separated
	// for a cluster). Required.
	URL string
	// Name names the connection in server monitoring. Default "marmot".
	Name string
	// StreamCacheTTL is how long the publisher remembers which subjects a
	// JetStream stream captures; a stream created later is used after at
	// most this long. Default 10s.
	StreamCacheTTL time.Duration
}

// Sink publishes outbox messages to NATS. Safe for concurrent use.
type Sink struct {
	o  Options
	nc *nats.Conn
	js jetstream.JetStream

	mu      sync.Mutex
	streams map[string]streamEntry // subject -> capturing stream ("" none)
}

type streamEntry struct {
	name    string
	checked time.Time
}

var _ outbox.Sink = (*Sink)(nil)

// New connects; a server that is down at start-up is retried in the
// background (publishes fail until it is up).
func New(o Options) (*Sink, error) {
	if o.URL == "" {
		return nil, errors.New("nats: no URL")
	}
	if o.Name == "" {
		o.Name = "marmot"
	}
	if o.StreamCacheTTL <= 0 {
		o.StreamCacheTTL = 10 * time.Second
	}
	nc, err := nats.Connect(o.URL, nats.Name(o.Name), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond), nats.ReconnectBufSize(-1))
	if err != nil {
		return nil, fmt.Errorf("nats: connect %s: %w", o.URL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	return &Sink{o: o, nc: nc, js: js, streams: map[string]streamEntry{}}, nil
}

// Subject is where m is published.
func Subject(m outbox.Message) string {
	if m.Cursor {
		return m.Topic + "." + token(string(m.Key))
	}
	return m.Topic
}

// token makes s one subject token: characters NATS gives meaning to
// (separators, wildcards, whitespace) become '_'.
func token(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '.', '*', '>', ' ', '\t', '\r', '\n':
			return '_'
		}
		return r
	}, s)
}

// stream returns the JetStream stream capturing subject, "" if none.
func (s *Sink) stream(ctx context.Context, subject string) (string, error) {
	s.mu.Lock()
	e, ok := s.streams[subject]
	s.mu.Unlock()
	if ok && time.Since(e.checked) < s.o.StreamCacheTTL {
		return e.name, nil
	}
	name, err := s.js.StreamNameBySubject(ctx, subject)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrJetStreamNotEnabled),
		errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount):
		name = ""
	case err != nil:
		return "", fmt.Errorf("nats: find stream for %s: %w", subject, err)
	}
	s.mu.Lock()
	s.streams[subject] = streamEntry{name: name, checked: time.Now()}
	s.mu.Unlock()
	return name, nil
}

// Publish sends msgs and waits until JetStream acknowledged the stream
// publishes and the server received the core ones.
func (s *Sink) Publish(ctx context.Context, msgs []outbox.Message) error {
	if s.nc.IsClosed() {
		return outbox.ErrClosed
	}
	if !s.nc.IsConnected() {
		return fmt.Errorf("nats: not connected (%s)", s.nc.Status())
	}
	var acks []jetstream.PubAckFuture
	core := false
	for _, m := range msgs {
		if m.Value == nil {
			continue
		}
		subj := Subject(m)
		stream, err := s.stream(ctx, subj)
		if err != nil {
			return err
		}
		msg := &nats.Msg{Subject: subj, Data: m.Value, Header: nats.Header{}}
		msg.Header.Set(jetstream.MsgIDHeader, m.ID)
		msg.Header.Set(KeyHeader, string(m.Key))
		if stream == "" {
			if err := s.nc.PublishMsg(msg); err != nil {
				return fmt.Errorf("nats: publish %s: %w", subj, err)
			}
			core = true
			continue
		}
		f, err := s.js.PublishMsgAsync(msg, jetstream.WithExpectStream(stream))
		if err != nil {
			return fmt.Errorf("nats: publish %s: %w", subj, err)
		}
		acks = append(acks, f)
	}
	for _, f := range acks {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("nats: jetstream publish %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return fmt.Errorf("nats: jetstream ack: %w", ctx.Err())
		}
	}
	if core {
		if err := s.nc.FlushWithContext(ctx); err != nil {
			return fmt.Errorf("nats: flush: %w", err)
		}
	}
	return nil
}

// Watch subscribes to topic.>; if a JetStream stream holds those subjects
// it first delivers the last record of each.
func (s *Sink) Watch(ctx context.Context, topic string, fn func(key, value []byte), ready func()) error {
	ch := make(chan *nats.Msg, 1024)
	sub, err := s.nc.ChanSubscribe(topic+".>", ch)
	if err != nil {
		return fmt.Errorf("nats: subscribe %s.>: %w", topic, err)
	}
	defer sub.Unsubscribe()
	key := func(subject string, h nats.Header) []byte {
		if k := h.Get(KeyHeader); k != "" {
			return []byte(k)
		}
		return []byte(strings.TrimPrefix(subject, topic+"."))
	}
	if name, err := s.stream(ctx, topic+".x.0"); err == nil && name != "" {
		st, err := s.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("nats: stream %s: %w", name, err)
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(topic+".>"))
		if err != nil {
			return fmt.Errorf("nats: stream %s: %w", name, err)
		}
		for subj := range info.State.Subjects {
			m, err := st.GetLastMsgForSubject(ctx, subj)
			if err != nil {
				continue // purged meanwhile
			}
			fn(key(subj, m.Header), m.Data)
		}
	}
	ready()
	for {
		select {
		case m := <-ch:
			fn(key(m.Subject, m.Header), m.Data)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close drains nothing: Publish already waited for its messages.
func (s *Sink) Close() error {
	s.nc.Close()
	return nil
}
