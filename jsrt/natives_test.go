package jsrt

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/jsrt/jsclone"
	"github.com/cairn-dev/cairn/jsrt/webapi"
)

// nativeRuntime is a bare runtime with the natives of packages webapi and
// jsclone, the prelude that builds the Web APIs on them, and a tiny
// CommonJS require for the embedded modules.
func nativeRuntime(t testing.TB) (*goja.Runtime, *nativeLogHandler) {
	t.Helper()
	vm := goja.New()
	natives := newNatives(vm)
	logs := &nativeLogHandler{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(webapi.InstallEncoding(vm, natives))
	must(webapi.InstallCrypto(vm, natives))
	must(webapi.InstallZlib(vm, natives))
	must(webapi.InstallConsole(vm, natives, slog.New(logs), nil))
	must(jsclone.Install(vm, natives))
	must(vm.Set("queueMicrotask", func(fn goja.Callable) {})) // unused by these tests
	must(runPrelude(vm))
	must(nativeRequire(vm, natives))
	_, err := vm.RunString(`globalThis.hex = (b) => Array.from(ArrayBuffer.isView(b) ? new Uint8Array(b.buffer, b.byteOffset, b.byteLength) : new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");`)
	must(err)
	return vm, logs
}

// nativeRequire installs require(name) over the embedded modules/*.js, run
// as function (module, exports, require) like the runtime's loader.
func nativeRequire(vm *goja.Runtime, natives *goja.Object) error {
	cache := map[string]goja.Value{"cairn:internal": natives}
	var require func(name string) goja.Value
	require = func(name string) goja.Value {
		name = strings.TrimPrefix(name, "node:")
		if v, ok := cache[name]; ok {
			return v
		}
		src, err := modulesFS.ReadFile("modules/" + strings.ReplaceAll(name, ":", "-") + ".js")
		if err != nil {
			panic(vm.NewGoError(err))
		}
		fnv, err := vm.RunScript("cairn:"+name, "(function (module, exports, require) {"+string(src)+"\n})")
		if err != nil {
			panic(err)
		}
		fn, _ := goja.AssertFunction(fnv)
		module := vm.NewObject()
		exports := vm.NewObject()
		_ = module.Set("exports", exports)
		if _, err := fn(goja.Undefined(), module, exports, vm.ToValue(require)); err != nil {
			panic(err)
		}
		cache[name] = module.Get("exports")
		return cache[name]
	}
	return vm.Set("require", require)
}

// nativeLogHandler is a slog.Handler writing "LEVEL message\n" per record.
type nativeLogHandler struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (h *nativeLogHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *nativeLogHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.buf.WriteString(r.Level.String() + " " + r.Message + "\n")
	return nil
}
func (h *nativeLogHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *nativeLogHandler) WithGroup(string) slog.Handler      { return h }

func (h *nativeLogHandler) take() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.buf.String()
	h.buf.Reset()
	return s
}

// nativeEval runs src (an expression, or statements ending in one; a
// promise result is settled by draining jobs) and returns its string form
// or the thrown error as "throws: <name>: <message>".
func nativeEval(t testing.TB, vm *goja.Runtime, src string) string {
	t.Helper()
	v, err := vm.RunString(src)
	if err != nil {
		return "throws: " + nativeErr(vm, err)
	}
	if p, ok := v.Export().(*goja.Promise); ok {
		// Promises resolved synchronously settle once jobs run (RunString
		// drains the job queue).
		if _, err := vm.RunString(""); err != nil {
			t.Fatal(err)
		}
		switch p.State() {
		case goja.PromiseStateFulfilled:
			return nativeString(p.Result())
		case goja.PromiseStateRejected:
			return "rejects: " + nativeThrown(p.Result())
		default:
			return "pending"
		}
	}
	return nativeString(v)
}

func nativeString(v goja.Value) string {
	if v == nil {
		return "<nil>"
	}
	return v.String()
}

func nativeErr(vm *goja.Runtime, err error) string {
	if ex, ok := err.(*goja.Exception); ok && ex.Value() != nil {
		return nativeThrown(ex.Value())
	}
	return err.Error()
}

func nativeThrown(v goja.Value) string {
	if o, ok := v.(*goja.Object); ok {
		return o.Get("name").String() + ": " + o.Get("message").String()
	}
	return nativeString(v)
}

type nativeCase struct{ name, src, want string }

// nativeRun evaluates each case in one runtime and compares results.
func nativeRun(t *testing.T, cases []nativeCase) {
	t.Helper()
	vm, _ := nativeRuntime(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := nativeEval(t, vm, c.src); got != c.want {
				t.Errorf("%s\n got: %q\nwant: %q", c.src, got, c.want)
			}
		})
	}
}

