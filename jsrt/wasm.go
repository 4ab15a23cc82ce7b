package jsrt

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dop251/goja"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// WebAssembly runs on wazero (pure Go; its compiler on amd64 and arm64).
// The Go side here owns compiling, instantiating and calling; the JS API
// (WebAssembly.Module, Instance, Memory, Global, the errors) is
// prelude/96_wasm.js over the natives installed by installWasm.

// maxCachedWasmModules bounds the Worker's cache of compiled modules, so
// code compiling ever new bytes cannot grow it without end (modules past
// the bound are compiled for each use and not kept).
const maxCachedWasmModules = 256

// wasmEngine is a Worker's WebAssembly engine: one wazero runtime shared by
// all its JS runtimes (wazero is safe for concurrent use), and the modules
// compiled so far by the SHA-256 of their bytes, so a module imported by the
// bundle compiles once and is instantiated by every runtime.
type wasmEngine struct {
	once sync.Once
	rt   wazero.Runtime

	mu   sync.Mutex
	mods map[[32]byte]*wasmModule
	seq  atomic.Uint64 // names of host modules (imports), unique in rt
}

// wasmModule is a compiled module with its imports and exports.
type wasmModule struct {
	compiled wazero.CompiledModule
	imports  []wasmDesc
	exports  []wasmDesc
	funcs    map[string]api.FunctionDefinition // imported functions by module+"\x00"+name
	types    []wasmFuncType                    // the type section

	hostOnce sync.Once
	hosts    map[string]api.Module // hostModules
	hostErr  error
}

func (e *wasmEngine) runtime(w *Worker) wazero.Runtime {
	e.once.Do(func() {
		pages := uint32(min(w.cfg.MemoryLimit>>16, 65536))
		cfg := wazero.NewRuntimeConfig().
			WithCloseOnContextDone(true). // the CPU limit stops a runaway call
			WithMemoryLimitPages(max(pages, 1))
		e.rt = wazero.NewRuntimeWithConfig(w.ctx, cfg)
		e.mods = make(map[[32]byte]*wasmModule)
	})
	return e.rt
}

// close releases the engine's compiled code.
func (e *wasmEngine) close(ctx context.Context) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rt != nil {
		_ = e.rt.Close(ctx)
	}
}

