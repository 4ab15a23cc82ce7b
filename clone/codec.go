package clone

import (
	"encoding/binary"
	"errors"
	"math"
	"math/big"
	"slices"
)

// Version is the first byte of every encoded value.
const Version = 1

// The tags, the first byte of every item (see the package documentation
// for their payloads).
const (
	TagUndefined   byte = 'u'
	TagNull        byte = 'n'
	TagTrue        byte = 't'
	TagFalse       byte = 'f'
	TagInt         byte = 'i' // integer number in ±2^53, zigzag varint
	TagFloat       byte = 'd' // any other number, float64
	TagBigInt      byte = 'g'
	TagString      byte = 's' // UTF-8
	TagUTF16       byte = 'w' // string holding a lone surrogate
	TagDate        byte = 'D'
	TagRegExp      byte = 'R'
	TagObject      byte = 'o'
	TagArray       byte = 'a'
	TagMap         byte = 'M'
	TagSet         byte = 'S'
	TagArrayBuffer byte = 'B'
	TagView        byte = 'V' // typed array or DataView
	TagError       byte = 'E'
	TagWrapper     byte = 'P' // String, Number, Boolean or BigInt object
	TagRef         byte = 'r' // back-reference to an object already read
	TagCapability  byte = 'X' // RPC only: a value passed by reference
	TagHost        byte = 'H' // RPC only: a platform object (Request, Headers, …)
)

// MaxDepth bounds nesting: encoders refuse deeper values and decoders
// reject them, so hostile input cannot exhaust the stack.
const MaxDepth = 2000

// ErrCorrupt is returned for input the encoder did not write.
var ErrCorrupt = errors.New("stored value is corrupt or from an unknown format")

// CloneError reports a value that cannot be cloned (a function, a symbol, a
// Promise, a Go type with no JS counterpart, …). In JS it is a DOMException
// named DataCloneError whose message is Msg.
type CloneError struct{ Msg string }

func (e *CloneError) Error() string { return e.Msg }

// viewElemSizes are the views the format knows, by constructor name.
var viewElemSizes = map[string]int{
	"Int8Array": 1, "Uint8Array": 1, "Uint8ClampedArray": 1, "Int16Array": 2,
	"Uint16Array": 2, "Int32Array": 4, "Uint32Array": 4, "Float32Array": 4,
	"Float64Array": 8, "BigInt64Array": 8, "BigUint64Array": 8, "DataView": 1,
}

// ViewElemSize returns the size in bytes of one element of the view type
// named typ ("Uint16Array": 2, "DataView": 1), or 0 if the format has no
// view of that name.
func ViewElemSize(typ string) int { return viewElemSizes[typ] }

// A Writer builds one encoded value: the version byte, then the items
// appended by its methods. Tags are written with Byte, their payloads with
// the other methods.
type Writer struct{ buf []byte }

// NewWriter returns a Writer holding just the version byte.
func NewWriter() *Writer {
	buf := make([]byte, 1, 64)
	buf[0] = Version
	return &Writer{buf: buf}
}

// Bytes returns the encoding written so far.
func (w *Writer) Bytes() []byte { return w.buf }

// Byte writes one byte: a tag, or the sign of a BigInt.
func (w *Writer) Byte(c byte) { w.buf = append(w.buf, c) }

// Uvarint writes n as an unsigned varint (counts, lengths, offsets,
// back-references).
func (w *Writer) Uvarint(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }

// Varint writes n as a zigzag varint (the payload of TagInt).
func (w *Writer) Varint(n int64) { w.buf = binary.AppendVarint(w.buf, n) }

// Float64 writes f as 8 bytes, little-endian (the payload of TagFloat and
// TagDate).
func (w *Writer) Float64(f float64) {
	w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(f))
}

