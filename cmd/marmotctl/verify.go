package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"connectrpc.com/connect"

	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
)

const verifyUsage = `
Usage: marmotctl verify --addr HOST:PORT [--secret S] [--json] [--attempts N]

Checks that the cluster's alive members hold the same data. It asks the
node at --addr for the members, then every alive member for a checksum of
every table of every database. A node reads one database in one
transaction, so its checksums belong to one applied watermark. While
writes are in flight the members' watermarks differ; verify then asks
again, up to --attempts times, until they agree. Tables whose checksums
differ are named with the nodes that hold each version.

Exit status: 0 the alive members hold identical data; 1 differences found
(a table or database differs or is missing on a node), or a member is not
alive and was not checked; 2 bad flags, or a node could not be reached or
refused the secret.
`

// A table's checksums are compared when every node reports the same
// watermark for its database; settleWait is the first pause before asking
// again, growing with each attempt.
const settleWait = 200 * time.Millisecond

type verifyNode struct {
	id     uint64
	client *adminClient
}

// dbSums is what one node reported for one database.
type dbSums struct {
	missing bool // the node has no such database
	applied map[uint64]uint64
	tables  map[string]*marmotv1.TableChecksum
}

type verifyReport struct {
	OK          bool         `json:"ok"`
	Checked     []uint64     `json:"checked_nodes"`
	NotChecked  []memberJSON `json:"not_checked"`
	Databases   []dbReport   `json:"databases"`
	Differences []string     `json:"differences"`
}

type dbReport struct {
	Name     string `json:"name"`
	Attempts int    `json:"attempts"`
	// Settled: every node reported the same watermark, so any difference
	// is real, not a write in flight.
	Settled   bool                         `json:"settled"`
	Applied   map[uint64]map[uint64]uint64 `json:"applied"` // node -> origin -> seq
	MissingOn []uint64                     `json:"missing_on,omitempty"`
	Tables    []tableReport                `json:"tables"`
}

type tableReport struct {
	Table     string             `json:"table"`
	Same      bool               `json:"same"`
	Nodes     map[uint64]sumJSON `json:"nodes"` // a node without the table is absent
	DiffersOn []uint64           `json:"differs_on,omitempty"`
}

type sumJSON struct {
	Rows   uint64 `json:"rows"`
	SHA256 string `json:"sha256"`
}

func runVerify(ctx context.Context, args []string, stdout io.Writer) error {
	attempts := 0
	f, err := parseAdminFlags("verify", verifyUsage, args, stdout, false, func(fs *flag.FlagSet) {
		fs.IntVar(&attempts, "attempts", 10, "times to ask for a database's checksums while the nodes' watermarks differ")
	})
	if err != nil {
		return err
	}
	if attempts < 1 {
		return usageErrorf("verify", "--attempts must be at least 1")
	}
	first := newAdminClient(f.addr, f.secret)
	ms, err := first.members(ctx)
	if err != nil {
		return err
	}
	rep := verifyReport{NotChecked: []memberJSON{}, Databases: []dbReport{}, Differences: []string{}}
	var nodes []verifyNode
	for _, m := range ms.Members {
		switch {
		case m.Self:
			// Its advertised address may not be reachable from here;
			// the one we were given is.
			nodes = append(nodes, verifyNode{m.Id, first})
		case m.State == "alive":
			nodes = append(nodes, verifyNode{m.Id, newAdminClient(m.Addr, f.secret)})
		default:
			rep.NotChecked = append(rep.NotChecked, memberJSON{ID: m.Id, Addr: m.Addr, State: m.State})
			rep.Differences = append(rep.Differences, fmt.Sprintf("node %d (%s) is %s: not checked", m.Id, m.Addr, m.State))
		}
	}
	dbs := map[string]bool{}
	for _, n := range nodes {
		rep.Checked = append(rep.Checked, n.id)
		s, err := n.client.status(ctx)
		if err != nil {
			return err
		}
		for _, d := range s.Databases {
			dbs[d.Name] = true
		}
	}

	prog := newProgress(stdout)
	for _, db := range slices.Sorted(maps.Keys(dbs)) {
		dr, err := verifyDatabase(ctx, db, nodes, attempts, prog)
		if err != nil {
			prog.clear()
			return err
		}
		rep.Databases = append(rep.Databases, dr)
		rep.Differences = append(rep.Differences, dbDifferences(dr)...)
	}
	prog.clear()
	rep.OK = len(rep.Differences) == 0

	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := printVerify(stdout, rep); err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("%w: %d difference(s) found", errUnhealthy, len(rep.Differences))
	}
	return nil
}

