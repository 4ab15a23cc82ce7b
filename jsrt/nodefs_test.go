package jsrt

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"
)

// node:fs over the virtual file system: /bundle, /tmp, /dev.
func TestNodeFS(t *testing.T) {
	cfg := Config{NodeCompat: true, Filename: "index.js"}
	tests := []struct{ name, body, want string }{
		{"write and read /tmp", `const fs = require("node:fs"); fs.writeFileSync("/tmp/a.txt", "héllo");
			return fs.readFileSync("/tmp/a.txt", "utf8") + fs.readFileSync("/tmp/a.txt").length + fs.existsSync("/tmp/a.txt") + fs.existsSync("/tmp/b");`, "héllo6truefalse"},
		{"append and stat", `const fs = require("fs"); fs.writeFileSync("/tmp/x", "ab"); fs.appendFileSync("/tmp/x", "cd");
			const s = fs.statSync("/tmp/x"); return [fs.readFileSync("/tmp/x", { encoding: "utf8" }), s.size, s.isFile(), s.isDirectory(), s.mtime instanceof Date].join();`, "abcd,4,true,false,true"},
		{"bundle is read-only and holds the Worker", `const fs = require("fs");
			const src = fs.readFileSync("/bundle/index.js", "utf8");
			try { fs.writeFileSync("/bundle/index.js", "x"); } catch (e) { return [src.includes("exports.default"), e.code, e.errno, e.syscall, e.message].join("|"); }`,
			"true|EROFS|-30|open|EROFS: read-only file system, open '/bundle/index.js'"},
		{"root listing", `return require("fs").readdirSync("/").join();`, "bundle,dev,tmp"},
		{"ENOENT as Node words it", `try { require("fs").readFileSync("/tmp/nope"); } catch (e) { return e.code + " " + e.errno + " " + e.message; }`,
			"ENOENT -2 ENOENT: no such file or directory, open '/tmp/nope'"},
		{"mkdir, EEXIST, recursive, readdir withFileTypes", `const fs = require("fs"); fs.mkdirSync("/tmp/d");
			let code; try { fs.mkdirSync("/tmp/d"); } catch (e) { code = e.code; }
			const first = fs.mkdirSync("/tmp/d/e/f", { recursive: true });
			fs.writeFileSync("/tmp/d/file", "1");
			const ents = fs.readdirSync("/tmp/d", { withFileTypes: true }).map((d) => d.name + (d.isDirectory() ? "/" : ""));
			return [code, first, ents.join(" "), fs.readdirSync("/tmp/d", { recursive: true }).join(" ")].join("|");`,
			"EEXIST|/tmp/d/e|e/ file|e file e/f"},
		{"EISDIR, ENOTDIR, ENOTEMPTY", `const fs = require("fs"); fs.mkdirSync("/tmp/d"); fs.writeFileSync("/tmp/d/f", "");
			const codes = [];
			for (const f of [() => fs.writeFileSync("/tmp/d", "x"), () => fs.readdirSync("/tmp/d/f"), () => fs.rmdirSync("/tmp/d"), () => fs.rmSync("/tmp/d")]) {
				try { f(); codes.push("none"); } catch (e) { codes.push(e.code); } }
			return codes.join();`, "EISDIR,ENOTDIR,ENOTEMPTY,ERR_FS_EISDIR"},
		{"rm recursive, force, rename, copyFile, unlink", `const fs = require("fs"); fs.mkdirSync("/tmp/a/b", { recursive: true }); fs.writeFileSync("/tmp/a/b/c", "z");
			fs.copyFileSync("/tmp/a/b/c", "/tmp/c2"); fs.renameSync("/tmp/c2", "/tmp/c3");
			fs.rmSync("/tmp/a", { recursive: true }); fs.rmSync("/tmp/none", { force: true });
			const left = fs.readdirSync("/tmp").join(); fs.unlinkSync("/tmp/c3");
			return left + "|" + fs.readdirSync("/tmp").length;`, "c3|0"},
		{"descriptors", `const fs = require("fs"); const fd = fs.openSync("/tmp/f", "w+");
			fs.writeSync(fd, "hello world"); fs.writeSync(fd, Buffer.from("W"), 0, 1, 6);
			const b = Buffer.alloc(5); const n = fs.readSync(fd, b, 0, 5, 6); const st = fs.fstatSync(fd);
			fs.ftruncateSync(fd, 5); fs.closeSync(fd);
			let bad; try { fs.closeSync(fd); } catch (e) { bad = e.code; }
			return [n, b.toString(), st.size, fs.readFileSync("/tmp/f", "utf8"), bad].join();`, "5,World,11,hello,EBADF"},
		{"wx refuses an existing file", `const fs = require("fs"); fs.writeFileSync("/tmp/f", "1"); try { fs.openSync("/tmp/f", "wx"); } catch (e) { return e.code; }`, "EEXIST"},
		{"devices", `const fs = require("fs"); const fd = fs.openSync("/dev/zero", "r"); const b = Buffer.alloc(4, 7); fs.readSync(fd, b);
			const r = fs.openSync("/dev/random", "r"); const rb = Buffer.alloc(64); fs.readSync(r, rb);
			fs.writeFileSync("/dev/null", "gone"); let full; try { fs.writeFileSync("/dev/full", "x"); } catch (e) { full = e.code; }
			return [b.toString("hex"), rb.some((x) => x !== 0), fs.readFileSync("/dev/null").length, full, fs.statSync("/dev/null").isCharacterDevice()].join();`, "00000000,true,0,ENOSPC,true"},
		{"callbacks are asynchronous", `const fs = require("fs"); const order = [];
			await new Promise((res) => { fs.writeFile("/tmp/cb", "v", (err) => { order.push("written:" + err); fs.readFile("/tmp/cb", "utf8", (e, d) => { order.push(d); res(); }); }); order.push("sync"); });
			const missing = await new Promise((res) => fs.stat("/tmp/none", (e) => res(e.code)));
			return order.join() + "," + missing;`, "sync,written:null,v,ENOENT"},
		{"promises and FileHandle", `const fsp = require("node:fs/promises"); await fsp.mkdir("/tmp/p", { recursive: true });
			await fsp.writeFile("/tmp/p/a", "one"); const h = await fsp.open("/tmp/p/a", "a+"); await h.write("two");
			const st = await h.stat(); await h.close();
			const names = await fsp.readdir("/tmp/p"); let code; try { await fsp.access("/tmp/p/zz"); } catch (e) { code = e.code; }
			return [await fsp.readFile("/tmp/p/a", "utf8"), st.size, names.join(), code, fsp === require("fs").promises].join();`, "onetwo,6,a,ENOENT,true"},
		{"streams", `const fs = require("fs"); const { pipeline } = require("node:stream/promises");
			const w = fs.createWriteStream("/tmp/s"); for (const p of ["a", "b", "c"]) w.write(p); await new Promise((r) => w.end("d", r));
			let got = ""; await new Promise((r) => fs.createReadStream("/tmp/s", { start: 1, highWaterMark: 2 }).on("data", (c) => { got += c; }).on("end", r));
			await pipeline(fs.createReadStream("/tmp/s"), fs.createWriteStream("/tmp/s2"));
			const err = await new Promise((r) => fs.createReadStream("/tmp/none").on("error", (e) => r(e.code)));
			return [got, fs.readFileSync("/tmp/s2", "utf8"), err].join();`, "bcd,abcd,ENOENT"},
		{"symlinks and realpath", `const fs = require("fs"); fs.mkdirSync("/tmp/real"); fs.writeFileSync("/tmp/real/f", "x");
			fs.symlinkSync("/tmp/real", "/tmp/ln");
			return [fs.readFileSync("/tmp/ln/f", "utf8"), fs.lstatSync("/tmp/ln").isSymbolicLink(), fs.readlinkSync("/tmp/ln"), fs.realpathSync("/tmp/ln/f")].join();`, "x,true,/tmp/real,/tmp/real/f"},
		{"file URLs and Buffers as paths", `const fs = require("fs"); fs.writeFileSync(new URL("file:///tmp/u%20x"), "1");
			return fs.readFileSync(Buffer.from("/tmp/u x"), "utf8") + fs.existsSync("/tmp/../tmp/./u x");`, "1true"},
		{"ESM named imports", `const { readFileSync, writeFileSync } = require("node:fs"); writeFileSync("/tmp/n", "ok"); return readFileSync("/tmp/n", "utf8");`, "ok"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nodeEval(t, tt.body, cfg); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// node:fs is the virtual file system from compatibility date 2025-09-01 or
// with enable_nodejs_fs_module, and unenv's stubs before or with
// disable_nodejs_fs_module (as wrangler's preset gives).
func TestNodeFSByCompatDate(t *testing.T) {
	body := `try { require("fs").writeFileSync("/tmp/a", "1"); return "vfs"; } catch (e) { return "stub"; }`
	for _, tt := range []struct {
		date  string
		flags []string
		want  string
	}{
		{"2025-09-01", nil, "vfs"},
		{"2025-08-31", nil, "stub"},
		{"2024-01-01", []string{"enable_nodejs_fs_module"}, "vfs"},
		{"2026-01-01", []string{"disable_nodejs_fs_module"}, "stub"},
	} {
		got := nodeEval(t, body, Config{NodeCompat: true, CompatibilityDate: tt.date, CompatibilityFlags: tt.flags})
		if got != tt.want {
			t.Errorf("%s %v: got %q, want %q", tt.date, tt.flags, got, tt.want)
		}
	}
}

// Each request has a /tmp of its own, dropped with its response (as on
// Cloudflare); /bundle is shared.
func TestNodeFSTmpPerRequest(t *testing.T) {
	w, err := New(Config{NodeCompat: true, Runtimes: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Code: `const fs = require("node:fs");
exports.default = { async fetch(req) {
  const had = fs.readdirSync("/tmp").join();
  fs.writeFileSync("/tmp/" + new URL(req.url).pathname.slice(1), "x");
  return new Response(had + "|" + fs.readdirSync("/tmp").join());
} }`})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i, id := range []string{"req-1", "req-2", "req-3"} {
		ctx, cancel := context.WithTimeout(WithRequestID(context.Background(), id), 10*time.Second)
		resp, err := w.Fetch(ctx, httptest.NewRequest("GET", "http://x/f"+id, nil).WithContext(ctx))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if want := "|f" + id; string(b) != want {
			t.Errorf("request %d: got %q, want %q", i, b, want)
		}
	}
}
