package jsrt

import (
	"context"
	"fmt"
	"net/http"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
)

// ForeignClass is a Durable Object class of another Worker of the same
// process, bound with script_name (cairn serve): its objects live in that
// Worker's Host and run its code.
type ForeignClass struct {
	Worker string // the Worker defining the class, for errors
	Class  string
	// Host returns the Worker's current Host, or nil while it is not
	// loaded. It is asked at each use, so a new version of that Worker is
	// reached once it serves.
	Host func() *objects.Host
}

// installForeignObjects puts the namespaces of other Workers' classes into
// env.
func (rt *runtime) installForeignObjects(env *goja.Object) error {
	for binding, fc := range rt.w.cfg.ForeignObjects {
		resolve := func() (*objects.Host, *objects.Namespace, error) {
			h := fc.Host()
			if h == nil {
				return nil, nil, fmt.Errorf("env.%s: Worker %q is not running", binding, fc.Worker)
			}
			ns, err := h.Namespace(fc.Class)
			if err != nil {
				return nil, nil, fmt.Errorf("env.%s: class %s of Worker %q: %w", binding, fc.Class, fc.Worker, err)
			}
			return h, ns, nil
		}
		n := rt.namespaceNativesOf(fc.Class, resolve)
		guardNatives(rt.vm, n)
		v, err := rt.makeNamespace(goja.Undefined(), n)
		if err != nil {
			return jsError(err)
		}
		if err := env.Set(binding, v); err != nil {
			return err
		}
	}
	return nil
}

// ForeignService is a service binding to another Worker of the same
// process (cairn serve): fetch(request) reaches that Worker as a request
// would, and any other member is a JS RPC call on its entrypoint, run by
// its code, as a service binding does on Cloudflare.
type ForeignService struct {
	Worker     string // the other Worker's name, for errors
	Entrypoint string // "default" or a WorkerEntrypoint class it exports
	// Handler, if set, serves fetch (the default entrypoint through the
	// Worker's server: its static assets, its request log); without it
	// fetch runs the entrypoint's fetch handler.
	Handler http.Handler
	// Current returns the other Worker's current version (nil while it is
	// not loaded). It is asked at each call, so a new version is reached
	// once it serves. nil: RPC is not served.
	Current func() *Worker
}

// installForeignServices puts the service bindings to other Workers into
// env.
func (rt *runtime) installForeignServices(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeService, rt.w.cfg.ForeignServices, rt.foreignServiceNatives)
}

// foreignServiceNatives builds the natives of a service binding to
// another Worker.
func (rt *runtime) foreignServiceNatives(binding string, fs ForeignService) *goja.Object {
	current := func() (*Worker, error) {
		if fs.Current == nil {
			return nil, fmt.Errorf("env.%s: RPC to Worker %q is not served here", binding, fs.Worker)
		}
		w := fs.Current()
		if w == nil {
			return nil, fmt.Errorf("env.%s: Worker %q is not running", binding, fs.Worker)
		}
		return w, nil
	}
	n := rt.vm.NewObject()
	_ = n.Set("fetch", func(wire goja.Value) goja.Value {
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(rt.vm.NewTypeError(err.Error()))
		}
		return rt.roundTrip(func(ctx context.Context) (*http.Response, error) {
			if fs.Handler != nil {
				rec := &recorder{header: make(http.Header)}
				fs.Handler.ServeHTTP(rec, req.WithContext(ctx))
				return rec.response(), nil
			}
			w, err := current()
			if err != nil {
				return nil, err
			}
			return w.fetchEntrypoint(ctx, fs.Entrypoint, req.WithContext(ctx))
		})
	})
	_ = n.Set("call", func(pathV, args goja.Value) goja.Value {
		path, args := rt.rpcPathArgs(pathV, args)
		return rt.rpcPromise(args, func(payload []byte, done func([]byte, error)) {
			w, err := current()
			if err != nil {
				done(nil, err)
				return
			}
			w.callEntrypoint(fs.Entrypoint, path, payload, done)
		})
	})
	return n
}
