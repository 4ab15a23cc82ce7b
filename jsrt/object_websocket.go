package jsrt

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/sockets"
)

// The Hibernation API of a JS Durable Object: ctx.acceptWebSocket,
// getWebSockets, getTags, the auto-response and the event timeout. The
// sockets themselves are package sockets'; the JS side of one socket is
// websocket.go's wsConn.

// webSocketNatives builds the hibernation API natives of one object's ctx.
func (i *instance) webSocketNatives(live func() bool) *goja.Object {
	rt := i.rt
	vm := rt.vm
	n := vm.NewObject()
	// The object's record is looked up per call: it is made on first use
	// and dropped when it holds nothing (onClose), always on this loop.
	hibOf := func() *sockets.Object { return rt.w.sockets.Object(i.obj.Class, i.obj.ID) }
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
		if c.client { // spec 2.4: outgoing sockets cannot hibernate
			panic(vm.NewTypeError("Cannot call acceptWebSocket() on a client WebSocket (from fetch() or new WebSocket()); only the server end of a WebSocketPair can hibernate. Use accept()."))
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
		if err := hib.AddHibernatable(c.net, tags); err != nil {
			panic(vm.NewGoError(err))
		}
		hib.SetName(i.obj.Name) // for the Worker that adopts the socket after a deploy
		c.class, c.id, c.name = i.obj.Class, i.obj.ID, i.obj.Name
		c.own(rt, ws.ToObject(vm), modeHibernatable)
	})
	_ = n.Set("getWebSockets", func(tag goja.Value) goja.Value {
		list := hibOf().Sockets()
		filter := !goja.IsUndefined(tag) && !goja.IsNull(tag)
		want := ""
		if filter {
			want = tag.String()
		}
		out := make([]any, 0, len(list))
		for _, s := range list {
			c, ok := s.Handler().(*wsConn)
			if !ok || c.state == wsClosed || c.rt != rt || filter && !s.HasTag(want) {
				continue
			}
			out = append(out, c.jsFor())
		}
		return vm.NewArray(out...)
	})
	_ = n.Set("getTags", func(h goja.Value) []string {
		hib := hibOf()
		c := handle(h)
		if c.mode != modeHibernatable || c.net.Object() != hib {
			panic(vm.NewTypeError("getTags() can only be called on a WebSocket accepted with acceptWebSocket() on this Durable Object"))
		}
		return c.net.Tags()
	})
	_ = n.Set("setAutoResponse", func(call goja.FunctionCall) goja.Value {
		hib := hibOf()
		if goja.IsUndefined(call.Argument(0)) {
			hib.ClearAutoResponse()
			return goja.Undefined()
		}
		if err := hib.SetAutoResponse(call.Argument(0).String(), call.Argument(1).String()); err != nil {
			panic(rt.rangeError(err.Error()))
		}
		return goja.Undefined()
	})
	_ = n.Set("autoResponseTimestamp", func(h goja.Value) goja.Value {
		at := handle(h).net.AutoResponseTime()
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
		// Clamped to one past the limit, which sockets rejects, so that the
		// conversion to a Duration cannot overflow.
		v = min(max(v, 0), sockets.MaxEventTimeout.Milliseconds()+1)
		if err := hib.SetEventTimeout(time.Duration(v) * time.Millisecond); err != nil {
			panic(vm.NewGoError(err))
		}
	})
	_ = n.Set("getEventTimeout", func() goja.Value {
		d := hibOf().EventTimeout()
		if d == 0 {
			return goja.Null()
		}
		return vm.ToValue(d.Milliseconds())
	})
	return n
}

// forgetWebSockets lets the JS objects of an evicted object's
// hibernatable sockets go: they belonged to the instance that is gone, and
// the next event wraps each socket again (jsFor). So a hibernated socket
// holds no JS memory. Loop only.
func (i *instance) forgetWebSockets() {
	for _, s := range i.rt.w.sockets.Object(i.obj.Class, i.obj.ID).Sockets() {
		c, ok := s.Handler().(*wsConn)
		if !ok || c.rt != i.rt || (c.owner != i && c.jsOwner != i) {
			continue
		}
		c.js, c.jsVM, c.jsOwner, c.owner = nil, nil, nil, nil
	}
}

// AdoptWebSockets makes the hibernatable sockets of a previous Worker (the
// version before a deploy or reload, or the process before an upgrade)
// this Worker's: each stays connected with its tags and attachment, and
// its next message wakes its object under this Worker's code, which lists
// it in ctx.getWebSockets(). A socket whose class this Worker does not
// serve in JS is closed with 1012. It returns how many sockets it adopted.
func (w *Worker) AdoptWebSockets(m *sockets.Moving) int {
	served := make(map[string]bool, len(w.cfg.DurableObjects))
	for _, class := range w.cfg.DurableObjects {
		served[class] = !w.cfg.HostedClasses[class]
	}
	return w.sockets.Adopt(m, func(c *sockets.Conn) sockets.Handler {
		class, id, ok := c.ObjectKey()
		if ok && w.cfg.HostedClasses[class] && w.cfg.Host != nil { // a class written in Go
			if h := w.cfg.Host.AdoptWebSocket(c); h != nil {
				return h
			}
		}
		if !ok || !served[class] {
			return nil
		}
		oid := objects.ID(id)
		return &wsConn{w: w, net: c, rt: w.runtimeFor(oid), mode: modeHibernatable, state: wsOpen,
			class: class, id: oid, name: c.ObjectName()}
	})
}

// Drain waits, until ctx ends, for the tasks queued on every runtime now
// to have run, with the turns they end. A hand-off calls it once the last
// messages delivered to this Worker were handled (sockets.Registry.Detach
// returns when their handlers ran, before the end of their tasks): then
// their answers are sent, or held for durability, before Close would
// interrupt them.
func (w *Worker) Drain(ctx context.Context) {
	var wg sync.WaitGroup
	for _, rt := range w.rts {
		ran := make(chan struct{})
		if !rt.loop.Submit(func() { close(ran) }) {
			continue
		}
		wg.Go(func() {
			select {
			case <-ran:
			case <-ctx.Done():
			}
		})
	}
	wg.Wait()
}
