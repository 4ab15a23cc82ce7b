package jsrt

import "testing"

// TextEncoder, TextDecoder, atob and btoa as scripts see them: the
// prelude's classes over package webapi's natives (tested on their own
// there, atob and btoa with them).
func TestNativeEncoding(t *testing.T) {
	nativeRun(t, []nativeCase{
		{"encode ascii", `hex(new TextEncoder().encode("hi"))`, "6869"},
		{"encode default", `new TextEncoder().encode().length`, "0"},
		{"encode non-BMP", `hex(new TextEncoder().encode("é€😀"))`, "c3a9e282acf09f9880"},
		{"encode lone surrogate", `hex(new TextEncoder().encode("a\uD800b\uDC00"))`, "61efbfbd62efbfbd"},
		{"encoding", `new TextEncoder().encoding + " " + new TextDecoder().encoding`, "utf-8 utf-8"},
		{"encodeInto", `(() => { const u = new Uint8Array(4); const r = new TextEncoder().encodeInto("a€b", u); return r.read + "," + r.written + "," + hex(u); })()`, "2,4,61e282ac"},
		{"encodeInto no split", `(() => { const u = new Uint8Array(3); const r = new TextEncoder().encodeInto("a😀", u); return r.read + "," + r.written; })()`, "1,1"},
		{"decode", `new TextDecoder().decode(new Uint8Array([0x68, 0xc3, 0xa9]))`, "hé"},
		{"decode ArrayBuffer", `new TextDecoder().decode(new Uint8Array([0x68, 0x69]).buffer)`, "hi"},
		{"decode view offset", `new TextDecoder().decode(new Uint8Array([0x61, 0x62, 0x63, 0x64]).subarray(1, 3))`, "bc"},
		{"decode DataView", `new TextDecoder().decode(new DataView(new Uint8Array([0x61, 0x62, 0x63]).buffer, 2))`, "c"},
		{"decode Uint16Array", `new TextDecoder().decode(new Uint16Array([0x6261]))`, "ab"},
		{"decode no input", `new TextDecoder().decode()`, ""},
		{"BOM stripped", `new TextDecoder().decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])).length`, "1"},
		{"BOM kept", `new TextDecoder("utf-8", {ignoreBOM: true}).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x61])).length`, "2"},
		{"invalid replaced", `escape(new TextDecoder().decode(new Uint8Array([0x61, 0xff, 0xfe, 0x62])))`, "a%uFFFD%uFFFDb"},
		{"maximal subpart", `escape(new TextDecoder().decode(new Uint8Array([0xe2, 0x82, 0x61, 0xf0, 0x9f])))`, "%uFFFDa%uFFFD"},
		{"surrogate bytes", `escape(new TextDecoder().decode(new Uint8Array([0xed, 0xa0, 0x80])))`, "%uFFFD%uFFFD%uFFFD"},
		{"overlong", `escape(new TextDecoder().decode(new Uint8Array([0xc0, 0xaf])))`, "%uFFFD%uFFFD"},
		{"fatal", `new TextDecoder("utf-8", {fatal: true}).decode(new Uint8Array([0xff]))`, "throws: TypeError: The encoded data was not valid for encoding utf-8"},
		{"fatal flag", `(() => { const d = new TextDecoder("utf8", {fatal: true, ignoreBOM: true}); return d.fatal + " " + d.ignoreBOM; })()`, "true true"},
		{"labels", `new TextDecoder("UTF8").encoding + new TextDecoder(" unicode-1-1-utf-8 ").encoding`, "utf-8utf-8"},
		{"bad label", `new TextDecoder("latin1")`, "throws: RangeError: Failed to construct 'TextDecoder': The encoding label provided ('latin1') is invalid."},
		{"stream split", `(() => {
			const d = new TextDecoder(); const b = new TextEncoder().encode("€😀x");
			let out = "";
			for (let i = 0; i < b.length; i++) out += d.decode(b.subarray(i, i + 1), {stream: true});
			return out + d.decode();
		})()`, "€😀x"},
		{"stream truncated end", `(() => { const d = new TextDecoder(); return escape(d.decode(new Uint8Array([0x61, 0xe2, 0x82]), {stream: true}) + d.decode()); })()`, "a%uFFFD"},
		{"atob and btoa throw DOMExceptions", `(() => { try { atob("*"); } catch (e) { return e instanceof DOMException && e.name; } })()`, "InvalidCharacterError"},
		{"stream fatal truncated", `(() => { const d = new TextDecoder("utf-8", {fatal: true}); d.decode(new Uint8Array([0xe2]), {stream: true}); return d.decode(); })()`, "throws: TypeError: The encoded data was not valid for encoding utf-8"},
	})
}

func BenchmarkNativeUTF8(b *testing.B) {
	vm, _ := nativeRuntime(b)
	_, err := vm.RunString(`var enc = new TextEncoder(), dec = new TextDecoder(), text = "héllo wörld ".repeat(100);`)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := vm.RunString(`dec.decode(enc.encode(text))`); err != nil {
			b.Fatal(err)
		}
	}
}
