package assets

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// site writes files (path → content) into a temp dir and returns a Handler.
func newSite(t *testing.T, files map[string]string, opts Options) *Handler {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts.Directory = dir
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type want struct {
	status   int
	body     string // checked when status is 200 or 404
	location string
}

func get(t *testing.T, h http.Handler, method, target string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Result()
}

func check(t *testing.T, h http.Handler, path string, w want) {
	t.Helper()
	resp := get(t, h, "GET", "http://example.com"+path)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != w.status {
		t.Errorf("GET %s: status %d, want %d (body %q, location %q)", path, resp.StatusCode, w.status, body, resp.Header.Get("Location"))
		return
	}
	if w.location != "" && resp.Header.Get("Location") != w.location {
		t.Errorf("GET %s: Location %q, want %q", path, resp.Header.Get("Location"), w.location)
	}
	if (w.status == 200 || w.status == 404) && string(body) != w.body {
		t.Errorf("GET %s: body %q, want %q", path, body, w.body)
	}
}

var pages = map[string]string{
	"index.html":        "root",
	"about.html":        "about",
	"blog/index.html":   "blog",
	"blog/post.html":    "post",
	"docs/index.html":   "docs",
	"docs/404.html":     "docs 404",
	"404.html":          "root 404",
	"img/logo.svg":      "<svg/>",
	"both.html":         "both file",
	"both/index.html":   "both dir",
	"space name.txt":    "spaced",
	"data/[id].json":    "{}",
	"_headers":          "",
	"_redirects":        "",
	".assetsignore":     "secret.txt\n",
	"secret.txt":        "hidden",
	"nested/secret.txt": "hidden too",
}

func TestHTMLHandling(t *testing.T) {
	tests := []struct {
		mode  string
		cases map[string]want
	}{
		{AutoTrailingSlash, map[string]want{
			"/":                   {200, "root", ""},
			"/index.html":         {307, "", "/"},
			"/index":              {307, "", "/"},
			"/about":              {200, "about", ""},
			"/about.html":         {307, "", "/about"},
			"/about/":             {307, "", "/about"},
			"/blog":               {307, "", "/blog/"},
			"/blog/":              {200, "blog", ""},
			"/blog/index.html":    {307, "", "/blog/"},
			"/blog/post":          {200, "post", ""},
			"/both":               {200, "both file", ""},
			"/both/":              {200, "both dir", ""},
			"/img/logo.svg":       {200, "<svg/>", ""},
			"/missing":            {404, "", ""},
			"/space%20name.txt":   {200, "spaced", ""},
			"/data/[id].json":     {307, "", "/data/%5Bid%5D.json"},
			"/data/%5Bid%5D.json": {200, "{}", ""},
			"//about":             {307, "", "/about"},
			"/secret.txt":         {404, "", ""},
			"/nested/secret.txt":  {404, "", ""},
			"/_headers":           {404, "", ""},
			"/about?x=1":          {200, "about", ""},
			"/about.html?x=1":     {307, "", "/about?x=1"},
		}},
		{ForceTrailingSlash, map[string]want{
			"/":           {200, "root", ""},
			"/about":      {307, "", "/about/"},
			"/about/":     {200, "about", ""},
			"/about.html": {307, "", "/about/"},
			"/blog":       {307, "", "/blog/"},
			"/blog/":      {200, "blog", ""},
		}},
		{DropTrailingSlash, map[string]want{
			"/":           {200, "root", ""},
			"/index.html": {307, "", "/"},
			"/about":      {200, "about", ""},
			"/about/":     {307, "", "/about"},
			"/blog":       {200, "blog", ""},
			"/blog/":      {307, "", "/blog"},
		}},
		{HTMLNone, map[string]want{
			"/":           {404, "", ""},
			"/index.html": {200, "root", ""},
			"/about":      {404, "", ""},
			"/about.html": {200, "about", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h := newSite(t, pages, Options{HTMLHandling: tt.mode})
			for path, w := range tt.cases {
				check(t, h, path, w)
			}
		})
	}
}

func TestNotFoundHandling(t *testing.T) {
	tests := []struct {
		mode  string
		cases map[string]want
	}{
		{SPA, map[string]want{
			"/app/route": {200, "root", ""},
			"/about":     {200, "about", ""},
		}},
		{Page404, map[string]want{
			"/nope":          {404, "root 404", ""},
			"/docs/nope":     {404, "docs 404", ""},
			"/docs/a/b/nope": {404, "docs 404", ""},
			"/blog/nope":     {404, "root 404", ""},
		}},
		{NotFoundNone, map[string]want{
			"/nope": {404, "", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			h := newSite(t, pages, Options{NotFoundHandling: tt.mode})
			for path, w := range tt.cases {
				check(t, h, path, w)
			}
		})
	}
}

func TestETagAndTypes(t *testing.T) {
	h := newSite(t, map[string]string{"a.css": "body{}", "b.js": "1", "c.bin": "x", "d.png": "p", "e.json": "{}"}, Options{})
	types := map[string]string{
		"/a.css": "text/css; charset=utf-8", "/b.js": "application/javascript; charset=utf-8",
		"/c.bin": "application/octet-stream", "/d.png": "image/png", "/e.json": "application/json; charset=utf-8",
	}
	for p, ct := range types {
		resp := get(t, h, "GET", p)
		if got := resp.Header.Get("Content-Type"); got != ct {
			t.Errorf("%s: Content-Type %q, want %q", p, got, ct)
		}
	}
	resp := get(t, h, "GET", "/a.css")
	etag := resp.Header.Get("ETag")
	if len(etag) != 34 || etag[0] != '"' {
		t.Fatalf("ETag %q, want a quoted 32-hex hash", etag)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=0, must-revalidate" {
		t.Errorf("Cache-Control %q", cc)
	}
	for _, inm := range []string{etag, "W/" + etag} {
		resp = get(t, h, "GET", "/a.css", "If-None-Match", inm)
		if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 304 || len(body) != 0 {
			t.Errorf("If-None-Match %s: %d %q, want 304 and no body", inm, resp.StatusCode, body)
		}
	}
	resp = get(t, h, "GET", "/a.css", "If-None-Match", `"other"`)
	if resp.StatusCode != 200 {
		t.Errorf("If-None-Match other: %d, want 200", resp.StatusCode)
	}
	resp = get(t, h, "HEAD", "/a.css")
	if body, _ := io.ReadAll(resp.Body); resp.StatusCode != 200 || len(body) != 0 || resp.Header.Get("Content-Length") != "6" {
		t.Errorf("HEAD: %d %q length %q", resp.StatusCode, body, resp.Header.Get("Content-Length"))
	}
	if resp = get(t, h, "POST", "/a.css"); resp.StatusCode != 405 {
		t.Errorf("POST: %d, want 405", resp.StatusCode)
	}
	if resp = get(t, h, "GET", "/a.css", "Authorization", "x"); resp.Header.Get("Cache-Control") != "" {
		t.Errorf("with Authorization: Cache-Control %q, want none", resp.Header.Get("Cache-Control"))
	}
}

func TestRedirectsFile(t *testing.T) {
	h := newSite(t, map[string]string{
		"index.html":    "root",
		"users/id.html": "user page",
		"_redirects": strings.Join([]string{
			"# comment",
			"/old /new 301",
			"/home / ",
			"/ext https://example.org/x",
			"/blog/* /posts/:splat",
			"/users/:id /users/id 200",
			"/bad",
			"/bad2 /x 418",
			"/* /index.html",
		}, "\n"),
	}, Options{})
	check(t, h, "/old", want{301, "", "/new"})
	check(t, h, "/old?q=1", want{301, "", "/new?q=1"})
	check(t, h, "/home", want{302, "", "/"})
	check(t, h, "/ext", want{302, "", "https://example.org/x"})
	check(t, h, "/blog/a/b", want{302, "", "/posts/a/b"})
	check(t, h, "/users/42", want{200, "user page", ""})
	check(t, h, "/bad", want{404, "", ""})
	check(t, h, "/bad2", want{404, "", ""})
	check(t, h, "/anything", want{404, "", ""}) // the /* /index.html loop rule is dropped
}

func TestHeadersFile(t *testing.T) {
	h := newSite(t, map[string]string{
		"index.html":     "root",
		"static/app.js":  "js",
		"users/bob.html": "bob",
		"_headers": strings.Join([]string{
			"/*",
			"  X-Frame-Options: DENY",
			"  X-Multi: a",
			"/static/*",
			"  Cache-Control: public, max-age=31536000, immutable",
			"  X-Multi: b",
			"  ! X-Frame-Options",
			"/users/:name",
			"  X-User: :name",
			"X-Orphan: 1",
		}, "\n"),
	}, Options{})
	resp := get(t, h, "GET", "/")
	if resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("/: X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
	}
	resp = get(t, h, "GET", "/static/app.js")
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("static Cache-Control %q", got)
	}
	if got := resp.Header.Values("X-Multi"); strings.Join(got, ",") != "a,b" {
		t.Errorf("X-Multi %q, want a then b", got)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "" {
		t.Errorf("static X-Frame-Options %q, want removed", got)
	}
	resp = get(t, h, "GET", "/users/bob")
	if got := resp.Header.Get("X-User"); got != "bob" {
		t.Errorf("X-User %q, want bob", got)
	}
}

func TestRoute(t *testing.T) {
	files := map[string]string{"index.html": "root", "app.js": "js", "api/docs.html": "docs"}
	worker := func(h *Handler, path string, hdr ...string) bool {
		r := httptest.NewRequest("GET", path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		return !h.Route(httptest.NewRecorder(), r)
	}
	tests := []struct {
		name string
		opts Options
		path string
		nav  bool
		want bool // the Worker runs
	}{
		{"asset", Options{HasWorker: true}, "/app.js", false, false},
		{"no asset", Options{HasWorker: true}, "/api/x", false, true},
		{"no worker", Options{}, "/api/x", false, false},
		{"spa, fetch", Options{HasWorker: true, NotFoundHandling: SPA, NavigationPrefersAssets: true}, "/route", false, true},
		{"spa, navigation", Options{HasWorker: true, NotFoundHandling: SPA, NavigationPrefersAssets: true}, "/route", true, false},
		{"spa, navigation, old date", Options{HasWorker: true, NotFoundHandling: SPA}, "/route", true, true},
		{"first: true", Options{HasWorker: true, RunWorkerFirst: true}, "/app.js", false, true},
		{"rules: match", Options{HasWorker: true, RunWorkerFirstRules: []string{"/api/*", "!/api/docs"}}, "/api/x", false, true},
		{"rules: negated", Options{HasWorker: true, RunWorkerFirstRules: []string{"/api/*", "!/api/docs"}}, "/api/docs", false, false},
		{"rules: other asset", Options{HasWorker: true, RunWorkerFirstRules: []string{"/api/*"}}, "/app.js", false, false},
		{"rules: spa for others", Options{HasWorker: true, NotFoundHandling: SPA, RunWorkerFirstRules: []string{"/api/*"}}, "/route", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newSite(t, files, tt.opts)
			var hdr []string
			if tt.nav {
				hdr = []string{"Sec-Fetch-Mode", "navigate"}
			}
			if got := worker(h, tt.path, hdr...); got != tt.want {
				t.Errorf("%s: Worker runs = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

func TestRoutingRulesInvalid(t *testing.T) {
	for _, rules := range [][]string{{}, {"api/*"}, {"!api"}, {"!/api"}, {"/a", "/a"}} {
		if _, err := parseRouting(rules); err == nil {
			t.Errorf("run_worker_first %q: no error", rules)
		}
	}
}

func TestReload(t *testing.T) {
	h := newSite(t, map[string]string{"a.txt": "one"}, Options{})
	check(t, h, "/a.txt", want{200, "one", ""})
	if err := os.WriteFile(filepath.Join(h.Dir(), "a.txt"), []byte("two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.Dir(), "b.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	check(t, h, "/b.txt", want{404, "", ""})
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	check(t, h, "/a.txt", want{200, "two", ""})
	check(t, h, "/b.txt", want{200, "new", ""})
}

// BenchmarkRoute measures what assets cost a request that goes on to the
// Worker (no asset at the path), and serving a 10 KB asset.
func BenchmarkRoute(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "10k.txt"), make([]byte, 10240), 0o644); err != nil {
		b.Fatal(err)
	}
	h, err := New(Options{Directory: dir, HasWorker: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/api/ok", "/10k.txt"} {
		b.Run(path, func(b *testing.B) {
			r := httptest.NewRequest("GET", path, nil)
			for b.Loop() {
				h.Route(httptest.NewRecorder(), r)
			}
		})
	}
}
