package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDataLocalInfile loads a TSV and a CSV file with the mysql CLI's
// LOAD DATA LOCAL INFILE: NULLs, escapes, enclosures, IGNORE n LINES, a
// column list; LOAD DATA without LOCAL is refused.
func TestLoadDataLocalInfile(t *testing.T) {
	n := StartNode(t)
	dir := t.TempDir()
	tsv, csv := filepath.Join(dir, "a.tsv"), filepath.Join(dir, "b.csv")
	os.WriteFile(tsv, []byte("1\tapple\t1.5\n2\t\"quoted\"\t\\N\n3\ttab\\there\t2\n"), 0o644)
	os.WriteFile(csv, []byte("id,name\n10,\"a,b\"\n11,\"say \"\"hi\"\"\"\n"), 0o644)
	script := "CREATE TABLE l (id INT PRIMARY KEY, name VARCHAR(50), v DOUBLE);\n" +
		"LOAD DATA LOCAL INFILE '" + tsv + "' INTO TABLE l;\n" +
		"LOAD DATA LOCAL INFILE '" + csv + "' INTO TABLE l FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES (id, name);\n" +
		"SELECT id, name = CONCAT('tab', CHAR(9), 'here') AS tab_ok, v IS NULL AS v_null, name FROM l ORDER BY id;\n"
	out, err := n.MySQL(t, script, "--local-infile=1", "marmot")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"1\t0\t0\tapple", "2\t0\t1\t\"quoted\"", "3\t1\t0\t", "10\t0\t1\ta,b", "11\t0\t1\tsay \"hi\""} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	out, err = n.MySQL(t, "LOAD DATA INFILE '"+tsv+"' INTO TABLE l;", "marmot")
	if err == nil || !strings.Contains(out, "1290") {
		t.Fatalf("server-side LOAD DATA: want error 1290, got %v %s", err, out)
	}
}
