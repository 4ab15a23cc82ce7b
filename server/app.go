// Package server loads a Worker project (config, bundle, Durable Object
// host, JS runtimes) into an App and serves it over HTTP, swapping in a new
// App when the project's sources change.
package server

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/assets"
	"github.com/cairn-dev/cairn/bundle"
	"github.com/cairn-dev/cairn/cache"
	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/jsrt"
	"github.com/cairn-dev/cairn/kv"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/r2"
	"github.com/cairn-dev/cairn/sockets"
	"github.com/cairn-dev/cairn/tail"
)

// Options says which project to load and where its state lives.
type Options struct {
	Config    string            // config file or project directory
	PersistTo string            // state directory; default <project>/.cairn/state
	Vars      map[string]string // --var overrides, applied over the config's vars
	Logger    *slog.Logger
	// ObjectIdle is how long a Durable Object may go without events before
	// it is evicted from memory (between 1× and 2×, spread by id); default
	// 70 s as on Cloudflare, negative to never evict.
	ObjectIdle time.Duration
	// HibernateIdle is how long an object that only holds hibernatable
	// WebSockets may go without events before it is evicted (its sockets
	// stay open); default 10 s, as on Cloudflare.
	HibernateIdle time.Duration
	// AlarmRetry is the delay before the first retry of a failed alarm
	// (doubling after); default 2 s as on Cloudflare.
	AlarmRetry time.Duration
	// MaxWebSocketMessage bounds received WebSocket messages; default 32 MiB.
	MaxWebSocketMessage int64
	// CF overrides values of the request.cf object incoming requests carry
	// (see DefaultCF).
	CF map[string]any
	// CacheMaxBytes bounds the bodies the Cache API keeps (default
	// cache.DefaultMaxBytes).
	CacheMaxBytes int64
	// MaxMemory is the process's memory ceiling (cairn dev --max-memory):
	// near it the Worker sheds new requests; zero: none.
	MaxMemory int64
	// MaxBodySize bounds a request body (413 above it); default 100 MiB.
	MaxBodySize int64
	// Runtimes is the number of JS runtimes (threads) of the Worker (cairn
	// dev --runtimes); zero: jsrt's default.
	Runtimes int
	// MaxBodiesInFlight bounds the request bodies read whole that the
	// Worker's requests hold together (503 above it); default 1 GiB.
	MaxBodiesInFlight int64
	// Classes are Durable Object classes written in Go (objects.NewGoClass),
	// by class name. The config binds them like JS classes (durable_objects
	// bindings, migrations); the script need not export them.
	Classes map[string]objects.Class
	// AllowPrivateFetch lets the Worker's outbound fetch reach loopback,
	// private and link-local addresses, as wrangler dev does (cairn dev
	// sets it). The zero value, for a server facing users, refuses them.
	AllowPrivateFetch bool
	// NoHistory turns the history of commits off (cairn dev --history=false):
	// no D1 Time Travel or object bookmarks, and no history files.
	NoHistory bool
	// HistoryRetention is how long the history is kept where the config
	// sets no history_retention; default DefaultHistoryRetention (30 days).
	HistoryRetention time.Duration
	// Locks holds the lock on the Worker's state directory, which Load
	// takes (another process serving it makes Load fail with
	// ErrStateLocked). A server that reloads passes the same set to every
	// Load and closes it when it stops; nil: the App takes and releases
	// its own lock.
	Locks *StateLocks
	// AdminAPIPort is the port of cairn's admin API (0: none). The
	// Worker's outbound fetch may never reach it on this machine.
	AdminAPIPort int
	// Observer, if set, gets the App's commits, objects, exceptions and
	// WebSocket traffic (metrics).
	Observer Observer
	// Workers finds the other Workers of the same process by name (cairn
	// serve), for service bindings to them: env.SVC.fetch(request) goes to
	// the Worker's handler (RPC: WorkerCode). nil, or a nil handler: a
	// service binding to another Worker is unsupported.
	Workers func(name string) http.Handler
	// WorkerCode finds another Worker of the same process by name (cairn
	// serve), for JS RPC over service bindings to it: a function giving
	// that Worker's current code (nil while it is not loaded).
	WorkerCode func(name string) func() *jsrt.Worker
	// Capabilities, if set, is the table of RPC capabilities the Workers
	// that call each other share (a Fleet's), so that functions and stubs
	// passed between them call back into the Worker that passed them.
	Capabilities *jsrt.Capabilities
	// ObjectHosts finds another Worker of the same process by name (cairn
	// serve), for Durable Object bindings with its script_name: it returns
	// nil for a Worker the process does not serve, else a function giving
	// that Worker's current Host (nil while it is not loaded).
	ObjectHosts func(worker string) func() *objects.Host
	// Account, if set (cairn serve), holds the D1 databases and KV
	// namespaces the Worker binds, shared with the other Workers; nil: they
	// are the Worker's own, under its state directory.
	Account *Account
	// Version is the id of the version of the code (a deploy's); empty: a
	// content hash of the bundle (bundleVersion). Console lines and tail
	// items carry it.
	Version string
}

