package jsrt

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/sockets"
)

// installFetch defines __cairn.fetchNative, the outbound HTTP request behind
// the global fetch. The request leaves only after the current turn's writes
// are committed (output gate); the response resolves on the loop.
func (rt *runtime) installFetch() error {
	// A new engine (at start, or after a reset) drops the streams of the
	// one it replaces: their reads fail instead of waiting forever.
	rt.w.failStreams(rt)
	rt.w.closeSockets(rt)
	if err := rt.installBodies(); err != nil {
		return err
	}
	return rt.natives.Set("fetchNative", func(call goja.FunctionCall) goja.Value {
		wire := call.Argument(0)
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(rt.vm.NewTypeError(err.Error()))
		}
		if isWebSocketUpgrade(req) { // websocket_client.go
			return rt.fetchWebSocket(req)
		}
		client := rt.w.cfg.HTTPClient
		switch redirect := wire.ToObject(rt.vm).Get("redirect"); {
		case redirect == nil || goja.IsUndefined(redirect) || redirect.String() == "follow":
		case redirect.String() == "manual":
			// Hand the 3xx to the Worker as is.
			c := *client
			c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			client = &c
		default: // "error"
			c := *client
			c.CheckRedirect = func(*http.Request, []*http.Request) error {
				return errors.New("fetch: redirect mode is \"error\" but the response redirected")
			}
			client = &c
		}
		// The script's AbortSignal cancels the request and, once it has
		// answered, the response body it is still streaming.
		ctx, cancel := context.WithCancelCause(rt.w.ctx)
		_ = wire.ToObject(rt.vm).Set("abort", func() { cancel(errFetchAborted) })
		return rt.roundTrip(func(context.Context) (*http.Response, error) {
			return client.Do(req.WithContext(ctx))
		})
	})
}

// errFetchAborted is why a fetch its signal aborted was canceled.
var errFetchAborted = errors.New("fetch: aborted by its signal")

// errCallerAborted is why a Durable Object's event was canceled when the
// request that called stub.fetch was aborted (its client disconnected).
var errCallerAborted = errors.New("stub.fetch: the calling request was aborted")

// roundTrip runs do off the loop once the output gate opens and returns a
// promise of its response wire.
func (rt *runtime) roundTrip(do func(ctx context.Context) (*http.Response, error)) goja.Value {
	return rt.offLoop(true, func(ctx context.Context) func(*settler) {
		// The body is not read here: it streams to the script as the
		// script reads it.
		resp, err := do(ctx)
		var ws *sockets.Upgrade // a Durable Object's 101 with its socket
		if err == nil {
			ws, _ = innerBody(resp.Body).(*sockets.Upgrade)
		}
		return func(s *settler) {
			switch {
			case s == nil: // the runtime was reset meanwhile
				if ws != nil {
					ws.Conn.Fail() // no client will get this socket
				} else if err == nil && resp.Body != nil {
					resp.Body.Close()
				}
			case err != nil:
				_ = s.reject(rt.errorValue(err))
			default:
				if ws != nil {
					resp.Body = http.NoBody
				}
				wire := rt.responseWire(resp)
				if ws == nil {
					rt.scope.addBody(sourceOf(wire.(*goja.Object).Get("source")))
				}
				if ws != nil {
					_ = wire.(*goja.Object).Set("webSocket", rt.wrapForwarded(rt.w.forwardedConn(ws.Conn)))
				}
				_ = s.resolve(wire)
			}
		}
	})
}

// newEnv builds the env object: vars and Durable Object namespaces.
func (rt *runtime) newEnv() (*goja.Object, error) {
	vm := rt.vm
	env := vm.NewObject()
	for k, v := range rt.w.cfg.Vars {
		if err := env.Set(k, vm.ToValue(v)); err != nil {
			return nil, err
		}
	}
	for binding, class := range rt.w.cfg.DurableObjects {
		ns, err := rt.w.cfg.Host.Namespace(class)
		if err != nil {
			return nil, fmt.Errorf("durable object binding %s: %w", binding, err)
		}
		n := rt.namespaceNatives(class, ns)
		guardNatives(vm, n)
		v, err := rt.makeNamespace(goja.Undefined(), n)
		if err != nil {
			return nil, jsError(err)
		}
		if err := env.Set(binding, v); err != nil {
			return nil, err
		}
	}
	if err := rt.installForeignObjects(env); err != nil {
		return nil, err
	}
	if err := rt.installKV(env); err != nil {
		return nil, err
	}
	if err := rt.installR2(env); err != nil {
		return nil, err
	}
	if err := rt.installServices(env); err != nil {
		return nil, err
	}
	if err := rt.installForeignServices(env); err != nil {
		return nil, err
	}
	if err := rt.installD1(env); err != nil {
		return nil, err
	}
	if err := rt.installUnsupported(env); err != nil {
		return nil, err
	}
	if err := rt.installFetchers(env); err != nil {
		return nil, err
	}
	if err := rt.natives.Set("env", env); err != nil {
		return nil, err
	}
	return env, nil
}

