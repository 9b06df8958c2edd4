package log

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestDirectWriter: appends of any size and alignment through O_DIRECT
// leave the file holding exactly the bytes written, followed by zeros
// (the block padding), including after the buffer grows.
func TestDirectWriter(t *testing.T) {
	cases := []struct {
		name  string
		sizes []int
	}{
		{"small appends within a block", []int{1, 2, 3, 100, 1000}},
		{"ends exactly on blocks", []int{4096, 4096, 8192}},
		{"straddles blocks", []int{4095, 2, 4095, 1, 8191}},
		{"larger than the buffer", []int{10, 200 << 10, 7, 300 << 10}},
		{"random", randomSizes(200)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "000001.log")
			// Zero-filled beyond the data, as walZeroFile keeps a WAL.
			if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
				t.Fatal(err)
			}
			d := openDirect(path)
			if d == nil {
				t.Skip("the temp directory's filesystem refuses O_DIRECT")
			}
			var want []byte
			for i, n := range c.sizes {
				p := bytes.Repeat([]byte{byte(i%250 + 1)}, n)
				if err := d.write(p, int64(len(want))); err != nil {
					t.Fatal(err)
				}
				want = append(want, p...)
			}
			if err := d.close(); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) < len(want) || !bytes.Equal(got[:len(want)], want) {
				t.Fatalf("the file does not hold the %d bytes written", len(want))
			}
			if tail := got[len(want):]; !bytes.Equal(tail, make([]byte, len(tail))) {
				t.Fatal("bytes past the data are not zero")
			}
		})
	}
}

func randomSizes(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	s := make([]int, n)
	for i := range s {
		s[i] = 1 + r.IntN(3*directAlign)
	}
	return s
}

// TestWALWrittenDirect: a log on the real filesystem writes its WAL with
// O_DIRECT when the filesystem allows it (a silent fallback to the page
// cache would cost every commit point the writeback of its pages).
func TestWALWrittenDirect(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe")
	if err := os.WriteFile(probe, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if d := openDirect(probe); d == nil {
		t.Skip("the temp directory's filesystem refuses O_DIRECT")
	} else {
		d.close()
	}
	fs := withWALZeroFill(vfs.Default)
	f, err := fs.Create(filepath.Join(t.TempDir(), "000002.log"), vfs.WriteCategoryUnspecified)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if wf, ok := f.(*walZeroFile); !ok || wf.direct == nil {
		t.Fatal("the WAL is not written with O_DIRECT")
	}
}