// verifyDatabase collects every node's checksums of db, asking again while
// the nodes' watermarks differ.
func verifyDatabase(ctx context.Context, db string, nodes []verifyNode, attempts int, prog *progress) (dbReport, error) {
	dr := dbReport{Name: db}
	var sums map[uint64]*dbSums
	for dr.Attempts = 1; ; dr.Attempts++ {
		var err error
		sums, err = collectSums(ctx, db, nodes, prog)
		if err != nil {
			return dr, err
		}
		dr.Settled = settled(sums)
		if dr.Settled || dr.Attempts >= attempts {
			break
		}
		select {
		case <-time.After(time.Duration(dr.Attempts) * settleWait):
		case <-ctx.Done():
			return dr, ctx.Err()
		}
	}

	dr.Applied = map[uint64]map[uint64]uint64{}
	tables := map[string]bool{}
	for id, s := range sums {
		if s.missing {
			dr.MissingOn = append(dr.MissingOn, id)
			continue
		}
		dr.Applied[id] = s.applied
		for t := range s.tables {
			tables[t] = true
		}
	}
	slices.Sort(dr.MissingOn)
	for _, t := range slices.Sorted(maps.Keys(tables)) {
		tr := tableReport{Table: t, Nodes: map[uint64]sumJSON{}}
		groups := map[string][]uint64{} // "rows/sha" or "" (table missing) -> nodes
		for _, n := range nodes {
			s := sums[n.id]
			if s.missing {
				continue
			}
			key := ""
			if tc, ok := s.tables[t]; ok {
				sj := sumJSON{Rows: tc.Rows, SHA256: hex.EncodeToString(tc.Sha256)}
				tr.Nodes[n.id] = sj
				key = fmt.Sprintf("%d/%s", sj.Rows, sj.SHA256)
			}
			groups[key] = append(groups[key], n.id)
		}
		tr.Same = len(groups) == 1
		if !tr.Same {
			tr.DiffersOn = outliers(groups)
		}
		dr.Tables = append(dr.Tables, tr)
	}
	return dr, nil
}

// outliers are the nodes outside the largest group; with no single
// largest group, every node is named.
func outliers(groups map[string][]uint64) []uint64 {
	largest, size := "", 0
	for k, g := range groups {
		if len(g) > size {
			largest, size = k, len(g)
		}
	}
	ties := 0
	for _, g := range groups {
		if len(g) == size {
			ties++
		}
	}
	var out []uint64
	for k, g := range groups {
		if ties > 1 || k != largest {
			out = append(out, g...)
		}
	}
	slices.Sort(out)
	return out
}

func collectSums(ctx context.Context, db string, nodes []verifyNode, prog *progress) (map[uint64]*dbSums, error) {
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
	)
	out := map[uint64]*dbSums{}
	for _, n := range nodes {
		wg.Go(func() {
			s, err := n.client.checksums(ctx, db, prog)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			out[n.id] = s
		})
	}
	wg.Wait()
	return out, first
}

