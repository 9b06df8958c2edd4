package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const statusUsage = `
Usage: marmotctl status --addr HOST:PORT [--secret S] [--json]

Shows what the node at --addr (its cluster port) reports of itself: id,
version, uptime, the members as it sees them, its log (durable watermark
per origin, size on disk), readers' cursors, rows held by prepared
transactions, and per database the applied watermark and schema
generation. Watermarks are origin:sequence pairs.

--json prints the AdminService Status message as protobuf JSON.

Exit status: 0 every member is alive; 1 some member is not (suspect, dead
or left); 2 bad flags, or the node could not be reached or refused the
secret.
`

// errUnhealthy: the check ran and found a problem (exit 1); the output
// already says what.
var errUnhealthy = errors.New("unhealthy")

func runStatus(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseAdminFlags("status", statusUsage, args, stdout, false)
	if err != nil {
		return err
	}
	s, err := newAdminClient(f.addr, f.secret).status(ctx)
	if err != nil {
		return err
	}
	if f.json {
		b, err := protojson.MarshalOptions{UseProtoNames: true, EmitUnpopulated: true, Multiline: true}.Marshal(s)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(stdout, "%s\n", b); err != nil {
			return err
		}
	} else if err := printStatus(stdout, s); err != nil {
		return err
	}
	var down []string
	for _, m := range s.Members {
		if m.State != "alive" {
			down = append(down, fmt.Sprintf("node %d is %s", m.Id, m.State))
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("%w: %s", errUnhealthy, strings.Join(down, ", "))
	}
	return nil
}

func printStatus(w io.Writer, s *marmotv1.StatusResponse) error {
	up := (time.Duration(s.UptimeMs) * time.Millisecond).Round(time.Second)
	fmt.Fprintf(w, "node %d, marmot %s, up %s (since %s)\n", s.NodeId, s.Version, up,
		time.UnixMilli(s.StartedUnixMs).UTC().Format(time.RFC3339))
	fmt.Fprintf(w, "log: %s on disk, durable %s\n", bytesIEC(s.LogDiskBytes), watermarkString(s.Durable))
	fmt.Fprintf(w, "intents: %d rows held by prepared transactions\n", s.IntentRows)
	fmt.Fprintln(w)
	if len(s.Members) > 0 {
		if err := printMembers(w, s.Members); err != nil {
			return err
		}
		fmt.Fprintf(w, "%d members, quorum %d\n\n", len(s.Members), s.Quorum)
	} else {
		fmt.Fprintln(w, "not in a cluster")
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATABASE\tAPPLIED\tSCHEMA GEN\t")
	for _, d := range s.Databases {
		fmt.Fprintf(tw, "%s\t%s\t%d\t\n", d.Name, watermarkString(d.Applied), d.SchemaGen)
	}
	if len(s.Cursors) > 0 {
		fmt.Fprintln(tw, "\t\t\t")
		fmt.Fprintln(tw, "CURSOR\tPOSITION\t\t")
		for _, c := range s.Cursors {
			fmt.Fprintf(tw, "%s\t%s\t\t\n", c.Name, watermarkString(c.Watermark))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	if len(s.PeerLag) == 0 {
		fmt.Fprintln(w, "peer lag: not reported")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PEER\tADDRESS\tLAG (TXNS)\tLAG\tLAST SYNC\t")
		for _, p := range s.PeerLag {
			last := "never"
			if p.LastSyncUnixMs != 0 {
				last = time.UnixMilli(p.LastSyncUnixMs).UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t\n", p.PeerId, p.Addr, p.LagTransactions, time.Duration(p.LagMs)*time.Millisecond, last)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if sn := s.Snapshot; sn != nil {
		fmt.Fprintf(w, "snapshot: receiving %s from %s: %d of %d bytes\n", sn.Id, sn.Source, sn.BytesDone, sn.BytesTotal)
	}
	if s.Gc == nil {
		_, err := fmt.Fprintln(w, "gc: not reported")
		return err
	}
	last := "never"
	if s.Gc.LastRunUnixMs != 0 {
		last = time.UnixMilli(s.Gc.LastRunUnixMs).UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "gc: trimmed %s, floor %s, last run %s\n", watermarkString(s.Gc.Trimmed), watermarkString(s.Gc.Floor), last)
	return err
}

func bytesIEC(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
