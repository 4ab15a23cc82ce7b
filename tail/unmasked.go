package tail

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
)

// wrangler tail sends its first message ({"debug": false}) unmasked (ws's
// send option mask: false). RFC 6455 §5.1 has a server close the
// connection on an unmasked frame from a client, and the WebSocket library
// does; Cloudflare's tail server reads it, so cairn's does too. The
// connection handed to the library gives every unmasked frame from the
// client a mask of zeros, which leaves its payload as it is (XOR with 0),
// so the library reads the frames it expects.

// maskingWriter hijacks connections whose client frames are made masked.
type maskingWriter struct {
	http.ResponseWriter
}

func (w maskingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not support hijacking")
	}
	conn, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	buffered, _ := brw.Reader.Peek(brw.Reader.Buffered())
	mc := &maskingConn{Conn: conn, src: io.MultiReader(bytes.NewReader(bytes.Clone(buffered)), conn)}
	return mc, bufio.NewReadWriter(bufio.NewReader(mc), brw.Writer), nil
}

func (w maskingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// maskingConn passes the frames read from src on with the mask bit set: a
// frame that had none gets a zero masking key.
type maskingConn struct {
	net.Conn
	src     io.Reader
	header  []byte // the current frame's header, still to be read
	payload uint64 // bytes of the current frame's payload still to be read
	buf     [14]byte
}

func (c *maskingConn) Read(p []byte) (int, error) {
	if len(c.header) == 0 && c.payload == 0 {
		if err := c.nextHeader(); err != nil {
			return 0, err
		}
	}
	if len(c.header) > 0 {
		n := copy(p, c.header)
		c.header = c.header[n:]
		return n, nil
	}
	if uint64(len(p)) > c.payload {
		p = p[:c.payload]
	}
	n, err := c.src.Read(p)
	c.payload -= uint64(n)
	return n, err
}

// nextHeader reads a frame header (RFC 6455 §5.2) and makes it masked.
func (c *maskingConn) nextHeader() error {
	h := c.buf[:]
	clear(h)
	if _, err := io.ReadFull(c.src, h[:2]); err != nil {
		return err
	}
	n := 2
	length := uint64(h[1] & 0x7f)
	switch length {
	case 126:
		if _, err := io.ReadFull(c.src, h[2:4]); err != nil {
			return err
		}
		length, n = uint64(binary.BigEndian.Uint16(h[2:4])), 4
	case 127:
		if _, err := io.ReadFull(c.src, h[2:10]); err != nil {
			return err
		}
		length, n = binary.BigEndian.Uint64(h[2:10]), 10
	}
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(c.src, h[n:n+4]); err != nil {
			return err
		}
	} else {
		h[1] |= 0x80 // and the key h[n:n+4] stays zero
	}
	c.header = h[:n+4]
	c.payload = length
	return nil
}
