package jsrt

import (
	"errors"
	"fmt"
	"sync"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/jsrt/jsclone"
)

// JS RPC. A call on a stub (stub.method(args), await stub.prop) carries a
// path of property names and the arguments in the structured-clone
// encoding, extended for RPC: functions, RpcTarget instances and stubs are
// passed by reference as capabilities ('X' items). A capability lives in the
// Worker's table, bound to the runtime (and object) that exported it; calls
// on the imported stub run there. The prelude (85_rpc.js) builds the stubs
// and applies Cloudflare's rules for what may be called (rpcInvoke).
//
// Lifetimes: capabilities exported in a call's arguments are released when
// the call completes (a callback is valid while the call runs, as on
// Cloudflare); those exported in results live until the exporting runtime
// is reset or the Worker closes.

// Capabilities holds the values passed by reference over RPC (functions,
// RpcTarget instances, stubs) by one Worker, or by all the Workers of a
// process that call each other over service bindings (cairn serve shares
// one through Config.Capabilities), so that a stub one Worker receives from
// another calls back into the Worker that passed it.
type Capabilities struct {
	mu   sync.Mutex
	next uint64
	m    map[uint64]*capability
}

// capability is a value passed by reference, owned by one runtime.
type capability struct {
	rt    *runtime
	vm    *goja.Runtime // the engine the value lives in; stale after a reset
	owner *instance     // the object that exported it, nil for Worker code
	value goja.Value
}

func (t *Capabilities) add(c *capability) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = make(map[uint64]*capability)
	}
	t.next++
	t.m[t.next] = c
	return t.next
}

func (t *Capabilities) get(id uint64) (*capability, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.m[id]
	return c, ok
}

func (t *Capabilities) release(ids []uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		delete(t.m, id)
	}
}

// NewCapabilities returns an empty table of capabilities.
func NewCapabilities() *Capabilities { return &Capabilities{} }

// dropWorker releases the capabilities of w's runtimes (w closed).
func (t *Capabilities) dropWorker(w *Worker) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, c := range t.m {
		if c.rt.w == w {
			delete(t.m, id)
		}
	}
}

// dropVM releases the capabilities that lived in vm (after a reset).
func (t *Capabilities) dropVM(vm *goja.Runtime) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, c := range t.m {
		if c.vm == vm {
			delete(t.m, id)
		}
	}
}

// rpcCodec is the jsclone.Refs of one RPC payload on one runtime: it exports
// the by-reference values it meets and imports capabilities as stubs.
type rpcCodec struct {
	rt       *runtime
	exported []uint64
}

// ByRef passes functions and RpcTarget instances (stubs among them) by
// reference.
func (c *rpcCodec) ByRef(obj *goja.Object) bool {
	if _, ok := goja.AssertFunction(obj); ok {
		return true
	}
	v, err := c.rt.isRPCTarget(goja.Undefined(), obj)
	return err == nil && v.ToBoolean()
}

// Export adds obj to the Worker's capability table, owned by the running
// object, and remembers its id for release.
func (c *rpcCodec) Export(obj *goja.Object) uint64 {
	id := c.rt.w.caps.add(&capability{rt: c.rt, vm: c.rt.vm, owner: c.rt.active, value: obj})
	c.exported = append(c.exported, id)
	return id
}

// Import makes a stub whose calls go to capability id.
func (c *rpcCodec) Import(id uint64) (goja.Value, error) {
	rt := c.rt
	invoke := func(call goja.FunctionCall) goja.Value {
		path, args := rt.rpcPathArgs(call.Argument(0), call.Argument(1))
		return rt.rpcPromise(args, func(payload []byte, done func([]byte, error)) {
			rt.w.callCap(id, path, payload, done)
		})
	}
	v, err := rt.makeCapStub(goja.Undefined(), rt.vm.ToValue(invoke))
	if err != nil {
		return nil, jsError(err)
	}
	return v, nil
}

// Host carries Request, Response, Headers and URL as platform objects, as
// the prelude's rpcHostEncode describes them (their bodies read before the
// call, see readBodies in 85_rpc.js).
func (c *rpcCodec) Host(obj *goja.Object) (kind string, payload goja.Value, ok bool, err error) {
	encode, err := c.rt.preludeFunc("rpcHostEncode")
	if err != nil {
		return "", nil, false, err
	}
	v, err := encode(goja.Undefined(), obj)
	if err != nil {
		return "", nil, false, err
	}
	if v == nil || goja.IsUndefined(v) {
		return "", nil, false, nil
	}
	pair := v.ToObject(c.rt.vm)
	return pair.Get("0").String(), pair.Get("1"), true, nil
}

// MakeHost rebuilds a platform object through the prelude's rpcHostDecode.
func (c *rpcCodec) MakeHost(kind string, payload goja.Value) (goja.Value, error) {
	decode, err := c.rt.preludeFunc("rpcHostDecode")
	if err != nil {
		return nil, err
	}
	v, err := decode(goja.Undefined(), c.rt.vm.ToValue(kind), payload)
	if err != nil {
		return nil, fmt.Errorf("decode RPC %s: %w", kind, err)
	}
	return v, nil
}