// Str writes a string: its length in bytes, then its bytes.
func (w *Writer) Str(s string) {
	w.Uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

// Bin writes a byte string: its length, then b (the payload of
// TagArrayBuffer).
func (w *Writer) Bin(b []byte) {
	w.Uvarint(uint64(len(b)))
	w.buf = append(w.buf, b...)
}

// UTF16 writes UTF-16 code units: their count, then each as 2 bytes,
// little-endian (the payload of TagUTF16).
func (w *Writer) UTF16(units []uint16) {
	w.Uvarint(uint64(len(units)))
	for _, u := range units {
		w.buf = binary.LittleEndian.AppendUint16(w.buf, u)
	}
}

// BigInt writes x as a sign byte (1 if negative, else 0) and its magnitude,
// big-endian, as a byte string (the payload of TagBigInt).
func (w *Writer) BigInt(x *big.Int) {
	if x.Sign() < 0 {
		w.Byte(1)
	} else {
		w.Byte(0)
	}
	n := (x.BitLen() + 7) / 8
	w.Uvarint(uint64(n))
	w.buf = slices.Grow(w.buf, n)
	w.buf = w.buf[:len(w.buf)+n]
	x.FillBytes(w.buf[len(w.buf)-n:])
}

// A Reader reads the items of one encoded value. Every method returns
// ErrCorrupt, and consumes nothing, if the input ends too soon or a length
// exceeds what is left of it.
type Reader struct {
	buf []byte
	n   int // len of the input after the version byte
}

// NewReader returns a Reader positioned after b's version byte, or
// ErrCorrupt if b does not start with Version.
func NewReader(b []byte) (*Reader, error) {
	if len(b) == 0 || b[0] != Version {
		return nil, ErrCorrupt
	}
	return &Reader{buf: b[1:], n: len(b) - 1}, nil
}

// Len returns the number of bytes not yet read.
func (r *Reader) Len() int { return len(r.buf) }

// Offset returns the position of the next byte to read in the input
// (counting the version byte).
func (r *Reader) Offset() int { return 1 + r.n - len(r.buf) }

// ReadByte reads one byte: a tag, or the sign of a BigInt.
func (r *Reader) ReadByte() (byte, error) {
	if len(r.buf) == 0 {
		return 0, ErrCorrupt
	}
	c := r.buf[0]
	r.buf = r.buf[1:]
	return c, nil
}

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() (uint64, error) {
	n, k := binary.Uvarint(r.buf)
	if k <= 0 {
		return 0, ErrCorrupt
	}
	r.buf = r.buf[k:]
	return n, nil
}

// Varint reads a zigzag varint.
func (r *Reader) Varint() (int64, error) {
	n, k := binary.Varint(r.buf)
	if k <= 0 {
		return 0, ErrCorrupt
	}
	r.buf = r.buf[k:]
	return n, nil
}

// Count reads a count of items or bytes and checks it is plausible: no
// larger than the bytes left, since every item takes at least one.
func (r *Reader) Count() (int, error) {
	n, k := binary.Uvarint(r.buf)
	if k <= 0 || n > uint64(len(r.buf)-k) {
		return 0, ErrCorrupt
	}
	r.buf = r.buf[k:]
	return int(n), nil
}

// Float64 reads 8 bytes, little-endian, as a float64.
func (r *Reader) Float64() (float64, error) {
	if len(r.buf) < 8 {
		return 0, ErrCorrupt
	}
	f := math.Float64frombits(binary.LittleEndian.Uint64(r.buf))
	r.buf = r.buf[8:]
	return f, nil
}

// Bin reads a byte string. The result aliases the input.
func (r *Reader) Bin() ([]byte, error) {
	n, k := binary.Uvarint(r.buf)
	if k <= 0 || n > uint64(len(r.buf)-k) {
		return nil, ErrCorrupt
	}
	b := r.buf[k : k+int(n)]
	r.buf = r.buf[k+int(n):]
	return b, nil
}

// Str reads a string.
func (r *Reader) Str() (string, error) {
	b, err := r.Bin()
	return string(b), err
}

// UTF16 reads UTF-16 code units.
func (r *Reader) UTF16() ([]uint16, error) {
	n, k := binary.Uvarint(r.buf)
	if k <= 0 || n > uint64(len(r.buf)-k)/2 {
		return nil, ErrCorrupt
	}
	b := r.buf[k:]
	units := make([]uint16, n)
	for i := range units {
		units[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	r.buf = b[2*n:]
	return units, nil
}

// BigInt reads a sign byte and a magnitude. Any sign but 1 is
// non-negative.
func (r *Reader) BigInt() (*big.Int, error) {
	rest := r.buf
	sign, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	mag, err := r.Bin()
	if err != nil {
		r.buf = rest
		return nil, err
	}
	x := new(big.Int).SetBytes(mag)
	if sign == 1 {
		x.Neg(x)
	}
	return x, nil
}