func TestNativeModules(t *testing.T) {
	nativeRun(t, []nativeCase{
		// events
		{"events exports", `(() => { const E = require("node:events"); return E === E.EventEmitter && typeof E.once; })()`, "function"},
		{"on emit", `(() => { const E = require("events"); const e = new E(); let out = []; e.on("x", (a, b) => out.push(a + b)); e.addListener("x", (a) => out.push(a)); return e.emit("x", 1, 2) + " " + out.join() + " " + e.emit("none"); })()`, "true 3,1 false"},
		{"once", `(() => { const E = require("events"); const e = new E(); let n = 0; e.once("x", () => n++); e.emit("x"); e.emit("x"); return n + " " + e.listenerCount("x"); })()`, "1 0"},
		{"off", `(() => { const E = require("events"); const e = new E(); const f = () => {}; e.on("x", f).on("y", f); e.off("x", f); e.removeListener("y", f); return e.eventNames().length; })()`, "0"},
		{"prepend order", `(() => { const E = require("events"); const e = new E(); const o = []; e.on("x", () => o.push(1)); e.prependListener("x", () => o.push(0)); e.emit("x"); return o.join(); })()`, "0,1"},
		{"listeners", `(() => { const E = require("events"); const e = new E(); const f = () => {}; e.on("a", f); e.on("b", f); return e.listeners("a")[0] === f && e.eventNames().join(); })()`, "a,b"},
		{"removeAll", `(() => { const E = require("events"); const e = new E(); e.on("a", () => {}); e.on("b", () => {}); e.removeAllListeners("a"); const k = e.eventNames().join(); e.removeAllListeners(); return k + "|" + e.eventNames().length; })()`, "b|0"},
		{"maxListeners", `(() => { const E = require("events"); return new E().setMaxListeners(3).getMaxListeners(); })()`, "3"},
		{"unhandled error", `(() => { const E = require("events"); new E().emit("error", new TypeError("bad")); })()`, "throws: TypeError: bad"},
		{"unhandled non-error", `(() => { const E = require("events"); new E().emit("error", "x"); })()`, "throws: Error: Unhandled error. (x)"},
		{"handled error", `(() => { const E = require("events"); const e = new E(); let m; e.on("error", (err) => m = err.message); e.emit("error", new Error("ok")); return m; })()`, "ok"},
		{"subclass", `(() => { const E = require("events"); class C extends E { constructor() { super(); this.v = 1; } } const c = new C(); let got; c.on("x", function () { got = this.v; }); c.emit("x"); return got; })()`, "1"},
		{"inherits pattern", `(() => { const E = require("events"); const util = require("util"); function C() { E.call(this); } util.inherits(C, E); const c = new C(); let n = 0; c.on("x", () => n++); c.emit("x"); return n + " " + (c instanceof E); })()`, "1 true"},
		{"no constructor call", `(() => { const E = require("events"); function C() {} C.prototype = Object.create(E.prototype); const c = new C(); let n = 0; c.on("x", () => n++); c.emit("x"); return n; })()`, "1"},
		{"events.once", `(() => { const E = require("events"); const e = new E(); const p = E.once(e, "ready"); e.emit("ready", 1, 2); return p.then((args) => args.join()); })()`, "1,2"},
		{"events.once error", `(() => { const E = require("events"); const e = new E(); const p = E.once(e, "ready"); e.emit("error", new RangeError("r")); return p; })()`, "rejects: RangeError: r"},
		// async_hooks
		{"als run", `(() => { const { AsyncLocalStorage } = require("node:async_hooks"); const als = new AsyncLocalStorage(); const inside = als.run({id: 7}, () => als.getStore().id); return inside + " " + als.getStore(); })()`, "7 undefined"},
		{"als nested exit", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); return als.run(1, () => als.run(2, () => als.getStore()) + "," + als.getStore() + "," + als.exit(() => als.getStore())); })()`, "2,1,undefined"},
		{"als then", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); return als.run("s", () => Promise.resolve().then(() => als.getStore())); })()`, "s"},
		{"als enterWith", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); als.enterWith(5); const v = als.getStore(); als.enterWith(undefined); return v; })()`, "5"},
		{"als await", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); const inner = async () => { await null; return als.getStore(); }; return als.run("a", async () => { await null; await Promise.resolve(); const x = await inner(); return x + als.getStore(); }); })()`, "aa"},
		{"als interleaved", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); const f = async (n) => { for (let i = 0; i < n; i++) await null; return als.getStore(); }; return Promise.all([als.run(1, f, 3), als.run(2, f, 1), f(2)]).then((v) => v.join() + "," + als.getStore()); })()`, "1,2,,undefined"},
		{"als two storages", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const a = new AsyncLocalStorage(), b = new AsyncLocalStorage(); return a.run("x", () => b.run("y", async () => { await null; return a.getStore() + b.getStore(); })); })()`, "xy"},
		{"als then registered outside", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); const p = Promise.resolve(); als.run("in", () => {}); return p.then(() => String(als.getStore())); })()`, "undefined"},
		{"als throw restores", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); try { als.run(1, () => { throw new Error("x"); }); } catch {} return String(als.getStore()); })()`, "undefined"},
		{"als bind snapshot", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); const [f, snap] = als.run(7, () => [AsyncLocalStorage.bind(() => als.getStore()), AsyncLocalStorage.snapshot()]); return f() + " " + snap(() => als.getStore()) + " " + als.getStore(); })()`, "7 7 undefined"},
		{"als disable", `(() => { const { AsyncLocalStorage } = require("async_hooks"); const als = new AsyncLocalStorage(); return als.run(1, () => { als.disable(); return String(als.getStore()); }); })()`, "undefined"},
		{"async resource", `(() => { const { AsyncLocalStorage, AsyncResource } = require("async_hooks"); const als = new AsyncLocalStorage(); const r = als.run("r", () => new AsyncResource("T")); const f = als.run("f", () => AsyncResource.bind(function () { return als.getStore() + this.k; })); return r.runInAsyncScope(() => als.getStore()) + f.call({k: 1}) + als.getStore(); })()`, "rf1undefined"},
		// util
		{"util.format", `require("util").format("%s:%d", "a", 2, [1])`, "a:2 [ 1 ]"},
		{"util.inspect", `require("node:util").inspect({a: [1, {b: "c"}]})`, "{ a: [ 1, { b: 'c' } ] }"},
		{"util.promisify", `require("util").promisify((a, cb) => cb(null, a * 2))(21)`, "42"},
		{"util.promisify error", `require("util").promisify((cb) => cb(new TypeError("no")))()`, "rejects: TypeError: no"},
		{"util.types", `(() => { const { types } = require("util"); return [types.isPromise(Promise.resolve()), types.isDate(new Date()), types.isRegExp(/x/), types.isPromise({})].join(); })()`, "true,true,true,false"},
		{"util.deprecate", `(() => { const f = require("util").deprecate((x) => x + 1, "old"); return f(1) + f(2); })()`, "5"},
		{"util encoders", `(() => { const u = require("util"); return u.TextEncoder === TextEncoder && u.TextDecoder === TextDecoder; })()`, "true"},
		{"util.inherits", `(() => { function A() {} A.prototype.hi = () => "hi"; function B() {} require("util").inherits(B, A); return new B().hi() + (B.super_ === A); })()`, "hitrue"},
		// path
		{"path.join", `require("path").join("/a/b", "../c", "./d.txt")`, "/a/c/d.txt"},
		{"path.join rel", `require("node:path").join("a", "", "b/")`, "a/b/"},
		{"path.resolve", `require("path").resolve("/x/y", "z", "..", "w")`, "/x/y/w"},
		{"path.resolve abs", `require("path").resolve("a", "/b", "c")`, "/b/c"},
		{"path.normalize", `require("path").normalize("/a//b/../c/.")`, "/a/c"},
		{"path.normalize up", `require("path").normalize("../a/../../b")`, "../../b"},
		{"path.dirname", `["/a/b/c", "/a", "a", "/"].map(require("path").dirname).join(" ")`, "/a/b / . /"},
		{"path.basename", `(() => { const p = require("path"); return [p.basename("/a/b.txt"), p.basename("/a/b.txt", ".txt"), p.basename("/a/b/")].join(" "); })()`, "b.txt b b"},
		{"path.extname", `["a.js", "a.tar.gz", ".env", "a.", "a"].map(require("path").extname).join("|")`, ".js|.gz||.|"},
		{"path.sep", `require("path").sep + require("path").posix.sep`, "//"},
		{"path.relative", `require("path").relative("/a/b/c", "/a/d")`, "../../d"},
		{"path.parse", `JSON.stringify(require("path").parse("/home/u/f.txt"))`, `{"root":"/","dir":"/home/u","base":"f.txt","ext":".txt","name":"f"}`},
	})
}

// AsyncLocalStorage through a real Worker: the store follows each request
// across awaits and does not leak between concurrent requests.
func TestNativeAsyncLocalStorageWorker(t *testing.T) {
	w := newTestWorker(t, `const { AsyncLocalStorage } = require("node:async_hooks");
const als = new AsyncLocalStorage();
const later = async () => { await new Promise((r) => setTimeout(r, 5)); await null; return als.getStore(); };
exports.default = { fetch(req) {
  const id = new URL(req.url).pathname;
  return als.run(id, async () => new Response(id + "=" + await later()));
} }`, Config{})
	done := make(chan string, 4)
	for _, p := range []string{"/a", "/b", "/c", "/d"} {
		go func() {
			_, body, err := fetchBody(t, w, "http://x"+p)
			if err != nil {
				body = err.Error()
			}
			done <- p + " " + body
		}()
	}
	for range 4 {
		got := <-done
		p, body, _ := strings.Cut(got, " ")
		if want := p + "=" + p; body != want {
			t.Errorf("%s: got %q, want %q", p, body, want)
		}
	}
}
