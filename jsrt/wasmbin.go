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
					sec.byte()
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
		case 7: // exports
			for n := sec.u32(); n > 0 && sec.err == nil; n-- {
				d := wasmDesc{Name: sec.name()}
				k := sec.byte()
				sec.u32()
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
	return imports, exports, nil
}
