package sockets

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// frameConn is the server side of a hibernatable WebSocket, framed by this
// package (RFC 6455) rather than by coder/websocket. The difference is what
// it knows: every byte it has received and not yet delivered as a message
// is in buf (or, for a fragmented message, part), so reading can stop at
// any moment (interrupt) and the socket move — to the next App of this
// process, or with its file descriptor to the next process — with nothing
// left behind. coder/websocket reads ahead into a buffer of its own, which
// cannot be handed over.
//
// No extension is negotiated (no permessage-deflate), so no compression
// state exists to hand over.
type frameConn struct {
	nc    net.Conn
	limit int64

	// The reader's state: used by one read loop at a time.
	buf    []byte // received, not parsed yet
	partOp byte   // opcode of the fragmented message being assembled; 0: none
	part   []byte // its payload so far

	stopping atomic.Bool // interrupt was called: Read returns errInterrupted

	// Parking (Conn.park): when nothing is buffered between two messages,
	// Read returns errIdle instead of waiting, so that the socket waits in
	// its Registry's poller with no goroutine and no buffer.
	rc     syscall.RawConn // nil: nc has no descriptor to poll (TLS, a pipe)
	noPark bool            // the poller refused: wait in Read as before
	// parkAfter is how long Read waits for the next message before it
	// answers errIdle (Options.ParkAfter); a busy socket keeps its
	// goroutine and its buffer.
	parkAfter time.Duration
	base      []byte // buf's whole array, kept while it is small
	woken     bool   // the poller saw bytes (or a hang-up): read them first
	// beforeClose runs before nc closes, so that a parked socket is read
	// once more and reports its close.
	beforeClose func()

	wmu       sync.Mutex // one frame written at a time
	closeSent bool       // a Close frame was written (wmu)

	closeOnce sync.Once
	closed    chan struct{} // closed with nc
}

// errInterrupted is Read's answer once interrupt was called: the socket
// stopped being read between two frames, its unread bytes in buf.
var errInterrupted = errors.New("sockets: reading interrupted for a hand-off")

// errIdle is Read's answer when it waited parkAfter for the network
// between two messages and the socket may wait in the poller instead. No
// received byte is pending.
var errIdle = errors.New("sockets: idle")

// errProtocol is a peer's violation of RFC 6455; the socket closes with 1002.
var errProtocol = errors.New("sockets: WebSocket protocol error")

// readBufferSize is the first read buffer of a socket woken from its
// poller; it doubles for larger frames. A buffer up to maxKeptBuffer is
// kept for the next message until the socket parks.
const (
	readBufferSize = 2048
	maxKeptBuffer  = 64 << 10
)

// closeTimeout bounds each step of a close handshake.
const closeTimeout = 5 * time.Second

// WebSocket opcodes.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

func newFrameConn(nc net.Conn, limit int64) *frameConn {
	f := &frameConn{nc: nc, limit: limit, closed: make(chan struct{})}
	if sc, ok := nc.(syscall.Conn); ok {
		f.rc, _ = sc.SyscallConn()
	}
	return f
}

// acceptFrames completes the server handshake of req itself (no
// extensions; protocol, if set, as the subprotocol) and returns the
// hijacked connection framed by frameConn. Bytes the client sent after its
// request and the server's bufio already read are kept.
func acceptFrames(rw http.ResponseWriter, req *http.Request, protocol string, limit int64) (*frameConn, error) {
	key := req.Header.Get("Sec-WebSocket-Key")
	if req.Method != http.MethodGet || key == "" || !headerHas(req.Header, "Connection", "upgrade") ||
		req.Header.Get("Sec-WebSocket-Version") != "13" {
		http.Error(rw, "bad WebSocket handshake", http.StatusBadRequest)
		return nil, errors.New("sockets: bad WebSocket handshake")
	}
	h := rw.Header()
	h.Set("Upgrade", "websocket")
	h.Set("Connection", "Upgrade")
	h.Set("Sec-WebSocket-Accept", acceptKey(key))
	if protocol != "" {
		h.Set("Sec-WebSocket-Protocol", protocol)
	}
	rc := http.NewResponseController(rw)
	rw.WriteHeader(http.StatusSwitchingProtocols)
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("sockets: flush 101: %w", err)
	}
	nc, brw, err := rc.Hijack()
	if err != nil {
		return nil, fmt.Errorf("sockets: hijack: %w", err)
	}
	f := newFrameConn(nc, limit)
	if n := brw.Reader.Buffered(); n > 0 {
		f.buf = make([]byte, n)
		_, _ = brw.Reader.Read(f.buf)
	}
	return f, nil
}

