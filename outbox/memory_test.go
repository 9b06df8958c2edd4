package outbox_test

import (
	"errors"
	"testing"
	"time"

	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/sinktest"
)

func TestMemorySinkContract(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) *sinktest.Harness {
		m := outbox.NewMemory()
		return &sinktest.Harness{Sink: m, Tombstones: true, HoldsCursors: true,
			Read: func(t *testing.T, topic string, n int) []outbox.Message {
				deadline := time.Now().Add(10 * time.Second)
				for {
					var out []outbox.Message
					for _, msg := range m.Messages() {
						if msg.Topic == topic {
							out = append(out, msg)
						}
					}
					if len(out) >= n || time.Now().After(deadline) {
						return out
					}
					time.Sleep(time.Millisecond)
				}
			},
			Down: func(*testing.T) { m.Fail(errors.New("down")) },
			Up:   func(*testing.T) { m.Fail(nil) }}
	})
}
