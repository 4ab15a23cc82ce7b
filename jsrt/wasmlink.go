package jsrt

import (
	"context"
	"fmt"
	"maps"
	"math"
	goruntime "runtime"
	"slices"

	"github.com/dop251/goja"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Imported memories, tables and globals. wazero links an import by module
// name to one module instance and by field name to its export, and has no
// Go API to make a memory, table or global. So every memory, table and
// global JS holds lives in a module instance that exports it (the instance
// of a module, or a tiny generated module for new WebAssembly.Memory,
// Table and Global), and an instance importing some of them under a module
// name ("env") is linked against a generated module that imports each
// from its owner, and the functions from the Worker's host module, and
// exports them all under the names asked for (wasmLinker).

// wasmSource is where one memory, table or global import comes from: the
// module instance that exports it and the export's name, and the handle JS
// gave (kept alive as long as the importing instance).
type wasmSource struct {
	mod  api.Module
	name string
	keep any // *wasmMemoryRef, *wasmTableRef, *wasmGlobalRef
}

// importSource checks import number i, of descriptor d, against the value
// JS gave for it and returns where it comes from.
func (js *wasmJS) importSource(i int, d wasmDesc, v goja.Value) *wasmSource {
	fail := func(format string, args ...any) {
		panic(js.throw(js.linkError, "WebAssembly.Instance(): Import #%d %q %q: %s", i, d.Module, d.Name, fmt.Sprintf(format, args...)))
	}
	switch d.Kind {
	case "memory":
		ref, ok := v.Export().(*wasmMemoryRef)
		if !ok {
			fail("memory import must be a WebAssembly.Memory object")
		}
		return &wasmSource{ref.src, ref.name, ref}
	case "table":
		ref, ok := v.Export().(*wasmTableRef)
		if !ok {
			fail("table import requires a WebAssembly.Table")
		}
		if byte(ref.elem) != d.Elem {
			fail("imported table does not match the expected type")
		}
		return &wasmSource{ref.src, ref.name, ref}
	}
	// A global: a WebAssembly.Global of the same type and mutability, or,
	// for an immutable global, a number (a BigInt for i64) it is made of.
	ref, ok := v.Export().(*wasmGlobalRef)
	if !ok {
		if d.Mutable {
			fail("imported mutable global must be a WebAssembly.Global object")
		}
		if _, isObj := v.(*goja.Object); isObj && d.Type != byte(api.ValueTypeExternref) || goja.IsUndefined(v) && d.Type != byte(api.ValueTypeExternref) {
			fail("global import must be a number, valid Wasm reference, or WebAssembly.Global object")
		}
		var g goja.Value
		if ex := js.rt.vm.Try(func() { g = js.newGlobal(api.ValueTypeName(d.Type), false, v) }); ex != nil {
			fail("%s", ex.Value().String())
		}
		ref = g.Export().(*wasmGlobalRef)
	}
	_, mutable := ref.g.(api.MutableGlobal)
	if mutable != d.Mutable {
		fail("imported global does not match the expected mutability")
	}
	if byte(ref.g.Type()) != d.Type {
		fail("imported global does not match the expected type")
	}
	return &wasmSource{ref.src, ref.name, ref}
}

// link instantiates a linking module (wasmLinker) for every import module
// name of m under which a memory, table or global is imported, and returns
// them by the module name each stands for. sources holds the memory, table
// and global imports by import index.
func (js *wasmJS) link(m *wasmModule, hosts map[string]api.Module, sources []*wasmSource) map[string]api.Module {
	w := js.rt.w
	type linker struct {
		entries []wasmReexport
		names   map[string]bool       // exported so far
		from    map[string]api.Module // the owners of memories, tables and globals, by the names "0", "1", …
	}
	linkers := make(map[string]*linker)
	var order []string
	for i, src := range sources {
		if src != nil && linkers[m.imports[i].Module] == nil {
			linkers[m.imports[i].Module] = &linker{names: make(map[string]bool), from: make(map[string]api.Module)}
			order = append(order, m.imports[i].Module)
		}
	}
	for i, d := range m.imports {
		l := linkers[d.Module]
		if l == nil || l.names[d.Name] {
			continue
		}
		l.names[d.Name] = true
		e := wasmReexport{name: d.Name, as: d.Name}
		if src := sources[i]; src != nil {
			e.from, e.name = fmt.Sprint(len(l.from)), src.name
			l.from[e.from] = src.mod
		}
		switch d.Kind {
		case "function":
			def := m.funcs[d.Module+"\x00"+d.Name]
			e.from, e.kind = hosts[d.Module].Name(), wasmKindFunc
			e.params, e.results = valueTypes(def.ParamTypes()), valueTypes(def.ResultTypes())
		case "memory":
			e.kind = wasmKindMemory
		case "table":
			e.kind, e.elem = wasmKindTable, d.Elem
		case "global":
			e.kind, e.typ, e.mutable = wasmKindGlobal, d.Type, d.Mutable
		}
		l.entries = append(l.entries, e)
	}
	out := make(map[string]api.Module, len(order))
	for _, name := range order {
		l := linkers[name]
		compiled, err := w.wasm.compile(w, wasmLinker(l.entries))
		if err == nil {
			ctx := experimental.WithImportResolver(w.ctx, func(n string) api.Module {
				return l.from[n] // or nil: a host module, by its name in the runtime
			})
			var inst api.Module
			inst, err = w.wasm.runtime(w).InstantiateModule(ctx, compiled.compiled, wazero.NewModuleConfig().WithName(""))
			if err == nil {
				out[name] = inst
				continue
			}
		}
		closeModules(slices.Collect(maps.Values(out)))
		panic(js.throw(js.linkError, "WebAssembly.Instance(): linking the imports of %q: %v", name, err))
	}
	return out
}

func valueTypes(ts []api.ValueType) []byte {
	b := make([]byte, len(ts))
	for i, t := range ts {
		b[i] = byte(t)
	}
	return b
}

// closeModules closes module instances no longer reachable from JS.
func closeModules(ms []api.Module) {
	for _, m := range ms {
		_ = m.Close(context.Background())
	}
}

// wasmFuncref is the funcref value type, which package api does not name.
const wasmFuncref api.ValueType = 0x70

// wasmValueTypes are the value types of the JS API by their names.
var wasmValueTypes = map[string]api.ValueType{
	"i32": api.ValueTypeI32, "i64": api.ValueTypeI64, "f32": api.ValueTypeF32, "f64": api.ValueTypeF64,
	"externref": api.ValueTypeExternref, "anyfunc": wasmFuncref, "funcref": wasmFuncref,
}

// newGlobal makes a standalone global (new WebAssembly.Global) of the
// type named typ holding v (the type's default when v is undefined).
func (js *wasmJS) newGlobal(typ string, mutable bool, v goja.Value) goja.Value {
	vm := js.rt.vm
	t, ok := wasmValueTypes[typ]
	if !ok {
		panic(vm.NewTypeError("WebAssembly.Global(): Descriptor property 'value' must be a WebAssembly type"))
	}
	var bits uint64
	if !goja.IsUndefined(v) || t == api.ValueTypeExternref {
		bits = js.toWasm(t, v)
	}
	isRef := t == api.ValueTypeExternref || t == wasmFuncref
	if isRef && bits != 0 && !mutable {
		panic(vm.NewTypeError("WebAssembly.Global(): an immutable reference global holding a value is not supported by cairn yet"))
	}
	// The value is part of the module only if immutable (so a module per
	// value); mutable globals of a type share one compiled module.
	bin := wasmGlobalModule(byte(t), mutable, bits)
	if mutable {
		bin = wasmGlobalModule(byte(t), true, 0)
	}
	inst := js.instantiateGenerated(bin, !mutable, "WebAssembly.Global()")
	g := inst.ExportedGlobal("global")
	if mutable && bits != 0 {
		g.(api.MutableGlobal).Set(bits)
	}
	ref := &wasmGlobalRef{owner: inst, g: g, src: inst, name: "global"}
	goruntime.AddCleanup(ref, func(m api.Module) { _ = m.Close(context.Background()) }, inst)
	return vm.ToValue(ref)
}

// newTable makes a standalone table (new WebAssembly.Table) of element
// type elem, with its slots set to v.
func (js *wasmJS) newTable(elem string, initial int64, maximum, v goja.Value) goja.Value {
	vm := js.rt.vm
	t, ok := wasmValueTypes[elem]
	if !ok || (t != api.ValueTypeExternref && t != wasmFuncref) {
		panic(vm.NewTypeError("WebAssembly.Table(): Descriptor property 'element' must be a WebAssembly reference type"))
	}
	if initial < 0 || initial > 10000000 {
		panic(vm.NewTypeError("WebAssembly.Table(): Property 'initial': value is above the upper bound 10000000"))
	}
	var mx *uint32
	if !goja.IsUndefined(maximum) {
		n := maximum.ToInteger()
		if n < initial || n > math.MaxUint32 {
			panic(vm.NewTypeError("WebAssembly.Table(): Property 'maximum' must be at least 'initial'"))
		}
		m := uint32(n)
		mx = &m
	}
	inst := js.instantiateGenerated(wasmTableModule(byte(t), uint32(initial), mx), false, "WebAssembly.Table()")
	ref := js.tableRef(inst, inst, "table", byte(t))
	goruntime.AddCleanup(ref, func(m api.Module) { _ = m.Close(context.Background()) }, inst)
	if !goja.IsUndefined(v) && !goja.IsNull(v) {
		x := js.toWasm(t, v)
		for i := range uint32(initial) {
			js.call(nil, ref.set, []uint64{uint64(i), x})
		}
	}
	return vm.ToValue(ref)
}

// instantiateGenerated compiles and instantiates a generated module. A
// module made for one value (once) is not kept in the compile cache.
func (js *wasmJS) instantiateGenerated(bin []byte, once bool, what string) api.Module {
	w := js.rt.w
	r := w.wasm.runtime(w)
	var compiled wazero.CompiledModule
	if once {
		c, err := r.CompileModule(w.ctx, bin)
		if err != nil {
			panic(js.throw(js.runtimeErr, "%s: %v", what, err))
		}
		defer c.Close(w.ctx) // the instance keeps what it needs
		compiled = c
	} else {
		m, err := w.wasm.compile(w, bin)
		if err != nil {
			panic(js.throw(js.runtimeErr, "%s: %v", what, err))
		}
		compiled = m.compiled
	}
	inst, err := r.InstantiateModule(w.ctx, compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		panic(js.throw(js.runtimeErr, "%s: %v", what, err))
	}
	return inst
}
