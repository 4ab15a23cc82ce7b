package jsrt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
	"github.com/dop251/goja_nodejs/require"

	"github.com/cairn-dev/cairn/jsrt/eventloop"
	"github.com/cairn-dev/cairn/jsrt/jsclone"
	"github.com/cairn-dev/cairn/jsrt/webapi"
	"github.com/cairn-dev/cairn/tail"
)

// errCPULimit is the value a runtime is interrupted with when a task runs
// longer than the Worker's CPU limit.
var errCPULimit = errors.New("Worker exceeded CPU time limit.")

// maxCallStackSize bounds the JS call depth, as V8's stack does (about ten
// thousand frames there). Without it runaway recursion grows goja's call
// stack until memory runs out; with it the call fails within milliseconds
// with "RangeError: Maximum call stack size exceeded" (goja's
// StackOverflowError, which JS cannot catch: the event fails).
const maxCallStackSize = 10000

// errRuntimeBroken fails the events in flight on a runtime whose engine an
// uncatchable error (the call-stack limit) left unable to run promise jobs:
// the runtime starts afresh, as after the CPU limit.
var errRuntimeBroken = errors.New("Worker exceeded the maximum call stack size; its runtime was reset.")

// runtime is one JS engine with its event loop. Everything that touches vm
// runs on the loop goroutine.
type runtime struct {
	w       *Worker
	vm      *goja.Runtime
	loop    *eventloop.Loop
	log     *slog.Logger
	natives *goja.Object
	exports *goja.Object // module.exports of the bundle
	// loopback is ctx.exports (ctxexports.go), made on first use.
	loopback *goja.Object
	// ctxProto holds the methods of a handler's ctx, made on first use.
	ctxProto *goja.Object
	require  goja.Callable // the Worker's require, captured before Worker code runs
	env      *goja.Object

	// prelude-defined wire converters (see the package doc)
	requestFromWire  goja.Callable
	responseToWire   goja.Callable
	responseFromWire goja.Callable
	makeNamespace    goja.Callable
	makeState        goja.Callable
	makeCapStub      goja.Callable // RPC (prelude/85_rpc.js)
	isRPCTarget      goja.Callable
	rpcInvoke        goja.Callable
	makeService      goja.Callable
	makeD1           goja.Callable // prelude/92_d1.js
	makeKVNamespace  goja.Callable // prelude/91_kv.js
	makeR2Bucket     goja.Callable // prelude/94_r2.js

	// Loop goroutine only: the objects whose gates were used in this turn
	// (their turns end with the loop's task), and output-gated actions of
	// stateless Worker code, released when the task ends.
	dirty map[*instance]struct{}
	gated []func(error)

	// active is the object whose code is running (nil: stateless Worker
	// code). Events set it, and it is carried to the callbacks of timers
	// and outgoing fetches, so an outgoing fetch waits for its own object's
	// writes only. section is the object's blockConcurrencyWhile section
	// the code runs in (see objects.Gate.Block), carried the same way.
	active  *instance
	section int
	// request is the id of the HTTP request whose code is running (see
	// WithRequestID), carried like active, so console lines name it.
	request string
	// trace gathers the console lines of the event whose code is running
	// while a tail follows the Worker (trace.go); carried like request.
	trace *tail.Trace
	// elog logs the uncaught exceptions of Worker code, with the
	// attributes console lines have (worker, version, request, object).
	// Loop goroutine only.
	elog *slog.Logger
	// cpu adds up the running time of that request's code (WithCPUTime),
	// carried like request; nil: not measured.
	cpu *CPUTime
	// scope holds what the request's code opened that ends with it (the
	// unread bodies of its fetch responses, scope.go); carried like request.
	scope *requestScope

	// inflight holds the stateless requests this runtime has not answered
	// yet (an object's are its gate's); a reset fails them all. pending is
	// the entry of the one whose code is running (nil: none), carried like
	// request. cpuOver is the number of the task the watchdog found over
	// the CPU limit (a number, not a flag, so that a watchdog late with it
	// cannot blame the next task); culprit is what was running when its
	// interrupt landed (overCPU).
	inflight map[*func(error)]struct{}
	pending  *func(error)
	// rerun holds, for the requests in inflight that a reset may run
	// again on the fresh engine, how to: a request without a body whose
	// code has had no effect yet (see sideEffect). Loop only.
	rerun       map[*func(error)]func()
	cpuOver     atomic.Uint64
	culprit     culprit
	memExceeded atomic.Bool // set by the memory watch

	// probe, probeMark and probed check the engine at the end of each task
	// (runsJobs); probe is nil until the first check of an engine.
	probe     goja.Callable
	probeMark goja.Value
	probed    bool

	// timerOwners maps the pending timers set by objects to them.
	timerOwners map[int]timerOwner

	// instances are the constructed objects living in vm.
	instances map[*instance]struct{}

	// current is vm, for the watchdog goroutine to interrupt.
	current atomic.Pointer[goja.Runtime]

	// Promises rejected in this turn with no handler yet; those still
	// unhandled when the turn ends are logged.
	unhandled map[*goja.Promise]struct{}
}

