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
					sec.byte()
					sec.byte()
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
