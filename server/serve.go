package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/objects"
)

// Fleet serves several Workers in one process (cairn serve). Each Worker is
// a *Server of its own (one App, swapped on a deploy), with its state under
// <data_dir>/<worker>/; a Router sends each request to one of them by its
// host and path; the admin API serves them all.
//
// D1 databases and KV namespaces belong to the account, as on Cloudflare,
// when the Workers are loaded with an Account (cairn serve does): two
// Workers binding the same database_id share one database. R2 buckets and
// Durable Objects stay with their Worker. Other Workers reach them through
// Durable Object bindings with its script_name (Fleet.ObjectHost), and the
// Worker itself through service bindings (Fleet.Handler for fetch,
// Fleet.WorkerCode for RPC).
type Fleet struct {
	log      *slog.Logger
	router   *Router
	names    []string // in the order of cairn.toml
	servers  map[string]*Server
	account  *Account // nil: each Worker has its own D1 and KV
	caps     *jsrt.Capabilities
	draining atomic.Bool
}

// NewFleet returns a Fleet of the named Workers, each with an empty Server
// (answering 503 until an App is swapped in), routed by router. log gets a
// "worker" attribute per Worker.
func NewFleet(names []string, router *Router, log *slog.Logger) (*Fleet, error) {
	f := &Fleet{log: log, router: router, servers: make(map[string]*Server, len(names)), caps: jsrt.NewCapabilities()}
	for _, n := range names {
		if _, dup := f.servers[n]; dup {
			return nil, fmt.Errorf("two Workers are named %q: a Worker's name must be unique (it names its state directory)", n)
		}
		f.names = append(f.names, n)
		f.servers[n] = &Server{Log: log.With("worker", n)}
	}
	return f, nil
}

// UseAccount makes the Fleet close acc once its Workers are closed.
func (f *Fleet) UseAccount(acc *Account) { f.account = acc }

// Names returns the Workers' names, in the order of cairn.toml.
func (f *Fleet) Names() []string { return slices.Clone(f.names) }

// Server returns the Server of the named Worker, or nil.
func (f *Fleet) Server(name string) *Server { return f.servers[name] }

// Router returns the Fleet's router.
func (f *Fleet) Router() *Router { return f.router }

// ObjectHost returns a function giving the named Worker's current Durable
// Object Host (nil while it has no App), for bindings with its script_name
// (Options.ObjectHosts); nil for a name the Fleet does not serve.
func (f *Fleet) ObjectHost(name string) func() *objects.Host {
	s := f.servers[name]
	if s == nil {
		return nil
	}
	return func() *objects.Host {
		if app := s.Current(); app != nil {
			return app.Host
		}
		return nil
	}
}

// WorkerCode returns a function giving the named Worker's current code
// (nil while it has no App), for JS RPC over service bindings to it
// (Options.WorkerCode); nil for a name the Fleet does not serve.
func (f *Fleet) WorkerCode(name string) func() *jsrt.Worker {
	s := f.servers[name]
	if s == nil {
		return nil
	}
	return func() *jsrt.Worker {
		if app := s.Current(); app != nil {
			return app.Worker
		}
		return nil
	}
}

// Capabilities returns the table of RPC capabilities the Fleet's Workers
// share (Options.Capabilities): a function one Worker passes to another
// over a service binding calls back into the first.
func (f *Fleet) Capabilities() *jsrt.Capabilities { return f.caps }

// Handler returns the handler of the named Worker for service bindings
// (Options.Workers): the Worker's Server, without routing. It returns nil
// for a name the Fleet does not serve.
func (f *Fleet) Handler(name string) http.Handler {
	if s := f.servers[name]; s != nil {
		return s
	}
	return nil
}

