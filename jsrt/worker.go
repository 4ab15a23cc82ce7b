package jsrt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/jsrt/eventloop"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/sockets"
)

// ErrStopped is returned when work is handed to a runtime that has shut
// down (after Close). It is eventloop.ErrStopped.
var ErrStopped = eventloop.ErrStopped

// errNoFetch is what a request gets when the handler has no fetch method.
var errNoFetch = errors.New("Handler does not export a fetch() function.")

// MaxBodySize bounds request and response bodies buffered between Go and JS.
const MaxBodySize = 100 << 20

// Config describes one Worker to run.
type Config struct {
	Name     string
	Code     string // the bundled CommonJS script (package bundle)
	Filename string // name the script has in stack traces

	Vars           map[string]any
	DurableObjects map[string]string // binding name → class name
	// HostedClasses are classes bound in DurableObjects that another guest
	// serves (Durable Objects written in Go, registered with the Host):
	// the script need not export them.
	HostedClasses map[string]bool
	Services      map[string]string      // binding name → entrypoint export ("default" or a WorkerEntrypoint class) of this Worker
	KV            map[string]KVNamespace // binding name → Workers KV namespace
	NodeCompat    bool                   // compatibility flag nodejs_compat
	// DeleteAllKeepsAlarm: storage.deleteAll() leaves the alarm set (before
	// compatibility date 2026-02-24, or with delete_all_preserves_alarm).
	DeleteAllKeepsAlarm bool
	D1                  map[string]D1Database // binding name → D1 database
	// Fetchers are bindings served by Go handlers, such as env.ASSETS:
	// env[name].fetch(request) calls the handler.
	Fetchers map[string]http.Handler
	// Cache keeps the responses of the Cache API; nil caches nothing.
	Cache CacheStore

	Host   *objects.Host // where Durable Object events go; required with DurableObjects
	Commit commit.Log    // makes Durable Object writes durable; default a commit.Local owned by the Worker
	// BlockTimeout bounds a blockConcurrencyWhile callback (or a
	// transaction) before the object is reset; default 30s, as on Cloudflare.
	BlockTimeout time.Duration
	Runtimes     int           // JS runtimes (threads); default 2×GOMAXPROCS, at least 4
	CPULimit     time.Duration // per task; default 30s
	// MemoryLimit bounds the memory a task may hold (limits.memory_mb);
	// default DefaultMemoryLimit. See memoryWatch for how it is enforced.
	MemoryLimit int64
	// MaxMemory is the process's memory ceiling (cairn dev --max-memory):
	// near it new requests are shed with ErrOverloaded and the
	// longest-running task is interrupted. Zero: none.
	MaxMemory  int64
	Logger     *slog.Logger
	HTTPClient *http.Client // for outbound fetch; default http.DefaultClient
	// MaxWebSocketMessage bounds a received WebSocket message; a larger one
	// closes the socket with 1009. Default DefaultMaxWebSocketMessage.
	MaxWebSocketMessage int64
}

// Worker runs one Worker script on a pool of runtimes. It serves HTTP
// requests with the script's fetch handler and hosts its Durable Object
// classes for package objects.
type Worker struct {
	cfg     Config
	log     *slog.Logger
	program *goja.Program
	rts     []*runtime
	next    atomic.Uint32
	seed    maphash.Seed
	durable commit.Log
	caps    capTable        // RPC capabilities (rpc.go)
	ownLog  bool            // durable was made by New and is closed by Close
	ctx     context.Context // canceled by Close; bounds outbound calls
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closing sync.Once
	sockets *sockets.Registry // WebSockets (websocket.go)
	// overloaded is set while the process is near Config.MaxMemory.
	overloaded atomic.Bool
}

