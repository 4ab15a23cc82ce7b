package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// d1Worker exercises the D1 binding; each route answers JSON.
const d1Worker = `
import { DurableObject } from "cloudflare:workers";
export class Writer extends DurableObject {
  async fetch(req) {
    // A Durable Object reaches D1 through its env too.
    await this.env.DB.prepare("INSERT INTO t (v) VALUES (?)").bind("from-do").run();
    return Response.json(await this.env.DB.prepare("SELECT count(*) AS n FROM t WHERE v = 'from-do'").first("n"));
  }
}
async function err(fn) {
  try { await fn(); return "no error"; } catch (e) { return e.message + (e.cause ? " | cause: " + e.cause.message : ""); }
}
export default {
  async fetch(req, env) {
    const db = env.DB;
    const url = new URL(req.url);
    const json = (v) => Response.json(v);
    switch (url.pathname) {
      case "/setup":
        return json(await db.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v, b BLOB)\nCREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)"));
      case "/bind": return json({
        undef: await err(() => db.prepare("SELECT ?").bind(undefined)),
        obj: await err(() => db.prepare("SELECT ?").bind({ a: 1 })),
        bigint: await err(() => db.prepare("SELECT ?").bind(1n)),
        bool: await db.prepare("SELECT ? AS x, typeof(?) AS t").bind(true, false).first(),
        blob: await db.prepare("SELECT ? AS b, typeof(?) AS t").bind(new Uint8Array([1, 2]), new Uint8Array([1, 2]).buffer).first(),
        arr: await db.prepare("SELECT typeof(?) AS t").bind([1, 2, 255]).first("t"),
        real: await db.prepare("SELECT typeof(?) AS i, typeof(?) AS r").bind(3, 3.5).first(),
        big: await db.prepare("SELECT 9007199254740993 AS x").first("x"),
        bindCount: await err(() => db.prepare("SELECT ?, ?").bind(1).all()),
        tooBig: await err(() => db.prepare("SELECT ?").bind("x".repeat(2000001)).all()),
      });
      case "/first": return json({
        missing: await err(() => db.prepare("SELECT 1 AS a").first("missing")),
        empty: await db.prepare("SELECT * FROM t WHERE id = -1").first(),
        emptyCol: await db.prepare("SELECT * FROM t WHERE id = -1").first("v"),
        col: await db.prepare("SELECT 7 AS a, 8 AS b").first("b"),
        row: await db.prepare("SELECT 7 AS a, 8 AS b").first(),
        raw: await db.prepare("SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y'").raw({ columnNames: true }),
        rawPlain: await db.prepare("SELECT 1 AS a").raw(),
      });
      case "/insert": {
        const r = await db.prepare("INSERT INTO t (v) VALUES (?)").bind(url.searchParams.get("v")).run();
        const s = await db.prepare("SELECT count(*) AS n FROM t").all();
        return json({ insert: r, select: s });
      }
      case "/batch": {
        const before = await db.prepare("SELECT count(*) AS n FROM u").first("n");
        const failed = await err(() => db.batch([
          db.prepare("INSERT INTO u (name) VALUES (?)").bind("ada"),
          db.prepare("INSERT INTO u (name) VALUES (?)").bind(null),
        ]));
        const after = await db.prepare("SELECT count(*) AS n FROM u").first("n");
        const ok = await db.batch([
          db.prepare("INSERT INTO u (name) VALUES (?)").bind("bob"),
          db.prepare("SELECT name FROM u"),
        ]);
        return json({ before, failed, after, ok });
      }
      case "/exec": return json({
        ok: await db.exec("SELECT 1\nSELECT 2"),
        bad: await err(() => db.exec("INVALID SQL")),
        syntax: await err(() => db.prepare("SELEC 1").all()),
        isError: await db.prepare("SELEC 1").all().catch((e) => e instanceof Error),
      });
      case "/session": {
        const s = db.withSession();
        const initial = s.getBookmark();
        await s.prepare("INSERT INTO t (v) VALUES ('s')").run();
        const b1 = s.getBookmark();
        const seen = await s.prepare("SELECT count(*) AS n FROM t WHERE v = 's'").first("n");
        const b2 = s.getBookmark();
        const p = db.withSession("first-primary");
        const primary = (await p.prepare("SELECT 1").all()).meta.served_by_primary;
        const again = db.withSession(b2);
        const seenAgain = await again.prepare("SELECT count(*) AS n FROM t WHERE v = 's'").first("n");
        const blank = db.withSession("   ").getBookmark();
        const bad = await err(() => db.withSession("garbage").prepare("SELECT 1").all());
        return json({ initial, b1, b2, seen, primary, startsWith: again.getBookmark() === b2, seenAgain, blank, bad });
      }
      case "/fk": {
        await db.exec("CREATE TABLE IF NOT EXISTS p (id INTEGER PRIMARY KEY)\nCREATE TABLE IF NOT EXISTS c (pid INTEGER REFERENCES p(id))");
        return json({
          direct: await err(() => db.prepare("INSERT INTO c VALUES (42)").run()),
          deferredOk: await err(() => db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), db.prepare("INSERT INTO c VALUES (1)"), db.prepare("INSERT INTO p VALUES (1)")])),
          deferredBad: await err(() => db.batch([db.prepare("PRAGMA defer_foreign_keys = on"), db.prepare("INSERT INTO c VALUES (2)")])),
          rows: await db.prepare("SELECT count(*) AS n FROM c").first("n"),
        });
      }
      case "/dump": {
        const buf = await db.dump();
        return json({ isBuffer: buf instanceof ArrayBuffer, header: new TextDecoder().decode(new Uint8Array(buf, 0, 15)) });
      }
      case "/do":
        return env.W.getByName("w").fetch("https://do/");
      case "/count":
        return json(await db.prepare("SELECT count(*) AS n FROM t").first("n"));
    }
    return new Response("not found", { status: 404 });
  },
};
`

