package jsrt

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
	"github.com/dop251/goja_nodejs/require"
	gojaurl "github.com/dop251/goja_nodejs/url"
)

//go:embed modules/*.js
var modulesFS embed.FS

//go:embed modules/generated/node.js
var nodeNPMSource string

// modulePrograms compiles the embedded CommonJS modules once per process,
// keyed by module name ("events", "cloudflare:workers", …). A file's name is
// the module name with ":" spelled "-" (cloudflare-workers.js) and "/"
// spelled "_" after the first word (stream_web.js would be "stream/web").
var modulePrograms = sync.OnceValues(func() (map[string]*goja.Program, error) {
	names, err := fs.Glob(modulesFS, "modules/*.js")
	if err != nil {
		return nil, err
	}
	progs := make(map[string]*goja.Program, len(names))
	for _, file := range names {
		src, err := modulesFS.ReadFile(file)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(path.Base(file), ".js")
		if strings.HasPrefix(name, "cloudflare-") {
			name = "cloudflare:" + strings.TrimPrefix(name, "cloudflare-")
		}
		p, err := goja.Compile("cairn:"+name, wrapCommonJS(string(src)), true)
		if err != nil {
			return nil, fmt.Errorf("compile module %s: %w", name, err)
		}
		progs[name] = p
	}
	return progs, nil
})

// nodeNPMProgram compiles modules/generated/node.js (unenv, readable-stream,
// string_decoder; see polyfill/node.cjs) the first time a Worker needs it.
var nodeNPMProgram = sync.OnceValues(func() (*goja.Program, error) {
	p, err := goja.Compile("cairn:node", wrapCommonJS(nodeNPMSource), true)
	if err != nil {
		return nil, fmt.Errorf("compile generated Node.js modules: %w", err)
	}
	return p, nil
})

// nodeSource says where a Node.js module comes from.
type nodeSource int

const (
	nodeEmbedded   nodeSource = iota // jsrt/modules/<name>.js, or goja_nodejs (buffer, url): always loadable
	nodeNPM                          // modules/generated/node.js: with nodejs_compat
	nodeCompat                       // jsrt/modules/<name>.js that needs nodejs_compat
	nodeUnprovided                   // not provided by Cloudflare either
)

// nodeModules is every Node.js module name, with and without subpath, and
// where cairn gets it. A Worker imports them as "name" or "node:name".
var nodeModules = map[string]nodeSource{
	"async_hooks": nodeEmbedded, "buffer": nodeEmbedded, "events": nodeEmbedded,
	"path": nodeEmbedded, "path/posix": nodeEmbedded, "url": nodeEmbedded,
	"util": nodeEmbedded, "crypto": nodeEmbedded, "zlib": nodeEmbedded, "process": nodeCompat,
	"net": nodeCompat, "tls": nodeCompat,

	"assert": nodeNPM, "assert/strict": nodeNPM, "child_process": nodeNPM,
	"cluster": nodeNPM, "console": nodeNPM, "constants": nodeNPM, "dgram": nodeNPM,
	"diagnostics_channel": nodeNPM, "dns": nodeNPM, "dns/promises": nodeNPM,
	"domain": nodeNPM, "fs": nodeNPM, "fs/promises": nodeNPM, "http": nodeNPM,
	"http2": nodeNPM, "https": nodeNPM, "inspector": nodeNPM, "module": nodeNPM,
	"os": nodeNPM, "perf_hooks": nodeNPM, "punycode": nodeNPM,
	"querystring": nodeNPM, "readline": nodeNPM, "readline/promises": nodeNPM,
	"repl": nodeNPM, "stream": nodeNPM, "stream/promises": nodeNPM,
	"stream/web": nodeNPM, "stream/consumers": nodeNPM, "string_decoder": nodeNPM,
	"timers": nodeNPM, "timers/promises": nodeNPM,
	"trace_events": nodeNPM, "tty": nodeNPM, "util/types": nodeNPM, "v8": nodeNPM,
	"vm": nodeNPM, "worker_threads": nodeNPM,

	"sqlite": nodeUnprovided, "test": nodeUnprovided, "wasi": nodeUnprovided, "sea": nodeUnprovided,
}

// ErrNoSuchModule is what a Worker's require of a module cairn does not
// have fails with (wrapped, with the module's name).
var ErrNoSuchModule = errors.New("No such module")

