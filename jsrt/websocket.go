package jsrt

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
)

// WebSocket limits. Received messages are limited to 32 MiB by default, as
// on Cloudflare (Config.MaxWebSocketMessage); the others follow workerd.
const (
	DefaultMaxWebSocketMessage = 32 << 20
	// maxHibernatable is workerd's ACTIVE_CONNECTION_LIMIT per object.
	maxHibernatable = 32 << 10
	maxTags         = 10
	maxTagLength    = 256
	// MaxAttachmentSize bounds ws.serializeAttachment (workerd: 16 KiB).
	MaxAttachmentSize = 16 << 10
	// maxAutoResponse bounds each side of a WebSocketRequestResponsePair.
	maxAutoResponse = 2048
	// maxEventTimeout bounds setHibernatableWebSocketEventTimeout (7 days).
	maxEventTimeout = 604_800_000
	// sendQueueLimit bounds the bytes queued for a peer that does not read;
	// beyond it the socket is closed with 1008 rather than growing memory.
	sendQueueLimit = 16 << 20
	// readAhead is how many received messages may wait for the JS loop
	// before the socket stops reading from the network (back-pressure).
	readAhead = 16
)

// errEventTimeout resets an object whose hibernatable WebSocket handler ran
// longer than ctx.setHibernatableWebSocketEventTimeout allows.
var errEventTimeout = errors.New("A hibernatable WebSocket event handler ran longer than the timeout set with setHibernatableWebSocketEventTimeout(); the Durable Object was reset.")

// errDisconnected is the reason webSocketClose gets when the peer went away
// without a Close frame (code 1006).
const errDisconnected = "WebSocket disconnected without sending Close frame."

// readyState values.
const (
	wsConnecting = iota
	wsOpen
	wsClosing
	wsClosed
)

// How the server end of a pair is used.
const (
	modeNone         = iota
	modeAccepted     // ws.accept(): events go to listeners
	modeHibernatable // ctx.acceptWebSocket(): events go to the class handlers
)

// wsConn is the Go side of one WebSocketPair: the server end lives in JS (on
// one runtime, possibly inside a Durable Object), the client end stands for
// the network peer once the 101 response upgrades the HTTP connection.
//
// Fields marked "loop" belong to the owner runtime's loop goroutine; the
// rest are guarded by mu.
type wsConn struct {
	w *Worker

	// loop
	rt      *runtime  // owner runtime, set by accept
	owner   *instance // owner object, nil for a socket accepted by stateless code
	key     objKey    // for modeHibernatable: the object, which may get a new instance
	name    string    // for modeHibernatable: the object's name, if known (ctx.id.name after eviction)
	mode    int
	state   int
	js      *goja.Object // the server end in rt.vm (generation jsGen of jsOwner)
	jsOwner *instance
	jsVM    *goja.Runtime
	jsGen   int
	hib     *hibernation // for modeHibernatable
	seq     uint64       // acceptance order, for getWebSockets
	closed  bool         // the close event was delivered

	mu         sync.Mutex
	tags       []string
	attachment []byte
	autoAt     time.Time
	conn       *websocket.Conn
	out        []wsFrame
	outBytes   int
	finished   bool // no more frames are written (closed, failed or overflowed)
	writing    bool // a writeLoop goroutine runs (only while frames wait: idle sockets cost no goroutine)
	credits    chan struct{}
}

// wsFrame is a queued outgoing message, or a Close frame.
type wsFrame struct {
	typ    websocket.MessageType
	data   []byte
	close  bool
	code   websocket.StatusCode
	reason string
}

// wsRegistry is the Worker's table of sockets: all of them (so Close can
// say goodbye with 1012) and the hibernatable ones of each object, which
// belong to the object rather than to its JS instance and so survive a
// reset of it.
type wsRegistry struct {
	mu    sync.Mutex
	all   map[*wsConn]struct{}
	objs  map[objKey]*hibernation
	seq   uint64
	close bool
}

type objKey struct {
	class string
	id    objects.ID
}

