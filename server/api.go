package server

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/objects"
)

// ErrAPIToken is returned by CheckAPIAddr when the admin API would listen on
// a non-loopback address without a bearer token.
var ErrAPIToken = errors.New("the admin API needs a token (--api-token or CAIRN_API_TOKEN) to listen on a non-loopback address")

// API serves cairn's admin REST API under /client/v4/, in the shape of
// Cloudflare's v4 API (so clients written for it, wrangler included, can
// point at cairn): every answer is an envelope
//
//	{"success": bool, "errors": [{"code", "message"}], "messages": [], "result": …}
//
// Subsystems (D1, KV) add their routes with Handle.
type API struct {
	token  string
	mux    *http.ServeMux
	public *http.ServeMux // routes that authenticate requests themselves (signed URLs)
	routes []string       // the patterns registered, for Routes
}

// NewAPI returns an API that requires "Authorization: Bearer <token>" on
// every request, or no authorization when token is "" (loopback only; see
// CheckAPIAddr).
func NewAPI(token string) *API {
	return &API{token: token, mux: http.NewServeMux(), public: http.NewServeMux()}
}

// Authorize says whether r may use the API. With a token, r must present it
// ("Authorization: Bearer <token>"). Without one, the API trusts the local
// machine, so it must be sure a request really comes from a local client
// and not from a web page the user has open: r must come from a loopback
// address, its Host must name loopback (a DNS-rebinding attack reaches
// loopback under the attacker's host name) and it must not carry a
// cross-site Origin or Sec-Fetch-Site (a browser's "simple" cross-origin
// POST needs no preflight and would run otherwise).
func (a *API) Authorize(r *http.Request) *APIError {
	if a.token != "" {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.token)) != 1 {
			return &APIError{Status: http.StatusUnauthorized, Code: 10000, Message: "Authentication error"}
		}
		return nil
	}
	forbid := func(why string) *APIError {
		return &APIError{Status: http.StatusForbidden, Code: 10000,
			Message: "Forbidden: " + why + " (the admin API without a token only serves local clients; set --api-token to use it from elsewhere)"}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return forbid("request from " + r.RemoteAddr + ", not loopback")
	}
	if !isLoopbackHost(hostOnly(r.Host)) {
		return forbid(fmt.Sprintf("Host %q does not name loopback", r.Host))
	}
	if origin, ok := r.Header["Origin"]; ok {
		u, err := url.Parse(strings.Join(origin, ""))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !isLoopbackHost(u.Hostname()) {
			return forbid(fmt.Sprintf("cross-site Origin %q", strings.Join(origin, ",")))
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return forbid("cross-site request (Sec-Fetch-Site)")
	}
	return nil
}

// hostOnly returns the host of a Host header, without its port or the
// brackets of an IPv6 address.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
}

// isLoopbackHost reports whether host (no port) is a loopback IP address or
// localhost, which resolves only to loopback (RFC 6761).
func isLoopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// requireJSON refuses a request body that is not declared as JSON: besides
// saying what the API reads, it keeps browsers from sending one without a
// CORS preflight (text/plain and form bodies need none).
func requireJSON(r *http.Request) *APIError {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &APIError{Status: http.StatusUnsupportedMediaType, Code: 10415,
			Message: fmt.Sprintf("Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))}
	}
	return nil
}

// CheckAPIAddr refuses to serve the API on a non-loopback address without a
// token.
func CheckAPIAddr(addr, token string) error {
	if token != "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("api address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return ErrAPIToken
}

// Handle registers h for pattern, a net/http ServeMux pattern relative to
// /client/v4 (e.g. "GET /accounts/{account}/d1/database"). h returns the
// envelope's result, or an error that becomes the envelope's errors with the
// status of an *APIError (500 for any other error).
func (a *API) Handle(pattern string, h func(r *http.Request) (any, error)) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	full := strings.TrimSpace(method + " /client/v4" + path)
	a.routes = append(a.routes, full)
	a.mux.HandleFunc(full, func(w http.ResponseWriter, r *http.Request) {
		result, err := h(r)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []APIError{}, Messages: []APIError{}, Result: result})
	})
}

// HandleRaw registers a handler that writes its own response (file
// downloads and uploads) for pattern, relative to /client/v4 like Handle.
// The token check still applies.
func (a *API) HandleRaw(pattern string, h http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	a.routes = append(a.routes, strings.TrimSpace(method+" /client/v4"+path))
	a.mux.HandleFunc(strings.TrimSpace(method+" /client/v4"+path), h)
}

