package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// TestOutboxColumnTypes: a row written through MySQL with temporal,
// decimal, boolean and year columns arrives with Debezium's semantic types
// in the schema (io.debezium.time.Date, Timestamp, MicroTimestamp,
// ZonedTimestamp, MicroTime, Year) and the values Debezium's MySQL
// connector sends for them; DECIMAL is a string (decimal.handling.mode =
// string) and BOOL an int16, as Debezium maps TINYINT(1).
func TestOutboxColumnTypes(t *testing.T) {
	n, c := startPublishingNode(t)
	db := n.DB(t, "marmot")
	mustExecOutbox(t, db, `CREATE TABLE ty (id INT PRIMARY KEY, d DATE, dt DATETIME, dt3 DATETIME(3), dt6 DATETIME(6),
		ts TIMESTAMP(3) NULL, tm TIME, tm6 TIME(6), y YEAR, price DECIMAL(10,2), ok BOOL, created DATETIME DEFAULT CURRENT_TIMESTAMP)`)
	mustExecOutbox(t, db, `INSERT INTO ty (id, d, dt, dt3, dt6, ts, tm, tm6, y, price, ok) VALUES
		(1, '2018-06-20', '2018-06-20 06:37:03', '2024-01-02 03:04:05.678', '2024-01-02 03:04:05.000007',
		 '2018-06-20 13:37:03.5', '-12:30:00', '01:02:03.000004', 2024, 2.5, TRUE)`)

	// The row arrives as a create, or as a read ("r") when the publisher's
	// initial snapshot, which starts in the background, runs after the
	// insert (seen under CI load): either carries the same schema and image.
	var ev cdcEvent
	eventually(t, 30*time.Second, func() error {
		for _, e := range c.topic("marmot.cdc.marmot.ty") {
			if e.Op == "c" || e.Op == "r" {
				ev = e
				return nil
			}
		}
		var seen []string
		for _, e := range c.all() {
			seen = append(seen, e.Topic+":"+e.Op)
		}
		return fmt.Errorf("no create or snapshot event for the row yet; events so far: %v", seen)
	})
	var v struct {
		Schema struct {
			Fields []struct {
				Field  string `json:"field"`
				Fields []struct {
					Field string `json:"field"`
					Type  string `json:"type"`
					Name  string `json:"name"`
				} `json:"fields"`
			} `json:"fields"`
		} `json:"schema"`
		Payload struct {
			After map[string]json.RawMessage `json:"after"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(ev.Value, &v); err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range v.Schema.Fields {
		if f.Field == "after" {
			for _, c := range f.Fields {
				types[c.Field] = c.Type + " " + c.Name
			}
		}
	}
	want := map[string][2]string{ // column: schema type and name, value
		"d":     {"int32 io.debezium.time.Date", "17702"},
		"dt":    {"int64 io.debezium.time.Timestamp", "1529476623000"},
		"dt3":   {"int64 io.debezium.time.Timestamp", "1704164645678"},
		"dt6":   {"int64 io.debezium.time.MicroTimestamp", "1704164645000007"},
		"ts":    {"string io.debezium.time.ZonedTimestamp", `"2018-06-20T13:37:03.500Z"`},
		"tm":    {"int64 io.debezium.time.MicroTime", "-45000000000"},
		"tm6":   {"int64 io.debezium.time.MicroTime", "3723000004"},
		"y":     {"int32 io.debezium.time.Year", "2024"},
		"price": {"string ", `"2.50"`},
		"ok":    {"int16 ", "1"},
	}
	for col, w := range want {
		if types[col] != w[0] || string(v.Payload.After[col]) != w[1] {
			t.Errorf("%s: schema %q value %s, want %q %s", col, types[col], v.Payload.After[col], w[0], w[1])
		}
	}
	// A default written by SQLite (CURRENT_TIMESTAMP) is a Timestamp too.
	var created int64
	if err := json.Unmarshal(v.Payload.After["created"], &created); err != nil || types["created"] != "int64 io.debezium.time.Timestamp" ||
		time.Since(time.UnixMilli(created)).Abs() > time.Hour {
		t.Errorf("created: schema %q value %s (%v)", types["created"], v.Payload.After["created"], err)
	}
}