// namespaceNatives builds the natives behind a DurableObjectNamespace of
// the Worker's own class.
func (rt *runtime) namespaceNatives(class string, ns *objects.Namespace) *goja.Object {
	return rt.namespaceNativesOf(class, func() (*objects.Host, *objects.Namespace, error) { return rt.w.cfg.Host, ns, nil })
}

// namespaceNativesOf builds the natives behind a DurableObjectNamespace;
// resolve gives the Host serving class and its namespace at each use (for
// another Worker's class, those of its current version).
func (rt *runtime) namespaceNativesOf(class string, resolve func() (*objects.Host, *objects.Namespace, error)) *goja.Object {
	vm := rt.vm
	n := vm.NewObject()
	host := func() (*objects.Host, *objects.Namespace) {
		h, ns, err := resolve()
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return h, ns
	}
	_ = n.Set("idFromName", func(name, jurisdiction string) string {
		_, ns := host()
		id, err := ns.IDFromNameIn(jurisdiction, name)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return id.String()
	})
	_ = n.Set("newUniqueId", func(jurisdiction string) string {
		_, ns := host()
		id, err := ns.NewUniqueIDIn(jurisdiction)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return id.String()
	})
	_ = n.Set("jurisdictionOf", func(s string) goja.Value {
		_, ns := host()
		id, err := ns.ParseID(s)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		if j := ns.Jurisdiction(id); j != "" {
			return vm.ToValue(j)
		}
		return goja.Undefined()
	})
	_ = n.Set("idFromString", func(s string) string {
		_, ns := host()
		id, err := ns.ParseID(s)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return id.String()
	})
	_ = n.Set("call", func(idHex, name string, pathV, args goja.Value) goja.Value {
		h, ns := host()
		id, err := ns.ParseID(idHex)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		path, args := rt.rpcPathArgs(pathV, args)
		return rt.rpcPromise(args, func(payload []byte, done func([]byte, error)) {
			h.Call(class, id, name, path, payload, done)
		})
	})
	_ = n.Set("fetch", func(idHex, name string, wire goja.Value) goja.Value {
		h, ns := host()
		id, err := ns.ParseID(idHex)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		// The object's console lines carry the id of the request that
		// called it. The caller's request signal cancels the event's
		// context (wire.abort, called by the stub), which aborts the
		// object's request.signal: a client that goes away is seen there
		// too. The context ends with the response body.
		request := rt.request
		ctx, cancel := context.WithCancelCause(rt.w.ctx)
		_ = wire.ToObject(vm).Set("abort", func() { cancel(errCallerAborted) })
		p := rt.roundTrip(func(context.Context) (*http.Response, error) {
			ctx := ctx
			if request != "" {
				ctx = WithRequestID(ctx, request)
			}
			resp, err := h.Fetch(ctx, class, id, name, req.WithContext(ctx))
			if err != nil {
				cancel(err)
				return nil, err
			}
			if _, ws := innerBody(resp.Body).(*sockets.Upgrade); !ws && resp.Body != nil {
				resp.Body = &doneBody{ReadCloser: resp.Body, done: func() { cancel(nil) }}
			}
			return resp, nil
		})
		return p
	})
	return n
}

// errorValue turns a Go error into a JS error to reject with. An exception
// thrown by another object's code keeps its name and message and is marked
// remote, as on Cloudflare; other failures become TypeErrors.
func (rt *runtime) errorValue(err error) goja.Value {
	vm := rt.vm
	name, msg, remote := "TypeError", err.Error(), false
	var se *ScriptError
	var te *objects.ThrownError
	switch {
	case errors.As(err, &se):
		name, msg, remote = se.Name, se.Message, true
	case errors.As(err, &te): // from a Durable Object written in Go
		name, msg, remote = te.Name, te.Message, true
	}
	ctor := vm.Get(name)
	if _, ok := goja.AssertConstructor(ctor); !ok {
		ctor = vm.Get("Error")
	}
	e, cerr := vm.New(ctor, vm.ToValue(msg))
	if cerr != nil {
		return vm.ToValue(msg)
	}
	if remote {
		_ = e.Set("remote", true)
	}
	var re *objects.ResetError
	if errors.As(err, &re) {
		// The object was reset: a stub that saw this stays broken (spec 10).
		_ = e.Set("durableObjectReset", true)
	}
	return e
}
