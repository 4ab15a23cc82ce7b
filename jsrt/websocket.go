package jsrt

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/sockets"
	"github.com/cairn-dev/cairn/tail"
)

// WebSocket limits (package sockets keeps the others). Received messages
// are limited to 32 MiB by default, as on Cloudflare
// (Config.MaxWebSocketMessage).
const (
	DefaultMaxWebSocketMessage = sockets.DefaultMaxMessage
	// MaxAttachmentSize bounds ws.serializeAttachment (workerd: 16 KiB).
	MaxAttachmentSize = sockets.MaxAttachmentSize
)

// errEventTimeout resets an object whose hibernatable WebSocket handler ran
// longer than ctx.setHibernatableWebSocketEventTimeout allows.
var errEventTimeout = errors.New("A hibernatable WebSocket event handler ran longer than the timeout set with setHibernatableWebSocketEventTimeout(); the Durable Object was reset.")

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

// wsConn is the JS side of one WebSocketPair: the server end lives in JS
// (on one runtime, possibly inside a Durable Object), the client end stands
// for the network peer once the 101 response upgrades the HTTP connection;
// net is the connection (package sockets), whose events wsConn receives as
// its sockets.Handler and runs on the owner's loop.
//
// The fields other than w and net belong to the owner runtime's loop
// goroutine.
type wsConn struct {
	w   *Worker
	net *sockets.Conn

	rt      *runtime   // owner runtime, set by accept
	owner   *instance  // owner object, nil for a socket accepted by stateless code
	class   string     // for modeHibernatable: the object, which may get a new instance
	id      objects.ID // for modeHibernatable
	name    string     // for modeHibernatable: the object's name, if known (ctx.id.name after eviction)
	mode    int
	state   int
	js      *goja.Object // the server end in rt.vm (generation jsGen of jsOwner)
	jsOwner *instance
	jsVM    *goja.Runtime
	jsGen   int
	closed  bool // the close event was delivered

	client   bool   // the client end of a connection (fetch, new WebSocket, a Durable Object's socket accepted)
	url      string // for a client socket made by new WebSocket(url) or fetch
	protocol string // the subprotocol the server chose, for a client socket
}

// Sockets returns the registry of the Worker's WebSockets, for Durable
// Objects written in Go to accept theirs in (objects.Host.SetSockets): then
// shutdown closes them with the others.
func (w *Worker) Sockets() *sockets.Registry { return w.sockets }

// WebSocketsHibernatable reports whether the object class/id has open
// hibernatable WebSockets and no sockets accepted with ws.accept(): as far
// as WebSockets go it may be evicted from memory, its sockets staying open
// (they are kept by the Worker, not by the instance). The caller checks the
// object's other pending work.
func (w *Worker) WebSocketsHibernatable(class string, id objects.ID) bool {
	hibernatable, accepted := w.sockets.Counts(class, id)
	return hibernatable > 0 && accepted == 0
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
		c := &wsConn{w: rt.w}
		c.net = rt.w.sockets.NewConn(c)
		return c
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
			rt.w.sockets.Object(c.owner.obj.Class, c.owner.obj.ID).AddAccepted(c.net)
		}
		c.net.Start() // a client socket's messages waited for accept()
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
		var send func()
		if s, ok := data.(goja.String); ok {
			text := s.String()
			send = func() { c.net.SendText(text) }
		} else {
			b := slices.Clone(bufferBytes(data))
			send = func() { c.net.SendBinary(b) }
		}
		rt.gate(rt.active, func(err error) {
			if err != nil {
				// A socket that moved to the next version of the Worker
				// (AdoptWebSockets) is no longer this code's to close.
				if c.net.Handler() == sockets.Handler(c) {
					c.net.Shutdown(sockets.CodeInternalError, "Durable Object storage failed")
				} else {
					c.w.log.Warn("a message sent by the previous version on a WebSocket that moved was dropped: its object failed", "error", err)
				}
				return
			}
			send()
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
		rt.gate(rt.active, func(error) { c.net.Close(code, reason) })
	})
	_ = n.Set("setAttachment", func(h goja.Value, b goja.Value) {
		if err := handle(h).net.SetAttachment(bufferBytes(b)); err != nil {
			panic(vm.NewGoError(err))
		}
	})
	_ = n.Set("getAttachment", func(h goja.Value) goja.Value {
		data := handle(h).net.Attachment()
		if data == nil {
			return goja.Null()
		}
		return vm.ToValue(vm.NewArrayBuffer(data))
	})
	rt.installWebSocketClient(n, handle)
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

