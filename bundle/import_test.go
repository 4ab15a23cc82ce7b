package bundle

import (
	"sort"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// import() compiles for goja: a literal specifier loads the bundled module
// lazily; a computed one goes to the runtime's require (the stub here).
func TestDynamicImport(t *testing.T) {
	res, _ := build(t, map[string]string{
		"src/index.ts": `const routes = [{ module: "cloudflare:workers" }];
export default {
  literal: () => import("./lazy").then((m) => m.value),
  glob: (name: string) => import(` + "`./pages/${name}.ts`" + `).then((m) => m.title),
  computed: () => import(routes[0].module).then((m) => m.name),
};
`,
		"src/lazy.ts":        `export const value = "lazy loaded";`,
		"src/pages/home.ts":  `export const title = "Home";`,
		"src/pages/about.ts": `export const title = "About";`,
	})
	vm := goja.New()
	exports, _ := run(t, vm, res.Code) // compiles: goja would reject import(x)
	vm.Set("def", exports.Get("default"))
	for expr, want := range map[string]string{
		`def.literal()`:     "lazy loaded",
		`def.glob("about")`: "About",
		`def.glob("home")`:  "Home",
		`def.computed()`:    "cloudflare:workers", // the stub require's module
	} {
		v, err := vm.RunString(expr)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		p, ok := v.Export().(*goja.Promise)
		if !ok || p.State() != goja.PromiseStateFulfilled || p.Result().String() != want {
			t.Errorf("%s = %v, want %q", expr, v, want)
		}
	}
}

// A computed import() of a relative specifier resolves against the modules
// of the bundle, named by their paths relative to the entry's directory,
// as workerd resolves it against the uploaded modules (the runtime's side:
// jsrt's TestDynamicImportRelative); the bundle's exports stay as they were.
func TestDynamicImportComputedRelative(t *testing.T) {
	res, _ := build(t, map[string]string{
		"src/index.ts": `import { all } from "./routes/list";
export class Room {}
export default {
  load: (name: string) => import(all[name]).then((m) => m.default + " " + m.kind),
  other: (name: string) => import(name),
};
`,
		"src/routes/list.ts": `import home from "./home";
export const all: Record<string, string> = { home: "./routes/home.js", about: "./routes/about.ts", missing: "./routes/missing.js", pkg: "cloudflare:workers" };
export const used = home;`,
		"src/routes/home.ts":  `export default "Home"; export const kind = "page";`,
		"src/routes/about.ts": `export default "About"; export const kind = "page";`,
	})
	if !strings.Contains(res.Code, ModuleMapGlobal) {
		t.Fatalf("no module map in the bundle")
	}
	vm := goja.New()
	exports, _ := run(t, vm, res.Code)
	if _, ok := exports.Get("Room").(*goja.Object); !ok {
		t.Errorf("exports.Room = %v, want the class", exports.Get("Room"))
	}
	modules := vm.Get(ModuleMapGlobal).ToObject(vm)
	var names []string
	for _, k := range modules.Keys() {
		names = append(names, k)
	}
	sort.Strings(names)
	// about.ts is in no bundle: only a computed import() names it.
	if got := strings.Join(names, " "); got != "index.js index.ts routes/home.js routes/home.ts routes/list.js routes/list.ts" {
		t.Errorf("module map names: %s", got)
	}
	for name, want := range map[string]string{"routes/home.js": "Home", "routes/home.ts": "Home"} {
		load, _ := goja.AssertFunction(modules.Get(name))
		v, err := load(goja.Undefined())
		if err != nil || v.ToObject(vm).Get("default").String() != want {
			t.Errorf("%s: %v %v, want default %q", name, v, err, want)
		}
	}
}
