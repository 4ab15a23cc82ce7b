package jsrt

import (
	"context"
	"net/http"

	"github.com/dop251/goja"
)

// Service bindings: env.SERVICE.fetch(request) and JS RPC on an entrypoint
// of this Worker (its default export or a WorkerEntrypoint class), each call
// a new event on any runtime.

// installServices puts the Worker's service bindings into env.
func (rt *runtime) installServices(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeService, rt.w.cfg.Services, rt.serviceNatives)
}

// serviceNatives builds the natives of a service binding to entry.
func (rt *runtime) serviceNatives(_ string, entry string) *goja.Object {
	n := rt.vm.NewObject()
	_ = n.Set("fetch", func(wire goja.Value) goja.Value {
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(rt.vm.NewTypeError(err.Error()))
		}
		return rt.roundTrip(func(ctx context.Context) (*http.Response, error) {
			return rt.w.fetchEntrypoint(ctx, entry, req.WithContext(ctx))
		})
	})
	_ = n.Set("call", func(pathV, args goja.Value) goja.Value {
		path, args := rt.rpcPathArgs(pathV, args)
		return rt.rpcPromise(args, func(payload []byte, done func([]byte, error)) {
			rt.w.callEntrypoint(entry, path, payload, done)
		})
	})
	return n
}

// fetchEntrypoint runs the fetch handler of entrypoint entry for req.
func (w *Worker) fetchEntrypoint(ctx context.Context, entry string, req *http.Request) (*http.Response, error) {
	rt := w.rts[int(w.next.Add(1))%len(w.rts)]
	return rt.serve(ctx, req, nil, func(jsReq goja.Value) (goja.Value, error) {
		return rt.callEntrypointFetch(entry, jsReq)
	})
}

// callEntrypoint runs an RPC call on entrypoint entry.
func (w *Worker) callEntrypoint(entry string, path []string, payload []byte, done func([]byte, error)) {
	rt := w.rts[int(w.next.Add(1))%len(w.rts)]
	if !rt.loop.Submit(func() {
		target, _, err := rt.entrypoint(entry)
		if err != nil {
			done(nil, jsError(err))
			return
		}
		rt.serveRPC(target, "object", path, payload, done)
	}) {
		done(nil, ErrStopped)
	}
}
