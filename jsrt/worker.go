package jsrt

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/jsrt/eventloop"
	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/sockets"
	"github.com/cairn-dev/cairn/tail"
)

// ErrStopped is returned when work is handed to a runtime that has shut
// down (after Close). It is eventloop.ErrStopped.
var ErrStopped = eventloop.ErrStopped

// errNoFetch is what a request gets when the handler has no fetch method.
var errNoFetch = errors.New("Handler does not export a fetch() function.")

// MaxBodySize is the default bound of a request body (Config.MaxBodySize):
// 100 MiB, Cloudflare's on the Free and Pro plans.
const MaxBodySize = 100 << 20

// Config describes one Worker to run.
type Config struct {
	Name string
	Code string // the bundled CommonJS script (package bundle)
	// Version identifies the code (a deployed version's id, or a hash of
	// the bundle): console lines and trace items carry it.
	Version  string
	Filename string // name the script has in stack traces

	Vars           map[string]any
	DurableObjects map[string]string // binding name → class name
	// HostedClasses are classes bound in DurableObjects that another guest
	// serves (Durable Objects written in Go, registered with the Host):
	// the script need not export them.
	HostedClasses map[string]bool
	Services      map[string]string      // binding name → entrypoint export ("default" or a WorkerEntrypoint class) of this Worker
	KV            map[string]KVNamespace // binding name → Workers KV namespace
	R2            map[string]R2Bucket    // binding name → R2 bucket
	NodeCompat    bool                   // compatibility flag nodejs_compat
	// DeleteAllKeepsAlarm: storage.deleteAll() leaves the alarm set (before
	// compatibility date 2026-02-24, or with delete_all_preserves_alarm).
	DeleteAllKeepsAlarm bool
	D1                  map[string]D1Database // binding name → D1 database
	// ForeignObjects are Durable Object bindings to a class of another
	// Worker of the same process (script_name), binding name → class.
	ForeignObjects map[string]ForeignClass
	// ForeignServices are service bindings to another Worker of the same
	// process, binding name → that Worker and entrypoint.
	ForeignServices map[string]ForeignService
	// Capabilities, if set, is the table of RPC capabilities this Worker
	// shares with the Workers it calls over ForeignServices (and that
	// call it); nil: a table of its own.
	Capabilities *Capabilities
	// Fetchers are bindings served by Go handlers, such as env.ASSETS:
	// env[name].fetch(request) calls the handler.
	Fetchers map[string]http.Handler
	// Cache keeps the responses of the Cache API; nil caches nothing.
	Cache CacheStore
	// Unsupported are bindings of kinds cairn does not serve, binding name →
	// what it is (e.g. "r2_buckets"): env has an object for each whose every
	// use throws an error saying so.
	Unsupported map[string]string

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
	MaxMemory int64
	Logger    *slog.Logger
	// HTTPClient makes outbound fetches; default a client whose transport
	// checks every connection with Outbound.
	HTTPClient *http.Client
	// Outbound says which addresses outbound fetch may reach (when
	// HTTPClient is not set); the zero value allows all.
	Outbound Outbound
	// MaxWebSocketMessage bounds a received WebSocket message; a larger one
	// closes the socket with 1009. Default DefaultMaxWebSocketMessage.
	MaxWebSocketMessage int64
	// MaxBodySize bounds the body of an incoming request: a larger
	// Content-Length gets 413 before the body is read, and a chunked body
	// that grows past it fails its stream. Default MaxBodySize.
	MaxBodySize int64
	// MaxBodiesInFlight bounds the bytes of request bodies read whole
	// (text(), json(), arrayBuffer(), …) held by the Worker's requests in
	// flight together; a read that would pass it fails with ErrBodiesBusy
	// and the request gets 503. Default DefaultMaxBodiesInFlight.
	MaxBodiesInFlight int64
	// CompatibilityFlags are the config's compatibility_flags; Worker code
	// reads them as Cloudflare.compatibilityFlags.
	CompatibilityFlags []string
	// CompatibilityDate is the config's compatibility_date ("YYYY-MM-DD"):
	// parts of nodejs_compat are on from a date (nodecompat.go). Empty
	// counts as today.
	CompatibilityDate string
	// Observer, if set, is told about uncaught exceptions and runtime
	// resets (metrics); SocketObserver about WebSocket traffic.
	Observer       Observer
	SocketObserver sockets.Observer
}

