package frontend

import (
	"bufio"
	"net"
)

// bufferedConn coalesces the many small packets of a response (column
// count, one per field, EOF, one per row, EOF) into few writes: go-mysql
// writes each packet straight to the socket, which costs a syscall each.
// Output is flushed whenever the server is about to wait for input and on
// Close, so the request/response protocol never stalls on a buffered reply.
type bufferedConn struct {
	net.Conn
	w *bufio.Writer
}

func newBufferedConn(c net.Conn) *bufferedConn {
	return &bufferedConn{Conn: c, w: bufio.NewWriterSize(c, 16<<10)}
}

func (c *bufferedConn) Write(p []byte) (int, error) { return c.w.Write(p) }

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	return c.Conn.Read(p)
}

func (c *bufferedConn) Close() error {
	_ = c.w.Flush()
	return c.Conn.Close()
}
