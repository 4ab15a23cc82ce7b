package jsrt

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/tail"
)

// doClass is a Durable Object class exported by the Worker script; it
// implements objects.Class.
type doClass struct {
	w    *Worker
	name string
}

// NewInstance pins the object to a runtime. The JS constructor runs on the
// object's first event.
func (c *doClass) NewInstance(o *objects.Object) (objects.Instance, error) {
	i := &instance{rt: c.w.runtimeFor(o.ID), class: c.name, obj: o}
	i.gate = objects.NewGate(o, objects.GateConfig{
		Guest:        i,
		Commit:       c.w.durable,
		BlockTimeout: c.w.cfg.BlockTimeout,
		Logger:       i.rt.log,
	})
	return i, nil
}

// instance is one live Durable Object in a runtime: the JS side of an
// objects.Gate, which owns the object's turns (input and output gates,
// commits, resets). Its fields are owned by the runtime's loop goroutine.
type instance struct {
	rt    *runtime
	class string
	obj   *objects.Object
	gate  *objects.Gate

	this   *goja.Object // the JS object; nil until constructed
	timers atomic.Int32 // timers pending that this generation set (read by the Host's sweeper)
}

// Post runs fn as a task on the object's loop (objects.Guest).
func (i *instance) Post(fn func()) bool { return i.rt.loop.Submit(i.rt.as(i, fn)) }

// Used has the gate's turn ended with the loop's task (objects.Guest).
func (i *instance) Used(*objects.Gate) { i.rt.dirty[i] = struct{}{} }

// Reset drops the JS object after the gate reset it (objects.Guest).
func (i *instance) Reset(error) { i.drop() }

// drop forgets the JS object: its timers no longer count, and the runtime
// no longer commits it.
func (i *instance) drop() {
	i.this = nil
	i.timers.Store(0)
	delete(i.rt.instances, i)
	delete(i.rt.dirty, i)
}

// live reports whether natives made in generation gen may still work.
func (i *instance) live(gen int) bool { return i.gate.Generation() == gen }

// Fetch delivers a request to the object's fetch handler.
// With a tail connected, the event is a trace item of its own, with the
// object's id, name and class.
func (i *instance) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	tr := i.rt.w.startTrace(i, RequestID(req.Context()), func(it *tail.Item) { it.Event = requestEvent(req) })
	if tr != nil {
		req = req.WithContext(withTrace(req.Context(), tr))
	}
	resp, err := i.rt.serve(ctx, req, i, func(jsReq goja.Value) (goja.Value, error) {
		fetch, ok := goja.AssertFunction(i.this.Get("fetch"))
		if !ok {
			return nil, errNoFetch
		}
		return fetch(i.this, jsReq)
	})
	if tr != nil {
		if err != nil {
			tr.Finish(traceError(tr, err), 0)
		} else {
			tr.Finish(tail.OutcomeOK, resp.StatusCode)
		}
	}
	return resp, err
}

// Close does nothing: the JS object goes with its runtime, and the Host
// closes the storage.
func (i *instance) Close() {}

// Hibernatable reports whether all the object keeps is hibernatable
// WebSockets (objects.Hibernator): no timer pending either (spec 14).
func (i *instance) Hibernatable() bool {
	return i.timers.Load() == 0 && i.rt.w.WebSocketsHibernatable(i.class, i.obj.ID)
}

// Evict drops the object's JS state if it has nothing in progress
// (objects.Evicter). It runs on the object's loop.
func (i *instance) Evict() bool {
	rt := i.rt
	ch := make(chan bool, 1)
	if !rt.loop.Submit(func() { ch <- i.evictNow() }) {
		return true // the runtime has stopped: nothing of it is left
	}
	return <-ch
}

func (i *instance) evictNow() bool {
	hibernatable, accepted := i.rt.w.sockets.Counts(i.class, i.obj.ID)
	if accepted > 0 || !i.gate.Evict() {
		return false
	}
	i.drop()
	if hibernatable > 0 {
		i.forgetWebSockets()
	}
	return true
}

