package webapi

import (
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// InstallEncoding defines on natives the UTF-8 natives behind TextEncoder
// and TextDecoder (the classes are jsrt's prelude/05_platform.js), and on
// the global object atob and btoa:
//
//	utf8Encode(string) Uint8Array      lone surrogates become U+FFFD
//	utf8Decode(bufferSource, fatal, ignoreBOM) string
//	                                   WHATWG UTF-8; fatal throws a TypeError
//	utf8Complete(bufferSource) int     bytes a streaming decoder may decode now
func InstallEncoding(vm *goja.Runtime, natives *goja.Object) error {
	uint8, ok := goja.AssertConstructor(vm.Get("Uint8Array"))
	if !ok {
		return errors.New("webapi.InstallEncoding: no Uint8Array")
	}
	set := func(name string, fn func(goja.FunctionCall) goja.Value) error { return natives.Set(name, fn) }
	if err := set("utf8Encode", func(call goja.FunctionCall) goja.Value {
		u8, err := uint8(nil, vm.ToValue(vm.NewArrayBuffer(EncodeUTF8(call.Argument(0)))))
		if err != nil {
			panic(err)
		}
		return u8
	}); err != nil {
		return err
	}
	if err := set("utf8Decode", func(call goja.FunctionCall) goja.Value {
		b := ViewBytes(vm, call.Argument(0))
		fatal, ignoreBOM := call.Argument(1).ToBoolean(), call.Argument(2).ToBoolean()
		if !ignoreBOM && len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
			b = b[3:]
		}
		out, ok := DecodeUTF8(b, fatal)
		if !ok {
			panic(vm.NewTypeError("The encoded data was not valid for encoding utf-8"))
		}
		return vm.ToValue(out)
	}); err != nil {
		return err
	}
	// utf8Complete returns how many leading bytes of v form whole UTF-8
	// sequences, so a streaming decoder can hold back a split character.
	if err := set("utf8Complete", func(call goja.FunctionCall) goja.Value {
		return vm.ToValue(utf8Complete(ViewBytes(vm, call.Argument(0))))
	}); err != nil {
		return err
	}
	g := vm.GlobalObject()
	if err := g.Set("btoa", func(call goja.FunctionCall) goja.Value {
		s := call.Argument(0).String()
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xFF {
				panic(domException(vm, "The string to be encoded contains characters outside of the Latin1 range.", "InvalidCharacterError"))
			}
			b = append(b, byte(r))
		}
		return vm.ToValue(base64.StdEncoding.EncodeToString(b))
	}); err != nil {
		return err
	}
	return g.Set("atob", func(call goja.FunctionCall) goja.Value {
		// Forgiving base64: ASCII whitespace is ignored, padding optional.
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
				return -1
			}
			return r
		}, call.Argument(0).String())
		if len(s)%4 == 0 && strings.HasSuffix(s, "==") {
			s = s[:len(s)-2]
		} else if len(s)%4 == 0 && strings.HasSuffix(s, "=") {
			s = s[:len(s)-1]
		}
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil || len(s)%4 == 1 {
			panic(domException(vm, "The string to be decoded is not correctly encoded.", "InvalidCharacterError"))
		}
		runes := make([]rune, len(b))
		for i, c := range b {
			runes[i] = rune(c)
		}
		return vm.ToValue(string(runes))
	})
}

// EncodeUTF8 returns the UTF-8 encoding of the JS string form of v, with
// lone surrogates as U+FFFD (as TextEncoder does). goja holds a string either
// as ASCII bytes, returned as they are, or as UTF-16, which is encoded here
// in one pass: v.String() would go through a []rune and a Go string first.
func EncodeUTF8(v goja.Value) []byte {
	gs, ok := v.(goja.String)
	if !ok {
		// goja's ToString leaves an integer as it is, not a goja.String;
		// its Go string form is the same text, in UTF-8.
		if gs, ok = v.ToString().(goja.String); !ok {
			return []byte(v.String())
		}
	}
	n := gs.Length()
	if reflect.TypeOf(gs).Kind() == reflect.String { // goja's ASCII string
		return []byte(gs.String())
	}
	out := make([]byte, 0, n+n/2+4)
	rr := gs.Reader()
	for {
		r, _, err := rr.ReadRune()
		if err == io.EOF {
			return out
		}
		// A lone surrogate comes with an error and itself as r, which
		// AppendRune writes as U+FFFD.
		out = utf8.AppendRune(out, r)
	}
}

// utf8Decoder is the WHATWG Encoding Standard's UTF-8 decoder state: the
// code point being assembled, how many continuation bytes it still needs,
// and the range the next continuation byte must fall in (which rules out
// overlong forms, surrogates and values above U+10FFFF).
type utf8Decoder struct {
	cp           rune
	needed, seen int
	lower, upper byte
}

const (
	utf8Error = -1 // the byte ends an invalid sequence: emit U+FFFD
	utf8More  = -2 // the byte was consumed; the sequence needs more
	utf8Retry = -3 // invalid sequence ended before this byte: emit U+FFFD, then reprocess it
)

