package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startNATS runs an in-process nats-server with JetStream on a loopback
// port, its store in dir (so a restart on the same port and dir keeps the
// stream and its duplicate window).
func startNATS(t *testing.T, port int, dir string) *server.Server {
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

// natsEvent is what the test reads back of one JetStream message.
type natsEvent struct {
	Subject, MsgID string
	Op             string
	Before, After  map[string]any
}

// natsEvents reads every message of subject from the stream's start.
func natsEvents(t *testing.T, js jetstream.JetStream, subject string) []natsEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, "CDC", jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var out []natsEvent
	for ctx.Err() == nil {
		batch, err := c.Fetch(1000, jetstream.FetchMaxWait(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			var v struct {
				Payload struct {
					Op     string         `json:"op"`
					Before map[string]any `json:"before"`
					After  map[string]any `json:"after"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(m.Data(), &v); err != nil {
				t.Fatalf("event is not JSON: %v", err)
			}
			out = append(out, natsEvent{Subject: m.Subject(), MsgID: m.Headers().Get(jetstream.MsgIDHeader),
				Op: v.Payload.Op, Before: v.Payload.Before, After: v.Payload.After})
		}
		if n == 0 {
			break
		}
	}
	return out
}

// TestOutboxNATS: marmotd publishes to JetStream. Every insert, update and
// delete made through MySQL arrives with the right before and after image
// and its event id as Nats-Msg-Id, which JetStream de-duplicates on. Then
// the server goes away for outageLength (20 s; MARMOT_OUTBOX_OUTAGE=60s for
// a minute) while writes continue and comes back on the same port: every
// acknowledged write arrives, no id twice, and the outage shows in the log
// and in the failure counter and backoff gauge.
func TestOutboxNATS(t *testing.T) {
	port := freePort(t)
	store := t.TempDir()
	ns := startNATS(t, port, store)
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{Name: "CDC", Subjects: []string{"marmot.cdc.>"}, Duplicates: 5 * time.Minute})
	cancel()
	if err != nil {
		t.Fatal(err)
	}

	n := &Node{t: t, Dir: t.TempDir(), MySQLPort: freePort(t), HTTPPort: freePort(t), Env: []string{
		"MARMOT_PUBLISHER_ENABLED=true", "MARMOT_PUBLISHER_SINKS_0_NAME=nats-main", "MARMOT_PUBLISHER_SINKS_0_TYPE=nats",
		"MARMOT_PUBLISHER_SINKS_0_NATS_URL=" + url, "MARMOT_PUBLISHER_SINKS_0_RETRY_INITIAL_MS=200",
		"MARMOT_PUBLISHER_SINKS_0_RETRY_MAX_MS=2000", "MARMOT_PROMETHEUS_ENABLED=true"}}
	n.Start()
	t.Cleanup(n.Stop)
	db := n.DB(t, "marmot")
	mustExecOutbox(t, db, "CREATE TABLE users (id INT PRIMARY KEY, name VARCHAR(20))")
	mustExecOutbox(t, db, "INSERT INTO users VALUES (1, 'alice'), (2, 'bob')")
	mustExecOutbox(t, db, "UPDATE users SET name = 'alicia' WHERE id = 1")
	mustExecOutbox(t, db, "DELETE FROM users WHERE id = 2")

	const subject = "marmot.cdc.marmot.users"
	type want struct{ op, before, after string }
	wants := []want{{"c", "", "alice"}, {"c", "", "bob"}, {"u", "alice", "alicia"}, {"d", "bob", ""}}
	name := func(img map[string]any) string {
		if img == nil {
			return ""
		}
		return fmt.Sprint(img["name"])
	}
	var got []natsEvent
	eventually(t, 30*time.Second, func() error {
		got = natsEvents(t, js, subject)
		if len(got) < len(wants) {
			return fmt.Errorf("%d events, want %d", len(got), len(wants))
		}
		return nil
	})
	if len(got) != len(wants) {
		t.Fatalf("%d events, want %d: %+v", len(got), len(wants), got)
	}
	for i, w := range wants { // one node, so commit order
		if got[i].Op != w.op || name(got[i].Before) != w.before || name(got[i].After) != w.after || got[i].MsgID == "" {
			t.Errorf("event %d = %+v, want %+v", i, got[i], w)
		}
	}
	// The same Nats-Msg-Id again is dropped by JetStream.
	ack, err := js.PublishMsg(context.Background(), &nats.Msg{Subject: subject, Data: []byte("{}"),
		Header: nats.Header{jetstream.MsgIDHeader: []string{got[0].MsgID}}})
	if err != nil || !ack.Duplicate {
		t.Errorf("republished %s: ack %+v, err %v; want a duplicate", got[0].MsgID, ack, err)
	}

	// Broker outage while writes go on.
	mustExecOutbox(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, v TEXT)")
	var acked sync.Map
	var count atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	wdb := n.DB(t, "marmot")
	go func() { defer close(done); writeRows(wdb, 1, &acked, &count, stop) }()
	eventually(t, 30*time.Second, func() error {
		if count.Load() < 100 {
			return fmt.Errorf("%d writes", count.Load())
		}
		return nil
	})
	before := count.Load()
	d := outageLength(t)
	failures, backoff := outage(t, n, "nats-main", d, func() { ns.Shutdown(); ns.WaitForShutdown() }, func() {
		ns = startNATS(t, port, store)
		t.Cleanup(ns.Shutdown)
	})
	during := count.Load() - before
	time.Sleep(2 * time.Second) // writes after the broker is back, too
	close(stop)
	<-done
	start := time.Now()
	var events []natsEvent
	eventually(t, 60*time.Second, func() error {
		events = natsEvents(t, js, "marmot.cdc.marmot.t")
		have := map[int64]bool{}
		for _, e := range events {
			have[int64(e.After["id"].(float64))] = true
		}
		if m := missing(&acked, have); len(m) > 0 {
			return fmt.Errorf("%d acknowledged writes not in the stream, e.g. %v", len(m), m[:min(5, len(m))])
		}
		return nil
	})
	ids := map[string]int{}
	for _, e := range events {
		ids[e.MsgID]++
	}
	for id, k := range ids {
		if k > 1 {
			t.Errorf("event %s stored %d times", id, k)
		}
	}
	if failures <= 0 || backoff <= 0 {
		t.Errorf("during the outage: publish failures %v, max backoff gauge %v; want both > 0", failures, backoff)
	}
	if !strings.Contains(n.Logs(), "publish failed; retrying") || !strings.Contains(n.Logs(), "sink recovered") {
		t.Error("the outage and the recovery are not in the log")
	}
	t.Logf("%d writes (%d during the %v outage); all %d events in the stream %v after the broker came back; %v failed publishes, backoff up to %vs",
		count.Load(), during, d, len(events), time.Since(start).Round(time.Millisecond), failures, backoff)
}
