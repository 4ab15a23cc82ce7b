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
		p, err := goja.Compile("cairn:"+name, WrapCommonJS(string(src)), true)
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
			if _, err := call(goja.Undefined(), module, module.Get("exports"), vm.Get("require")); err != nil {
				panic(err)
			}
		}
		reg.RegisterNativeModule(name, load)
		if !strings.Contains(name, ":") {
			reg.RegisterNativeModule("node:"+name, load)
		}
	}
	// Natives the JS modules reach through require("cairn:internal").
	reg.RegisterNativeModule("cairn:internal", func(vm *goja.Runtime, module *goja.Object) {
		_ = module.Set("exports", rt.natives)
	})
}