func d1Project(t *testing.T) string {
	return writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "d1app", "main": "worker.js", "compatibility_date": "2025-09-01",
			"d1_databases": [{"binding": "DB", "database_name": "main", "database_id": "11111111-2222-3333-4444-555555555555"}],
			"durable_objects": {"bindings": [{"name": "W", "class_name": "Writer"}]},
			"migrations": [{"tag": "v1", "new_sqlite_classes": ["Writer"]}]}`,
		"worker.js": d1Worker,
	})
}

func TestD1Binding(t *testing.T) {
	dir := d1Project(t)
	state := t.TempDir()
	d := startDev(t, dir, state)
	var setup map[string]any
	getJSON(t, d, "/setup", &setup)
	if setup["count"] != 2.0 {
		t.Errorf("exec = %v", setup)
	}

	t.Run("bind", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/bind", &got)
		want := map[string]any{
			// spec 59
			"undef":  "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined' | cause: Type 'undefined' not supported for value 'undefined'",
			"obj":    "D1_TYPE_ERROR: Type 'object' not supported for value '[object Object]' | cause: Type 'object' not supported for value '[object Object]'",
			"bigint": "D1_TYPE_ERROR: Type 'bigint' not supported for value '1' | cause: Type 'bigint' not supported for value '1'",
			"bool":   map[string]any{"x": 1.0, "t": "integer"},
			"blob":   map[string]any{"b": []any{1.0, 2.0}, "t": "blob"},
			"arr":    "blob",
			"real":   map[string]any{"i": "integer", "r": "real"},
			// spec 45: beyond 2^53 a number, with precision lost
			"big":       9007199254740992.0,
			"bindCount": "D1_ERROR: Wrong number of parameter bindings for SQL query. | cause: Wrong number of parameter bindings for SQL query.",
			"tooBig":    "D1_ERROR: string or blob too big: SQLITE_TOOBIG | cause: string or blob too big: SQLITE_TOOBIG",
		}
		for k, w := range want {
			if !reflect.DeepEqual(got[k], w) {
				t.Errorf("%s = %#v, want %#v", k, got[k], w)
			}
		}
	})

	t.Run("first and raw", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/first", &got)
		want := map[string]any{
			"missing":  "D1_COLUMN_NOTFOUND: Column not found (missing) | cause: Column not found", // spec 60
			"empty":    nil,
			"emptyCol": nil,
			"col":      8.0,
			"row":      map[string]any{"a": 7.0, "b": 8.0},
			"raw":      []any{[]any{"a", "b"}, []any{1.0, "x"}, []any{2.0, "y"}}, // spec 61
			"rawPlain": []any{[]any{1.0}},
		}
		for k, w := range want {
			if !reflect.DeepEqual(got[k], w) {
				t.Errorf("%s = %#v, want %#v", k, got[k], w)
			}
		}
	})

	t.Run("insert meta", func(t *testing.T) {
		type result struct {
			Success bool             `json:"success"`
			Results []map[string]any `json:"results"`
			Meta    map[string]any   `json:"meta"`
		}
		var got struct{ Insert, Select result }
		getJSON(t, d, "/insert?v=a", &got)
		getJSON(t, d, "/insert?v=b", &got)
		// spec 63
		m := got.Insert.Meta
		if !got.Insert.Success || got.Insert.Results == nil || len(got.Insert.Results) != 0 || m["changes"] != 1.0 ||
			m["last_row_id"] != 2.0 || m["changed_db"] != true || m["rows_written"].(float64) < 1 {
			t.Errorf("insert = %+v", got.Insert)
		}
		for _, k := range []string{"served_by", "served_by_primary", "duration", "timings", "changes", "last_row_id", "changed_db", "size_after", "rows_read", "rows_written", "total_attempts"} {
			if _, ok := m[k]; !ok {
				t.Errorf("meta lacks %s: %v", k, m)
			}
		}
		// spec 64
		if s := got.Select.Meta; s["changed_db"] != false || s["changes"] != 0.0 || got.Select.Results[0]["n"] != 2.0 {
			t.Errorf("select = %+v", got.Select)
		}
	})

	t.Run("batch", func(t *testing.T) {
		var got struct {
			Before, After float64
			Failed        string
			OK            []struct {
				Results []map[string]any `json:"results"`
			} `json:"ok"`
		}
		getJSON(t, d, "/batch", &got)
		// spec 62: the failing batch left no row
		if got.Before != 0 || got.After != 0 || !strings.HasPrefix(got.Failed, "D1_ERROR: NOT NULL constraint failed: u.name") {
			t.Errorf("failed batch: %+v", got)
		}
		if len(got.OK) != 2 || len(got.OK[1].Results) != 1 || got.OK[1].Results[0]["name"] != "bob" {
			t.Errorf("batch results = %+v", got.OK)
		}
	})

	t.Run("exec and errors", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/exec", &got)
		// spec 65, 66
		if ok, _ := got["ok"].(map[string]any); ok["count"] != 2.0 || ok["duration"] == nil {
			t.Errorf("exec = %v", got["ok"])
		}
		if s, _ := got["bad"].(string); !strings.HasPrefix(s, `D1_EXEC_ERROR: Error in line 1: INVALID SQL: near "INVALID": syntax error`) {
			t.Errorf("exec error = %v", got["bad"])
		}
		if s, _ := got["syntax"].(string); !strings.HasPrefix(s, `D1_ERROR: near "SELEC": syntax error`) || got["isError"] != true {
			t.Errorf("syntax error = %v, isError %v", got["syntax"], got["isError"])
		}
	})

	t.Run("sessions", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/session", &got)
		b1, _ := got["b1"].(string)
		b2, _ := got["b2"].(string)
		// spec 67, 68, 69
		if got["initial"] != nil || b1 == "" || b2 < b1 || got["seen"] != 1.0 || got["primary"] != true ||
			got["startsWith"] != true || got["seenAgain"] != 1.0 || got["blank"] != nil {
			t.Errorf("session = %v", got)
		}
		if got["bad"] != "D1_SESSION_ERROR: invalid bookmark or constraint | cause: invalid bookmark or constraint" {
			t.Errorf("bad bookmark = %v", got["bad"])
		}
	})

	t.Run("foreign keys", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/fk", &got)
		// spec 72
		if s, _ := got["direct"].(string); !strings.Contains(s, "FOREIGN KEY constraint failed") {
			t.Errorf("direct = %v", got["direct"])
		}
		if got["deferredOk"] != "no error" || got["rows"] != 1.0 {
			t.Errorf("deferred = %v, rows %v", got["deferredOk"], got["rows"])
		}
		if s, _ := got["deferredBad"].(string); !strings.Contains(s, "FOREIGN KEY constraint failed") {
			t.Errorf("deferredBad = %v", got["deferredBad"])
		}
	})

	t.Run("from a Durable Object", func(t *testing.T) {
		var n float64
		getJSON(t, d, "/do", &n)
		getJSON(t, d, "/do", &n)
		if n != 2 {
			t.Errorf("rows written by the object = %v, want 2", n)
		}
	})

	t.Run("dump", func(t *testing.T) {
		var got map[string]any
		getJSON(t, d, "/dump", &got)
		if got["isBuffer"] != true || got["header"] != "SQLite format 3" {
			t.Errorf("dump = %v", got)
		}
	})

	t.Run("concurrent writes", func(t *testing.T) {
		var before float64
		getJSON(t, d, "/count", &before)
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status, body := d.Get(fmt.Sprintf("/insert?v=c%d", i)); status != 200 {
					t.Errorf("insert %d: %d %s", i, status, body)
				}
			}()
		}
		wg.Wait()
		var after float64
		getJSON(t, d, "/count", &after)
		if after != before+40 {
			t.Errorf("count %v → %v, want +40", before, after)
		}
	})

	// The database file is where the brief says, and survives a restart.
	var n float64
	getJSON(t, d, "/count", &n)
	d.Stop()
	if _, err := os.Stat(filepath.Join(state, "d1app", "d1", "11111111-2222-3333-4444-555555555555.sqlite")); err != nil {
		t.Error(err)
	}
	d2 := startDev(t, dir, state)
	var n2 float64
	getJSON(t, d2, "/count", &n2)
	if n2 != n || n == 0 {
		t.Errorf("rows after restart = %v, want %v", n2, n)
	}
}