// Worker runs one Worker script on a pool of runtimes. It serves HTTP
// requests with the script's fetch handler and hosts its Durable Object
// classes for package objects.
type Worker struct {
	cfg     Config
	log     *slog.Logger
	program *goja.Program
	bodies  *bodyBudget // request bodies read whole, in flight (Config.MaxBodiesInFlight)
	rts     []*runtime
	next    atomic.Uint32
	seed    maphash.Seed
	durable commit.Log
	caps    *Capabilities   // RPC capabilities (rpc.go), maybe shared with other Workers
	ownLog  bool            // durable was made by New and is closed by Close
	ctx     context.Context // canceled by Close; bounds outbound calls
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closing sync.Once
	sockets *sockets.Registry // WebSockets (websocket.go)
	// overloaded is set while the process is near Config.MaxMemory.
	overloaded atomic.Bool
	// tail receives the trace items of events (SetTail); nil: nobody.
	tail atomic.Pointer[tailRef]

	// Outgoing TCP sockets (tcp.go): a reset closes those of its
	// runtime, and Close all of them.
	tcpMu sync.Mutex
	tcp   map[*tcpSocket]struct{}

	// Response bodies streaming from JS (body.go): a reset fails those
	// of its runtime, and EndStreams (or Close) all of them.
	streamsMu    sync.Mutex
	streams      map[*streamReader]struct{}
	streamsEnded context.Context
	endStreams   context.CancelFunc

	wasm wasmEngine // WebAssembly (wasm.go)
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
		cfg.HTTPClient = &http.Client{Transport: cfg.Outbound.Transport()}
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = MaxBodySize
	}
	if cfg.MaxBodiesInFlight <= 0 {
		cfg.MaxBodiesInFlight = DefaultMaxBodiesInFlight
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
		return nil, fmt.Errorf("compile %s: %w", cfg.Filename, sourceSyntaxError(cfg.Code, err))
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Worker{cfg: cfg, log: cfg.Logger, program: prog, seed: maphash.MakeSeed(), ctx: ctx, cancel: cancel, durable: cfg.Commit,
		caps: cmp.Or(cfg.Capabilities, NewCapabilities()), bodies: &bodyBudget{limit: cfg.MaxBodiesInFlight}}
	w.streamsEnded, w.endStreams = context.WithCancel(ctx)
	w.sockets = sockets.NewRegistry(ctx, sockets.Options{MaxMessage: cfg.MaxWebSocketMessage, Logger: cfg.Logger, Observer: cfg.SocketObserver})
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
		w.endStreams()
		w.closeSockets(nil)
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
		w.wasm.close(context.Background())
		w.caps.dropWorker(w)
		if w.ownLog {
			_ = w.durable.Close()
		}
		w.cfg.HTTPClient.CloseIdleConnections()
	})
}

// watchdogTick is how often the watchdog checks the CPU limit.
func watchdogTick(cpuLimit time.Duration) time.Duration {
	return min(cpuLimit/4, 250*time.Millisecond)
}