// App is one loaded Worker project.
type App struct {
	// mu is held shared by each request served and exclusively by Close,
	// so Close waits for requests in flight.
	mu     sync.RWMutex
	closed bool

	Config  *config.Config
	Version string // the code's version id (Options.Version or a hash of the bundle)
	Worker  *jsrt.Worker
	Host    *objects.Host
	KV      map[string]*kv.Namespace // Workers KV namespaces by binding name
	KVAll   *kv.Catalog              // every KV namespace in the state directory (bound or made by the API)
	R2      map[string]*r2.Bucket    // R2 buckets by binding name
	D1      *d1.Manager              // the Worker's D1 databases
	durable *commit.Local            // makes object, KV and D1 commits durable
	locks   *StateLocks              // the App's own state lock, if it took one
	acks    *ackGate                 // the commit log as the App's storage sees it (backup.go)
	dir     string                   // the Worker's state directory
	Inputs  []string                 // source files, for the reload watcher
	// Assets serves the config's static assets; nil without.
	Assets    *assets.Handler
	persist   string       // the state directory
	cf        string       // request.cf as JSON
	cache     *cache.Store // the Cache API's responses
	stopCrons func()       // stops the cron triggers; nil without
	account   *Account     // lends D1 and KV (cairn serve); nil: the App owns them
	log       *slog.Logger
	// migrations are the config's Durable Object migrations, checked but
	// not committed (LoadBundle); nil once committed or when Load did.
	migrations *objects.MigrationPlan
	// held, once made, holds back the activation of objects until the
	// previous App closed (see holdObjects).
	held        chan struct{}
	releaseOnce sync.Once
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
	res := &bundle.Result{} // an assets-only project has no Worker code
	if cfg.Main != "" {
		if res, err = bundle.Build(bundle.Options{Entry: cfg.Main, Dir: cfg.Dir, Rules: moduleRules(cfg.Rules)}); err != nil {
			return nil, err
		}
	}
	app, err := load(opts, cfg, res.Code, false)
	if err != nil {
		return nil, err
	}
	app.Inputs = append(slices.Clone(res.Inputs), file, filepath.Join(cfg.Dir, ".dev.vars"))
	return app, nil
}