// hibernation is the hibernatable-socket state of one object.
type hibernation struct {
	mu           sync.Mutex
	sockets      map[*wsConn]struct{}
	accepted     int // sockets accepted with ws.accept() by the object, still open
	autoReq      string
	autoRes      string
	autoSet      bool
	eventTimeout int64 // ms, 0: unset
}

func (r *wsRegistry) add(c *wsConn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.close {
		return false
	}
	if r.all == nil {
		r.all = make(map[*wsConn]struct{})
	}
	r.all[c] = struct{}{}
	return true
}

func (r *wsRegistry) remove(c *wsConn) {
	r.mu.Lock()
	delete(r.all, c)
	r.mu.Unlock()
}

// object returns the hibernation state of o, creating it if needed.
func (r *wsRegistry) object(o *objects.Object) *hibernation {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs == nil {
		r.objs = make(map[objKey]*hibernation)
	}
	k := objKey{o.Class, o.ID}
	h := r.objs[k]
	if h == nil {
		h = &hibernation{sockets: make(map[*wsConn]struct{})}
		r.objs[k] = h
	}
	return h
}

// dropIfEmpty forgets h, the record of o, once it holds no socket and no
// setting. Called on the object's loop, as everything that fills it.
func (r *wsRegistry) dropIfEmpty(o *objects.Object, h *hibernation) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	k := objKey{o.Class, o.ID}
	if r.objs[k] == h && len(h.sockets) == 0 && h.accepted == 0 && !h.autoSet && h.eventTimeout == 0 {
		delete(r.objs, k)
	}
}

// closeAll closes every socket with 1012 (service restart) so clients
// reconnect, waiting at most for the close handshakes' own timeouts.
func (r *wsRegistry) closeAll() {
	r.mu.Lock()
	r.close = true
	all := make([]*wsConn, 0, len(r.all))
	for c := range r.all {
		all = append(all, c)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.shutdown(websocket.StatusServiceRestart, "Service restart")
		}()
	}
	wg.Wait()
}

// WebSocketsHibernatable reports whether the object class/id has open
// hibernatable WebSockets and no sockets accepted with ws.accept(): as far
// as WebSockets go it may be evicted from memory, its sockets staying open
// (they are kept by the Worker, not by the instance). The caller checks the
// object's other pending work.
func (w *Worker) WebSocketsHibernatable(class string, id objects.ID) bool {
	hibernatable, accepted := w.socketCounts(class, id)
	return hibernatable > 0 && accepted == 0
}

// socketCounts returns the object's open hibernatable sockets and those it
// accepted with ws.accept() (which live in its JS instance, so keep it in
// memory).
func (w *Worker) socketCounts(class string, id objects.ID) (hibernatable, accepted int) {
	w.sockets.mu.Lock()
	h := w.sockets.objs[objKey{class, id}]
	w.sockets.mu.Unlock()
	if h == nil {
		return 0, 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sockets), h.accepted
}

