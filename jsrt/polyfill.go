package jsrt

import (
	"fmt"
	"io/fs"
	"sync"

	"github.com/dop251/goja"
)

// The standard built-ins goja lacks come from core-js, bundled at build time
// into prelude/01_polyfill.js; see polyfill/entry.js for the list.
//go:generate go run ./polyfill/gen.go

// builtinKeys finds, once per process, the properties core-js defines or
// replaces on this engine, as [target, key] pairs for
// prelude/01_polyfill_lazy.js: it loads core-js in a scratch runtime and
// compares the globals, their prototypes and %IteratorPrototype% before and
// after. Symbol-keyed properties are left out: code reaches them through
// symbols that core-js itself defines (Symbol.dispose), which load it.
var builtinKeys = sync.OnceValues(func() ([][2]string, error) {
	progs, err := preludePrograms()
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(preludeFS, "prelude/*.js")
	if err != nil {
		return nil, err
	}
	vm := goja.New()
	natives := newNatives(vm)
	for i, name := range names {
		if name == "prelude/01_polyfill_lazy.js" {
			break
		}
		if _, err := vm.RunProgram(progs[i]); err != nil {
			return nil, fmt.Errorf("builtin keys: %s: %w", name, err)
		}
	}
	diff, err := vm.RunString(`(function (load) {
  const iter = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
  const targets = () => {
    const t = [["globalThis", globalThis], ["%IteratorPrototype%", iter]];
    for (const name of Object.getOwnPropertyNames(globalThis)) {
      const v = globalThis[name];
      if ((typeof v !== "object" && typeof v !== "function") || v === null || v === globalThis || name === "__cairn") continue;
      t.push([name, v]);
      if (typeof v === "function" && v.prototype && typeof v.prototype === "object") t.push([name + ".prototype", v.prototype]);
    }
    return t;
  };
  const snap = (o) => {
    const m = new Map();
    for (const k of Object.getOwnPropertyNames(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k);
      m.set(k, "value" in d ? d.value : d.get);
    }
    return m;
  };
  const before = new Map(targets().map(([p, o]) => [p, snap(o)]));
  load();
  const out = [];
  for (const [path, o] of targets()) {
    const was = before.get(path);
    if (!was) continue; // a new global: its own key on globalThis covers it
    for (const [k, v] of snap(o)) if (!was.has(k) || !Object.is(was.get(k), v)) out.push([path, k]);
  }
  return out;
})`)
	if err != nil {
		return nil, err
	}
	run, _ := goja.AssertFunction(diff)
	res, err := run(goja.Undefined(), natives.Get("loadBuiltins"))
	if err != nil {
		return nil, fmt.Errorf("builtin keys: %w", err)
	}
	var keys [][2]string
	if err := vm.ExportTo(res, &keys); err != nil {
		return nil, err
	}
	return keys, nil
})
