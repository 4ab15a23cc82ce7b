package jsrt

import (
	"maps"
	"slices"

	"github.com/cairn-dev/cairn/objects"
	"github.com/dop251/goja"
)

// ctx.exports: loopback bindings to the Worker's own exports, as on
// Cloudflare. Each exported Durable Object class (bound in the config, or
// extending DurableObject) is a DurableObjectNamespace; every other exported class or
// object (the default handler, a WorkerEntrypoint) is a service binding to
// that entrypoint, with fetch and RPC.

// ctxExports returns the runtime's ctx.exports object, made on first use
// (the exports of the bundle do not change after it loads).
func (rt *runtime) ctxExports() *goja.Object {
	if rt.loopback != nil {
		return rt.loopback
	}
	vm := rt.vm
	out := vm.NewObject()
	rt.loopback = out
	if rt.exports == nil {
		return out
	}
	for _, name := range rt.exports.Keys() {
		v, isObj := rt.exports.Get(name).(*goja.Object)
		if !isObj || name == "__esModule" {
			continue // a constant, not an entrypoint
		}
		var n *goja.Object
		construct := rt.makeService
		if ns := rt.namespaceOf(name, v); ns != nil {
			n, construct = rt.namespaceNatives(name, ns), rt.makeNamespace
		} else {
			n = rt.serviceNatives(name, name)
		}
		guardNatives(vm, n)
		b, err := construct(goja.Undefined(), n)
		if err != nil {
			rt.log.Error("ctx.exports", "export", name, "error", jsError(err).Error())
			continue
		}
		_ = out.Set(name, b)
	}
	return out
}

// namespaceOf returns the namespace of the exported class named class, v,
// if it is a Durable Object class: one the config binds, or one that
// extends DurableObject of cloudflare:workers. Otherwise nil.
func (rt *runtime) namespaceOf(class string, v *goja.Object) *objects.Namespace {
	if rt.w.cfg.Host == nil {
		return nil
	}
	bound := slices.Contains(slices.Collect(maps.Values(rt.w.cfg.DurableObjects)), class)
	if !bound {
		if !rt.extendsDurableObject(v) {
			return nil
		}
		// A class no binding names: this Worker serves it from now on.
		rt.w.cfg.Host.Register(class, &doClass{w: rt.w, name: class})
	}
	ns, err := rt.w.cfg.Host.Namespace(class)
	if err != nil {
		return nil
	}
	return ns
}

// extendsDurableObject reports whether v is a class that extends
// DurableObject of cloudflare:workers.
func (rt *runtime) extendsDurableObject(v *goja.Object) bool {
	if _, ok := goja.AssertConstructor(v); !ok {
		return false
	}
	mod, err := rt.require(goja.Undefined(), rt.vm.ToValue("cloudflare:workers"))
	if err != nil {
		return false
	}
	base, ok := mod.ToObject(rt.vm).Get("DurableObject").(*goja.Object)
	if !ok {
		return false
	}
	proto, _ := base.Get("prototype").(*goja.Object)
	o, _ := v.Get("prototype").(*goja.Object)
	for ; proto != nil && o != nil; o = o.Prototype() {
		if o.SameAs(proto) {
			return true
		}
	}
	return false
}