// installWebSocket defines the natives behind WebSocketPair and WebSocket
// (prelude/40_websocket.js).
func (rt *runtime) installWebSocket() error {
	vm := rt.vm
	n := vm.NewObject()
	handle := func(v goja.Value) *wsConn {
		c, ok := v.Export().(*wsConn)
		if !ok {
			panic(vm.NewTypeError("not a WebSocket"))
		}
		return c
	}
	_ = n.Set("pair", func() *wsConn {
		return &wsConn{w: rt.w, credits: make(chan struct{}, readAhead)}
	})
	_ = n.Set("accept", func(h, ws goja.Value) {
		c := handle(h)
		switch c.mode {
		case modeAccepted:
			return
		case modeHibernatable:
			panic(vm.NewTypeError("Cannot call accept() on a WebSocket that was accepted with acceptWebSocket()."))
		}
		c.own(rt, ws.ToObject(vm), modeAccepted)
		if c.owner != nil {
			c.hib = rt.w.sockets.object(c.owner.obj)
			c.hib.mu.Lock()
			c.hib.accepted++
			c.hib.mu.Unlock()
		}
	})
	_ = n.Set("mode", func(h goja.Value) int { return handle(h).mode })
	_ = n.Set("readyState", func(h goja.Value) int { return handle(h).state })
	// A socket's JS object from before its object was reset is dead, as
	// the rest of that instance's code.
	checkLive := func(c *wsConn, ws goja.Value) {
		if c.js != nil && ws.ToObject(vm) != c.js && c.mode != modeNone {
			panic(rt.errorValue(objects.ErrReset))
		}
	}
	_ = n.Set("send", func(call goja.FunctionCall) goja.Value {
		h, data, ws := call.Argument(0), call.Argument(1), call.Argument(2)
		c := handle(h)
		if c.mode == modeNone {
			panic(vm.NewTypeError("You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages."))
		}
		if c.state >= wsClosing {
			panic(vm.NewTypeError("Can't call WebSocket send() after close()."))
		}
		checkLive(c, ws)
		f := wsFrame{typ: websocket.MessageBinary}
		if s, ok := data.(goja.String); ok {
			f.typ, f.data = websocket.MessageText, []byte(s.String())
		} else {
			f.data = slices.Clone(bufferBytes(data))
		}
		rt.gate(rt.active, func(err error) {
			if err != nil {
				c.shutdown(websocket.StatusInternalError, "Durable Object storage failed")
				return
			}
			c.enqueue(f)
		})
		return goja.Undefined()
	})
	_ = n.Set("close", func(h goja.Value, code int, reason string, ws goja.Value) {
		c := handle(h)
		checkLive(c, ws)
		if c.state >= wsClosing {
			return
		}
		c.state = wsClosing
		rt.gate(rt.active, func(error) {
			c.enqueue(wsFrame{close: true, code: websocket.StatusCode(code), reason: reason})
		})
	})
	_ = n.Set("setAttachment", func(h goja.Value, b goja.Value) {
		c := handle(h)
		data := slices.Clone(bufferBytes(b))
		if len(data) > MaxAttachmentSize {
			panic(vm.NewGoError(fmt.Errorf("A WebSocket 'serializeAttachment()' value cannot be larger than %d bytes", MaxAttachmentSize)))
		}
		c.mu.Lock()
		c.attachment = data
		c.mu.Unlock()
	})
	_ = n.Set("getAttachment", func(h goja.Value) goja.Value {
		c := handle(h)
		c.mu.Lock()
		data := c.attachment
		c.mu.Unlock()
		if data == nil {
			return goja.Null()
		}
		return vm.ToValue(vm.NewArrayBuffer(slices.Clone(data)))
	})
	return rt.natives.Set("webSocket", n)
}

// own makes c's server end belong to the code running now on rt.
func (c *wsConn) own(rt *runtime, js *goja.Object, mode int) {
	c.rt, c.owner, c.mode, c.state = rt, rt.active, mode, wsOpen
	c.js, c.jsVM, c.jsOwner = js, rt.vm, c.owner
	if c.owner != nil {
		c.jsGen = c.owner.gate.Generation()
	}
}