// compile returns the module for bin, compiling it at its first use.
func (e *wasmEngine) compile(w *Worker, bin []byte) (*wasmModule, error) {
	r := e.runtime(w)
	key := sha256.Sum256(bin)
	e.mu.Lock()
	m := e.mods[key]
	e.mu.Unlock()
	if m != nil {
		return m, nil
	}
	imports, exports, err := wasmSections(bin)
	if err != nil {
		return nil, err
	}
	compiled, err := r.CompileModule(w.ctx, bin)
	if err != nil {
		return nil, err
	}
	m = &wasmModule{compiled: compiled, imports: imports, exports: exports, funcs: make(map[string]api.FunctionDefinition), types: wasmFuncTypes(bin)}
	for _, def := range compiled.ImportedFunctions() {
		mod, name, _ := def.Import()
		m.funcs[mod+"\x00"+name] = def
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if old := e.mods[key]; old != nil {
		_ = compiled.Close(w.ctx)
		return old, nil
	}
	if len(e.mods) < maxCachedWasmModules {
		e.mods[key] = m
	}
	return m, nil
}

// wasmHostError carries a JS exception thrown by an imported function out
// through the wasm frames to the JS that called the export.
type wasmHostError struct{ err error }

func (e *wasmHostError) Error() string { return e.err.Error() }
func (e *wasmHostError) Unwrap() error { return e.err }

// wasmJS is the JS side of one runtime: the prelude's constructors, which
// the natives use to wrap what they return and to throw the right errors.
type wasmJS struct {
	rt                                  *runtime
	compileError, linkError, runtimeErr goja.Value
	wrapMemory, wrapGlobal, wrapTable   goja.Callable
	refs                                *wasmRefs
	funcs                               *wasmFuncs // funcrefs (wasmfuncref.go)
}

// installWasm installs the natives behind WebAssembly (prelude/96_wasm.js).
func (rt *runtime) installWasm() error {
	vm := rt.vm
	js := &wasmJS{rt: rt, refs: newWasmRefs()}
	js.funcs = newWasmFuncs(js)
	n := vm.NewObject()
	set := func(name string, fn func(goja.FunctionCall) goja.Value) {
		_ = n.Set(name, fn)
	}
	set("init", func(c goja.FunctionCall) goja.Value {
		hooks := c.Argument(0).ToObject(vm)
		js.compileError = hooks.Get("CompileError")
		js.linkError = hooks.Get("LinkError")
		js.runtimeErr = hooks.Get("RuntimeError")
		js.wrapMemory, _ = goja.AssertFunction(hooks.Get("wrapMemory"))
		js.wrapGlobal, _ = goja.AssertFunction(hooks.Get("wrapGlobal"))
		js.wrapTable, _ = goja.AssertFunction(hooks.Get("wrapTable"))
		return goja.Undefined()
	})
	set("compile", func(c goja.FunctionCall) goja.Value {
		m, err := rt.w.wasm.compile(rt.w, wasmBytes(vm, c.Argument(0)))
		if err != nil {
			panic(js.throw(js.compileError, "WebAssembly.Module(): %v", err))
		}
		return vm.ToValue(&wasmModuleRef{m})
	})
	set("descriptors", func(c goja.FunctionCall) goja.Value {
		m := moduleRef(vm, c.Argument(0))
		list := m.exports
		if c.Argument(1).ToBoolean() {
			list = m.imports
		}
		out := make([]any, len(list))
		for i, d := range list {
			o := vm.NewObject()
			if c.Argument(1).ToBoolean() {
				_ = o.Set("module", d.Module)
			}
			_ = o.Set("name", d.Name)
			_ = o.Set("kind", d.Kind)
			out[i] = o
		}
		return vm.NewArray(out...)
	})
	set("instantiate", func(c goja.FunctionCall) goja.Value {
		return js.instantiate(moduleRef(vm, c.Argument(0)), c.Argument(1), c.Argument(2))
	})
	set("newMemory", func(c goja.FunctionCall) goja.Value {
		return js.newMemory(c.Argument(0).ToInteger(), c.Argument(1))
	})
	set("memoryBuffer", func(c goja.FunctionCall) goja.Value {
		return vm.ToValue(memRef(vm, c.Argument(0)).buffer(vm))
	})
	set("memoryGrow", func(c goja.FunctionCall) goja.Value {
		ref := memRef(vm, c.Argument(0))
		delta := c.Argument(1).ToInteger()
		if delta < 0 || delta > math.MaxUint32 {
			panic(vm.NewTypeError("WebAssembly.Memory.grow(): delta must be a non-negative page count"))
		}
		old, ok := ref.mem.Grow(uint32(delta))
		if !ok {
			panic(vm.NewGoError(fmt.Errorf("WebAssembly.Memory.grow(): cannot grow by %d pages (maximum reached)", delta)))
		}
		ref.detach()
		return vm.ToValue(old)
	})
	set("newGlobal", func(c goja.FunctionCall) goja.Value {
		return js.newGlobal(c.Argument(0).String(), c.Argument(1).ToBoolean(), c.Argument(2))
	})
	set("newTable", func(c goja.FunctionCall) goja.Value {
		return js.newTable(c.Argument(0).String(), c.Argument(1).ToInteger(), c.Argument(2), c.Argument(3))
	})
	set("globalGet", func(c goja.FunctionCall) goja.Value {
		ref, _ := c.Argument(0).Export().(*wasmGlobalRef)
		g := globalRef(vm, c.Argument(0))
		return js.fromWasmKeep(g.Type(), g.Get(), ref)
	})
	set("globalSet", func(c goja.FunctionCall) goja.Value {
		g := globalRef(vm, c.Argument(0))
		mg, ok := g.(api.MutableGlobal)
		if !ok {
			panic(vm.NewTypeError("WebAssembly.Global: cannot set the value of an immutable global"))
		}
		mg.Set(js.toWasm(g.Type(), c.Argument(1)))
		return goja.Undefined()
	})
	set("tableLength", func(c goja.FunctionCall) goja.Value {
		t := tableRef(vm, c.Argument(0))
		return vm.ToValue(uint32(js.call(nil, t.size, nil)[0]))
	})
	set("tableGrow", func(c goja.FunctionCall) goja.Value {
		t := tableRef(vm, c.Argument(0))
		delta := c.Argument(1).ToInteger()
		if delta < 0 || delta > math.MaxUint32 {
			panic(vm.NewTypeError("WebAssembly.Table.grow(): delta must be a non-negative count"))
		}
		old := int32(js.call(nil, t.grow, []uint64{js.toWasm(t.elem, c.Argument(2)), delta2u(delta)})[0])
		if old < 0 {
			panic(vm.NewGoError(fmt.Errorf("WebAssembly.Table.grow(): failed to grow table by %d", delta)))
		}
		return vm.ToValue(old)
	})
	set("tableGet", func(c goja.FunctionCall) goja.Value {
		t := tableRef(vm, c.Argument(0))
		return js.fromWasmKeep(t.elem, js.call(nil, t.get, []uint64{js.toWasm(api.ValueTypeI32, c.Argument(1))})[0], t)
	})
	set("tableSet", func(c goja.FunctionCall) goja.Value {
		t := tableRef(vm, c.Argument(0))
		js.call(nil, t.set, []uint64{js.toWasm(api.ValueTypeI32, c.Argument(1)), js.toWasm(t.elem, c.Argument(2))})
		return goja.Undefined()
	})
	set("globalType", func(c goja.FunctionCall) goja.Value {
		g := globalRef(vm, c.Argument(0))
		_, mutable := g.(api.MutableGlobal)
		o := vm.NewObject()
		_ = o.Set("value", api.ValueTypeName(g.Type()))
		_ = o.Set("mutable", mutable)
		return o
	})
	return rt.natives.Set("wasm", n)
}

// throw makes an error of the prelude's class ctor (falling back to Error).
func (js *wasmJS) throw(ctor goja.Value, format string, args ...any) goja.Value {
	msg := fmt.Sprintf(format, args...)
	vm := js.rt.vm
	if c, ok := ctor.(*goja.Object); ok {
		if v, err := vm.New(c, vm.ToValue(msg)); err == nil {
			return v
		}
	}
	return vm.NewGoError(errors.New(msg))
}

// wasmModuleRef, wasmMemoryRef and wasmGlobalRef are the opaque handles the
// prelude keeps in private fields; they have no exported fields or methods,
// so goja shows JS nothing of them.
type wasmModuleRef struct{ m *wasmModule }

type wasmMemoryRef struct {
	owner any // what keeps the memory alive (*wasmInstance, api.Module)
	mem   api.Memory
	src   api.Module // the module that exports it, as name (for imports)
	name  string
	ab    *goja.ArrayBuffer // the current buffer, while the size is unchanged
	len   uint32
}

type wasmGlobalRef struct {
	owner any // what keeps the global alive (*wasmInstance, api.Module)
	g     api.Global
	src   api.Module // the module that exports it, as name (for imports)
	name  string
}

func moduleRef(vm *goja.Runtime, v goja.Value) *wasmModule {
	if r, ok := v.Export().(*wasmModuleRef); ok {
		return r.m
	}
	panic(vm.NewTypeError("not a WebAssembly.Module"))
}

func memRef(vm *goja.Runtime, v goja.Value) *wasmMemoryRef {
	if r, ok := v.Export().(*wasmMemoryRef); ok {
		return r
	}
	panic(vm.NewTypeError("not a WebAssembly.Memory"))
}

func globalRef(vm *goja.Runtime, v goja.Value) api.Global {
	if r, ok := v.Export().(*wasmGlobalRef); ok {
		return r.g
	}
	panic(vm.NewTypeError("not a WebAssembly.Global"))
}

// buffer returns an ArrayBuffer over the memory's bytes (shared, not
// copied). A memory that grew gets a new one and the old one is detached,
// as the JS API specifies.
func (r *wasmMemoryRef) buffer(vm *goja.Runtime) goja.ArrayBuffer {
	size := r.mem.Size()
	if r.ab != nil && r.len == size {
		return *r.ab
	}
	r.detach()
	b, _ := r.mem.Read(0, size)
	ab := vm.NewArrayBuffer(b)
	r.ab, r.len = &ab, size
	return ab
}

func (r *wasmMemoryRef) detach() {
	if r.ab != nil && r.len != r.mem.Size() {
		r.ab.Detach()
		r.ab = nil
	}
}

// wasmBytes copies the bytes of an ArrayBuffer or a view of one.
func wasmBytes(vm *goja.Runtime, v goja.Value) []byte {
	switch b := v.Export().(type) {
	case goja.ArrayBuffer:
		return append([]byte(nil), b.Bytes()...)
	case []byte:
		return append([]byte(nil), b...)
	}
	if o, ok := v.(*goja.Object); ok {
		if buf, ok := o.Get("buffer").Export().(goja.ArrayBuffer); ok {
			off, n := o.Get("byteOffset").ToInteger(), o.Get("byteLength").ToInteger()
			all := buf.Bytes()
			if off >= 0 && n >= 0 && off+n <= int64(len(all)) {
				return append([]byte(nil), all[off:off+n]...)
			}
		}
	}
	panic(vm.NewTypeError("WebAssembly: the argument must be a BufferSource (ArrayBuffer or typed array)"))
}

// callCtx bounds a call into wasm by the CPU limit: wazero stops the
// instance when the context ends (WithCloseOnContextDone).
func (js *wasmJS) callCtx(b *wasmBinding) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(js.rt.w.ctx, js.rt.w.cfg.CPULimit)
	return context.WithValue(ctx, wasmBindingKey{}, b), cancel
}

