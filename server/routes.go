package server

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/cairn-dev/cairn/config"
)

// ErrNoRoutes is returned by NewRouter when several Workers are served and
// none has a route: no request could reach any but one of them, and which
// one would be a guess.
var ErrNoRoutes = errors.New("several Workers and no routes: give each Worker routes (in its wrangler config or in cairn.toml)")

// ErrRouteConflict is returned by NewRouter when two Workers claim the same
// route pattern: Cloudflare refuses the second one too.
var ErrRouteConflict = errors.New("route pattern claimed by two Workers")

// Router picks the Worker for a request by the Workers' routes, as
// Cloudflare does: a pattern is [scheme://]host/path where "*" may start the
// host (any prefix: "*.example.com" matches subdomains, "*example.com" also
// the apex) and end the path (any suffix, query string included); a custom
// domain matches its hostname on every path. When several match, the most
// specific wins: an exact host over a wildcard one, then the longer host,
// then a route over a custom domain of the same host, then an exact path
// over a wildcard one, then the longer path, then a pattern with a scheme.
// (Cloudflare documents quirks in its own tie-breaking, e.g. "/images*"
// winning over "/images/*" for /images/x; cairn takes the longer pattern.)
// A Router with a fallback sends every request that matches no route to it.
type Router struct {
	routes   []route // most specific first
	fallback string
}

// RouteTarget is a Worker and its routes, for NewRouter.
type RouteTarget struct {
	Worker string
	Routes []config.Route
}

type route struct {
	worker   string
	scheme   string // "" for any
	host     string // lowercase; without the "*" of a wildcard
	wildHost bool
	path     string // without the "*" of a wildcard; starts with "/"
	wildPath bool
	custom   bool
	src      config.Route
}

// NewRouter makes the router of targets (in the order of cairn.toml). A
// single Worker without routes takes every request.
func NewRouter(targets []RouteTarget) (*Router, error) {
	r := &Router{}
	seen := map[string]route{}
	for _, t := range targets {
		for _, cr := range t.Routes {
			rt, err := parseRoute(cr)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where(cr), err)
			}
			rt.worker = t.Worker
			key := fmt.Sprintf("%s|%s|%v|%s|%v|%v", rt.scheme, rt.host, rt.wildHost, rt.path, rt.wildPath, rt.custom)
			if prev, dup := seen[key]; dup && prev.worker != t.Worker {
				return nil, fmt.Errorf("%s: %w: %q is also a route of Worker %q (%s)", where(cr), ErrRouteConflict, cr.Pattern, prev.worker, where(prev.src))
			}
			seen[key] = rt
			r.routes = append(r.routes, rt)
		}
	}
	if len(r.routes) == 0 {
		if len(targets) > 1 {
			return nil, ErrNoRoutes
		}
		if len(targets) == 1 {
			r.fallback = targets[0].Worker
		}
	}
	slices.SortStableFunc(r.routes, compareRoutes)
	return r, nil
}

// where locates a route for an error.
func where(r config.Route) string {
	if r.File == "" {
		return fmt.Sprintf("route %q", r.Pattern)
	}
	if r.Line > 0 {
		return fmt.Sprintf("%s:%d", r.File, r.Line)
	}
	return r.File
}

// parseRoute splits a checked pattern into its parts.
func parseRoute(cr config.Route) (route, error) {
	if err := config.CheckRoute(cr); err != nil {
		return route{}, err
	}
	rt := route{src: cr, custom: cr.CustomDomain}
	if cr.CustomDomain {
		rt.host, rt.path, rt.wildPath = strings.ToLower(cr.Pattern), "/", true
		return rt, nil
	}
	rest := cr.Pattern
	if s, after, ok := strings.Cut(rest, "://"); ok {
		rt.scheme, rest = s, after
	}
	host, path, hasPath := strings.Cut(rest, "/")
	rt.host = strings.ToLower(host)
	if h, ok := strings.CutPrefix(rt.host, "*"); ok {
		rt.host, rt.wildHost = h, true
	}
	rt.path = "/" + path
	if !hasPath {
		rt.path = "/"
	}
	if p, ok := strings.CutSuffix(rt.path, "*"); ok {
		rt.path, rt.wildPath = p, true
	}
	return rt, nil
}

// compareRoutes orders routes most specific first.
func compareRoutes(a, b route) int {
	boolFirst := func(x, y bool) int { // true before false
		switch {
		case x == y:
			return 0
		case x:
			return -1
		}
		return 1
	}
	return cmp.Or(
		boolFirst(!a.wildHost, !b.wildHost),
		cmp.Compare(len(b.host), len(a.host)),
		boolFirst(!a.custom, !b.custom),
		boolFirst(!a.wildPath, !b.wildPath),
		cmp.Compare(len(b.path), len(a.path)),
		boolFirst(a.scheme != "", b.scheme != ""),
	)
}

// Match returns the Worker for a request: scheme ("http" or "https"),
// Host header (a port is ignored) and the URL's path with its query
// string ("/a/b?c=d"). ok is false when no route matches.
func (r *Router) Match(scheme, hostport, pathQuery string) (worker string, ok bool) {
	worker, _, ok = r.Route(scheme, hostport, pathQuery)
	return worker, ok
}

// Route is Match, also returning the pattern that matched as the config
// wrote it ("" for the fallback Worker of a single-Worker server): the
// route label of the request's metrics.
func (r *Router) Route(scheme, hostport, pathQuery string) (worker, pattern string, ok bool) {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if pathQuery == "" || pathQuery[0] != '/' {
		pathQuery = "/" + pathQuery
	}
	for _, rt := range r.routes {
		if rt.scheme != "" && rt.scheme != scheme {
			continue
		}
		if rt.wildHost && !strings.HasSuffix(host, rt.host) || !rt.wildHost && host != rt.host {
			continue
		}
		if rt.wildPath && !strings.HasPrefix(pathQuery, rt.path) || !rt.wildPath && pathQuery != rt.path {
			continue
		}
		return rt.worker, rt.src.Pattern, true
	}
	if r.fallback != "" {
		return r.fallback, "", true
	}
	return "", "", false
}

// Patterns returns the patterns routed to worker, most specific first.
func (r *Router) Patterns(worker string) []string {
	var out []string
	for _, rt := range r.routes {
		if rt.worker == worker {
			out = append(out, rt.src.Pattern)
		}
	}
	if r.fallback == worker {
		out = append(out, "*/*")
	}
	return out
}