// step feeds one byte and returns a code point, or one of the utf8Error,
// utf8More and utf8Retry results.
func (d *utf8Decoder) step(c byte) rune {
	if d.needed == 0 {
		d.lower, d.upper = 0x80, 0xBF
		switch {
		case c < 0x80:
			return rune(c)
		case c >= 0xC2 && c <= 0xDF:
			d.needed, d.cp = 1, rune(c&0x1F)
		case c >= 0xE0 && c <= 0xEF:
			if c == 0xE0 {
				d.lower = 0xA0
			} else if c == 0xED {
				d.upper = 0x9F
			}
			d.needed, d.cp = 2, rune(c&0x0F)
		case c >= 0xF0 && c <= 0xF4:
			if c == 0xF0 {
				d.lower = 0x90
			} else if c == 0xF4 {
				d.upper = 0x8F
			}
			d.needed, d.cp = 3, rune(c&0x07)
		default:
			return utf8Error
		}
		return utf8More
	}
	if c < d.lower || c > d.upper {
		d.cp, d.needed, d.seen = 0, 0, 0
		return utf8Retry
	}
	d.lower, d.upper = 0x80, 0xBF
	d.cp = d.cp<<6 | rune(c&0x3F)
	d.seen++
	if d.seen < d.needed {
		return utf8More
	}
	cp := d.cp
	d.cp, d.needed, d.seen = 0, 0, 0
	return cp
}

// DecodeUTF8 decodes b as the WHATWG UTF-8 decoder does (TextDecoder): each
// maximal invalid subpart becomes one U+FFFD, or with fatal the result is
// ok=false. A BOM is kept.
func DecodeUTF8(b []byte, fatal bool) (string, bool) {
	if utf8.Valid(b) {
		return string(b), true
	}
	if fatal {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	var d utf8Decoder
	for i := 0; i < len(b); {
		if d.needed == 0 {
			// Copy the next run of valid sequences in one go.
			j := i
			for j < len(b) {
				r, n := utf8.DecodeRune(b[j:])
				if r == utf8.RuneError && n <= 1 {
					break
				}
				j += n
			}
			sb.Write(b[i:j])
			if i = j; i == len(b) {
				break
			}
		}
		switch r := d.step(b[i]); r {
		case utf8More:
			i++
		case utf8Error:
			sb.WriteRune(utf8.RuneError)
			i++
		case utf8Retry:
			sb.WriteRune(utf8.RuneError)
		default:
			sb.WriteRune(r)
			i++
		}
	}
	if d.needed != 0 {
		sb.WriteRune(utf8.RuneError) // truncated at the end
	}
	return sb.String(), true
}

// utf8Complete returns how many leading bytes of b to decode now when
// streaming: all of them, unless b ends with the valid beginning of a
// multi-byte sequence, which is held back for the next chunk. An incomplete
// sequence is at most 3 bytes and the decoder resynchronises on any byte, so
// only the tail is scanned.
func utf8Complete(b []byte) int {
	var d utf8Decoder
	start := -1
	for i := max(0, len(b)-3); i < len(b); {
		if d.needed == 0 {
			start = i
		}
		if d.step(b[i]) != utf8Retry {
			i++
		}
	}
	if d.needed != 0 {
		return start
	}
	return len(b)
}

// ViewBytes returns the bytes an ArrayBuffer, typed array or DataView
// covers (a WebIDL BufferSource), shared with it, not copied; nil for
// undefined or null. Anything else panics with a JS TypeError, so natives
// can call it on their arguments.
func ViewBytes(vm *goja.Runtime, v goja.Value) []byte {
	if v == nil || goja.IsUndefined(v) || goja.IsNull(v) {
		return nil
	}
	if ab, ok := v.Export().(goja.ArrayBuffer); ok {
		return ab.Bytes()
	}
	obj, ok := v.(*goja.Object)
	if !ok {
		panic(vm.NewTypeError("expected an ArrayBuffer or ArrayBufferView"))
	}
	// A typed array exports as a Go slice of its element type and converts
	// to []byte over the same memory, without property lookups.
	if t := obj.ExportType(); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() != reflect.Interface {
		var b []byte
		if err := vm.ExportTo(obj, &b); err == nil {
			return b
		}
	}
	ab, ok := obj.Get("buffer").Export().(goja.ArrayBuffer)
	if !ok {
		panic(vm.NewTypeError("expected an ArrayBuffer or ArrayBufferView"))
	}
	off := int(obj.Get("byteOffset").ToInteger())
	n := int(obj.Get("byteLength").ToInteger())
	all := ab.Bytes()
	if off < 0 || n < 0 || off+n > len(all) {
		panic(vm.NewTypeError("view out of bounds"))
	}
	return all[off : off+n]
}

// domException makes a DOMException (defined by the prelude; an Error with
// that name before it loads).
func domException(vm *goja.Runtime, msg, name string) goja.Value {
	if ctor, ok := goja.AssertConstructor(vm.Get("DOMException")); ok {
		if o, err := ctor(nil, vm.ToValue(msg), vm.ToValue(name)); err == nil {
			return o
		}
	}
	e, _ := vm.New(vm.Get("Error"), vm.ToValue(msg))
	_ = e.Set("name", name)
	return e
}
