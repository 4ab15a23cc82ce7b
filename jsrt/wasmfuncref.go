package jsrt

import (
	"context"
	"errors"
	goruntime "runtime"
	"strings"

	"github.com/dop251/goja"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Function references (funcref) between JS and wasm: a wasm function in a
// table as a JS function (Table.get), and an exported function put in a
// table by JS (Table.set, grow, Table and Global values). wazero has no Go
// API for either, so both go through generated modules:
//
//   - an exported function becomes a funcref by a module that imports it
//     and returns ref.func of it (funcRefModule), made at its first use;
//   - a funcref becomes callable by a module per function type that calls
//     slot 0 of a scratch table with call_indirect (callerModule). The
//     type of a funcref is not known to Go: the JS function tries the
//     function types of the modules instantiated in the runtime, the last
//     one that matched first; call_indirect checks the type before the
//     call, so a mismatch traps without running anything.
//
// A funcref is the address of a function instance of wazero's, valid as
// long as its module is open. So every funcref JS made or saw is kept with
// its JS function for the life of the runtime (byRef), which also gives
// Table.get the very function Table.set put there.

// wasmFuncs is the funcref state of one runtime.
type wasmFuncs struct {
	js    *wasmJS
	sym   *goja.Symbol // the property of a JS function holding its *wasmFunc
	byRef map[uint64]*goja.Object
	types []wasmFuncType // of the modules instantiated, each once
	seen  map[string]bool

	scratch *wasmTableRef           // the table callers call through
	callers map[string]api.Function // by wasmFuncType.key
}

// wasmFunc is the handle of a JS function that stands for a wasm function.
type wasmFunc struct {
	mod  api.Module // the instance exporting it (nil when known by ref only)
	name string
	typ  wasmFuncType
	keep any // what keeps mod open (*wasmInstance)

	ref     uint64     // the funcref, once made
	refMod  api.Module // the funcRefModule instance ref points into
	matched int        // funcref only: index in types of the type that last matched
}

func newWasmFuncs(js *wasmJS) *wasmFuncs {
	return &wasmFuncs{js: js, sym: goja.NewSymbol("wasm function"), byRef: make(map[uint64]*goja.Object),
		seen: make(map[string]bool), callers: make(map[string]api.Function)}
}

// addTypes notes the function types of a module being instantiated.
func (f *wasmFuncs) addTypes(types []wasmFuncType) {
	for _, t := range types {
		if k := t.key(); !f.seen[k] {
			f.seen[k] = true
			f.types = append(f.types, t)
		}
	}
}

// tag marks the JS function fn as standing for the wasm function h.
func (f *wasmFuncs) tag(fn *goja.Object, h *wasmFunc) {
	_ = fn.DefineDataPropertySymbol(f.sym, f.js.rt.vm.ToValue(h), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
}

// toRef returns the funcref of v: null, or a function exported by an
// instance or taken from a table.
func (f *wasmFuncs) toRef(v goja.Value) uint64 {
	vm := f.js.rt.vm
	if v == nil || goja.IsNull(v) {
		return 0
	}
	o, _ := v.(*goja.Object)
	var h *wasmFunc
	if o != nil {
		if tag := o.GetSymbol(f.sym); tag != nil {
			h, _ = tag.Export().(*wasmFunc)
		}
	}
	if h == nil {
		panic(vm.NewTypeError("WebAssembly: a funcref must be null or a function exported by a WebAssembly instance"))
	}
	if h.ref != 0 {
		return h.ref
	}
	w := f.js.rt.w
	m, err := w.wasm.compile(w, funcRefModule(h.typ, h.name))
	if err != nil {
		panic(f.js.throw(f.js.runtimeErr, "WebAssembly: making a funcref of %q: %v", h.name, err))
	}
	ctx := experimental.WithImportResolver(w.ctx, func(string) api.Module { return h.mod })
	acc, err := w.wasm.runtime(w).InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		panic(f.js.throw(f.js.runtimeErr, "WebAssembly: making a funcref of %q: %v", h.name, err))
	}
	res, err := acc.ExportedFunction("ref").Call(w.ctx)
	if err != nil || res[0] == 0 {
		_ = acc.Close(w.ctx)
		panic(f.js.throw(f.js.runtimeErr, "WebAssembly: making a funcref of %q: %v", h.name, err))
	}
	h.ref, h.refMod = res[0], acc
	f.byRef[h.ref] = o
	return h.ref
}

// fromRef returns the JS function of funcref x (null for 0): the one that
// was put there, or one that calls it, keeping keep (where x came from:
// what keeps the function's module open) as long as it lives.
func (f *wasmFuncs) fromRef(x uint64, keep any) goja.Value {
	if x == 0 {
		return goja.Null()
	}
	if o := f.byRef[x]; o != nil {
		return o
	}
	vm := f.js.rt.vm
	h := &wasmFunc{ref: x, keep: keep}
	fn := vm.ToValue(func(c goja.FunctionCall) goja.Value { return f.callRef(h, c.Arguments) }).(*goja.Object)
	f.tag(fn, h)
	f.byRef[x] = fn
	return fn
}

// callRef calls the funcref of h with args, trying the known function
// types (the last one that matched first).
func (f *wasmFuncs) callRef(h *wasmFunc, args []goja.Value) goja.Value {
	js := f.js
	vm := js.rt.vm
	n := len(f.types)
	var convErr *goja.Exception
	for i := range n {
		ti := (h.matched + i) % n
		t := f.types[ti]
		in := make([]uint64, len(t.params))
		if ex := vm.Try(func() {
			for j, p := range t.params {
				in[j] = js.toWasm(api.ValueType(p), argument(args, j))
			}
		}); ex != nil {
			convErr = ex
			continue
		}
		caller := f.caller(t)
		js.call(nil, f.scratch.set, []uint64{0, h.ref})
		res, err := js.tryCall(nil, caller, in)
		if err != nil && strings.Contains(err.Error(), "indirect call type mismatch") {
			continue
		}
		if errors.Is(err, errWasmCPULimit) {
			delete(f.callers, t.key()) // closed with the call
		}
		if err != nil {
			panic(js.callError(err))
		}
		h.matched = ti
		switch len(t.results) {
		case 0:
			return goja.Undefined()
		case 1:
			return js.fromWasm(api.ValueType(t.results[0]), res[0])
		}
		out := make([]any, len(t.results))
		for j, r := range t.results {
			out[j] = js.fromWasm(api.ValueType(r), res[j])
		}
		return vm.NewArray(out...)
	}
	if convErr != nil {
		panic(convErr)
	}
	panic(js.throw(js.runtimeErr, "WebAssembly: the table's function has none of the %d function types of the modules instantiated", n))
}

func argument(args []goja.Value, i int) goja.Value {
	if i < len(args) {
		return args[i]
	}
	return goja.Undefined()
}

// caller returns the function that calls slot 0 of the scratch table as a
// function of type t, made at its first use.
func (f *wasmFuncs) caller(t wasmFuncType) api.Function {
	if fn := f.callers[t.key()]; fn != nil {
		return fn
	}
	js := f.js
	w := js.rt.w
	if f.scratch == nil {
		inst := js.instantiateGenerated(wasmTableModule(0x70, 1, nil), false, "WebAssembly funcref")
		f.scratch = js.tableRef(inst, inst, "table", 0x70)
	}
	m, err := w.wasm.compile(w, callerModule(t))
	if err != nil {
		panic(js.throw(js.runtimeErr, "WebAssembly funcref: %v", err))
	}
	ctx := experimental.WithImportResolver(w.ctx, func(string) api.Module { return f.scratch.src })
	inst, err := w.wasm.runtime(w).InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		panic(js.throw(js.runtimeErr, "WebAssembly funcref: %v", err))
	}
	goruntime.AddCleanup(f, func(m api.Module) { _ = m.Close(context.Background()) }, inst)
	fn := inst.ExportedFunction("call")
	f.callers[t.key()] = fn
	return fn
}

// funcType is the wasmFuncType of a function definition.
func funcType(def api.FunctionDefinition) wasmFuncType {
	return wasmFuncType{params: valueTypes(def.ParamTypes()), results: valueTypes(def.ResultTypes())}
}
