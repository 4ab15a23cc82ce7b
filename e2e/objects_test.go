package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const objectsConfig = `{
  "name": "objects",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": {
    "bindings": [
      { "name": "THING", "class_name": "Thing" },
      { "name": "OTHER", "class_name": "Other" },
    ],
  },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Thing", "Other"] }],
}`

const objectsWorker = `import { DurableObject } from "cloudflare:workers";

let constructed = 0; // per runtime: module state is shared by the objects of one runtime

export class Thing extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    constructed++;
    this.hits = 0; // in-memory: lives as long as the instance
    this.nameInCtor = ctx.id.name ?? null;
  }
  async fetch(req) {
    const url = new URL(req.url);
    const sql = this.ctx.storage.sql;
    this.hits++;
    switch (url.pathname) {
      case "/info":
        return Response.json({ id: this.ctx.id.toString(), name: this.ctx.id.name ?? null, nameInCtor: this.nameInCtor, hits: this.hits });
      case "/sql/inc": {
        sql.exec("CREATE TABLE IF NOT EXISTS c(k TEXT PRIMARY KEY, v INTEGER NOT NULL)");
        const row = sql.exec("INSERT INTO c VALUES ('n', 1) ON CONFLICT(k) DO UPDATE SET v = v + 1 RETURNING v").one();
        return new Response(String(row.v));
      }
      case "/sql/cursor": {
        sql.exec("CREATE TABLE IF NOT EXISTS t(a INTEGER, b TEXT, c BLOB)");
        sql.exec("DELETE FROM t");
        sql.exec("INSERT INTO t VALUES (?, ?, ?), (?, ?, ?)", 1, "x", new Uint8Array([1, 2]), 2, "y", null);
        const cur = sql.exec("SELECT a, b, c FROM t ORDER BY a");
        const first = cur.next().value;
        const rest = cur.raw().toArray();
        let one; try { sql.exec("SELECT * FROM t").one(); } catch (e) { one = e.message; }
        let none; try { sql.exec("SELECT * FROM t WHERE a > 5").one(); } catch (e) { none = e.message; }
        let bad; try { sql.exec("SELEC 1"); } catch (e) { bad = e.message; }
        const w = sql.exec("UPDATE t SET b = 'z'");
        return Response.json({
          columns: cur.columnNames, first: { a: first.a, b: first.b, c: Array.from(new Uint8Array(first.c)) }, rest,
          one, none, bad, written: w.rowsWritten, big: sql.exec("SELECT 9007199254740993 AS n").one().n,
          sizeIsPages: sql.databaseSize > 0 && sql.databaseSize % 4096 === 0,
        });
      }
      case "/kv": {
        const s = this.ctx.storage;
        await s.put("b", 2);
        s.put({ a: 1, c: { nested: [1, 2] }, d: new Date(5), m: new Map([["k", new Set([1])]]), u: new Uint8Array([7]) });
        const many = await s.get(["b", "a", "zz-missing"]);
        const listed = await s.list({ start: "b", end: "d" });
        const rev = await s.list({ reverse: true, limit: 2 });
        const got = await s.get("c");
        const m = await s.get("m");
        const errs = [];
        for (const f of [() => s.put("k", undefined), () => s.list({ limit: 0 }), () => s.list({ start: "a", startAfter: "b" })]) {
          try { await f(); errs.push("no error"); } catch (e) { errs.push(e.name + ": " + e.message); }
        }
        const deleted = [await s.delete("a"), await s.delete("a"), await s.delete(["b", "c", "nope"])];
        return Response.json({
          many: [...many.keys()], listed: [...listed.keys()], rev: [...rev.keys()], nested: got.nested,
          date: (await s.get("d")).getTime(), mapSet: m.get("k").has(1), u: (await s.get("u"))[0],
          errs, deleted, syncKV: s.kv.get("u")[0],
        });
      }
      case "/kv/inc": {
        const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
        await this.ctx.storage.put("n", n);
        return new Response(String(n));
      }
    }
    return new Response("no route", { status: 404 });
  }
}

export class Other extends DurableObject {
  async fetch() { return new Response("other"); }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const [, kind, name, ...rest] = url.pathname.split("/");
    if (kind === "ids") {
      const before = constructed;
      const a = env.THING.idFromName("a");
      const out = {
        hex: a.toString(),
        same: a.equals(env.THING.idFromName("a")),
        uniqueDiffer: !env.THING.newUniqueId().equals(env.THING.newUniqueId()),
        roundTrip: env.THING.idFromString(a.toString()).equals(a),
        roundTripName: env.THING.idFromString(a.toString()).name ?? null,
        byName: env.THING.getByName("x").id.equals(env.THING.idFromName("x")),
        stubName: env.THING.getByName("x").name,
        otherDiffers: !env.OTHER.idFromName("a").equals(a),
      };
      for (const [k, f] of Object.entries({
        badHex: () => env.THING.idFromString("xyz"),
        short: () => env.THING.idFromString(a.toString().slice(1)),
        wrongNs: () => env.OTHER.idFromString(env.THING.newUniqueId().toString()),
      })) {
        try { f(); out[k] = "no error"; } catch (e) { out[k] = e.name + ": " + e.message; }
      }
      try { await env.THING.getByName("a").fetch("/relative"); out.relative = "no error"; } catch (e) { out.relative = e.name; }
      out.constructedByIds = constructed - before;
      return Response.json(out);
    }
    if (kind === "thing") {
      return env.THING.getByName(name).fetch("https://thing/" + rest.join("/"));
    }
    if (kind === "unique") {
      const id = env.THING.newUniqueId();
      const res = await env.THING.get(id).fetch("https://thing/info");
      const again = await env.THING.get(env.THING.idFromString(id.toString())).fetch("https://thing/info");
      return Response.json({ first: await res.json(), again: await again.json(), id: id.toString() });
    }
    return new Response("no route", { status: 404 });
  },
};
`

