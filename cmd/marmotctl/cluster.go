package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

const clusterMembersUsage = `
Usage: marmotctl cluster members --addr HOST:PORT [--secret S] [--json]

Lists the cluster's configured members as the node at --addr (its cluster
port, grpc_port) sees them: id, peer address, state (alive, suspect, dead,
left) and the quorum size. The secret defaults to $MARMOT_CLUSTER_SECRET.
`

const clusterRemoveUsage = `
Usage: marmotctl cluster remove --addr HOST:PORT --id N [--secret S]

Removes node N from the cluster: it no longer counts towards quorums and
may not rejoin until allowed. The secret defaults to $MARMOT_CLUSTER_SECRET.
`

const clusterAllowUsage = `
Usage: marmotctl cluster allow --addr HOST:PORT --id N [--secret S]

Lets a removed node N rejoin (it must then be restarted). The secret
defaults to $MARMOT_CLUSTER_SECRET.
`

type adminFlags struct {
	addr, secret string
	json         bool
	id           uint64
}

func parseAdminFlags(name, usage string, args []string, stdout io.Writer, withID bool) (adminFlags, error) {
	var f adminFlags
	fs := newFlagSet(name)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "cluster port of a running node (host:port)")
	fs.StringVar(&f.secret, "secret", os.Getenv("MARMOT_CLUSTER_SECRET"), "cluster secret (default $MARMOT_CLUSTER_SECRET)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	if withID {
		fs.Uint64Var(&f.id, "id", 0, "node id")
	}
	if err := parseFlags(fs, usage, args, stdout); err != nil {
		return f, err
	}
	if withID && f.id == 0 {
		return f, usageErrorf(name, "--id is required")
	}
	if f.secret == "" {
		return f, usageErrorf(name, "no cluster secret: pass --secret or set MARMOT_CLUSTER_SECRET")
	}
	return f, nil
}

// adminCall sends one admin request and decodes its JSON answer into out.
func adminCall(ctx context.Context, f adminFlags, method, path string, out any) error {
	url := f.addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Marmot-Secret", f.secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("node at %s: %w", f.addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("node at %s: HTTP %d: %s", f.addr, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("node at %s: bad answer: %w", f.addr, err)
	}
	return nil
}

type membersAnswer struct {
	Members []struct {
		ID    uint64 `json:"id"`
		Addr  string `json:"addr"`
		State string `json:"state"`
		Self  bool   `json:"self,omitempty"`
	} `json:"members"`
	Quorum int `json:"quorum"`
}

func runClusterMembers(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseAdminFlags("cluster members", clusterMembersUsage, args, stdout, false)
	if err != nil {
		return err
	}
	var a membersAnswer
	if err := adminCall(ctx, f, "GET", "/admin/cluster/members", &a); err != nil {
		return err
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(a)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\t")
	for _, m := range a.Members {
		self := ""
		if m.Self {
			self = "(this node)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.ID, m.Addr, m.State, self)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d members, quorum %d\n", len(a.Members), a.Quorum)
	return err
}

func runClusterRemove(ctx context.Context, args []string, stdout io.Writer) error {
	return clusterChange(ctx, "cluster remove", clusterRemoveUsage, "remove", args, stdout)
}

func runClusterAllow(ctx context.Context, args []string, stdout io.Writer) error {
	return clusterChange(ctx, "cluster allow", clusterAllowUsage, "allow", args, stdout)
}

func clusterChange(ctx context.Context, name, usage, verb string, args []string, stdout io.Writer) error {
	f, err := parseAdminFlags(name, usage, args, stdout, true)
	if err != nil {
		return err
	}
	var a struct {
		OK bool `json:"ok"`
	}
	if err := adminCall(ctx, f, "POST", fmt.Sprintf("/admin/cluster/%s/%d", verb, f.id), &a); err != nil {
		return err
	}
	if !a.OK {
		return errors.New("the node did not confirm the change")
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(map[string]any{"ok": true, "node_id": f.id, "action": verb})
	}
	_, err = fmt.Fprintf(stdout, "node %d: %s done\n", f.id, verb)
	return err
}
