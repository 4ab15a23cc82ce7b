package jsrt

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestWasmSections(t *testing.T) {
	calc, err := os.ReadFile("testdata/wasm/calc.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		bin              []byte
		imports, exports int
		firstExport      wasmDesc
		wantErr          error
	}{
		{"calc", calc, 2, 16, wasmDesc{Name: "memory", Kind: "memory"}, nil},
		{"empty module", []byte("\x00asm\x01\x00\x00\x00"), 0, 0, wasmDesc{}, nil},
		{"table accessor", tableAccessor("t", 0x6f), 1, 4, wasmDesc{Name: "size", Kind: "function"}, nil},
		{"no header", []byte("asm"), 0, 0, wasmDesc{}, errWasmBinary},
		{"section overruns", []byte("\x00asm\x01\x00\x00\x00\x07\x09\x01"), 0, 0, wasmDesc{}, errWasmBinary},
		{"truncated name", []byte("\x00asm\x01\x00\x00\x00\x07\x03\x01\x05a"), 0, 0, wasmDesc{}, errWasmBinary},
		{"bad export kind", []byte("\x00asm\x01\x00\x00\x00\x07\x05\x01\x01a\x09\x00"), 0, 0, wasmDesc{}, errWasmBinary},
		{"endless LEB128", []byte("\x00asm\x01\x00\x00\x00\x07\xff\xff\xff\xff\xff\xff"), 0, 0, wasmDesc{}, errWasmBinary},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imports, exports, err := wasmSections(tt.bin)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(imports) != tt.imports || len(exports) != tt.exports {
				t.Fatalf("%d imports %d exports, want %d %d", len(imports), len(exports), tt.imports, tt.exports)
			}
			if len(exports) > 0 && exports[0] != tt.firstExport {
				t.Errorf("first export %+v, want %+v", exports[0], tt.firstExport)
			}
		})
	}
	// The exported table's element type comes from the table section.
	_, exports, _ := wasmSections(calc)
	for _, d := range exports {
		if d.Name == "refs" && (d.Kind != "table" || d.Elem != 0x6f) {
			t.Errorf("refs = %+v, want an externref table", d)
		}
	}
}

// The binary readers take a Worker's bytes (new WebAssembly.Module): any
// input gets an answer or errWasmBinary, never a panic, and what they read
// from a valid module agrees with wazero.
func FuzzWasmSections(f *testing.F) {
	for _, name := range []string{"calc.wasm", "imports.wasm"} {
		bin, err := os.ReadFile("testdata/wasm/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(bin)
	}
	f.Add(tableAccessor("t", 0x70))
	f.Add(funcRefModule(wasmFuncType{params: []byte{0x7f}}, "f"))
	f.Fuzz(func(t *testing.T, bin []byte) {
		imports, exports, err := wasmSections(bin)
		if err != nil && !errors.Is(err, errWasmBinary) {
			t.Fatalf("error %v is not errWasmBinary", err)
		}
		for _, d := range append(imports, exports...) {
			if d.Kind == "" && err == nil {
				t.Fatalf("descriptor %+v without a kind", d)
			}
		}
		for _, ft := range wasmFuncTypes(bin) {
			_ = ft.key()
		}
	})
}

// The generated modules are valid: each reads back as built.
func TestWasmGeneratedModules(t *testing.T) {
	binop := wasmFuncType{params: []byte{0x7f, 0x7f}, results: []byte{0x7f}}
	max := uint32(3)
	tests := []struct {
		name             string
		bin              []byte
		imports, exports string // kinds
		types            int
	}{
		{"linker", wasmLinker([]wasmReexport{
			{from: "h", name: "log", as: "log", kind: wasmKindFunc, params: []byte{0x7f}},
			{from: "0", name: "memory", as: "memory", kind: wasmKindMemory},
			{from: "1", name: "table", as: "t", kind: wasmKindTable, elem: 0x70},
			{from: "2", name: "global", as: "g", kind: wasmKindGlobal, typ: 0x7e, mutable: true},
		}), "function memory table global", "function memory table global", 1},
		{"global i32", wasmGlobalModule(0x7f, false, uint64(uint32(0xffffffff))), "", "global", 0},
		{"global f64", wasmGlobalModule(0x7c, true, 0x400921fb54442d18), "", "global", 0},
		{"global externref", wasmGlobalModule(0x6f, true, 0), "", "global", 0},
		{"table", wasmTableModule(0x70, 2, &max), "", "table", 0},
		{"funcref", funcRefModule(binop, "add"), "function", "function", 2},
		{"caller", callerModule(binop), "table", "function", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imports, exports, err := wasmSections(tt.bin)
			if err != nil {
				t.Fatal(err)
			}
			kinds := func(ds []wasmDesc) string {
				var k []string
				for _, d := range ds {
					k = append(k, d.Kind)
				}
				return strings.Join(k, " ")
			}
			if kinds(imports) != tt.imports || kinds(exports) != tt.exports || len(wasmFuncTypes(tt.bin)) != tt.types {
				t.Errorf("imports %q exports %q types %d, want %q %q %d", kinds(imports), kinds(exports), len(wasmFuncTypes(tt.bin)), tt.imports, tt.exports, tt.types)
			}
			if _, err := wazero.NewRuntime(context.Background()).CompileModule(context.Background(), tt.bin); err != nil {
				t.Errorf("wazero: %v", err)
			}
		})
	}
}
