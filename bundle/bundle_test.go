package bundle

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// run evaluates a bundle as the runtime does and returns module.exports;
// require answers external modules with {name}.
func run(t *testing.T, vm *goja.Runtime, code string) *goja.Object {
	t.Helper()
	prog, err := goja.Compile("worker.js", "(function (module, exports, require) {"+code+"\n})", false)
	if err != nil {
		t.Fatalf("compile bundle: %v", err)
	}
	fn, err := vm.RunProgram(prog)
	if err != nil {
		t.Fatal(err)
	}
	call, _ := goja.AssertFunction(fn)
	module := vm.NewObject()
	exports := vm.NewObject()
	_ = module.Set("exports", exports)
	base, _ := vm.RunString("(class {})")
	require := func(name string) goja.Value {
		m := vm.NewObject()
		_ = m.Set("name", name)
		_ = m.Set("DurableObject", base)
		return m
	}
	if _, err := call(goja.Undefined(), module, exports, vm.ToValue(require)); err != nil {
		t.Fatalf("run bundle: %v", err)
	}
	return module.Get("exports").ToObject(vm)
}

func TestBuildRuns(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"src/index.ts": `import { DurableObject } from "cloudflare:workers";
import { greet } from "./greet";
import pick from "pkg";
import { EventEmitter } from "node:events";
async function* count(n: number) { for (let i = 0; i < n; i++) yield i; }
export class Counter extends DurableObject {}
class Box { set = (v: number) => v * 2; get = 1; #x = 3; y() { return this.#x; } }
export default {
  box: new Box().set(4) + new Box().get + new Box().y(),
  async total(): Promise<number> { let s = 0; for await (const i of count(4)) s += i; return s; },
  greet, pick, ee: typeof EventEmitter,
};
`,
		"src/greet.ts":                  `export const greet = (n: string): string => "hi " + n;`,
		"node_modules/pkg/package.json": `{"name": "pkg", "exports": {"workerd": "./w.js", "default": "./d.js"}}`,
		"node_modules/pkg/w.js":         `export default "workerd build";`,
		"node_modules/pkg/d.js":         `export default "default build";`,
	})
	res, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res.Code, "//# sourceMappingURL=data:application/json;base64,") {
		t.Error("no inline source map")
	}
	for _, want := range []string{"src/index.ts", "src/greet.ts", "node_modules/pkg/w.js"} {
		if !slices.Contains(res.Inputs, filepath.Join(dir, want)) {
			t.Errorf("Inputs %v lack %s", res.Inputs, want)
		}
	}

	vm := goja.New()
	exports := run(t, vm, res.Code)
	if _, ok := goja.AssertConstructor(exports.Get("Counter")); !ok {
		t.Error("Counter is not exported as a class")
	}
	def := exports.Get("default").ToObject(vm)
	if got := def.Get("pick").String(); got != "workerd build" {
		t.Errorf("condition workerd not preferred: pick = %q", got)
	}
	vm.Set("def", def)
	if _, err := vm.RunString(`def.total().then(v => globalThis.r = v)`); err != nil {
		t.Fatal(err)
	}
	if v := vm.Get("r"); v == nil || v.ToInteger() != 6 {
		t.Errorf("async generator total = %v, want 6", v)
	}
	if got := def.Get("box").ToInteger(); got != 12 {
		t.Errorf("class fields named set/get: box = %d, want 12", got)
	}
	if got, _ := vm.RunString(`def.greet("x") + " " + def.ee`); got.String() != "hi x undefined" {
		t.Errorf("greet/ee = %q", got)
	}
}

// Stack traces map through the inline source map to the TypeScript line.
func TestSourceMappedStack(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"src/index.ts": `type N = number;

export function boom(n: N): never {
  throw new Error("boom " + n);
}
`,
	})
	res, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	vm := goja.New()
	exports := run(t, vm, res.Code)
	boom, _ := goja.AssertFunction(exports.Get("boom"))
	_, err = boom(goja.Undefined(), vm.ToValue(1))
	ex, ok := err.(*goja.Exception)
	if !ok {
		t.Fatalf("err = %v, want a JS exception", err)
	}
	stack := ex.Value().ToObject(vm).Get("stack").String()
	if !regexp.MustCompile(`src/index\.ts:4:\d+`).MatchString(stack) {
		t.Errorf("stack does not point at src/index.ts:4:\n%s", stack)
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unresolved", "import x from \"./missing\";\nexport default x;\n", `src/index.ts:1:14: Could not resolve "./missing"`},
		{"syntax", "export default {\n  fetch() { return ( }\n};\n", `src/index.ts:2:`},
		{"top-level await", "await Promise.resolve();\nexport default {};\n", `src/index.ts:1:0: top-level await is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"src/index.ts": tt.src})
			_, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