// OnMessage posts a received message to the socket's owner
// (sockets.Handler).
func (c *wsConn) OnMessage(data []byte, text bool, done func()) bool {
	return c.post(func() { c.onMessage(data, text) }, done)
}

// OnError posts a protocol error to the socket's owner (sockets.Handler).
func (c *wsConn) OnError(msg string) { c.post(func() { c.onError(msg) }, nil) }

// OnClose posts the end of the connection to the socket's owner
// (sockets.Handler).
func (c *wsConn) OnClose(code int, reason string, clean bool) {
	c.post(func() { c.onClose(code, reason, clean) }, nil)
}

// post runs fn as an event of the socket's owner on its loop (through the
// object's input gate); done, if set, runs after fn or if it cannot run.
// Never call it on a loop goroutine: for a hibernatable socket it may
// activate the object, which can wait for an eviction run on that loop.
// A hibernatable socket's event goes to its object's current instance,
// which the Host activates again if it was evicted: the constructor runs
// before the event.
func (c *wsConn) post(fn func(), done func()) bool {
	rt := c.rt
	if rt == nil { // never accepted: nobody listens
		if done != nil {
			done()
		}
		return true
	}
	var owner *instance
	if c.mode != modeHibernatable {
		owner = c.owner // set once by accept; a hibernatable socket's changes on the loop
	} else {
		inst, err := c.w.objectInstance(c.class, c.id, c.name)
		if err != nil {
			c.w.log.Error("WebSocket event for an object that cannot be activated", "class", c.class, "id", c.id.String(), "error", err)
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
		err := owner.gate.Deliver(func(ev *objects.Event) {
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
func (w *Worker) objectInstance(class string, id objects.ID, name string) (*instance, error) {
	inst, err := w.cfg.Host.Instance(class, id, name)
	if err != nil {
		return nil, err
	}
	i, ok := inst.(*instance)
	if !ok {
		return nil, fmt.Errorf("object %s %s is not served by this Worker", class, id)
	}
	return i, nil
}

// onMessage hands a received message to JS. Loop only.
func (c *wsConn) onMessage(data []byte, text bool) {
	rt := c.rt
	if c.closed {
		return
	}
	if c.stale() {
		c.net.Shutdown(sockets.CodeInternalError, "Durable Object reset")
		return
	}
	var msg goja.Value
	if text {
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
	c.net.Leave()
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
	// With a tail connected, the event is a trace item of its own.
	tr := rt.w.startTrace(o, "", func(it *tail.Item) {
		it.Event = &tail.Event{WebSocket: &tail.WebSocketEvent{Type: strings.ToLower(strings.TrimPrefix(name, "webSocket"))}}
	})
	if tr != nil {
		prev := rt.trace
		rt.trace = tr
		defer func() { rt.trace = prev }()
	}
	v, err := fn(o.this, append([]goja.Value{ws}, args...)...)
	if err != nil {
		err = jsError(err)
		rt.elog.Error("Durable Object "+name+" threw", "error", err.Error())
		tr.Finish(traceError(tr, err), 0)
		rt.w.exception("object")
		return
	}
	settled, timer := false, 0
	timeout := c.net.Object().EventTimeout()
	if p, ok := v.Export().(*goja.Promise); ok && p.State() == goja.PromiseStatePending && timeout > 0 {
		gen := o.gate.Generation()
		timer = rt.loop.SetTimer(timeout, false, rt.as(o, func() {
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
		tr.Finish(tail.OutcomeOK, 0)
	}, func(err error) {
		settled = true
		if timer != 0 {
			rt.loop.ClearTimer(timer)
		}
		rt.log.Error("Durable Object "+name+" threw", "class", o.class, "id", o.obj.ID.String(), "error", err.Error())
		tr.Finish(traceError(tr, err), 0)
		rt.w.exception("object")
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

// forwardedConn returns the JS side of a socket a Durable Object answered
// with: its own wsConn if JS accepted it, or a new one standing for a
// socket whose events go elsewhere (an object written in Go), which JS can
// only pass on in its response.
func (w *Worker) forwardedConn(net *sockets.Conn) *wsConn {
	if c, ok := net.Handler().(*wsConn); ok {
		return c
	}
	return &wsConn{w: w, net: net}
}