// load starts the App of cfg with the bundled code. With deferMigrations
// the config's migrations are checked but left for the caller to commit
// (App.migrations), so that a version that fails to load changes nothing.
func load(opts Options, cfg *config.Config, code string, deferMigrations bool) (*App, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	persist := opts.PersistTo
	if persist == "" {
		persist = filepath.Join(cfg.Dir, ".cairn", "state")
	}
	// The state directory: locked against a second server, checked (a
	// catalog that vanished would orphan every object), and guarded (a
	// deleted directory makes writes fail instead of vanish).
	locks, ownLocks := opts.Locks, opts.Locks == nil
	if ownLocks {
		locks = &StateLocks{}
	}
	lock, err := locks.lock(filepath.Join(persist, cfg.Name))
	if err != nil {
		return nil, err
	}
	loaded := false
	defer func() {
		if ownLocks && !loaded {
			locks.Close()
		}
	}()
	catalog, err := objects.OpenCatalog(filepath.Join(persist, cfg.Name))
	if err != nil {
		return nil, err
	}
	migrations, err := catalog.Plan(cfg.Migrations)
	if err != nil {
		return nil, err
	}
	if !deferMigrations {
		if err := migrations.Commit(); err != nil {
			return nil, err
		}
		if err := migrations.RemoveDeleted(); err != nil {
			return nil, err
		}
		migrations = nil
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
	// Bindings cairn does not serve: env has an object that throws on use.
	unsupported := make(map[string]string, len(cfg.Unsupported))
	for _, b := range cfg.Unsupported {
		unsupported[b.Name] = b.Kind
	}
	bindings := make(map[string]string, len(cfg.DurableObjects))
	foreign := make(map[string]jsrt.ForeignClass)
	for _, b := range cfg.DurableObjects {
		if b.ScriptName != "" && b.ScriptName != cfg.Name && opts.ObjectHosts != nil {
			if resolve := opts.ObjectHosts(b.ScriptName); resolve != nil {
				foreign[b.Name] = jsrt.ForeignClass{Worker: b.ScriptName, Class: b.ClassName, Host: resolve}
				continue
			}
		}
		if b.ScriptName != "" && b.ScriptName != cfg.Name {
			log.Warn("durable object binding to another script is not supported yet", "binding", b.Name, "script_name", b.ScriptName)
			unsupported[b.Name] = "a Durable Object binding to another Worker"
			continue
		}
		bindings[b.Name] = b.ClassName
	}
	// One commit log for the Worker's objects, KV namespaces and D1
	// databases: their commits share fsyncs.
	durable := commit.NewLocal(0)
	var obs WorkerObservers
	if opts.Observer != nil {
		obs = opts.Observer.Worker(cfg.Name)
	}
	if obs.Commit != nil {
		durable.Observe(obs.Commit)
	}
	if err := durable.SyncFileSystem(persist, syncFSMin); err != nil {
		return nil, fmt.Errorf("state directory %s: %w", persist, err)
	}
	durable.SetFailures(locks.syncFailures(lock))
	if !opts.NoHistory {
		durable.SetHistories(locks.histories(lock, persist, cfg.Name, RetentionsOf(cfg, opts.HistoryRetention), log))
	} else if err := setAsideHistory(persist, cfg.Name, log); err != nil {
		durable.Close()
		return nil, err
	}
	acks := &ackGate{Log: lock.guard(durable, log)} // held back during an online backup
	guarded := commit.Log(acks)
	d1s := d1.NewManager(D1Dir(persist, cfg.Name), log)
	d1s.Commit, d1s.Histories = guarded, durable.Histories()
	closeD1, closeKV := d1s.Close, closeEach[*kv.Namespace]
	if opts.Account != nil { // lent by the account, which closes them
		d1s = opts.Account.D1
		closeD1, closeKV = func() error { return nil }, func(map[string]*kv.Namespace) error { return nil }
	}
	d1Bindings, err := openD1(d1s, cfg.D1Databases)
	if err != nil {
		closeD1()
		durable.Close()
		return nil, err
	}
	var kvs map[string]*kv.Namespace
	if opts.Account != nil {
		kvs, err = opts.Account.openKV(cfg)
	} else {
		kvs, err = openKV(cfg, persist, guarded, durable.Histories(), log)
	}
	if err != nil {
		closeD1()
		durable.Close()
		return nil, err
	}
	r2s, err := openR2(cfg, persist, guarded, log)
	if err != nil {
		closeD1()
		closeKV(kvs)
		durable.Close()
		return nil, err
	}
	static, err := openAssets(cfg, log)
	if err != nil {
		closeD1()
		closeKV(kvs)
		closeEach(r2s)
		durable.Close()
		return nil, err
	}
	var fetchers map[string]http.Handler
	if static != nil && cfg.Assets.Binding != "" {
		fetchers = map[string]http.Handler{cfg.Assets.Binding: static}
	}
	cf, err := cfJSON(opts.CF)
	if err != nil {
		closeD1()
		closeKV(kvs)
		closeEach(r2s)
		durable.Close()
		return nil, err
	}
	responses, err := cache.Open(filepath.Join(persist, cfg.Name, "cache.sqlite"), opts.CacheMaxBytes)
	if err != nil {
		closeD1()
		closeKV(kvs)
		closeEach(r2s)
		durable.Close()
		return nil, err
	}
	services := make(map[string]string, len(cfg.Services))
	var foreignServices map[string]jsrt.ForeignService
	for _, sb := range cfg.Services {
		if sb.Service != cfg.Name && opts.Workers != nil {
			if h := opts.Workers(sb.Service); h != nil {
				if foreignServices == nil {
					foreignServices = make(map[string]jsrt.ForeignService)
				}
				fs := jsrt.ForeignService{Worker: sb.Service, Entrypoint: cmp.Or(sb.Entrypoint, "default")}
				if sb.Entrypoint == "" {
					fs.Handler = h // the Worker's server: assets, request log
				}
				if opts.WorkerCode != nil {
					fs.Current = opts.WorkerCode(sb.Service)
				}
				foreignServices[sb.Binding] = fs
				continue
			}
		}
		if sb.Service != cfg.Name {
			log.Warn("service binding to another Worker is not supported yet (cairn runs one Worker)", "binding", sb.Binding, "service", sb.Service)
			unsupported[sb.Binding] = "a service binding to another Worker"
			continue
		}
		services[sb.Binding] = cmp.Or(sb.Entrypoint, "default")
	}
	host := objects.NewHost(catalog, log)
	host.SetCommitLog(guarded)
	if obs.Objects != nil {
		host.SetObserver(obs.Objects)
	}
	host.SetHistories(durable.Histories())
	var held chan struct{}
	if deferMigrations {
		// A version loaded beside the one serving runs no object (not
		// even an alarm) until it takes over (Server.Swap).
		held = make(chan struct{})
		host.WaitFor(held)
	}
	hosted := make(map[string]bool, len(opts.Classes))
	for name, c := range opts.Classes {
		host.Register(name, c)
		hosted[name] = true
	}
	idle := opts.ObjectIdle
	if idle == 0 {
		idle = 70 * time.Second
	}
	host.HibernateIdle(cmp.Or(opts.HibernateIdle, 10*time.Second))
	host.EvictIdle(idle)
	host.LimitLive(liveObjectLimit())
	if err := host.EnableAlarms(filepath.Join(persist, cfg.Name, "alarms.sqlite"), cmp.Or(opts.AlarmRetry, 2*time.Second)); err != nil {
		responses.Close()
		host.Close()
		releaseHeld(held)
		closeKV(kvs)
		closeEach(r2s)
		closeD1()
		durable.Close()
		return nil, err
	}
	version := opts.Version
	if version == "" {
		version = bundleVersion(code)
	}
	w, err := jsrt.New(jsrt.Config{
		Name:           cfg.Name,
		Version:        version,
		Code:           code,
		Filename:       "worker.js", // at the project root, so source-map paths resolve
		CPULimit:       cfg.CPULimit,
		MemoryLimit:    cfg.MemoryLimit,
		MaxMemory:      opts.MaxMemory,
		Runtimes:       opts.Runtimes,
		Vars:           vars,
		DurableObjects: bindings,
		ForeignObjects: foreign,
		HostedClasses:  hosted,
		Services:       services,
		KV:             kvBindings(kvs),
		R2:             r2Bindings(r2s),
		D1:             d1Bindings,
		Unsupported:    unsupported,
		Fetchers:       fetchers,
		Cache:          responses,
		NodeCompat:     cfg.HasFlag("nodejs_compat") || cfg.HasFlag("nodejs_compat_v2"),
		DeleteAllKeepsAlarm: cfg.CompatibilityDate < "2026-02-24" && !cfg.HasFlag("delete_all_deletes_alarm") ||
			cfg.HasFlag("delete_all_preserves_alarm"),
		ForeignServices: foreignServices, // service bindings to the other Workers of a cairn serve
		Capabilities:    opts.Capabilities,

		Host:     host,
		Commit:   guarded,
		Logger:   log,
		Outbound: jsrt.Outbound{DenyPrivate: !opts.AllowPrivateFetch, DenyPorts: adminPorts(opts.AdminAPIPort)},

		MaxWebSocketMessage: opts.MaxWebSocketMessage,
		MaxBodySize:         opts.MaxBodySize,
		MaxBodiesInFlight:   opts.MaxBodiesInFlight,
		CompatibilityFlags:  cfg.CompatibilityFlags,
		CompatibilityDate:   cfg.CompatibilityDate,
		Observer:            obs.JS,
		SocketObserver:      obs.Sockets,
	})
	if err != nil {
		responses.Close()
		host.Close()
		releaseHeld(held)
		closeKV(kvs)
		closeEach(r2s)
		closeD1()
		durable.Close()
		return nil, fmt.Errorf("%s: %w", relName(cfg.Dir, cfg.Main), err)
	}
	host.SetSockets(w.Sockets()) // Go objects' WebSockets close with the Worker's
	app := &App{Config: cfg, Version: version, Worker: w, Host: host, KV: kvs, R2: r2s, KVAll: kv.NewCatalog(persist, cfg.Name), D1: d1s, durable: durable,
		Assets: static, persist: persist, cf: cf, log: log, cache: responses, account: opts.Account, migrations: migrations, held: held,
		acks: acks, dir: lock.dir}
	if opts.Account != nil {
		app.KVAll = opts.Account.KVCatalog()
	}
	if ownLocks {
		app.locks = locks
	}
	if err := app.startCrons(log); err != nil {
		app.Close()
		return nil, err
	}
	loaded = true
	return app, nil
}

// Close waits for requests in flight, stops the Worker, then closes the
// objects and their storage.
func (a *App) Close() error {
	_, err := a.close(0, false)
	return err
}

// close closes the App as Close does, letting responses still streaming
// run for up to drain before it ends them. With detach set, its
// hibernatable WebSockets are taken out first (once requests in flight are
// done, so that sockets they upgrade come too) and returned, open, for the
// next App or process to adopt.
func (a *App) close(drain time.Duration, detach bool) (*sockets.Moving, error) {
	// Responses still streaming (an event stream never ends) end,
	// truncated, or the wait below would last as long as they do.
	if drain <= 0 {
		a.Worker.EndStreams()
	}
	locked := make(chan struct{})
	go func() { a.mu.Lock(); close(locked) }()
	if drain > 0 {
		t := time.NewTimer(drain)
		select {
		case <-locked:
		case <-t.C:
			a.Worker.EndStreams()
		}
		t.Stop()
	}
	<-locked
	defer a.mu.Unlock()
	if a.closed {
		return nil, nil
	}
	defer a.release() // the Host fails what it held back
	a.closed = true
	if a.stopCrons != nil {
		a.stopCrons()
	}
	var moving *sockets.Moving
	if detach {
		ctx, cancel := context.WithTimeout(context.Background(), handoffTimeout)
		moving = a.Worker.Sockets().Detach(ctx)
		a.Worker.Drain(ctx) // the answers to the last messages leave before Close
		cancel()
	}
	a.Worker.Close()
	// The commit log last: closing waits for the syncs in flight.
	closeD1, closeKV := a.D1.Close, closeEach[*kv.Namespace]
	if a.account != nil { // the account's to close
		closeD1, closeKV = func() error { return nil }, func(map[string]*kv.Namespace) error { return nil }
	}
	err := errors.Join(a.Host.Close(), closeKV(a.KV), closeEach(a.R2), closeD1(), a.cache.Close(), a.durable.Close())
	if a.locks != nil {
		err = errors.Join(err, a.locks.Close())
	}
	return moving, err
}

// handoffTimeout bounds how long a hand-off waits for a hibernatable
// socket's read loop to stop and its delivered messages to be handled;
// a socket that takes longer is closed with 1012.
const handoffTimeout = 10 * time.Second

// serve handles one request unless the App is closed; it reports whether it did.
// Static assets answer first unless the Worker comes first for the path.
func (a *App) serve(rw http.ResponseWriter, r *http.Request, testScheduled bool) bool {
	// A request that fails to take the lock found the App closing (Close
	// waits for the lock): it goes to the App that replaced this one
	// rather than wait for the close.
	if !a.mu.TryRLock() {
		return false
	}
	defer a.mu.RUnlock()
	if a.closed {
		return false
	}
	if testScheduled && a.serveTestScheduled(rw, r, a.log) {
		return true
	}
	if a.Assets != nil && a.Assets.Route(rw, r) {
		return true
	}
	a.Worker.ServeHTTP(rw, r.WithContext(jsrt.WithCF(r.Context(), a.cf)))
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
	// TestScheduled serves /__scheduled and /cdn-cgi/handler/scheduled,
	// which run the scheduled handler (cairn dev --test-scheduled).
	TestScheduled bool
	// NoRequestLog turns off the log line per request.
	NoRequestLog bool
	// Observer, if set, is told about each request (metrics).
	Observer  Observer
	ids       atomic.Uint64
	deploys   *deployer           // see EnableDeploys; nil without
	draining  atomic.Pointer[App] // the previous App, closing in the background
	tails     *tail.Hub           // live logs (Tails)
	tailsOnce sync.Once
}

// ServeHTTP hands the request to the current App. A request that races
// with a reload goes to the new App. Each request is logged once done.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := strconv.FormatUint(s.ids.Add(1), 10)
	ctx := jsrt.WithRequestID(r.Context(), id)
	var cpu *jsrt.CPUTime
	if s.Observer != nil {
		cpu = new(jsrt.CPUTime)
		ctx = jsrt.WithCPUTime(ctx, cpu)
	}
	r = r.WithContext(ctx)
	sw := &statusWriter{ResponseWriter: rw}
	var worker string
	defer func() {
		took := time.Since(start)
		s.logRequest(r, id, sw.status, took)
		if s.Observer != nil {
			s.Observer.Request(worker, routeOf(ctx), cmp.Or(sw.status, 499), took, cpu.Load())
		}
	}()
	for {
		app := s.app.Load()
		if app == nil {
			http.Error(sw, "no Worker loaded", http.StatusServiceUnavailable)
			return
		}
		worker = app.Config.Name
		if app.serve(sw, r, s.TestScheduled) {
			return
		}
		if s.app.Load() == app { // closed without a successor
			http.Error(sw, "the Worker is shutting down", http.StatusServiceUnavailable)
			return
		}
	}
}

