package antientropy

import (
	"context"
	"log/slog"
	"sort"
	"sync/atomic"
	"time"

	txlog "github.com/marmotdb/marmot/log"
)

// GC trims the transaction log. A change set goes when it is older than
// MinRetention and every configured member and every CDC cursor has it and
// this node's views have applied it; or, whatever peers and cursors hold,
// when it is older than MaxRetention (0 = never): a peer that far behind
// is then served a snapshot. It never trims what the local views have not
// applied, since the log is their only source.
type GC struct {
	Log          *txlog.Log
	MinRetention time.Duration
	MaxRetention time.Duration
	// Members returns the durable watermark of every configured member
	// other than this node; ok is false when one of them is not known
	// (unreachable since start), which holds back all but forced trimming.
	Members func() (marks []txlog.Watermark, ok bool)
	// Applied bounds trimming by the local views: per origin, the highest
	// sequence below which every change set is applied.
	Applied func() txlog.Watermark
	Now     func() time.Time
	Logger  *slog.Logger
	// Removed lists nodes an operator removed from the cluster: intents
	// held for their decided transactions are dropped, since those change
	// sets may never arrive. May be nil.
	Removed func() []uint64

	lastRun atomic.Int64 // unix ms of the last completed pass
}

// LastRun is when the last pass completed; zero if none has.
func (g *GC) LastRun() time.Time {
	if ms := g.lastRun.Load(); ms != 0 {
		return time.UnixMilli(ms)
	}
	return time.Time{}
}

// Run trims every interval until ctx ends.
func (g *GC) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := g.Once(); err != nil {
			g.Logger.Warn("log GC failed", "err", err)
		}
	}
}

// Once runs one GC pass and returns how many entries it deleted.
func (g *GC) Once() (int, error) {
	now := time.Now()
	if g.Now != nil {
		now = g.Now()
	}
	metricLogBytes.Set(float64(g.Log.DiskSize()))
	if g.Removed != nil {
		for _, id := range g.Removed() {
			if n := g.Log.ReleaseDecidedFrom(id); n > 0 {
				g.Logger.Warn("released rows held for decided transactions of a removed node", "node", id, "transactions", n)
			}
		}
	}
	durable := g.Log.Durable()
	floors := g.Log.Floors()
	cursors, err := g.Log.CursorFloor()
	if err != nil {
		return 0, err
	}
	marks, known := g.Members()
	applied := g.Applied()
	total := 0
	for origin, upto := range durable {
		floor := floors[origin]
		if upto <= floor {
			continue
		}
		bound := min(upto, applied[origin])
		safe := g.olderThan(origin, floor, bound, now.Add(-g.MinRetention))
		if known {
			for _, m := range marks {
				safe = min(safe, m[origin])
			}
		} else {
			safe = floor
		}
		if cursors != nil {
			safe = min(safe, cursors[origin])
		}
		target := safe
		if g.MaxRetention > 0 {
			if forced := g.olderThan(origin, floor, bound, now.Add(-g.MaxRetention)); forced > target {
				target = forced
				metricGCForced.Inc()
				g.Logger.Warn("log GC: trimming past a lagging peer or CDC cursor (gc_max_retention_hours); it will need a snapshot",
					"origin", origin, "upto", forced)
			}
		}
		if target <= floor {
			continue
		}
		n, err := g.Log.Trim(origin, target)
		total += n
		metricGCTrimmed.Add(float64(n))
		if err != nil {
			return total, err
		}
	}
	var retained uint64
	floors = g.Log.Floors()
	for origin, upto := range g.Log.Durable() {
		retained += upto - min(upto, floors[origin])
	}
	metricRetained.Set(float64(retained))
	g.lastRun.Store(time.Now().UnixMilli())
	if total > 0 {
		g.Logger.Info("log GC", "trimmed", total, "floors", g.Log.Floors())
	}
	return total, nil
}

// olderThan is the highest sequence in (floor, upto] whose change set
// committed before cutoff; floor if none. Commit times grow with the
// sequence within an origin, so it is a binary search.
func (g *GC) olderThan(origin, floor, upto uint64, cutoff time.Time) uint64 {
	if upto <= floor {
		return floor
	}
	n := int(upto - floor)
	i := sort.Search(n, func(i int) bool {
		t, ok := g.Log.EntryTime(origin, floor+1+uint64(i))
		return !ok || !t.Before(cutoff)
	})
	return floor + uint64(i)
}