// as returns fn to run with owner as the active object, in no section.
func (rt *runtime) as(owner *instance, fn func()) func() {
	return func() {
		prev, prevSection := rt.active, rt.section
		rt.active, rt.section = owner, 0
		defer func() { rt.active, rt.section = prev, prevSection }()
		defer rt.noteCulprit()
		fn()
	}
}

// culprit is the code a CPU-limit interrupt stopped: an object (in its
// generation gen) or the stateless request pending; neither if the task
// was no one's.
type culprit struct {
	noted   bool
	owner   *instance
	gen     int
	pending *func(error)
}

// overCPULimit reports whether the watchdog found the running task over
// the CPU limit. Loop only.
func (rt *runtime) overCPULimit() bool {
	id, _ := rt.loop.Running()
	return rt.cpuOver.Load() == id
}

// noteCulprit notes, once per interrupt, what is running when the code a
// CPU-limit interrupt stopped returns to Go: the innermost of as,
// continuation and serve to see it, whose active object and request are
// the interrupted code's.
func (rt *runtime) noteCulprit() {
	if rt.culprit.noted || !rt.overCPULimit() && !rt.memExceeded.Load() {
		return
	}
	rt.culprit = culprit{noted: true, owner: rt.active, pending: rt.pending}
	if rt.active != nil {
		rt.culprit.gen = rt.active.gate.Generation()
	}
}

// continuation returns wrap, which makes a task of fn that continues the
// code running now: with its active object and in its section, once the
// object's input gate lets it in (objects.Gate.Continue). Call it on the
// loop; wrap may be called anywhere.
func (rt *runtime) continuation() (wrap func(fn func()) func()) {
	owner, section, request, trace, cpu, pending, scope := rt.active, rt.section, rt.request, rt.trace, rt.cpu, rt.pending, rt.scope
	return func(fn func()) func() {
		return rt.as(owner, func() {
			prev, prevTrace, prevCPU, prevPending, prevScope := rt.request, rt.trace, rt.cpu, rt.pending, rt.scope
			rt.request, rt.trace, rt.cpu, rt.pending, rt.scope = request, trace, cpu, pending, scope
			defer func() {
				rt.request, rt.trace, rt.cpu, rt.pending, rt.scope = prev, prevTrace, prevCPU, prevPending, prevScope
			}()
			defer measure(cpu)()
			defer rt.noteCulprit()
			if owner == nil {
				fn()
				return
			}
			owner.gate.Continue(section, func() {
				rt.section = section
				fn()
			})
		})
	}
}

func newRuntime(w *Worker, index int) (*runtime, error) {
	rt := &runtime{
		w:           w,
		loop:        eventloop.New(),
		log:         w.log.With("runtime", index),
		dirty:       make(map[*instance]struct{}),
		unhandled:   make(map[*goja.Promise]struct{}),
		inflight:    make(map[*func(error)]struct{}),
		rerun:       make(map[*func(error)]func()),
		instances:   make(map[*instance]struct{}),
		timerOwners: make(map[int]timerOwner),
	}
	rt.elog = slog.New(requestHandler{rt.consoleLog().Handler(), rt})
	rt.loop.TurnEnd = rt.endTurn
	rt.loop.Recover = rt.recoverPanic
	// An interrupt that raced with the end of the task it was meant for
	// must not hit the next one.
	rt.loop.TurnStart = func() { rt.vm.ClearInterrupt() }
	if err := rt.newVM(); err != nil {
		return nil, err
	}
	return rt, nil
}