// wasmBinding is what the imports of one instance call: the JS functions
// given for its function imports (by import index) on the runtime that
// instantiated it. It travels in the context of every call into the
// instance, so the host modules of a Worker's module are shared by all its
// instances in all runtimes.
type wasmBinding struct {
	js   *wasmJS
	fns  []goja.Callable
	mems []*wasmMemoryRef // the instance's exported memories
}

// sync detaches the buffers of memories that wasm grew (memory.grow in
// wasm code), so JS that cached a view sees byteLength 0 and takes the
// buffer again, as wasm-bindgen's glue does. It runs whenever control
// passes from wasm to JS.
func (b *wasmBinding) sync() {
	if b == nil {
		return
	}
	for _, m := range b.mems {
		m.detach()
	}
}

type wasmBindingKey struct{}

// hostModules returns the host modules providing m's function imports,
// one per import module name, made at the first instantiation of m.
func (m *wasmModule) hostModules(w *Worker) (map[string]api.Module, error) {
	m.hostOnce.Do(func() {
		r := w.wasm.runtime(w)
		builders := make(map[string]wazero.HostModuleBuilder)
		var order []string
		for i, d := range m.imports {
			if d.Kind != "function" {
				continue
			}
			def := m.funcs[d.Module+"\x00"+d.Name]
			b := builders[d.Module]
			if b == nil {
				b = r.NewHostModuleBuilder(fmt.Sprintf("cairn.import.%d", w.wasm.seq.Add(1)))
				builders[d.Module] = b
				order = append(order, d.Module)
			}
			b.NewFunctionBuilder().
				WithGoModuleFunction(hostFunc(i, def.ParamTypes(), def.ResultTypes()), def.ParamTypes(), def.ResultTypes()).
				Export(d.Name)
		}
		m.hosts = make(map[string]api.Module, len(order))
		for _, name := range order {
			// Compiled and instantiated by hand rather than with
			// Instantiate, whose wrapper the import resolver refuses.
			compiled, err := builders[name].Compile(w.ctx)
			if err != nil {
				m.hostErr = err
				return
			}
			h, err := r.InstantiateModule(w.ctx, compiled, wazero.NewModuleConfig().WithName(compiled.Name()))
			if err != nil {
				m.hostErr = err
				return
			}
			m.hosts[name] = h
		}
	})
	return m.hosts, m.hostErr
}

