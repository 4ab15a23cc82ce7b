//go:build crash

package e2e

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The crash test: go test -tags "crash sqlite_fts5 sqlite_math_functions" ./e2e -run Crash -v
var crashKills = flag.Int("crash.kills", 30, "how many times the crash test kills the server")

const crashConfig = `{
  "name": "crash",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ACCT", "class_name": "Acct" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Acct"] }],
}`

// Each write is one event doing three writes with no await between them
// (spec 22): a row in each of two tables and a KV key. After a crash all
// three must be there or none.
const crashWorker = `import { DurableObject } from "cloudflare:workers";
export class Acct extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS a (seq INTEGER PRIMARY KEY); CREATE TABLE IF NOT EXISTS b (seq INTEGER PRIMARY KEY)");
  }
  async fetch(req) {
    const [, , , op, seq] = new URL(req.url).pathname.split("/");
    const s = this.ctx.storage;
    if (op === "write") {
      s.sql.exec("INSERT INTO a VALUES (?)", Number(seq));
      s.sql.exec("INSERT INTO b VALUES (?)", Number(seq));
      s.put("k" + seq, Number(seq));
      return new Response("ok");
    }
    const col = (t) => s.sql.exec("SELECT seq FROM " + t + " ORDER BY seq").toArray().map((r) => r.seq);
    return Response.json({ a: col("a"), b: col("b"), kv: [...(await s.list({ prefix: "k" })).values()].sort((x, y) => x - y) });
  }
}
export default { fetch(req, env) { return env.ACCT.getByName(new URL(req.url).pathname.split("/")[2]).fetch(req); } };
`

// Kill cairn with SIGKILL at random moments while many clients write to
// many objects; after each restart every acknowledged write must be there
// and no event's writes may be half applied.
func TestCrashLoop(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": crashConfig, "src/index.js": crashWorker})
	state := t.TempDir()
	const objects, clients = 40, 32
	acked := make(map[int]map[int]bool) // object → seqs acknowledged
	for o := range objects {
		acked[o] = make(map[int]bool)
	}
	var (
		seq                        atomic.Int64
		totalAcked, totalUncertain int
	)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	for round := range *crashKills {
		d := startDev(t, dir, state)
		checkAll(t, d, client, acked, round)

		var (
			mu        sync.Mutex
			wg        sync.WaitGroup
			stop      atomic.Bool
			uncertain int
		)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(uint64(round), uint64(c)))
				for !stop.Load() {
					o, s := r.IntN(objects), int(seq.Add(1))
					resp, err := client.Get(fmt.Sprintf("%s/o/%d/write/%d", d.URL, o, s))
					ok := false
					if err == nil {
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						ok = resp.StatusCode == 200 && string(b) == "ok"
					}
					mu.Lock()
					if ok {
						acked[o][s] = true
						totalAcked++
					} else {
						uncertain++
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond)
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		stop.Store(true)
		wg.Wait()
		client.CloseIdleConnections()
		totalUncertain += uncertain
	}
	d := startDev(t, dir, state)
	checkAll(t, d, client, acked, *crashKills)
	t.Logf("%d kills: %d writes acknowledged and found after restart, %d cut off by a kill (allowed either way), no event half applied",
		*crashKills, totalAcked, totalUncertain)
	if totalAcked == 0 {
		t.Fatal("no write was acknowledged: the test tested nothing")
	}
}

// checkAll verifies every object: acknowledged writes present in all three
// places, and the three places agree (no half-applied event).
func checkAll(t *testing.T, d *devServer, client *http.Client, acked map[int]map[int]bool, round int) {
	t.Helper()
	for o, seqs := range acked {
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