// registerModules makes the embedded modules loadable with require(). Node
// modules answer to both "name" and "node:name", which are one instance.
func registerModules(reg *require.Registry, rt *runtime) {
	progs, err := modulePrograms()
	if err != nil {
		rt.log.Error("embedded modules", "error", err)
		return
	}
	compat := rt.w.cfg.NodeCompat
	fail := func(vm *goja.Runtime, format string, args ...any) {
		panic(vm.NewGoError(fmt.Errorf("%w "+format, append([]any{ErrNoSuchModule}, args...)...)))
	}
	runProgram := func(prog *goja.Program) require.ModuleLoader {
		return func(vm *goja.Runtime, module *goja.Object) {
			fn, err := vm.RunProgram(prog)
			if err != nil {
				panic(err)
			}
			call, _ := goja.AssertFunction(fn)
			if _, err := call(goja.Undefined(), module, module.Get("exports"), rt.moduleRequire()); err != nil {
				panic(err)
			}
		}
	}
	for name, prog := range progs {
		if strings.HasPrefix(name, "cloudflare:") {
			reg.RegisterNativeModule(name, runProgram(prog)) // cloudflare:*
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nodeModules)) {
		src := nodeModules[name]
		var load require.ModuleLoader
		switch {
		case (src == nodeNPM || src == nodeCompat) && !compat:
			load = func(vm *goja.Runtime, _ *goja.Object) {
				fail(vm, "%q: Node.js modules other than async_hooks, buffer, crypto, events, path, url, util and zlib need the \"nodejs_compat\" compatibility flag (add it to compatibility_flags in the wrangler config)", "node:"+name)
			}
		case src == nodeEmbedded || src == nodeCompat:
			prog := progs[strings.ReplaceAll(name, "/", "_")]
			switch {
			case name == "path/posix":
				load = alias("path")
			case name == "url":
				extras := runProgram(progs["url_extras"])
				load = func(vm *goja.Runtime, module *goja.Object) {
					gojaurl.Require(vm, module)
					extras(vm, module)
				}
			case name == "buffer":
				extras := runProgram(progs["buffer_extras"])
				load = func(vm *goja.Runtime, module *goja.Object) {
					buffer.Require(vm, module)
					extras(vm, module)
				}
			case prog != nil:
				load = runProgram(prog)
			default:
				continue
			}
		case src == nodeNPM && nodeFeatureModules[name] != "" && rt.w.cfg.nodeFeature(nodeFeatureModules[name]):
			// cairn's own module (jsrt/modules) once its feature is on
			// (nodecompat.go); unenv's stubs before.
			load = runProgram(progs[strings.ReplaceAll(name, "/", "_")])
		case src == nodeNPM:
			load = func(vm *goja.Runtime, module *goja.Object) {
				factories := rt.nodeFactories()
				factory, ok := goja.AssertFunction(factories.Get(name))
				if !ok {
					fail(vm, "%q: missing from the generated modules", "node:"+name)
				}
				v, err := factory(goja.Undefined())
				if err != nil {
					panic(err)
				}
				_ = module.Set("exports", v)
				if name == "assert" { // Node's assert function and deep equality
					runProgram(progs["assert_extras"])(vm, module)
				}
			}
			if name == "assert/strict" {
				load = func(vm *goja.Runtime, module *goja.Object) {
					_ = module.Set("exports", require.Require(vm, "assert").ToObject(vm).Get("strict"))
				}
			}
		default:
			load = func(vm *goja.Runtime, _ *goja.Object) {
				fail(vm, "%q: Cloudflare Workers do not provide it", "node:"+name)
			}
		}
		reg.RegisterNativeModule(name, load)
		reg.RegisterNativeModule("node:"+name, alias(name))
	}
}

// moduleRequire is the require the embedded modules get: the Worker's
// require, plus "cairn:internal" for the natives and "cairn:node" for the
// factories of the generated Node.js modules, which Worker code cannot load
// (they are no modules of the registry).
func (rt *runtime) moduleRequire() goja.Value {
	natives, require := rt.natives, rt.require
	return rt.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		switch call.Argument(0).String() {
		case "cairn:internal":
			return natives
		case "cairn:node":
			return rt.nodeFactories()
		}
		v, err := require(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
}

// alias loads as another module's exports (one instance for both names).
func alias(name string) require.ModuleLoader {
	return func(vm *goja.Runtime, module *goja.Object) {
		_ = module.Set("exports", require.Require(vm, name))
	}
}

// installRequire replaces the registry's require with one whose failure
// names the module, since the registry's own error does not.
func (rt *runtime) installRequire() error {
	vm := rt.vm
	inner, ok := goja.AssertFunction(vm.Get("require"))
	if !ok {
		return fmt.Errorf("require is not enabled")
	}
	require := func(name string) goja.Value {
		if strings.HasPrefix(name, "./") || strings.HasPrefix(name, "../") || strings.HasPrefix(name, "/") {
			return rt.requireBundled(name)
		}
		v, err := inner(goja.Undefined(), vm.ToValue(name))
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, require.NoSuchBuiltInModuleError.Error()) && !strings.Contains(msg, require.InvalidModuleError.Error()) {
				panic(err) // the module itself threw, or refused to load
			}
			panic(vm.NewGoError(fmt.Errorf("%w %q (imported by the Worker). cairn provides the cloudflare:workers, cloudflare:sockets, cloudflare:email and cloudflare:node modules and, with the \"nodejs_compat\" compatibility flag, the Node.js modules (also as \"node:…\")", ErrNoSuchModule, name)))
		}
		return v
	}
	fn, _ := goja.AssertFunction(vm.ToValue(require))
	rt.require = fn
	return vm.Set("require", require)
}

