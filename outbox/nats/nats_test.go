package nats

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/sinktest"
)

// StartServer runs an in-process nats-server with JetStream on loopback;
// port -1 picks a free one.
func StartServer(t testing.TB, port int, dir string) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	return s
}

// CreateStream makes a JetStream stream capturing subjects.
func CreateStream(t testing.TB, url, name string, subjects ...string) {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: subjects, Duplicates: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

// ReadStream reads subject's messages from the start of the stream that
// holds it, until it has n.
func ReadStream(t testing.TB, url, subject string, n int) []outbox.Message {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	name, err := js.StreamNameBySubject(ctx, subject)
	if err != nil {
		t.Fatal(err)
	}
	c, err := js.OrderedConsumer(ctx, name, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []outbox.Message
	for len(out) < n && ctx.Err() == nil {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(time.Second))
		if err != nil {
			continue
		}
		for m := range batch.Messages() {
			out = append(out, outbox.Message{Topic: m.Subject(), Value: m.Data(), ID: m.Headers().Get(jetstream.MsgIDHeader),
				Key: []byte(m.Headers().Get(KeyHeader))})
		}
	}
	return out
}

func TestNATSJetStreamSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Harness {
		dir := t.TempDir()
		srv := StartServer(t, -1, dir)
		url := srv.ClientURL()
		port := srv.Addr().(*net.TCPAddr).Port
		CreateStream(t, url, "CDC", "marmot.cdc.>")
		s, err := New(Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(); srv.Shutdown() })
		return &sinktest.Harness{Sink: s, HoldsCursors: true,
			Read: func(t *testing.T, topic string, n int) []outbox.Message { return ReadStream(t, url, topic, n) },
			Down: func(*testing.T) { srv.Shutdown(); srv.WaitForShutdown() },
			Up: func(t *testing.T) {
				srv = StartServer(t, port, dir)
			}}
	})
}

// TestNATSCoreSinkContract: no stream captures the subjects, so the sink
// publishes on core NATS; Read is a subscription opened before the test
// publishes.
func TestNATSCoreSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Harness {
		dir := t.TempDir()
		srv := StartServer(t, -1, dir)
		url := srv.ClientURL()
		port := srv.Addr().(*net.TCPAddr).Port
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		got := map[string][]outbox.Message{}
		if _, err := nc.Subscribe(">", func(m *nats.Msg) {
			mu.Lock()
			got[m.Subject] = append(got[m.Subject], outbox.Message{Topic: m.Subject, Value: m.Data, ID: m.Header.Get(jetstream.MsgIDHeader), Key: []byte(m.Header.Get(KeyHeader))})
			mu.Unlock()
		}); err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(); nc.Close(); srv.Shutdown() })
		return &sinktest.Harness{Sink: s,
			Read: func(t *testing.T, topic string, n int) []outbox.Message {
				deadline := time.Now().Add(10 * time.Second)
				for {
					mu.Lock()
					out := append([]outbox.Message(nil), got[topic]...)
					mu.Unlock()
					if len(out) >= n || time.Now().After(deadline) {
						return out
					}
					time.Sleep(time.Millisecond)
				}
			},
			Down: func(*testing.T) { srv.Shutdown(); srv.WaitForShutdown() },
			Up: func(t *testing.T) {
				srv = StartServer(t, port, dir)
			}}
	})
}
