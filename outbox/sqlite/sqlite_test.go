package sqlite

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"testing"
)

func TestCatalog(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite3", filepath.Join(dir, "shop.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("CREATE TABLE orders (note TEXT, b INT, a VARCHAR(10), PRIMARY KEY (a, b))"); err != nil {
		t.Fatal(err)
	}
	c := &Catalog{Dir: dir}
	got, ok := c.Table("shop", "orders")
	if !ok || !reflect.DeepEqual(got.PK, []string{"a", "b"}) || got.Types["a"] != "VARCHAR(10)" || got.Types["b"] != "INT" {
		t.Fatalf("Table = %+v, %v", got, ok)
	}
	if _, ok := c.Table("shop", "missing"); ok {
		t.Fatal("missing table known")
	}
	if _, err := db.Exec("CREATE TABLE missing (id BIGINT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	c.Forget("shop")
	if got, ok := c.Table("shop", "missing"); !ok || got.PK[0] != "id" {
		t.Fatalf("after Forget: %+v %v", got, ok)
	}
}
