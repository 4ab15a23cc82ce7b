package assets

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
)

// HTML handling modes (assets.html_handling).
const (
	AutoTrailingSlash  = "auto-trailing-slash" // the default
	ForceTrailingSlash = "force-trailing-slash"
	DropTrailingSlash  = "drop-trailing-slash"
	HTMLNone           = "none"
)

// Not-found handling modes (assets.not_found_handling).
const (
	NotFoundNone = "none" // the default
	SPA          = "single-page-application"
	Page404      = "404-page"
)

// ErrNoDirectory is returned by New when the asset directory is missing.
var ErrNoDirectory = errors.New("assets directory does not exist")

// Options configure a Handler; they are the config's "assets" object.
type Options struct {
	Directory        string // absolute
	HTMLHandling     string // default AutoTrailingSlash
	NotFoundHandling string // default NotFoundNone
	// RunWorkerFirst sends every request to the Worker first (the Worker
	// reaches the assets with env.ASSETS.fetch).
	RunWorkerFirst bool
	// RunWorkerFirstRules are route patterns ("/api/*", "!/api/docs/*")
	// whose requests go to the Worker first.
	RunWorkerFirstRules []string
	// HasWorker is false for an assets-only project: every request is
	// the assets'.
	HasWorker bool
	// NavigationPrefersAssets applies not_found_handling to navigation
	// requests (Sec-Fetch-Mode: navigate) ahead of the Worker, as the
	// compatibility flag assets_navigation_prefers_asset_serving (default
	// from 2025-04-01) does.
	NavigationPrefersAssets bool
	Logger                  *slog.Logger
}

// Handler serves one asset directory. It is safe for concurrent use;
// Reload swaps in a fresh scan.
type Handler struct {
	opts    Options
	routing *routing
	site    atomic.Pointer[site]
}

// site is one scan of the directory with its rules.
type site struct {
	files     map[string]*file
	headers   []*headerRule
	redirects *redirects
}

// New checks the options and scans the directory.
func New(opts Options) (*Handler, error) {
	if opts.HTMLHandling == "" {
		opts.HTMLHandling = AutoTrailingSlash
	}
	if opts.NotFoundHandling == "" {
		opts.NotFoundHandling = NotFoundNone
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	switch opts.HTMLHandling {
	case AutoTrailingSlash, ForceTrailingSlash, DropTrailingSlash, HTMLNone:
	default:
		return nil, fmt.Errorf("assets.html_handling %q: want auto-trailing-slash, force-trailing-slash, drop-trailing-slash or none", opts.HTMLHandling)
	}
	switch opts.NotFoundHandling {
	case NotFoundNone, SPA, Page404:
	default:
		return nil, fmt.Errorf("assets.not_found_handling %q: want single-page-application, 404-page or none", opts.NotFoundHandling)
	}
	h := &Handler{opts: opts}
	if opts.RunWorkerFirstRules != nil {
		rt, err := parseRouting(opts.RunWorkerFirstRules)
		if err != nil {
			return nil, err
		}
		h.routing = rt
	}
	if err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Dir returns the asset directory.
func (h *Handler) Dir() string { return h.opts.Directory }

// Reload rescans the directory and its _headers and _redirects files.
// On error the previous scan stays.
func (h *Handler) Reload() error {
	dir := h.opts.Directory
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s", ErrNoDirectory, dir)
	}
	warn := func(msg string) { h.opts.Logger.Warn(msg) }
	files, err := scan(dir, warn)
	if err != nil {
		return err
	}
	s := &site{files: files}
	hf := filepath.Join(dir, "_headers")
	lines, err := rulesFile(hf)
	if err != nil {
		return err
	}
	s.headers = parseHeaders(hf, lines, warn)
	rf := filepath.Join(dir, "_redirects")
	if lines, err = rulesFile(rf); err != nil {
		return err
	}
	s.redirects = parseRedirects(rf, lines, h.opts.HTMLHandling, warn)
	h.site.Store(s)
	return nil
}

// Len returns how many assets the last scan found.
func (h *Handler) Len() int { return len(h.site.Load().files) }

// ServeHTTP answers r from the assets, as env.ASSETS.fetch does: an asset,
// a redirect, the not-found page of not_found_handling, or an empty 404.
func (h *Handler) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	s := h.site.Load()
	res := s.resolve(r, h.opts.HTMLHandling, h.opts.NotFoundHandling)
	s.write(rw, r, res)
}

