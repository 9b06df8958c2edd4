package frontend

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// bufferedConn sits between the socket and go-mysql's packet layer.
//
// Writes: go-mysql writes each packet of a response (column count, one per
// field, EOF, one per row, EOF) straight to the socket, a syscall each. They
// are buffered here and flushed whenever the server is about to wait for
// input, and on Close, so the request/response protocol never stalls.
//
// Reads: COM_STMT_EXECUTE may omit the parameter types when they are the
// same as in the previous execution of the statement (new-params-bound flag
// 0; libmysqlclient does this, so sysbench and PHP do). go-mysql then binds
// no values at all, so every parameter arrives as NULL. Such packets are
// rewritten here to carry the remembered types again. Only command packets
// (sequence 0) are inspected.
//
// TLS: after a client's SSLRequest the bytes below are TLS records, which
// this layer passes through untouched (raw); the server then puts a second
// bufferedConn above the TLS connection for the packet work. Until it does,
// raw reads are capped at rawBudget bytes, so a client that has not logged
// in cannot make the server buffer an unbounded handshake.
//
// Used by one connection goroutine only.
type bufferedConn struct {
	net.Conn
	w       *bufio.Writer
	r       *bufio.Reader
	pending []byte // rewritten bytes not yet handed to the reader
	raw     bool   // TLS records follow the SSLRequest: pass bytes through
	// rawBudget is how many raw bytes may still be read; < 0 is unbounded.
	rawBudget int

	maxPacket int // max_allowed_packet: bigger requests are refused (1153)
	inPacket  int // bytes of the request being read (split packets add up)

	prepares uint32            // COM_STMT_PREPAREs seen = go-mysql's last statement id
	params   map[uint32]int    // statement id -> parameter count
	types    map[uint32][]byte // statement id -> parameter types of the last bound execute
}

func newBufferedConn(c net.Conn, maxPacket int) *bufferedConn {
	return &bufferedConn{Conn: c, w: bufio.NewWriterSize(c, 16<<10), r: bufio.NewReaderSize(c, 16<<10),
		maxPacket: maxPacket, params: map[uint32]int{}, types: map[uint32][]byte{}}
}

// sslRequestLen is the body length of an SSLRequest: capabilities, max
// packet size, character set and 23 reserved bytes (a full handshake
// response is longer: it names the user).
const sslRequestLen = 4 + 4 + 1 + 23

// maxRawBeforeAuth bounds the bytes a TLS client may send before it has
// logged in (TLS handshake and login packets take a few KB).
const maxRawBeforeAuth = 1 << 20

// errPacketTooLarge ends a connection whose request exceeds
// max_allowed_packet, after telling the client, as MySQL does.
var errPacketTooLarge = errors.New("frontend: packet larger than max_allowed_packet")

func (c *bufferedConn) Write(p []byte) (int, error) {
	if c.raw {
		// TLS records go out as written: the layer above TLS batches, and
		// tls.Conn's close_notify must not stay buffered past the write
		// deadline it sets for it.
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
		return c.Conn.Write(p)
	}
	return c.w.Write(p)
}

func (c *bufferedConn) Close() error {
	_ = c.w.Flush()
	return c.Conn.Close()
}

// preparedParams records the parameter count of the statement being
// prepared (called from HandleStmtPrepare).
func (c *bufferedConn) preparedParams(n int) { c.params[c.prepares] = n }

func (c *bufferedConn) Read(p []byte) (int, error) {
	if c.w.Buffered() > 0 {
		if err := c.w.Flush(); err != nil {
			return 0, err
		}
	}
	if len(c.pending) == 0 && c.raw {
		if c.rawBudget == 0 {
			return 0, errPacketTooLarge
		}
		if c.rawBudget > 0 && len(p) > c.rawBudget {
			p = p[:c.rawBudget]
		}
		n, err := c.r.Read(p)
		if c.rawBudget > 0 {
			c.rawBudget -= n
		}
		return n, err
	}
	if len(c.pending) == 0 {
		pkt, err := c.readPacket()
		if err != nil {
			return 0, err
		}
		c.pending = c.rewrite(pkt)
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// readPacket reads one whole packet, header included.
func (c *bufferedConn) readPacket() ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(c.r, hdr[:]); err != nil {
		return nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	c.inPacket += n
	if c.maxPacket > 0 && c.inPacket > c.maxPacket {
		// Refuse before buffering it: a client must not make the server
		// allocate arbitrary memory.
		msg := "Got a packet bigger than 'max_allowed_packet' bytes"
		e := []byte{0, 0, 0, hdr[3] + 1, 0xff, byte(mysql.ER_NET_PACKET_TOO_LARGE & 0xff), byte(mysql.ER_NET_PACKET_TOO_LARGE >> 8), '#'}
		e = append(append(e, "08S01"...), msg...)
		e[0], e[1], e[2] = byte(len(e)-4), byte((len(e)-4)>>8), byte((len(e)-4)>>16)
		_, _ = c.Conn.Write(e)
		return nil, errPacketTooLarge
	}
	if n < 0xffffff {
		c.inPacket = 0 // the request ends with this packet
	}
	pkt := make([]byte, 4+n)
	copy(pkt, hdr[:])
	if _, err := io.ReadFull(c.r, pkt[4:]); err != nil {
		return nil, err
	}
	return pkt, nil
}

func (c *bufferedConn) rewrite(pkt []byte) []byte {
	body := pkt[4:]
	if pkt[3] == 1 && len(body) == sslRequestLen && binary.LittleEndian.Uint32(body)&mysql.CLIENT_SSL != 0 {
		// The SSLRequest, the client's first packet when it wants TLS:
		// the TLS handshake follows.
		c.raw, c.rawBudget = true, maxRawBeforeAuth
		return pkt
	}
	if pkt[3] != 0 || len(body) == 0 || len(body) >= 0xffffff {
		return pkt
	}
	switch body[0] {
	case mysql.COM_STMT_PREPARE:
		c.prepares++
	case mysql.COM_STMT_CLOSE:
		if len(body) >= 5 {
			id := binary.LittleEndian.Uint32(body[1:])
			delete(c.params, id)
			delete(c.types, id)
		}
	case mysql.COM_STMT_EXECUTE:
		return c.rewriteExecute(pkt)
	}
	return pkt
}

func (c *bufferedConn) rewriteExecute(pkt []byte) []byte {
	body := pkt[4:]
	if len(body) < 10 {
		return pkt
	}
	id := binary.LittleEndian.Uint32(body[1:])
	n, ok := c.params[id]
	if !ok || n == 0 {
		return pkt
	}
	flagPos := 10 + (n+7)/8 // command, id, flags, iteration count, null bitmap
	if len(body) <= flagPos {
		return pkt
	}
	switch body[flagPos] {
	case 1:
		if len(body) >= flagPos+1+2*n {
			c.types[id] = append([]byte(nil), body[flagPos+1:flagPos+1+2*n]...)
		}
		return pkt
	case 0:
		types, ok := c.types[id]
		if !ok {
			return pkt
		}
		nb := make([]byte, 0, len(body)+len(types))
		nb = append(nb, body[:flagPos]...)
		nb = append(nb, 1)
		nb = append(nb, types...)
		nb = append(nb, body[flagPos+1:]...)
		if len(nb) >= 0xffffff {
			return pkt
		}
		out := make([]byte, 4, 4+len(nb))
		out[0], out[1], out[2], out[3] = byte(len(nb)), byte(len(nb)>>8), byte(len(nb)>>16), 0
		return append(out, nb...)
	}
	return pkt
}
