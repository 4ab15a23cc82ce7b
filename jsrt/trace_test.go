package jsrt

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/tail"
)

// recordingTail is a Tail that keeps every finished item.
type recordingTail struct {
	mu    sync.Mutex
	on    bool
	items []tail.Item
}

func (r *recordingTail) Tracing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.on
}

func (r *recordingTail) Start(it tail.Item) *tail.Trace {
	return tail.NewTrace(it, func(it *tail.Item) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.items = append(r.items, *it)
	})
}

// wait returns the items once there are n, or fails.
func (r *recordingTail) wait(t *testing.T, n int) []tail.Item {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		items := append([]tail.Item(nil), r.items...)
		r.mu.Unlock()
		if len(items) >= n || time.Now().After(deadline) {
			if len(items) != n {
				t.Fatalf("got %d trace items, want %d: %+v", len(items), n, items)
			}
			return items
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *recordingTail) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items = nil
}

const traceWorker = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  fetch(req) { console.log("object fetch", new URL(req.url).pathname); return new Response("o"); }
  hello(who) { console.warn("rpc", who); return "hi " + who; }
  boom() { throw new RangeError("rpc failed"); }
};
function fail() { throw new TypeError("kaboom"); }
exports.default = { async fetch(req, env) {
  const path = new URL(req.url).pathname;
  console.log("start", path);
  await new Promise((r) => setTimeout(r, 2));
  console.info("after timer");
  if (path === "/throw") fail();
  if (path === "/do") {
    const stub = env.OBJ.getByName("alice");
    await (await stub.fetch("http://o/inner")).text();
    await stub.hello("bob");
    try { await stub.boom(); } catch {}
  }
  return new Response("ok", { status: path === "/teapot" ? 418 : 200 });
} };
`

// A request's trace item holds its console lines, across awaits and
// timers, and its uncaught exception with the source position; a Durable
// Object's fetch and RPC calls are items of their own naming the object.
func TestTraceItems(t *testing.T) {
	rec := &recordingTail{on: true}
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	w := objectWorker(t, traceWorker, nil, Config{Name: "tw", Version: "v-1", Logger: log})
	w.SetTail(rec)
	serve := func(path string) int {
		rw := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "http://x"+path, nil)
		r.Header.Set("Authorization", "Bearer secret")
		r = r.WithContext(WithRequestID(r.Context(), "r"+path))
		w.ServeHTTP(rw, r)
		return rw.Code
	}

	if code := serve("/teapot"); code != 418 {
		t.Fatalf("status %d", code)
	}
	it := rec.wait(t, 1)[0]
	if it.Outcome != tail.OutcomeOK || it.ScriptName != "tw" || it.ScriptVersion == nil || it.ScriptVersion.ID != "v-1" ||
		it.RequestID != "r/teapot" || it.ExecutionModel != "stateless" {
		t.Errorf("item: %+v", it)
	}
	if it.Event == nil || it.Event.Request == nil || it.Event.Request.URL != "http://x/teapot" || it.Event.Request.Method != "GET" ||
		it.Event.Response == nil || it.Event.Response.Status != 418 {
		t.Fatalf("event: %+v", it.Event)
	}
	if got := it.Event.Request.Headers["authorization"]; got != "REDACTED" {
		t.Errorf("authorization header shown as %q", got)
	}
	if len(it.Logs) != 2 || it.Logs[0].Level != "log" || it.Logs[0].Message[0] != "start /teapot" ||
		it.Logs[1].Level != "info" || it.Logs[1].Message[0] != "after timer" {
		t.Errorf("logs: %+v", it.Logs)
	}

	rec.reset()
	if code := serve("/throw"); code != 500 {
		t.Fatalf("status %d", code)
	}
	it = rec.wait(t, 1)[0]
	if it.Outcome != tail.OutcomeException || len(it.Exceptions) != 1 || it.Exceptions[0].Name != "TypeError" ||
		it.Exceptions[0].Message != "kaboom" || !strings.Contains(it.Exceptions[0].Stack, "at fail (") {
		t.Errorf("exception item: %+v", it)
	}
	if len(it.Logs) != 2 {
		t.Errorf("logs before the exception: %+v", it.Logs)
	}

	rec.reset()
	if code := serve("/do"); code != 200 {
		t.Fatalf("status %d", code)
	}
	items := rec.wait(t, 4)
	byEvent := map[string]tail.Item{}
	for _, it := range items {
		switch {
		case it.Event.RPCMethod != "":
			byEvent["rpc "+it.Event.RPCMethod] = it
		case it.DurableObjectID != "":
			byEvent["object fetch"] = it
		default:
			byEvent["request"] = it
		}
	}
	of := byEvent["object fetch"]
	if of.ExecutionModel != "durableObject" || of.Entrypoint != "Obj" || of.DurableObjectName != "alice" || len(of.DurableObjectID) != 64 ||
		of.RequestID != "r/do" || len(of.Logs) != 1 || of.Logs[0].Message[0] != "object fetch /inner" || of.Event.Response.Status != 200 {
		t.Errorf("object fetch item: %+v", of)
	}
	hello := byEvent["rpc hello"]
	if hello.Outcome != tail.OutcomeOK || hello.DurableObjectName != "alice" || len(hello.Logs) != 1 ||
		hello.Logs[0].Level != "warn" || hello.Logs[0].Message[0] != "rpc bob" {
		t.Errorf("rpc item: %+v", hello)
	}
	boom := byEvent["rpc boom"]
	if boom.Outcome != tail.OutcomeException || len(boom.Exceptions) != 1 || boom.Exceptions[0].Name != "RangeError" {
		t.Errorf("failed rpc item: %+v", boom)
	}
	if req := byEvent["request"]; len(req.Logs) != 2 || req.Outcome != tail.OutcomeOK {
		t.Errorf("request item: %+v", req)
	}

	// The log lines carry the worker, version, request and object.
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	var objLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, `msg="object fetch /inner"`) {
			objLine = l
		}
	}
	for _, want := range []string{"worker=tw", "version=v-1", "request=r/do", "class=Obj", "name=alice", "object=" + of.DurableObjectID} {
		if !strings.Contains(objLine, want) {
			t.Errorf("object's console line %q lacks %s", objLine, want)
		}
	}
	if !strings.Contains(out, `msg="request failed"`) || !strings.Contains(out, "request=r/throw") {
		t.Errorf("uncaught exception not logged with its request:\n%s", out)
	}

	// Without a tail nothing is gathered.
	rec.mu.Lock()
	rec.on = false
	rec.mu.Unlock()
	rec.reset()
	serve("/teapot")
	time.Sleep(20 * time.Millisecond)
	rec.wait(t, 0)
}

// A client that goes away before the answer makes a canceled item.
func TestTraceCanceled(t *testing.T) {
	rec := &recordingTail{on: true}
	w := newTestWorker(t, `exports.default = { fetch() { console.log("waiting"); return new Promise(() => {}); } }`, Config{Name: "tw"})
	w.SetTail(rec)
	r := httptest.NewRequest("GET", "http://x/", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	w.ServeHTTP(httptest.NewRecorder(), r.WithContext(ctx))
	it := rec.wait(t, 1)[0]
	if it.Outcome != tail.OutcomeCanceled || len(it.Logs) != 1 {
		t.Errorf("item: %+v", it)
	}
}

// Without a connected tail the request path gathers nothing: a request
// allocates no more with an idle Tail set than with none (CPU time is too
// noisy on a shared machine to show it; allocations are not).
func TestNoTailCostsNothing(t *testing.T) {
	w := newTestWorker(t, `exports.default = { fetch(req) { console.log("line"); return new Response("ok"); } }`, Config{Name: "tw"})
	serve := func() {
		r := httptest.NewRequest("GET", "http://x/", nil)
		w.ServeHTTP(httptest.NewRecorder(), r.WithContext(WithRequestID(r.Context(), "1")))
	}
	measure := func() float64 {
		serve() // warm
		return testing.AllocsPerRun(200, serve)
	}
	none := measure()
	rec := &recordingTail{}
	w.SetTail(rec)
	idle := measure()
	rec.mu.Lock()
	rec.on = true
	rec.mu.Unlock()
	tracing := measure()
	t.Logf("allocations per request: no tail %.1f, idle tail %.1f, tracing %.1f", none, idle, tracing)
	if idle > none+1 {
		t.Errorf("an idle tail costs %.1f allocations per request (%.1f without one)", idle-none, none)
	}
	if tracing <= idle {
		t.Errorf("tracing allocates nothing more (%.1f vs %.1f): is the item gathered at all?", tracing, idle)
	}
}

// A scheduled event is an item with its cron and time; a throw is its
// exception.
func TestTraceScheduled(t *testing.T) {
	rec := &recordingTail{on: true}
	w := newTestWorker(t, `exports.default = { async scheduled(ctl) {
  console.log("cron", ctl.cron);
  await null;
  if (ctl.cron === "0 * * * *") throw new Error("hourly failed");
} }`, Config{Name: "tw"})
	w.SetTail(rec)
	at := time.UnixMilli(1700000000000)
	if err := w.Scheduled(context.Background(), "* * * * *", at); err != nil {
		t.Fatal(err)
	}
	if err := w.Scheduled(context.Background(), "0 * * * *", at); err == nil {
		t.Fatal("the throw was not reported")
	}
	items := rec.wait(t, 2)
	ok, failed := items[0], items[1]
	if ok.Outcome != tail.OutcomeOK || ok.Event.Cron != "* * * * *" || ok.Event.ScheduledTime != int64(1700000000000) ||
		len(ok.Logs) != 1 || ok.Logs[0].Message[0] != "cron * * * * *" {
		t.Errorf("scheduled item: %+v %+v", ok, ok.Event)
	}
	if failed.Outcome != tail.OutcomeException || len(failed.Exceptions) != 1 || failed.Exceptions[0].Message != "hourly failed" {
		t.Errorf("failed scheduled item: %+v", failed)
	}
}
