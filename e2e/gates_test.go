package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

const gatesConfig = `{
  "name": "gates",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "GATE", "class_name": "Gate" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Gate"] }],
}`

// Each object counts its constructions in a module-level map (an object is
// pinned to one runtime, so the map it sees is always the same one).
const gatesWorker = `import { DurableObject } from "cloudflare:workers";

const constructions = new Map();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Gate extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    const name = ctx.id.name;
    constructions.set(name, (constructions.get(name) ?? 0) + 1);
    this.ready = false;
    ctx.blockConcurrencyWhile(async () => { await sleep(100); this.ready = true; });
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS t (a INTEGER)");
  }
  async fetch(req) {
    const url = new URL(req.url);
    const s = this.ctx.storage;
    const sql = s.sql;
    const json = (v) => Response.json(v);
    switch (url.pathname.split("/")[3]) {
    case "ready": return json({ ready: this.ready, constructions: constructions.get(this.ctx.id.name) });
    case "inc": {
      const v = (await s.get("n")) ?? 0;
      await s.put("n", v + 1);
      return json(v);
    }
    case "inc-fetch": {
      const v = (await s.get("n")) ?? 0;
      await fetch(url.searchParams.get("to"));
      await s.put("n", v + 1);
      return json(v);
    }
    case "n": return json(await s.get("n"));
    case "read-own-write": {
      s.put("k", 1);
      return json(await s.get("k"));
    }
    case "tx-sync": {
      let err;
      try {
        s.transactionSync(() => { sql.exec("INSERT INTO t VALUES (1)"); throw new Error("boom"); });
      } catch (e) { err = e.message; }
      let asyncErr;
      try { s.transactionSync(async () => { sql.exec("INSERT INTO t VALUES (2)"); }); } catch (e) { asyncErr = e.name; }
      const kept = s.transactionSync(() => { sql.exec("INSERT INTO t VALUES (3)"); return "kept"; });
      return json({ err, asyncErr, kept, rows: sql.exec("SELECT a FROM t ORDER BY a").toArray().map((r) => r.a) });
    }
    case "tx": {
      const out = {};
      try {
        await s.transaction(async () => { await s.put("tx1", 1); sql.exec("INSERT INTO t VALUES (10)"); throw new Error("undo"); });
      } catch (e) { out.thrown = e.message; }
      await s.transaction(async (txn) => { await txn.put("tx2", 2); txn.rollback(); });
      try { await s.transaction(async (txn) => { txn.rollback(); await txn.get("x"); }); } catch (e) { out.afterRollback = e.message; }
      try { await s.transaction(async () => { await s.deleteAll(); }); } catch (e) { out.deleteAll = e.message; }
      out.value = await s.transaction(async (txn) => { await txn.put("tx3", 3); return "done"; });
      out.keys = [...(await s.list()).keys()].filter((k) => k.startsWith("tx"));
      out.rows = sql.exec("SELECT a FROM t WHERE a >= 10").toArray().length;
      return json(out);
    }
    case "abort": {
      s.put("aborted", true);
      this.ctx.abort("stop right there");
      return json("unreachable");
    }
    case "get-aborted": return json({ v: (await s.get("aborted")) ?? null, constructions: constructions.get(this.ctx.id.name) });
    case "bcw-reject": {
      await this.ctx.blockConcurrencyWhile(async () => { throw new Error("nope"); });
      return json("unreachable");
    }
    case "fk-fail": {
      sql.exec("CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY)");
      sql.exec("CREATE TABLE IF NOT EXISTS child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
      sql.exec("INSERT INTO child VALUES (42)"); // violates the key only at COMMIT
      return json("should not be seen");
    }
    case "fk-rows": return json(sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 'child'").one().n);
    }
    return new Response("no such route", { status: 404 });
  }
}

export default {
  fetch(req, env) {
    const name = new URL(req.url).pathname.split("/")[2];
    return env.GATE.getByName(name).fetch(req);
  },
};
`

func startGates(t *testing.T) *devServer {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": gatesConfig, "src/index.js": gatesWorker})
	return startDev(t, dir, t.TempDir())
}

// spec 15: blockConcurrencyWhile in the constructor holds concurrent requests
// until its callback resolves.
func TestBlockConcurrencyWhileInConstructor(t *testing.T) {
	d := startGates(t)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if got := d.mustGet("/o/b15/ready"); !strings.Contains(got, `"ready":true`) || !strings.Contains(got, `"constructions":1`) {
				t.Errorf("ready = %s, want ready and one construction", got)
			}
		}()
	}
	wg.Wait()
}

// spec 18: storage awaits hold the input gate, so read-modify-write under
// concurrency loses no update.
func TestInputGate(t *testing.T) {
	d := startGates(t)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen []int
	)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var v int
			if err := json.Unmarshal([]byte(d.mustGet("/o/g18/inc")), &v); err != nil {
				t.Error(err)
			}
			mu.Lock()
			seen = append(seen, v)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Ints(seen)
	for i, v := range seen {
		if v != i {
			t.Fatalf("values %v: want 0..99 each once", seen)
		}
	}
	d.expect("GET", "/o/g18/n", 200, "100")
}

