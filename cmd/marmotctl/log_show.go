package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const logShowUsage = `
Usage: marmotctl log show (--data-dir DIR | --addr HOST:PORT [--secret S]) (--hlc HLC | --origin N --seq S) [--json]

Prints one change set in full: its header, then every row change (table, op,
primary key, before and after image as column=value lists) or its DDL
statement. --hlc takes wall.logical@node; wall.logical also works when only
one node committed at that stamp. --addr reads a running node's log over its
cluster port (the secret defaults to $MARMOT_CLUSTER_SECRET).
`

func runLogShow(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("log show")
	var t logTarget
	t.register(fs)
	var at hlcFlag
	fs.Var(&at, "hlc", "commit `HLC` of the change set (wall.logical@node)")
	origin := fs.Uint64("origin", 0, "origin node id (with --seq)")
	seq := fs.Uint64("seq", 0, "sequence number within --origin")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, logShowUsage, args, stdout); err != nil {
		return err
	}
	bySeq := *origin != 0 || *seq != 0
	switch {
	case at.set == bySeq:
		return usageErrorf(fs.Name(), "give either --hlc or --origin and --seq")
	case bySeq && (*origin == 0 || *seq == 0):
		return usageErrorf(fs.Name(), "--origin and --seq go together (both > 0)")
	case at.set && at.form == hlcTime:
		return usageErrorf(fs.Name(), "--hlc %s is a time, which names no single change set: use wall.logical@node (see 'marmotctl log list --since')", at.ts.Time().Format(timeLayout))
	}
	online, err := t.online()
	if err != nil {
		return err
	}
	var cs *marmotv1.ChangeSet
	if online {
		r, err := t.dial(ctx)
		if err != nil {
			return err
		}
		cs, err = showRemote(ctx, r, bySeq, *origin, *seq, at)
		if err != nil {
			return err
		}
	} else {
		l, err := t.openLog()
		if err != nil {
			return err
		}
		defer l.Close()
		switch {
		case bySeq:
			cs, err = l.GetBySeq(*origin, *seq)
		case at.form == hlcFull:
			cs, err = l.Get(at.ts)
		default:
			cs, err = findByClock(at.ts, l.Scan)
		}
		if err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(detailOf(cs))
	}
	return writeDetail(stdout, cs)
}

// showRemote finds the change set at origin/seq, or at HLC at, in a
// running node's log.
func showRemote(ctx context.Context, r *remoteLog, bySeq bool, origin, seq uint64, at hlcFlag) (*marmotv1.ChangeSet, error) {
	if bySeq {
		switch {
		case seq > r.durable[origin]:
			return nil, fmt.Errorf("%w: origin %d seq %d", txlog.ErrNotFound, origin, seq)
		case seq <= r.floors[origin]:
			return nil, fmt.Errorf("%w: origin %d seq %d: log trimmed up to seq %d for origin %d by GC", txlog.ErrNotFound, origin, seq, r.floors[origin], origin)
		}
		var found *marmotv1.ChangeSet
		err := r.scanOrigin(ctx, origin, seq-1, seq, func(cs *marmotv1.ChangeSet) error {
			found = cs
			return txlog.Stop
		})
		if err == nil && found == nil {
			err = fmt.Errorf("%w: origin %d seq %d", txlog.ErrNotFound, origin, seq)
		}
		return found, err
	}
	// The change sets of a clock reading sort together; scanning from the
	// floors and skipping the earlier ones is what a remote scan can do.
	scan := func(from txlog.Timestamp, fn func(*marmotv1.ChangeSet) error) error {
		var origins []uint64
		if at.form == hlcFull {
			origins = []uint64{at.ts.Node} // a change set's HLC carries its origin's id
		}
		return r.scan(ctx, r.floors, origins, func(cs *marmotv1.ChangeSet) error {
			if txlog.FromProto(cs.Hlc).Compare(from) < 0 {
				return nil
			}
			return fn(cs)
		})
	}
	if at.form != hlcFull {
		return findByClock(at.ts, scan)
	}
	var found *marmotv1.ChangeSet
	err := scan(at.ts, func(cs *marmotv1.ChangeSet) error {
		if txlog.FromProto(cs.Hlc) == at.ts {
			found = cs
		}
		return txlog.Stop
	})
	if err == nil && found == nil {
		err = fmt.Errorf("%w: %s", txlog.ErrNotFound, at.ts)
	}
	return found, err
}

