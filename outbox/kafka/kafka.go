// Package kafka is the outbox sink for Apache Kafka, on franz-go.
//
// Records are produced by an idempotent producer with acks=all, keyed by
// the event's Debezium key (the row's primary key), so the default
// partitioner puts every event of one row in one partition, in order.
// Each record carries its event id in the marmot.id header. Event topics
// are created by the broker on first use (auto.create.topics.enable, the
// broker's default partition count); the cursor topic is created here
// with cleanup.policy=compact, one record kept per (sink, origin).
package kafka

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/marmotdb/marmot/outbox"
)

// Options configure a Sink.
type Options struct {
	// Brokers are bootstrap host:port addresses. Required.
	Brokers []string
	// ClientID names the client in broker logs. Default "marmot".
	ClientID string
	// Extra franz-go options (tests shorten timeouts with them).
	Extra []kgo.Opt
}

// Sink produces outbox messages to Kafka. Safe for concurrent use.
type Sink struct {
	o  Options
	cl *kgo.Client
}

var _ outbox.Sink = (*Sink)(nil)

// New connects lazily: brokers are contacted on the first Publish, so a
// broker that is down at start-up delays events rather than the node.
func New(o Options) (*Sink, error) {
	if len(o.Brokers) == 0 {
		return nil, errors.New("kafka: no brokers")
	}
	if o.ClientID == "" {
		o.ClientID = "marmot"
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(o.Brokers...),
		kgo.ClientID(o.ClientID),
		kgo.RequiredAcks(kgo.AllISRAcks()), // with idempotence (franz-go's default)
		kgo.AllowAutoTopicCreation(),
		kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1 << 16),
		// A record not delivered in this long fails, so Publish reports
		// the outage and the publisher backs off instead of hanging.
		kgo.RecordDeliveryTimeout(30 * time.Second),
		kgo.RecordPartitioner(rowPartitioner{}),
	}, o.Extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: %w", err)
	}
	return &Sink{o: o, cl: cl}, nil
}

// Publish produces msgs and waits for every acknowledgement. Tombstones
// (nil Value) are produced as Kafka tombstones.
func (s *Sink) Publish(ctx context.Context, msgs []outbox.Message) error {
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = &kgo.Record{Topic: m.Topic, Key: m.Key, Value: m.Value,
			Headers: []kgo.RecordHeader{{Key: "marmot.id", Value: []byte(m.ID)}}}
		if m.PartitionKey != nil {
			recs[i].Context = context.WithValue(ctx, partitionKey{}, m.PartitionKey)
		}
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	wg.Add(len(recs))
	for _, r := range recs {
		s.cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				first = cmp.Or(first, err)
				mu.Unlock()
			}
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		// franz-go keeps buffered records until delivered; give them up
		// so the publisher can back off and send the batch again. A
		// request in flight to a dead broker may outlive the abort: its
		// records can still arrive, as duplicates with the same ids.
		actx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = s.cl.AbortBufferedRecords(actx)
		cancel()
		return fmt.Errorf("kafka: produce: %w", ctx.Err())
	}
	if first != nil {
		return fmt.Errorf("kafka: produce: %w", first)
	}
	return nil
}

// Watch reads the cursor topic from its start (compaction keeps it short),
// calls ready once it has read up to the end offsets it found, and
// follows it until ctx ends.
func (s *Sink) Watch(ctx context.Context, topic string, fn func(key, value []byte), ready func()) error {
	adm := kadm.NewClient(s.cl)
	compact := "compact"
	if _, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, topic); err != nil &&
		!errors.Is(err, kerr.TopicAlreadyExists) {
		return fmt.Errorf("kafka: create cursor topic %s: %w", topic, err)
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("kafka: end offsets of %s: %w", topic, err)
	}
	want := map[int32]int64{}
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			want[o.Partition] = o.Offset
		}
	})
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.o.Brokers...), kgo.ClientID(s.o.ClientID),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxWait(100 * time.Millisecond)}, s.o.Extra...)...)
	if err != nil {
		return fmt.Errorf("kafka: %w", err)
	}
	defer cl.Close()
	if len(want) == 0 {
		ready()
	}
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if fs.IsClientClosed() {
			return outbox.ErrClosed
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		fs.EachRecord(func(r *kgo.Record) {
			fn(r.Key, r.Value)
			if end, ok := want[r.Partition]; ok && r.Offset+1 >= end {
				delete(want, r.Partition)
				if len(want) == 0 {
					ready()
				}
			}
		})
		if ferr != nil {
			return fmt.Errorf("kafka: read %s: %w", topic, ferr)
		}
	}
}

type partitionKey struct{}

// rowPartitioner puts a record in the partition of its PartitionKey (the
// row's table and primary-key values: murmur2, as Kafka's default
// partitioner hashes keys), else of its Key. All events of one row, from
// whichever node, land in one partition, even if the key's JSON schema
// differs between them.
type rowPartitioner struct{}

func (rowPartitioner) ForTopic(string) kgo.TopicPartitioner { return rowTopicPartitioner{} }

type rowTopicPartitioner struct{}

func (rowTopicPartitioner) RequiresConsistency(*kgo.Record) bool { return true }

func (rowTopicPartitioner) Partition(r *kgo.Record, n int) int {
	key := r.Key
	if r.Context != nil {
		if pk, ok := r.Context.Value(partitionKey{}).([]byte); ok {
			key = pk
		}
	}
	return kgo.KafkaHasher(murmur2)(key, n)
}

// murmur2 is Kafka's key hash (Utils.murmur2).
func murmur2(b []byte) uint32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	h := seed ^ uint32(len(b))
	for len(b) >= 4 {
		k := uint32(b[3])<<24 | uint32(b[2])<<16 | uint32(b[1])<<8 | uint32(b[0])
		b = b[4:]
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch len(b) {
	case 3:
		h ^= uint32(b[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(b[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(b[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}

// Close flushes nothing: Publish already waited for its records.
func (s *Sink) Close() error {
	s.cl.Close()
	return nil
}
