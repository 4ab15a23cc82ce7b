package jsrt

import (
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/dop251/goja"
)

// requestWire builds the request wire (see the package doc) for req. Its
// body goes to JS as bytes if it is held in memory, else as a source JS
// streams from.
func (rt *runtime) requestWire(req *http.Request) goja.Value {
	vm := rt.vm
	obj := vm.NewObject()
	_ = obj.Set("method", req.Method)
	_ = obj.Set("url", absoluteURL(req))
	_ = obj.Set("headers", rt.jsHeader(req.Header, req.Host))
	if cf := requestCF(req.Context()); cf != "" {
		_ = obj.Set("cf", cf)
	}
	_ = obj.Set("body", goja.Null())
	hasBody := req.Body != nil && req.Body != http.NoBody &&
		(req.ContentLength != 0 || (req.Method != http.MethodGet && req.Method != http.MethodHead))
	if hasBody {
		rt.setWireBody(obj, req.Body, req.ContentLength)
	}
	return obj
}

// setWireBody puts body into a wire: as bytes if it is held in memory and
// unread, else as a source.
func (rt *runtime) setWireBody(obj *goja.Object, body io.ReadCloser, length int64) {
	if m, ok := innerBody(body).(*memBody); ok {
		if b, untouched := m.untouched(); untouched {
			_ = body.Close()
			_ = obj.Set("body", rt.vm.NewArrayBuffer(b))
			return
		}
	}
	_ = obj.Set("source", rt.newSource(body, length))
	if length >= 0 {
		_ = obj.Set("length", length)
	}
}

// responseWire builds the response wire for resp; its body as in
// requestWire.
func (rt *runtime) responseWire(resp *http.Response) goja.Value {
	vm := rt.vm
	obj := vm.NewObject()
	_ = obj.Set("status", resp.StatusCode)
	text := resp.Status
	if len(text) > 4 && text[3] == ' ' {
		text = text[4:]
	}
	_ = obj.Set("statusText", text)
	_ = obj.Set("headers", rt.jsHeader(resp.Header, ""))
	_ = obj.Set("body", goja.Null())
	if resp.Body != nil && resp.Body != http.NoBody {
		rt.setWireBody(obj, resp.Body, resp.ContentLength)
	}
	return obj
}

// goRequest converts a request wire into an *http.Request; its body streams
// if the wire's does. Loop only.
func (rt *runtime) goRequest(wire goja.Value) (*http.Request, error) {
	obj := wire.ToObject(rt.vm)
	req, err := http.NewRequest(obj.Get("method").String(), obj.Get("url").String(), nil)
	if err != nil {
		return nil, fmt.Errorf("fetch: %w", err)
	}
	if body, n := rt.wireBody(obj, rt.active); body != nil {
		req.Body, req.ContentLength = body, n
		if m, ok := body.(*memBody); ok {
			b := m.b
			req.GetBody = func() (io.ReadCloser, error) { return newMemBody(b), nil }
			if n == 0 {
				req.Body = http.NoBody
			}
		}
	}
	req.Header = rt.goHeader(obj.Get("headers"))
	if h := req.Header.Get("Host"); h != "" {
		req.Host = h
	}
	return req, nil
}

// absoluteURL returns the URL a Worker sees for req: absolute, with the
// Host header as authority.
func absoluteURL(req *http.Request) string {
	if req.URL.IsAbs() {
		return req.URL.String()
	}
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host + req.URL.RequestURI()
}

// jsHeader converts a Go header into wire pairs; host, if set, is added as
// the Host header (Go keeps it apart).
func (rt *runtime) jsHeader(h http.Header, host string) goja.Value {
	vm := rt.vm
	pairs := make([]any, 0, len(h)+1)
	if host != "" {
		pairs = append(pairs, vm.NewArray("host", host))
	}
	for k, vs := range h {
		for _, v := range vs {
			pairs = append(pairs, vm.NewArray(k, latin1Decode(v)))
		}
	}
	return vm.NewArray(pairs...)
}

// latin1Decode gives header bytes to JS as browsers and workerd do: each
// byte one code unit (U+0000–U+00FF), so bytes that are not UTF-8 arrive
// intact instead of as U+FFFD. ASCII, the common case, is returned as is.
func latin1Decode(v string) string {
	i := 0
	for i < len(v) && v[i] < 0x80 {
		i++
	}
	if i == len(v) {
		return v
	}
	r := make([]rune, len(v))
	for j := range len(v) {
		r[j] = rune(v[j])
	}
	return string(r)
}

// latin1Encode is latin1Decode's inverse for values from JS: each code unit
// (Headers admits only U+0000–U+00FF) becomes one byte. Go holds the JS
// string as UTF-8; ASCII is returned as is.
func latin1Encode(v string) string {
	i := 0
	for i < len(v) && v[i] < 0x80 {
		i++
	}
	if i == len(v) {
		return v
	}
	b := make([]byte, 0, len(v))
	for _, r := range v {
		if r > 0xff {
			r = '?' // not reachable through Headers, which rejects it
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// goHeader converts wire pairs into a Go header.
func (rt *runtime) goHeader(v goja.Value) http.Header {
	h := make(http.Header)
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return h
	}
	arr := v.ToObject(rt.vm)
	n := int(arr.Get("length").ToInteger())
	for i := range n {
		pair := arr.Get(strconv.Itoa(i)).ToObject(rt.vm)
		h.Add(pair.Get("0").String(), latin1Encode(pair.Get("1").String()))
	}
	return h
}

// bufferBytes returns the bytes of an ArrayBuffer or view, or nil for
// null/undefined.
func bufferBytes(v goja.Value) []byte {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	switch x := v.Export().(type) {
	case goja.ArrayBuffer:
		b := x.Bytes()
		if b == nil {
			b = []byte{}
		}
		return b
	case []byte:
		return x
	}
	return nil
}