// HandlePublic registers h for pattern, relative to /client/v4, without
// the token check: h must authenticate the request itself (the signed URLs
// of D1 import and export, which clients fetch without a token).
func (a *API) HandlePublic(pattern string, h http.HandlerFunc) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	a.routes = append(a.routes, strings.TrimSpace(method+" /client/v4"+path))
	a.public.HandleFunc(strings.TrimSpace(method+" /client/v4"+path), h)
}

// Routes returns the patterns of every route registered ("GET
// /client/v4/…"), in order: what the OpenAPI document must describe.
func (a *API) Routes() []string { return slices.Clone(a.routes) }

// ServeHTTP routes the request, after checking the caller (see Authorize)
// unless the route is public. Unknown routes get a 404 envelope.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := a.public.Handler(r); pattern != "" {
		a.public.ServeHTTP(w, r)
		return
	}
	if err := a.Authorize(r); err != nil {
		WriteAPIError(w, err)
		return
	}
	if _, pattern := a.mux.Handler(r); pattern == "" {
		WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: 7003, Message: "Could not route to " + r.URL.Path + ", perhaps your object identifier is invalid?"})
		return
	}
	a.mux.ServeHTTP(w, r)
}

// Guard returns h behind the API's rule for callers (see Authorize): with
// a token, requests must present it; without one, only local clients are
// served. A refused request gets the v4 error envelope (401 or 403). The
// admin address serves /metrics this way.
func (a *API) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.Authorize(r); err != nil {
			WriteAPIError(w, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// APIError is an error answered in the v4 envelope with an HTTP status.
type APIError struct {
	Status  int    `json:"-"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return e.Message }

type envelope struct {
	Success  bool       `json:"success"`
	Errors   []APIError `json:"errors"`
	Messages []APIError `json:"messages"`
	Result   any        `json:"result"`
}

// WriteAPIError answers err in the v4 envelope: an *APIError (anywhere in
// err's chain) gives its status and code, any other error a 500 with code
// 7500 and err's message.
func WriteAPIError(w http.ResponseWriter, err error) {
	ae := &APIError{Status: http.StatusInternalServerError, Code: 7500, Message: err.Error()}
	if errors.As(err, &ae) && ae.Status == 0 {
		ae.Status = http.StatusBadRequest
	}
	writeEnvelope(w, ae.Status, envelope{Errors: []APIError{*ae}, Messages: []APIError{}})
}

func writeEnvelope(w http.ResponseWriter, status int, env envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

// AdminAPI returns the admin API of s: each subsystem's routes act on the
// App being served at the time of the request.
func (s *Server) AdminAPI(token string) *API {
	api := NewAPI(token)
	// status: the Worker served, its live objects and the Go heap; ?gc=1
	// collects garbage first (for memory benchmarks).
	api.Handle("GET /cairn/status", func(r *http.Request) (any, error) {
		app := s.Current()
		if app == nil {
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"}
		}
		if r.URL.Query().Get("gc") == "1" {
			runtime.GC()
			debug.FreeOSMemory()
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return map[string]any{
			"name":        app.Config.Name,
			"liveObjects": app.Host.Live(),
			"heapInuse":   ms.HeapInuse,
			"goroutines":  runtime.NumGoroutine(),
		}, nil
	})
	s.registerKV(api)
	s.registerStudio(api)
	s.registerDeploys(api)
	s.registerBackup(api)
	s.registerTail(api)
	api.Handle("GET /cairn/objects/{class}", func(r *http.Request) (any, error) {
		app := s.Current()
		if app == nil {
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"}
		}
		list, err := app.Host.Objects(app.Config.ClassOf(r.PathValue("class")))
		var uc *objects.UnknownClassError
		if errors.As(err, &uc) {
			return nil, &APIError{Status: http.StatusNotFound, Code: 10066, Message: err.Error()}
		}
		return list, err
	})
	RegisterD1API(api, func() (*d1.Manager, error) {
		app := s.Current()
		if app == nil {
			return nil, &APIError{Status: http.StatusServiceUnavailable, Code: 7500, Message: "no Worker loaded"}
		}
		return app.D1, nil
	})
	return api
}