// New compiles the script, starts its runtimes and registers its Durable
// Object classes with cfg.Host. It fails if the script throws while loading
// or a bound class is not exported.
func New(cfg Config) (*Worker, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Runtimes <= 0 {
		// Twice the cores: a hot object's runtime then carries a smaller
		// share of the stateless work (measured: +15–25 % on one object at
		// 16 and 64 connections, bench/cmd/compare).
		cfg.Runtimes = max(4, 2*goruntime.GOMAXPROCS(0))
	}
	if cfg.CPULimit <= 0 {
		cfg.CPULimit = 30 * time.Second
	}
	setRegexpTimeout(cfg.CPULimit)
	if cfg.MemoryLimit <= 0 {
		cfg.MemoryLimit = DefaultMemoryLimit
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.BlockTimeout <= 0 {
		cfg.BlockTimeout = objects.DefaultBlockTimeout
	}
	if cfg.Filename == "" {
		cfg.Filename = "worker.js"
	}
	if len(cfg.DurableObjects) > 0 && cfg.Host == nil {
		return nil, errors.New("jsrt: Durable Object bindings need a Host")
	}
	// Compiled once; every runtime runs the same program.
	prog, err := goja.Compile(cfg.Filename, wrapCommonJS(cfg.Code), false)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", cfg.Filename, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{cfg: cfg, log: cfg.Logger, program: prog, seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel, durable: cfg.Commit}
	w.sockets = sockets.NewRegistry(ctx, sockets.Options{MaxMessage: cfg.MaxWebSocketMessage, Logger: cfg.Logger})
	if w.durable == nil {
		w.durable, w.ownLog = commit.NewLocal(0), true
	}
	for i := range cfg.Runtimes {
		rt, err := newRuntime(w, i)
		if err != nil {
			cancel()
			return nil, err
		}
		w.rts = append(w.rts, rt)
	}
	if err := w.checkExports(); err != nil {
		cancel()
		return nil, err
	}
	for _, rt := range w.rts {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			rt.loop.Run()
		}()
	}
	w.wg.Add(2)
	go w.watchdog()
	go w.watchMemory()
	for _, class := range cfg.DurableObjects {
		if !cfg.HostedClasses[class] {
			cfg.Host.Register(class, &doClass{w: w, name: class})
		}
	}
	return w, nil
}

// wrapCommonJS wraps a CommonJS script in a function of (module, exports,
// require). The prefix adds no line, so source-map lines stay valid.
func wrapCommonJS(code string) string {
	return "(function (module, exports, require) {" + code + "\n})"
}

// checkExports verifies every bound Durable Object class is an exported
// constructor.
func (w *Worker) checkExports() error {
	rt := w.rts[0]
	for binding, class := range w.cfg.DurableObjects {
		if w.cfg.HostedClasses[class] {
			continue
		}
		v := rt.exports.Get(class)
		if v == nil || goja.IsUndefined(v) {
			return fmt.Errorf("durable object binding %q: class %q is not exported by %s", binding, class, w.cfg.Filename)
		}
		if _, ok := goja.AssertConstructor(v); !ok {
			return fmt.Errorf("durable object binding %q: export %q is not a class", binding, class)
		}
	}
	return nil
}

// closeTimeout bounds how long Close waits for the runtimes to finish the
// task each is running. Close interrupts them first, which stops JS at
// once; only native work (a regular expression, bounded by its match
// timeout) can outlast the interrupt.
const closeTimeout = 5 * time.Second

// Close stops the runtimes. In-flight requests fail with ErrStopped. It
// returns within closeTimeout whatever Worker code is doing: a runtime
// still busy then is abandoned (it stops when its task ends).
func (w *Worker) Close() {
	w.closing.Do(func() {
		w.sockets.CloseAll() // 1012: clients reconnect
		w.cancel()
		stopped := make(chan struct{})
		go func() {
			defer close(stopped)
			for _, rt := range w.rts {
				rt.loop.Stop()
			}
			w.wg.Wait()
		}()
		for _, rt := range w.rts {
			if _, start := rt.loop.Running(); !start.IsZero() {
				rt.current.Load().Interrupt(ErrStopped)
			}
		}
		select {
		case <-stopped:
		case <-time.After(closeTimeout):
			w.log.Error("runtimes still busy after the shutdown deadline; not waiting for them", "waited", closeTimeout)
			return // the commit log stays open: a runtime may still write
		}
		if w.ownLog {
			_ = w.durable.Close()
		}
	})
}