// watchdog interrupts a runtime whose current task has used more CPU time
// than the CPU limit. It reads the CPU clock of the task's thread
// (eventloop.Loop.TaskCPU): time spent waiting, for a lock, a blocking call
// or a core while other runtimes have them, does not count, and native
// work (a regular expression, JSON) does. A task is also interrupted past
// a bound on its wall time (wallLimit, regexp.go).
func (w *Worker) watchdog() {
	defer w.wg.Done()
	tick := time.NewTicker(watchdogTick(w.cfg.CPULimit))
	defer tick.Stop()
	interrupted := make([]uint64, len(w.rts)) // last task interrupted, per runtime
	wall := wallLimit(w.cfg.CPULimit)
	for {
		select {
		case <-w.ctx.Done():
			return
		case now := <-tick.C:
			for i, rt := range w.rts {
				id, used, ok := rt.loop.TaskCPU()
				_, start := rt.loop.Running()
				if ok && id != interrupted[i] && (used > w.cfg.CPULimit || !start.IsZero() && now.Sub(start) > wall) {
					interrupted[i] = id
					rt.cpuOver.Store(id)
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
// rejects gives a 500, as on Cloudflare; the error is logged. The handler
// starts before the request body has arrived (it streams in as the script
// reads it), and the response body streams out chunk by chunk as the
// script enqueues it, each chunk flushed to the client.
func (w *Worker) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	// With a tail connected, the request's trace item gathers its console
	// lines and is sent once the response is complete.
	if tr := w.startTrace(nil, RequestID(r.Context()), func(it *tail.Item) {
		it.Event = requestEvent(r)
		it.ClientIP(clientIP(r))
	}); tr != nil {
		r = r.WithContext(withTrace(r.Context(), tr))
		tw := &traceWriter{ResponseWriter: rw}
		defer func() {
			p := recover()
			tr.Finish(tw.outcome(r, p), tw.status)
			if p != nil {
				panic(p)
			}
		}()
		rw = tw
	}
	if r.ContentLength > w.cfg.MaxBodySize {
		// Not read: the server closes the connection after the answer.
		w.log.Warn("request body too large", "method", r.Method, "url", r.URL.String(), "length", r.ContentLength, "limit", w.cfg.MaxBodySize)
		http.Error(rw, "Payload Too Large", http.StatusRequestEntityTooLarge)
		return
	}
	var tooLarge atomic.Bool // the body passed the limit: a failure is a 413
	var busy atomic.Bool     // the Worker's bodies in flight passed theirs: a 503
	if r.Body != nil && r.Body != http.NoBody {
		lb := &limitedBody{ReadCloser: http.MaxBytesReader(rw, r.Body, w.cfg.MaxBodySize), over: &tooLarge, budget: w.bodies, busy: &busy}
		defer lb.release()
		r.Body = lb
		// Reading the request while the response streams (an echo, a
		// transform) needs both directions open at once; HTTP/1 would
		// otherwise drop the unread request body at the first write.
		_ = http.NewResponseController(rw).EnableFullDuplex()
	}
	resp, err := w.Fetch(r.Context(), r)
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		if errors.Is(err, ErrOverloaded) {
			http.Error(rw, "Server over its memory ceiling, try again", http.StatusServiceUnavailable)
			return
		}
		if errors.Is(err, ErrBodyTooLarge) || tooLarge.Load() {
			http.Error(rw, "Payload Too Large", http.StatusRequestEntityTooLarge)
			return
		}
		if errors.Is(err, ErrBodiesBusy) || busy.Load() {
			w.log.Warn("request shed: request bodies in flight over the limit", "method", r.Method, "url", r.URL.String(), "limit", w.cfg.MaxBodiesInFlight)
			rw.Header().Set("Retry-After", "1")
			http.Error(rw, "Service Unavailable: too many request bodies in flight, try again", http.StatusServiceUnavailable)
			return
		}
		w.log.Error("request failed", "method", r.Method, "url", r.URL.String(), "error", err.Error(),
			"worker", w.cfg.Name, "version", w.cfg.Version, "request", RequestID(r.Context()))
		if tw, ok := rw.(*traceWriter); ok {
			tw.failed = traceError(traceFrom(r.Context()), err)
		}
		w.exception("fetch")
		http.Error(rw, "Worker threw exception", http.StatusInternalServerError)
		return
	}
	if u, ok := innerBody(resp.Body).(*sockets.Upgrade); ok {
		// Upgrade answers a failed upgrade itself and reports it to the
		// socket's owner as a 1006 close.
		_ = u.Conn.Upgrade(rw, r, resp.Header)
		return
	}
	// A client that goes away ends the body, cancelling its stream, even
	// while it waits for the script's next chunk.
	stop := context.AfterFunc(r.Context(), func() { resp.Body.Close() })
	defer stop()
	if err := writeResponse(rw, resp); err != nil {
		if errors.Is(err, errClientGone) || r.Context().Err() != nil {
			w.log.Debug("client went away during the response", "url", r.URL.String(), "error", err.Error())
			return
		}
		// The response has begun: all that is left to say is that it is
		// incomplete. Aborting the handler closes the connection without
		// the final chunk, so the client sees a truncated body.
		if errors.Is(err, errStreamsEnded) {
			w.log.Info("response stream ended: the Worker is shutting down or reloading", "method", r.Method, "url", r.URL.String())
		} else {
			w.log.Error("response body failed, response truncated", "method", r.Method, "url", r.URL.String(), "error", err.Error())
		}
		panic(http.ErrAbortHandler)
	}
}

// limitedBody notes when its body (an http.MaxBytesReader) passes the limit,
// and holds what its request reserved of the Worker's bodyBudget (a body
// read whole) until release.
type limitedBody struct {
	io.ReadCloser
	over   *atomic.Bool
	budget *bodyBudget
	busy   *atomic.Bool
	held   atomic.Int64
}

// reserve charges n bytes of this body to the Worker's budget.
func (b *limitedBody) reserve(n int64) error {
	if b.budget == nil {
		return nil
	}
	if !b.budget.take(n) {
		b.busy.Store(true)
		return ErrBodiesBusy
	}
	b.held.Add(n)
	return nil
}

// release gives back what the body reserved: its request has ended.
func (b *limitedBody) release() {
	if b.budget != nil {
		b.budget.give(b.held.Swap(0))
	}
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		b.over.Store(true)
	}
	return n, err
}

// errClientGone is writeResponse's error when the client stopped reading.
var errClientGone = errors.New("the client closed the connection")

// writeResponse copies resp to rw. A streamed body is flushed after each
// chunk it yields, so a client sees every chunk as the script enqueues it.
// It fails with errClientGone if writing fails, else with the body's error.
func writeResponse(rw http.ResponseWriter, resp *http.Response) error {
	h := rw.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	if resp.ContentLength >= 0 && resp.Body != nil && resp.Body != http.NoBody && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	}
	if resp.Body == nil {
		rw.WriteHeader(resp.StatusCode)
		return nil
	}
	defer resp.Body.Close()
	if m, ok := innerBody(resp.Body).(*memBody); ok {
		rw.WriteHeader(resp.StatusCode)
		if _, err := m.WriteTo(rw); err != nil {
			return fmt.Errorf("%w: %w", errClientGone, err)
		}
		return nil
	}
	rc := http.NewResponseController(rw)
	// The status line and headers go at once: an event stream's client
	// learns it is connected before the first event.
	rw.WriteHeader(resp.StatusCode)
	if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return fmt.Errorf("%w: %w", errClientGone, err)
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				return fmt.Errorf("%w: %w", errClientGone, werr)
			}
			if ferr := rc.Flush(); ferr != nil && !errors.Is(ferr, http.ErrNotSupported) {
				return fmt.Errorf("%w: %w", errClientGone, ferr)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// maxReruns is how many times a request a reset failed before it had an
// effect runs again: once, so that a request that itself breaks the engine
// (a panic, a stack overflow) fails the second time.
const maxReruns = 1

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

// newExecutionContext makes the ctx argument of a fetch handler: an object
// of its own (props) whose methods are on a prototype made once per engine,
// as workerd's ExecutionContext has them on its class.
func (rt *runtime) newExecutionContext() *goja.Object {
	if rt.ctxProto == nil {
		proto := rt.vm.NewObject()
		// The loop keeps running the promise anyway; waitUntil only reports
		// a rejection, which would otherwise go unseen.
		_ = proto.Set("waitUntil", func(p goja.Value) {
			if _, ok := p.(*goja.Object); !ok {
				return
			}
			sc := rt.scope // the request's fetch bodies stay open for it
			sc.wait()
			rt.then(p, func(goja.Value) { sc.settled() }, func(reason goja.Value) {
				sc.settled()
				err := rejection(reason)
				rt.elog.Error("waitUntil promise rejected", "error", err.Error())
				traceError(rt.trace, err)
				rt.w.exception("waitUntil")
			})
		})
		_ = proto.Set("passThroughOnException", func() {})
		_ = proto.DefineAccessorProperty("exports", rt.vm.ToValue(func() goja.Value { return rt.ctxExports() }), nil, goja.FLAG_FALSE, goja.FLAG_TRUE)
		rt.ctxProto = proto
	}
	ctx := rt.vm.NewObject()
	_ = ctx.SetPrototype(rt.ctxProto)
	_ = ctx.Set("props", rt.vm.NewObject())
	return ctx
}

// serve delivers one HTTP request as an event on this runtime: call builds
// the handler's result (a Response or a promise of one) from the JS request.
// The response leaves only after the turn's writes are committed (output gate).
func (rt *runtime) serve(ctx context.Context, req *http.Request, owner *instance, call func(jsReq goja.Value) (goja.Value, error)) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	// abandoned is set once nobody waits for the result (the caller's ctx
	// ended): a response delivered after that has its body closed, which
	// cancels its stream.
	var mu sync.Mutex
	abandoned := false
	send := func(r result) {
		mu.Lock()
		gone := abandoned
		mu.Unlock()
		if gone {
			if r.resp != nil && r.resp.Body != nil {
				r.resp.Body.Close()
			}
			return
		}
		ch <- r
	}
	// handle runs the handler; deliver gets its outcome once.
	handle := func(deliver func(*http.Response, error)) {
		scope := &requestScope{}
		prevScope := rt.scope
		rt.scope = scope
		defer func() { rt.scope = prevScope }()
		if id := RequestID(req.Context()); id != "" {
			prev := rt.request
			rt.request = id
			defer func() { rt.request = prev }()
		}
		if t := traceFrom(req.Context()); t != nil {
			prev := rt.trace
			rt.trace = t
			defer func() { rt.trace = prev }()
		}
		if c := cpuTimeOf(req.Context()); c != nil {
			prev := rt.cpu
			rt.cpu = c
			defer measure(c)()
			defer func() { rt.cpu = prev }()
		}
		jsReq, err := rt.requestFromWire(goja.Undefined(), rt.requestWire(req))
		if err != nil {
			deliver(nil, jsError(err))
			return
		}
		// The handler's request.signal aborts if the caller goes away
		// before the response is complete.
		stop := rt.abortOnDone(ctx, jsReq)
		if id := RequestID(req.Context()); id != "" && rt.w.cfg.nodeFeature("fs") {
			// The request's /tmp (node:fs) goes with its response.
			stopAbort := stop
			stop = func() { stopAbort(); rt.loop.Submit(func() { rt.dropRequestFiles(id) }) }
		}
		deliverOnce := func(resp *http.Response, err error) {
			if _, ws := bodyOf(resp).(*sockets.Upgrade); resp == nil || ws {
				stop()
				scope.answer()
			} else {
				resp.Body = &doneBody{ReadCloser: resp.Body, done: func() {
					stop()
					scope.answerOff(rt.loop.Submit) // the fetch bodies it left unread close
				}}
			}
			deliver(resp, err)
		}
		v, err := call(jsReq)
		if err != nil {
			deliverOnce(nil, jsError(err))
			return
		}
		rt.await(v, func(v goja.Value) {
			wire, err := rt.responseToWire(goja.Undefined(), v)
			if err != nil {
				deliverOnce(nil, jsError(err))
				return
			}
			rt.await(wire, func(wire goja.Value) {
				resp, err := rt.goResponse(wire, owner)
				deliverOnce(resp, err)
			}, func(err error) { deliverOnce(nil, err) })
		}, func(err error) { deliverOnce(nil, err) })
	}
	var task func()
	reruns := 0 // loop only
	if owner == nil {
		task = func() {
			// pending is this request's entry in rt.inflight, which the CPU
			// limit fails.
			pending := new(func(error))
			deliver := func(resp *http.Response, err error) {
				if _, ok := rt.inflight[pending]; !ok {
					if resp != nil {
						resp.Body.Close()
					}
					return // already answered (e.g. failed by the CPU limit)
				}
				delete(rt.inflight, pending)
				delete(rt.rerun, pending)
				send(result{resp, err})
			}
			*pending = func(err error) { deliver(nil, err) }
			rt.inflight[pending] = struct{}{}
			if (req.Body == nil || req.Body == http.NoBody) && reruns < maxReruns {
				// Run again (once) if a reset fails it before it has had
				// an effect; the new run is a new task on the new engine.
				rt.rerun[pending] = func() {
					reruns++
					if !rt.loop.Submit(task) {
						send(result{nil, ErrStopped})
					}
				}
			}
			prev := rt.pending
			rt.pending = pending
			defer func() { rt.pending = prev }()
			defer rt.noteCulprit()
			handle(deliver)
		}
	} else {
		task = rt.as(owner, func() {
			// An event of the object: its gate admits it (input gate) and
			// holds the response until the writes before it are durable.
			err := owner.gate.Deliver(func(ev *objects.Event) {
				handle(func(resp *http.Response, err error) {
					if !ev.Done() {
						if resp != nil {
							resp.Body.Close()
						}
						return // failed by a reset already
					}
					if err != nil {
						rt.log.Error("Durable Object threw", "class", owner.class, "id", owner.obj.ID.String(), "name", owner.obj.Name,
							"worker", rt.w.cfg.Name, "version", rt.w.cfg.Version, "request", RequestID(req.Context()), "error", err.Error())
						rt.w.exception("object")
					}
					owner.gate.Hold(false, func(commitErr error) {
						if commitErr != nil {
							if resp != nil {
								resp.Body.Close()
							}
							resp, err = nil, commitErr
						}
						send(result{resp, err})
					})
				})
			}, func(err error) { send(result{nil, err}) })
			if err != nil {
				send(result{nil, err}) // evicted: the Host finds the new instance
			}
		})
	}
	if !rt.loop.Submit(task) {
		return nil, ErrStopped
	}
	var err error
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		err = ctx.Err()
	case <-rt.w.ctx.Done():
		err = ErrStopped
	}
	mu.Lock()
	abandoned = true
	mu.Unlock()
	select {
	case r := <-ch: // delivered meanwhile
		if r.resp != nil && r.resp.Body != nil {
			r.resp.Body.Close()
		}
	default:
	}
	return nil, err
}