// bundledModules is the global in which a bundle with a computed import()
// lists its modules by name (bundle.ModuleMapGlobal).
const bundledModules = "__cairn_modules"

// requireBundled resolves a relative specifier (of a computed import() or
// require) against the modules of the bundle, named by their paths
// relative to the main module's directory, as workerd resolves it against
// the uploaded modules.
func (rt *runtime) requireBundled(spec string) goja.Value {
	vm := rt.vm
	name := strings.TrimPrefix(path.Clean("/"+spec), "/")
	if strings.HasPrefix(spec, "../") {
		name = path.Clean(spec)
	}
	if modules, ok := vm.GlobalObject().Get(bundledModules).(*goja.Object); ok {
		if load, ok := goja.AssertFunction(modules.Get(name)); ok {
			v, err := load(goja.Undefined())
			if err != nil {
				panic(err)
			}
			return v
		}
	}
	panic(vm.NewGoError(fmt.Errorf("%w %q (a relative specifier resolves against the modules in the Worker's bundle, by their paths relative to the main module's directory)", ErrNoSuchModule, name)))
}

// installNodeGlobals defines the Cloudflare global and what nodejs_compat
// adds to the global scope besides Buffer: process, loaded on first use (so
// a Worker that never touches it does not pay for it).
func (rt *runtime) installNodeGlobals() error {
	flags := rt.vm.NewObject()
	for _, f := range rt.w.cfg.CompatibilityFlags {
		_ = flags.Set(f, true)
	}
	if rt.w.cfg.NodeCompat {
		_ = flags.Set("nodejs_compat", true)
	}
	cf := rt.vm.NewObject()
	_ = cf.DefineDataProperty("compatibilityFlags", flags, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	freeze, _ := goja.AssertFunction(rt.vm.Get("Object").ToObject(rt.vm).Get("freeze"))
	for _, o := range []*goja.Object{flags, cf} {
		if _, err := freeze(goja.Undefined(), o); err != nil {
			return err
		}
	}
	if err := rt.vm.GlobalObject().DefineDataProperty("Cloudflare", cf, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
		return err
	}
	if !rt.w.cfg.NodeCompat {
		return nil
	}
	if err := rt.installNodeNatives(); err != nil {
		return err
	}
	fn, err := rt.vm.RunString(`(function (require, natives) {
  let value, loading = false;
  Object.defineProperty(globalThis, "process", {
    configurable: true,
    enumerable: false,
    get() {
      // While node:process loads, its code sees no global process (as
      // unenv expects of a platform without one).
      if (value === undefined && !loading && !natives.nodeProcessLoading) {
        loading = true;
        try { value = require("node:process"); } finally { loading = false; }
      }
      return value;
    },
    set(v) { value = v; },
  });
})`)
	if err != nil {
		return err
	}
	call, _ := goja.AssertFunction(fn)
	_, err = call(goja.Undefined(), rt.vm.Get("require"), rt.natives)
	return err
}

// nodeFactories returns the generated Node.js modules of this runtime
// (modules/generated/node.js: a table of factories by module name),
// evaluating them on first use and keeping them on the natives.
func (rt *runtime) nodeFactories() *goja.Object {
	vm := rt.vm
	if v, ok := rt.natives.Get("nodeFactories").(*goja.Object); ok {
		return v
	}
	prog, err := nodeNPMProgram()
	if err != nil {
		panic(vm.NewGoError(err))
	}
	fn, err := vm.RunProgram(prog)
	if err != nil {
		panic(err)
	}
	call, _ := goja.AssertFunction(fn)
	module := vm.NewObject()
	_ = module.Set("exports", vm.NewObject())
	if _, err := call(goja.Undefined(), module, module.Get("exports"), rt.moduleRequire()); err != nil {
		panic(err)
	}
	exports := module.Get("exports").ToObject(vm)
	_ = rt.natives.Set("nodeFactories", exports)
	return exports
}