// watchdogTick is how often the watchdog checks the CPU limit.
func watchdogTick(cpuLimit time.Duration) time.Duration {
	return min(cpuLimit/4, 250*time.Millisecond)
}

// watchdog interrupts a runtime whose current task exceeds the CPU limit.
func (w *Worker) watchdog() {
	defer w.wg.Done()
	tick := time.NewTicker(watchdogTick(w.cfg.CPULimit))
	defer tick.Stop()
	interrupted := make([]uint64, len(w.rts)) // last task interrupted, per runtime
	for {
		select {
		case <-w.ctx.Done():
			return
		case now := <-tick.C:
			for i, rt := range w.rts {
				id, start := rt.loop.Running()
				if !start.IsZero() && id != interrupted[i] && now.Sub(start) > w.cfg.CPULimit {
					interrupted[i] = id
					rt.cpuExceeded.Store(true)
					rt.current.Load().Interrupt(errCPULimit)
				}
			}
		}
	}
}

// pickRuntime returns the next runtime in round-robin order that is not
// busy with a long task, or the next one if all are.
func (w *Worker) pickRuntime() *runtime {
	first := int(w.next.Add(1))
	now := time.Now()
	for i := range len(w.rts) {
		rt := w.rts[(first+i)%len(w.rts)]
		if _, start := rt.loop.Running(); start.IsZero() || now.Sub(start) < busyAfter {
			if i > 0 {
				w.next.Add(uint32(i))
			}
			return rt
		}
	}
	return w.rts[first%len(w.rts)]
}

// runtimeFor returns the runtime an object is pinned to.
func (w *Worker) runtimeFor(id objects.ID) *runtime {
	return w.rts[maphash.Bytes(w.seed, id[:])%uint64(len(w.rts))]
}

// ServeHTTP runs the Worker's fetch handler for r. A handler that throws or
// rejects gives a 500, as on Cloudflare; the error is logged.
func (w *Worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	resp, err := w.Fetch(r.Context(), r)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		if errors.Is(err, ErrOverloaded) {
			http.Error(rw, "Server over its memory ceiling, try again", http.StatusServiceUnavailable)
			return
		}
		w.log.Error("request failed", "method", r.Method, "url", r.URL.String(), "error", err.Error())
		http.Error(rw, "Worker threw exception", http.StatusInternalServerError)
		return
	}
	if u, ok := resp.Body.(*sockets.Upgrade); ok {
		// Upgrade answers a failed upgrade itself and reports it to the
		// socket's owner as a 1006 close.
		_ = u.Conn.Upgrade(rw, r, resp.Header)
		return
	}
	WriteResponse(rw, resp)
}

// WriteResponse copies resp to rw.
func WriteResponse(rw http.ResponseWriter, resp *http.Response) {
	h := rw.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	rw.WriteHeader(resp.StatusCode)
	if resp.Body != nil {
		_, _ = io.Copy(rw, resp.Body)
		resp.Body.Close()
	}
}

// busyAfter is how long a runtime's current task must have run for
// Fetch to pass it over: a runtime stuck in a long task (at worst until
// its CPU limit) should not hold up stateless requests that other runtimes
// can serve.
const busyAfter = 50 * time.Millisecond

// Fetch runs the Worker's fetch handler for req and returns its response.
func (w *Worker) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	if w.overloaded.Load() {
		return nil, ErrOverloaded
	}
	rt := w.pickRuntime()
	return rt.serve(ctx, req, nil, func(jsReq goja.Value) (goja.Value, error) {
		return rt.callFetchHandler(jsReq)
	})
}