// abortOnDone aborts the signal of jsReq (an incoming request) when ctx
// ends, until stop is called: when the response is complete. Loop only.
func (rt *runtime) abortOnDone(ctx context.Context, jsReq goja.Value) (stop func()) {
	if ctx.Done() == nil {
		return func() {}
	}
	abort, ok := goja.AssertFunction(rt.natives.Get("abortRequest"))
	if !ok {
		return func() {}
	}
	vm, cont := rt.vm, rt.continuation()
	cancel := context.AfterFunc(ctx, func() {
		rt.loop.Submit(cont(func() {
			if rt.vm != vm {
				return
			}
			reason := vm.NewTypeError("The client has disconnected.")
			if _, err := abort(goja.Undefined(), jsReq, reason); err != nil {
				rt.reportError("Uncaught exception in an abort listener", err)
			}
		}))
	})
	return func() { cancel() }
}

// doneBody calls done once when its body is closed, after closing it (so
// the done of a doneBody it wraps runs first).
type doneBody struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (b *doneBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.done)
	return err
}

// innerBody returns the body doneBodies wrap, or body itself.
func innerBody(body io.ReadCloser) io.ReadCloser {
	for {
		d, ok := body.(*doneBody)
		if !ok {
			return body
		}
		body = d.ReadCloser
	}
}

// bodyOf returns resp's body (nil for no response), looking through doneBody.
func bodyOf(resp *http.Response) io.ReadCloser {
	if resp == nil {
		return nil
	}
	return innerBody(resp.Body)
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

// goResponse converts a response wire into an *http.Response. Its body
// streams if the wire's does; owner is the object whose output gate its
// chunks pass (nil: none).
func (rt *runtime) goResponse(wire goja.Value, owner *instance) (*http.Response, error) {
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
	if body, n := rt.wireBody(obj, owner); body != nil {
		resp.Body, resp.ContentLength = body, n
	}
	return resp, nil
}
