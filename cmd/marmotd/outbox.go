package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/marmotdb/marmot/internal/config"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/materializer"
	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/kafka"
	"github.com/marmotdb/marmot/outbox/nats"
	"github.com/marmotdb/marmot/outbox/sqlite"
)

// startOutbox runs one CDC publisher per configured sink when
// [publisher] is enabled. stop ends them (before the log closes). admin
// serves POST /admin/outbox/resnapshot/{sink} (mounted behind the admin
// secret by the caller).
func startOutbox(ctx context.Context, cfg config.Config, l *txlog.Log, mat *materializer.Materializer, logger *slog.Logger) (stop func(), admin http.Handler, err error) {
	publishers := map[string]*outbox.Publisher{}
	admin = resnapshotHandler(publishers)
	if !cfg.Publisher.Enabled || len(cfg.Publisher.Sinks) == 0 {
		return func() {}, admin, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sinks []outbox.Sink
	stop = func() {
		cancel()
		wg.Wait()
		for _, s := range sinks {
			_ = s.Close()
		}
	}
	catalog := &sqlite.Catalog{Dir: filepath.Join(cfg.DataDir, "db")}
	for _, sc := range cfg.Publisher.Sinks {
		var sink outbox.Sink
		switch strings.ToLower(sc.Type) {
		case "kafka":
			sink, err = kafka.New(kafka.Options{Brokers: sc.Brokers, ClientID: fmt.Sprintf("marmot-%d", l.Node())})
		case "nats":
			sink, err = nats.New(nats.Options{URL: sc.NATSURL, Name: fmt.Sprintf("marmot-%d", l.Node())})
		default:
			err = fmt.Errorf("unknown sink type %q", sc.Type)
		}
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("publisher sink %s: %w", sc.Name, err)
		}
		sinks = append(sinks, sink)
		p, err := outbox.New(outbox.Options{Name: sc.Name, Sink: sink, Log: l, TopicPrefix: sc.TopicPrefix,
			Filter: outbox.Filter{Databases: sc.FilterDatabases, Tables: sc.FilterTables}, BatchSize: sc.BatchSize,
			PollInterval: sc.PollInterval(), RetryInitial: sc.RetryInitial(), RetryMax: sc.RetryMax(), PublishTimeout: sc.PublishTimeout(),
			RetryMultiplier: sc.RetryMultiplier, TakeoverAfter: cfg.Publisher.TakeoverAfter(), Catalog: catalog,
			Views: sqlite.Views{Materializer: mat, Log: l}, SnapshotMode: sc.SnapshotMode, Logger: logger})
		if err != nil {
			stop()
			return nil, nil, fmt.Errorf("publisher sink %s: %w", sc.Name, err)
		}
		publishers[sc.Name] = p
		logger.Info("outbox: publishing", "sink", sc.Name, "type", sc.Type, "topic_prefix", sc.TopicPrefix,
			"cursor", p.Watermark(), "takeover_after", cfg.Publisher.TakeoverAfter())
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				err := p.Run(ctx)
				if ctx.Err() != nil {
					return
				}
				// A log read error; keep trying rather than stop CDC silently.
				logger.Error("outbox: publisher stopped; restarting", "sink", sc.Name, "err", err)
				select {
				case <-time.After(sc.RetryMax()):
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	return stop, admin, nil
}

// resnapshotHandler asks a sink for a new snapshot. Any node may take the
// call: it announces the request on the sink's cursor topic, and the node
// whose turn it is (outbox/snapshot.go) runs it; the answer does not wait
// for the snapshot.
func resnapshotHandler(publishers map[string]*outbox.Publisher) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("sink")
		p, ok := publishers[name]
		if !ok {
			http.Error(w, fmt.Sprintf("outbox: no sink %q on this node (see [[publisher.sinks]] and publisher.enabled)", name), http.StatusNotFound)
			return
		}
		epoch, err := p.Resnapshot()
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"sink": name, "epoch": epoch})
	})
}
