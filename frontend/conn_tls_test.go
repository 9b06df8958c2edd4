package frontend

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// sslRequest is a client's SSLRequest packet (sequence 1).
func sslRequest() []byte {
	body := binary.LittleEndian.AppendUint32(nil, mysql.CLIENT_PROTOCOL_41|mysql.CLIENT_SSL)
	body = binary.LittleEndian.AppendUint32(body, 1<<24)
	body = append(body, mysql.DEFAULT_COLLATION_ID)
	return packet(1, append(body, make([]byte, 23)...))
}

// TestTLSPassThrough: after an SSLRequest the stream is TLS records, which
// must reach the TLS layer byte for byte (never parsed as packets), and a
// client that has not logged in may send only maxRawBeforeAuth of them.
func TestTLSPassThrough(t *testing.T) {
	// Bytes that would look like a COM_STMT_EXECUTE packet and a packet
	// over max_allowed_packet if they were parsed as packets.
	records := append(packet(0, executePacket(1, false, nil, nil, 1)), 0xff, 0xff, 0xff, 0)
	tests := []struct {
		name    string
		budget  int // rawBudget after the SSLRequest; 0 keeps maxRawBeforeAuth
		stream  []byte
		want    []byte
		wantErr error
	}{
		{"records pass through", 0, append(sslRequest(), records...), append(sslRequest(), records...), io.EOF},
		{"plaintext login is parsed", 0, packet(1, make([]byte, 40)), packet(1, make([]byte, 40)), io.EOF},
		{"budget before login", 3, append(sslRequest(), records...), append(sslRequest(), records[:3]...), errPacketTooLarge},
		{"unbounded after login", -1, append(sslRequest(), records...), append(sslRequest(), records...), io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBufferedConn(&fakeConn{r: bytes.NewReader(tt.stream)}, 1024)
			var got []byte
			buf := make([]byte, 7)
			var err error
			for {
				var n int
				n, err = c.Read(buf)
				got = append(got, buf[:n]...)
				if c.raw && tt.budget != 0 && c.rawBudget == maxRawBeforeAuth {
					c.rawBudget = tt.budget
				}
				if err != nil {
					break
				}
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("read % x\nwant % x", got, tt.want)
			}
		})
	}
}

// TestTLSWritesUnbuffered: once TLS started, writes reach the socket at
// once (tls.Conn sets a write deadline around its close_notify).
func TestTLSWritesUnbuffered(t *testing.T) {
	f := &fakeConn{r: bytes.NewReader(sslRequest())}
	c := newBufferedConn(f, 0)
	if _, err := io.ReadFull(c, make([]byte, len(sslRequest()))); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("record")); err != nil {
		t.Fatal(err)
	}
	if f.out.String() != "record" {
		t.Fatalf("socket got %q, want the record unbuffered", f.out.String())
	}
}