// preludeFunc returns the function the prelude defined as __cairn.name.
func (rt *runtime) preludeFunc(name string) (goja.Callable, error) {
	fn, ok := goja.AssertFunction(rt.natives.Get(name))
	if !ok {
		return nil, fmt.Errorf("prelude does not define __cairn.%s", name)
	}
	return fn, nil
}

// encodeRPC serializes v for an RPC payload.
func (rt *runtime) encodeRPC(v goja.Value) ([]byte, *rpcCodec, error) {
	c := &rpcCodec{rt: rt}
	b, err := jsclone.SerializeRefs(rt.vm, v, c)
	if err != nil {
		rt.w.caps.release(c.exported)
		return nil, nil, err
	}
	if len(b) > maxRPCSize {
		rt.w.caps.release(c.exported)
		return nil, nil, fmt.Errorf("Serialized RPC arguments or return values are limited to 32MiB, but the size of this value was: %d bytes.", len(b))
	}
	return b, c, nil
}

// maxRPCSize bounds an RPC payload, as workerd does.
const maxRPCSize = 32 << 20

// decodeRPC deserializes an RPC payload, importing capabilities as stubs.
func (rt *runtime) decodeRPC(b []byte) (goja.Value, error) {
	return jsclone.DeserializeRefs(rt.vm, b, &rpcCodec{rt: rt})
}

// rpcPathArgs converts the path and arguments a stub passes to a native:
// args is undefined for a property read.
func (rt *runtime) rpcPathArgs(pathV, argsV goja.Value) ([]string, goja.Value) {
	var path []string
	if pathV != nil && !goja.IsUndefined(pathV) {
		path = rt.strings(pathV)
	}
	return path, argsV
}

// rpcPromise makes an RPC call from JS: it encodes args (nil payload for a
// property read), hands the payload to send once the running object's
// writes are durable (the output gate), and returns a promise of the decoded
// result. send must not block; done may be called from any goroutine.
func (rt *runtime) rpcPromise(args goja.Value, send func(payload []byte, done func([]byte, error))) goja.Value {
	vm := rt.vm
	promise, resolve, reject := vm.NewPromise()
	var payload []byte
	var codec *rpcCodec
	if args != nil && !goja.IsUndefined(args) {
		var err error
		if payload, codec, err = rt.encodeRPC(args); err != nil {
			var ce *clone.CloneError
			var ex *goja.Exception
			if errors.As(err, &ce) || errors.As(err, &ex) {
				_ = reject(jsclone.Exception(vm, err))
			} else {
				_ = reject(rt.errorValue(err))
			}
			return vm.ToValue(promise)
		}
	}
	owner := rt.active
	cont := rt.continuation()
	rt.gate(owner, func(err error) {
		if err != nil {
			_ = reject(rt.errorValue(err))
			return
		}
		send(payload, func(result []byte, err error) {
			rt.loop.Submit(cont(func() {
				if codec != nil {
					rt.w.caps.release(codec.exported) // the callee's context has ended
				}
				if rt.vm != vm {
					return
				}
				if err != nil {
					_ = reject(rt.errorValue(err))
					return
				}
				v, err := rt.decodeRPC(result)
				if err != nil {
					_ = reject(rt.errorValue(err))
					return
				}
				_ = resolve(v)
			}))
		})
	})
	return vm.ToValue(promise)
}

// serveRPC runs an RPC call on this runtime against target: it decodes the
// arguments, applies the call through the prelude's rpcInvoke (Cloudflare's
// rules), awaits the result and encodes it. root says which names are
// reserved at the top ("object" for a Durable Object). finish gets the
// encoded result or the error, on the loop.
func (rt *runtime) serveRPC(target goja.Value, root string, path []string, payload []byte, finish func([]byte, error)) {
	args := goja.Undefined()
	if payload != nil {
		v, err := rt.decodeRPC(payload)
		if err != nil {
			finish(nil, fmt.Errorf("decode RPC arguments: %w", err))
			return
		}
		args = v
	}
	v, err := rt.rpcInvoke(goja.Undefined(), target, rt.vm.ToValue(path), args, rt.vm.ToValue(root))
	if err != nil {
		finish(nil, jsError(err))
		return
	}
	rt.await(v, func(v goja.Value) {
		b, _, err := rt.encodeRPC(v)
		if err != nil {
			finish(nil, jsError(err)) // a used body in the result: the caller gets its TypeError
			return
		}
		finish(b, nil)
	}, func(err error) { finish(nil, err) })
}

// callCap runs an RPC call on capability id, on the runtime that owns it.
func (w *Worker) callCap(id uint64, path []string, payload []byte, done func([]byte, error)) {
	c, ok := w.caps.get(id)
	if !ok {
		done(nil, errors.New("RPC stub used after its capability was released (stubs received over RPC are valid only while the call that passed them runs)"))
		return
	}
	rt := c.rt
	if !rt.loop.Submit(rt.as(c.owner, func() {
		if rt.vm != c.vm {
			done(nil, errors.New("RPC stub points into a runtime that was reset"))
			return
		}
		rt.serveRPC(c.value, "target", path, payload, func(b []byte, err error) {
			if err != nil {
				done(nil, err)
				return
			}
			rt.gate(c.owner, func(err error) { done(b, err) })
		})
	})) {
		done(nil, ErrStopped)
	}
}
