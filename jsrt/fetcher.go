package jsrt

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"

	"github.com/dop251/goja"
)

// Fetchers: bindings served by Go handlers (env.ASSETS), with the shape of
// a service binding: fetch(request) works, RPC calls reject.

// installFetchers puts the Worker's Go fetch bindings into env.
func (rt *runtime) installFetchers(env *goja.Object) error {
	return bindEach(rt.vm, env, rt.makeService, rt.w.cfg.Fetchers, rt.fetcherNatives)
}

// fetcherNatives builds the natives of a binding served by h.
func (rt *runtime) fetcherNatives(binding string, h http.Handler) *goja.Object {
	n := rt.vm.NewObject()
	_ = n.Set("fetch", func(wire goja.Value) goja.Value {
		req, err := rt.goRequest(wire)
		if err != nil {
			panic(rt.vm.NewTypeError(err.Error()))
		}
		return rt.roundTrip(func(ctx context.Context) (*http.Response, error) {
			rec := &recorder{header: make(http.Header)}
			h.ServeHTTP(rec, req.WithContext(ctx))
			return rec.response(), nil
		})
	})
	_ = n.Set("call", func(pathV, _ goja.Value) goja.Value {
		panic(rt.vm.NewTypeError("env." + binding + " supports only fetch()"))
	})
	return n
}

// recorder is an http.ResponseWriter that keeps the response in memory.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *recorder) response() *http.Response {
	r.WriteHeader(http.StatusOK)
	return &http.Response{
		StatusCode:    r.status,
		Status:        strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Header:        r.header,
		Body:          io.NopCloser(bytes.NewReader(r.body.Bytes())),
		ContentLength: int64(r.body.Len()),
	}
}