// instantiate links m with the values the prelude looked up in the import
// object (one per import, in order) and returns the exports object.
// originals are the import values as JS gave them (the Memory objects,
// where values holds their handles).
func (js *wasmJS) instantiate(m *wasmModule, values, originals goja.Value) goja.Value {
	vm := js.rt.vm
	w := js.rt.w
	r := w.wasm.runtime(w)
	vals, _ := values.Export().([]any)
	arr, _ := values.(*goja.Object)
	if len(vals) != len(m.imports) || arr == nil {
		panic(vm.NewTypeError("WebAssembly.Instance(): import values do not match the module's imports"))
	}
	binding := &wasmBinding{js: js, fns: make([]goja.Callable, len(m.imports))}
	var sources []*wasmSource // memories, tables and globals, by import index
	imported := make(map[api.Memory]goja.Value)
	for i, d := range m.imports {
		v := arr.Get(fmt.Sprint(i))
		switch d.Kind {
		case "function":
			fn, ok := goja.AssertFunction(v)
			if !ok {
				panic(js.throw(js.linkError, "WebAssembly.Instance(): Import #%d %q %q: function import requires a callable", i, d.Module, d.Name))
			}
			binding.fns[i] = fn
		case "memory", "table", "global":
			if sources == nil {
				sources = make([]*wasmSource, len(m.imports))
			}
			sources[i] = js.importSource(i, d, v)
			if mem, ok := sources[i].keep.(*wasmMemoryRef); ok {
				binding.mems = append(binding.mems, mem)
				if o, ok := originals.(*goja.Object); ok {
					imported[mem.mem] = o.Get(fmt.Sprint(i))
				}
			}
		default:
			panic(js.throw(js.linkError, "WebAssembly.Instance(): Import #%d %q %q: importing a %s is not supported by cairn yet", i, d.Module, d.Name, d.Kind))
		}
	}
	hosts, err := m.hostModules(w)
	if err != nil {
		panic(js.throw(js.linkError, "WebAssembly.Instance(): %v", err))
	}
	resolve := func(name string) api.Module { return hosts[name] }
	var linkers []api.Module
	if sources != nil {
		byName := js.link(m, hosts, sources)
		linkers = slices.Collect(maps.Values(byName))
		resolve = func(name string) api.Module {
			if l := byName[name]; l != nil {
				return l
			}
			return hosts[name]
		}
	}
	// The start function runs during instantiation, bounded like a call.
	ctx, cancel := js.callCtx(binding)
	defer cancel()
	ctx = experimental.WithImportResolver(ctx, resolve)
	inst, err := r.InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		closeModules(linkers)
		var he *wasmHostError
		if errors.As(err, &he) {
			panic(he.err)
		}
		msg, _, _ := strings.Cut(err.Error(), "\n")
		panic(js.throw(js.linkError, "WebAssembly.Instance(): %s", msg))
	}
	handle := &wasmInstance{mod: inst, binding: binding, imports: sources}
	js.funcs.addTypes(m.types)
	// The instance's wasm memory is freed when JS no longer reaches it:
	// every export holds the handle.
	goruntime.AddCleanup(handle, closeModules, append([]api.Module{inst}, linkers...))
	exports := vm.NewObject()
	_ = exports.SetPrototype(nil)
	for _, d := range m.exports {
		var v goja.Value = goja.Undefined()
		switch d.Kind {
		case "function":
			v = js.exportFunc(handle, inst.ExportedFunction(d.Name), d.Name)
		case "memory":
			v = js.memory(handle, d.Name)
			if imp := imported[inst.ExportedMemory(d.Name)]; imp != nil {
				v = imp // the Memory object imported, exported again
			}
		case "table":
			v = js.table(handle, inst, d.Name, d.Elem)
		case "global":
			g, err := js.wrapGlobal(goja.Undefined(), vm.ToValue(&wasmGlobalRef{owner: handle, g: inst.ExportedGlobal(d.Name), src: inst, name: d.Name}))
			if err != nil {
				panic(err)
			}
			v = g
		}
		_ = exports.DefineDataProperty(d.Name, v, goja.FLAG_FALSE, goja.FLAG_TRUE, goja.FLAG_TRUE)
	}
	return exports
}

