package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const logStatsUsage = `
Usage: marmotctl log stats (--data-dir DIR | --addr HOST:PORT [--secret S]) [--json]

Summarizes the transaction log: this node's id, the number of durable
entries, the oldest and newest HLC, per origin the durable sequence number
and how many of its entries the log holds, and per database the number of
entries, row changes and DDL statements. It reads the whole log: with
--addr, a running node's over its cluster port, up to its durable position
when the command starts (the secret defaults to $MARMOT_CLUSTER_SECRET).
`

// stats is `log stats`; the text form prints the same fields.
type stats struct {
	Node       uint64        `json:"node"`
	Entries    int           `json:"entries"`
	Oldest     string        `json:"oldest,omitempty"`
	OldestTime string        `json:"oldest_time,omitempty"`
	Newest     string        `json:"newest,omitempty"`
	NewestTime string        `json:"newest_time,omitempty"`
	Origins    []originStats `json:"origins"`
	Databases  []dbStats     `json:"databases"`
}

type originStats struct {
	Origin     uint64 `json:"origin"`
	DurableSeq uint64 `json:"durable_seq"`
	Entries    int    `json:"entries"`
}

type dbStats struct {
	DB      string `json:"db"`
	Entries int    `json:"entries"`
	Ins     int    `json:"ins"`
	Upd     int    `json:"upd"`
	Del     int    `json:"del"`
	DDL     int    `json:"ddl"`
}

func runLogStats(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("log stats")
	var t logTarget
	t.register(fs)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, logStatsUsage, args, stdout); err != nil {
		return err
	}
	online, err := t.online()
	if err != nil {
		return err
	}
	var st stats
	if online {
		r, err := t.dial(ctx)
		if err != nil {
			return err
		}
		acc := newStatsAcc(r.node, r.durable)
		// Start at the floors: what GC trimmed is not a surprise here.
		if err := r.scan(ctx, r.floors, nil, acc.add); err != nil {
			return err
		}
		st = acc.result()
	} else {
		l, err := t.openLog()
		if err != nil {
			return err
		}
		defer l.Close()
		if st, err = collectStats(ctx, l); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return writeStats(stdout, st)
}

func collectStats(ctx context.Context, l *txlog.Log) (stats, error) {
	acc := newStatsAcc(l.Node(), l.Durable())
	err := l.Scan(txlog.Timestamp{}, func(cs *marmotv1.ChangeSet) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return acc.add(cs)
	})
	return acc.result(), err
}

// statsAcc adds up change sets into stats, whichever log they come from.
type statsAcc struct {
	st             stats
	durable        txlog.Watermark
	perOrigin      map[uint64]*originStats
	perDB          map[string]*dbStats
	oldest, newest txlog.Timestamp
}

func newStatsAcc(node uint64, durable txlog.Watermark) *statsAcc {
	a := &statsAcc{st: stats{Node: node}, durable: durable, perOrigin: map[uint64]*originStats{}, perDB: map[string]*dbStats{}}
	for o, seq := range durable {
		a.perOrigin[o] = &originStats{Origin: o, DurableSeq: seq}
	}
	return a
}

// add counts cs unless it became durable after the watermark was read.
func (a *statsAcc) add(cs *marmotv1.ChangeSet) error {
	if !a.durable.Covers(cs.Origin, cs.Seq) {
		return nil // durable after we read the watermark
	}
	ts := txlog.FromProto(cs.Hlc)
	if a.st.Entries == 0 || ts.Compare(a.oldest) < 0 {
		a.oldest = ts
	}
	if a.st.Entries == 0 || ts.Compare(a.newest) > 0 {
		a.newest = ts
	}
	a.st.Entries++
	a.perOrigin[cs.Origin].Entries++
	d := a.perDB[cs.Database]
	if d == nil {
		d = &dbStats{DB: cs.Database}
		a.perDB[cs.Database] = d
	}
	d.Entries++
	if cs.Ddl != "" {
		d.DDL++
	}
	s := summarize(cs)
	d.Ins += s.Ins
	d.Upd += s.Upd
	d.Del += s.Del
	return nil
}

func (a *statsAcc) result() stats {
	st := a.st
	st.Origins, st.Databases = []originStats{}, []dbStats{}
	if st.Entries > 0 {
		st.Oldest, st.OldestTime = a.oldest.String(), formatTime(a.oldest)
		st.Newest, st.NewestTime = a.newest.String(), formatTime(a.newest)
	}
	for _, o := range a.perOrigin {
		st.Origins = append(st.Origins, *o)
	}
	slices.SortFunc(st.Origins, func(a, b originStats) int { return cmp.Compare(a.Origin, b.Origin) })
	for _, d := range a.perDB {
		st.Databases = append(st.Databases, *d)
	}
	slices.SortFunc(st.Databases, func(a, b dbStats) int { return cmp.Compare(a.DB, b.DB) })
	return st
}

func writeStats(w io.Writer, st stats) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node\t%d\n", st.Node)
	fmt.Fprintf(tw, "entries\t%d\n", st.Entries)
	if st.Entries > 0 {
		fmt.Fprintf(tw, "oldest\t%s\t%s\n", st.Oldest, st.OldestTime)
		fmt.Fprintf(tw, "newest\t%s\t%s\n", st.Newest, st.NewestTime)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "origin\tdurable_seq\tentries\n")
	for _, o := range st.Origins {
		fmt.Fprintf(tw, "%d\t%d\t%d\n", o.Origin, o.DurableSeq, o.Entries)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "db\tentries\tins\tupd\tdel\tddl\n")
	for _, d := range st.Databases {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", d.DB, d.Entries, d.Ins, d.Upd, d.Del, d.DDL)
	}
	return tw.Flush()
}
