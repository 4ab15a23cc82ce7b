package bundle

import (
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