// webSocketNatives builds the hibernation API natives of one object's ctx.
func (i *instance) webSocketNatives(live func() bool) *goja.Object {
	rt := i.rt
	vm := rt.vm
	n := vm.NewObject()
	// The object's record is looked up per call: it is made on first use
	// and dropped when it holds nothing (onClose), always on this loop.
	hibOf := func() *hibernation { return rt.w.sockets.object(i.obj) }
	handle := func(v goja.Value) *wsConn {
		c, ok := v.Export().(*wsConn)
		if !ok {
			panic(vm.NewTypeError("Failed to execute 'acceptWebSocket' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'."))
		}
		return c
	}
	_ = n.Set("accept", func(h, ws goja.Value, tagsV goja.Value) {
		hib := hibOf()
		c := handle(h)
		if !live() {
			panic(rt.errorValue(objects.ErrReset))
		}
		switch c.mode {
		case modeAccepted:
			panic(vm.NewGoError(errors.New("Cannot call acceptWebSocket() if the WebSocket was already accepted via accept()")))
		case modeHibernatable:
			panic(vm.NewGoError(errors.New("Cannot call acceptWebSocket() on a WebSocket that was already accepted")))
		}
		var tags []string
		if err := vm.ExportTo(tagsV, &tags); err != nil && !goja.IsUndefined(tagsV) && !goja.IsNull(tagsV) {
			panic(vm.NewTypeError("tags must be an array of strings"))
		}
		if len(tags) > maxTags {
			panic(vm.NewGoError(fmt.Errorf("a Hibernatable WebSocket cannot have more than %d tags", maxTags)))
		}
		for _, t := range tags {
			if len(t) > maxTagLength {
				panic(vm.NewGoError(fmt.Errorf("%q is longer than the max tag length (%d characters).", t, maxTagLength)))
			}
		}
		hib.mu.Lock()
		if len(hib.sockets) >= maxHibernatable {
			hib.mu.Unlock()
			panic(vm.NewGoError(fmt.Errorf("only %d hibernatable WebSockets are allowed per Durable Object", maxHibernatable)))
		}
		hib.sockets[c] = struct{}{}
		hib.mu.Unlock()
		rt.w.sockets.mu.Lock()
		rt.w.sockets.seq++
		c.seq = rt.w.sockets.seq
		rt.w.sockets.mu.Unlock()
		c.mu.Lock()
		c.tags = tags
		c.mu.Unlock()
		c.key, c.name, c.hib = objKey{i.obj.Class, i.obj.ID}, i.obj.Name, hib
		c.own(rt, ws.ToObject(vm), modeHibernatable)
	})
	_ = n.Set("getWebSockets", func(tag goja.Value) goja.Value {
		hib := hibOf()
		hib.mu.Lock()
		list := make([]*wsConn, 0, len(hib.sockets))
		for c := range hib.sockets {
			list = append(list, c)
		}
		hib.mu.Unlock()
		slices.SortFunc(list, func(a, b *wsConn) int { return int(a.seq) - int(b.seq) })
		filter := !goja.IsUndefined(tag) && !goja.IsNull(tag)
		want := ""
		if filter {
			want = tag.String()
		}
		out := make([]any, 0, len(list))
		for _, c := range list {
			if c.state == wsClosed || c.rt != rt {
				continue
			}
			if filter {
				c.mu.Lock()
				ok := slices.Contains(c.tags, want)
				c.mu.Unlock()
				if !ok {
					continue
				}
			}
			out = append(out, c.jsFor())
		}
		return vm.NewArray(out...)
	})
	_ = n.Set("getTags", func(h goja.Value) []string {
		hib := hibOf()
		c := handle(h)
		if c.mode != modeHibernatable || c.hib != hib {
			panic(vm.NewTypeError("getTags() can only be called on a WebSocket accepted with acceptWebSocket() on this Durable Object"))
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return slices.Clone(c.tags)
	})
	_ = n.Set("setAutoResponse", func(call goja.FunctionCall) goja.Value {
		hib := hibOf()
		hib.mu.Lock()
		defer hib.mu.Unlock()
		if goja.IsUndefined(call.Argument(0)) {
			hib.autoSet, hib.autoReq, hib.autoRes = false, "", ""
			return goja.Undefined()
		}
		req, res := call.Argument(0).String(), call.Argument(1).String()
		if len(req) > maxAutoResponse || len(res) > maxAutoResponse {
			panic(rt.rangeError(fmt.Sprintf("Request and response must each be at most %d characters.", maxAutoResponse)))
		}
		hib.autoSet, hib.autoReq, hib.autoRes = true, req, res
		return goja.Undefined()
	})
	_ = n.Set("autoResponseTimestamp", func(h goja.Value) goja.Value {
		c := handle(h)
		c.mu.Lock()
		at := c.autoAt
		c.mu.Unlock()
		if at.IsZero() {
			return goja.Null()
		}
		return vm.ToValue(at.UnixMilli())
	})
	_ = n.Set("setEventTimeout", func(ms goja.Value) {
		hib := hibOf()
		var v int64
		if !goja.IsUndefined(ms) && !goja.IsNull(ms) {
			v = ms.ToInteger()
		}
		if v > maxEventTimeout {
			panic(vm.NewGoError(fmt.Errorf("Event timeout should not exceed %d ms.", maxEventTimeout)))
		}
		hib.mu.Lock()
		hib.eventTimeout = max(v, 0)
		hib.mu.Unlock()
	})
	_ = n.Set("getEventTimeout", func() goja.Value {
		hib := hibOf()
		hib.mu.Lock()
		defer hib.mu.Unlock()
		if hib.eventTimeout == 0 {
			return goja.Null()
		}
		return vm.ToValue(hib.eventTimeout)
	})
	return n
}

// rangeError makes a JS RangeError.
func (rt *runtime) rangeError(msg string) goja.Value {
	ctor, _ := goja.AssertConstructor(rt.vm.Get("RangeError"))
	e, err := ctor(nil, rt.vm.ToValue(msg))
	if err != nil {
		return rt.vm.ToValue(msg)
	}
	return e
}

// jsFor returns the server end as a JS object of the current runtime and
// instance generation, wrapping the handle again after a reset. Loop only.
func (c *wsConn) jsFor() *goja.Object {
	rt := c.rt
	if c.js != nil && c.jsVM == rt.vm && c.jsOwner == c.owner && (c.owner == nil || c.jsGen == c.owner.gate.Generation()) {
		return c.js
	}
	v, err := rt.callPrelude("wsWrap", rt.vm.ToValue(c), rt.vm.ToValue(false))
	if err != nil {
		rt.log.Error("wrap WebSocket", "error", jsError(err).Error())
		return nil
	}
	c.js, c.jsVM, c.jsOwner = v.ToObject(rt.vm), rt.vm, c.owner
	if c.owner != nil {
		c.jsGen = c.owner.gate.Generation()
	}
	return c.js
}

// stale reports whether the JS that accepted c with ws.accept() is gone (its
// object or runtime was reset). Loop only.
func (c *wsConn) stale() bool {
	return c.mode == modeAccepted && (c.jsVM != c.rt.vm || (c.owner != nil && c.jsGen != c.owner.gate.Generation()))
}

// handleOf returns the wsConn behind a JS WebSocket, or nil.
func (rt *runtime) handleOf(ws goja.Value) *wsConn {
	if ws == nil || goja.IsUndefined(ws) || goja.IsNull(ws) {
		return nil
	}
	h, err := rt.callPrelude("wsHandle", ws)
	if err != nil {
		return nil
	}
	c, _ := h.Export().(*wsConn)
	return c
}

// wsUpgrade is the body of a 101 response carrying a WebSocket: it travels
// from the JS that returned it (through stubs) to Worker.ServeHTTP, which
// upgrades the connection and attaches it.
type wsUpgrade struct{ c *wsConn }

func (*wsUpgrade) Read([]byte) (int, error) { return 0, errors.New("a WebSocket response has no body") }
func (*wsUpgrade) Close() error             { return nil }

// upgrade answers r with the 101 resp and attaches the connection to c.
func (w *Worker) upgrade(rw http.ResponseWriter, r *http.Request, resp *http.Response, c *wsConn) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		// The app answered a plain request with a socket; the client cannot
		// use it.
		http.Error(rw, "Worker returned a WebSocket to a request that is not a WebSocket upgrade", http.StatusBadRequest)
		c.fail()
		return
	}
	h := rw.Header()
	for k, vs := range resp.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Upgrade", "Connection", "Sec-Websocket-Accept", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Content-Length", "Transfer-Encoding":
			continue
		}
		h[k] = vs
	}
	opts := &websocket.AcceptOptions{InsecureSkipVerify: true, CompressionMode: websocket.CompressionDisabled}
	if p := resp.Header.Get("Sec-WebSocket-Protocol"); p != "" {
		opts.Subprotocols = []string{p}
	}
	conn, err := websocket.Accept(rw, r, opts)
	if err != nil {
		w.log.Warn("websocket upgrade failed", "error", err)
		c.fail()
		return
	}
	max := w.cfg.MaxWebSocketMessage
	if max <= 0 {
		max = DefaultMaxWebSocketMessage
	}
	conn.SetReadLimit(max)
	if !w.sockets.add(c) {
		_ = conn.Close(websocket.StatusServiceRestart, "Service restart")
		c.fail()
		return
	}
	c.mu.Lock()
	c.conn = conn
	if c.finished && len(c.out) == 0 {
		c.mu.Unlock()
		_ = conn.CloseNow()
	} else {
		c.startWriter()
		c.mu.Unlock()
	}
	go c.readLoop()
}

