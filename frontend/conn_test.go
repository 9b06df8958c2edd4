package frontend

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// fakeConn serves a fixed byte stream and swallows writes.
type fakeConn struct {
	r   *bytes.Reader
	out bytes.Buffer
}

func (f *fakeConn) Read(p []byte) (int, error)       { return f.r.Read(p) }
func (f *fakeConn) Write(p []byte) (int, error)      { return f.out.Write(p) }
func (f *fakeConn) Close() error                     { return nil }
func (f *fakeConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (f *fakeConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (f *fakeConn) SetDeadline(time.Time) error      { return nil }
func (f *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (f *fakeConn) SetWriteDeadline(time.Time) error { return nil }

func packet(seq byte, payload []byte) []byte {
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), seq}
	return append(h, payload...)
}

func executePacket(id uint32, bound bool, types []byte, values []byte, params int) []byte {
	b := []byte{0x17}
	b = binary.LittleEndian.AppendUint32(b, id)
	b = append(b, 0, 1, 0, 0, 0)
	b = append(b, make([]byte, (params+7)/8)...)
	if bound {
		b = append(b, 1)
		b = append(b, types...)
	} else {
		b = append(b, 0)
	}
	return append(b, values...)
}

// TestRewriteExecuteRestoresTypes: a COM_STMT_EXECUTE without types gets the
// ones of the statement's previous execution.
func TestRewriteExecuteRestoresTypes(t *testing.T) {
	types := []byte{8, 0, 253, 0} // LONGLONG, VAR_STRING
	v1 := append(binary.LittleEndian.AppendUint64(nil, 7), 1, 'a')
	v2 := append(binary.LittleEndian.AppendUint64(nil, 9), 1, 'b')
	stream := append(packet(0, []byte{0x16, 'S', 'E', 'L'}), packet(0, executePacket(1, true, types, v1, 2))...)
	stream = append(stream, packet(0, executePacket(1, false, nil, v2, 2))...)
	c := newBufferedConn(&fakeConn{r: bytes.NewReader(stream)}, 0)
	var got [][]byte
	for i := 0; i < 3; i++ {
		if i == 1 {
			c.preparedParams(2) // as HandleStmtPrepare does after the prepare packet
		}
		pkt, err := c.readPacket()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, c.rewrite(pkt))
	}
	want := packet(0, executePacket(1, true, types, v2, 2))
	if !bytes.Equal(got[2], want) {
		t.Fatalf("rewritten execute\n got %x\nwant %x", got[2], want)
	}
}

// TestMaxAllowedPacket refuses an oversized request without reading it.
func TestMaxAllowedPacketRefused(t *testing.T) {
	fc := &fakeConn{r: bytes.NewReader(packet(0, make([]byte, 2000)))}
	c := newBufferedConn(fc, 1024)
	if _, err := c.Read(make([]byte, 10)); err != errPacketTooLarge {
		t.Fatalf("want errPacketTooLarge, got %v", err)
	}
	if !bytes.Contains(fc.out.Bytes(), []byte("max_allowed_packet")) {
		t.Fatalf("no 1153 error packet sent: %x", fc.out.Bytes())
	}
}

// FuzzPacketReader feeds arbitrary bytes through the packet layer marmot
// owns (framing, max_allowed_packet, COM_STMT_EXECUTE rewriting): it must
// neither panic nor loop forever.
func FuzzPacketReader(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0x0e})
	f.Add(packet(0, executePacket(1, true, []byte{8, 0}, make([]byte, 8), 1)))
	f.Add(packet(0, executePacket(1, false, nil, make([]byte, 8), 1)))
	f.Add([]byte{0xff, 0xff, 0xff, 0, 1, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newBufferedConn(&fakeConn{r: bytes.NewReader(data)}, 1<<20)
		c.prepares = 1
		c.params[1] = 3
		c.types[1] = []byte{8, 0, 253, 0, 1, 0}
		buf := make([]byte, 64)
		for i := 0; i < 1<<16; i++ {
			if _, err := c.Read(buf); err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF && err != errPacketTooLarge {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
		}
		t.Fatal("reader did not finish a finite input")
	})
}
