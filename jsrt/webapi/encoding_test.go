package webapi

import (
	"testing"
	"unicode/utf8"
)

func TestDecodeUTF8(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"abc", "abc"},
		{"héllo", "héllo"},
		{"\ufeffa", "\ufeffa"}, // the BOM is the caller's business
		{"\xff", "\uFFFD"},
		{"\xe2\x82", "\uFFFD"},   // truncated at the end
		{"\xe2\x82a", "\uFFFDa"}, // one U+FFFD per maximal subpart
		{"a\xf4\x90\x80\x80b", "a\uFFFD\uFFFD\uFFFD\uFFFDb"}, // above U+10FFFF
		{"\xf0\x9f\x98", "\uFFFD"},
		{"\xed\xa0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate
		{"\xc0\xaf", "\uFFFD\uFFFD"},           // overlong
	}
	for _, tt := range tests {
		out, ok := DecodeUTF8([]byte(tt.in), false)
		if !ok || out != tt.want || !utf8.ValidString(out) {
			t.Errorf("DecodeUTF8(%q) = %q, %v; want %q", tt.in, out, ok, tt.want)
		}
		if _, ok := DecodeUTF8([]byte(tt.in), true); ok != utf8.ValidString(tt.in) {
			t.Errorf("DecodeUTF8(%q, fatal) ok = %v, want %v", tt.in, ok, utf8.ValidString(tt.in))
		}
	}
}

func TestUTF8Complete(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"a", 1},
		{"a\xe2", 1},     // the start of € held back
		{"a\xe2\x82", 1}, // two of its three bytes
		{"\xe2\x82\xac", 3},
		{"\xf0\x9f\x98", 0},
		{"\xff", 1},     // invalid: decoded now (as U+FFFD)
		{"\xe0\x80", 2}, // invalid second byte: nothing to wait for
		{"ab\xf0", 2},
	}
	for _, tt := range tests {
		if got := utf8Complete([]byte(tt.in)); got != tt.want {
			t.Errorf("utf8Complete(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestEncodingNatives(t *testing.T) {
	const invalidChar = "throws: " + invalidCharMessage
	runCases(t, []jsCase{
		{"encode ascii", `hex(natives.utf8Encode("hi"))`, "6869"},
		{"encode is a Uint8Array", `natives.utf8Encode("é") instanceof Uint8Array`, "true"},
		{"encode non-BMP", `hex(natives.utf8Encode("é€😀"))`, "c3a9e282acf09f9880"},
		{"encode lone surrogates", `hex(natives.utf8Encode("a\uD800b\uDC00"))`, "61efbfbd62efbfbd"},
		{"encode int", `hex(natives.utf8Encode(12))`, "3132"},
		{"encode float", `hex(natives.utf8Encode(-1.5))`, "2d312e35"},
		{"encode bool", `hex(natives.utf8Encode(true))`, "74727565"},
		{"encode object", `hex(natives.utf8Encode({toString: () => "é"}))`, "c3a9"},
		{"encode undefined", `hex(natives.utf8Encode())`, "756e646566696e6564"},
		{"decode", `natives.utf8Decode(new Uint8Array([0x68, 0xc3, 0xa9]), false, false)`, "hé"},
		{"decode ArrayBuffer", `natives.utf8Decode(new Uint8Array([0x68, 0x69]).buffer, false, false)`, "hi"},
		{"decode subarray", `natives.utf8Decode(new Uint8Array([0x61, 0x62, 0x63, 0x64]).subarray(1, 3), false, false)`, "bc"},
		{"decode DataView", `natives.utf8Decode(new DataView(new Uint8Array([0x61, 0x62, 0x63]).buffer, 2), false, false)`, "c"},
		{"decode Uint16Array", `natives.utf8Decode(new Uint16Array([0x6261]), false, false)`, "ab"},
		{"decode undefined", `natives.utf8Decode(undefined, false, false)`, ""},
		{"decode not a buffer", `natives.utf8Decode("ab", false, false)`, "throws: TypeError: expected an ArrayBuffer or ArrayBufferView"},
		{"BOM stripped", `natives.utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), false, false).length`, "1"},
		{"BOM kept", `natives.utf8Decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61]), false, true).length`, "2"},
		{"invalid replaced", `escape(natives.utf8Decode(new Uint8Array([0x61, 0xff, 0x62]), false, false))`, "a%uFFFDb"},
		{"fatal", `natives.utf8Decode(new Uint8Array([0xff]), true, false)`, "throws: TypeError: The encoded data was not valid for encoding utf-8"},
		{"complete", `natives.utf8Complete(new Uint8Array([0x61, 0xe2, 0x82]))`, "1"},
		{"complete view", `natives.utf8Complete(new Uint8Array([0xe2, 0x82, 0xac, 0x61]).subarray(0, 3))`, "3"},
		{"btoa", `btoa("hello") + " " + btoa("") + " " + btoa("\xff\xfe")`, "aGVsbG8=  //4="},
		{"btoa latin1 only", `btoa("€")`, "throws: InvalidCharacterError: The string to be encoded contains characters outside of the Latin1 range."},
		{"atob", `atob("aGVsbG8=") + atob("aGVsbG8") + atob(" aGVs\nbG8= ")`, "hellohellohello"},
		{"atob binary", `escape(atob("//4="))`, "%FF%FE"},
		{"atob empty", `atob("")`, ""},
		{"atob bad length", `atob("abcde")`, invalidChar},
		{"atob bad char", `atob("ab*d")`, invalidChar},
		{"atob bad padding", `atob("ab=c")`, invalidChar},
		{"atob too much padding", `atob("a===")`, invalidChar},
		{"atob padding no multiple of 4", `atob("ab=")`, invalidChar},
	})
}

// Without the prelude's DOMException, a DOMException is an Error with the
// DOMException's name; with one, it is made with the constructor.
func TestDOMException(t *testing.T) {
	vm, _ := newVM(t)
	if got := eval(vm, `try { atob("*") } catch (e) { e instanceof Error && e.name }`); got != "InvalidCharacterError" {
		t.Errorf("without DOMException: %q", got)
	}
	if _, err := vm.RunString(`globalThis.DOMException = class DOMException extends Error {
		constructor(message, name) { super(message); this.name = name; }
	}`); err != nil {
		t.Fatal(err)
	}
	if got := eval(vm, `try { atob("*") } catch (e) { e instanceof DOMException && e.name + ": " + e.message }`); got != invalidCharMessage {
		t.Errorf("with DOMException: %q", got)
	}
}

const invalidCharMessage = "InvalidCharacterError: The string to be decoded is not correctly encoded."