// headerHas reports whether a comma-separated header lists token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// acceptKey is the Sec-WebSocket-Accept answer to key (RFC 6455, 4.2.2).
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// Read returns the next message, answering pings and the peer's Close on
// the way. A Close from the peer returns a websocket.CloseError, a message
// over the limit an error wrapping websocket.ErrMessageTooBig (after a
// 1009 close), a dropped connection its network error; interrupt makes it
// return errInterrupted with the unread bytes kept. Between two messages,
// when nothing came for parkAfter, it returns errIdle if the socket can
// wait in a poller (and drops its read buffer). ctx is not used: reading
// stops by interrupt or by closing.
func (f *frameConn) Read(context.Context) (websocket.MessageType, []byte, error) {
	for {
		if f.stopping.Load() {
			return 0, nil, errInterrupted
		}
		fr, n, err := parseFrame(f.buf, f.limit-int64(len(f.part)))
		if err != nil {
			code := websocket.StatusProtocolError
			if errors.Is(err, websocket.ErrMessageTooBig) {
				code = websocket.StatusMessageTooBig
			}
			go func() { _ = f.Close(code, err.Error()) }()
			return 0, nil, err
		}
		if n == 0 {
			idle := len(f.buf) == 0 && f.partOp == 0 && f.rc != nil && !f.noPark && !f.woken
			err := f.fill(idle)
			if errors.Is(err, errIdle) {
				f.buf, f.base = nil, nil
			}
			if err != nil {
				return 0, nil, err
			}
			continue
		}
		f.buf = f.buf[n:]
		switch fr.op {
		case opText, opBinary:
			if f.partOp != 0 {
				return 0, nil, f.fail("a new message began inside a fragmented one")
			}
			if fr.fin {
				return messageType(fr.op), fr.payload, nil
			}
			f.partOp, f.part = fr.op, fr.payload
		case opContinuation:
			if f.partOp == 0 {
				return 0, nil, f.fail("a continuation frame outside a fragmented message")
			}
			f.part = append(f.part, fr.payload...)
			if fr.fin {
				typ, data := messageType(f.partOp), f.part
				f.partOp, f.part = 0, nil
				return typ, data, nil
			}
		case opPing:
			if err := f.writeFrame(opPong, fr.payload); err != nil {
				f.CloseNow()
				return 0, nil, err
			}
		case opPong:
		case opClose:
			ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
			switch len(fr.payload) {
			case 0:
			case 1:
				return 0, nil, f.fail("a Close frame with a one-byte body")
			default:
				ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(fr.payload))
				ce.Reason = string(fr.payload[2:])
			}
			// Echo the code (RFC 6455, 5.5.1) unless we closed first.
			echo := fr.payload
			if len(echo) > 2 {
				echo = echo[:2]
			}
			f.wmu.Lock()
			if !f.closeSent {
				f.closeSent = true
				_ = f.writeLocked(opClose, echo)
			}
			f.wmu.Unlock()
			f.CloseNow()
			return 0, nil, ce
		}
	}
}

// fill reads more bytes from the network into buf. With idle set (no
// message is being received) it waits at most parkAfter, then answers
// errIdle: the socket may wait in the poller instead.
func (f *frameConn) fill(idle bool) error {
	if len(f.buf) == 0 && f.base != nil {
		f.buf = f.base[:0] // the buffer of the previous message, read whole
	}
	if len(f.buf) == cap(f.buf) {
		nb := make([]byte, len(f.buf), max(2*cap(f.buf), readBufferSize))
		copy(nb, f.buf)
		f.buf, f.base = nb, nil
		if cap(nb) <= maxKeptBuffer {
			f.base = nb
		}
	}
	if idle {
		if f.parkAfter <= 0 {
			return errIdle
		}
		_ = f.nc.SetReadDeadline(time.Now().Add(f.parkAfter))
	}
	k, err := f.nc.Read(f.buf[len(f.buf):cap(f.buf)])
	f.buf = f.buf[:len(f.buf)+k]
	f.woken = false
	if idle {
		// Cleared before stopping is read: an interrupt that comes later
		// sets its own deadline after this one.
		_ = f.nc.SetReadDeadline(time.Time{})
	}
	if err != nil || f.stopping.Load() {
		if f.stopping.Load() {
			return errInterrupted // what was read stays in buf
		}
		if idle && k == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			return errIdle
		}
		f.CloseNow()
		return err
	}
	return nil
}

// fail closes the socket with 1002 for a protocol error.
func (f *frameConn) fail(msg string) error {
	go func() { _ = f.Close(websocket.StatusProtocolError, msg) }()
	return fmt.Errorf("%w: %s", errProtocol, msg)
}

func messageType(op byte) websocket.MessageType {
	if op == opText {
		return websocket.MessageText
	}
	return websocket.MessageBinary
}

// parsed is one frame read from the peer.
type parsed struct {
	fin     bool
	op      byte
	payload []byte // unmasked, a copy
}

