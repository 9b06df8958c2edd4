package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"connectrpc.com/connect"

	"github.com/marmotdb/marmot/antientropy"
	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/peer"
)

const backupUsage = `
Usage: marmotctl backup --addr HOST:PORT --out DIR [--secret S] [--json]

Takes a consistent online backup of the running node at --addr (its
cluster port) into DIR: one SQLite file per database, the row versions, and
manifest.json with the log position the backup holds (per origin, the last
sequence included). It uses the peer RPCs a joining node uses, so the node
must run with a cluster_secret (a single node may set one). The secret
defaults to $MARMOT_CLUSTER_SECRET.

manifest.json is written last: without it the backup is unfinished, and
running the same command into the same DIR resumes the transfer (from the
bytes already there, if the node still holds that snapshot; otherwise it
starts a new one). A complete backup is never overwritten.

Restore it with 'marmotctl restore'. Exits 2 if the node cannot be reached
or refuses the secret.
`

// backupCaller is the node id marmotctl names itself in snapshot requests.
// Generated node ids are 1..1023 and operators number theirs from 1, so
// this one stands out in the source's log and clashes with no node.
const backupCaller uint64 = 1<<64 - 2

func runBackup(ctx context.Context, args []string, stdout io.Writer) error {
	var out, node string
	f, err := parseAdminFlags("backup", backupUsage, args, stdout, false, func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "directory to write the backup into (new or empty, or an unfinished backup to resume)")
		fs.StringVar(&node, "node", "", "same as --addr")
	})
	if err != nil {
		return err
	}
	if node != "" {
		f.addr = node
	}
	if out == "" {
		return usageErrorf("backup", "--out is required")
	}
	client := peer.NewClient(f.secret, backupCaller, f.addr)
	var prog *byteProgress
	if !f.json {
		prog = newByteProgress(stdout)
	}
	start := time.Now()
	res, err := antientropy.FetchBackup(ctx, client, out, backupCaller, prog.update)
	prog.clear()
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) {
			return &connError{f.addr, err}
		}
		return err
	}
	m := res.Manifest
	if f.json {
		return json.NewEncoder(stdout).Encode(map[string]any{
			"dir": out, "id": m.Id, "source_node": m.SourceNode, "watermark": txlog.Watermark(m.Watermark),
			"files": len(m.Files), "bytes": res.Bytes, "resumed": res.Resumed, "created_unix_ms": m.CreatedUnixMs,
		})
	}
	resumed := ""
	if res.Resumed {
		resumed = ", resumed"
	}
	_, err = fmt.Fprintf(stdout, "backup %s of node %d in %s: %d files, %s%s, took %s\nlog position (origin:seq): %s\n",
		m.Id, m.SourceNode, out, len(m.Files), bytesIEC(res.Bytes), resumed, time.Since(start).Round(time.Millisecond), watermarkString(m.Watermark))
	return err
}

// byteProgress shows "done of total" on one line while a transfer runs, only
// when stdout is a terminal: piped output stays the report alone. A nil
// *byteProgress shows nothing.
type byteProgress struct {
	mu   sync.Mutex
	w    io.Writer
	last time.Time
}

func newByteProgress(stdout io.Writer) *byteProgress {
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			return &byteProgress{w: f}
		}
	}
	return nil
}

func (p *byteProgress) update(done, total uint64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// A redraw per 1 MiB chunk would flicker; five a second is plenty.
	if done < total && time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	fmt.Fprintf(p.w, "\rbackup: %s of %s (%.0f%%)\x1b[K", bytesIEC(done), bytesIEC(total), pct)
}

func (p *byteProgress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
}
