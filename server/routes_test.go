package server

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

func routes(patterns ...string) []config.Route {
	out := make([]config.Route, len(patterns))
	for i, p := range patterns {
		if d, ok := strings.CutPrefix(p, "domain:"); ok {
			out[i] = config.Route{Pattern: d, CustomDomain: true}
			continue
		}
		out[i] = config.Route{Pattern: p}
	}
	return out
}

func TestRouterMatch(t *testing.T) {
	r, err := NewRouter([]RouteTarget{
		{Worker: "apex", Routes: routes("example.com/*")},
		{Worker: "www", Routes: routes("www.example.com/*")},
		{Worker: "subs", Routes: routes("*.example.com/*")},
		{Worker: "api", Routes: routes("*.example.com/api/*", "example.com/api/*")},
		{Worker: "exact", Routes: routes("example.com/health")},
		{Worker: "secure", Routes: routes("https://example.com/admin/*")},
		{Worker: "shop", Routes: routes("domain:shop.example.com")},
		{Worker: "shopapi", Routes: routes("shop.example.com/api/*")},
		{Worker: "any", Routes: routes("*example.org/*")},
		{Worker: "long", Routes: routes("a.example.com/*")},
		{Worker: "prefix", Routes: routes("b.example.com/images*")},
		{Worker: "prefix2", Routes: routes("b.example.com/images/*")},
		{Worker: "slash", Routes: routes("c.example.com")},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		scheme, host, path string
		want               string // "" for no match
	}{
		{"http", "example.com", "/", "apex"},
		{"http", "EXAMPLE.com:8080", "/x", "apex"}, // case and port ignored
		{"http", "example.com.", "/x", "apex"},     // a fully qualified name
		{"http", "www.example.com", "/", "www"},    // exact host over *.example.com
		{"http", "x.example.com", "/", "subs"},
		{"http", "x.y.example.com", "/", "subs"},
		{"http", "x.example.com", "/api/v1", "api"},
		{"http", "example.com", "/api/v1?q=1", "api"},
		{"http", "example.com", "/api", "apex"}, // /api/* needs the slash
		{"http", "example.com", "/health", "exact"},
		{"http", "example.com", "/health?x=1", "apex"}, // an exact path does not match a query string
		{"http", "example.com", "/healthz", "apex"},
		{"https", "example.com", "/admin/x", "secure"},
		{"http", "example.com", "/admin/x", "apex"}, // https:// only matches https
		{"http", "shop.example.com", "/", "shop"},   // custom domain over *.example.com
		{"http", "shop.example.com", "/cart", "shop"},
		{"http", "shop.example.com", "/api/x", "shopapi"}, // a route over a custom domain of the same host
		{"http", "example.org", "/", "any"},               // *example.org matches the apex
		{"http", "a.example.org", "/", "any"},
		{"http", "a.example.com", "/api/x", "long"}, // the host first: a.example.com over *.example.com/api/*
		{"http", "b.example.com", "/images", "prefix"},
		{"http", "b.example.com", "/images123", "prefix"},
		{"http", "b.example.com", "/images/x", "prefix2"}, // the longer path
		{"http", "c.example.com", "/", "slash"},           // no path: "/" only
		{"http", "c.example.com", "/x", "subs"},
		{"http", "other.net", "/", ""},
		{"http", "example.net", "/", ""},
		{"http", "", "/", ""},
	}
	for _, tt := range tests {
		got, ok := r.Match(tt.scheme, tt.host, tt.path)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("Match(%s, %s, %s) = %q, %v; want %q", tt.scheme, tt.host, tt.path, got, ok, tt.want)
		}
	}
}

// A single Worker without routes takes every request; with routes it takes
// only those.
func TestRouterFallback(t *testing.T) {
	r, err := NewRouter([]RouteTarget{{Worker: "only"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Match("http", "anything.test", "/x"); !ok || got != "only" {
		t.Errorf("single Worker without routes: got %q, %v", got, ok)
	}
	r, err = NewRouter([]RouteTarget{{Worker: "only", Routes: routes("a.test/*")}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Match("http", "b.test", "/x"); ok {
		t.Errorf("single Worker with routes matched another host: %q", got)
	}
	// Route names the pattern, the route label of metrics.
	if w, pattern, ok := r.Route("http", "a.test", "/x"); !ok || w != "only" || pattern != "a.test/*" {
		t.Errorf("Route = %q, %q, %v; want only, a.test/*", w, pattern, ok)
	}
	// Several Workers, one with routes: the other gets no requests.
	r, err = NewRouter([]RouteTarget{{Worker: "a", Routes: routes("a.test/*")}, {Worker: "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := r.Match("http", "b.test", "/"); ok {
		t.Errorf("got %q for an unrouted host", got)
	}
	if p := r.Patterns("b"); len(p) != 0 {
		t.Errorf("Patterns(b) = %v", p)
	}
}

func TestRouterErrors(t *testing.T) {
	tests := []struct {
		name    string
		targets []RouteTarget
		want    error
		text    string
	}{
		{"no routes", []RouteTarget{{Worker: "a"}, {Worker: "b"}}, ErrNoRoutes, "several Workers"},
		{"conflict", []RouteTarget{
			{Worker: "a", Routes: []config.Route{{Pattern: "x.test/*", File: "a.jsonc", Line: 3}}},
			{Worker: "b", Routes: []config.Route{{Pattern: "X.test/*", File: "cairn.toml", Line: 9}}},
		}, ErrRouteConflict, `cairn.toml:9: route pattern claimed by two Workers: "X.test/*" is also a route of Worker "a" (a.jsonc:3)`},
		{"invalid", []RouteTarget{{Worker: "a", Routes: []config.Route{{Pattern: "x.test/a*b", File: "w.toml", Line: 2}}}}, config.ErrRoute, "w.toml:2: invalid route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewRouter(tt.targets)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %v, want %v with %q", err, tt.want, tt.text)
			}
		})
	}
	// The same pattern twice for one Worker is not a conflict.
	if _, err := NewRouter([]RouteTarget{{Worker: "a", Routes: routes("x.test/*", "x.test/*")}}); err != nil {
		t.Errorf("duplicate pattern of one Worker: %v", err)
	}
}

// BenchmarkRouterMatch: the cost routing adds to a request, with 40 routes
// of 20 Workers (go test ./server -run '^$' -bench RouterMatch).
func BenchmarkRouterMatch(b *testing.B) {
	var targets []RouteTarget
	for i := range 20 {
		targets = append(targets, RouteTarget{Worker: fmt.Sprintf("w%d", i),
			Routes: routes(fmt.Sprintf("w%d.example.com/*", i), fmt.Sprintf("*.example.com/api/v%d/*", i))})
	}
	r, err := NewRouter(targets)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if w, ok := r.Match("https", "x.example.com:443", "/api/v19/users?id=1"); !ok || w != "w19" {
			b.Fatal(w)
		}
	}
}