// Construct runs `new Class(ctx, env)` (objects.Guest).
func (i *instance) Construct() error {
	rt := i.rt
	ctor, ok := goja.AssertConstructor(rt.exports.Get(i.class))
	if !ok {
		return errors.New("Durable Object class " + i.class + " is not exported")
	}
	n := i.stateNatives()
	guardNatives(rt.vm, n)
	state, err := rt.makeState(goja.Undefined(), n)
	if err != nil {
		return jsError(err)
	}
	rt.instances[i] = struct{}{}
	this, err := ctor(nil, state, rt.env)
	if err != nil {
		return jsError(err)
	}
	i.this = this
	return nil
}

// stateNatives builds the natives behind a DurableObjectState (ctx).
func (i *instance) stateNatives() *goja.Object {
	rt := i.rt
	vm := rt.vm
	gen := i.gate.Generation()
	n := vm.NewObject()
	_ = n.Set("id", i.obj.ID.String())
	if i.obj.Name != "" {
		_ = n.Set("name", i.obj.Name)
	}
	if ns, err := rt.w.cfg.Host.Namespace(i.class); err == nil {
		if j := ns.Jurisdiction(i.obj.ID); j != "" {
			_ = n.Set("jurisdiction", j)
		}
	}
	live := func() bool { return i.live(gen) }
	_ = n.Set("block", func() {
		if live() {
			rt.section = i.gate.Block()
		}
	})
	_ = n.Set("unblock", func() {
		if live() {
			i.gate.Unblock()
		}
	})
	// breakObject resets the object at the end of the turn: a failed
	// blockConcurrencyWhile callback, or ctx.abort().
	_ = n.Set("breakObject", func(reason goja.Value) {
		if !live() {
			return
		}
		i.gate.Break(rejection(reason))
	})
	_ = n.Set("storage", i.storageNatives(live))
	_ = n.Set("webSockets", i.webSocketNatives(live))
	_ = n.Set("exports", func() goja.Value { return i.rt.ctxExports() })
	return n
}

// Call takes an RPC call to the Durable Object (objects.Caller). The call is
// an event: the input gate and blockConcurrencyWhile apply, and its result
// leaves through the output gate.
func (i *instance) Call(path []string, payload []byte, done func([]byte, error)) {
	if tr := i.rt.w.startTrace(i, "", func(it *tail.Item) { it.Event = &tail.Event{RPCMethod: strings.Join(path, ".")} }); tr != nil {
		finish := done
		done = func(b []byte, err error) {
			if err != nil {
				tr.Finish(traceError(tr, err), 0)
			} else {
				tr.Finish(tail.OutcomeOK, 0)
			}
			finish(b, err)
		}
		i.call(tr, path, payload, done)
		return
	}
	i.call(nil, path, payload, done)
}

// call is Call, with the RPC's code gathering into tr (nil: nothing).
func (i *instance) call(tr *tail.Trace, path []string, payload []byte, done func([]byte, error)) {
	ok := i.Post(func() {
		err := i.gate.Deliver(func(ev *objects.Event) {
			if tr != nil {
				prev := i.rt.trace
				i.rt.trace = tr
				defer func() { i.rt.trace = prev }()
			}
			i.rt.serveRPC(i.this, "object", path, payload, func(b []byte, err error) {
				if !ev.Done() {
					return // failed by a reset already
				}
				if err != nil && i.gate.Broken() != nil { // ctx.abort() or the like: the object resets at the end of the turn
					err = &objects.ResetError{Err: err}
				}
				i.gate.Hold(false, func(gateErr error) {
					if gateErr != nil {
						b, err = nil, gateErr
					}
					done(b, err)
				})
			})
		}, func(err error) { done(nil, err) })
		if err != nil {
			done(nil, err)
		}
	})
	if !ok {
		done(nil, ErrStopped)
	}
}
