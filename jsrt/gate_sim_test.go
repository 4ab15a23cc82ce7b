package jsrt

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/objects"
)

// The gate simulation (see package gatesim) on Durable Objects written in
// JS: seeded random interleavings of events, their writes with and without
// awaits, blockConcurrencyWhile, transactions, outgoing fetches, commits
// held back and syncs that fail, evictions and restarts. Rerun a failure
// with its seed:
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./jsrt -run GateSimulation -gateprop.seed=N
var (
	simSeed = flag.Uint64("gateprop.seed", 0, "seed of the gate simulations (0: a random one)")
	simN    = flag.Int("gateprop.n", 1000, "events per gate simulation")
)

// What the events of a JS object do; simObjectCode implements each.
var jsSimPatterns = []struct {
	p      *gatesim.Pattern
	weight int
}{
	// No await between the writes: one atomic batch (spec 22), KV, SQL and
	// both mixed.
	{&gatesim.Pattern{Name: "kv", Pair: "kv", Units: 1, Atomic: true, Isolated: true}, 8},
	{&gatesim.Pattern{Name: "sql", Pair: "sql", Units: 1, Atomic: true, Isolated: true}, 6},
	{&gatesim.Pattern{Name: "mixed", Pair: "mix", Units: 1, Atomic: true, Isolated: true}, 5},
	// Storage awaits between the writes: not promised atomic, but the
	// input gate keeps other events out (spec 18).
	{&gatesim.Pattern{Name: "awaited", Pair: "aw", Units: 2, Isolated: true}, 6},
	// A transaction with a timer inside: atomic, and the input gate is
	// held across the timer.
	{&gatesim.Pattern{Name: "tx", Pair: "tx", Units: 1, Atomic: true, Isolated: true}, 5},
	// blockConcurrencyWhile around a timer between two batches: isolated,
	// but a reset between the batches may keep the first (spec 15).
	{&gatesim.Pattern{Name: "bcw", Pair: "bcw", Units: 2, Isolated: true}, 5},
	// An outgoing fetch (or a timer) between two batches: the fetch leaves
	// only once the first is durable (spec 21), and neither holds the
	// input gate (spec 19).
	{&gatesim.Pattern{Name: "split", Pair: "sp", Units: 2}, 5},
	// allowUnconfirmed writes then sync(): the answer waits for them (spec 24).
	{&gatesim.Pattern{Name: "sync", Units: 1, Atomic: true, Isolated: true, Sync: true, Unconfirmed: true}, 3},
	// Writes always undone: an abort (spec 17), a blockConcurrencyWhile
	// callback that throws (spec 16), a transaction rolled back, a commit
	// that fails (spec 20).
	{&gatesim.Pattern{Name: "abort", Pair: "kv", Units: 1, RolledBack: true}, 2},
	{&gatesim.Pattern{Name: "bcwthrow", Pair: "bcw", Units: 1, RolledBack: true}, 2},
	{&gatesim.Pattern{Name: "txrollback", Pair: "tx", Units: 1, RolledBack: true}, 3},
	{&gatesim.Pattern{Name: "fkfail", Pair: "sql", Units: 1, RolledBack: true}, 2},
	{&gatesim.Pattern{Name: "read", Read: true}, 30},
}

