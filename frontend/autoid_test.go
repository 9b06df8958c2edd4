package frontend

import (
	"math"
	"strconv"
	"testing"

	"github.com/marmotdb/marmot/frontend/transpile"
)

func TestExplicitID(t *testing.T) {
	st := transpile.Statement{ExplicitIDSQL: "INSERT ...", AutoIDArg: 1}
	neg := st
	neg.AutoIDNegate = true
	cases := []struct {
		name string
		st   transpile.Statement
		args []any
		want int64
		ok   bool
	}{
		{"int64", st, []any{"x", int64(42)}, 42, true},
		{"uint64", st, []any{"x", uint64(42)}, 42, true},
		{"negated", neg, []any{"x", int64(42)}, -42, true},
		{"zero generates", st, []any{"x", int64(0)}, 0, false},
		{"NULL generates", st, []any{"x", nil}, 0, false},
		{"string converts in SQL", st, []any{"x", "42"}, 0, false},
		{"float converts in SQL", st, []any{"x", 4.2}, 0, false},
		{"uint64 beyond int64", st, []any{"x", uint64(math.MaxUint64)}, 0, false},
		{"negated minimum", neg, []any{"x", int64(math.MinInt64)}, 0, false},
		{"argument missing", st, []any{"x"}, 0, false},
		{"no variant", transpile.Statement{AutoIDArg: 1}, []any{"x", int64(42)}, 0, false},
	}
	for _, c := range cases {
		got, ok := explicitID(c.st, c.args)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: explicitID = %d, %v; want %d, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

// TestExplicitAutoIDsThroughSession: explicit ids (which skip
// marmot_auto_id) behave as generated ones do in MySQL's terms: the OK
// packet reports the explicit id, LAST_INSERT_ID() keeps the last
// generated one, and 0 or NULL still generate.
func TestExplicitAutoIDsThroughSession(t *testing.T) {
	s := mfTestSession(t)
	if _, err := s.HandleQuery("CREATE TABLE ai (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)"); err != nil {
		t.Fatal(err)
	}
	res, err := s.HandleQuery("INSERT INTO ai (v) VALUES (1)")
	if err != nil {
		t.Fatal(err)
	}
	generated := int64(res.InsertId)
	if generated == 0 {
		t.Fatal("generated id 0")
	}
	last := strconv.FormatInt(generated, 10)
	steps := []struct {
		q        string
		insertID int64 // 0: a newly generated id
		id       int64 // the row's id (0: the generated one)
	}{
		{"INSERT INTO ai (id, v) VALUES (123456, 2)", 123456, 123456},
		{"INSERT INTO ai (v, id) VALUES (3, -5)", -5, -5},
		{"REPLACE INTO ai (id, v) VALUES (123456, 4)", 123456, 123456},
		{"INSERT INTO ai (id, v) VALUES ('77', 5)", 77, 77},
		{"INSERT INTO ai (id, v) VALUES (0, 6)", 0, 0},
		{"INSERT INTO ai (id, v) VALUES (NULL, 7)", 0, 0},
	}
	for _, st := range steps {
		res, err := s.HandleQuery(st.q)
		if err != nil {
			t.Fatalf("%s: %v", st.q, err)
		}
		got := int64(res.InsertId)
		id := st.id
		if st.insertID == 0 {
			if got == 0 || got == generated {
				t.Fatalf("%s: insert id %d, want a new generated one", st.q, got)
			}
			generated, last, id = got, strconv.FormatInt(got, 10), got
		} else if got != st.insertID {
			t.Fatalf("%s: insert id %d, want %d", st.q, got, st.insertID)
		}
		if v := mfQueryValue(t, s, "SELECT LAST_INSERT_ID()"); v != last {
			t.Errorf("%s: LAST_INSERT_ID() = %s, want %s", st.q, v, last)
		}
		if v := mfQueryValue(t, s, "SELECT COUNT(*) FROM ai WHERE id = "+strconv.FormatInt(id, 10)); v != "1" {
			t.Errorf("%s: no row with id %d", st.q, id)
		}
	}
	if v := mfQueryValue(t, s, "SELECT v FROM ai WHERE id = 123456"); v != "4" {
		t.Errorf("REPLACE with an explicit id: v = %s, want 4", v)
	}
}
