package sockets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Limits. Received messages are limited to 32 MiB by default, as on
// Cloudflare; the others follow workerd.
const (
	// DefaultMaxMessage bounds a received message unless
	// Options.MaxMessage says otherwise.
	DefaultMaxMessage = 32 << 20
	// MaxAttachmentSize bounds a socket's attachment
	// (ws.serializeAttachment; workerd: 16 KiB).
	MaxAttachmentSize = 16 << 10
	// MaxEventTimeout bounds an object's event timeout
	// (setHibernatableWebSocketEventTimeout): 7 days.
	MaxEventTimeout = 7 * 24 * time.Hour

	// maxHibernatable is workerd's ACTIVE_CONNECTION_LIMIT per object.
	maxHibernatable = 32 << 10
	maxTags         = 10
	maxTagLength    = 256
	// maxAutoResponse bounds each side of an auto-response pair.
	maxAutoResponse = 2048
	// sendQueueLimit bounds the bytes queued for a peer that does not read;
	// beyond it the socket is closed with 1008 rather than growing memory.
	sendQueueLimit = 16 << 20
	// readAhead is how many received messages may wait for their Handler
	// to be done before the socket stops reading from the network
	// (back-pressure).
	readAhead = 16
)

// Close codes this package sends or reports (RFC 6455, section 7.4.1).
const (
	CodeAbnormal        = 1006 // reported: the peer went away without a Close frame
	CodePolicyViolation = 1008 // sent: the peer did not read and the send queue overflowed
	CodeTooBig          = 1009 // sent and reported: a received message exceeded the limit
	CodeInternalError   = 1011 // for consumers: the guest failed (storage, reset)
	CodeServiceRestart  = 1012 // sent: the Registry is closing
)

// reasonDisconnected is the reason reported with 1006.
const reasonDisconnected = "WebSocket disconnected without sending Close frame."

// ErrClosed is returned by Upgrade once the Registry is closing: the
// client got a 1012 close right after its handshake.
var ErrClosed = errors.New("sockets: registry is closing")

// ErrConnected is returned by Upgrade, Dial and Connect for a socket that
// already has its connection (a socket can be returned in one 101 response,
// or accepted, not both).
var ErrConnected = errors.New("sockets: socket already connected")

// Handler receives the events of a Conn. The read loop calls it from its
// own goroutine, one event at a time and in order; a method may block,
// which holds up reading. The consumer decides where each event runs (for a
// Durable Object: on its thread, through its input gate).
type Handler interface {
	// OnMessage delivers a received message, text or binary. The consumer
	// calls done once it has handled or dropped the message: when
	// readAhead (16) messages wait for done, the read loop stops reading
	// from the network until one is. OnMessage returns false if the
	// message cannot be delivered and later ones will not be either; the
	// read loop then stops (done may have been called or not: calling it
	// again is harmless).
	OnMessage(data []byte, text bool, done func()) bool
	// OnError reports a protocol error (a message over the limit); OnClose
	// follows.
	OnError(msg string)
	// OnClose reports the end of the connection: the peer's code and
	// reason with wasClean true if it sent a Close frame, or 1006 with
	// wasClean false if the connection dropped or never came (Fail). It is
	// not called if the Registry's context ended first or OnMessage
	// returned false.
	OnClose(code int, reason string, wasClean bool)
}

// Conn is the network side of the server end of one WebSocket. It exists
// before its connection does: what is sent before Upgrade waits in its
// queue. Its methods are safe for concurrent use.
type Conn struct {
	reg     *Registry
	h       Handler
	credits chan struct{} // one per message handed to h and not done yet

	mu           sync.Mutex
	obj          *Object // the object that accepted c, if any
	hibernatable bool    // c is one of obj's hibernatable sockets
	left         bool    // Leave was called
	seq          uint64  // acceptance order among obj's sockets; set before c joins them
	tags         []string
	attachment   []byte
	autoAt       time.Time
	conn         wire
	out          []frame
	outBytes     int
	finished     bool // no more frames are written (closed, failed or overflowed)
	writing      bool // a writeLoop goroutine runs (only while frames wait: idle sockets cost no goroutine)
	reading      bool // the read loop was started
	protocol     string
	// stopped is closed when the read loop returns; interrupted says it
	// returned for a hand-off (Registry.Detach), the socket still open.
	stopped     chan struct{}
	interrupted bool
	frozen      bool // Export: no writer starts; queued frames move with the socket
	// parked says the read loop ended while the socket is idle: it waits
	// in parkPoll (armed with parkFD) and the next byte starts it again.
	parked   bool
	parkFD   int32
	parkPoll *poller
	// closing is the close handshake c started (Close), nil before.
	closing *closing
}