// findByClock finds the change set at wall.logical of any node; more than
// one is ambiguous. scan is the log's Scan: change sets in HLC order from
// a timestamp on.
func findByClock(ts txlog.Timestamp, scan func(txlog.Timestamp, func(*marmotv1.ChangeSet) error) error) (*marmotv1.ChangeSet, error) {
	var found []*marmotv1.ChangeSet
	err := scan(ts, func(cs *marmotv1.ChangeSet) error {
		h := txlog.FromProto(cs.Hlc)
		if h.WallMS != ts.WallMS || h.Logical != ts.Logical {
			return txlog.Stop
		}
		found = append(found, cs)
		return nil
	})
	switch {
	case err != nil:
		return nil, err
	case len(found) == 0:
		return nil, fmt.Errorf("%w: no change set at %d.%d", txlog.ErrNotFound, ts.WallMS, ts.Logical)
	case len(found) > 1:
		names := make([]string, len(found))
		for i, cs := range found {
			names[i] = txlog.FromProto(cs.Hlc).String()
		}
		return nil, fmt.Errorf("%d.%d is ambiguous: %s; add @node", ts.WallMS, ts.Logical, strings.Join(names, ", "))
	}
	return found[0], nil
}

// detail is `log show --json`: the summary fields plus the content.
type detail struct {
	summary
	DDL  string    `json:"ddl,omitempty"`
	Rows []rowJSON `json:"rows"`
}

type rowJSON struct {
	Table  string      `json:"table"`
	Op     string      `json:"op"`
	PK     []valueJSON `json:"pk"`
	Before []valueJSON `json:"before,omitempty"`
	After  []valueJSON `json:"after,omitempty"`
}

func detailOf(cs *marmotv1.ChangeSet) detail {
	d := detail{summary: summarize(cs), DDL: cs.Ddl, Rows: make([]rowJSON, len(cs.Rows))}
	for i, r := range cs.Rows {
		d.Rows[i] = rowJSON{
			Table: r.Table, Op: opName(r.Op), PK: keyJSON(r.Pk),
			Before: toJSONValues(r.Columns, r.Before), After: toJSONValues(r.Columns, r.After),
		}
	}
	return d
}

// writeDetail prints a change set for people: aligned header, then one
// block per row change.
func writeDetail(w io.Writer, cs *marmotv1.ChangeSet) error {
	s := summarize(cs)
	tables := strings.Join(s.Tables, ",")
	if tables == "" {
		tables = "-"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hlc     %s\n", s.HLC)
	fmt.Fprintf(&b, "time    %s\n", s.Time)
	fmt.Fprintf(&b, "origin  %d\n", s.Origin)
	fmt.Fprintf(&b, "seq     %d\n", s.Seq)
	fmt.Fprintf(&b, "db      %s\n", s.DB)
	fmt.Fprintf(&b, "kind    %s\n", s.Kind)
	fmt.Fprintf(&b, "tables  %s\n", tables)
	fmt.Fprintf(&b, "rows    %s\n", s.counts())
	fmt.Fprintf(&b, "txn     %s\n", hex.EncodeToString(cs.Id))
	if cs.Ddl != "" {
		fmt.Fprintf(&b, "ddl     %s\n", cs.Ddl)
	}
	for _, r := range cs.Rows {
		fmt.Fprintf(&b, "\n%s %s pk=%s\n", opName(r.Op), r.Table, tuple(r.Pk))
		if len(r.Before) > 0 {
			fmt.Fprintf(&b, "  before: %s\n", assignments(r.Columns, r.Before))
		}
		if len(r.After) > 0 {
			fmt.Fprintf(&b, "  after:  %s\n", assignments(r.Columns, r.After))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
