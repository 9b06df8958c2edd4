package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/marmotdb/marmot/internal/config"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/outbox"
	"github.com/marmotdb/marmot/outbox/kafka"
	"github.com/marmotdb/marmot/outbox/nats"
	"github.com/marmotdb/marmot/outbox/sqlite"
)

// startOutbox runs one CDC publisher per configured sink when
// [publisher] is enabled. stop ends them (before the log closes).
func startOutbox(ctx context.Context, cfg config.Config, l *txlog.Log, logger *slog.Logger) (stop func(), err error) {
	if !cfg.Publisher.Enabled || len(cfg.Publisher.Sinks) == 0 {
		return func() {}, nil
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
			return nil, fmt.Errorf("publisher sink %s: %w", sc.Name, err)
		}
		sinks = append(sinks, sink)
		p, err := outbox.New(outbox.Options{Name: sc.Name, Sink: sink, Log: l, TopicPrefix: sc.TopicPrefix,
			Filter: outbox.Filter{Databases: sc.FilterDatabases, Tables: sc.FilterTables}, BatchSize: sc.BatchSize,
			PollInterval: sc.PollInterval(), RetryInitial: sc.RetryInitial(), RetryMax: sc.RetryMax(),
			RetryMultiplier: sc.RetryMultiplier, TakeoverAfter: cfg.Publisher.TakeoverAfter(), Catalog: catalog,
			Logger: logger})
		if err != nil {
			stop()
			return nil, fmt.Errorf("publisher sink %s: %w", sc.Name, err)
		}
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
	return stop, nil
}