// ServeHTTP hands the request to the Worker its host and path route to,
// or answers 404 naming the host and path no route matches.
func (f *Fleet) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	name, pattern, ok := f.router.Route(scheme, r.Host, r.URL.RequestURI())
	if !ok {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(rw, "No Worker route matches %s%s on this cairn server.\n", r.Host, r.URL.Path)
		return
	}
	if pattern != "" {
		r = r.WithContext(WithRoute(r.Context(), pattern))
	}
	f.servers[name].ServeHTTP(rw, r)
}

// Drain marks the Fleet as shutting down: the health check fails from now
// on, so a load balancer stops sending requests.
func (f *Fleet) Drain() { f.draining.Store(true) }

// EndStreams ends the responses still streaming in every Worker (an event
// stream may never end), truncated.
func (f *Fleet) EndStreams() {
	for _, n := range f.names {
		if app := f.servers[n].Current(); app != nil {
			app.Worker.EndStreams()
		}
	}
}

// Close closes every Worker's App, in parallel: each waits for its
// requests in flight and its pending commits, and closes its WebSockets
// with 1012 (service restart).
func (f *Fleet) Close() error {
	f.Drain()
	var wg sync.WaitGroup
	errs := make([]error, len(f.names))
	for i, n := range f.names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := f.servers[n]
			if app := s.app.Swap(nil); app != nil {
				if err := app.Close(); err != nil {
					errs[i] = fmt.Errorf("worker %s: %w", n, err)
				}
			}
		}()
	}
	wg.Wait()
	if f.account != nil { // after the Apps that borrow from it
		errs = append(errs, f.account.Close())
	}
	return errors.Join(errs...)
}