// parseFrame parses the frame at the start of b: n is its length in bytes,
// 0 if b does not hold all of it yet. room is how many payload bytes a data
// frame may add to the message being read before it is too big.
func parseFrame(b []byte, room int64) (fr parsed, n int, err error) {
	if len(b) < 2 {
		return fr, 0, nil
	}
	fr.fin = b[0]&0x80 != 0
	fr.op = b[0] & 0x0F
	if b[0]&0x70 != 0 {
		return fr, 0, fmt.Errorf("%w: reserved bits set (no extension was negotiated)", errProtocol)
	}
	switch fr.op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
	default:
		return fr, 0, fmt.Errorf("%w: unknown opcode %d", errProtocol, fr.op)
	}
	if b[1]&0x80 == 0 {
		return fr, 0, fmt.Errorf("%w: a client frame is not masked", errProtocol)
	}
	size, hdr := uint64(b[1]&0x7F), 2
	switch size {
	case 126:
		if len(b) < 4 {
			return fr, 0, nil
		}
		size, hdr = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		if len(b) < 10 {
			return fr, 0, nil
		}
		size, hdr = binary.BigEndian.Uint64(b[2:]), 10
		if size>>63 != 0 {
			return fr, 0, fmt.Errorf("%w: payload length has its top bit set", errProtocol)
		}
	}
	if fr.op >= opClose {
		if !fr.fin || size > 125 {
			return fr, 0, fmt.Errorf("%w: a control frame is fragmented or longer than 125 bytes", errProtocol)
		}
	} else if size > uint64(max(room, 0)) {
		return fr, 0, fmt.Errorf("read limited: %w", websocket.ErrMessageTooBig)
	}
	total := uint64(hdr) + 4 + size
	if uint64(len(b)) < total {
		return fr, 0, nil
	}
	mask := b[hdr : hdr+4]
	fr.payload = make([]byte, size)
	copy(fr.payload, b[hdr+4:total])
	for i := range fr.payload {
		fr.payload[i] ^= mask[i&3]
	}
	return fr, int(total), nil
}

// Write sends one message as a single frame. ctx is not used: a write
// blocked on a peer that does not read ends when the socket is closed
// (Close, CloseNow), so that moving the socket between Apps, whose
// contexts end, never cuts a frame.
func (f *frameConn) Write(_ context.Context, typ websocket.MessageType, p []byte) error {
	op := byte(opBinary)
	if typ == websocket.MessageText {
		op = opText
	}
	return f.writeFrame(op, p)
}

func (f *frameConn) writeFrame(op byte, p []byte) error {
	f.wmu.Lock()
	defer f.wmu.Unlock()
	if f.closeSent {
		return net.ErrClosed
	}
	if op == opClose {
		f.closeSent = true
	}
	return f.writeLocked(op, p)
}

// writeLocked writes one unmasked frame. f.wmu held.
func (f *frameConn) writeLocked(op byte, p []byte) error {
	var hdr [10]byte
	hdr[0] = 0x80 | op
	n := 2
	switch {
	case len(p) < 126:
		hdr[1] = byte(len(p))
	case len(p) <= 0xFFFF:
		hdr[1] = 126
		binary.BigEndian.PutUint16(hdr[2:], uint16(len(p)))
		n = 4
	default:
		hdr[1] = 127
		binary.BigEndian.PutUint64(hdr[2:], uint64(len(p)))
		n = 10
	}
	bufs := net.Buffers{hdr[:n], p}
	_, err := bufs.WriteTo(f.nc)
	return err
}

// Close sends a Close frame with code and reason, waits (at most
// closeTimeout) for the peer's, and closes the connection.
func (f *frameConn) Close(code websocket.StatusCode, reason string) error {
	var body []byte
	if code != websocket.StatusNoStatusRcvd {
		body = binary.BigEndian.AppendUint16(nil, uint16(code))
		if len(reason) > 123 {
			reason = reason[:123]
		}
		body = append(body, reason...)
	}
	sent := make(chan error, 1)
	go func() { sent <- f.writeFrame(opClose, body) }()
	select {
	case err := <-sent:
		if err != nil {
			f.CloseNow()
			return nil
		}
	case <-time.After(closeTimeout):
		f.CloseNow() // the peer does not read: the blocked write ends now
		return nil
	}
	select {
	case <-f.closed: // the reader saw the peer's Close
	case <-time.After(closeTimeout):
	}
	f.CloseNow()
	return nil
}

// CloseNow closes the connection without a handshake.
func (f *frameConn) CloseNow() error {
	f.closeOnce.Do(func() {
		if f.beforeClose != nil {
			f.beforeClose()
		}
		_ = f.nc.Close()
		close(f.closed)
	})
	return nil
}

// interrupt makes Read return errInterrupted between two frames, at once
// if it is waiting for the network.
func (f *frameConn) interrupt() {
	f.stopping.Store(true)
	_ = f.nc.SetReadDeadline(time.Unix(1, 0))
}

// resume undoes interrupt, for the next read loop.
func (f *frameConn) resume() {
	f.stopping.Store(false)
	_ = f.nc.SetReadDeadline(time.Time{})
}
