package jsrt

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

// Details of Durable Objects as workerd shows them (issue 20). The wanted
// values were observed on workerd (wrangler 4.86.0 dev) with the same code.
func TestObjectDetailsMatchWorkerd(t *testing.T) {
	code := `"use strict"; // as module code is
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  cursor() {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS c (a)");
    const cur = sql.exec("SELECT 1 AS a");
    const first = cur.next();
    const done = cur.next();
    const raw = sql.exec("SELECT 1").raw();
    raw.next();
    const rawDone = raw.next();
    return { first, done: [Object.keys(done), "value" in done, JSON.stringify(done)],
      rawDone: [Object.keys(rawDone), "value" in rawDone],
      insert: Object.keys(sql.exec("INSERT INTO c VALUES (1)").next()) };
  }
  async nest(depth) {
    let reached = 0, error;
    const go = async (d) => {
      reached = d;
      if (d < depth) {
        try { await this.ctx.blockConcurrencyWhile(() => go(d + 1)); } catch (e) { error ??= String(e); }
      }
    };
    await go(0);
    return error === undefined ? { reached } : { reached, error };
  }
  alive() { return "alive"; }
};
exports.default = {
  async fetch(req, env) {
    const url = new URL(req.url);
    const named = env.OBJ.getByName("x");
    const unique = env.OBJ.get(env.OBJ.newUniqueId());
    switch (url.pathname) {
      case "/keys": {
        const d = Object.getOwnPropertyDescriptor(named, "name");
        let assign;
        try { named.name = "z"; assign = named.name; } catch (e) { assign = e.constructor.name; }
        return Response.json({ named: Object.keys(named), unique: Object.keys(unique), uniqueName: "name" in unique && unique.name === undefined,
          json: JSON.stringify(named), spread: Object.keys({ ...named }), nameDesc: [d.value, d.writable, d.enumerable, d.configurable],
          idKeys: Object.keys(named.id), assign, sameId: named.id === named.id, idName: named.id.name });
      }
      case "/cursor": return Response.json(await named.cursor());
      case "/nest": {
        const r = await named.nest(Number(url.searchParams.get("d")));
        r.after = await named.alive();
        return Response.json(r);
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`
	w := objectWorker(t, code, nil, Config{})
	get := func(path string) map[string]any {
		t.Helper()
		resp, err := w.Fetch(t.Context(), httptest.NewRequest("GET", "http://x"+path, nil))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return out
	}
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}

	// A stub has own enumerable, read-only name and id (spec 1.3); an id
	// has own jurisdiction and name.
	keys := get("/keys")
	check("Object.keys(stub)", keys["named"], []any{"name", "id"})
	check("Object.keys(unique stub)", keys["unique"], []any{"name", "id"})
	check("unique stub's name", keys["uniqueName"], true)
	check("JSON.stringify(stub)", keys["json"], `{"name":"x","id":{"name":"x"}}`)
	check("spread", keys["spread"], []any{"name", "id"})
	check("name descriptor", keys["nameDesc"], []any{"x", false, true, true})
	check("Object.keys(id)", keys["idKeys"], []any{"jurisdiction", "name"})
	check("assigning stub.name", keys["assign"], "TypeError")
	check("stub.id is stable", keys["sameId"], true)

	// A finished cursor's next() is {done: true}, without a value key.
	cur := get("/cursor")
	check("first row", cur["first"], map[string]any{"done": false, "value": map[string]any{"a": 1.0}})
	check("done", cur["done"], []any{[]any{"done"}, false, `{"done":true}`})
	check("raw done", cur["rawDone"], []any{[]any{"done"}, false})
	check("insert cursor", cur["insert"], []any{"done"})

	// blockConcurrencyWhile nests up to 64 deep; the 65th nested call
	// rejects with workerd's message (spec 2.2). Caught, it resets nothing:
	// the object serves the next call.
	check("64 nested", get("/nest?d=64"), map[string]any{"reached": 64.0, "after": "alive"})
	deep := get("/nest?d=65")
	check("65 nested", deep["error"], "Error: blockConcurrencyWhile() calls are nested too deeply.")
	check("reached", deep["reached"], 64.0)
}

// spec 46: a critical storage error (SQLITE_FULL here, reached with
// workerd's test hook sql.setMaxPageCountForTest) fails the call even if
// the code catches it, rolls back every write of the turn (also inside
// transactionSync, also KV writes) and resets the object, whose next
// instance has the default size bound again. Observed on workerd
// 2026-11-17 with the same code: "Error: database or disk is full:
// SQLITE_FULL", the turn's writes gone, a new instance.
func TestStorageFullResetsObject(t *testing.T) {
	code := `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  constructor(ctx, env) { super(ctx, env); this.born = Math.random(); }
  setup() {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS big (v)");
    this.ctx.storage.sql.exec("INSERT INTO big VALUES ('committed')");
    return this.born;
  }
  fill(kind) {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT INTO big VALUES ('same turn')");
    sql.setMaxPageCountForTest(10);
    const row = () => sql.exec("INSERT INTO big VALUES (?)", "x".repeat(1000));
    if (kind === "txn") this.ctx.storage.transactionSync(() => { for (let i = 0; i < 200; i++) row(); });
    else if (kind === "kv") for (let i = 0; i < 200; i++) this.ctx.storage.kv.put("k" + i, "x".repeat(1000));
    else if (kind === "caught") { for (let i = 0; i < 200; i++) { try { row(); } catch (e) { return "caught " + e.message; } } }
    else for (let i = 0; i < 200; i++) row();
    return "no error";
  }
  state() {
    return { born: this.born, rows: this.ctx.storage.sql.exec("SELECT count(*) AS n FROM big").one().n,
      kv: this.ctx.storage.kv.get("k0") ?? null };
  }
};
exports.default = {
  async fetch(req, env) {
    const stub = env.OBJ.getByName(new URL(req.url).searchParams.get("o"));
    const born = await stub.setup();
    let error = null;
    try { await stub.fill(new URL(req.url).searchParams.get("k")); } catch (e) { error = String(e); }
    const after = await env.OBJ.getByName(new URL(req.url).searchParams.get("o")).state();
    return Response.json({ error, rows: after.rows, kv: after.kv, newInstance: after.born !== born });
  },
};
`
	w := objectWorker(t, code, nil, Config{})
	for _, kind := range []string{"plain", "txn", "caught", "kv"} {
		resp, err := w.Fetch(t.Context(), httptest.NewRequest("GET", "http://x/?o="+kind+"&k="+kind, nil))
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		want := map[string]any{"error": "Error: database or disk is full: SQLITE_FULL", "rows": 1.0, "kv": nil, "newInstance": true}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %v, want %v", kind, got, want)
		}
	}
}
