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

// TestURLAPI checks the URL and URLSearchParams API beyond WPT's parsing
// and setter data: errors, the static methods, serializing, and
// searchParams kept in step with the URL both ways.
func TestURLAPI(t *testing.T) {
	vm := preludeRuntime(t)
	tests := []struct{ name, src, want string }{
		{"invalid", `try { new URL("/relative"); } catch (e) { return e.name + ": " + e.message; }`, "TypeError: Invalid URL string."},
		{"invalid base", `try { new URL("a", "nope"); } catch (e) { return e.message; }`, "Invalid URL string."},
		{"invalid href", `const u = new URL("http://x/"); try { u.href = "::"; } catch (e) { return e.message + " " + u.href; }`, "Invalid URL string. http://x/"},
		{"canParse", `return [URL.canParse("http://x"), URL.canParse("x"), URL.canParse("x", "http://y/")].join();`, "true,false,true"},
		{"parse", `return String(URL.parse("x")) + " " + URL.parse("b", "http://y/a/").href;`, "null http://y/a/b"},
		{"toJSON and toString", `const u = new URL("HTTP://X/a/"); return JSON.stringify({ u }) + String(u) + Object.prototype.toString.call(u);`, `{"u":"http://x/a/"}http://x/a/[object URL]`},
		{"search to params", `const u = new URL("http://x/?a=1"); const p = u.searchParams; u.search = "b=2&b=3"; return p.getAll("b").join() + p.has("a") + (u.searchParams === p);`, "2,3falsetrue"},
		{"href to params", `const u = new URL("http://x/?a=1"); const p = u.searchParams; u.href = "http://y/?c=%20"; return JSON.stringify(p.get("c"));`, `" "`},
		{"params to search", `const u = new URL("http://x/p?a=1#h"); u.searchParams.append("b", "x y&z"); const s1 = u.href; u.searchParams.delete("a"); u.searchParams.delete("b"); return s1 + " " + u.href;`, "http://x/p?a=1&b=x+y%26z#h http://x/p#h"},
		{"params", `const p = new URLSearchParams({ z: "1", a: "2" }); p.append("a", "1"); p.sort(); p.delete("a", "2"); return p.size + " " + p + " " + [...p.keys()];`, "2 a=1&z=1 a,z"},
		{"params from pairs", `return String(new URLSearchParams([["a", "1"], ["b", "é"]])) + " " + new URLSearchParams("?x=1").get("x");`, "a=1&b=%C3%A9 1"},
		{"bad pair", `try { new URLSearchParams([["a"]]); } catch (e) { return e.name; }`, "TypeError"},
		{"console", `return __cairn.format(new URL("http://x/a/?q=1"));`, "URL { href: 'http://x/a/?q=1', origin: 'http://x', protocol: 'http:', username: '', password: '', host: 'x', hostname: 'x', port: '', pathname: '/a/', search: '?q=1', searchParams: URLSearchParams { 'q' => '1' }, hash: '' }"},
		{"origin with port", `return new URL("https://x:8443/").origin + " " + new URL("blob:https://y/u").origin + " " + new URL("data:,x").origin;`, "https://x:8443 https://y null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := preludeEval(t, vm, tt.src); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