// closing is a close handshake started by this side. The handshake reads
// the peer's Close frame itself when no Read is in progress, so the read
// loop then learns of the close only through it.
type closing struct {
	code   websocket.StatusCode
	reason string
	done   chan struct{} // closed when the handshake has ended
	err    error         // its result, set before done is closed: nil if the peer answered with code
}

// wire is a WebSocket connection: coder/websocket's for client sockets and
// accepted ones, frameConn for hibernatable ones, which can move.
type wire interface {
	Read(ctx context.Context) (websocket.MessageType, []byte, error)
	Write(ctx context.Context, typ websocket.MessageType, p []byte) error
	Close(code websocket.StatusCode, reason string) error
	CloseNow() error
}

// registry returns the Registry c belongs to now (a hand-off changes it).
func (c *Conn) registry() *Registry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reg
}

// frame is a queued outgoing message, or a Close frame.
type frame struct {
	typ    websocket.MessageType
	data   []byte
	close  bool
	code   websocket.StatusCode
	reason string
}

// NewConn returns a socket, not connected yet, whose events go to h.
func (r *Registry) NewConn(h Handler) *Conn {
	return &Conn{reg: r, h: h, credits: make(chan struct{}, readAhead)}
}

// Handler returns the Handler c was made with, so that a consumer can find
// its own socket from the ones an Object lists.
func (c *Conn) Handler() Handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h
}

// SendText queues a text message. Messages go out in order once c is
// connected; one sent after Close, or once the connection failed, is
// dropped. A peer that does not read lets the queue grow to 16 MiB, past
// which c is closed with 1008 rather than growing memory.
func (c *Conn) SendText(s string) {
	c.enqueue(frame{typ: websocket.MessageText, data: []byte(s)})
}

// SendBinary queues a binary message as SendText does. c keeps data: the
// caller must not change it afterwards.
func (c *Conn) SendBinary(data []byte) {
	c.enqueue(frame{typ: websocket.MessageBinary, data: data})
}

// Close queues a Close frame with code and reason after the messages
// already queued; later sends are dropped. The caller checks code and
// reason. The peer's answer comes to the Handler's OnClose.
func (c *Conn) Close(code int, reason string) {
	c.enqueue(frame{close: true, code: websocket.StatusCode(code), reason: reason})
}

// Shutdown closes the connection with code and reason now, dropping what
// is queued.
func (c *Conn) Shutdown(code int, reason string) {
	c.mu.Lock()
	conn := c.conn
	c.finished = true
	c.out, c.outBytes = nil, 0
	c.mu.Unlock()
	if conn != nil {
		_ = conn.Close(websocket.StatusCode(code), reason)
	}
}

// Fail reports a socket that will never get a connection (its 101
// response reached no client) as closed with 1006. The Handler's OnClose
// runs on a goroutine of its own: the caller may be the thread it posts to.
func (c *Conn) Fail() {
	c.mu.Lock()
	c.finished = true
	c.out, c.outBytes = nil, 0
	h := c.h
	c.mu.Unlock()
	go h.OnClose(CodeAbnormal, reasonDisconnected, false)
}

// SetAttachment keeps a copy of data with c, for the guest to read back
// after its object was evicted or reset. It fails for more than
// MaxAttachmentSize bytes.
func (c *Conn) SetAttachment(data []byte) error {
	if len(data) > MaxAttachmentSize {
		return fmt.Errorf("A WebSocket 'serializeAttachment()' value cannot be larger than %d bytes", MaxAttachmentSize)
	}
	data = slices.Clone(data)
	c.mu.Lock()
	c.attachment = data
	c.mu.Unlock()
	return nil
}

// Attachment returns a copy of c's attachment, nil if none was set.
func (c *Conn) Attachment() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.attachment)
}

// Tags returns the tags c was accepted with as a hibernatable socket.
func (c *Conn) Tags() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.tags)
}

// HasTag reports whether c was accepted with tag.
func (c *Conn) HasTag(tag string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.tags, tag)
}

// AutoResponseTime returns when c last got its object's auto-response,
// the zero time if never.
func (c *Conn) AutoResponseTime() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.autoAt
}

