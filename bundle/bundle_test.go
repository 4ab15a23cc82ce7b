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

func build(t *testing.T, files map[string]string) (*Result, string) {
	t.Helper()
	dir := writeFiles(t, files)
	res, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return res, dir
}

// run evaluates a bundle as the runtime does (jsrt's wrapCommonJS) and
// returns module.exports and the names passed to require, which answers
// every module with {name, DurableObject}.
func run(t *testing.T, vm *goja.Runtime, code string) (*goja.Object, []string) {
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
	var required []string
	require := func(name string) goja.Value {
		required = append(required, name)
		m := vm.NewObject()
		_ = m.Set("name", name)
		_ = m.Set("DurableObject", base)
		return m
	}
	if _, err := call(goja.Undefined(), module, exports, vm.ToValue(require)); err != nil {
		t.Fatalf("run bundle: %v", err)
	}
	return module.Get("exports").ToObject(vm), required
}

func TestBuildRuns(t *testing.T) {
	res, dir := build(t, map[string]string{
		"src/index.ts": `import { DurableObject } from "cloudflare:workers";
import { greet } from "./greet";
import pick from "pkg";
import { EventEmitter } from "node:events";
import { Buffer } from "buffer";
import { ReadableStream } from "stream/web";
import page from "./page.html";
export class Counter extends DurableObject {}
export default {
  greet, pick, page,
  externals: [EventEmitter, Buffer, ReadableStream].map((m: any) => typeof m),
};
`,
		"src/greet.ts":                  `export const greet = (n: string): string => "hi " + n;`,
		"src/page.html":                 `<p>hi</p>`,
		"node_modules/pkg/package.json": `{"name": "pkg", "exports": {"workerd": "./w.js", "default": "./d.js"}}`,
		"node_modules/pkg/w.js":         `export default "workerd build";`,
		"node_modules/pkg/d.js":         `export default "default build";`,
	})
	if !strings.Contains(res.Code, "//# sourceMappingURL=data:application/json;base64,") {
		t.Error("no inline source map")
	}
	for _, want := range []string{"src/index.ts", "src/greet.ts", "src/page.html", "node_modules/pkg/w.js"} {
		if !slices.Contains(res.Inputs, filepath.Join(dir, want)) {
			t.Errorf("Inputs %v lack %s", res.Inputs, want)
		}
	}
	if len(res.Inputs) != 4 {
		t.Errorf("Inputs = %v, want 4 files", res.Inputs)
	}

	vm := goja.New()
	exports, required := run(t, vm, res.Code)
	slices.Sort(required)
	if want := []string{"buffer", "cloudflare:workers", "node:events", "stream/web"}; !slices.Equal(required, want) {
		t.Errorf("required %v, want %v", required, want)
	}
	if _, ok := goja.AssertConstructor(exports.Get("Counter")); !ok {
		t.Error("Counter is not exported as a class")
	}
	vm.Set("def", exports.Get("default"))
	for expr, want := range map[string]string{
		`def.pick`:           "workerd build", // the "workerd" condition wins
		`def.greet("x")`:     "hi x",
		`def.page`:           "<p>hi</p>",
		`def.externals + ""`: "undefined,undefined,undefined", // from the stub
	} {
		if got, err := vm.RunString(expr); err != nil || got.String() != want {
			t.Errorf("%s = %v (%v), want %q", expr, got, err, want)
		}
	}
}

// Syntax goja lacks is lowered (see unsupported) and runs.
func TestLowering(t *testing.T) {
	res, _ := build(t, map[string]string{
		"src/index.ts": `import { Counter as Other } from "./other";
async function* count(n: number) { for (let i = 0; i < n; i++) yield i; }
class Box { set = (v: number) => v * 2; get = 1; async = 2; #x = 3; y() { return this.#x; } }
class Static {
  static get = 4; static static = 5; static #set = 6;
  static s: number;
  static { Static.s = Static.#set; }
}
class Priv { #get = 7; g() { return this.#get; } }
class Counter {}
const it = { async *[Symbol.iterator]() {} };
export default {
  async total(): Promise<number> { let s = 0; for await (const i of count(4)) s += i; return s; },
  box: new Box().set(4) + new Box().get + new Box().async + new Box().y() + Static.get + Static.static + Static.s,
  priv: new Priv().g(),
  names: Counter.name + " " + Other.name,
  indices: () => /a/d.exec("a"),
};
`,
		"src/other.ts": `export class Counter {}`,
	})
	vm := goja.New()
	exports, _ := run(t, vm, res.Code)
	vm.Set("def", exports.Get("default"))
	if _, err := vm.RunString(`def.total().then(v => globalThis.total = v)`); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		`total`:     "6",
		`def.box`:   "29",
		`def.priv`:  "7",
		`def.names`: "Counter Counter", // keepNames: esbuild renamed one of them
	} {
		if got, err := vm.RunString(expr); err != nil || got.String() != want {
			t.Errorf("%s = %v (%v), want %q", expr, got, err, want)
		}
	}
}

// Stack traces map through the inline source map to the TypeScript line.
func TestSourceMappedStack(t *testing.T) {
	res, _ := build(t, map[string]string{
		"src/index.ts": `type N = number;

export function boom(n: N): never {
  throw new Error("boom " + n);
}
`,
	})
	vm := goja.New()
	exports, _ := run(t, vm, res.Code)
	boom, _ := goja.AssertFunction(exports.Get("boom"))
	_, err := boom(goja.Undefined(), vm.ToValue(1))
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
		name, src, other, want string
	}{
		{"unresolved", "import x from \"./missing\";\nexport default x;\n", "", `src/index.ts:1:14: Could not resolve "./missing"`},
		{"unresolved package", "import x from \"nopkg\";\nexport default x;\n", "", `src/index.ts:1:14: Could not resolve "nopkg"`},
		{"syntax", "export default {\n  fetch() { return ( }\n};\n", "", `src/index.ts:2:`},
		{"type syntax", "let x: = 1;\nexport default {};\n", "", `src/index.ts:1:7: Unexpected "="`},
		{"top-level await", "await Promise.resolve();\nexport default {};\n", "", `src/index.ts:1:0: top-level await is not supported`},
		{"top-level await in import", "import \"./other\";\nexport default {};\n", "await 1;\n", `src/other.ts:1:0: top-level await is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"src/index.ts": tt.src, "src/other.ts": tt.other})
			_, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
			if _, ok := err.(*Error); !ok || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want an *Error containing %q", err, tt.want)
			}
			if err != nil && strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("want one message, got:\n%v", err)
			}
		})
	}
}
