// Benchmark Worker + Durable Object. The same file runs unmodified under cairn
// and workerd; bench/cmd/compare drives it. Routes:
//
//   GET /ok               stateless "ok"
//   GET /sql/inc?id=NAME  object NAME: SQL upsert of its counter, returns it
//   GET /sql/read?id=NAME object NAME: SQL select of its counter
//   GET /kv/inc?id=NAME   object NAME: storage.get + storage.put of a counter
//   GET /rpc?id=NAME      object NAME: JS RPC call stub.inc()
//   GET /d1/read?id=N     D1 point read (only when a D1 binding DB exists)
//   GET /d1/insert        D1 single-row insert (only when DB exists)
//   GET /kvns/get?k=KEY   Workers KV get of KEY (binding KV)
//   GET /kvns/put?k=KEY   Workers KV put of a 100-byte value under KEY
//   GET /wasm/fib?n=N     fib(N) by naive recursion in WebAssembly (calc.wasm, a
//                         copy of jsrt/testdata/wasm/calc.wasm from calc.wat)
//   GET /static/10k.txt   a static asset (public/): cairn serves it without
//                         running this code; under workerd this Worker
//                         forwards it to the ASSETS disk service
import { DurableObject } from "cloudflare:workers";
import calc from "./calc.wasm";

const wasm = new WebAssembly.Instance(calc, { env: { log() {}, twice: (x) => 2 * x } }).exports;

export class Bench extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.ready = false;
  }

  // ensureTable creates the counter table once per instance.
  ensureTable() {
    if (this.ready) return;
    this.sql.exec("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
    this.ready = true;
  }

  sqlInc() {
    this.ensureTable();
    return this.sql
      .exec("INSERT INTO counter (id, n) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET n = n + 1 RETURNING n")
      .one().n;
  }

  sqlRead() {
    this.ensureTable();
    const rows = this.sql.exec("SELECT n FROM counter WHERE id = 1").toArray();
    return rows.length ? rows[0].n : 0;
  }

  async kvInc() {
    const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", n);
    return n;
  }

  // inc is the JS RPC method used by /rpc.
  async inc() {
    return this.sqlInc();
  }

  async fetch(request) {
    switch (new URL(request.url).pathname) {
      case "/sql/inc":
        return new Response(String(this.sqlInc()));
      case "/sql/read":
        return new Response(String(this.sqlRead()));
      case "/kv/inc":
        return new Response(String(await this.kvInc()));
    }
    return new Response("not found", { status: 404 });
  }
}

const KV_VALUE = "v".repeat(100);

let d1Ready = null;

// d1 serves the D1 routes; 501 when the runtime gives no D1 binding.
async function d1(env, path, url) {
  if (!env.DB) return new Response("no D1 binding", { status: 501 });
  d1Ready ??= env.DB.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  await d1Ready;
  if (path === "/d1/insert") {
    const r = await env.DB.prepare("INSERT INTO items (v) VALUES (?)").bind("x".repeat(32)).run();
    return new Response(String(r.meta.last_row_id));
  }
  const row = await env.DB.prepare("SELECT id, v FROM items WHERE id = ?")
    .bind(Number(url.searchParams.get("id") ?? 1))
    .first();
  return new Response(row ? row.v : "");
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path === "/ok") return new Response("ok");
    if (path === "/wasm/fib") return new Response(String(wasm.fib(Number(url.searchParams.get("n")))));
    if (path.startsWith("/static/")) return env.ASSETS.fetch(request);
    if (path.startsWith("/d1/")) return d1(env, path, url);
    if (path === "/kvns/get") return new Response(await env.KV.get(url.searchParams.get("k")) ?? "");
    if (path === "/kvns/put") {
      await env.KV.put(url.searchParams.get("k"), KV_VALUE);
      return new Response("ok");
    }
    const id = url.searchParams.get("id");
    if (!id) return new Response("missing ?id=", { status: 400 });
    const stub = env.BENCH.getByName(id);
    if (path === "/rpc") return new Response(String(await stub.inc()));
    if (path === "/sql/inc" || path === "/sql/read" || path === "/kv/inc") {
      return stub.fetch("https://do" + path);
    }
    return new Response("not found", { status: 404 });
  },
};
