package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"

	txlog "github.com/marmotdb/marmot/log"
	marmotv1 "github.com/marmotdb/marmot/proto/marmot/v1"
	"github.com/marmotdb/marmot/proto/marmot/v1/marmotv1connect"
)

// TestPartitionHealConvergesToLWW: nodes {1,2} and {3} are cut apart;
// ONE writes on both sides update, delete and re-insert the same rows.
// After the heal every node converges, without an operator, to the rows
// last-writer-wins gives: per key, the change set with the highest
// (HLC, origin) among all committed ones, computed from the log itself.
// No acknowledged write is missing from the log and no deleted row comes
// back.
func TestPartitionHealConvergesToLWW(t *testing.T) {
	nodes := startClusterAt(t, 3, "part-secret", "ONE", aeEnv(50000)...)
	setupAE(t, nodes)
	const keys = 20
	for k := 1; k <= keys; k++ {
		mustExec(t, nodes[0].DB(t, "ae"), "INSERT INTO t (id, v) VALUES (?, ?)", k, fmt.Sprint("init-", k))
	}
	sameRows(t, nodes, "ae", "t", keys, 30*time.Second)

	partition(t, nodes, []int{0, 1}, []int{2})
	var mu sync.Mutex
	acked := map[string]bool{} // tokens of acknowledged upserts
	var wg sync.WaitGroup
	for w, n := range nodes {
		wg.Add(1)
		go func(w int, db *sql.DB) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < 150; i++ {
				k := 1 + rng.IntN(keys)
				token := fmt.Sprintf("n%d-%d", w+1, i)
				var res sql.Result
				var err error
				op := rng.IntN(3)
				switch op {
				case 0:
					res, err = db.Exec("DELETE FROM t WHERE id = ?", k)
				case 1:
					res, err = db.Exec("UPDATE t SET v = ? WHERE id = ?", token, k)
				default:
					res, err = db.Exec("INSERT INTO t (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = VALUES(v)", k, token)
				}
				if err != nil {
					t.Errorf("node %d: %v", w+1, err)
					return
				}
				// An UPDATE of a row deleted on this side changes nothing.
				if n, _ := res.RowsAffected(); n > 0 && op != 0 {
					mu.Lock()
					acked[token] = true
					mu.Unlock()
				}
			}
		}(w, n.DB(t, "ae"))
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	healed := time.Now()
	heal(t, nodes)
	final := converge(t, nodes, 60*time.Second)
	t.Logf("identical rows on all nodes %v after the heal", time.Since(healed).Round(time.Millisecond))
	// Identical rows can come before identical logs (a write every node
	// later overwrote); wait until no node lacks a change set another has.
	eventually(t, 60*time.Second, func() error {
		var first map[uint64]uint64
		for i, n := range nodes {
			d, err := durableOf(n, "part-secret")
			if err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			if i == 0 {
				first = d
			} else if !maps.Equal(d, first) {
				return fmt.Errorf("node %d holds %v, node 1 %v", i+1, d, first)
			}
		}
		return nil
	})
	t.Logf("identical logs on all nodes %v after the heal", time.Since(healed).Round(time.Millisecond))

	// The oracle, from node 1's log (every change set reached every node).
	nodes[0].Stop()
	l, err := txlog.Open(txlog.Options{Dir: filepath.Join(nodes[0].Dir, "log")})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	type last struct {
		ts  txlog.Timestamp
		row *marmotv1.RowChange
	}
	latest := map[int64]last{}
	inLog := map[string]bool{}
	err = l.Scan(txlog.Timestamp{}, func(cs *marmotv1.ChangeSet) error {
		if cs.Database != "ae" {
			return nil
		}
		ts := txlog.FromProto(cs.Hlc)
		for _, r := range cs.Rows {
			if r.Table != "t" {
				continue
			}
			k := r.Pk[0].GetInt()
			if r.Op != marmotv1.Op_OP_DELETE {
				inLog[string(r.After[1].GetText())] = true
			}
			if cur, ok := latest[k]; !ok || ts.Compare(cur.ts) > 0 {
				latest[k] = last{ts, r}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	missing := 0
	for tok := range acked {
		if !inLog[tok] {
			missing++
			t.Errorf("acknowledged write %s is not in the log", tok)
		}
	}
	if missing > 0 {
		for i, n := range nodes {
			t.Logf("node %d logs:\n%s", i+1, n.Logs())
		}
	}
	var want []string
	for k, e := range latest {
		if e.row.Op != marmotv1.Op_OP_DELETE {
			want = append(want, fmt.Sprintf("%d=%s", k, e.row.After[1].GetText()))
		}
	}
	sort.Strings(want)
	if got := strings.Join(final, ","); got != strings.Join(want, ",") {
		t.Fatalf("rows after the heal differ from last-writer-wins:\n got %s\nwant %s", got, strings.Join(want, ","))
	}
}

// durableOf asks a node's admin API for its durable log watermark.
func durableOf(n *Node, secret string) (map[uint64]uint64, error) {
	client := marmotv1connect.NewAdminServiceClient(http.DefaultClient, fmt.Sprintf("http://127.0.0.1:%d", n.HTTPPort))
	req := connect.NewRequest(&marmotv1.StatusRequest{})
	req.Header().Set("X-Marmot-Secret", secret)
	resp, err := client.Status(context.Background(), req)
	if err != nil {
		return nil, err
	}
	return resp.Msg.Durable, nil
}

// converge waits until every node holds the same rows of ae.t and returns
// them as sorted "id=v".
func converge(t *testing.T, nodes []*Node, timeout time.Duration) []string {
	t.Helper()
	var rows []string
	eventually(t, timeout, func() error {
		var first []string
		for i, n := range nodes {
			got, err := dumpRows(n.DB(t, "ae"))
			if err != nil {
				return fmt.Errorf("node %d: %v", i+1, err)
			}
			if i == 0 {
				first = got
			} else if strings.Join(got, ",") != strings.Join(first, ",") {
				return fmt.Errorf("node %d differs from node 1", i+1)
			}
		}
		rows = first
		return nil
	})
	return rows
}

func dumpRows(db *sql.DB) ([]string, error) {
	rs, err := db.Query("SELECT id, v FROM t ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var id int64
		var v string
		if err := rs.Scan(&id, &v); err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%d=%s", id, v))
	}
	sort.Strings(out)
	return out, rs.Err()
}