// Object returns the record of the object that accepted c (as a
// hibernatable socket or not), nil if no object did.
func (c *Conn) Object() *Object {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.obj
}

// Leave takes c out of the object that accepted it, once the consumer has
// delivered its close: a hibernatable socket is no longer listed or
// counted, an accepted one no longer keeps the object in memory. The
// object's record is dropped once it holds no socket and no setting.
// Calling Leave again, or for a socket no object accepted, does nothing.
func (c *Conn) Leave() {
	c.mu.Lock()
	o, hib := c.obj, c.hibernatable
	if o == nil || c.left {
		c.mu.Unlock()
		return
	}
	c.left = true
	c.mu.Unlock()
	o.mu.Lock()
	if hib {
		delete(o.sockets, c)
	} else {
		o.accepted--
	}
	o.mu.Unlock()
	o.reg.dropIfEmpty(o)
}

// Upgrade answers req with a 101 response carrying header (less the
// handshake headers, which it sets itself; a Sec-WebSocket-Protocol in
// header is the subprotocol chosen), attaches the connection to c, starts
// writing what was queued and starts the read loop, which calls c's
// Handler. If the connection cannot be made, Upgrade answers req itself
// where it still can (400 for a request that is not a WebSocket upgrade,
// a 1012 close when the Registry is closing), reports c closed with 1006
// (Fail) and returns the reason.
func (c *Conn) Upgrade(rw http.ResponseWriter, req *http.Request, header http.Header) error {
	if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") {
		// The app answered a plain request with a socket; the client cannot
		// use it.
		http.Error(rw, "Worker returned a WebSocket to a request that is not a WebSocket upgrade", http.StatusBadRequest)
		c.Fail()
		return errors.New("sockets: the request is not a WebSocket upgrade")
	}
	if c.Connected() {
		http.Error(rw, "Worker returned a WebSocket that is already connected (accepted, or returned in another response)", http.StatusInternalServerError)
		return ErrConnected
	}
	h := rw.Header()
	for k, vs := range header {
		switch http.CanonicalHeaderKey(k) {
		case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Content-Length", "Transfer-Encoding":
			continue
		}
		h[k] = vs
	}
	c.mu.Lock()
	hib := c.hibernatable
	c.mu.Unlock()
	if hib {
		// A hibernatable socket is framed by this package, so that it can
		// move to the next App or process (Registry.Detach).
		fc, err := acceptFrames(rw, req, header.Get("Sec-WebSocket-Protocol"), c.reg.maxMessage)
		if err != nil {
			c.reg.log.Warn("websocket upgrade failed", "error", err)
			c.Fail()
			return fmt.Errorf("sockets: upgrade: %w", err)
		}
		c.mu.Lock()
		c.protocol = header.Get("Sec-WebSocket-Protocol")
		c.mu.Unlock()
		return c.attach(fc, true)
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	if p := header.Get("Sec-WebSocket-Protocol"); p != "" {
		opts.Subprotocols = []string{p}
	}
	conn, err := websocket.Accept(rw, req, opts)
	if err != nil {
		c.reg.log.Warn("websocket upgrade failed", "error", err)
		c.Fail()
		return fmt.Errorf("sockets: upgrade: %w", err)
	}
	conn.SetReadLimit(c.reg.maxMessage)
	return c.attach(conn, true)
}

// attach makes conn c's connection: c is registered, what was queued is
// written, and the read loop starts now if read is set (else at Start).
// Once the Registry is closing, conn is closed with 1012, c reported
// closed (Fail) and ErrClosed returned.
func (c *Conn) attach(conn wire, read bool) error {
	if !c.reg.add(c) {
		_ = conn.Close(websocket.StatusServiceRestart, "Service restart")
		c.Fail()
		return ErrClosed
	}
	c.mu.Lock()
	if c.conn != nil {
		c.mu.Unlock()
		c.reg.remove(c)
		_ = conn.Close(websocket.StatusInternalError, "socket already connected")
		return ErrConnected
	}
	if fc, ok := conn.(*frameConn); ok {
		fc.beforeClose = c.unparkToClose
		fc.parkAfter = c.reg.parkAfter
	}
	c.conn = conn
	if c.finished && len(c.out) == 0 {
		c.mu.Unlock()
		_ = conn.CloseNow()
	} else {
		c.startWriter()
		c.mu.Unlock()
	}
	if read {
		c.Start()
	} else {
		time.AfterFunc(c.reg.acceptWait, c.closeUnaccepted)
	}
	return nil
}

