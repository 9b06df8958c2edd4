package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	"github.com/marmotdb/marmot/peer"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// logCaller is the node id marmotctl names itself in the Pull and
// SyncStatus calls of the online log commands. Like backupCaller it is no
// node's id (a node refuses a Pull from its own id); being distinct from
// it, the node's log tells a log reader from a backup.
const logCaller uint64 = 1<<64 - 3

// noteOut receives notes that are not the command's output (a trimmed
// range skipped), so --json stdout stays NDJSON. Tests replace it.
var noteOut io.Writer = os.Stderr

// logTarget is where a log command reads from: a data dir on disk
// (offline, --data-dir, marmotd stopped) or a running node over the peer
// RPC (online, --addr with the cluster secret). Exactly one is given.
type logTarget struct {
	target
	secret string
}

func (t *logTarget) register(fs *flag.FlagSet) {
	t.cmd = fs.Name()
	fs.StringVar(&t.dataDir, "data-dir", "", "marmotd data directory, read offline (marmotd must be stopped)")
	fs.StringVar(&t.addr, "addr", "", "cluster port of a running marmotd (host:port), read online over the peer RPC")
	// No env default here: -h prints defaults, and it must not print the secret.
	fs.StringVar(&t.secret, "secret", "", "cluster secret for --addr (default $MARMOT_CLUSTER_SECRET)")
}

// online validates the flag combination and says which mode it picks.
func (t *logTarget) online() (bool, error) {
	switch {
	case t.addr != "" && t.dataDir != "":
		return false, usageErrorf(t.cmd, "--data-dir and --addr exclude each other")
	case t.addr == "" && t.dataDir == "":
		return false, usageErrorf(t.cmd, "--data-dir is required (the marmotd data_dir, e.g. ./marmot-data), or --addr HOST:PORT for a running node")
	case t.dataDir != "":
		return false, nil
	}
	if t.secret == "" {
		t.secret = os.Getenv("MARMOT_CLUSTER_SECRET")
	}
	if t.secret == "" {
		return false, usageErrorf(t.cmd, "no cluster secret: pass --secret or set MARMOT_CLUSTER_SECRET")
	}
	return true, nil
}

// dial connects to the node at --addr; call online first.
func (t *logTarget) dial(ctx context.Context) (*remoteLog, error) {
	r := &remoteLog{addr: t.addr, client: peer.NewClient(t.secret, logCaller, t.addr)}
	st, err := r.status(ctx)
	if err != nil {
		return nil, err
	}
	r.node = st.NodeId
	r.durable = watermarkOf(st.Durable)
	r.floors = watermarkOf(st.Floors)
	return r, nil
}

func watermarkOf(m map[uint64]uint64) txlog.Watermark {
	if m == nil {
		return txlog.Watermark{}
	}
	return txlog.Watermark(m)
}

// remoteLog reads a running node's log with the RPCs its peers use. The
// node's durable watermark at dial time bounds every scan, so list, stats
// and show end even while the node keeps committing.
type remoteLog struct {
	addr    string
	client  marmotv1connect.PeerServiceClient
	node    uint64
	durable txlog.Watermark // at dial time
	floors  txlog.Watermark // below these the node's log holds nothing
}

func (r *remoteLog) status(ctx context.Context) (*marmotv1.SyncStatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := r.client.SyncStatus(ctx, connect.NewRequest(&marmotv1.SyncStatusRequest{NodeId: logCaller}))
	if err != nil {
		return nil, &connError{r.addr, err}
	}
	return resp.Msg, nil
}

// origins lists the origins the node held change sets of at dial time.
func (r *remoteLog) origins() []uint64 {
	return slices.Sorted(maps.Keys(r.durable))
}

// noteTrimmed says that origin's change sets up to floor are gone, and
// that the command goes on with what the node still holds.
func noteTrimmed(origin, floor uint64) {
	fmt.Fprintf(noteOut, "marmotctl: log trimmed up to seq %d for origin %d by GC; continuing from seq %d\n", floor, origin, floor+1)
}

// errReached ends a stream that delivered everything asked of it.
var errReached = errors.New("reached the end of the range")

// pull runs a Pull stream from wm and hands each change set to fn, in
// sequence order per origin, until fn returns an error or ctx ends; wm
// advances with every change set fn accepted. A stream refused because
// part of the range was trimmed is reported (noteTrimmed) and restarted
// from the floor: the log no longer holds what it skips, offline either.
func (r *remoteLog) pull(ctx context.Context, wm txlog.Watermark, relayAll bool, fn func(origin, seq uint64, data []byte) error) error {
	for {
		err := r.pullOnce(ctx, wm, relayAll, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if connect.CodeOf(err) != connect.CodeFailedPrecondition || !strings.Contains(err.Error(), "trimmed") {
			return err
		}
		st, serr := r.status(ctx)
		if serr != nil {
			return serr
		}
		r.floors = watermarkOf(st.Floors)
		raised := false
		for _, o := range slices.Sorted(maps.Keys(r.floors)) {
			if f := r.floors[o]; wm[o] < f {
				noteTrimmed(o, f)
				wm[o], raised = f, true
			}
		}
		if !raised {
			return &connError{r.addr, err}
		}
	}
}

func (r *remoteLog) pullOnce(ctx context.Context, wm txlog.Watermark, relayAll bool, fn func(origin, seq uint64, data []byte) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := r.client.Pull(ctx, connect.NewRequest(&marmotv1.PullRequest{
		Watermark: maps.Clone(wm), NodeId: logCaller, RelayAll: relayAll,
	}))
	if err != nil {
		return &connError{r.addr, err}
	}
	defer stream.Close()
	for stream.Receive() {
		msg := stream.Msg()
		if len(msg.ChangeSet) == 0 || msg.Seq <= wm[msg.Origin] {
			continue
		}
		if err := fn(msg.Origin, msg.Seq, msg.ChangeSet); err != nil {
			return err
		}
		wm[msg.Origin] = msg.Seq
	}
	err = stream.Err()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case connect.CodeOf(err) == connect.CodeFailedPrecondition:
		return err // pull decides: a trimmed range, or a refusal
	case err == nil:
		// Pull ends only when the node goes away (shutdown).
		err = errors.New("the node ended the stream (shutting down?)")
	}
	return &connError{r.addr, err}
}