// wasmInstance is an instance with its imports; what JS holds of it
// (exported functions, memories, globals) refers to it, and a cleanup
// closes the instance once it is unreachable.
type wasmInstance struct {
	mod     api.Module
	binding *wasmBinding
	imports []*wasmSource // keeps what it imports alive
}

// wasmTableRef is the handle of a table: the functions of its accessor
// module (tableAccessor) instantiated against the module that exports it.
type wasmTableRef struct {
	owner                any // what keeps the table alive (*wasmInstance, api.Module)
	src                  api.Module
	name                 string
	elem                 api.ValueType
	size, grow, get, set api.Function
}

// table returns the JS Table of the table src exports as name; owner
// keeps src alive.
func (js *wasmJS) table(owner any, src api.Module, name string, elem byte) goja.Value {
	v, err := js.wrapTable(goja.Undefined(), js.rt.vm.ToValue(js.tableRef(owner, src, name, elem)))
	if err != nil {
		panic(err)
	}
	return v
}

func (js *wasmJS) tableRef(owner any, src api.Module, name string, elem byte) *wasmTableRef {
	w := js.rt.w
	m, err := w.wasm.compile(w, tableAccessor(name, elem))
	if err != nil {
		panic(js.throw(js.linkError, "WebAssembly.Instance(): table %q: %v", name, err))
	}
	ctx := experimental.WithImportResolver(w.ctx, func(string) api.Module { return src })
	acc, err := w.wasm.runtime(w).InstantiateModule(ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		panic(js.throw(js.linkError, "WebAssembly.Instance(): table %q: %v", name, err))
	}
	ref := &wasmTableRef{owner: owner, src: src, name: name, elem: api.ValueType(elem),
		size: acc.ExportedFunction("size"), grow: acc.ExportedFunction("grow"),
		get: acc.ExportedFunction("get"), set: acc.ExportedFunction("set")}
	goruntime.AddCleanup(ref, func(m api.Module) { _ = m.Close(context.Background()) }, acc)
	return ref
}

