package e2e

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// startKafka runs an in-process Kafka (kfake) on a loopback port.
func startKafka(t *testing.T) string {
	t.Helper()
	port := freePort(t)
	c, err := kfake.NewCluster(kfake.Ports(port), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(3),
		kfake.ListenFn(func(network, _ string) (net.Listener, error) {
			return net.Listen(network, "127.0.0.1:"+strconv.Itoa(port))
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return "127.0.0.1:" + strconv.Itoa(port)
}

// publisherEnv turns the publisher on with one Kafka sink.
func publisherEnv(broker string, takeoverMS int) []string {
	return []string{"MARMOT_PUBLISHER_ENABLED=true", fmt.Sprintf("MARMOT_PUBLISHER_TAKEOVER_AFTER_MS=%d", takeoverMS),
		"MARMOT_PUBLISHER_SINKS_0_NAME=kafka-main", "MARMOT_PUBLISHER_SINKS_0_TYPE=kafka",
		"MARMOT_PUBLISHER_SINKS_0_BROKERS=" + broker}
}

// cdcEvent is what the test reads back of one Kafka record.
type cdcEvent struct {
	Topic, ID, Key string
	Partition      int32
	Tombstone      bool
	Op             string
	Before, After  map[string]any
	Origin, Seq    uint64
	DDL            string
	// CommitMS is source.ts_ms (the commit HLC's wall clock), Received when
	// the consumer got the record.
	CommitMS int64
	Received time.Time
	// Value is the record's value as sent.
	Value []byte
}

// consumer reads every marmot.cdc topic from the start, as a Debezium
// consumer would.
type consumer struct {
	mu     sync.Mutex
	events []cdcEvent
}

// startPublishingNode starts one marmotd publishing to an in-process Kafka
// broker, and a consumer of that broker's topics.
func startPublishingNode(t *testing.T) (*Node, *consumer) {
	broker := startKafka(t)
	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: publisherEnv(broker, 30000)}
	n.Start()
	t.Cleanup(n.Stop)
	t.Cleanup(func() {
		if t.Failed() { // registered after Stop, so it runs before it
			t.Logf("node log:\n%s", n.Logs())
		}
	})
	return n, consume(t, broker)
}

func consume(t *testing.T, broker string) *consumer {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker), kgo.ConsumeRegex(), kgo.ConsumeTopics(`^marmot\.cdc(\.[^_].*)?$`),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond),
		kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &consumer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
				e := cdcEvent{Topic: r.Topic, Key: string(r.Key), Partition: r.Partition, Tombstone: r.Value == nil, Received: time.Now(), Value: r.Value}
				for _, h := range r.Headers {
					if h.Key == "marmot.id" {
						e.ID = string(h.Value)
					}
				}
				if r.Value != nil {
					var v struct {
						Payload struct {
							Op     string         `json:"op"`
							Before map[string]any `json:"before"`
							After  map[string]any `json:"after"`
							DDL    string         `json:"ddl"`
							Source struct {
								Origin, Seq uint64
								TSMS        int64 `json:"ts_ms"`
							} `json:"source"`
						} `json:"payload"`
					}
					if err := json.Unmarshal(r.Value, &v); err != nil {
						t.Errorf("record is not JSON: %v", err)
					}
					e.Op, e.Before, e.After, e.DDL = v.Payload.Op, v.Payload.Before, v.Payload.After, v.Payload.DDL
					e.Origin, e.Seq, e.CommitMS = v.Payload.Source.Origin, v.Payload.Source.Seq, v.Payload.Source.TSMS
				}
				c.mu.Lock()
				c.events = append(c.events, e)
				c.mu.Unlock()
			})
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return c
}

func (c *consumer) all() []cdcEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]cdcEvent(nil), c.events...)
}

// rows returns the events of one topic, tombstones included.
func (c *consumer) topic(name string) []cdcEvent {
	var out []cdcEvent
	for _, e := range c.all() {
		if e.Topic == name {
			out = append(out, e)
		}
	}
	return out
}

