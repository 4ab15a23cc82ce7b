package jsrt

import (
	"io"
	"net/http/httptest"
	"testing"
)

// TestURLRequestPath checks what a Worker's router sees of request.url
// through URL, end to end through a Worker: paths keep trailing and double
// slashes (goja_nodejs's URL, over net/url, cleaned them), searchParams is
// live both ways, and the allocations of new URL(request.url) per request
// are logged (go test -run TestURLRequestPath -v ./jsrt).
func TestURLRequestPath(t *testing.T) {
	w := newTestWorker(t, `exports.default = { fetch(req) {
  const u = new URL(req.url);
  if (u.searchParams.has("edit")) {
    u.searchParams.set("edit", "a b");
    u.pathname = "/p//q/";
    return new Response(u.href + " " + u.search + " " + [...new URL("?x=1&x=2", u).searchParams.getAll("x")]);
  }
  return new Response(u.pathname + " " + u.searchParams.get("q") + " " + new URL("c/", u).href);
} }`, Config{Name: "url"})
	tests := []struct{ target, want string }{
		{"http://x/a/", "/a/ null http://x/a/c/"},
		{"http://x/a//b?q=1", "/a//b 1 http://x/a//c/"},
		{"http://x/a/b/?q=%C3%A9+x", "/a/b/ é x http://x/a/b/c/"},
		{"http://x/%7Efoo/./bar", "/%7Efoo/bar null http://x/%7Efoo/c/"},
		{"http://x/?edit=1&k=v", "http://x/p//q/?edit=a+b&k=v ?edit=a+b&k=v 1,2"},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		w.ServeHTTP(rec, httptest.NewRequest("GET", tt.target, nil))
		body, _ := io.ReadAll(rec.Body)
		if rec.Code != 200 || string(body) != tt.want {
			t.Errorf("%s: %d %q, want %q", tt.target, rec.Code, body, tt.want)
		}
	}
	// The common router prologue alone, for the allocation count.
	w = newTestWorker(t, `exports.default = { fetch(req) { const u = new URL(req.url); return new Response(u.pathname + u.searchParams.get("q")); } }`, Config{Name: "url2"})
	serve := func() {
		w.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "http://x/a/b?q=1", nil))
	}
	serve()
	t.Logf("allocations per request with new URL(request.url): %.1f", testing.AllocsPerRun(200, serve))
}