func tableRef(vm *goja.Runtime, v goja.Value) *wasmTableRef {
	if r, ok := v.Export().(*wasmTableRef); ok {
		return r
	}
	panic(vm.NewTypeError("not a WebAssembly.Table"))
}

// memory returns the JS Memory of the memory exported as name.
func (js *wasmJS) memory(h *wasmInstance, name string) goja.Value {
	ref := &wasmMemoryRef{owner: h, mem: h.mod.ExportedMemory(name), src: h.mod, name: name}
	h.binding.mems = append(h.binding.mems, ref)
	v, err := js.wrapMemory(goja.Undefined(), js.rt.vm.ToValue(ref))
	if err != nil {
		panic(err)
	}
	return v
}

// newMemory makes a standalone memory (new WebAssembly.Memory): a module
// of one exported memory, generated and instantiated.
func (js *wasmJS) newMemory(initial int64, maximum goja.Value) goja.Value {
	vm := js.rt.vm
	if initial < 0 || initial > 65536 {
		panic(vm.NewTypeError("WebAssembly.Memory(): initial must be between 0 and 65536 pages"))
	}
	// (module (memory (export "memory") initial [maximum]))
	lim := []byte{0x00}
	lim = appendU32(lim, uint32(initial))
	if !goja.IsUndefined(maximum) {
		mx := maximum.ToInteger()
		if mx < initial || mx > 65536 {
			panic(vm.NewTypeError("WebAssembly.Memory(): maximum must be between initial and 65536 pages"))
		}
		lim[0] = 0x01
		lim = appendU32(lim, uint32(mx))
	}
	memSec := append([]byte{0x01}, lim...)
	expSec := []byte{0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00}
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = append(appendU32(append(bin, 5), uint32(len(memSec))), memSec...)
	bin = append(appendU32(append(bin, 7), uint32(len(expSec))), expSec...)
	w := js.rt.w
	m, err := w.wasm.compile(w, bin)
	if err != nil {
		panic(js.throw(js.runtimeErr, "WebAssembly.Memory(): %v", err))
	}
	inst, err := w.wasm.runtime(w).InstantiateModule(w.ctx, m.compiled, wazero.NewModuleConfig().WithName(""))
	if err != nil {
		panic(js.throw(js.runtimeErr, "WebAssembly.Memory(): %v", err))
	}
	ref := &wasmMemoryRef{owner: inst, mem: inst.ExportedMemory("memory"), src: inst, name: "memory"}
	goruntime.AddCleanup(ref, func(m api.Module) { _ = m.Close(context.Background()) }, inst)
	return vm.ToValue(ref)
}