// fail reports a socket that never got a connection as closed (1006).
func (c *wsConn) fail() {
	c.mu.Lock()
	c.finished = true
	c.out, c.outBytes = nil, 0
	c.mu.Unlock()
	// Off the caller's goroutine: it may be a loop, and finding an evicted
	// object's instance may wait for that loop.
	go c.post(func() { c.onClose(int(websocket.StatusAbnormalClosure), errDisconnected, false) }, nil)
}

// enqueue queues f for the writer. A peer that does not read makes the
// queue overflow, which closes the socket (1008) instead of growing memory.
func (c *wsConn) enqueue(f wsFrame) {
	c.mu.Lock()
	if c.finished {
		c.mu.Unlock()
		return
	}
	if c.outBytes > 0 && c.outBytes+len(f.data) > sendQueueLimit {
		c.finished = true
		c.out, c.outBytes = nil, 0
		conn := c.conn
		c.mu.Unlock()
		c.w.log.Warn("websocket send queue full; closing", "limit", sendQueueLimit)
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
func (c *wsConn) startWriter() {
	if !c.writing && c.conn != nil && len(c.out) > 0 {
		c.writing = true
		go c.writeLoop()
	}
}

// shutdown closes the connection with code, whatever is queued.
func (c *wsConn) shutdown(code websocket.StatusCode, reason string) {
	c.mu.Lock()
	conn := c.conn
	c.finished = true
	c.out, c.outBytes = nil, 0
	c.mu.Unlock()
	if conn != nil {
		_ = conn.Close(code, reason)
	}
}

// writeLoop writes queued frames in order and exits when none are left.
// After a Close frame or a failed write it leaves writing set, so that no
// writer starts again.
func (c *wsConn) writeLoop() {
	ctx := c.w.ctx
	for {
		c.mu.Lock()
		batch := c.out
		c.out, c.outBytes = nil, 0
		if len(batch) == 0 {
			c.writing = false
			c.mu.Unlock()
			return
		}
		conn := c.conn
		c.mu.Unlock()
		for _, f := range batch {
			if f.close {
				_ = conn.Close(f.code, f.reason)
				return
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

// readLoop delivers received messages to the JS socket, answering the
// object's auto-response itself, until the connection closes.
func (c *wsConn) readLoop() {
	ctx := c.w.ctx
	for {
		typ, data, err := c.conn.Read(ctx)
		if err != nil {
			code, reason, clean := int(websocket.StatusAbnormalClosure), errDisconnected, false
			var ce websocket.CloseError
			switch {
			case errors.As(err, &ce):
				code, reason, clean = int(ce.Code), ce.Reason, true
				if ce.Code == websocket.StatusNoStatusRcvd {
					reason = ""
				}
			case errors.Is(err, websocket.ErrMessageTooBig):
				code, reason = int(websocket.StatusMessageTooBig), "Message is too large"
				c.post(func() { c.onError(reason) }, nil)
			}
			c.w.sockets.remove(c)
			c.post(func() { c.onClose(code, reason, clean) }, nil)
			return
		}
		if typ == websocket.MessageText && c.autoRespond(data) {
			continue
		}
		select {
		case c.credits <- struct{}{}:
		case <-ctx.Done():
			return
		}
		release := func() { <-c.credits }
		if !c.post(func() { c.onMessage(typ, data) }, release) {
			release()
			return
		}
	}
}

// autoRespond answers a message equal to the object's auto-response
// request without running JS.
func (c *wsConn) autoRespond(data []byte) bool {
	h := c.hib
	if h == nil || c.mode != modeHibernatable {
		return false
	}
	h.mu.Lock()
	ok := h.autoSet && h.autoReq == string(data)
	res := h.autoRes
	h.mu.Unlock()
	if !ok {
		return false
	}
	c.mu.Lock()
	c.autoAt = time.Now()
	c.mu.Unlock()
	c.enqueue(wsFrame{typ: websocket.MessageText, data: []byte(res)})
	return true
}

// post runs fn as an event of the socket's owner on its loop (through the
// object's input gate); done, if set, runs after fn or if it cannot run.
// Never call it on a loop goroutine: for a hibernatable socket it may
// activate the object, which can wait for an eviction run on that loop.
// A hibernatable socket's event goes to its object's current instance,
// which the Host activates again if it was evicted: the constructor runs
// before the event.
func (c *wsConn) post(fn func(), done func()) bool {
	rt, owner := c.rt, c.owner
	if rt == nil { // never accepted: nobody listens
		if done != nil {
			done()
		}
		return true
	}
	if c.mode == modeHibernatable {
		inst, err := c.w.objectInstance(c.key, c.name)
		if err != nil {
			c.w.log.Error("WebSocket event for an object that cannot be activated", "class", c.key.class, "id", c.key.id.String(), "error", err)
			if done != nil {
				done()
			}
			return false
		}
		owner = inst
	}
	run := func() {
		if done != nil {
			defer done()
		}
		fn()
	}
	return rt.loop.Submit(rt.as(owner, func() {
		if c.mode == modeHibernatable {
			c.owner = owner
		}
		if owner == nil || c.stale() {
			run()
			return
		}
		_, err := owner.gate.Deliver(func(ev *objects.Event) {
			ev.Done() // the event's work is fn's task; its promises are the object's
			run()
		}, func(err error) {
			rt.log.Error("Durable Object failed to start for a WebSocket event", "class", owner.class, "id", owner.obj.ID.String(), "error", err.Error())
			if done != nil {
				done()
			}
		})
		if err != nil { // evicted since we found it: find it again
			go c.post(fn, done)
		}
	}))
}

// objectInstance returns the live instance of an object, activating it.
func (w *Worker) objectInstance(k objKey, name string) (*instance, error) {
	inst, err := w.cfg.Host.Instance(k.class, k.id, name)
	if err != nil {
		return nil, err
	}
	i, ok := inst.(*instance)
	if !ok {
		return nil, fmt.Errorf("object %s %s is not served by this Worker", k.class, k.id)
	}
	return i, nil
}

// onMessage hands a received message to JS. Loop only.
func (c *wsConn) onMessage(typ websocket.MessageType, data []byte) {
	rt := c.rt
	if c.closed {
		return
	}
	if c.stale() {
		c.shutdown(websocket.StatusInternalError, "Durable Object reset")
		return
	}
	var msg goja.Value
	if typ == websocket.MessageText {
		msg = rt.vm.ToValue(string(data))
	} else {
		msg = rt.vm.ToValue(rt.vm.NewArrayBuffer(data))
	}
	switch c.mode {
	case modeAccepted:
		c.dispatch("message", msg)
	case modeHibernatable:
		c.callHandler("webSocketMessage", msg)
	}
}

// onError reports a protocol error (the close follows). Loop only.
func (c *wsConn) onError(msg string) {
	if c.closed || c.stale() {
		return
	}
	switch c.mode {
	case modeAccepted:
		c.dispatch("error", c.rt.vm.ToValue(msg))
	case modeHibernatable:
		c.callHandler("webSocketError", c.rt.errorValue(errors.New(msg)))
	}
}

// onClose reports the end of the connection to JS. Loop only.
func (c *wsConn) onClose(code int, reason string, clean bool) {
	if c.closed {
		return
	}
	c.closed = true
	c.state = wsClosed
	c.w.sockets.remove(c)
	if c.hib != nil {
		c.hib.mu.Lock()
		if c.mode == modeHibernatable {
			delete(c.hib.sockets, c)
		} else {
			c.hib.accepted--
		}
		c.hib.mu.Unlock()
		c.w.sockets.dropIfEmpty(c.owner.obj, c.hib)
	}
	if c.stale() {
		return
	}
	vm := c.rt.vm
	switch c.mode {
	case modeAccepted:
		c.dispatch("close", vm.ToValue(code), vm.ToValue(reason), vm.ToValue(clean))
	case modeHibernatable:
		c.callHandler("webSocketClose", vm.ToValue(code), vm.ToValue(reason), vm.ToValue(clean))
	}
}

// dispatch fires an event on the accepted JS socket.
func (c *wsConn) dispatch(kind string, args ...goja.Value) {
	rt := c.rt
	all := append([]goja.Value{c.js, rt.vm.ToValue(kind)}, args...)
	if _, err := rt.callPrelude("wsDispatch", all...); err != nil {
		rt.reportError("Uncaught exception in WebSocket event listener", err)
	}
}

// callHandler calls a hibernation handler of the object's class, if it
// has one, and logs a throw or rejection.
func (c *wsConn) callHandler(name string, args ...goja.Value) {
	rt, o := c.rt, c.owner
	if o.this == nil {
		return
	}
	fn, ok := goja.AssertFunction(o.this.Get(name))
	if !ok {
		return
	}
	ws := c.jsFor()
	if ws == nil {
		return
	}
	v, err := fn(o.this, append([]goja.Value{ws}, args...)...)
	if err != nil {
		rt.log.Error("Durable Object "+name+" threw", "class", o.class, "id", o.obj.ID.String(), "error", jsError(err).Error())
		return
	}
	settled, timer := false, 0
	c.hib.mu.Lock()
	timeout := c.hib.eventTimeout
	c.hib.mu.Unlock()
	if p, ok := v.Export().(*goja.Promise); ok && p.State() == goja.PromiseStatePending && timeout > 0 {
		gen := o.gate.Generation()
		timer = rt.loop.SetTimer(time.Duration(timeout)*time.Millisecond, false, rt.as(o, func() {
			if !settled && o.live(gen) {
				rt.log.Error("hibernatable WebSocket event timed out; resetting object", "class", o.class, "id", o.obj.ID.String(), "handler", name)
				o.gate.Reset(errEventTimeout)
			}
		}))
	}
	rt.await(v, func(goja.Value) {
		settled = true
		if timer != 0 {
			rt.loop.ClearTimer(timer)
		}
	}, func(err error) {
		settled = true
		if timer != 0 {
			rt.loop.ClearTimer(timer)
		}
		rt.log.Error("Durable Object "+name+" threw", "class", o.class, "id", o.obj.ID.String(), "error", err.Error())
	})
}

// callPrelude calls a function the prelude defined on __cairn.
func (rt *runtime) callPrelude(name string, args ...goja.Value) (goja.Value, error) {
	fn, ok := goja.AssertFunction(rt.natives.Get(name))
	if !ok {
		return nil, fmt.Errorf("prelude does not define __cairn.%s", name)
	}
	return fn(goja.Undefined(), args...)
}

// wrapForwarded makes the JS value of a socket an object returned to this
// runtime's code through a stub, to be returned in turn.
func (rt *runtime) wrapForwarded(c *wsConn) goja.Value {
	v, err := rt.callPrelude("wsWrap", rt.vm.ToValue(c), rt.vm.ToValue(true))
	if err != nil {
		return goja.Null()
	}
	return v
}
