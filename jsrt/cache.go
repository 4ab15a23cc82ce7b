package jsrt

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/dop251/goja"
)

// CacheStore keeps the responses of the Cache API (caches.default,
// caches.open(name)); package cache implements it. A nil store caches
// nothing: match finds nothing, put stores nothing.
type CacheStore interface {
	// Put stores resp (body read) as the answer to req in the named cache,
	// if it may be stored; it reports whether it was.
	Put(ctx context.Context, cache string, req *http.Request, resp *http.Response, body []byte) (bool, error)
	// Match returns the answer to req, or a nil response.
	Match(ctx context.Context, cache string, req *http.Request, ignoreMethod bool) (*http.Response, []byte, error)
	// Delete removes the answer to req and reports whether there was one.
	Delete(ctx context.Context, cache string, req *http.Request, ignoreMethod bool) (bool, error)
}

// installCache defines the natives behind prelude/93_cache.js:
//
//	cacheMatch(name, requestWire, ignoreMethod) Promise<responseWire | undefined>
//	cachePut(name, requestWire, responseWire)   Promise<void>
//	cacheDelete(name, requestWire, ignoreMethod) Promise<boolean>
func (rt *runtime) installCache() error {
	store := rt.w.cfg.Cache
	vm := rt.vm
	request := func(wire goja.Value) *http.Request {
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return req
	}
	// call runs do off the loop and settles the promise with its result.
	call := func(do func(ctx context.Context) (func() goja.Value, error)) goja.Value {
		return rt.offLoop(false, func(ctx context.Context) func(*settler) {
			result, err := do(ctx)
			return func(s *settler) {
				switch {
				case s == nil:
				case err != nil:
					_ = s.reject(rt.errorValue(err))
				default:
					_ = s.resolve(result())
				}
			}
		})
	}
	if err := rt.natives.Set("cacheMatch", func(name string, wire goja.Value, ignoreMethod bool) goja.Value {
		req := request(wire)
		return call(func(ctx context.Context) (func() goja.Value, error) {
			if store == nil {
				return goja.Undefined, nil
			}
			resp, body, err := store.Match(ctx, name, req, ignoreMethod)
			if err != nil || resp == nil {
				return goja.Undefined, err
			}
			if resp.Status == "" {
				resp.Status = strconv.Itoa(resp.StatusCode) + " " + http.StatusText(resp.StatusCode)
			}
			resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			return func() goja.Value { return rt.responseWire(resp) }, nil
		})
	}); err != nil {
		return err
	}
	if err := rt.natives.Set("cachePut", func(name string, reqWire, respWire goja.Value) goja.Value {
		req := request(reqWire)
		resp, err := rt.goResponse(respWire, rt.active)
		if err != nil {
			panic(vm.NewTypeError(err.Error()))
		}
		return call(func(ctx context.Context) (func() goja.Value, error) {
			// Off the loop: a body streaming from JS is fed by the loop.
			body, err := readAll(resp.Body, resp.ContentLength)
			resp.Body.Close()
			if err != nil {
				return nil, err
			}
			if store != nil {
				if _, err := store.Put(ctx, name, req, resp, body); err != nil {
					return nil, err
				}
			}
			return goja.Undefined, nil
		})
	}); err != nil {
		return err
	}
	return rt.natives.Set("cacheDelete", func(name string, wire goja.Value, ignoreMethod bool) goja.Value {
		req := request(wire)
		return call(func(ctx context.Context) (func() goja.Value, error) {
			deleted := false
			if store != nil {
				var err error
				if deleted, err = store.Delete(ctx, name, req, ignoreMethod); err != nil {
					return nil, err
				}
			}
			return func() goja.Value { return vm.ToValue(deleted) }, nil
		})
	})
}