func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// exportFunc wraps an exported wasm function as a JS function.
func (js *wasmJS) exportFunc(h *wasmInstance, fn api.Function, name string) goja.Value {
	vm := js.rt.vm
	def := fn.Definition()
	params, results := def.ParamTypes(), def.ResultTypes()
	f := vm.ToValue(func(c goja.FunctionCall) goja.Value {
		args := make([]uint64, len(params))
		for i, t := range params {
			args[i] = js.toWasm(t, c.Argument(i))
		}
		res := js.call(h.binding, fn, args)
		switch len(results) {
		case 0:
			return goja.Undefined()
		case 1:
			return js.fromWasmKeep(results[0], res[0], h)
		}
		out := make([]any, len(results))
		for i, t := range results {
			out[i] = js.fromWasmKeep(t, res[i], h)
		}
		return vm.NewArray(out...)
	}).(*goja.Object)
	// As in V8: an exported function is named by its function index.
	_ = f.DefineDataProperty("name", vm.ToValue(fmt.Sprint(def.Index())), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	_ = f.DefineDataProperty("length", vm.ToValue(len(params)), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	js.funcs.tag(f, &wasmFunc{mod: h.mod, name: name, typ: funcType(def), keep: h})
	return f
}

// call runs fn, turning a trap into a WebAssembly.RuntimeError and an
// exception of an imported JS function back into that exception.
func (js *wasmJS) call(b *wasmBinding, fn api.Function, args []uint64) []uint64 {
	res, err := js.tryCall(b, fn, args)
	if err != nil {
		panic(js.callError(err))
	}
	return res
}

// tryCall runs fn and returns its error as is.
func (js *wasmJS) tryCall(b *wasmBinding, fn api.Function, args []uint64) ([]uint64, error) {
	ctx, cancel := js.callCtx(b)
	defer cancel()
	res, err := fn.Call(ctx, args...)
	b.sync()
	if err != nil && ctx.Err() != nil && js.rt.w.ctx.Err() == nil {
		err = errWasmCPULimit
	}
	return res, err
}

// errWasmCPULimit is the error of a call stopped at the CPU limit.
var errWasmCPULimit = errors.New("WebAssembly call exceeded the CPU limit")

// callError is what to panic with (throw) for the error of a call into
// wasm: a JS exception of an imported function or an interrupt as is, a
// trap as a WebAssembly.RuntimeError.
func (js *wasmJS) callError(err error) any {
	var he *wasmHostError
	if errors.As(err, &he) {
		return he.err
	}
	if errors.Is(err, errWasmCPULimit) {
		return js.throw(js.runtimeErr, "WebAssembly call exceeded the CPU limit (%v); the instance is closed", js.rt.w.cfg.CPULimit)
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	msg = strings.TrimPrefix(msg, "wasm error: ")
	return js.throw(js.runtimeErr, "%s", msg)
}

// hostFunc is import number i as wazero calls it: on the goroutine of the
// wasm call, which is the runtime's loop, so it may run JS; the JS function
// is the one of the instance called (the binding in ctx).
func hostFunc(i int, params, results []api.ValueType) api.GoModuleFunc {
	return func(ctx context.Context, _ api.Module, stack []uint64) {
		b, _ := ctx.Value(wasmBindingKey{}).(*wasmBinding)
		if b == nil || b.fns[i] == nil {
			panic(errors.New("WebAssembly: import called outside a call from JS"))
		}
		b.sync()
		vm := b.js.rt.vm
		args := make([]goja.Value, len(params))
		for j, t := range params {
			args[j] = b.js.fromWasm(t, stack[j])
		}
		v, err := b.fns[i](goja.Undefined(), args...)
		if err != nil {
			panic(&wasmHostError{err})
		}
		// A value that does not convert throws to the caller of the export.
		if ex := vm.Try(func() { b.js.results(v, results, stack) }); ex != nil {
			panic(&wasmHostError{ex})
		}
	}
}

// results stores the value an imported function returned in stack.
func (js *wasmJS) results(v goja.Value, results []api.ValueType, stack []uint64) {
	vm := js.rt.vm
	switch len(results) {
	case 0:
	case 1:
		stack[0] = js.toWasm(results[0], v)
	default:
		o, ok := v.(*goja.Object)
		if !ok {
			panic(vm.NewTypeError("WebAssembly: an imported function with several results must return an array"))
		}
		for i, t := range results {
			stack[i] = js.toWasm(t, o.Get(fmt.Sprint(i)))
		}
	}
}

// toWasm converts a JS value to a wasm value of type t (ToInt32, ToBigInt64,
// ToNumber as the JS API does).
func (js *wasmJS) toWasm(t api.ValueType, v goja.Value) uint64 {
	vm := js.rt.vm
	switch t {
	case api.ValueTypeI32:
		return uint64(uint32(toInt32(v.ToFloat())))
	case api.ValueTypeI64:
		b, ok := v.Export().(*big.Int)
		if !ok {
			panic(vm.NewTypeError(fmt.Sprintf("Cannot convert %s to a BigInt", v.String())))
		}
		return new(big.Int).And(b, new(big.Int).SetUint64(math.MaxUint64)).Uint64()
	case api.ValueTypeF32:
		return api.EncodeF32(float32(v.ToFloat()))
	case api.ValueTypeF64:
		return api.EncodeF64(v.ToFloat())
	}
	if t == api.ValueTypeExternref {
		return js.refs.ref(v)
	}
	return js.funcs.toRef(v)
}

// toInt32 is ECMAScript's ToInt32: truncation modulo 2^32.
func toInt32(f float64) int32 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return int32(uint32(int64(math.Mod(math.Trunc(f), 1<<32))))
}

// fromWasm converts a wasm value of type t to JS.
func (js *wasmJS) fromWasm(t api.ValueType, x uint64) goja.Value {
	return js.fromWasmKeep(t, x, nil)
}

// fromWasmKeep is fromWasm for a value that came from keep (an instance,
// table or global), which a funcref's JS function keeps open.
func (js *wasmJS) fromWasmKeep(t api.ValueType, x uint64, keep any) goja.Value {
	vm := js.rt.vm
	switch t {
	case api.ValueTypeI32:
		return vm.ToValue(int32(uint32(x)))
	case api.ValueTypeI64:
		return vm.ToValue(big.NewInt(int64(x)))
	case api.ValueTypeF32:
		return vm.ToValue(float64(api.DecodeF32(x)))
	case api.ValueTypeF64:
		return vm.ToValue(api.DecodeF64(x))
	case api.ValueTypeExternref:
		return js.refs.value(x)
	}
	return js.funcs.fromRef(x, keep)
}

// wasmRefs gives JS values crossing into wasm as externref an id (wazero
// represents an externref as a number), and back. An object keeps its id;
// null is 0 (ref.null). The values stay referenced for the life of the
// runtime: wasm gives no signal when it drops a reference.
type wasmRefs struct {
	next uint64
	ids  map[*goja.Object]uint64
	vals map[uint64]goja.Value
}

// wasmUndefined is the id of undefined, the commonest value in
// wasm-bindgen's externref table after null.
const wasmUndefined = 1

func newWasmRefs() *wasmRefs {
	return &wasmRefs{next: wasmUndefined + 1, ids: make(map[*goja.Object]uint64), vals: make(map[uint64]goja.Value)}
}

func (r *wasmRefs) ref(v goja.Value) uint64 {
	switch {
	case v == nil || goja.IsNull(v):
		return 0
	case goja.IsUndefined(v):
		return wasmUndefined
	}
	o, isObj := v.(*goja.Object)
	if isObj {
		if id, ok := r.ids[o]; ok {
			return id
		}
	}
	id := r.next
	r.next++
	r.vals[id] = v
	if isObj {
		r.ids[o] = id
	}
	return id
}

func (r *wasmRefs) value(id uint64) goja.Value {
	switch id {
	case 0:
		return goja.Null()
	case wasmUndefined:
		return goja.Undefined()
	}
	if v, ok := r.vals[id]; ok {
		return v
	}
	return goja.Undefined()
}

func delta2u(d int64) uint64 { return uint64(uint32(d)) }
