package kafka

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/sinktest"
)

// startKafka runs an in-process Kafka (kfake) on a fixed loopback port, so
// a test can stop it and start it again where the client expects it.
func startKafka(t *testing.T, port int) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, "127.0.0.1:"+strconv.Itoa(port))
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ReadTopic consumes topic from its start until it has n records.
func ReadTopic(t *testing.T, brokers []string, topic string, n int) []outbox.Message {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []outbox.Message
	for len(out) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			m := outbox.Message{Topic: r.Topic, Key: r.Key, Value: r.Value}
			for _, h := range r.Headers {
				if h.Key == "marmot.id" {
					m.ID = string(h.Value)
				}
			}
			out = append(out, m)
		})
	}
	return out
}

func TestKafkaSinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Harness {
		port := freePort(t)
		cluster := startKafka(t, port)
		t.Cleanup(func() { cluster.Close() })
		brokers := []string{"127.0.0.1:" + strconv.Itoa(port)}
		var down atomic.Bool
		// A broker that is down: every request closes the connection
		// (kfake cannot restart with its data).
		cluster.Control(func(kmsg.Request) (kmsg.Response, error, bool) {
			cluster.KeepControl()
			if down.Load() {
				return nil, errors.New("broker down"), true
			}
			return nil, nil, false
		})
		s, err := New(Options{Brokers: brokers, Extra: []kgo.Opt{kgo.RetryTimeout(2 * time.Second)}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return &sinktest.Harness{Sink: s, Tombstones: true, HoldsCursors: true,
			Read: func(t *testing.T, topic string, n int) []outbox.Message { return ReadTopic(t, brokers, topic, n) },
			Down: func(*testing.T) { down.Store(true) },
			Up:   func(*testing.T) { down.Store(false) }}
	})
}
