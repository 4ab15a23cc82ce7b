package jsrt

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/require"
)

//go:embed modules/*.js
var modulesFS embed.FS

// modulePrograms compiles the embedded CommonJS modules once per process,
// keyed by module name ("events", "cloudflare:workers", …). A file's name is
// the module name with ":" spelled "-" (cloudflare-workers.js).
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

// registerModules makes the embedded modules loadable with require(). Node
// modules answer to both "name" and "node:name".
func registerModules(reg *require.Registry, rt *runtime) {
	progs, err := modulePrograms()
	if err != nil {
		rt.log.Error("embedded modules", "error", err)
		return
	}
	for name, prog := range progs {
		load := func(vm *goja.Runtime, module *goja.Object) {
			fn, err := vm.RunProgram(prog)
			if err != nil {
				panic(err)
			}
			call, _ := goja.AssertFunction(fn)
			if _, err := call(goja.Undefined(), module, module.Get("exports"), rt.moduleRequire()); err != nil {
				panic(err)
			}
		}
		reg.RegisterNativeModule(name, load)
		if !strings.Contains(name, ":") {
			reg.RegisterNativeModule("node:"+name, load)
		}
	}
}

// moduleRequire is the require the embedded modules get: the Worker's
// require, plus "cairn:internal" for the natives, which Worker code cannot
// load (it is no module of the registry).
func (rt *runtime) moduleRequire() goja.Value {
	natives, require := rt.natives, rt.require
	return rt.vm.ToValue(func(call goja.FunctionCall) goja.Value {
		if call.Argument(0).String() == "cairn:internal" {
			return natives
		}
		v, err := require(goja.Undefined(), call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
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
		v, err := inner(goja.Undefined(), vm.ToValue(name))
		if err != nil {
			msg := err.Error()
			if !strings.Contains(msg, require.NoSuchBuiltInModuleError.Error()) && !strings.Contains(msg, require.InvalidModuleError.Error()) {
				panic(err) // the module itself threw
			}
			panic(vm.NewGoError(fmt.Errorf("No such module %q (imported by the Worker). cairn provides cloudflare:workers and the Node.js modules async_hooks, buffer, crypto, events, path, url, util and zlib (also as \"node:…\")", name)))
		}
		return v
	}
	fn, _ := goja.AssertFunction(vm.ToValue(require))
	rt.require = fn
	return vm.Set("require", require)
}
