package main

import (
	"context"
	"io"
	"slices"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const logTailUsage = `
Usage: marmotctl log tail (--data-dir DIR | --addr HOST:PORT [--secret S]) [-n 20 | --since HLC|RFC3339] [--follow] [--json]

Prints the last N durable change sets in HLC order, in the format of
'log list' (--since: every one from that HLC on instead). --follow then
keeps printing change sets as they become durable until interrupted.

Offline (--data-dir) the data dir is locked by this tool, so nothing else
appends while it follows. Online (--addr, a running node's cluster port;
the secret defaults to $MARMOT_CLUSTER_SECRET) --follow prints what the
node makes durable after the command started, from every origin, in the
order it arrives; -n 0 --follow prints only that.
`

// tailOpts are the flags of 'log tail' both modes share.
type tailOpts struct {
	n      int
	since  hlcFlag
	follow bool
	asJSON bool
}

func runLogTail(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("log tail")
	var t logTarget
	t.register(fs)
	var o tailOpts
	fs.IntVar(&o.n, "n", 20, "number of change sets to print")
	fs.Var(&o.since, "since", "print every change set from this `HLC` on instead of the last -n (wall.logical@node, wall.logical or RFC 3339 time)")
	fs.BoolVar(&o.follow, "follow", false, "keep printing new change sets until interrupted")
	fs.BoolVar(&o.asJSON, "json", false, "print NDJSON")
	if err := parseFlags(fs, logTailUsage, args, stdout); err != nil {
		return err
	}
	if o.n < 0 {
		return usageErrorf(fs.Name(), "-n must be >= 0, got %d", o.n)
	}
	online, err := t.online()
	if err != nil {
		return err
	}
	if online {
		r, err := t.dial(ctx)
		if err != nil {
			return err
		}
		return tailRemote(ctx, r, o, stdout)
	}
	l, err := t.openLog()
	if err != nil {
		return err
	}
	defer l.Close()
	return tailLog(ctx, l, o, stdout)
}

// tailStart collects what tail prints before following: the last n change
// sets handed to add (they come in HLC order), or with since every one
// from since on, printed at once.
type tailStart struct {
	o    tailOpts
	w    io.Writer
	ring []*marmotv1.ChangeSet
	next int
}

func (s *tailStart) add(cs *marmotv1.ChangeSet) error {
	if s.o.since.set {
		if txlog.FromProto(cs.Hlc).Compare(s.o.since.ts) < 0 {
			return nil
		}
		return writeSummary(s.w, cs, s.o.asJSON)
	}
	if s.o.n == 0 {
		return nil
	}
	if len(s.ring) < s.o.n {
		s.ring = append(s.ring, cs)
	} else {
		s.ring[s.next] = cs
	}
	s.next = (s.next + 1) % s.o.n
	return nil
}

// flush prints the kept change sets, oldest first.
func (s *tailStart) flush() error {
	for _, cs := range slices.Concat(s.ring[s.next:], s.ring[:s.next]) {
		if err := writeSummary(s.w, cs, s.o.asJSON); err != nil {
			return err
		}
	}
	return nil
}

// tailLog prints the last n change sets of l (or those from since) and,
// with follow, every change set that becomes durable afterwards until ctx
// ends.
//
// Following goes by the durable watermark, not by HLC position: a change
// set replicated from a peer can carry an HLC older than entries already
// printed, and it must still be printed once.
func tailLog(ctx context.Context, l *txlog.Log, o tailOpts, w io.Writer) error {
	ch := l.Changed()
	printed := l.Durable()

	// The log cannot iterate backwards, so keep the last n of a full scan.
	start := &tailStart{o: o, w: w}
	if o.n > 0 || o.since.set {
		err := l.Scan(o.since.ts, func(cs *marmotv1.ChangeSet) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !printed.Covers(cs.Origin, cs.Seq) {
				return nil // durable after the snapshot: the follow loop prints it
			}
			return start.add(cs)
		})
		if err != nil {
			return err
		}
	}
	if err := start.flush(); err != nil {
		return err
	}

	for o.follow {
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
			if err := writeSummary(w, cs, o.asJSON); err != nil {
				return err
			}
		}
		printed = now
	}
	return nil
}

// tailRemote is tailLog for a running node. The last n of the merged log
// are among the last n of each origin, so only those are fetched. Following
// starts at the node's durable watermark read at dial time, so nothing
// between the two parts is lost or printed twice.
func tailRemote(ctx context.Context, r *remoteLog, o tailOpts, w io.Writer) error {
	start := &tailStart{o: o, w: w}
	switch {
	case o.since.set:
		// Positions are sequences, not clocks: scan what the node holds
		// and skip what is older than --since.
		if err := r.scan(ctx, r.floors, nil, start.add); err != nil {
			return err
		}
	case o.n > 0:
		after := txlog.Watermark{}
		for origin, upto := range r.durable {
			after[origin] = max(r.floors[origin], upto-min(upto, uint64(o.n)))
		}
		if err := r.scan(ctx, after, nil, start.add); err != nil {
			return err
		}
	}
	if err := start.flush(); err != nil || !o.follow {
		return err
	}
	return r.follow(ctx, r.durable, func(cs *marmotv1.ChangeSet) error {
		return writeSummary(w, cs, o.asJSON)
	})
}