// newVM gives the runtime a fresh engine with the Worker loaded: at start,
// and to reset it (the memory limit, a broken engine, a panic).
func (rt *runtime) newVM() error {
	vm := goja.New()
	vm.SetFieldNameMapper(goja.UncapFieldNameMapper())
	vm.SetMaxCallStackSize(maxCallStackSize)
	vm.SetPromiseRejectionTracker(func(p *goja.Promise, op goja.PromiseRejectionOperation) {
		if op == goja.PromiseRejectionReject {
			rt.unhandled[p] = struct{}{}
		} else {
			delete(rt.unhandled, p)
		}
	})
	rt.vm = vm
	rt.probe = nil
	// The watchdogs interrupt rt.current: the old engine until the new one
	// is installed, so an interrupt meant for the task that made this
	// reset cannot land in the middle of the install.
	err := rt.install()
	rt.current.Store(vm)
	return err
}

// reset replaces the engine (the memory limit, a broken engine, a panic;
// the CPU limit when restoreIdle cannot repair the engine): pending
// requests fail, timers are dropped, and the objects on this runtime lose
// their in-memory state and uncommitted writes; each is constructed again
// on its next event.
func (rt *runtime) reset(cause error) {
	if o := rt.w.cfg.Observer; o != nil {
		o.Reset(resetCause(cause))
	}
	// The culprit of a memory-limit interrupt fails; other requests that
	// have had no effect yet run again on the new engine (a side effect
	// run twice would be worse than a failed request).
	var again []func()
	for fail := range rt.inflight {
		if run, ok := rt.rerun[fail]; ok && fail != rt.culprit.pending {
			delete(rt.inflight, fail)
			again = append(again, run)
			continue
		}
		(*fail)(cause)
	}
	clear(rt.rerun)
	rt.culprit = culprit{}
	defer func() {
		for _, run := range again {
			run()
		}
	}()
	rt.loop.ClearTimers()
	clear(rt.timerOwners)
	for inst := range rt.instances {
		inst.gate.Reset(cause)
	}
	clear(rt.instances)
	clear(rt.dirty)
	rt.w.caps.dropVM(rt.vm)
	clear(rt.unhandled)
	if err := rt.newVM(); err != nil {
		// The same script loaded before; this cannot happen short of
		// running out of memory.
		rt.log.Error("reset runtime", "error", err)
	}
}

// install sets up globals, the prelude, modules and evaluates the bundle.
// It runs before the loop starts or on the loop goroutine.
func (rt *runtime) install() error {
	vm := rt.vm
	rt.natives = newNatives(vm)
	reg := require.NewRegistry(require.WithLoader(func(string) ([]byte, error) {
		return nil, require.ModuleFileDoesNotExistError
	}))
	registerModules(reg, rt)
	reg.Enable(vm)
	if err := rt.installRequire(); err != nil {
		return err
	}
	for _, step := range []func() error{
		func() error { return webapi.InstallURL(vm, rt.natives) },
		func() error { return webapi.InstallJSON(vm) },
		func() error { return webapi.InstallEncoding(vm, rt.natives) },
		func() error { return webapi.InstallCrypto(vm, rt.natives) },
		func() error { return webapi.InstallZlib(vm, rt.natives) },
		func() error {
			return webapi.InstallConsole(vm, rt.natives, rt.elog, rt.consoleTap)
		},
		func() error { return jsclone.Install(vm, rt.natives) },
		rt.installTimers,
		rt.installFetch,
		rt.installWebSocket,
		rt.installSockets,
		rt.installCache,
		rt.installWasm,
		func() error {
			guardNatives(vm, rt.natives)
			return runPrelude(vm)
		},
	} {
		if err := step(); err != nil {
			return err
		}
	}
	if rt.w.cfg.NodeCompat {
		buffer.Enable(vm)
	}
	if err := rt.installNodeGlobals(); err != nil {
		return err
	}
	for name, dst := range map[string]*goja.Callable{
		"requestFromWire":  &rt.requestFromWire,
		"responseToWire":   &rt.responseToWire,
		"responseFromWire": &rt.responseFromWire,
		"makeNamespace":    &rt.makeNamespace,
		"makeState":        &rt.makeState,
		"makeCapStub":      &rt.makeCapStub,
		"isRPCTarget":      &rt.isRPCTarget,
		"rpcInvoke":        &rt.rpcInvoke,
		"makeService":      &rt.makeService,
		"makeD1":           &rt.makeD1,
		"makeKVNamespace":  &rt.makeKVNamespace,
		"makeR2Bucket":     &rt.makeR2Bucket,
	} {
		fn, ok := goja.AssertFunction(rt.natives.Get(name))
		if !ok {
			return fmt.Errorf("prelude does not define __cairn.%s", name)
		}
		*dst = fn
	}

	env, err := rt.newEnv()
	if err != nil {
		return err
	}
	rt.env = env
	rt.loopback, rt.ctxProto = nil, nil
	hideNatives(vm)

	module := vm.NewObject()
	exports := vm.NewObject()
	_ = module.Set("exports", exports)
	wrapper, err := vm.RunProgram(rt.w.program)
	if err != nil {
		return fmt.Errorf("evaluate bundle: %w", jsError(err))
	}
	fn, ok := goja.AssertFunction(wrapper)
	if !ok {
		return errors.New("evaluate bundle: bundle is not a function")
	}
	if _, err := fn(goja.Undefined(), module, exports, vm.Get("require")); err != nil {
		return fmt.Errorf("evaluate bundle: %w", jsError(err))
	}
	rt.exports = module.Get("exports").ToObject(vm)
	return nil
}