// simObjectCode is the Worker of the simulation: its default fetch handler
// forwards each event to object ?o=, by RPC (?rpc) or fetch; the object
// runs it as its pattern says (package gatesim's conventions). __sim is
// installed by the test.
const simObjectCode = `
const { DurableObject } = require("cloudflare:workers");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const first = (id) => "e:" + id + ":first";
const last = (id) => "e:" + id + ":last";

exports.Obj = class extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    __sim.attach();
    this.g = __sim.gen(); // a write of this instance fails once it was reset
    this.s = ctx.storage;
    // o0 creates its tables on every start, which is a write; the others
    // only on their first: most of their starts write nothing.
    if (ctx.id.name !== "o0") {
      try { this.s.sql.exec("SELECT count(*) FROM child"); return; } catch (e) {}
    }
    this.s.sql.exec("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT);" +
      "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);" +
      "CREATE TABLE IF NOT EXISTS child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)");
  }
  sqlPut(k, v) {
    this.s.sql.exec("INSERT INTO kv VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v", k, v);
  }
  async op(id, p, ms, to) {
    const s = this.s, v1 = id + "/1", v2 = id + "/2", r = id + "/r";
    switch (p) {
    case "kv":
      s.put(first(id), v1); s.put("kv:a", v1); s.put("kv:b", v1); s.put(last(id), v1);
      __sim.wrote(id, 1, this.g);
      break;
    case "sql":
      this.sqlPut(first(id), v1); this.sqlPut("sql:a", v1); this.sqlPut("sql:b", v1); this.sqlPut(last(id), v1);
      __sim.wrote(id, 1, this.g);
      break;
    case "mixed":
      s.put(first(id), v1); this.sqlPut("mix:a", v1); s.put("mix:b", v1); this.sqlPut(last(id), v1);
      __sim.wrote(id, 1, this.g);
      break;
    case "awaited":
      await s.put(first(id), v1); await s.put("aw:a", v1);
      __sim.wrote(id, 1, this.g);
      if ((await s.get("aw:a")) !== v1) throw new Error("read did not see the write before it (spec 23)");
      await s.put("aw:b", v2); await s.put(last(id), v2);
      __sim.wrote(id, 2, this.g);
      break;
    case "tx":
      await s.transaction(async (txn) => {
        await txn.put(first(id), v1); await txn.put("tx:a", v1);
        await sleep(ms);
        await txn.put("tx:b", v1); await txn.put(last(id), v1);
      });
      __sim.wrote(id, 1, this.g);
      break;
    case "bcw":
      await this.ctx.blockConcurrencyWhile(async () => {
        s.put(first(id), v1); s.put("bcw:a", v1);
        __sim.wrote(id, 1, this.g);
        await sleep(ms);
        s.put("bcw:b", v2); s.put(last(id), v2);
        __sim.wrote(id, 2, this.g);
      });
      break;
    case "split":
      s.put(first(id), v1); s.put("sp:a", v1);
      __sim.wrote(id, 1, this.g);
      if (id % 2) await (await fetch(to + "?id=" + id)).text();
      else await sleep(ms + 1);
      s.put("sp:b", v2); s.put(last(id), v2);
      __sim.wrote(id, 2, this.g);
      break;
    case "sync":
      s.put(first(id), v1, { allowUnconfirmed: true }); s.put(last(id), v1, { allowUnconfirmed: true });
      __sim.wrote(id, 1, this.g);
      await s.sync();
      break;
    case "abort":
      s.put(first(id), r); s.put("kv:a", r); s.put("kv:b", r); s.put(last(id), r);
      __sim.mark(id);
      this.ctx.abort("sim: abort");
      break;
    case "bcwthrow":
      __sim.mark(id);
      await this.ctx.blockConcurrencyWhile(async () => {
        s.put(first(id), r); s.put("bcw:a", r);
        throw new Error("sim: blockConcurrencyWhile callback throws");
      });
      break;
    case "txrollback":
      try {
        await s.transaction(async (txn) => {
          await txn.put(first(id), r); await txn.put("tx:a", r);
          await sleep(ms);
          await txn.put("tx:b", r); await txn.put(last(id), r);
          if (id % 2) txn.rollback(); else throw new Error("sim: roll back");
        });
      } catch (e) {}
      break;
    case "fkfail":
      this.sqlPut(first(id), r); this.sqlPut("sql:a", r);
      s.sql.exec("INSERT INTO child VALUES (?)", 1000000 + id); // fails at commit
      break;
    case "read": {
      __sim.mark(id);
      const data = {};
      for (const [k, v] of await s.list()) data[k] = v;
      await s.get("kv:a"); // one more storage await: still one consistent view (spec 18)
      try {
        for (const row of s.sql.exec("SELECT k, v FROM kv")) data[row.k] = row.v;
      } catch (e) {} // no table yet
      return JSON.stringify({ in: __sim.instance(), data });
    }
    default:
      throw new Error("no pattern " + p);
    }
    __sim.mark(id);
    return "ok";
  }
  async fetch(req) {
    const q = new URL(req.url).searchParams;
    return new Response(await this.op(Number(q.get("id")), q.get("p"), Number(q.get("ms")), q.get("to")));
  }
};

exports.default = {
  async fetch(req, env) {
    const q = new URL(req.url).searchParams;
    const stub = env.OBJ.getByName(q.get("o"));
    try {
      if (q.has("rpc")) return new Response(await stub.op(Number(q.get("id")), q.get("p"), Number(q.get("ms")), q.get("to")));
      const res = await stub.fetch(req);
      return new Response(await res.text(), { status: res.status });
    } catch (e) {
      return new Response("ERR " + e.message, { status: 500 });
    }
  },
};
`

