package jsrt

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/objects"
)

// objectWorker runs code with one Durable Object binding OBJ of class Obj,
// its storage in a temp dir and its durability decided by log.
func objectWorker(t *testing.T, code string, log commit.Log, cfg Config) *Worker {
	t.Helper()
	catalog, err := objects.OpenCatalog(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	host := objects.NewHost(catalog, nil)
	t.Cleanup(func() { host.Close() })
	cfg.DurableObjects = map[string]string{"OBJ": "Obj"}
	cfg.Host = host
	cfg.Commit = log
	return newTestWorker(t, code, cfg)
}

// asyncFetch starts a request and returns where its outcome will arrive.
func asyncFetch(w *Worker, url string) <-chan string {
	out := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := w.Fetch(ctx, httptest.NewRequest("GET", url, nil))
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		out <- string(b)
	}()
	return out
}

// notYet fails if ch delivers within a short while: the gate must hold it.
func notYet(t *testing.T, ch <-chan string, what string) {
	t.Helper()
	select {
	case got := <-ch:
		t.Fatalf("%s arrived while its write was not durable: %q", what, got)
	case <-time.After(200 * time.Millisecond):
	}
}

func arrives(t *testing.T, ch <-chan string, want string) {
	t.Helper()
	select {
	case got := <-ch:
		if !strings.Contains(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no answer, want %q", want)
	}
}

const gateObject = `
const { DurableObject } = require("cloudflare:workers");
let constructed = 0;
exports.Obj = class extends DurableObject {
  constructor(ctx, env) { super(ctx, env); constructed++; }
  async fetch(req) {
    const url = new URL(req.url);
    const s = this.ctx.storage;
    switch (url.pathname) {
    case "/put": s.put("k", 1); return new Response("ok");
    case "/get": return new Response("k=" + (await s.get("k")));
    case "/put-fetch":
      s.put("k", 2, { allowUnconfirmed: url.searchParams.has("unconfirmed") });
      await fetch(url.searchParams.get("to"));
      return new Response("fetched");
    case "/sync":
      s.put("k", 3, { allowUnconfirmed: true });
      await s.sync();
      return new Response("synced");
    case "/constructed": return new Response("constructed=" + constructed);
    }
    return new Response("?", { status: 404 });
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`

// spec 20: the response after an unawaited put is not delivered before the
// write is durable. Meanwhile the object keeps running events: the next
// request reads the value and commits, both held behind the first sync.
func TestOutputGateHoldsResponse(t *testing.T) {
	log := gatesim.NewHeldLog()
	w := objectWorker(t, gateObject, log, Config{})
	log.Hold()
	first := asyncFetch(w, "http://x/put")
	notYet(t, first, "the response")
	before := log.Submits()
	second := asyncFetch(w, "http://x/put")
	deadline := time.Now().Add(5 * time.Second)
	for log.Submits() == before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if log.Submits() == before {
		t.Fatal("the object did not run its next event while the first commit was pending")
	}
	notYet(t, second, "the second response")
	log.Release()
	arrives(t, first, "ok")
	arrives(t, second, "ok")
}

// spec 21: an outgoing fetch after an unawaited put waits for the write,
// unless the put was allowUnconfirmed.
func TestOutputGateHoldsFetch(t *testing.T) {
	hits := make(chan struct{}, 10)
	target := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { hits <- struct{}{} }))
	defer target.Close()
	log := gatesim.NewHeldLog()
	w := objectWorker(t, gateObject, log, Config{})

	log.Hold()
	res := asyncFetch(w, "http://x/put-fetch?to="+target.URL)
	select {
	case <-hits:
		t.Fatal("fetch sent before the put was durable")
	case <-time.After(200 * time.Millisecond):
	}
	log.Release()
	<-hits
	arrives(t, res, "fetched")

	log.Hold()
	defer log.Release()
	res = asyncFetch(w, "http://x/put-fetch?unconfirmed&to="+target.URL)
	select {
	case <-hits: // sent while the write is pending, as asked
	case <-time.After(10 * time.Second):
		t.Fatal("fetch after an allowUnconfirmed put was held")
	}
	arrives(t, res, "fetched")
}

// spec 24: sync() waits for allowUnconfirmed writes too; with nothing
// pending it resolves at once.
func TestSyncWaitsForUnconfirmedWrites(t *testing.T) {
	log := gatesim.NewHeldLog()
	w := objectWorker(t, gateObject, log, Config{})
	log.Hold()
	res := asyncFetch(w, "http://x/sync")
	notYet(t, res, "sync()")
	log.Release()
	arrives(t, res, "synced")

	log.Hold()
	defer log.Release()
	arrives(t, asyncFetch(w, "http://x/get"), "k=3") // a read: nothing to wait for
}

// spec 20: if the write cannot be made durable, the caller gets an error
// instead of the response and the object restarts. The write is still in
// the database, so the next answers wait for a sync that succeeds: while
// the disk keeps failing, they fail too.
func TestFailedSyncResetsObject(t *testing.T) {
	log := gatesim.NewHeldLog()
	w := objectWorker(t, gateObject, log, Config{})
	arrives(t, asyncFetch(w, "http://x/constructed"), "constructed=1")
	log.FailNext(2, errors.New("EIO: disk on fire"))
	arrives(t, asyncFetch(w, "http://x/put"), "error: ")
	arrives(t, asyncFetch(w, "http://x/constructed"), "EIO: disk on fire")
	arrives(t, asyncFetch(w, "http://x/get"), "k=1")
	arrives(t, asyncFetch(w, "http://x/constructed"), "constructed=3")
}

