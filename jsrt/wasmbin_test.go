package jsrt

import (
	"errors"
	"os"
	"testing"
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