// timerOwner is the object that set a timer, in the generation it was.
type timerOwner struct {
	inst *instance
	gen  int
}

// timerDone forgets a fired or cleared timer of an object.
func (rt *runtime) timerDone(id int) {
	o, ok := rt.timerOwners[id]
	if !ok {
		return
	}
	delete(rt.timerOwners, id)
	if o.inst.live(o.gen) {
		o.inst.timers.Add(-1)
	}
}

// installTimers defines setTimeout, setInterval, clearTimeout, clearInterval
// and queueMicrotask on top of the loop.
func (rt *runtime) installTimers() error {
	vm := rt.vm
	set := func(repeat bool) func(goja.FunctionCall) goja.Value {
		return func(call goja.FunctionCall) goja.Value {
			fn, ok := goja.AssertFunction(call.Argument(0))
			if !ok {
				panic(vm.NewTypeError("The callback provided as parameter 1 is not a function."))
			}
			ms := call.Argument(1).ToFloat()
			if ms != ms { // NaN
				ms = 0
			}
			var args []goja.Value
			if len(call.Arguments) > 2 {
				args = append(args, call.Arguments[2:]...)
			}
			owner := rt.active
			var id int
			id = rt.loop.SetTimer(time.Duration(ms*float64(time.Millisecond)), repeat, rt.continuation()(func() {
				// The input gate may have held the callback (see
				// continuation): not if the timer was cleared meanwhile,
				// or the runtime reset.
				if rt.vm != vm {
					return
				}
				if _, ok := rt.timerOwners[id]; owner != nil && !repeat && !ok {
					return
				}
				if repeat && !rt.loop.HasTimer(id) {
					return
				}
				if !repeat {
					rt.timerDone(id)
				}
				if _, err := fn(goja.Undefined(), args...); err != nil {
					rt.reportError("Uncaught exception in timer callback", err)
				}
			}))
			if owner != nil { // an object with a timer pending does not hibernate (spec 14)
				owner.timers.Add(1)
				rt.timerOwners[id] = timerOwner{owner, owner.gate.Generation()}
			}
			return vm.ToValue(id)
		}
	}
	clear := func(call goja.FunctionCall) goja.Value {
		if id := call.Argument(0); !goja.IsUndefined(id) && !goja.IsNull(id) {
			rt.loop.ClearTimer(int(id.ToInteger()))
			rt.timerDone(int(id.ToInteger()))
		}
		return goja.Undefined()
	}
	g := vm.GlobalObject()
	for name, fn := range map[string]func(goja.FunctionCall) goja.Value{
		"setTimeout":    set(false),
		"setInterval":   set(true),
		"clearTimeout":  clear,
		"clearInterval": clear,
	} {
		if err := g.Set(name, fn); err != nil {
			return err
		}
	}
	_, err := vm.RunString(`globalThis.queueMicrotask = function queueMicrotask(fn) {
	if (typeof fn !== "function") throw new TypeError("queueMicrotask() requires a function");
	Promise.resolve().then(fn);
};`)
	return err
}