// AdminAPI returns the admin API of every Worker of the Fleet:
//
//	GET /cairn/healthz                       health (no token): 200, or 503 while starting or draining
//	GET /client/v4/cairn/workers             the Workers, their routes and live objects
//	/workers/{worker}/client/v4/…            one Worker's API (as cairn dev --api-port serves it; its
//	                                         /accounts/… routes are the account-level ones below)
//	/client/v4/accounts/{a}/d1/database/…    D1: the list merges every Worker's databases; a
//	                                         database is found among them by id or name; a new one
//	                                         is made under the first Worker
//	/client/v4/accounts/{a}/storage/kv/…     KV: likewise
//	/client/v4/accounts/{a}/workers/scripts/{worker}/…  the Worker's deploys, versions, deployments
//	/client/v4/cairn/objects/{class}         the objects of the first Worker that has the class
//	/client/v4/cairn/status                  the first Worker's status
//	POST /client/v4/cairn/backup             a backup of the account's D1 and KV (<data>/.account/), as a
//	                                         Worker's backup is taken: acknowledgements held back
func (f *Fleet) AdminAPI(token string) http.Handler {
	per := make(map[string]*API, len(f.names))
	pages := make(map[string]http.Handler, len(f.names)) // each Worker's API with its studio
	for _, n := range f.names {
		per[n] = f.servers[n].AdminAPI(token)
		pages[n] = f.servers[n].adminHandler(per[n])
	}
	first := per[f.names[0]]
	api := NewAPI(token)
	api.Handle("GET /cairn/workers", func(r *http.Request) (any, error) {
		type worker struct {
			Name        string   `json:"name"`
			Routes      []string `json:"routes"`
			Loaded      bool     `json:"loaded"`
			LiveObjects int      `json:"liveObjects"`
		}
		out := make([]worker, 0, len(f.names))
		for _, n := range f.names {
			w := worker{Name: n, Routes: f.router.Patterns(n)}
			if w.Routes == nil {
				w.Routes = []string{}
			}
			if app := f.servers[n].Current(); app != nil {
				w.Loaded, w.LiveObjects = true, app.Host.Live()
			}
			out = append(out, w)
		}
		return out, nil
	})
	api.HandleRaw("GET /cairn/status", first.ServeHTTP)
	if acc := f.account; acc != nil {
		api.HandleRaw("POST /cairn/backup", func(w http.ResponseWriter, r *http.Request) {
			serveBackup(w, r, acc.Dir(), AccountDir, acc.acks, acc.log)
		})
	}
	api.HandleRaw("GET /cairn/objects/{class}", func(w http.ResponseWriter, r *http.Request) {
		class := r.PathValue("class")
		for _, n := range f.names {
			if app := f.servers[n].Current(); app != nil && hasClass(app.Config, app.Config.ClassOf(class)) {
				per[n].ServeHTTP(w, r)
				return
			}
		}
		first.ServeHTTP(w, r) // answers the unknown class
	})

	// D1, account-level.
	const d1Base = "/accounts/{account}/d1/database"
	api.HandleRaw("GET "+d1Base, func(w http.ResponseWriter, r *http.Request) {
		var all []d1.Info
		seen := map[string]bool{}
		for _, n := range f.names {
			app := f.servers[n].Current()
			if app == nil {
				continue
			}
			infos, err := app.D1.List()
			if err != nil {
				WriteAPIError(w, dbError(err))
				return
			}
			for _, i := range infos {
				if !seen[i.UUID] && (r.URL.Query().Get("name") == "" || strings.Contains(i.Name, r.URL.Query().Get("name"))) {
					seen[i.UUID] = true
					all = append(all, i)
				}
			}
		}
		page, info, err := paginate(all, r.URL.Query(), 1000, 10000)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		writePage(w, page, info)
	})
	api.HandleRaw("POST "+d1Base, first.ServeHTTP)
	d1Owner := func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		for _, n := range f.names {
			if app := f.servers[n].Current(); app != nil {
				if _, err := app.D1.Lookup(id); err == nil {
					per[n].ServeHTTP(w, r)
					return
				}
			}
		}
		WriteAPIError(w, apiErr(http.StatusNotFound, codeD1NotFound, "The database %s could not be found", id))
	}
	api.HandleRaw(d1Base+"/{id}", d1Owner)
	api.HandleRaw(d1Base+"/{id}/{rest...}", d1Owner)
	api.HandlePublic(d1Base+"/{id}/files/{file}", d1Owner) // signed URLs: the owner's API checks them

	// KV, account-level.
	const kvBase = "/accounts/{account}/storage/kv/namespaces"
	api.HandleRaw("GET "+kvBase, func(w http.ResponseWriter, r *http.Request) {
		var all []kvNamespaceResult
		seen := map[string]bool{}
		for _, n := range f.names {
			list, err := f.servers[n].kvNamespaces()
			if errors.Is(err, errNoApp) {
				continue
			}
			if err != nil {
				WriteAPIError(w, err)
				return
			}
			for _, ns := range list {
				if !seen[ns.ID] {
					seen[ns.ID] = true
					all = append(all, ns)
				}
			}
		}
		q := r.URL.Query()
		slices.SortStableFunc(all, func(a, b kvNamespaceResult) int {
			c := strings.Compare(a.ID, b.ID)
			if q.Get("order") == "title" {
				c = cmp.Or(strings.Compare(a.Title, b.Title), c)
			}
			if q.Get("direction") == "desc" {
				return -c
			}
			return c
		})
		page, info, err := paginate(all, q, 20, 1000)
		if err != nil {
			WriteAPIError(w, err)
			return
		}
		writePage(w, page, info)
	})
	api.HandleRaw("POST "+kvBase, first.ServeHTTP)
	kvOwner := func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		// A Worker that binds the namespace has it open: it serves it.
		for _, n := range f.names {
			if app := f.servers[n].Current(); app != nil && slices.ContainsFunc(app.Config.KVNamespaces, func(b config.KVNamespace) bool { return KVNamespaceID(b) == id }) {
				per[n].ServeHTTP(w, r)
				return
			}
		}
		for _, n := range f.names {
			if _, err := f.servers[n].kvNamespace(id); err == nil {
				per[n].ServeHTTP(w, r)
				return
			}
		}
		WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: kvCodeNamespaceNotFound, Message: "namespace not found"})
	}
	api.HandleRaw(kvBase+"/{id}", kvOwner)
	api.HandleRaw(kvBase+"/{id}/{rest...}", kvOwner)
	// A Worker's script routes (deploys, versions, deployments, tails) go
	// to the Worker they name, so that cairn deploy --to reaches it.
	scriptOwner := func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("script")
		if p := per[name]; p != nil {
			p.ServeHTTP(w, r)
			return
		}
		WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: 10007, Message: fmt.Sprintf("no Worker named %q is served here", name)})
	}
	// A tail's WebSocket (its URL names no Worker): the Worker whose
	// tail it is serves it.
	api.HandlePublic("GET /cairn/tails/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, n := range f.names {
			if f.servers[n].Tails().Has(r.PathValue("id")) {
				per[n].ServeHTTP(w, r)
				return
			}
		}
		WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: 10000, Message: "no such tail (it expired, was deleted or ended with its last connection)"})
	})
	const scripts = "/accounts/{account}/workers/scripts/{script}"
	api.HandleRaw(scripts, scriptOwner)
	api.HandleRaw(scripts+"/{rest...}", scriptOwner)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /cairn/healthz", f.healthz)
	mux.HandleFunc("/workers/{worker}/", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("worker")
		wapi := per[name]
		if wapi == nil {
			WriteAPIError(w, &APIError{Status: http.StatusNotFound, Code: 10007, Message: fmt.Sprintf("no Worker named %q is served here", name)})
			return
		}
		h := pages[name]
		if strings.HasPrefix(strings.TrimPrefix(r.URL.Path, "/workers/"+name), "/client/v4/accounts/") {
			// D1 and KV are the account's: one API serves them whatever
			// the mount, so the signed URLs of D1 exports and imports,
			// which point at the account-level routes, are checked by the
			// API that signed them.
			h = api
		}
		http.StripPrefix("/workers/"+name, h).ServeHTTP(w, r)
	})
	// /studio: the studio of the one Worker, or a list to pick one from.
	mux.HandleFunc("GET /studio", func(w http.ResponseWriter, r *http.Request) {
		if len(f.names) == 1 {
			w.Header().Set("Location", "workers/"+url.PathEscape(f.names[0])+"/studio/")
			w.WriteHeader(http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><title>cairn studio</title><h1>Workers</h1><ul>")
		for _, n := range f.names {
			fmt.Fprintf(w, `<li><a href="workers/%s/studio/">%s</a></li>`, url.PathEscape(n), html.EscapeString(n))
		}
		fmt.Fprint(w, "</ul>")
	})
	mux.Handle("/", api)
	return mux
}

// healthz answers the health check: 200 once every Worker is loaded, 503
// before that and once the Fleet drains. It needs no token and tells
// nothing but the Workers' names and state.
func (f *Fleet) healthz(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	workers := make(map[string]string, len(f.names))
	for _, n := range f.names {
		workers[n] = "serving"
		if f.servers[n].Current() == nil {
			workers[n], status, code = "not loaded", "starting", http.StatusServiceUnavailable
		}
	}
	if f.draining.Load() {
		status, code = "draining", http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": status, "workers": workers})
}

// hasClass reports whether cfg binds or declares the Durable Object class.
func hasClass(cfg *config.Config, class string) bool {
	for _, b := range cfg.DurableObjects {
		if b.ClassName == class && (b.ScriptName == "" || b.ScriptName == cfg.Name) {
			return true
		}
	}
	for _, m := range cfg.Migrations {
		if slices.Contains(m.NewClasses, class) || slices.Contains(m.NewSQLiteClasses, class) {
			return true
		}
	}
	return false
}

// LockDir locks dir (its cairn.lock) for as long as l holds its locks,
// failing with ErrStateLocked if another process holds it: cairn serve
// locks its whole data directory besides each Worker's.
func (l *StateLocks) LockDir(dir string) error {
	_, err := l.lock(dir)
	return err
}
