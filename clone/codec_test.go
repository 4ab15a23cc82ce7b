package clone

import (
	"bytes"
	"errors"
	"math"
	"math/big"
	"slices"
	"testing"
)

func TestWriterLayout(t *testing.T) {
	tests := []struct {
		name  string
		write func(w *Writer)
		want  []byte
	}{
		{"empty", func(w *Writer) {}, []byte{1}},
		{"byte", func(w *Writer) { w.Byte(TagNull) }, []byte{1, 'n'}},
		{"uvarint", func(w *Writer) { w.Uvarint(300) }, []byte{1, 0xAC, 0x02}},
		{"varint", func(w *Writer) { w.Varint(-3) }, []byte{1, 5}},
		{"float64", func(w *Writer) { w.Float64(1.5) }, []byte{1, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}},
		{"str", func(w *Writer) { w.Str("hi") }, []byte{1, 2, 'h', 'i'}},
		{"bin", func(w *Writer) { w.Bin([]byte{7, 8}) }, []byte{1, 2, 7, 8}},
		{"utf16", func(w *Writer) { w.UTF16([]uint16{0xD800, 'a'}) }, []byte{1, 2, 0x00, 0xD8, 'a', 0}},
		{"bigint", func(w *Writer) { w.BigInt(big.NewInt(-258)) }, []byte{1, 1, 2, 1, 2}},
		{"bigint zero", func(w *Writer) { w.BigInt(new(big.Int)) }, []byte{1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter()
			tt.write(w)
			if got := w.Bytes(); !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}

func TestReader(t *testing.T) {
	w := NewWriter()
	w.Byte(TagArray)
	w.Uvarint(1 << 40)
	w.Varint(-1 << 50)
	w.Float64(math.Inf(-1))
	w.Str("héllo")
	w.Bin([]byte{1, 2, 3})
	w.UTF16([]uint16{0xDC00})
	w.BigInt(new(big.Int).Lsh(big.NewInt(-1), 100))
	w.Uvarint(2) // a count
	w.Byte(0)
	w.Byte(0)
	b := w.Bytes()

	r, err := NewReader(b)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, got, want any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if g, ok := got.(*big.Int); ok {
			if g.Cmp(want.(*big.Int)) != 0 {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
			return
		}
		if gb, ok := got.([]byte); ok {
			got = string(gb)
		}
		if gu, ok := got.([]uint16); ok {
			if !slices.Equal(gu, want.([]uint16)) {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
			return
		}
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	c, err := r.ReadByte()
	check("ReadByte", c, TagArray, err)
	u, err := r.Uvarint()
	check("Uvarint", u, uint64(1<<40), err)
	i, err := r.Varint()
	check("Varint", i, int64(-1<<50), err)
	f, err := r.Float64()
	check("Float64", f, math.Inf(-1), err)
	s, err := r.Str()
	check("Str", s, "héllo", err)
	bin, err := r.Bin()
	check("Bin", bin, "\x01\x02\x03", err)
	units, err := r.UTF16()
	check("UTF16", units, []uint16{0xDC00}, err)
	x, err := r.BigInt()
	check("BigInt", x, new(big.Int).Lsh(big.NewInt(-1), 100), err)
	if off := r.Offset(); off != len(b)-3 {
		t.Errorf("Offset = %d, want %d", off, len(b)-3)
	}
	n, err := r.Count()
	check("Count", n, 2, err)
	if r.Len() != 2 {
		t.Errorf("Len = %d, want 2", r.Len())
	}
}

// Every read of too little input fails with ErrCorrupt and consumes
// nothing; lengths larger than the input are refused before any allocation.
func TestReaderRejects(t *testing.T) {
	tests := []struct {
		name  string
		input []byte // after the version byte
		read  func(r *Reader) error
	}{
		{"byte", nil, func(r *Reader) error { _, err := r.ReadByte(); return err }},
		{"uvarint", []byte{0x80}, func(r *Reader) error { _, err := r.Uvarint(); return err }},
		{"uvarint overflow", bytes.Repeat([]byte{0xFF}, 11), func(r *Reader) error { _, err := r.Uvarint(); return err }},
		{"varint", []byte{0x80, 0x80}, func(r *Reader) error { _, err := r.Varint(); return err }},
		{"float64", []byte{1, 2, 3, 4, 5, 6, 7}, func(r *Reader) error { _, err := r.Float64(); return err }},
		{"count", []byte{3, 0, 0}, func(r *Reader) error { _, err := r.Count(); return err }},
		{"count huge", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, func(r *Reader) error { _, err := r.Count(); return err }},
		{"str", []byte{3, 'a', 'b'}, func(r *Reader) error { _, err := r.Str(); return err }},
		{"bin huge", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x0F}, func(r *Reader) error { _, err := r.Bin(); return err }},
		{"utf16 odd", []byte{2, 0, 0xD8, 0}, func(r *Reader) error { _, err := r.UTF16(); return err }},
		{"utf16 huge", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, func(r *Reader) error { _, err := r.UTF16(); return err }},
		{"bigint sign only", []byte{0}, func(r *Reader) error { _, err := r.BigInt(); return err }},
		{"bigint short", []byte{1, 2, 1}, func(r *Reader) error { _, err := r.BigInt(); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(append([]byte{Version}, tt.input...))
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.read(r); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
			if r.Len() != len(tt.input) {
				t.Errorf("consumed %d bytes on error", len(tt.input)-r.Len())
			}
		})
	}
	for _, b := range [][]byte{nil, {}, {0}, {2, 'n'}} {
		if _, err := NewReader(b); !errors.Is(err, ErrCorrupt) {
			t.Errorf("NewReader(% x) = %v, want ErrCorrupt", b, err)
		}
	}
}

func TestViewElemSize(t *testing.T) {
	tests := []struct {
		typ  string
		want int
	}{
		{"Uint8Array", 1}, {"Int16Array", 2}, {"Float32Array", 4}, {"BigUint64Array", 8},
		{"DataView", 1}, {"Float16Array", 0}, {"Array", 0}, {"", 0},
	}
	for _, tt := range tests {
		if got := ViewElemSize(tt.typ); got != tt.want {
			t.Errorf("ViewElemSize(%q) = %d, want %d", tt.typ, got, tt.want)
		}
	}
}