// endTurn ends the turn of every object whose gate was used in the task:
// each commits its writes and puts the actions it held behind them. Then
// the stateless actions are released.
func (rt *runtime) endTurn() {
	if cpu, mem := rt.overCPULimit(), rt.memExceeded.Swap(false); mem {
		rt.reset(errMemoryLimit)
	} else if cpu {
		rt.overCPU()
	} else if !rt.runsJobs() {
		rt.reset(errRuntimeBroken)
	}
	for p := range rt.unhandled {
		rt.elog.Error("Uncaught (in promise)", "error", rejection(p.Result()).Error())
		rt.w.exception("promise")
	}
	clear(rt.unhandled)
	for len(rt.dirty) > 0 { // an action released may use another gate
		for inst := range rt.dirty {
			delete(rt.dirty, inst)
			inst.gate.EndTurn()
		}
	}
	gated := rt.gated
	rt.gated = nil
	for _, fn := range gated {
		fn(nil)
	}
}

// overCPU ends a task the CPU limit interrupted. Only the culprit fails:
// the stateless request whose code ran gets errCPULimit, or the object
// whose code ran is reset (it loses its in-memory state and the turn's
// writes, as on Cloudflare, and is constructed again at its next event).
// The engine is repaired (restoreIdle) and keeps everything else: other
// objects, other requests in flight, module state, timers. Promise jobs the
// interrupted task had queued are dropped with it, so code of another
// request waiting on a promise that task resolved waits on. If the engine
// cannot be repaired the runtime is reset instead.
func (rt *runtime) overCPU() {
	c := rt.culprit
	if !restoreIdle(rt.vm) || !rt.runsJobs() {
		rt.log.Error("could not repair the engine after a CPU-limit interrupt; resetting the runtime")
		rt.reset(errCPULimit) // fails the culprit, runs others again
		return
	}
	rt.culprit = culprit{}
	if o := rt.w.cfg.Observer; o != nil {
		o.Reset(resetCause(errCPULimit))
	}
	switch {
	case c.owner != nil:
		if c.owner.live(c.gen) {
			c.owner.gate.Reset(errCPULimit)
		}
	case c.pending != nil:
		if _, ok := rt.inflight[c.pending]; ok {
			(*c.pending)(errCPULimit)
		}
	}
}

// errInternal fails the events in flight on a runtime reset after a Go
// panic escaped its task: a bug in cairn, which must not end the process.
var errInternal = errors.New("internal error in the Worker runtime; the runtime was reset")

