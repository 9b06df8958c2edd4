package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
)

const outboxResnapshotUsage = `
Usage: marmotctl outbox resnapshot --addr HOST:PORT --sink NAME [--secret S] [--json]

Asks the cluster for a new snapshot of CDC sink NAME: every node stops
publishing the log for that sink, one node (the lowest-id node that can,
as for the initial snapshot) sends an "r" event for every existing row of
every table that passes the sink's filters, and all nodes then continue
from the snapshot's position. Any node may take the call; it returns at
once with the snapshot's epoch, and the node's log says when it is done.
The secret defaults to $MARMOT_CLUSTER_SECRET (the cluster secret).
`

// runOutboxResnapshot calls POST /admin/outbox/resnapshot/{sink}.
func runOutboxResnapshot(ctx context.Context, args []string, stdout io.Writer) error {
	var sink string
	f, err := parseAdminFlags("outbox resnapshot", outboxResnapshotUsage, args, stdout, false, func(fs *flag.FlagSet) {
		fs.StringVar(&sink, "sink", "", "name of the sink ([[publisher.sinks]] name)")
	})
	if err != nil {
		return err
	}
	if sink == "" {
		return usageErrorf("outbox resnapshot", "--sink is required")
	}
	url := f.addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/admin/outbox/resnapshot/"+sink, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Marmot-Secret", f.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return &connError{f.addr, err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusAccepted {
		return &connError{f.addr, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))}
	}
	if f.json {
		_, err := stdout.Write(body)
		return err
	}
	var out struct {
		Sink  string `json:"sink"`
		Epoch uint64 `json:"epoch"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return fmt.Errorf("unexpected answer %q: %w", body, err)
	}
	_, err = fmt.Fprintf(stdout, "snapshot %d of sink %s requested\n", out.Epoch, out.Sink)
	return err
}