// spec 19: the input gate is not held across an outgoing fetch, so the same
// read-modify-write with a fetch in between interleaves and loses updates.
func TestInputGateOpenAcrossFetch(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { time.Sleep(50 * time.Millisecond) }))
	defer slow.Close()
	d := startGates(t)
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); d.mustGet("/o/g19/inc-fetch?to=" + slow.URL) }()
	}
	wg.Wait()
	var n int
	json.Unmarshal([]byte(d.mustGet("/o/g19/n")), &n)
	if n >= 10 {
		t.Fatalf("n = %d after 10 overlapping increments across fetch: want lost updates (< 10)", n)
	}
}

// spec 23: a read sees the write issued before it.
func TestReadsSeeEarlierWrites(t *testing.T) {
	startGates(t).expect("GET", "/o/r23/read-own-write", 200, "1")
}

// spec 43: transactionSync rolls back on throw and refuses async callbacks;
// transaction() rolls back on throw and on txn.rollback().
func TestTransactions(t *testing.T) {
	d := startGates(t)
	got := d.mustGet("/o/t43/tx-sync")
	if want := `{"err":"boom","asyncErr":"TypeError","kept":"kept","rows":[3]}`; got != want {
		t.Errorf("transactionSync: %s, want %s", got, want)
	}
	got = d.mustGet("/o/t43/tx")
	if want := `{"thrown":"undo","afterRollback":"Cannot get on rolled back transaction","deleteAll":"Cannot call deleteAll() within a transaction","value":"done","keys":["tx3"],"rows":0}`; got != want {
		t.Errorf("transaction: %s\nwant        %s", got, want)
	}
}

// spec 17: ctx.abort() fails the call, discards its unconfirmed write and
// restarts the object.
func TestAbort(t *testing.T) {
	d := startGates(t)
	status, body := d.Get("/o/a17/abort")
	if status != 500 {
		t.Errorf("abort = %d %s, want 500", status, body)
	}
	d.expect("GET", "/o/a17/get-aborted", 200, `{"v":null,"constructions":2}`)
	if !d.waitLog("stop right there") {
		t.Errorf("abort reason not logged:\n%s", d.Logs)
	}
}

// spec 16: a blockConcurrencyWhile callback that rejects resets the object.
func TestBlockConcurrencyWhileRejects(t *testing.T) {
	d := startGates(t)
	d.mustGet("/o/b16/ready")
	if status, _ := d.Get("/o/b16/bcw-reject"); status != 500 {
		t.Errorf("bcw-reject = %d, want 500", status)
	}
	if got := d.mustGet("/o/b16/ready"); !strings.Contains(got, `"constructions":2`) {
		t.Errorf("after a rejected blockConcurrencyWhile: %s, want a second construction", got)
	}
}

// spec 20: when the commit fails (a deferred foreign key), the caller gets an
// error instead of the response, the writes are gone and the object restarts.
func TestFailedCommitFailsResponse(t *testing.T) {
	d := startGates(t)
	d.mustGet("/o/f20/ready")
	status, body := d.Get("/o/f20/fk-fail")
	if status != 500 || strings.Contains(body, "should not be seen") {
		t.Errorf("fk-fail = %d %q, want a 500 instead of the response", status, body)
	}
	d.expect("GET", "/o/f20/fk-rows", 200, "0")
	if got := d.mustGet("/o/f20/ready"); !strings.Contains(got, `"constructions":2`) {
		t.Errorf("after a failed commit: %s, want a second construction", got)
	}
	if !d.waitLog("FOREIGN KEY constraint failed") {
		t.Errorf("commit error not logged:\n%s", d.Logs)
	}
}

// A corrupt object file fails that object with a clear error; the other
// objects keep working.
func TestCorruptObjectFile(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": gatesConfig, "src/index.js": gatesWorker})
	state := t.TempDir()
	d := startDev(t, dir, state)
	d.mustGet("/o/bad/inc")
	d.mustGet("/o/good/inc")
	d.Stop()
	files := sqliteFiles(t, state)
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	// Which of the two files is corrupted does not matter: one object must
	// fail and the other work.
	bad := files[0]
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(bad + suffix)
	}
	if err := os.WriteFile(bad, bytes.Repeat([]byte("not a database "), 500), 0o644); err != nil {
		t.Fatal(err)
	}
	d = startDev(t, dir, state)
	var failed, worked int
	for _, name := range []string{"bad", "good"} {
		status, body := d.Get("/o/" + name + "/inc")
		switch {
		case status == 200:
			worked++
		case status == 500:
			failed++
		default:
			t.Errorf("%s: %d %s", name, status, body)
		}
	}
	if failed != 1 || worked != 1 {
		t.Fatalf("%d failed, %d worked: want the corrupt object to fail and the other to work\n%s", failed, worked, d.Logs)
	}
	if !d.waitLog("file is not a database") {
		t.Errorf("no clear error in the log:\n%s", d.Logs)
	}
	d.mustGet("/o/third/inc") // a new object still works
}