// spec 16: a blockConcurrencyWhile callback that never settles resets the
// object after the limit; queued calls fail with the documented error.
func TestBlockConcurrencyWhileTimeout(t *testing.T) {
	code := `
const { DurableObject } = require("cloudflare:workers");
let constructed = 0;
exports.Obj = class extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    if (++constructed === 1) ctx.blockConcurrencyWhile(() => new Promise(() => {}));
  }
  fetch() { return new Response("constructed=" + constructed); }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`
	w := objectWorker(t, code, nil, Config{BlockTimeout: 100 * time.Millisecond})
	arrives(t, asyncFetch(w, "http://x/"), "waited for too long")
	arrives(t, asyncFetch(w, "http://x/"), "constructed=2")
}

// An event's continuation (here after an outgoing fetch) must not run while
// another event holds the object in a transaction or a
// blockConcurrencyWhile section (spec 15, §4.2: the input gate defers
// responses to outgoing fetches and timers too). Before the fix it ran
// inside the other event's transaction: its write joined the transaction's
// savepoint, its answer left without waiting for that write, and the
// transaction's rollback took the acknowledged write with it.
func TestTransactionHoldsOtherEventsContinuations(t *testing.T) {
	arrived := make(chan struct{}, 1)
	proceed := make(chan struct{})
	target := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-proceed
	}))
	defer target.Close()
	code := `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const url = new URL(req.url);
    const s = this.ctx.storage;
    switch (url.pathname) {
    case "/fetch-then-put":
      await fetch(url.searchParams.get("to"));
      s.put("k", "written");
      return new Response("put done");
    case "/rollback":
      try {
        await s.transaction(async (txn) => {
          await txn.put("t", 1);
          await new Promise((resolve) => setTimeout(resolve, 300));
          txn.rollback();
        });
      } catch (e) {}
      return new Response("rolled back");
    case "/get":
      return new Response("k=" + (await s.get("k")));
    }
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`
	w := objectWorker(t, code, nil, Config{})
	put := asyncFetch(w, "http://x/fetch-then-put?to="+target.URL)
	<-arrived // the fetch is out; its response will come during the transaction
	rollback := asyncFetch(w, "http://x/rollback")
	time.Sleep(100 * time.Millisecond) // the transaction is open, sleeping
	close(proceed)
	arrives(t, put, "put done")
	arrives(t, rollback, "rolled back")
	arrives(t, asyncFetch(w, "http://x/get"), "k=written")
}

const streamGateObject = `
const { DurableObject } = require("cloudflare:workers");
const enc = new TextEncoder();
exports.Obj = class extends DurableObject {
  fetch(req) {
    const s = this.ctx.storage;
    s.put("k", 1);
    let step = 0;
    return new Response(new ReadableStream({
      pull(c) {
        step++;
        if (step === 1) c.enqueue(enc.encode("a"));
        else if (step === 2) { s.put("k", 2); c.enqueue(enc.encode("b")); }
        else c.close();
      },
    }, { highWaterMark: 0 })); // pulled only when read, so the test knows when each write happens
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`

// readAsync reads once from r and delivers what it got.
func readAsync(r io.Reader) <-chan string {
	out := make(chan string, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := r.Read(buf)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(buf[:n])
	}()
	return out
}

// spec 20 (output gate) for a streamed response: the response's first
// byte waits for the write before it, and so does a chunk enqueued after a
// later write; the chunks before that write are not held by it.
func TestOutputGateHoldsStreamChunks(t *testing.T) {
	log := gatesim.NewHeldLog()
	w := objectWorker(t, streamGateObject, log, Config{})
	log.Hold()
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", "http://x/", nil))
		got <- result{resp, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("the response left before the write was durable: %v %v", r.resp, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	log.Release()
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.resp.Body.Close()
	arrives(t, readAsync(r.resp.Body), "a")
	log.Hold()
	second := readAsync(r.resp.Body)
	notYet(t, second, "the chunk after the second write")
	log.Release()
	arrives(t, second, "b")
	if rest, err := io.ReadAll(r.resp.Body); err != nil || len(rest) != 0 {
		t.Fatalf("after the last chunk: %q %v", rest, err)
	}
}

// spec 20: the synchronous KV API (ctx.storage.kv) holds the output gate
// like the async one. Its put passed the value where the natives read
// allowUnconfirmed, so a truthy value (and every delete, by its key) left
// the response unheld: found by issue 17's deleted-state-directory probe.
func TestOutputGateHoldsSyncKV(t *testing.T) {
	const code = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  fetch(req) {
    const kv = this.ctx.storage.kv;
    if (new URL(req.url).pathname === "/put") kv.put("k", "truthy");
    else if (new URL(req.url).pathname === "/adelete") this.ctx.storage.delete("k");
    else kv.delete("k");
    return new Response("done");
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`
	for _, path := range []string{"/put", "/delete", "/adelete"} {
		log := gatesim.NewHeldLog()
		w := objectWorker(t, code, log, Config{})
		if path != "/put" {
			arrives(t, asyncFetch(w, "http://x/put"), "done")
		}
		log.Hold()
		got := asyncFetch(w, "http://x"+path)
		notYet(t, got, path+"'s response")
		log.Release()
		arrives(t, got, "done")
	}
}