// jsSim is one run of the simulation.
type jsSim struct {
	t       *testing.T
	m       *gatesim.Model
	log     *gatesim.Log
	dir     string
	objects []string
	target  string // the server outgoing fetches go to

	mu   sync.Mutex // guards host and w
	host *objects.Host
	w    *Worker

	constructed atomic.Int64
	restarts    int
}

// open starts a Host and the Worker on the simulation's files, with the
// hooks the object code calls (__sim) installed in every runtime.
func (s *jsSim) open() {
	t := s.t
	catalog, err := objects.OpenCatalog(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	host := objects.NewHost(catalog, quiet)
	host.EvictIdle(5 * time.Millisecond)
	w := newTestWorker(t, simObjectCode, Config{
		DurableObjects: map[string]string{"OBJ": "Obj"},
		Host:           host,
		Commit:         s.log,
		Runtimes:       2,
		Logger:         quiet,
	})
	for _, rt := range w.rts {
		installed := make(chan struct{})
		rt.loop.Submit(func() {
			defer close(installed)
			active := func() *instance {
				if rt.active == nil {
					panic(rt.vm.NewTypeError("__sim used outside of an object"))
				}
				return rt.active
			}
			_ = rt.vm.Set("__sim", map[string]any{
				"attach": func() {
					i := active()
					s.log.Attach(i.obj.Storage, i.obj.ID.String())
					s.constructed.Add(1)
				},
				// wrote(id, unit, gen): unit of event id was written by the
				// instance constructed in generation gen; its writes threw
				// (unawaited, so silently) if it was reset since.
				"wrote": func(id, unit, gen int) {
					i := active()
					if gen == i.gate.Generation() {
						s.m.Wrote(i.obj.Storage, id, unit, s.m.Instance(i.gate, gen))
					}
				},
				"mark":     func(id int) { s.m.Mark(id) },
				"gen":      func() int { return active().gate.Generation() },
				"instance": func() int { i := active(); return s.m.Instance(i.gate, i.gate.Generation()) },
			})
		})
		<-installed
	}
	s.mu.Lock()
	s.host, s.w = host, w
	s.mu.Unlock()
}

func (s *jsSim) worker() *Worker {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w
}

// close stops the Worker and the Host: the databases are closed.
func (s *jsSim) close() {
	s.mu.Lock()
	w, host := s.w, s.host
	s.mu.Unlock()
	w.Close()
	if err := host.Close(); err != nil {
		s.t.Fatalf("close host: %v", err)
	}
}

// request sends event e through the Worker and returns the answer,
// whether it is a success, and whether it never came.
func (s *jsSim) request(e *gatesim.Event, rpc bool, ms int) (out string, ok, timedOut bool) {
	q := url.Values{"o": {e.Object}, "id": {strconv.Itoa(e.ID)}, "p": {e.Pattern.Name}, "ms": {strconv.Itoa(ms)}, "to": {s.target}}
	if rpc {
		q.Set("rpc", "")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := s.worker().Fetch(ctx, httptest.NewRequest("GET", "http://sim/?"+q.Encode(), nil))
	if err != nil {
		return err.Error(), false, ctx.Err() != nil
	}
	b, _ := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode == http.StatusOK, false
}

// run sends event e and records how it ended in the model. The object's
// code raises no error of its own: an error is a reset.
func (s *jsSim) run(e *gatesim.Event, rpc bool, ms int) {
	out, ok, timedOut := s.request(e, rpc, ms)
	switch {
	case strings.Contains(out, "(spec 23)"):
		s.t.Errorf("event %d (%s on %s): %s", e.ID, e.Pattern.Name, e.Object, out)
		e.Failed(out)
	case timedOut:
		e.TimedOut()
	case !ok:
		e.Failed(out)
	case e.Pattern.Read:
		var r struct {
			In   int               `json:"in"`
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			s.t.Errorf("event %d: bad answer %q: %v", e.ID, out, err)
			return
		}
		e.Acked(r.Data, r.In)
	default:
		e.Acked(nil, 0)
	}
}

// TestGateSimulationJS runs the gate simulation on Durable Objects written
// in JS, called through a Worker (stub.fetch and RPC) from several
// goroutines, while a fake disk holds their commits back, releases them in
// random batches and fails some syncs, idle objects are evicted and the
// Worker and Host restarted. It checks the invariants of package gatesim:
// answers and outgoing fetches wait for durability (spec 20, 21, 24), no
// event sees another half done (spec 18, 22), and resets lose only
// unacknowledged writes (spec 16, 17, 20).
func TestGateSimulationJS(t *testing.T) {
	seed := gatesim.Seed(t, *simSeed)
	start := time.Now()
	log := gatesim.NewLog()
	log.CallSync = true
	s := &jsSim{t: t, log: log, m: gatesim.NewModel(log), dir: filepath.Join(t.TempDir(), "state"), objects: []string{"o0", "o1", "o2"}}
	// Where the "split" events fetch: the fetch must not leave before the
	// write made before it is durable (spec 21).
	var fetched atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.Atoi(r.URL.Query().Get("id"))
		if err != nil {
			t.Errorf("outgoing fetch %s: %v", r.URL, err)
			return
		}
		s.m.Outgoing(id)
		fetched.Add(1)
		io.WriteString(w, "ok")
	}))
	defer target.Close()
	s.target = target.URL
	s.open()

	var total int
	for _, p := range jsSimPatterns {
		total += p.weight
	}
	pick := func(r *rand.Rand) *gatesim.Pattern {
		n := r.IntN(total)
		for _, p := range jsSimPatterns {
			if n -= p.weight; n < 0 {
				return p.p
			}
		}
		panic("unreachable")
	}
	read := jsSimPatterns[len(jsSimPatterns)-1].p

	const callers, phases = 6, 3
	perPhase := max(1, *simN/(callers*phases))
	for phase := range phases {
		stop := make(chan struct{})
		var disk sync.WaitGroup
		// The disk: releases batches of commits at random moments, now and
		// then holding everything for a while, and fails a few syncs.
		disk.Add(1)
		go func() {
			defer disk.Done()
			r := rand.New(rand.NewPCG(seed, uint64(phase)<<32|1))
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := time.Duration(r.IntN(300)) * time.Microsecond
				if r.IntN(20) == 0 {
					d = time.Duration(1+r.IntN(5)) * time.Millisecond // hold everything back
				}
				time.Sleep(d)
				log.Step(r, 0.04)
			}
		}()
		var wg sync.WaitGroup
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, uint64(phase)<<32|uint64(10+c)))
				for range perPhase {
					if r.IntN(25) == 0 {
						time.Sleep(time.Duration(r.IntN(20)) * time.Millisecond) // let objects go idle: evictions
					}
					e := s.m.Issue(s.objects[r.IntN(len(s.objects))], pick(r))
					s.run(e, r.IntN(2) == 0, r.IntN(3))
				}
			}()
		}
		wg.Wait()
		close(stop)
		disk.Wait()
		// Restart: stop the Worker and the Host with the disk keeping up,
		// then open new ones on the same files.
		s.settle(func() { s.close() })
		log.Closed()
		s.open()
		s.restarts++
	}
	// The final state of every object, after the last restart.
	s.settle(func() {
		for _, o := range s.objects {
			e := s.m.Issue(o, read)
			out, ok, _ := s.request(e, false, 0)
			var r struct {
				Data map[string]string `json:"data"`
			}
			if !ok || json.Unmarshal([]byte(out), &r) != nil {
				t.Fatalf("final read of %s: %s", o, out)
			}
			s.m.Final(o, r.Data)
		}
		s.close()
	})

	bad := s.m.Check()
	for k, v := range bad {
		if k == 50 {
			t.Errorf("… and %d more violations", len(bad)-k)
			break
		}
		t.Error(v)
	}
	t.Logf("%d events in %v: %s", s.m.Len(), time.Since(start).Round(time.Millisecond), s.m.Counts())
	t.Logf("disk: %v; %d constructions, %d outgoing fetches, %d restarts", log.Stats(), s.constructed.Load(), fetched.Load(), s.restarts)
}

// settle runs fn while the disk makes everything durable at once.
func (s *jsSim) settle(fn func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Microsecond):
				s.log.ReleaseAll()
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	s.log.ReleaseAll()
}
