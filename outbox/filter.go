package outbox

import (
	"fmt"
	"path"
)

// Filter selects the databases and tables a sink publishes, by glob
// (path.Match syntax: *, ?, [a-z]). An empty list matches everything.
type Filter struct {
	Databases []string
	Tables    []string
}

// Validate reports the first malformed pattern.
func (f Filter) Validate() error {
	for _, p := range append(append([]string{}, f.Databases...), f.Tables...) {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("outbox: bad filter pattern %q: %w", p, err)
		}
	}
	return nil
}

// Database reports whether db's events are published.
func (f Filter) Database(db string) bool { return match(f.Databases, db) }

// Table reports whether events of db.table are published.
func (f Filter) Table(db, table string) bool { return match(f.Databases, db) && match(f.Tables, table) }

func match(patterns []string, name string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}
