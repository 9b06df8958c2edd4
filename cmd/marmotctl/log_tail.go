package main

import (
	"context"
	"io"
	"slices"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const logTailUsage = `
Usage: marmotctl log tail --data-dir DIR [-n 20] [--follow] [--json]

Prints the last N durable change sets in HLC order, in the format of
'log list'. --follow then keeps printing change sets as they become durable
until interrupted. Offline the data dir is locked by this tool, so nothing
else appends while it follows; following a live node needs --addr, which
arrives with the admin API.
`

func runLogTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("log tail")
	var t target
	t.register(fs)
	n := fs.Int("n", 20, "number of change sets to print")
	follow := fs.Bool("follow", false, "keep printing new change sets until interrupted")
	asJSON := fs.Bool("json", false, "print NDJSON")
	if err := parseFlags(fs, logTailUsage, args, stdout); err != nil {
		return err
	}
	if *n < 0 {
		return usageErrorf(fs.Name(), "-n must be >= 0, got %d", *n)
	}
	l, err := t.openLog()
	if err != nil {
		return err
	}
	defer l.Close()
	return tailLog(ctx, l, *n, *follow, stdout, *asJSON)
}

// tailLog prints the last n change sets of l and, with follow, every change
// set that becomes durable afterwards until ctx ends.
//
// Following goes by the durable watermark, not by HLC position: a change
// set replicated from a peer can carry an HLC older than entries already
// printed, and it must still be printed once.
func tailLog(ctx context.Context, l *txlog.Log, n int, follow bool, w io.Writer, asJSON bool) error {
	ch := l.Changed()
	printed := l.Durable()

	// The log cannot iterate backwards, so keep the last n of a full scan.
	var ring []*marmotv1.ChangeSet
	if n > 0 {
		next := 0
		err := l.Scan(txlog.Timestamp{}, func(cs *marmotv1.ChangeSet) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !printed.Covers(cs.Origin, cs.Seq) {
				return nil // durable after the snapshot: the follow loop prints it
			}
			if len(ring) < n {
				ring = append(ring, cs)
			} else {
				ring[next] = cs
			}
			next = (next + 1) % n
			return nil
		})
		if err != nil {
			return err
		}
		ring = slices.Concat(ring[next:], ring[:next]) // oldest first
	}
	for _, cs := range ring {
		if err := writeSummary(w, cs, asJSON); err != nil {
			return err
		}
	}

	for follow {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil
		}
		ch = l.Changed()
		now := l.Durable()
		var batch []*marmotv1.ChangeSet
		for origin, upto := range now {
			after := printed[origin]
			if upto <= after {
				continue
			}
			err := l.ScanOrigin(origin, max(after, l.Floors()[origin]), func(cs *marmotv1.ChangeSet) error {
				if cs.Seq > upto {
					return txlog.Stop
				}
				batch = append(batch, cs)
				return nil
			})
			if err != nil {
				return err
			}
		}
		slices.SortFunc(batch, func(a, b *marmotv1.ChangeSet) int {
			return txlog.FromProto(a.Hlc).Compare(txlog.FromProto(b.Hlc))
		})
		for _, cs := range batch {
			if err := writeSummary(w, cs, asJSON); err != nil {
				return err
			}
		}
		printed = now
	}
	return nil
}
