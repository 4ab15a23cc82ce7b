//go:build crash || powerloss

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const crashConfig = `{
  "name": "crash",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ACCT", "class_name": "Acct" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Acct"] }],
  "kv_namespaces": [{ "binding": "KV", "id": "crash-kv" }],
  "d1_databases": [{ "binding": "DB", "database_name": "crash", "database_id": "crash-db" }],
}`

// Each write is one event doing three writes with no await between them
// (spec 22): a row in each of two tables and a KV key. After a crash all
// three must be there or none.
const crashWorker = `import { DurableObject } from "cloudflare:workers";
export class Acct extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS a (seq INTEGER PRIMARY KEY, pad BLOB); CREATE TABLE IF NOT EXISTS b (seq INTEGER PRIMARY KEY)");
  }
  async fetch(req) {
    const [, , , op, seq] = new URL(req.url).pathname.split("/");
    const s = this.ctx.storage;
    if (op === "write") {
      s.sql.exec("INSERT INTO a VALUES (?, zeroblob(?))", Number(seq), Number(new URL(req.url).searchParams.get("pad") ?? 0));
      s.sql.exec("INSERT INTO b VALUES (?)", Number(seq));
      s.put("k" + seq, Number(seq));
      return new Response("ok");
    }
    const col = (t) => s.sql.exec("SELECT seq FROM " + t + " ORDER BY seq").toArray().map((r) => r.seq);
    return Response.json({ a: col("a"), b: col("b"), kv: [...(await s.list({ prefix: "k" })).values()].sort((x, y) => x - y) });
  }
}
export default {
  async fetch(req, env) {
    const [, kind, , op, seq] = new URL(req.url).pathname.split("/");
    if (kind === "o") return env.ACCT.getByName(new URL(req.url).pathname.split("/")[2]).fetch(req);
    // Workers KV and D1: one write each per request.
    await env.DB.exec("CREATE TABLE IF NOT EXISTS w (seq INTEGER PRIMARY KEY)");
    if (op === "write") {
      await env.KV.put("k" + seq, seq);
      await env.DB.prepare("INSERT INTO w VALUES (?)").bind(Number(seq)).run();
      return new Response("ok");
    }
    const kv = [];
    let cursor;
    do {
      const page = await env.KV.list({ cursor });
      for (const k of page.keys) kv.push(Number(k.name.slice(1)));
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    const { results } = await env.DB.prepare("SELECT seq FROM w").all();
    return Response.json({ kv, d1: results.map((r) => r.seq) });
  },
};
`

// writeLoad is the clients of the crash and power-loss tests: they write
// to many objects (and to KV + D1) and remember which writes were
// acknowledged.
type writeLoad struct {
	objects, clients int
	pad, padObjects  int // bytes added to each write to objects below padObjects, to grow their WALs to checkpoints
	client           *http.Client

	seq       atomic.Int64
	mu        sync.Mutex
	acked     map[int]map[int]bool // object (objects: KV and D1) → seqs acknowledged
	total     int                  // writes acknowledged
	uncertain int                  // writes cut off (allowed either way)
}

func newWriteLoad(objects, clients int) *writeLoad {
	w := &writeLoad{objects: objects, clients: clients, acked: make(map[int]map[int]bool),
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	for o := range objects + 1 {
		w.acked[o] = make(map[int]bool)
	}
	return w
}

// start runs the clients against d until the returned stop is called (after
// the server died).
func (w *writeLoad) start(d *devServer, round int) (stop func()) {
	var (
		wg   sync.WaitGroup
		done atomic.Bool
	)
	for c := range w.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(round), uint64(c)))
			for !done.Load() {
				o, s := r.IntN(w.objects+1), int(w.seq.Add(1))
				pad := 0
				if o < w.padObjects {
					pad = w.pad
				}
				url := fmt.Sprintf("%s/o/%d/write/%d?pad=%d", d.URL, o, s, pad)
				if o == w.objects { // the KV namespace and the D1 database
					url = fmt.Sprintf("%s/s/x/write/%d", d.URL, s)
				}
				resp, err := w.client.Get(url)
				ok := false
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == 200 && string(b) == "ok"
				}
				w.mu.Lock()
				if ok {
					w.acked[o][s] = true
					w.total++
				} else {
					w.uncertain++
				}
				w.mu.Unlock()
				if err != nil {
					return // the server is gone: no use hammering it until stop
				}
			}
		}()
	}
	return func() {
		done.Store(true)
		wg.Wait()
		w.client.CloseIdleConnections()
	}
}

// check verifies every acknowledged write is there and no event is half
// applied.
func (w *writeLoad) check(t *testing.T, d *devServer, round int) {
	t.Helper()
	checkAll(t, d, w.client, w.acked, round)
}

// checkAll verifies every object: acknowledged writes present in all three
// places, and the three places agree (no half-applied event).
func checkAll(t *testing.T, d *devServer, client *http.Client, acked map[int]map[int]bool, round int) {
	t.Helper()
	checkShared(t, d, client, acked[len(acked)-1], round)
	for o, seqs := range acked {
		if o == len(acked)-1 {
			continue
		}
		resp, err := client.Get(fmt.Sprintf("%s/o/%d/check", d.URL, o))
		if err != nil {
			t.Fatalf("round %d: check %d: %v", round, o, err)
		}
		var got struct{ A, B, KV []int }
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("round %d: check %d: %v", round, o, err)
		}
		if fmt.Sprint(got.A) != fmt.Sprint(got.B) || fmt.Sprint(got.A) != fmt.Sprint(got.KV) {
			t.Fatalf("round %d: object %d half applied:\n a  %v\n b  %v\n kv %v", round, o, got.A, got.B, got.KV)
		}
		present := make(map[int]bool, len(got.A))
		for _, s := range got.A {
			present[s] = true
		}
		var missing []string
		for s := range seqs {
			if !present[s] {
				missing = append(missing, fmt.Sprint(s))
			}
		}
		if len(missing) > 0 {
			t.Fatalf("round %d: object %d lost acknowledged writes %s", round, o, strings.Join(missing, ","))
		}
	}
}

// checkShared verifies the writes acknowledged by the KV + D1 route.
func checkShared(t *testing.T, d *devServer, client *http.Client, seqs map[int]bool, round int) {
	t.Helper()
	resp, err := client.Get(d.URL + "/s/x/check")
	if err != nil {
		t.Fatalf("round %d: check kv/d1: %v", round, err)
	}
	var got struct{ KV, D1 []int }
	err = json.NewDecoder(resp.Body).Decode(&got)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("round %d: check kv/d1: %v", round, err)
	}
	for name, list := range map[string][]int{"KV": got.KV, "D1": got.D1} {
		present := make(map[int]bool, len(list))
		for _, s := range list {
			present[s] = true
		}
		for s := range seqs {
			if !present[s] {
				t.Fatalf("round %d: %s lost acknowledged write %d", round, name, s)
			}
		}
	}
}