// callFetchHandler calls the default export's fetch: either an object with a
// fetch method or a class extending WorkerEntrypoint.
func (rt *runtime) callFetchHandler(jsReq goja.Value) (goja.Value, error) {
	return rt.callEntrypointFetch("default", jsReq)
}

// callEntrypointFetch calls the fetch handler of the export name.
func (rt *runtime) callEntrypointFetch(name string, jsReq goja.Value) (goja.Value, error) {
	target, isClass, err := rt.entrypoint(name)
	if err != nil {
		return nil, err
	}
	fetch, ok := goja.AssertFunction(target.Get("fetch"))
	if !ok {
		return nil, errNoFetch
	}
	if isClass {
		return fetch(target, jsReq)
	}
	return fetch(target, jsReq, rt.env, rt.newExecutionContext())
}

// entrypoint returns the export name as an event target: a new instance of
// a WorkerEntrypoint class (one per event, as on Cloudflare), or the
// exported object itself.
func (rt *runtime) entrypoint(name string) (target *goja.Object, isClass bool, err error) {
	v := rt.exports.Get(name)
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		if name == "default" {
			return nil, false, errNoFetch
		}
		return nil, false, fmt.Errorf("the Worker does not export an entrypoint named %q", name)
	}
	if ctor, ok := goja.AssertConstructor(v); ok {
		obj, err := ctor(nil, rt.newExecutionContext(), rt.env)
		return obj, true, err
	}
	return v.ToObject(rt.vm), false, nil
}

// newExecutionContext makes the ctx argument of a fetch handler.
func (rt *runtime) newExecutionContext() *goja.Object {
	ctx := rt.vm.NewObject()
	// The loop keeps running the promise anyway; waitUntil only reports a
	// rejection, which would otherwise go unseen.
	_ = ctx.Set("waitUntil", func(p goja.Value) {
		if _, ok := p.(*goja.Object); !ok {
			return
		}
		rt.then(p, func(goja.Value) {}, func(reason goja.Value) {
			rt.log.Error("waitUntil promise rejected", "error", rejection(reason).Error())
		})
	})
	_ = ctx.Set("passThroughOnException", func() {})
	_ = ctx.Set("props", rt.vm.NewObject())
	return ctx
}

// serve delivers one HTTP request as an event on this runtime: call builds
// the handler's result (a Response or a promise of one) from the JS request.
// The response leaves only after the turn's writes are committed (output gate).
func (rt *runtime) serve(ctx context.Context, req *http.Request, owner *instance, call func(jsReq goja.Value) (goja.Value, error)) (*http.Response, error) {
	body, err := readBody(req.Body)
	if err != nil {
		return nil, err
	}
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	// handle runs the handler; deliver gets its outcome once.
	handle := func(deliver func(*http.Response, error)) {
		if id := RequestID(req.Context()); id != "" {
			prev := rt.request
			rt.request = id
			defer func() { rt.request = prev }()
		}
		jsReq, err := rt.requestFromWire(goja.Undefined(), rt.requestWire(req, body))
		if err != nil {
			deliver(nil, jsError(err))
			return
		}
		v, err := call(jsReq)
		if err != nil {
			deliver(nil, jsError(err))
			return
		}
		rt.await(v, func(v goja.Value) {
			wire, err := rt.responseToWire(goja.Undefined(), v)
			if err != nil {
				deliver(nil, jsError(err))
				return
			}
			rt.await(wire, func(wire goja.Value) {
				resp, err := rt.goResponse(wire)
				deliver(resp, err)
			}, func(err error) { deliver(nil, err) })
		}, func(err error) { deliver(nil, err) })
	}
	var task func()
	if owner == nil {
		task = func() {
			// pending is this request's entry in rt.inflight, which the CPU
			// limit fails.
			pending := new(func(error))
			deliver := func(resp *http.Response, err error) {
				if _, ok := rt.inflight[pending]; !ok {
					return // already answered (e.g. failed by the CPU limit)
				}
				delete(rt.inflight, pending)
				ch <- result{resp, err}
			}
			*pending = func(err error) { deliver(nil, err) }
			rt.inflight[pending] = struct{}{}
			handle(deliver)
		}
	} else {
		task = rt.as(owner, func() {
			// An event of the object: its gate admits it (input gate) and
			// holds the response until the writes before it are durable.
			err := owner.gate.Deliver(func(ev *objects.Event) {
				handle(func(resp *http.Response, err error) {
					if !ev.Done() {
						return // failed by a reset already
					}
					if err != nil {
						rt.log.Error("Durable Object threw", "class", owner.class, "id", owner.obj.ID.String(), "error", err.Error())
					}
					owner.gate.Hold(false, func(commitErr error) {
						if commitErr != nil {
							resp, err = nil, commitErr
						}
						ch <- result{resp, err}
					})
				})
			}, func(err error) { ch <- result{nil, err} })
			if err != nil {
				ch <- result{nil, err} // evicted: the Host finds the new instance
			}
		})
	}
	if !rt.loop.Submit(task) {
		return nil, ErrStopped
	}
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-rt.w.ctx.Done():
		return nil, ErrStopped
	}
}

