package jsrt

import (
	"errors"
	"fmt"
)

// The WebAssembly JS API describes a module's imports and exports by kind
// (WebAssembly.Module.imports/exports), and instantiation needs the kind of
// every export, including globals and tables, which wazero's CompiledModule
// does not list. wasmSections reads them from the binary's import and
// export sections.

// wasmDesc is one import or export of a module.
type wasmDesc struct {
	Module string // imports only
	Name   string
	Kind   string // "function", "table", "memory", "global" or "tag"
	Elem   byte   // tables: the element type (0x70 funcref, 0x6f externref)
	// Imported globals: the value type (an api.ValueType) and mutability.
	Type    byte
	Mutable bool
}

// errWasmBinary is a module binary too short or malformed to read its
// import and export sections (wazero reports the details when compiling).
var errWasmBinary = errors.New("malformed WebAssembly binary")

var wasmKinds = [...]string{"function", "table", "memory", "global", "tag"}

// wasmReader reads the LEB128 and byte-vector encodings of the binary format.
type wasmReader struct {
	b   []byte
	off int
	err error
}

func (r *wasmReader) byte() byte {
	if r.err != nil || r.off >= len(r.b) {
		r.err = errWasmBinary
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *wasmReader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.err = errWasmBinary
	return 0
}

func (r *wasmReader) name() string {
	n := int(r.u32())
	if r.err != nil || n > len(r.b)-r.off {
		r.err = errWasmBinary
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

func (r *wasmReader) limits() {
	if flags := r.byte(); flags&1 != 0 {
		r.u32()
		r.u32()
		return
	}
	r.u32()
}

// wasmSections returns the imports and exports of a module binary in order.
func wasmSections(bin []byte) (imports, exports []wasmDesc, err error) {
	if len(bin) < 8 || string(bin[:4]) != "\x00asm" {
		return nil, nil, fmt.Errorf("%w: no \\0asm header", errWasmBinary)
	}
	r := &wasmReader{b: bin, off: 8}
	var tables []byte // element types by table index
	var exportTables []int
	for r.err == nil && r.off < len(bin) {
		id := r.byte()
		size := int(r.u32())
		if r.err != nil || size > len(bin)-r.off {
			return nil, nil, fmt.Errorf("%w: section %d overruns the binary", errWasmBinary, id)
		}
		end := r.off + size
		sec := &wasmReader{b: bin[:end], off: r.off}
		switch id {
		case 2: // imports
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				d := wasmDesc{Module: sec.name(), Name: sec.name()}
				k := sec.byte()
				switch k {
				case 0:
					sec.u32()
				case 1:
					d.Elem = sec.byte()
					tables = append(tables, d.Elem)
					sec.limits()
				case 2:
					sec.limits()
				case 3:
					d.Type = sec.byte()
					d.Mutable = sec.byte() == 1
				case 4:
					sec.byte()
					sec.u32()
				default:
					sec.err = errWasmBinary
				}
				if int(k) < len(wasmKinds) {
					d.Kind = wasmKinds[k]
				}
				imports = append(imports, d)
			}
		case 4: // tables
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				tables = append(tables, sec.byte())
				sec.limits()
			}
		case 7: // exports
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				d := wasmDesc{Name: sec.name()}
				k := sec.byte()
				if idx := int(sec.u32()); k == 1 {
					exportTables = append(exportTables, len(exports), idx)
				}
				if int(k) >= len(wasmKinds) {
					sec.err = errWasmBinary
					break
				}
				d.Kind = wasmKinds[k]
				exports = append(exports, d)
			}
		}
		if sec.err != nil {
			return nil, nil, fmt.Errorf("%w: section %d", errWasmBinary, id)
		}
		r.off = end
	}
	if r.err != nil {
		return nil, nil, r.err
	}
	for i := 0; i < len(exportTables); i += 2 {
		if idx := exportTables[i+1]; idx < len(tables) {
			exports[exportTables[i]].Elem = tables[idx]
		}
	}
	return imports, exports, nil
}

