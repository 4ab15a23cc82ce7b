package jsrt

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"testing"
)

// The byte-transforming streams backed by Go (webapi/streams.go) and the
// Web Streams additions of issue 14, run in the bare prelude runtime.
func TestByteStreams(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, "hello from Go's gzip")
	zw.Close()
	goGzip := base64.StdEncoding.EncodeToString(gz.Bytes())

	const helpers = `
		const enc = new TextEncoder(), dec = new TextDecoder();
		const collect = async (rs) => { const parts = []; for await (const c of rs) parts.push(...c); return new Uint8Array(parts); };
		const through = async (ts, chunks) => {
			const w = ts.writable.getWriter();
			const done = collect(ts.readable);
			for (const c of chunks) await w.write(c);
			await w.close();
			return done;
		};
		const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
	`
	tests := []struct{ name, js, want string }{
		{"compression round trips", `
			const text = "streams ".repeat(1000);
			const out = [];
			for (const f of ["gzip", "deflate", "deflate-raw"]) {
				const z = await through(new CompressionStream(f), [enc.encode(text.slice(0, 3000)), enc.encode(text.slice(3000))]);
				const back = await through(new DecompressionStream(f), [z.subarray(0, 7), z.subarray(7)]);
				out.push(f + ":" + (z.byteLength < 200) + ":" + (dec.decode(back) === text));
			}
			return out.join(" ");`, "gzip:true:true deflate:true:true deflate-raw:true:true"},
		{"gzip header", `
			const z = await through(new CompressionStream("gzip"), [enc.encode("x")]);
			return hex(z.subarray(0, 2));`, "1f8b"},
		{"decompress Go's gzip", `
			const z = new Uint8Array(Array.from(atob("` + goGzip + `"), (c) => c.charCodeAt(0)));
			return dec.decode(await through(new DecompressionStream("gzip"), [z]));`, "hello from Go's gzip"},
		{"corrupt input errors", `
			try { await through(new DecompressionStream("gzip"), [enc.encode("not gzip at all")]); return "no error"; }
			catch (e) { return e.name; }`, "TypeError"},
		{"truncated input errors", `
			const z = await through(new CompressionStream("deflate"), [enc.encode("some text to squeeze")]);
			try { await through(new DecompressionStream("deflate"), [z.subarray(0, z.byteLength - 3)]); return "no error"; }
			catch (e) { return e.name + ": " + e.message; }`, "TypeError: Decompression failed: Unexpected end of compressed data"},
		{"bad format", `
			try { new CompressionStream("brotli"); return "no error"; } catch (e) { return e.name; }`, "TypeError"},
		{"digest stream", `
			const ds = new crypto.DigestStream("SHA-256");
			const w = ds.getWriter();
			await w.write(enc.encode("a"));
			await w.write(enc.encode("bc"));
			await w.close();
			return hex(await ds.digest);`, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"digest stream via pipeTo", `
			const ds = new crypto.DigestStream({ name: "MD5" });
			await ReadableStream.from([enc.encode("a"), enc.encode("bc")]).pipeTo(ds);
			return hex(await ds.digest);`, "900150983cd24fb0d6963f7d28e17f72"},
		{"tee copies byte chunks", `
			const [a, b] = ReadableStream.from([new Uint8Array([1, 2])]).tee();
			const ra = await a.getReader().read();
			ra.value[0] = 9;
			const rb = await b.getReader().read();
			return rb.value[0] + "," + (ra.value !== rb.value);`, "1,true"},
		{"FixedLengthStream length on the wire", `
			const { readable } = new FixedLengthStream(3);
			const w = await __cairn.responseToWire(new Response(readable));
			const plain = await __cairn.responseToWire(new Response(new ReadableStream()));
			return w.length + "," + plain.length + "," + (typeof w.stream.read);`, "3,undefined,function"},
		{"incoming request signal", `
			const wire = { method: "GET", url: "http://x/", headers: [], body: null };
			const r = __cairn.requestFromWire(wire);
			__cairn.abortRequest(r, new Error("gone"));
			const r2 = __cairn.requestFromWire(wire);
			const copy = new Request(r2);
			const before = copy.signal.aborted;
			__cairn.abortRequest(r2, new Error("gone too"));
			return [r.signal.aborted, r.signal.reason.message, before, copy.signal.aborted, new Request("http://y/").signal.aborted].join(",");`,
			"true,gone,false,true,false"},
		{"BYOB reader", `
			const rs = new ReadableStream({
				type: "bytes",
				start(c) { c.enqueue(new Uint8Array([1, 2, 3, 4, 5])); c.enqueue(new Uint8Array([6, 7])); c.close(); },
			});
			const r = rs.getReader({ mode: "byob" });
			const out = [];
			let res = await r.read(new Uint8Array(3));
			out.push(Array.from(res.value).join(""));
			res = await r.read(new Uint8Array(8), { min: 4 });
			out.push(Array.from(res.value).join(""));
			res = await r.read(new Uint8Array(2));
			out.push(res.done + ":" + res.value.byteLength);
			let notBytes = "";
			try { new ReadableStream().getReader({ mode: "byob" }); } catch (e) { notBytes = e.name; }
			return out.join(",") + "," + notBytes;`, "123,4567,true:0,TypeError"},
		{"BYOB reader of a Blob, by whole elements", `
			const r = new Blob([new Uint8Array([1, 0, 2, 0, 3])]).stream().getReader({ mode: "byob" });
			const a = await r.read(new Uint16Array(4));
			const b = await r.read(new Uint8Array(4));
			return Array.from(a.value).join(",") + "|" + Array.from(b.value).join(",");`, "1,2|3"},
		{"byobRequest: the source writes into the reader's buffer, which is detached", `
			let pulls = 0;
			const rs = new ReadableStream({
				type: "bytes",
				pull(c) {
					const req = c.byobRequest;
					if (pulls++ === 2) { c.close(); req.respond(0); return; }
					req.view[0] = 40 + pulls; req.view[1] = 50 + pulls;
					req.respond(2);
				},
			});
			const r = rs.getReader({ mode: "byob" });
			const mine = new Uint8Array(4);
			const a = await r.read(mine);
			const first = [a.value.buffer.byteLength, Array.from(a.value).join(":")];
			const b = await r.read(new Uint8Array(a.value.buffer), { min: 1 }); // the buffer comes back for reuse
			const end = await r.read(new Uint8Array(1));
			return [mine.byteLength, ...first, Array.from(b.value).join(":"),
				end.done, rs.getReader === undefined, typeof ReadableByteStreamController, typeof ReadableStreamBYOBRequest].join(",");`,
			"0,4,41:51,42:52,true,false,function,function"},
		{"enqueue transfers a byte chunk's buffer", `
			let ctrl;
			const rs = new ReadableStream({ type: "bytes", start(c) { ctrl = c; } });
			const r = rs.getReader();
			const p = r.read();
			const u = new Uint8Array([1, 2, 3]);
			ctrl.enqueue(u);
			const { value } = await p;
			let bad = "";
			try { ctrl.enqueue(u); } catch (e) { bad = e.name; }
			return [u.byteLength, Array.from(value).join(""), bad].join(",");`, "0,123,TypeError"},
		{"text streams", `
			const bytes = await collect(ReadableStream.from(["h\u00e9", "llo \ud83d", "\ude00"]).pipeThrough(new TextEncoderStream()));
			const parts = [];
			for await (const s of ReadableStream.from([bytes.subarray(0, 2), bytes.subarray(2)]).pipeThrough(new TextDecoderStream())) parts.push(s);
			return parts.join("") + "|" + bytes.byteLength;`, "héllo 😀|11"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vm := preludeRuntime(t)
			if got := preludeEval(t, vm, helpers+tc.js); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