// Current returns the App being served.
func (s *Server) Current() *App { return s.app.Load() }

// Apps returns the Apps being served (none or one), for metrics.
func (s *Server) Apps() []*App {
	if a := s.app.Load(); a != nil {
		return []*App{a}
	}
	return nil
}

// Swap serves next from now on and closes the previous App, once its
// requests in flight are done (responses still streaming are ended). next's
// Durable Objects activate only once the previous App closed
// (objects.Host.WaitFor): their events wait, not fail. The previous App's
// hibernatable WebSockets move to next (a deploy or reload keeps them
// connected; their next message wakes their object under next's code); its
// other sockets close with 1012. next reports its events to the Server's
// tails; Swap(nil) (the server stops) closes the sockets and disconnects
// the tails.
func (s *Server) Swap(next *App) { <-s.swap(next, 0) }

// swap is Swap, letting the previous App's streaming responses run for up
// to drain; with a drain the previous App closes in the background (the
// next swap, or shutdown, cuts that short). The channel is closed once the
// previous App is.
func (s *Server) swap(next *App, drain time.Duration) <-chan struct{} {
	for !s.mu.TryLock() {
		if d := s.draining.Load(); d != nil {
			d.Worker.EndStreams()
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	release := func() {}
	if next != nil {
		next.Worker.SetTail(s.Tails())
		release = next.holdObjects()
	} else {
		s.Tails().Close()
	}
	prev := s.app.Swap(next)
	closePrev := func() {
		defer close(closed)
		defer s.mu.Unlock()
		defer release()
		if prev == nil {
			return
		}
		moving, err := prev.close(drain, next != nil)
		if err != nil && s.Log != nil {
			s.Log.Error("close previous worker", "error", err)
		}
		if total := moving.Len(); total > 0 {
			n := next.Worker.AdoptWebSockets(moving)
			if s.Log != nil {
				s.Log.Info("hibernatable WebSockets moved to the new version", "kept", n, "closed", total-n)
			}
		}
		s.draining.CompareAndSwap(prev, nil)
	}
	if drain > 0 && prev != nil {
		s.draining.Store(prev)
		go closePrev()
		return closed
	}
	closePrev()
	return closed
}

// adminPorts returns the ports outbound fetch must not reach: the admin
// API's, if any.
func adminPorts(port int) []int {
	if port == 0 {
		return nil
	}
	return []int{port}
}

// syncFSMin is how many files a round of group commit must make durable
// for one sync of the state directory's whole file system to replace one
// fsync per file: with many objects written at once it is several times
// cheaper (measured: 16 files, 0.76 ms against 2.1 ms in parallel fsyncs).
const syncFSMin = 4

// liveObjectLimit is how many Durable Objects may be in memory at once: a
// live object holds two open files (its database and WAL) and briefly a
// third while its WAL is synced, so the cap follows the process's open-file
// limit, keeping room for connections.
func liveObjectLimit() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > 1<<30 {
		return 10000
	}
	return max(64, (int(lim.Cur)-1024)/3)
}
