package log

import (
	"errors"
	"io"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The WAL is written with O_DIRECT where the filesystem allows it, as
// MariaDB writes its redo log. Through the page cache, every commit
// point's fdatasync first had to find the pages write() dirtied and write
// them back (ext4_writepages and its bookkeeping: half of the
// fdatasync's CPU, ~6% of marmotd's under sysbench oltp_insert) before the
// device flush. A direct write sends the bytes to the device as it
// returns, so the fdatasync is the flush alone. Direct writes must be
// whole aligned blocks: the writer keeps the file's last partial block in
// memory and writes it again, zero-padded, with each append. That only
// rewrites bytes already written with the same contents (and zeros over
// zeros: the region past the write position is zero-filled, walzero.go),
// so a torn write cannot damage an earlier record.

// directAlign is the alignment of direct writes' offsets, lengths and
// buffers: the page size, which covers every logical block size in use.
const directAlign = 4096

// directWriter appends to a file through an O_DIRECT descriptor.
type directWriter struct {
	fd  int
	buf []byte // aligned; buf[:off-at] holds the file's bytes from at, the rest is zero
	at  int64  // aligned file offset of buf[0]
}

// openDirect opens name for direct writes, or returns nil when the
// filesystem refuses O_DIRECT (tmpfs on older kernels, some network
// filesystems) or a direct write of one aligned block: the caller then
// writes through the page cache. The probe writes zeros over the file's
// first block, where the log's first record is about to go (a new file,
// or a recycled one Pebble rewrites from the start; a log holding only
// zeros reads as empty).
func openDirect(name string) *directWriter {
	fd, err := unix.Open(name, unix.O_WRONLY|unix.O_DIRECT|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	d := &directWriter{fd: fd, buf: alignedBuf(64 << 10)}
	if n, err := unix.Pwrite(fd, d.buf[:directAlign], 0); err != nil || n != directAlign {
		unix.Close(fd)
		return nil
	}
	return d
}

// write writes p at off, the end of everything written so far.
func (d *directWriter) write(p []byte, off int64) error {
	held := int(off - d.at)
	used := held + len(p)
	size := alignUp(used)
	if size > len(d.buf) {
		nb := alignedBuf(max(size, 2*len(d.buf)))
		copy(nb, d.buf[:held])
		d.buf = nb
	}
	copy(d.buf[held:], p)
	for w := 0; w < size; {
		n, err := unix.Pwrite(d.fd, d.buf[w:size], d.at+int64(w))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if n%directAlign != 0 || n == 0 {
			return io.ErrShortWrite // the rest would be misaligned
		}
		w += n
	}
	// Keep the last partial block at the front; clear what it leaves.
	full := used / directAlign * directAlign
	rest := copy(d.buf, d.buf[full:used])
	clear(d.buf[rest:used])
	d.at += int64(full)
	return nil
}

func (d *directWriter) close() error { return unix.Close(d.fd) }

func alignUp(n int) int { return (n + directAlign - 1) / directAlign * directAlign }

// alignedBuf returns n zero bytes starting at a directAlign boundary (Go's
// heap does not move objects).
func alignedBuf(n int) []byte {
	b := make([]byte, n+directAlign)
	skip := (directAlign - int(uintptr(unsafe.Pointer(&b[0]))%directAlign)) % directAlign
	return b[skip : skip+n : skip+n]
}