// getJSON fetches path and decodes its JSON object body.
func (d *devServer) getJSON(path string) map[string]any {
	d.t.Helper()
	body := d.mustGet(path)
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		d.t.Fatalf("GET %s: bad JSON %q: %v\n%s", path, body, err, d.Logs)
	}
	return m
}

// spec 1–6: ids are deterministic, namespace-bound and validated; creating
// ids and stubs runs no constructor; stub.fetch needs an absolute URL.
func TestDurableObjectIDs(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": objectsConfig, "src/index.js": objectsWorker})
	state := t.TempDir()
	d := startDev(t, dir, state)
	got := d.getJSON("/ids")
	want := map[string]any{
		"same": true, "uniqueDiffer": true, "roundTrip": true, "roundTripName": nil,
		"byName": true, "stubName": "x", "otherDiffers": true,
		"badHex":           "TypeError: Invalid Durable Object ID: must be 64 hex digits",
		"short":            "TypeError: Invalid Durable Object ID: must be 64 hex digits",
		"wrongNs":          "TypeError: Durable Object ID is not valid for this namespace.",
		"relative":         "TypeError",
		"constructedByIds": 0.0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	hex, _ := got["hex"].(string)
	if len(hex) != 64 || strings.Trim(hex, "0123456789abcdef") != "" {
		t.Errorf("idFromName hex = %q, want 64 lowercase hex digits", hex)
	}
	d.Stop()

	// spec 1: the same id after a restart.
	d = startDev(t, dir, state)
	if again := d.getJSON("/ids")["hex"]; again != hex {
		t.Errorf("idFromName after restart = %v, want %v", again, hex)
	}
}

// One live instance per id: concurrent requests to one name share the
// in-memory state of a single instance; ctx.id.name is set (spec 8).
func TestOneInstancePerID(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": objectsConfig, "src/index.js": objectsWorker})
	d := startDev(t, dir, t.TempDir())
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := d.Get("/thing/room-1/info"); status != 200 {
				t.Errorf("info = %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	info := d.getJSON("/thing/room-1/info")
	if info["hits"] != 21.0 || info["name"] != "room-1" || info["nameInCtor"] != "room-1" {
		t.Errorf("info = %v, want hits 21 and name room-1", info)
	}

	u := d.getJSON("/unique")
	first, _ := u["first"].(map[string]any)
	again, _ := u["again"].(map[string]any)
	if first["id"] != u["id"] || first["name"] != nil || again["hits"] != 2.0 {
		t.Errorf("unique = %v; want the same instance reached through idFromString, no name", u)
	}
}

// SQL and KV storage through real JS, persisted across a restart; the file
// appears only after the first write.
func TestStoragePersists(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": objectsConfig, "src/index.js": objectsWorker})
	state := t.TempDir()
	d := startDev(t, dir, state)

	d.mustGet("/thing/reader/info")
	if files := sqliteFiles(t, state); len(files) != 0 {
		t.Errorf("objects that only read created files: %v", files)
	}
	for i := 1; i <= 3; i++ {
		d.expect("GET", "/thing/c1/sql/inc", 200, fmt.Sprint(i))
		d.expect("GET", "/thing/c1/kv/inc", 200, fmt.Sprint(i))
	}
	d.expect("GET", "/thing/c2/sql/inc", 200, "1")
	if files := sqliteFiles(t, state); len(files) != 2 {
		t.Errorf("want 2 object files (c1, c2), got %v", files)
	}
	d.Stop()

	d = startDev(t, dir, state)
	d.expect("GET", "/thing/c1/sql/inc", 200, "4")
	d.expect("GET", "/thing/c1/kv/inc", 200, "4")
	d.expect("GET", "/thing/c2/sql/inc", 200, "2")
}

// spec 25–32, 35–38, 45: the SQL cursor and KV API shapes and errors.
func TestStorageAPI(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": objectsConfig, "src/index.js": objectsWorker})
	d := startDev(t, dir, t.TempDir())

	got := d.getJSON("/thing/s/sql/cursor")
	checks := map[string]string{
		"columns":     `["a","b","c"]`,
		"first":       `{"a":1,"b":"x","c":[1,2]}`,
		"rest":        `[[2,"y",null]]`,
		"one":         `"Expected exactly one result from SQL query, but got multiple results."`,
		"none":        `"Expected exactly one result from SQL query, but got no results."`,
		"written":     `2`,
		"big":         `9007199254740992`,
		"sizeIsPages": `true`,
	}
	for k, want := range checks {
		if b, _ := json.Marshal(got[k]); string(b) != want {
			t.Errorf("sql %s = %s, want %s", k, b, want)
		}
	}
	if bad, _ := got["bad"].(string); !strings.Contains(bad, `near "SELEC": syntax error`) {
		t.Errorf("syntax error message = %q", bad)
	}

	got = d.getJSON("/thing/s/kv")
	checks = map[string]string{
		"many":    `["a","b"]`,
		"listed":  `["b","c"]`,
		"rev":     `["u","m"]`,
		"nested":  `[1,2]`,
		"date":    `5`,
		"mapSet":  `true`,
		"u":       `7`,
		"syncKV":  `7`,
		"deleted": `[true,false,2]`,
		"errs":    `["TypeError: put() called with undefined value.","TypeError: List limit must be positive.","TypeError: list() cannot be called with both start and startAfter values."]`,
	}
	for k, want := range checks {
		if b, _ := json.Marshal(got[k]); string(b) != want {
			t.Errorf("kv %s = %s, want %s", k, b, want)
		}
	}
}

func (d *devServer) mustGet(path string) string {
	d.t.Helper()
	status, body := d.Get(path)
	if status != 200 {
		d.t.Fatalf("GET %s = %d %s\n%s", path, status, body, d.Logs)
	}
	return body
}

// sqliteFiles lists the object databases under a state dir (not the alarm
// index, KV or D1 files).
func sqliteFiles(t *testing.T, state string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(state, func(path string, e os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(path, ".sqlite") && strings.Contains(path, string(os.PathSeparator)+"do"+string(os.PathSeparator)) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