// tableAccessor returns a module importing the table exported as name
// (of element type elem) and exporting size, grow, get and set for it:
// wazero has no Go API for tables, so JS reaches one through wasm.
func tableAccessor(name string, elem byte) []byte {
	sec := func(bin []byte, id byte, body []byte) []byte {
		return append(appendU32(append(bin, id), uint32(len(body))), body...)
	}
	str := func(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = sec(bin, 1, []byte{4,
		0x60, 0, 1, 0x7f, // size: () -> i32
		0x60, 2, elem, 0x7f, 1, 0x7f, // grow: (ref, i32) -> i32
		0x60, 1, 0x7f, 1, elem, // get: (i32) -> ref
		0x60, 2, 0x7f, elem, 0, // set: (i32, ref) -> ()
	})
	imp := str([]byte{1}, "t")
	imp = str(imp, name)
	bin = sec(bin, 2, append(imp, 1, elem, 0, 0))
	bin = sec(bin, 3, []byte{4, 0, 1, 2, 3})
	exp := []byte{4}
	for i, n := range []string{"size", "grow", "get", "set"} {
		exp = append(str(exp, n), 0, byte(i))
	}
	bin = sec(bin, 7, exp)
	return sec(bin, 10, []byte{4,
		5, 0, 0xfc, 0x10, 0, 0x0b, // table.size 0
		9, 0, 0x20, 0, 0x20, 1, 0xfc, 0x0f, 0, 0x0b, // table.grow 0
		6, 0, 0x20, 0, 0x25, 0, 0x0b, // table.get 0
		8, 0, 0x20, 0, 0x20, 1, 0x26, 0, 0x0b, // table.set 0
	})
}

// appendSection appends the section id with body to a module binary.
func appendSection(bin []byte, id byte, body []byte) []byte {
	return append(appendU32(append(bin, id), uint32(len(body))), body...)
}

// appendName appends a name (a length-prefixed UTF-8 string).
func appendName(b []byte, s string) []byte { return append(appendU32(b, uint32(len(s))), s...) }

func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// wasmKind numbers the kinds of imports and exports in the binary format.
const (
	wasmKindFunc   = 0
	wasmKindTable  = 1
	wasmKindMemory = 2
	wasmKindGlobal = 3
)

// wasmReexport is one entry of a linking module (wasmLinker): what it
// imports, from where, and the name it exports it under.
type wasmReexport struct {
	from, name string // the module and the name imported
	as         string // the name exported
	kind       byte   // wasmKindFunc, …
	params     []byte // functions: parameter and result types
	results    []byte
	elem       byte // tables: the element type
	typ        byte // globals: the value type and mutability
	mutable    bool
}

// wasmLinker returns a module that imports each entry and exports it
// again under its new name. wazero resolves all the imports of one module
// name against one module instance; a module that imports functions (which
// the host module of the Worker provides) and a memory, table or global
// (each from the module that owns it) under one name, as Emscripten's
// "env" does, is linked against such a module.
func wasmLinker(entries []wasmReexport) []byte {
	var types, imports, exports []byte
	var nTypes uint32
	var count [4]uint32
	for _, e := range entries {
		imports = appendName(appendName(imports, e.from), e.name)
		imports = append(imports, e.kind)
		switch e.kind {
		case wasmKindFunc:
			types = append(appendU32(append(types, 0x60), uint32(len(e.params))), e.params...)
			types = append(appendU32(types, uint32(len(e.results))), e.results...)
			imports = appendU32(imports, nTypes)
			nTypes++
		case wasmKindTable:
			imports = append(imports, e.elem, 0x00, 0x00)
		case wasmKindMemory:
			imports = append(imports, 0x00, 0x00)
		case wasmKindGlobal:
			mut := byte(0)
			if e.mutable {
				mut = 1
			}
			imports = append(imports, e.typ, mut)
		}
		exports = append(appendName(exports, e.as), e.kind)
		exports = appendU32(exports, count[e.kind])
		count[e.kind]++
	}
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = appendSection(bin, 1, append(appendU32(nil, nTypes), types...))
	bin = appendSection(bin, 2, append(appendU32(nil, uint32(len(entries))), imports...))
	return appendSection(bin, 7, append(appendU32(nil, uint32(len(entries))), exports...))
}

// wasmGlobalModule returns a module of one global of type t exported as
// "global", initialized to init (the bits of the value as wazero keeps
// them; references start null).
func wasmGlobalModule(t byte, mutable bool, init uint64) []byte {
	body := []byte{1, t, 0}
	if mutable {
		body[2] = 1
	}
	switch t {
	case 0x7f: // i32
		body = appendS64(append(body, 0x41), int64(int32(uint32(init))))
	case 0x7e: // i64
		body = appendS64(append(body, 0x42), int64(init))
	case 0x7d: // f32
		body = append(body, 0x43, byte(init), byte(init>>8), byte(init>>16), byte(init>>24))
	case 0x7c: // f64
		body = append(body, 0x44)
		for i := range 8 {
			body = append(body, byte(init>>(8*i)))
		}
	default: // funcref, externref
		body = append(body, 0xd0, t)
	}
	body = append(body, 0x0b)
	bin := appendSection([]byte("\x00asm\x01\x00\x00\x00"), 6, body)
	return appendSection(bin, 7, append(appendName([]byte{1}, "global"), wasmKindGlobal, 0))
}

// wasmTableModule returns a module of one table exported as "table".
func wasmTableModule(elem byte, initial uint32, maximum *uint32) []byte {
	body := []byte{1, elem, 0}
	body = appendU32(body, initial)
	if maximum != nil {
		body[2] = 1
		body = appendU32(body, *maximum)
	}
	bin := appendSection([]byte("\x00asm\x01\x00\x00\x00"), 4, body)
	return appendSection(bin, 7, append(appendName([]byte{1}, "table"), wasmKindTable, 0))
}

// wasmFuncType is a function type: its parameter and result value types.
type wasmFuncType struct{ params, results []byte }

func (t wasmFuncType) key() string { return string(t.params) + "\x00" + string(t.results) }

// wasmFuncTypes returns the function types of a module binary's type
// section (as far as they are of the MVP's form; nil if unreadable).
func wasmFuncTypes(bin []byte) []wasmFuncType {
	if len(bin) < 8 {
		return nil
	}
	r := &wasmReader{b: bin, off: 8}
	for r.err == nil && r.off < len(bin) {
		id := r.byte()
		size := int(r.u32())
		if r.err != nil || size > len(bin)-r.off {
			return nil
		}
		if id != 1 {
			r.off += size
			continue
		}
		sec := &wasmReader{b: bin[:r.off+size], off: r.off}
		var types []wasmFuncType
		for n := sec.u32(); n > 0 && sec.err == nil; n-- {
			if sec.byte() != 0x60 {
				return types // a type of the GC proposal: not followed
			}
			vec := func() []byte {
				k := int(sec.u32())
				if sec.err != nil || k > len(sec.b)-sec.off {
					sec.err = errWasmBinary
					return nil
				}
				v := append([]byte(nil), sec.b[sec.off:sec.off+k]...)
				sec.off += k
				return v
			}
			t := wasmFuncType{params: vec(), results: vec()}
			if sec.err == nil {
				types = append(types, t)
			}
		}
		return types
	}
	return nil
}

// appendFuncType appends a function type (0x60 params results).
func appendFuncType(b []byte, t wasmFuncType) []byte {
	b = append(appendU32(append(b, 0x60), uint32(len(t.params))), t.params...)
	return append(appendU32(b, uint32(len(t.results))), t.results...)
}

// funcRefModule returns a module importing the function name (of type t)
// from module "f" and exporting "ref", which returns a funcref to it: how
// JS puts an exported function in a table (wazero has no Go API for it).
func funcRefModule(t wasmFuncType, name string) []byte {
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = appendSection(bin, 1, appendFuncType(appendFuncType([]byte{2}, t), wasmFuncType{results: []byte{0x70}}))
	bin = appendSection(bin, 2, append(appendName(appendName([]byte{1}, "f"), name), wasmKindFunc, 0))
	bin = appendSection(bin, 3, []byte{1, 1})
	bin = appendSection(bin, 7, append(appendName([]byte{1}, "ref"), wasmKindFunc, 1))
	bin = appendSection(bin, 9, []byte{1, 0x03, 0x00, 1, 0}) // declarative: ref.func 0 is allowed
	return appendSection(bin, 10, []byte{1, 4, 0, 0xd2, 0, 0x0b})
}

// callerModule returns a module importing the funcref table "t" "table"
// and exporting "call", of type t, which calls slot 0 of the table with
// its arguments (call_indirect, so a function of another type traps
// before it runs).
func callerModule(t wasmFuncType) []byte {
	bin := []byte("\x00asm\x01\x00\x00\x00")
	bin = appendSection(bin, 1, appendFuncType([]byte{1}, t))
	bin = appendSection(bin, 2, append(appendName(appendName([]byte{1}, "t"), "table"), wasmKindTable, 0x70, 0, 1))
	bin = appendSection(bin, 3, []byte{1, 0})
	bin = appendSection(bin, 7, append(appendName([]byte{1}, "call"), wasmKindFunc, 0))
	body := []byte{0} // no locals
	for i := range t.params {
		body = appendU32(append(body, 0x20), uint32(i)) // local.get i
	}
	body = append(body, 0x41, 0, 0x11, 0, 0, 0x0b) // i32.const 0; call_indirect 0 0
	return appendSection(bin, 10, append(appendU32([]byte{1}, uint32(len(body))), body...))
}