// recoverPanic is the loop's last line of defence: a panic that escaped a
// task (natives recover their own, see natives.go) is logged with its stack
// and the runtime starts afresh, since the engine may have been left
// half-way through an operation.
func (rt *runtime) recoverPanic(v any) {
	rt.log.Error("panic in a runtime task; resetting the runtime", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	rt.reset(errInternal)
}

// jobProbe queues a promise job that calls its argument.
var jobProbe = goja.MustCompile("cairn:probe", "(mark) => { Promise.resolve().then(mark); }", true)

// runsJobs reports whether the engine still runs promise jobs. An
// uncatchable error (goja's call-stack limit) thrown inside an async
// function leaves goja with a call frame it never pops, and from then on
// no promise job runs: every later await would hang. A job queued from Go
// runs before the call returns on a healthy engine. Loop only; about a
// microsecond.
func (rt *runtime) runsJobs() bool {
	if rt.probe == nil {
		v, err := rt.vm.RunProgram(jobProbe)
		if err != nil {
			return false
		}
		rt.probe, _ = goja.AssertFunction(v)
		rt.probeMark = rt.vm.ToValue(func() { rt.probed = true })
	}
	rt.probed = false
	if _, err := rt.probe(goja.Undefined(), rt.probeMark); err != nil {
		return false
	}
	return rt.probed
}

// bindEach puts a binding into env for each of bindings: construct (a
// prelude constructor) applied to the natives the binding gets.
func bindEach[T any](vm *goja.Runtime, env *goja.Object, construct goja.Callable, bindings map[string]T, natives func(binding string, b T) *goja.Object) error {
	for binding, b := range bindings {
		n := natives(binding, b)
		guardNatives(vm, n)
		v, err := construct(goja.Undefined(), n)
		if err != nil {
			return fmt.Errorf("binding %s: %w", binding, jsError(err))
		}
		if err := env.Set(binding, v); err != nil {
			return err
		}
	}
	return nil
}

// settler settles a promise made by offLoop. offLoop passes nil instead
// when the runtime was reset meanwhile: nobody waits for the promise.
type settler struct{ resolve, reject func(any) error }

// offLoop returns a promise and runs work on its own goroutine, once the
// running object's earlier writes are durable if gated (an outgoing message
// is held by the output gate), else at once. work returns how to settle
// the promise, which runs on the loop with the object active again. If the
// gate fails, the promise rejects with its error and work never runs.
func (rt *runtime) offLoop(gated bool, work func(ctx context.Context) func(*settler)) goja.Value {
	if !gated {
		rt.sideEffect() // gate notes it otherwise
	}
	vm := rt.vm
	promise, resolve, reject := vm.NewPromise()
	owner := rt.active
	cont := rt.continuation()
	start := func(err error) {
		if err != nil { // the writes before it failed: it never leaves
			_ = reject(rt.errorValue(err))
			return
		}
		go func() {
			settle := work(rt.w.ctx)
			rt.loop.Submit(cont(func() {
				if rt.vm != vm {
					settle(nil)
					return
				}
				settle(&settler{resolve, reject})
			}))
		}()
	}
	if gated {
		rt.gate(owner, start)
	} else {
		start(nil)
	}
	return vm.ToValue(promise)
}

// sideEffect notes that the code running may have had an effect outside
// the runtime (a fetch, a storage or binding call, a message, reading its
// body): its request can no longer be run again after a reset. Every
// outgoing call passes through offLoop or gate.
func (rt *runtime) sideEffect() {
	if rt.pending != nil {
		delete(rt.rerun, rt.pending)
	}
}

// gate runs fn once the writes made so far by owner are durable, which is
// after this turn's commits (the output gate). owner's commit or sync
// error, if any, is passed to fn. Stateless code (owner nil) waits for
// nothing but the end of the task.
func (rt *runtime) gate(owner *instance, fn func(err error)) {
	rt.sideEffect()
	if owner == nil {
		rt.gated = append(rt.gated, fn)
		return
	}
	owner.gate.Hold(false, fn)
}

// reportError logs an uncaught JS error with its (source-mapped) stack.
func (rt *runtime) reportError(msg string, err error) {
	err = jsError(err)
	rt.elog.Error(msg, "error", err.Error())
	traceError(rt.trace, err)
	rt.w.exception("listener")
}

// jsError turns a goja exception into a *ScriptError carrying the JS
// error's name, message and (source-mapped) stack.
func jsError(err error) error {
	var ex *goja.Exception
	if errors.As(err, &ex) {
		return scriptError(ex.Value(), ex.String())
	}
	var so *goja.StackOverflowError
	if errors.As(err, &so) {
		msg := "RangeError: Maximum call stack size exceeded"
		return &ScriptError{Name: "RangeError", Message: "Maximum call stack size exceeded", Stack: msg + "\n" + so.String()}
	}
	var intr *goja.InterruptedError
	if errors.As(err, &intr) {
		if e, ok := intr.Value().(error); ok {
			return e
		}
	}
	return err
}

// scriptError describes a thrown JS value; fallback is used as the stack
// when the value has none.
func scriptError(v goja.Value, fallback string) *ScriptError {
	e := &ScriptError{Name: "Error", Message: fallback, Stack: fallback}
	obj, ok := v.(*goja.Object)
	if !ok {
		if v != nil {
			e.Message = "Uncaught " + v.String()
			e.Stack = e.Message
		}
		return e
	}
	if name := obj.Get("name"); name != nil && !goja.IsUndefined(name) {
		e.Name = name.String()
	}
	if msg := obj.Get("message"); msg != nil && !goja.IsUndefined(msg) {
		e.Message = msg.String()
	}
	if stack := obj.Get("stack"); stack != nil && !goja.IsUndefined(stack) {
		e.Stack = stack.String()
	}
	return e
}

// ScriptError is an exception thrown by Worker code.
type ScriptError struct {
	Name    string // the error's constructor name: Error, TypeError, …
	Message string
	Stack   string // source-mapped stack trace, starting with "Name: Message"
}

// Error returns the stack trace, which starts with name and message.
func (e *ScriptError) Error() string { return e.Stack }
