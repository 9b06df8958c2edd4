package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"connectrpc.com/connect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

const clusterMembersUsage = `
Usage: marmotctl cluster members --addr HOST:PORT [--secret S] [--json]

Lists the cluster's configured members as the node at --addr (its cluster
port, grpc_port) sees them: id, peer address, state (alive, suspect, dead,
left) and the quorum size. The secret defaults to $MARMOT_CLUSTER_SECRET.
Exits 2 if the node cannot be reached or refuses the secret.
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

// callTimeout bounds one unary admin call; checksum streams are bounded
// only by the command's context, since a large table takes long to hash.
const callTimeout = 10 * time.Second

type adminFlags struct {
	addr, secret string
	json         bool
	id           uint64
}

// parseAdminFlags parses the flags every online command shares; extra adds
// a command's own.
func parseAdminFlags(name, usage string, args []string, stdout io.Writer, withID bool, extra ...func(*flag.FlagSet)) (adminFlags, error) {
	var f adminFlags
	fs := newFlagSet(name)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "cluster port of a running node (host:port)")
	fs.StringVar(&f.secret, "secret", os.Getenv("MARMOT_CLUSTER_SECRET"), "cluster secret (default $MARMOT_CLUSTER_SECRET)")
	fs.BoolVar(&f.json, "json", false, "print JSON")
	if withID {
		fs.Uint64Var(&f.id, "id", 0, "node id")
	}
	for _, e := range extra {
		e(fs)
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

// connError is a failure to get an answer from a node (unreachable,
// secret refused, call failed): the command could not do its check, which
// scripts must tell apart from a check that found a problem (exit 2, not 1).
type connError struct {
	addr string
	err  error
}

func (e *connError) Error() string {
	var ce *connect.Error
	if errors.As(e.err, &ce) {
		return fmt.Sprintf("node at %s: %s (%s)", e.addr, ce.Message(), ce.Code())
	}
	return fmt.Sprintf("node at %s: %v", e.addr, e.err)
}

func (e *connError) Unwrap() error { return e.err }

// adminClient talks to one node's AdminService. Every call carries the
// secret; the node compares it with its own cluster_secret.
type adminClient struct {
	addr   string
	client marmotv1connect.AdminServiceClient
	secret string
}

func newAdminClient(addr, secret string) *adminClient {
	url := addr
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	return &adminClient{addr: addr, secret: secret, client: marmotv1connect.NewAdminServiceClient(http.DefaultClient, url)}
}

// request wraps msg with the secret header.
func request[T any](c *adminClient, msg *T) *connect.Request[T] {
	r := connect.NewRequest(msg)
	r.Header().Set("X-Marmot-Secret", c.secret)
	return r
}

func (c *adminClient) members(ctx context.Context) (*marmotv1.MembersResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.client.Members(ctx, request(c, &marmotv1.MembersRequest{}))
	if err != nil {
		return nil, &connError{c.addr, err}
	}
	return resp.Msg, nil
}

func (c *adminClient) status(ctx context.Context) (*marmotv1.StatusResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	resp, err := c.client.Status(ctx, request(c, &marmotv1.StatusRequest{}))
	if err != nil {
		return nil, &connError{c.addr, err}
	}
	return resp.Msg, nil
}

// membersJSON is the shape `cluster members --json` has always printed
// (the same as the plain-HTTP endpoint's).
type membersJSON struct {
	Members []memberJSON `json:"members"`
	Quorum  int          `json:"quorum"`
}

type memberJSON struct {
	ID    uint64 `json:"id"`
	Addr  string `json:"addr"`
	State string `json:"state"`
	Self  bool   `json:"self,omitempty"`
}

func runClusterMembers(ctx context.Context, args []string, stdout io.Writer) error {
	f, err := parseAdminFlags("cluster members", clusterMembersUsage, args, stdout, false)
	if err != nil {
		return err
	}
	a, err := newAdminClient(f.addr, f.secret).members(ctx)
	if err != nil {
		return err
	}
	if f.json {
		out := membersJSON{Members: []memberJSON{}, Quorum: int(a.Quorum)}
		for _, m := range a.Members {
			out.Members = append(out.Members, memberJSON{ID: m.Id, Addr: m.Addr, State: m.State, Self: m.Self})
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	if err := printMembers(stdout, a.Members); err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d members, quorum %d\n", len(a.Members), a.Quorum)
	return err
}

func printMembers(w io.Writer, members []*marmotv1.Member) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\t")
	for _, m := range members {
		self := ""
		if m.Self {
			self = "(this node)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Id, m.Addr, m.State, self)
	}
	return tw.Flush()
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
	c := newAdminClient(f.addr, f.secret)
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if verb == "remove" {
		_, err = c.client.Remove(ctx, request(c, &marmotv1.RemoveRequest{NodeId: f.id}))
	} else {
		_, err = c.client.Allow(ctx, request(c, &marmotv1.AllowRequest{NodeId: f.id}))
	}
	if err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Code() == connect.CodeFailedPrecondition {
			// The node answered and refused the change: not a connection
			// problem.
			return fmt.Errorf("node at %s: %s", f.addr, ce.Message())
		}
		return &connError{f.addr, err}
	}
	if f.json {
		return json.NewEncoder(stdout).Encode(map[string]any{"ok": true, "node_id": f.id, "action": verb})
	}
	_, err = fmt.Fprintf(stdout, "node %d: %s done\n", f.id, verb)
	return err
}