// scanOrigin calls fn for origin's change sets with sequence after+1 up to
// upto, in sequence order. fn returning txlog.Stop ends the scan early.
func (r *remoteLog) scanOrigin(ctx context.Context, origin, after, upto uint64, fn func(*marmotv1.ChangeSet) error) error {
	if after >= upto {
		return nil
	}
	// Every other origin starts at the node's watermark: the catch-up sends
	// only this origin, and what the others commit meanwhile is skipped.
	wm := maps.Clone(r.durable)
	wm[origin] = after
	err := r.pull(ctx, wm, false, func(o, seq uint64, data []byte) error {
		if o != origin {
			return nil
		}
		cs, err := txlog.DecodeChangeSet(data)
		if err != nil {
			return fmt.Errorf("node at %s sent an undecodable change set %d/%d: %w", r.addr, o, seq, err)
		}
		if err := fn(cs); err != nil {
			return err
		}
		if seq >= upto {
			return errReached
		}
		return nil
	})
	if errors.Is(err, errReached) || errors.Is(err, txlog.Stop) {
		return nil
	}
	return err
}

// scan calls fn for the change sets of origins (all the node's if nil)
// with sequence above after[origin], up to the node's durable watermark at
// dial time, in HLC order: one stream per origin, merged. Each origin's
// sequence order is its HLC order, so the merge needs one change set per
// origin in hand, never the whole log. A start below the node's floor is
// noted and raised to it. fn returning txlog.Stop ends the scan early.
func (r *remoteLog) scan(ctx context.Context, after txlog.Watermark, origins []uint64, fn func(*marmotv1.ChangeSet) error) error {
	if origins == nil {
		origins = r.origins()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type item struct {
		cs  *marmotv1.ChangeSet
		err error
	}
	type head struct {
		ch  chan item
		cur *marmotv1.ChangeSet
	}
	var heads []*head
	for _, o := range origins {
		start := after[o]
		if f := r.floors[o]; start < f {
			noteTrimmed(o, f)
			start = f
		}
		if start >= r.durable[o] {
			continue
		}
		h := &head{ch: make(chan item, 64)}
		heads = append(heads, h)
		go func() {
			defer close(h.ch)
			err := r.scanOrigin(ctx, o, start, r.durable[o], func(cs *marmotv1.ChangeSet) error {
				select {
				case h.ch <- item{cs: cs}:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil {
				select {
				case h.ch <- item{err: err}:
				case <-ctx.Done(): // the consumer is gone
				}
			}
		}()
	}
	// next moves h to its origin's next change set; false when it has none.
	next := func(h *head) (bool, error) {
		it, ok := <-h.ch
		switch {
		case !ok:
			return false, ctx.Err()
		case it.err != nil:
			return false, it.err
		}
		h.cur = it.cs
		return true, nil
	}
	live := heads[:0]
	for _, h := range heads {
		ok, err := next(h)
		if err != nil {
			return err
		}
		if ok {
			live = append(live, h)
		}
	}
	for len(live) > 0 {
		best := 0
		for i, h := range live[1:] {
			if txlog.FromProto(h.cur.Hlc).Compare(txlog.FromProto(live[best].cur.Hlc)) < 0 {
				best = i + 1
			}
		}
		h := live[best]
		if err := fn(h.cur); err != nil {
			if errors.Is(err, txlog.Stop) {
				return nil
			}
			return err
		}
		ok, err := next(h)
		if err != nil {
			return err
		}
		if !ok {
			live = slices.Delete(live, best, best+1)
		}
	}
	return ctx.Err()
}

// follow calls fn for every change set of every origin beyond wm as it
// becomes durable on the node, in the order they arrive, until ctx ends.
// The stream asks the node to relay every origin: a follower of one node
// sees nothing else.
func (r *remoteLog) follow(ctx context.Context, wm txlog.Watermark, fn func(*marmotv1.ChangeSet) error) error {
	err := r.pull(ctx, maps.Clone(wm), true, func(o, seq uint64, data []byte) error {
		cs, err := txlog.DecodeChangeSet(data)
		if err != nil {
			return fmt.Errorf("node at %s sent an undecodable change set %d/%d: %w", r.addr, o, seq, err)
		}
		return fn(cs)
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}