// closeUnaccepted closes a client socket its consumer never accepted.
func (c *Conn) closeUnaccepted() {
	c.mu.Lock()
	reading := c.reading
	c.mu.Unlock()
	if !reading {
		c.reg.log.Warn("closing a client WebSocket that was never accepted", "after", c.reg.acceptWait)
		c.Shutdown(int(websocket.StatusGoingAway), "the Worker never accepted this WebSocket")
		c.reg.remove(c)
	}
}

// Start starts delivering received messages to c's Handler. Upgrade starts
// at once; a socket made by Dial or Connect waits for its consumer to
// accept it (messages wait in the connection meanwhile). Calling Start
// again, or before c is connected, does nothing.
func (c *Conn) Start() {
	c.mu.Lock()
	start := c.conn != nil && !c.reading
	var stopped chan struct{}
	if start {
		c.reading, c.interrupted = true, false
		stopped = make(chan struct{})
		c.stopped = stopped
	}
	c.mu.Unlock()
	if start {
		go c.readLoop(stopped)
	}
}

// enqueue queues f for the writer. A peer that does not read makes the
// queue overflow, which closes the socket (1008) instead of growing memory.
func (c *Conn) enqueue(f frame) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	if c.outBytes > 0 && c.outBytes+len(f.data) > sendQueueLimit {
		c.finished = true
		c.out, c.outBytes = nil, 0
		conn := c.conn
		log := c.reg.log
		c.mu.Unlock()
		log.Warn("websocket send queue full; closing", "limit", sendQueueLimit)
		if conn != nil {
			go func() { _ = conn.Close(websocket.StatusPolicyViolation, "send queue full: the peer is not reading") }()
		}
		return
	}
	c.out = append(c.out, f)
	c.outBytes += len(f.data)
	if f.close {
		c.finished = true
	}
	c.startWriter()
	c.mu.Unlock()
}

// startWriter starts a writeLoop if frames wait and none runs. c.mu held.
func (c *Conn) startWriter() {
	if !c.writing && !c.frozen && c.conn != nil && len(c.out) > 0 {
		c.writing = true
		go c.writeLoop()
	}
}

// writeLoop writes queued frames in order and exits when none are left.
// After a Close frame or a failed write it leaves writing set, so that no
// writer starts again.
func (c *Conn) writeLoop() {
	for {
		c.mu.Lock()
		ctx := c.reg.ctx
		batch := c.out
		c.out, c.outBytes = nil, 0
		if len(batch) == 0 || c.frozen {
			c.out = append(batch, c.out...)
			for _, f := range c.out {
				c.outBytes += len(f.data)
			}
			c.writing = false
			c.mu.Unlock()
			return
		}
		conn := c.conn
		c.mu.Unlock()
		for _, f := range batch {
			if f.close {
				cl := &closing{code: f.code, reason: f.reason, done: make(chan struct{})}
				c.mu.Lock()
				c.closing = cl
				c.mu.Unlock()
				cl.err = conn.Close(f.code, f.reason)
				close(cl.done)
				return
			}
			if c.reg.obs != nil {
				c.reg.obs.Message(false, len(f.data))
			}
			if err := conn.Write(ctx, f.typ, f.data); err != nil {
				c.mu.Lock()
				c.finished = true
				c.out, c.outBytes = nil, 0
				c.mu.Unlock()
				return // the reader sees the failure and reports the close
			}
		}
	}
}

