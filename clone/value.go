package clone

import (
	"unicode/utf16"
	"unicode/utf8"
)

// Undefined is JS undefined (nil is null).
type Undefined struct{}

// InvalidDate is a Date whose time value is NaN (new Date(NaN)), which a
// time.Time cannot hold.
type InvalidDate struct{}

// Map is a JS Map: its entries in insertion order. Keys may be any value
// Unmarshal returns, so a Map is a list rather than a Go map.
type Map []Entry

// Entry is one key/value pair of a Map.
type Entry struct{ Key, Value any }

// Set is a JS Set: its values in insertion order.
type Set []any

// View is a typed array or a DataView: Length elements of type Type
// starting Offset bytes into Buffer, an ArrayBuffer. Views decoded from one
// ArrayBuffer share their Buffer (and with it their bytes), as in JS.
type View struct {
	Type   string // constructor name: "Uint8Array", "Float64Array", "DataView", …
	Buffer []byte // the whole ArrayBuffer
	Offset int    // in bytes
	Length int    // in elements (in bytes for a DataView)
}

// Bytes returns the part of v.Buffer the view covers (in the machine's
// byte order for multi-byte elements, little-endian on every platform
// cairn runs on). It panics if v does not fit in v.Buffer or v.Type is not
// a view type (ViewElemSize is 0), as Unmarshal never returns.
func (v View) Bytes() []byte {
	size := ViewElemSize(v.Type)
	if size == 0 {
		panic("clone: View of unknown type " + v.Type)
	}
	return v.Buffer[v.Offset : v.Offset+v.Length*size]
}

// Error is a JS Error (or TypeError, RangeError, … as Name says). A stack
// is carried as text.
type Error struct {
	Name    string // "Error", "TypeError", or a subclass's name
	Message string
	Stack   string // empty if none
}

// Error returns "Name: Message", as JS's Error.prototype.toString does.
func (e *Error) Error() string {
	switch {
	case e.Name == "":
		return e.Message
	case e.Message == "":
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// RegExp is a JS RegExp.
type RegExp struct{ Source, Flags string }

// Wrapper is a primitive wrapper object (new String("s"), new Number(1),
// new Boolean(false), Object(1n)) holding its primitive: a string, float64,
// bool or *big.Int.
type Wrapper struct{ Value any }

// Strings. A JS string is UTF-16 and may hold lone surrogates; a Go string
// holds bytes. Unmarshal returns a string holding a lone surrogate in WTF-8
// (the surrogate as its 3-byte generalized UTF-8 form, which is not valid
// UTF-8), so it round-trips through Marshal exactly.

// wtf8 returns units as a Go string: valid UTF-8 where units are valid
// UTF-16, each lone surrogate as its 3-byte WTF-8 form.
func wtf8(units []uint16) string {
	b := make([]byte, 0, len(units))
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if utf16.IsSurrogate(u) {
			if i+1 < len(units) {
				if r := utf16.DecodeRune(u, rune(units[i+1])); r != utf8.RuneError {
					b = utf8.AppendRune(b, r)
					i++
					continue
				}
			}
			b = append(b, 0xE0|byte(u>>12), 0x80|byte(u>>6)&0x3F, 0x80|byte(u)&0x3F)
			continue
		}
		b = utf8.AppendRune(b, u)
	}
	return string(b)
}

// utf16Units returns the UTF-16 code units of s read as WTF-8 (a byte
// invalid even there stands for U+FFFD) and whether they hold a lone
// surrogate.
func utf16Units(s string) (units []uint16, lone bool) {
	units = make([]uint16, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 && i+2 < len(s) && s[i] == 0xED && s[i+1]&0xE0 == 0xA0 && s[i+2]&0xC0 == 0x80 {
			// A surrogate, D800–DFFF: 1110_1101 101x_xxxx 10xx_xxxx.
			units = append(units, 0xD000|uint16(s[i+1]&0x3F)<<6|uint16(s[i+2]&0x3F))
			i += 3
			continue
		}
		units = utf16.AppendRune(units, r)
		i += size
	}
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		if !utf16.IsSurrogate(u) {
			continue
		}
		if u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] < 0xE000 {
			i++
			continue
		}
		lone = true
	}
	return units, lone
}