// checksums reads one node's checksum stream for db.
func (c *adminClient) checksums(ctx context.Context, db string, prog *progress) (*dbSums, error) {
	st, err := c.client.Checksums(ctx, request(c, &marmotv1.ChecksumsRequest{Database: db}))
	if err != nil {
		return nil, &connError{c.addr, err}
	}
	defer st.Close()
	s := &dbSums{tables: map[string]*marmotv1.TableChecksum{}}
	for st.Receive() {
		switch m := st.Msg().Item.(type) {
		case *marmotv1.ChecksumsResponse_Header:
			s.applied = m.Header.Applied
			prog.add(db, int(m.Header.Tables), 0)
		case *marmotv1.ChecksumsResponse_Table:
			s.tables[m.Table.Table] = m.Table
			prog.add(db, 0, 1)
		}
	}
	if err := st.Err(); err != nil {
		var ce *connect.Error
		if errors.As(err, &ce) && ce.Code() == connect.CodeNotFound {
			return &dbSums{missing: true}, nil
		}
		return nil, &connError{c.addr, err}
	}
	return s, nil
}

// settled: every node that has the database reports the same watermark
// (an origin a node does not list counts as 0).
func settled(sums map[uint64]*dbSums) bool {
	var ref map[uint64]uint64
	for _, s := range sums {
		if s.missing {
			continue
		}
		if ref == nil {
			ref = s.applied
			if ref == nil {
				ref = map[uint64]uint64{}
			}
			continue
		}
		for o := range keysOf(ref, s.applied) {
			if ref[o] != s.applied[o] {
				return false
			}
		}
	}
	return true
}

func keysOf(a, b map[uint64]uint64) map[uint64]bool {
	out := map[uint64]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// dbDifferences names what differs in one database, one line each.
func dbDifferences(dr dbReport) []string {
	var out []string
	if len(dr.MissingOn) > 0 {
		out = append(out, fmt.Sprintf("database %s is missing on %s", dr.Name, nodeList(dr.MissingOn)))
	}
	note := ""
	if !dr.Settled {
		note = " (the nodes were at different watermarks after every attempt: writes still in flight?)"
	}
	for _, t := range dr.Tables {
		if t.Same {
			continue
		}
		var parts []string
		for _, id := range t.DiffersOn {
			if s, ok := t.Nodes[id]; ok {
				parts = append(parts, fmt.Sprintf("node %d has %d rows, sha256 %.12s", id, s.Rows, s.SHA256))
			} else {
				parts = append(parts, fmt.Sprintf("node %d lacks the table", id))
			}
		}
		var agree []uint64
		var ref sumJSON
		for id, s := range t.Nodes {
			if !slices.Contains(t.DiffersOn, id) {
				agree, ref = append(agree, id), s
			}
		}
		slices.Sort(agree)
		if len(agree) > 0 {
			parts = append(parts, fmt.Sprintf("%s %d rows, sha256 %.12s", nodeList(agree), ref.Rows, ref.SHA256))
		}
		out = append(out, fmt.Sprintf("table %s.%s differs on %s: %s%s", dr.Name, t.Table, nodeList(t.DiffersOn), strings.Join(parts, "; "), note))
	}
	return out
}

func nodeList(ids []uint64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	if len(ids) == 1 {
		return "node " + s[0]
	}
	return "nodes " + strings.Join(s, ",")
}

func printVerify(w io.Writer, rep verifyReport) error {
	tables := 0
	for _, d := range rep.Databases {
		tables += len(d.Tables)
	}
	fmt.Fprintf(w, "checked %s: %d databases, %d tables\n", nodeList(rep.Checked), len(rep.Databases), tables)
	for _, d := range rep.Differences {
		fmt.Fprintln(w, d)
	}
	if rep.OK {
		_, err := fmt.Fprintln(w, "identical")
		return err
	}
	return nil
}

// progress is a one-line "tables done / total" counter, shown only when
// stdout is a terminal: piped output must stay the report alone.
type progress struct {
	mu          sync.Mutex
	w           io.Writer // nil: not a terminal
	done, total int
	db          string
}

func newProgress(stdout io.Writer) *progress {
	p := &progress{}
	if f, ok := stdout.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.w = f
		}
	}
	return p
}

func (p *progress) add(db string, total, done int) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total += total
	p.done += done
	p.db = db
	fmt.Fprintf(p.w, "\rverify: %d/%d tables (%s)\x1b[K", p.done, p.total, p.db)
}

func (p *progress) clear() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
}
