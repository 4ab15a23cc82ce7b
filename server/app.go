// Package server loads a Worker project (config, bundle, Durable Object
// host, JS runtimes) into an App and serves it over HTTP, swapping in a new
// App when the project's sources change.
package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairn-dev/cairn/bundle"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/kv"
	"github.com/cairn-dev/cairn/objects"
)

// Options says which project to load and where its state lives.
type Options struct {
	Config    string            // config file or project directory
	PersistTo string            // state directory; default <project>/.cairn/state
	Vars      map[string]string // --var overrides, applied over the config's vars
	Logger    *slog.Logger
	// MaxWebSocketMessage bounds received WebSocket messages; default 32 MiB.
	MaxWebSocketMessage int64
}

// App is one loaded Worker project.
type App struct {
	// mu is held shared by each request served and exclusively by Close,
	// so Close waits for requests in flight.
	mu     sync.RWMutex
	closed bool

	Config *config.Config
	Worker *jsrt.Worker
	Host   *objects.Host
	KV     map[string]*kv.Namespace // Workers KV namespaces by binding name
	Inputs []string                 // source files, for the reload watcher
}

// Load reads the config, bundles the entry, opens the state directory and
// starts the Worker.
func Load(opts Options) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	file, err := config.Find(opts.Config)
	if err != nil {
		return nil, err
	}
	cfg, err := config.Load(file, func(msg string) { log.Warn(msg) })
	if err != nil {
		return nil, err
	}
	res, err := bundle.Build(bundle.Options{Entry: cfg.Main, Dir: cfg.Dir})
	if err != nil {
		return nil, err
	}
	persist := opts.PersistTo
	if persist == "" {
		persist = filepath.Join(cfg.Dir, ".cairn", "state")
	}
	catalog, err := objects.OpenCatalog(filepath.Join(persist, cfg.Name))
	if err != nil {
		return nil, err
	}
	if err := catalog.Apply(cfg.Migrations); err != nil {
		return nil, err
	}
	// Config vars, then secrets from .dev.vars (as wrangler dev), then --var.
	devVars, err := readDevVars(filepath.Join(cfg.Dir, ".dev.vars"))
	if err != nil {
		return nil, err
	}
	vars := make(map[string]any, len(cfg.Vars)+len(devVars)+len(opts.Vars))
	for k, v := range cfg.Vars {
		vars[k] = v
	}
	for k, v := range devVars {
		vars[k] = v
	}
	for k, v := range opts.Vars {
		vars[k] = v
	}
	bindings := make(map[string]string, len(cfg.DurableObjects))
	for _, b := range cfg.DurableObjects {
		if b.ScriptName != "" && b.ScriptName != cfg.Name {
			log.Warn("durable object binding to another script is not supported yet; ignored", "binding", b.Name, "script_name", b.ScriptName)
			continue
		}
		bindings[b.Name] = b.ClassName
	}
	kvs, err := openKV(cfg, persist, log)
	if err != nil {
		return nil, err
	}
	host := objects.NewHost(catalog, log)
	w, err := jsrt.New(jsrt.Config{
		Name:           cfg.Name,
		Code:           res.Code,
		Filename:       "worker.js", // at the project root, so source-map paths resolve
		CPULimit:       cfg.CPULimit,
		Vars:           vars,
		DurableObjects: bindings,
		KV:             kvBindings(kvs),
		NodeCompat:     cfg.HasFlag("nodejs_compat") || cfg.HasFlag("nodejs_compat_v2"),
		Host:           host,
		Logger:         log,

		MaxWebSocketMessage: opts.MaxWebSocketMessage,
	})
	if err != nil {
		host.Close()
		closeKV(kvs)
		return nil, fmt.Errorf("%s: %w", relName(cfg.Dir, cfg.Main), err)
	}
	inputs := append(slices.Clone(res.Inputs), file, filepath.Join(cfg.Dir, ".dev.vars"))
	return &App{Config: cfg, Worker: w, Host: host, KV: kvs, Inputs: inputs}, nil
}

// Close waits for requests in flight, stops the Worker, then closes the
// objects and their storage.
func (a *App) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	a.Worker.Close()
	return errors.Join(a.Host.Close(), closeKV(a.KV))
}

// serve handles one request unless the App is closed; it reports whether it did.
func (a *App) serve(rw http.ResponseWriter, r *http.Request) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return false
	}
	a.Worker.ServeHTTP(rw, r)
	return true
}

func relName(dir, path string) string {
	if rel, err := filepath.Rel(dir, path); err == nil {
		return rel
	}
	return path
}

// Server serves the current App; Swap replaces it (on reload) without
// dropping the listener.
type Server struct {
	app atomic.Pointer[App]
	mu  sync.Mutex // serializes Swap
	Log *slog.Logger
}

// ServeHTTP hands the request to the current App's Worker. A request that
// races with a reload goes to the new App.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	for {
		app := s.app.Load()
		if app == nil {
			http.Error(rw, "no Worker loaded", http.StatusServiceUnavailable)
			return
		}
		if app.serve(rw, r) {
			return
		}
	}
}

// Current returns the App being served.
func (s *Server) Current() *App { return s.app.Load() }

// Swap serves next from now on and closes the previous App.
func (s *Server) Swap(next *App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.app.Swap(next)
	if prev != nil {
		if err := prev.Close(); err != nil && s.Log != nil {
			s.Log.Error("close previous worker", "error", err)
		}
	}
}