// insertedIDs is the set of primary keys with a create (or snapshot read)
// event on topic, and whether any event id arrived twice with different
// content.
func (c *consumer) insertedIDs(t *testing.T, topic string) map[int64]bool {
	out := map[int64]bool{}
	seen := map[string]string{}
	for _, e := range c.topic(topic) {
		sig := fmt.Sprint(e.Op, e.Origin, e.Seq, e.Key, e.Tombstone)
		if prev, ok := seen[e.ID]; ok && prev != sig {
			t.Errorf("event id %s arrived with different content: %s vs %s", e.ID, prev, sig)
		}
		seen[e.ID] = sig
		// "r": the row came in the initial snapshot, which runs while the
		// first writes arrive and may read them from the view.
		if e.Op == "c" || e.Op == "r" {
			out[int64(e.After["id"].(float64))] = true
		}
	}
	return out
}

func mustExecOutbox(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// TestOutboxRowEvents: inserts, updates, deletes and a primary-key change
// made through MySQL arrive on {prefix}.{db}.{table} as Debezium events
// with the right op, before and after images and key; a delete is followed
// by a tombstone; the CREATE TABLE goes to the schema-change topic.
func TestOutboxRowEvents(t *testing.T) {
	n, c := startPublishingNode(t)
	db := n.DB(t, "marmot")
	mustExecOutbox(t, db, "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20))")
	mustExecOutbox(t, db, "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')")
	mustExecOutbox(t, db, "UPDATE users SET name = 'alicia' WHERE id = 1")
	mustExecOutbox(t, db, "DELETE FROM users WHERE id = 2")
	mustExecOutbox(t, db, "UPDATE users SET id = 10 WHERE id = 1")

	const topic = "marmot.cdc.marmot.users"
	type want struct {
		op, key       string
		before, after string // name, or "" for a null image
		tombstone     bool
	}
	wants := []want{{"c", "1", "", "alice", false}, {"c", "2", "", "bob", false}, {"u", "1", "alice", "alicia", false},
		{"d", "2", "bob", "", false}, {"", "2", "", "", true}, {"d", "1", "alicia", "", false}, {"", "1", "", "", true},
		{"c", "10", "", "alicia", false}}
	var got []cdcEvent
	eventually(t, 30*time.Second, func() error {
		got = c.topic(topic)
		if len(got) < len(wants) {
			return fmt.Errorf("%d events on %s, want %d", len(got), topic, len(wants))
		}
		return nil
	})
	// Order holds per key (partition); compare per key.
	perKey := func(key string) (g []cdcEvent, w []want) {
		for _, e := range got {
			if strings.HasSuffix(e.Key, `"payload":{"id":`+key+`}}`) {
				g = append(g, e)
			}
		}
		for _, x := range wants {
			if x.key == key {
				w = append(w, x)
			}
		}
		return g, w
	}
	name := func(img map[string]any) string {
		if img == nil {
			return ""
		}
		return fmt.Sprint(img["name"])
	}
	for _, key := range []string{"1", "2", "10"} {
		g, w := perKey(key)
		if len(g) != len(w) {
			t.Fatalf("key %s: %d events, want %d: %+v", key, len(g), len(w), g)
		}
		for i := range w {
			if g[i].Tombstone != w[i].tombstone || g[i].Op != w[i].op || name(g[i].Before) != w[i].before || name(g[i].After) != w[i].after {
				t.Errorf("key %s event %d = %+v, want %+v", key, i, g[i], w[i])
			}
		}
	}
	if !regexp.MustCompile(`"fields":\[\{"type":"int32","optional":false,"field":"id"\}\]`).MatchString(got[0].Key) {
		t.Errorf("key schema: %s", got[0].Key)
	}
	ddl := c.topic("marmot.cdc")
	if len(ddl) == 0 || !strings.Contains(ddl[len(ddl)-1].DDL, "CREATE TABLE") {
		t.Errorf("schema changes: %+v", ddl)
	}
}

// writeRows inserts rows id = from, from+1, … on db until stop is closed or
// a write fails; it records each acknowledged id.
func writeRows(db *sql.DB, from int64, acked *sync.Map, count *atomic.Int64, stop <-chan struct{}) {
	for id := from; ; id++ {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := db.Exec("INSERT INTO t (id, v) VALUES (?, 'x')", id); err != nil {
			return
		}
		acked.Store(id, true)
		count.Add(1)
	}
}

func missing(acked *sync.Map, got map[int64]bool) []int64 {
	var out []int64
	acked.Range(func(k, _ any) bool {
		if !got[k.(int64)] {
			out = append(out, k.(int64))
		}
		return true
	})
	return out
}

// TestOutboxKill9Resumes: marmotd killed with SIGKILL mid-stream publishes,
// after restart, every write it acknowledged (from its durable cursor:
// repeats only with the same event ids).
func TestOutboxKill9Resumes(t *testing.T) {
	n, c := startPublishingNode(t)
	mustExecOutbox(t, n.DB(t, "marmot"), "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
	var acked sync.Map
	var count atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	db := n.DB(t, "marmot")
	go func() { defer close(done); writeRows(db, 1, &acked, &count, stop) }()
	eventually(t, 30*time.Second, func() error {
		if count.Load() < 300 {
			return fmt.Errorf("%d writes", count.Load())
		}
		return nil
	})
	n.Kill()
	close(stop)
	<-done
	n.Start()
	mustExecOutbox(t, n.DB(t, "marmot"), "INSERT INTO t (id, v) VALUES (1000000, 'after restart')")
	acked.Store(int64(1000000), true)
	eventually(t, 60*time.Second, func() error {
		if m := missing(&acked, c.insertedIDs(t, "marmot.cdc.marmot.t")); len(m) > 0 {
			return fmt.Errorf("%d acknowledged writes not published, e.g. %v", len(m), m[:min(5, len(m))])
		}
		return nil
	})
	t.Logf("%d acknowledged writes published after kill -9", count.Load()+1)
}

// TestOutboxClusterTakeover: three nodes share a Kafka sink. Writes on
// every node are published once each (each node publishes its own change
// sets). Then the node taking writes is killed with SIGKILL mid-stream: the
// next node takes over its change sets after takeover_after_ms, and every
// acknowledged write arrives.
func TestOutboxClusterTakeover(t *testing.T) {
	broker := startKafka(t)
	const secret = "outbox-takeover-secret"
	nodes := make([]*Node, 3)
	for i := range nodes {
		nodes[i] = &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), GossipPort: freePort(t)}
	}
	for i, nd := range nodes {
		var seeds []string
		for j, o := range nodes {
			if j != i {
				seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", o.HTTPPort))
			}
		}
		nd.Env = append(publisherEnv(broker, 2000), "MARMOT_CLUSTER_SEED_NODES="+strings.Join(seeds, ","),
			"MARMOT_CLUSTER_SECRET="+secret, "MARMOT_REPLICATION_DEFAULT_WRITE_CONSISTENCY=QUORUM", fmt.Sprintf("MARMOT_NODE_ID=%d", i+1))
		nd.Start()
		t.Cleanup(nd.Stop)
	}
	waitMembers(t, nodes, 3)
	c := consume(t, broker)
	mustExecOutbox(t, nodes[0].DB(t, "marmot"), "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
	eventually(t, 30*time.Second, func() error {
		for i, n := range nodes {
			if _, err := n.DB(t, "marmot").Exec("SELECT COUNT(*) FROM t"); err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
		}
		return nil
	})
	var acked sync.Map
	for i, n := range nodes {
		db := n.DB(t, "marmot")
		for k := range 20 {
			id := int64((i+1)*1000 + k)
			mustExecOutbox(t, db, "INSERT INTO t (id, v) VALUES (?, 'x')", id)
			acked.Store(id, true)
		}
	}
	const topic = "marmot.cdc.marmot.t"
	eventually(t, 30*time.Second, func() error {
		if m := missing(&acked, c.insertedIDs(t, topic)); len(m) > 0 {
			return fmt.Errorf("%d writes not published", len(m))
		}
		return nil
	})
	time.Sleep(3 * time.Second) // past takeover_after_ms: a wrong takeover would duplicate
	ids := map[string]int{}
	origins := map[uint64]int{}
	for _, e := range c.topic(topic) {
		ids[e.ID]++
		origins[e.Origin]++
	}
	for id, k := range ids {
		if k != 1 {
			t.Errorf("steady state: event %s published %d times", id, k)
		}
	}
	if len(origins) != 3 {
		t.Errorf("events by origin %v, want all three nodes", origins)
	}

	var count atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	db := nodes[0].DB(t, "marmot")
	go func() { defer close(done); writeRows(db, 100000, &acked, &count, stop) }()
	eventually(t, 30*time.Second, func() error {
		if count.Load() < 100 {
			return fmt.Errorf("%d writes", count.Load())
		}
		return nil
	})
	nodes[0].Kill()
	close(stop)
	<-done
	start := time.Now()
	eventually(t, 60*time.Second, func() error {
		if m := missing(&acked, c.insertedIDs(t, topic)); len(m) > 0 {
			return fmt.Errorf("%d acknowledged writes of the killed node not published, e.g. %v", len(m), m[:min(5, len(m))])
		}
		return nil
	})
	t.Logf("%d writes on node 1 before kill -9; all published %v after it", count.Load(), time.Since(start).Round(time.Millisecond))

	// Node 2 cannot reach the broker (its sink points at a closed port),
	// takes writes, and is killed: node 3 (the next after it) takes over.
	nodes[0].Start() // back, but node 2 goes down below; keeps the quorum
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	nodes[1].Stop()
	for i, kv := range nodes[1].Env {
		if strings.HasPrefix(kv, "MARMOT_PUBLISHER_SINKS_0_BROKERS=") {
			nodes[1].Env[i] = "MARMOT_PUBLISHER_SINKS_0_BROKERS=" + dead
		}
	}
	nodes[1].Start()
	waitMembers(t, nodes, 3)
	count.Store(0)
	stop = make(chan struct{})
	done = make(chan struct{})
	db = nodes[1].DB(t, "marmot")
	go func() { defer close(done); writeRows(db, 200000, &acked, &count, stop) }()
	eventually(t, 30*time.Second, func() error {
		if count.Load() < 100 {
			return fmt.Errorf("%d writes", count.Load())
		}
		return nil
	})
	nodes[1].Kill()
	close(stop)
	<-done
	start = time.Now()
	eventually(t, 60*time.Second, func() error {
		if m := missing(&acked, c.insertedIDs(t, topic)); len(m) > 0 {
			return fmt.Errorf("%d acknowledged writes of the cut-off node not published, e.g. %v", len(m), m[:min(5, len(m))])
		}
		return nil
	})
	t.Logf("%d writes on node 2 (no broker) before kill -9; all published %v after it", count.Load(), time.Since(start).Round(time.Millisecond))
	if !strings.Contains(nodes[2].Logs(), "taking over publishing") {
		t.Error("node 3 did not log a takeover of node 2's change sets")
	}
}

// TestOutboxLatency reports commit -> consumer latency (P50/P99) of row
// events while 8 clients insert for a few seconds: from the commit HLC's
// wall clock (source.ts_ms) to the consumer's receipt.
func TestOutboxLatency(t *testing.T) {
	n, c := startPublishingNode(t)
	mustExecOutbox(t, n.DB(t, "marmot"), "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
	// The consumer finds a new topic by polling metadata: let it find t
	// before measuring.
	mustExecOutbox(t, n.DB(t, "marmot"), "INSERT INTO t (id, v) VALUES (1, 'warm-up')")
	eventually(t, 30*time.Second, func() error {
		if len(c.topic("marmot.cdc.marmot.t")) == 0 {
			return fmt.Errorf("no event yet")
		}
		return nil
	})
	warm := len(c.topic("marmot.cdc.marmot.t"))
	var acked sync.Map
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	db := n.DB(t, "marmot")
	for w := range 8 {
		wg.Add(1)
		go func() { defer wg.Done(); writeRows(db, int64(w+1)*10_000_000, &acked, &count, stop) }()
	}
	time.Sleep(5 * time.Second) // the load's duration
	close(stop)
	wg.Wait()
	eventually(t, 60*time.Second, func() error {
		if m := missing(&acked, c.insertedIDs(t, "marmot.cdc.marmot.t")); len(m) > 0 {
			return fmt.Errorf("%d writes not published", len(m))
		}
		return nil
	})
	var lat []time.Duration
	for _, e := range c.topic("marmot.cdc.marmot.t")[warm:] {
		lat = append(lat, e.Received.Sub(time.UnixMilli(e.CommitMS)))
	}
	slices.Sort(lat)
	t.Logf("%d inserts in 5s (%.0f/s); commit -> consumer latency P50 %v, P99 %v, max %v", count.Load(),
		float64(count.Load())/5, lat[len(lat)/2].Round(100*time.Microsecond), lat[len(lat)*99/100].Round(100*time.Microsecond),
		lat[len(lat)-1].Round(100*time.Microsecond))
}
