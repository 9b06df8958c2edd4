// Package bench measures outbox throughput against the real in-process
// brokers: a backlog of row changes in the log, published to kfake and to
// nats-server (JetStream) from a fresh cursor.
//
//	MARMOT_OUTBOX_BACKLOG=1000000 go test -tags "sqlite_preupdate_hook sqlite_math_functions" \
//	    -run XXX -bench Backlog -benchtime 1x ./outbox/bench/
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/twmb/franz-go/pkg/kfake"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/kafka"
	"github.com/marmotdb/marmot/outbox/nats"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

// backlog fills a log with rows row changes, 10 per change set, in a
// table (id BIGINT PK, name TEXT, qty INT, price DOUBLE).
func backlog(b *testing.B, rows int) *txlog.Log {
	l, err := txlog.Open(txlog.Options{Dir: b.TempDir(), NodeID: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	sets := rows / 10
	var wg sync.WaitGroup
	next := make(chan int, 1024)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cs := &marmotv1.ChangeSet{Id: fmt.Appendf(nil, "%016x", rand.Uint64()), Database: "shop"}
				for r := range 10 {
					id := int64(i*10 + r)
					cs.Rows = append(cs.Rows, &marmotv1.RowChange{Table: "items", Op: marmotv1.Op_OP_INSERT,
						Pk: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}}, Columns: []string{"id", "name", "qty", "price"},
						After: []*marmotv1.Value{{Kind: &marmotv1.Value_Int{Int: id}}, {Kind: &marmotv1.Value_Text{Text: fmt.Appendf(nil, "item-%d", id)}},
							{Kind: &marmotv1.Value_Int{Int: id % 100}}, {Kind: &marmotv1.Value_Real{Real: float64(id) / 7}}}})
				}
				if err := l.Commit(context.Background(), cs, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	for i := range sets {
		next <- i
	}
	close(next)
	wg.Wait()
	return l
}

func backlogSize() int {
	if n, err := strconv.Atoi(os.Getenv("MARMOT_OUTBOX_BACKLOG")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func BenchmarkBacklog(b *testing.B) {
	rows := backlogSize()
	l := backlog(b, rows)
	sinks := map[string]func(b *testing.B) outbox.Sink{
		"kfake": func(b *testing.B) outbox.Sink {
			c, err := kfake.NewCluster(kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3),
				kfake.ListenFn(func(network, _ string) (net.Listener, error) { return net.Listen(network, "127.0.0.1:0") }))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(c.Close)
			s, err := kafka.New(kafka.Options{Brokers: c.ListenAddrs()})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"nats-jetstream": func(b *testing.B) outbox.Sink {
			srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoLog: true, NoSigs: true})
			if err != nil {
				b.Fatal(err)
			}
			srv.Start()
			b.Cleanup(srv.Shutdown)
			if !srv.ReadyForConnections(10 * time.Second) {
				b.Fatal("nats not ready")
			}
			nc, err := natsgo.Connect(srv.ClientURL())
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			js, _ := jetstream.New(nc)
			if _, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "CDC", Subjects: []string{"marmot.cdc.>"}}); err != nil {
				b.Fatal(err)
			}
			s, err := nats.New(nats.Options{URL: srv.ClientURL()})
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"kfake", "nats-jetstream"} {
		for _, batch := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					sink := sinks[name](b)
					p, err := outbox.New(outbox.Options{Name: strings.ReplaceAll(fmt.Sprintf("bench-%s-%d-%d", name, batch, i), "-", "_"), Sink: sink, Log: l, BatchSize: batch})
					if err != nil {
						b.Fatal(err)
					}
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan error, 1)
					b.StartTimer()
					start := time.Now()
					go func() { done <- p.Run(ctx) }()
					if err := p.WaitFor(context.Background(), l.Durable()); err != nil {
						b.Fatal(err)
					}
					elapsed := time.Since(start)
					b.StopTimer()
					cancel()
					<-done
					sink.Close()
					b.ReportMetric(float64(rows)/elapsed.Seconds(), "events/s")
					b.StartTimer()
				}
			})
		}
	}
}
