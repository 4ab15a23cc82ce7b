package jsrt

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// installEncoding defines the UTF-8 natives behind TextEncoder and
// TextDecoder (prelude/05_platform.js) and the globals atob and btoa.
func installEncoding(vm *goja.Runtime, natives *goja.Object) error {
	uint8 := vm.Get("Uint8Array")
	set := func(name string, fn any) error { return natives.Set(name, fn) }
	if err := set("utf8Encode", func(s string) goja.Value {
		u8, err := vm.New(uint8, vm.ToValue(vm.NewArrayBuffer([]byte(s))))
		if err != nil {
			panic(err)
		}
		return u8
	}); err != nil {
		return err
	}
	if err := set("utf8Decode", func(v goja.Value, fatal, ignoreBOM bool) string {
		b := viewBytes(vm, v)
		if !ignoreBOM && len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
			b = b[3:]
		}
		if utf8.Valid(b) {
			return string(b)
		}
		if fatal {
			panic(vm.NewTypeError("The encoded data was not valid for encoding utf-8"))
		}
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}); err != nil {
		return err
	}
	// utf8Complete returns how many leading bytes of v form whole UTF-8
	// sequences, so a streaming decoder can hold back a split character.
	if err := set("utf8Complete", func(v goja.Value) int {
		b := viewBytes(vm, v)
		for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
			c := b[i]
			if c < 0x80 {
				return len(b)
			}
			if c >= 0xC0 { // start of a sequence: is it complete?
				need := 2
				if c >= 0xF0 {
					need = 4
				} else if c >= 0xE0 {
					need = 3
				}
				if len(b)-i < need {
					return i
				}
				return len(b)
			}
		}
		return len(b)
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

// viewBytes returns the bytes an ArrayBuffer, typed array or DataView
// covers (shared, not copied).
func viewBytes(vm *goja.Runtime, v goja.Value) []byte {
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