// Route serves r from the assets if the Worker does not come first for
// it, and reports whether it did. The order is Cloudflare's: the
// run_worker_first rules, then run_worker_first true, then an asset (or a
// _redirects rule) for the path; with no asset, the Worker.
// not_found_handling applies ahead of the Worker only with
// run_worker_first rules or, for navigation requests, with
// NavigationPrefersAssets; without a Worker it always applies.
func (h *Handler) Route(rw http.ResponseWriter, r *http.Request) bool {
	if !h.opts.HasWorker {
		h.ServeHTTP(rw, r)
		return true
	}
	if h.routing != nil {
		worker, decided := h.routing.workerFirst(r.URL.Path)
		if decided {
			if worker {
				return false
			}
			h.ServeHTTP(rw, r)
			return true
		}
	} else if h.opts.RunWorkerFirst {
		return false
	}
	notFound := NotFoundNone
	if h.routing != nil || h.opts.NavigationPrefersAssets && r.Header.Get("Sec-Fetch-Mode") == "navigate" {
		notFound = h.opts.NotFoundHandling
	}
	s := h.site.Load()
	res := s.resolve(r, h.opts.HTMLHandling, notFound)
	if res.noIntent {
		return false
	}
	s.write(rw, r, res)
	return true
}

// result is what resolve decided for a request.
type result struct {
	noIntent bool   // nothing here: the Worker's turn, or an empty 404
	status   int    // of a redirect or error response
	location string // of a redirect
	file     *file  // the asset to serve
	fileCode int    // 200, or 404 for a 404 page
}

// resolve applies _redirects, then html_handling and not_found_handling.
func (s *site) resolve(r *http.Request, htmlHandling, notFound string) result {
	rawPath := r.URL.EscapedPath()
	host := r.Host
	search := ""
	if r.URL.RawQuery != "" {
		search = "?" + r.URL.RawQuery
	}
	proxied := false
	if to, status, ok := s.redirects.match(host, rawPath); ok {
		base := &url.URL{Scheme: "http", Host: host, Path: r.URL.Path, RawPath: r.URL.RawPath}
		if r.TLS != nil {
			base.Scheme = "https"
		}
		dest, err := base.Parse(to)
		if err != nil {
			return result{status: http.StatusInternalServerError}
		}
		if status != http.StatusOK {
			loc := dest.String()
			if dest.Host == base.Host && dest.Scheme == base.Scheme {
				loc = dest.EscapedPath()
			} else {
				d := *dest
				d.RawQuery, d.Fragment = "", ""
				loc = d.String()
			}
			if dest.RawQuery != "" {
				loc += "?" + dest.RawQuery
			} else {
				loc += search
			}
			if dest.Fragment != "" {
				loc += "#" + dest.EscapedFragment()
			}
			return result{status: status, location: loc}
		}
		rawPath, proxied = dest.EscapedPath(), true
	}
	if !strings.HasPrefix(rawPath, "/") { // such as OPTIONS *
		return result{noIntent: true}
	}
	decoded := decodePath(rawPath)
	in := s.intent(decoded, htmlHandling, notFound, false)
	if in == nil {
		if proxied {
			return result{status: http.StatusNotFound}
		}
		return result{noIntent: true}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return result{status: http.StatusMethodNotAllowed}
	}
	dest := decoded
	if in.redirect != "" {
		dest = in.redirect
	}
	if enc := encodePath(dest); in.redirect != "" || in.file != nil && enc != rawPath && !proxied {
		return result{status: http.StatusTemporaryRedirect, location: enc + search}
	}
	return result{file: in.file, fileCode: in.code}
}

// write sends a resolved result, with the _headers rules applied.
func (s *site) write(rw http.ResponseWriter, r *http.Request, res result) {
	h := rw.Header()
	var body io.ReadCloser
	status := res.status
	switch {
	case res.noIntent:
		status = http.StatusNotFound
	case res.location != "":
		h.Set("Location", res.location)
	case res.file != nil:
		f := res.file
		etag := `"` + f.etag + `"`
		h.Set("ETag", etag)
		h.Set("Content-Type", f.contentType)
		if r.Header.Get("Authorization") == "" && r.Header.Get("Range") == "" {
			h.Set("Cache-Control", "public, max-age=0, must-revalidate")
		}
		if inm := r.Header.Get("If-None-Match"); inm == etag || inm == "W/"+etag {
			status = http.StatusNotModified
			break
		}
		status = res.fileCode
		h.Set("Content-Length", strconv.FormatInt(f.size, 10))
		if r.Method != http.MethodHead {
			b, err := f.open()
			if err != nil {
				http.Error(rw, "asset unreadable", http.StatusInternalServerError)
				return
			}
			body = b
		}
	}
	applyHeaders(s.headers, r.Host, r.URL.EscapedPath(), h)
	rw.WriteHeader(status)
	if body != nil {
		_, _ = io.Copy(rw, body)
		body.Close()
	}
}

// decodePath percent-decodes each segment of a path (leaving a segment
// that does not decode as is) and collapses repeated slashes.
func decodePath(p string) string {
	if !strings.Contains(p, "%") && !strings.Contains(p, "//") {
		return p // the common case: nothing to decode
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if d, err := url.PathUnescape(s); err == nil {
			segs[i] = d
		}
	}
	return multiSlash.ReplaceAllString(strings.Join(segs, "/"), "/")
}

// encodePath encodes each segment of a path as JavaScript's
// encodeURIComponent does: the canonical form of an asset's URL.
func encodePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = encodeURIComponent(s)
	}
	return strings.Join(segs, "/")
}

func encodeURIComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