// await calls onOK or onErr when v (a value or a promise) settles. Loop only.
func (rt *runtime) await(v goja.Value, onOK func(goja.Value), onErr func(error)) {
	if p, ok := v.Export().(*goja.Promise); ok {
		switch p.State() {
		case goja.PromiseStateFulfilled:
			onOK(p.Result())
			return
		case goja.PromiseStateRejected:
			// Mark it handled so the rejection tracker stays quiet.
			rt.then(v, func(goja.Value) {}, func(goja.Value) {})
			onErr(rejection(p.Result()))
			return
		}
		rt.then(v, onOK, func(reason goja.Value) { onErr(rejection(reason)) })
		return
	}
	onOK(v)
}

// then attaches native reactions to a promise. Loop only.
func (rt *runtime) then(p goja.Value, onOK, onErr func(goja.Value)) {
	obj := p.ToObject(rt.vm)
	then, _ := goja.AssertFunction(obj.Get("then"))
	ok := func(call goja.FunctionCall) goja.Value { onOK(call.Argument(0)); return goja.Undefined() }
	fail := func(call goja.FunctionCall) goja.Value { onErr(call.Argument(0)); return goja.Undefined() }
	if _, err := then(obj, rt.vm.ToValue(ok), rt.vm.ToValue(fail)); err != nil {
		onErr(rt.vm.ToValue(err.Error()))
	}
}

// rejection turns a promise rejection reason into a *ScriptError.
func rejection(reason goja.Value) error {
	return scriptError(reason, "Uncaught undefined")
}

func readBody(body io.ReadCloser) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return nil, nil
	}
	defer body.Close()
	b, err := io.ReadAll(io.LimitReader(body, MaxBodySize+1))
	if err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	if len(b) > MaxBodySize {
		return nil, fmt.Errorf("body larger than %d bytes", MaxBodySize)
	}
	return b, nil
}

// goResponse converts a response wire into an *http.Response.
func (rt *runtime) goResponse(wire goja.Value) (*http.Response, error) {
	obj := wire.ToObject(rt.vm)
	status := int(obj.Get("status").ToInteger())
	resp := &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, obj.Get("statusText").String()),
		Header:     rt.goHeader(obj.Get("headers")),
		Body:       http.NoBody,
	}
	if c := rt.handleOf(obj.Get("webSocket")); c != nil && status == http.StatusSwitchingProtocols {
		net, err := rt.upgradeConn(c) // websocket_client.go
		if err != nil {
			return nil, err
		}
		resp.Body = &sockets.Upgrade{Conn: net}
		return resp, nil
	}
	if b := bufferBytes(obj.Get("body")); b != nil {
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
	}
	return resp, nil
}