// readLoop hands received messages to the Handler, answering the object's
// auto-response itself, until the connection closes. A hibernatable
// socket with nothing to read parks instead of waiting: the loop returns
// and the Registry's poller starts it again when bytes come (park), so an
// idle socket holds no goroutine.
func (c *Conn) readLoop(stopped chan struct{}) {
	parked := false
	defer func() {
		if !parked {
			close(stopped)
		}
	}()
	c.mu.Lock()
	reg, h, conn, credits := c.reg, c.h, c.conn, c.credits
	c.mu.Unlock()
	ctx := reg.ctx
	for {
		typ, data, err := conn.Read(ctx)
		if errors.Is(err, errIdle) {
			if c.park(reg, conn.(*frameConn), stopped) {
				parked = true
				return
			}
			continue
		}
		if errors.Is(err, errInterrupted) {
			// Registry.Detach: the socket moves on, open.
			c.mu.Lock()
			c.reading, c.interrupted = false, true
			c.mu.Unlock()
			return
		}
		if err != nil {
			code, reason, clean := CodeAbnormal, reasonDisconnected, false
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce):
				code, reason, clean = int(ce.Code), ce.Reason, true
				if ce.Code == websocket.StatusNoStatusRcvd {
					reason = ""
				}
			case errors.Is(err, websocket.ErrMessageTooBig):
				code, reason = CodeTooBig, "Message is too large"
				h.OnError(reason)
			default:
				// If this side started the close, coder/websocket's
				// handshake may have read the peer's answer: the close is
				// clean if the peer answered with the same code. (frameConn's
				// reader always reports the peer's Close itself.)
				c.mu.Lock()
				cl := c.closing
				c.mu.Unlock()
				if _, own := conn.(*frameConn); cl != nil && !own {
					<-cl.done
					if cl.err == nil {
						code, reason, clean = int(cl.code), cl.reason, true
					}
				}
			}
			reg.remove(c)
			h.OnClose(code, reason, clean)
			return
		}
		if c.reg.obs != nil {
			c.reg.obs.Message(true, len(data))
		}
		if typ == websocket.MessageText && c.autoRespond(data) {
			continue
		}
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			return
		}
		release := sync.OnceFunc(func() { <-credits })
		if !h.OnMessage(data, typ == websocket.MessageText, release) {
			release()
			return
		}
	}
}

// park arms reg's poller to start c's read loop again once fc is
// readable, closed by the peer or failed. It returns false if the poller
// cannot take fc (then fc is read by the calling goroutine from now on) or
// a hand-off is stopping the read loop.
func (c *Conn) park(reg *Registry, fc *frameConn, stopped chan struct{}) bool {
	p := reg.poll()
	c.mu.Lock()
	defer c.mu.Unlock()
	if fc.stopping.Load() {
		return false
	}
	fd, err := p.arm(fc.rc, func() { c.wake(stopped) })
	if err != nil {
		fc.noPark = true
		return false
	}
	c.parked, c.parkFD, c.parkPoll = true, fd, p
	return true
}

// wake starts the read loop of a parked socket again: its poller fired.
func (c *Conn) wake(stopped chan struct{}) {
	c.mu.Lock()
	if !c.parked {
		c.mu.Unlock()
		return
	}
	c.parked = false
	fc := c.conn.(*frameConn)
	c.mu.Unlock()
	fc.woken = true
	go c.readLoop(stopped)
}

// unpark takes a parked socket out of its poller, for a hand-off or a
// close. It reports false if c was not parked or its poller fired already
// (then its read loop is starting). c.mu held.
func (c *Conn) unpark() bool {
	if !c.parked {
		return false
	}
	fc := c.conn.(*frameConn)
	if !c.parkPoll.disarm(fc.rc, c.parkFD) {
		return false
	}
	c.parked = false
	return true
}

// unparkToClose runs before a hibernatable socket's connection closes: a
// parked socket's read loop starts again, so that it reads the end of the
// connection and reports the close as a running one does.
func (c *Conn) unparkToClose() {
	c.mu.Lock()
	if !c.unpark() {
		c.mu.Unlock()
		return
	}
	stopped, fc := c.stopped, c.conn.(*frameConn)
	c.mu.Unlock()
	fc.woken = true
	go c.readLoop(stopped)
}

// interruptRead makes c's read loop stop between two frames for a
// hand-off (Registry.Detach): c.stopped is closed once it has, with
// c.interrupted set. A parked socket stops at once.
func (c *Conn) interruptRead() {
	c.mu.Lock()
	defer c.mu.Unlock()
	fc := c.conn.(*frameConn)
	fc.interrupt()
	if c.unpark() {
		c.reading, c.interrupted = false, true
		close(c.stopped)
	}
}

// autoRespond answers a message equal to the object's auto-response
// request without the guest.
func (c *Conn) autoRespond(data []byte) bool {
	c.mu.Lock()
	o, hib := c.obj, c.hibernatable
	c.mu.Unlock()
	if o == nil || !hib {
		return false
	}
	o.mu.Lock()
	ok := o.autoSet && o.autoReq == string(data)
	res := o.autoRes
	o.mu.Unlock()
	if !ok {
		return false
	}
	c.mu.Lock()
	c.autoAt = time.Now()
	c.mu.Unlock()
	c.enqueue(frame{typ: websocket.MessageText, data: []byte(res)})
	return true
}
