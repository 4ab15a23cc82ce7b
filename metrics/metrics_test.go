package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/server"
)

// The test Worker: a counter object with storage, an alarm and a
// hibernatable WebSocket, and routes that throw or spin past the CPU limit.
const testWorker = `
import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  async fetch(req) {
    const path = new URL(req.url).pathname;
    if (path === "/do/ws") {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    if (path === "/do/alarm") {
      await this.ctx.storage.setAlarm(Date.now() + 20);
      return new Response("set");
    }
    let n = (await this.ctx.storage.get("n")) ?? 0;
    await this.ctx.storage.put("n", ++n);
    return new Response(String(n));
  }
  async webSocketMessage(ws, msg) { ws.send("echo:" + msg); }
  async alarm() { await this.ctx.storage.put("alarmed", true); }
}
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/throw") throw new Error("boom");
    if (path === "/spin") { for (;;) {} }
    if (path.startsWith("/do")) return env.COUNTER.getByName(req.headers.get("x-object") ?? "a").fetch(req);
    return new Response("ok");
  },
};
`

const testConfig = `{
  "name": "mtest",
  "main": "worker.js",
  "compatibility_date": "2026-01-01",
  "limits": { "cpu_ms": 300 },
  "durable_objects": { "bindings": [{ "name": "COUNTER", "class_name": "Counter" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Counter"] }]
}`

// testApp serves the test Worker in-process with metrics on: requests go
// through server.Server, as in cairn dev.
type testApp struct {
	t   *testing.T
	reg *prometheus.Registry
	srv *server.Server
	url string
}

func newTestApp(t *testing.T, idle, hibernate time.Duration) *testApp {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{"worker.js": testWorker, "wrangler.jsonc": testConfig} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	srv := &server.Server{NoRequestLog: true}
	m, err := New(reg, srv.Apps, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Observer = m
	app, err := server.Load(server.Options{Config: dir, PersistTo: filepath.Join(dir, "state"), Observer: m,
		ObjectIdle: idle, HibernateIdle: hibernate, AlarmRetry: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv.Swap(app)
	// A router in front, as cairn serve's, names the route it matched.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/") {
			r = r.WithContext(server.WithRoute(r.Context(), "*/api/*"))
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		hs.Close()
		srv.Swap(nil)
	})
	return &testApp{t: t, reg: reg, srv: srv, url: hs.URL}
}

func (a *testApp) get(path string) (int, string) {
	a.t.Helper()
	resp, err := http.Get(a.url + path)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// family returns the gathered metric family name, nil if absent.
func family(t *testing.T, g prometheus.Gatherer, name string) *dto.MetricFamily {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf
		}
	}
	return nil
}

// sample returns the series of family name whose labels include want, nil
// if there is none.
func sample(t *testing.T, g prometheus.Gatherer, name string, want map[string]string) *dto.Metric {
	t.Helper()
	mf := family(t, g, name)
	if mf == nil {
		return nil
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

// value returns a counter's or gauge's value, or a histogram's count; -1
// for a series that does not exist.
func value(t *testing.T, g prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	m := sample(t, g, name, labels)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("%s: unexpected type", name)
	return 0
}

// eventually waits up to 5 s for cond.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRequestMetrics(t *testing.T) {
	a := newTestApp(t, -1, 0)
	for range 3 {
		if status, body := a.get("/"); status != 200 || body != "ok" {
			t.Fatalf("GET / = %d %q", status, body)
		}
	}
	if status, _ := a.get("/throw"); status != 500 {
		t.Fatalf("GET /throw = %d, want 500", status)
	}
	for _, path := range []string{"/api/a", "/api/b"} {
		if status, _ := a.get(path); status != 200 {
			t.Fatalf("GET %s = %d", path, status)
		}
	}
	// The route pattern is the label, not the path.
	if got := value(t, a.reg, "cairn_request_duration_seconds", map[string]string{"worker": "mtest", "route": "*/api/*", "status": "200"}); got != 2 {
		t.Errorf("requests on route */api/* = %v, want 2", got)
	}
	ok := map[string]string{"worker": "mtest", "route": "", "status": "200"}
	if got := value(t, a.reg, "cairn_request_duration_seconds", ok); got != 3 {
		t.Errorf("requests with status 200 = %v, want 3", got)
	}
	if got := value(t, a.reg, "cairn_request_duration_seconds", map[string]string{"status": "500"}); got != 1 {
		t.Errorf("requests with status 500 = %v, want 1", got)
	}
	cpu := sample(t, a.reg, "cairn_request_cpu_seconds", map[string]string{"worker": "mtest", "route": ""})
	if cpu == nil || cpu.Histogram.GetSampleCount() != 4 || cpu.Histogram.GetSampleSum() <= 0 {
		t.Errorf("cpu histogram = %v, want 4 requests with a positive sum", cpu)
	}
	// The CPU time of a request is at most its latency.
	lat := sample(t, a.reg, "cairn_request_duration_seconds", ok)
	if cpu != nil && lat != nil && cpu.Histogram.GetSampleSum() > lat.Histogram.GetSampleSum()+sample(t, a.reg, "cairn_request_duration_seconds", map[string]string{"status": "500"}).Histogram.GetSampleSum() {
		t.Errorf("CPU time %v > latency", cpu.Histogram.GetSampleSum())
	}
	if got := value(t, a.reg, "cairn_exceptions_total", map[string]string{"worker": "mtest", "where": "fetch"}); got != 1 {
		t.Errorf("fetch exceptions = %v, want 1", got)
	}
}

func TestResetMetrics(t *testing.T) {
	a := newTestApp(t, -1, 0)
	if status, _ := a.get("/spin"); status != 500 {
		t.Fatalf("GET /spin = %d, want 500 (CPU limit)", status)
	}
	eventually(t, "a reset for the CPU limit", func() bool {
		return value(t, a.reg, "cairn_runtime_resets_total", map[string]string{"worker": "mtest", "cause": "cpu"}) == 1
	})
	// The CPU time counts the spin: about the limit (300 ms).
	cpu := sample(t, a.reg, "cairn_request_cpu_seconds", map[string]string{"worker": "mtest"})
	if s := cpu.GetHistogram().GetSampleSum(); s < 0.25 {
		t.Errorf("CPU time of a request stopped at the 300 ms limit = %vs", s)
	}
}

func TestObjectMetrics(t *testing.T) {
	a := newTestApp(t, 300*time.Millisecond, 0)
	for i := range 2 {
		if status, body := a.get("/do"); status != 200 || body != string(rune('1'+i)) {
			t.Fatalf("GET /do = %d %q", status, body)
		}
	}
	w := map[string]string{"worker": "mtest"}
	counter := map[string]string{"worker": "mtest", "class": "Counter"}
	evicted := map[string]string{"worker": "mtest", "class": "Counter", "hibernated": "false"}
	// One activation, unless a slow machine let it go idle between the
	// requests: then it was evicted and activated again.
	ev := max(value(t, a.reg, "cairn_object_evictions_total", evicted), 0)
	acts := value(t, a.reg, "cairn_object_activations_total", counter)
	live := value(t, a.reg, "cairn_objects_live", w)
	if ev == max(value(t, a.reg, "cairn_object_evictions_total", evicted), 0) { // no eviction counted meanwhile
		if acts != ev+1 {
			t.Errorf("activations = %v, evictions = %v; want one more activation", acts, ev)
		}
		if live != 1 && live != 0 {
			t.Errorf("live objects = %v, want 1 (0 while an eviction is being counted)", live)
		}
	}
	// Each write committed and made durable before its response.
	if got := value(t, a.reg, "cairn_commits_total", w); got < 2 {
		t.Errorf("commits = %v, want ≥ 2", got)
	}
	if got := value(t, a.reg, "cairn_commit_latency_seconds", w); got < 2 {
		t.Errorf("commit latencies observed = %v, want ≥ 2", got)
	}
	if got := value(t, a.reg, "cairn_storage_bytes", map[string]string{"worker": "mtest", "kind": "durable_object", "name": "Counter"}); got <= 0 {
		t.Errorf("storage bytes of Counter = %v, want > 0", got)
	}
	// Idle for 300–600 ms: evicted, as often as it was activated.
	eventually(t, "the object's eviction", func() bool {
		return value(t, a.reg, "cairn_object_evictions_total", evicted) == value(t, a.reg, "cairn_object_activations_total", counter)
	})
	if got := value(t, a.reg, "cairn_objects_live", w); got != 0 {
		t.Errorf("live objects after eviction = %v, want 0", got)
	}
	// An alarm 20 ms ahead fires, a little late.
	if status, _ := a.get("/do/alarm"); status != 200 {
		t.Fatalf("GET /do/alarm = %d", status)
	}
	eventually(t, "the alarm", func() bool {
		return value(t, a.reg, "cairn_alarm_lag_seconds", map[string]string{"worker": "mtest", "class": "Counter"}) == 1
	})
}

func TestWebSocketMetrics(t *testing.T) {
	a := newTestApp(t, time.Minute, 300*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(a.url, "http")+"/do/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if err := c.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo:hi" {
		t.Fatalf("read = %q, %v", msg, err)
	}
	w := map[string]string{"worker": "mtest"}
	if got := value(t, a.reg, "cairn_websocket_connections", w); got != 1 {
		t.Errorf("open connections = %v, want 1", got)
	}
	if got := value(t, a.reg, "cairn_websocket_connections_total", w); got != 1 {
		t.Errorf("connections made = %v, want 1", got)
	}
	in := map[string]string{"worker": "mtest", "direction": "in"}
	out := map[string]string{"worker": "mtest", "direction": "out"}
	if got := value(t, a.reg, "cairn_websocket_messages_total", in); got != 1 {
		t.Errorf("messages in = %v, want 1", got)
	}
	eventually(t, "the message out counted", func() bool { return value(t, a.reg, "cairn_websocket_messages_total", out) == 1 })
	if got := value(t, a.reg, "cairn_websocket_message_bytes_total", out); got != float64(len("echo:hi")) {
		t.Errorf("bytes out = %v, want %d", got, len("echo:hi"))
	}
	// Holding only a hibernatable socket, the object hibernates after
	// 300 ms: evicted, its socket open.
	eventually(t, "the object's hibernation", func() bool {
		return value(t, a.reg, "cairn_object_evictions_total", map[string]string{"class": "Counter", "hibernated": "true"}) == 1
	})
	if got := value(t, a.reg, "cairn_objects_hibernated", w); got != 1 {
		t.Errorf("hibernated objects = %v, want 1", got)
	}
	if got := value(t, a.reg, "cairn_objects_live", w); got != 0 {
		t.Errorf("live objects = %v, want 0", got)
	}
	// A message wakes it: live again, no longer counted as hibernated.
	if err := c.Write(ctx, websocket.MessageText, []byte("again")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := c.Read(ctx); err != nil || string(msg) != "echo:again" {
		t.Fatalf("read = %q, %v", msg, err)
	}
	if got := value(t, a.reg, "cairn_objects_hibernated", w); got != 0 {
		t.Errorf("hibernated objects after a message = %v, want 0", got)
	}
	c.Close(websocket.StatusNormalClosure, "")
	eventually(t, "the socket closed", func() bool { return value(t, a.reg, "cairn_websocket_connections", w) == 0 })
}

// blockingFile is a commit.Syncer whose syncs wait for release; err fails
// them. entered, if set, gets a value when a sync starts.
type blockingFile struct {
	release chan struct{}
	entered chan struct{}
	err     error
}

func (f *blockingFile) Sync() error {
	if f.entered != nil {
		select {
		case f.entered <- struct{}{}:
		default:
		}
	}
	<-f.release
	return f.err
}

func TestCommitMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, func() []*server.App { return nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	l := commit.NewLocal(0)
	l.Observe(m.Worker("w").Commit)
	f := &blockingFile{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	var wg sync.WaitGroup
	submit := func(f commit.Syncer) {
		wg.Add(1)
		l.Submit(f, func(error) { wg.Done() })
	}
	// One commit starts a round and blocks in its sync; nine more (on two
	// files) wait meanwhile and make the next round: groups of 1 and 9.
	submit(f)
	<-f.entered
	g := &blockingFile{release: f.release}
	for i := range 9 {
		if i%2 == 0 {
			submit(f)
		} else {
			submit(g)
		}
	}
	close(f.release)
	wg.Wait()
	// A failed sync: its commit counts as failed.
	bad := &blockingFile{release: make(chan struct{}), err: errors.New("EIO")}
	close(bad.release)
	submit(bad)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	w := map[string]string{"worker": "w"}
	if got := testutil.ToFloat64(m.commits.WithLabelValues("w")); got != 11 {
		t.Errorf("commits = %v, want 11", got)
	}
	if got := testutil.ToFloat64(m.commitsFailed.WithLabelValues("w")); got != 1 {
		t.Errorf("failed commits = %v, want 1", got)
	}
	// Rounds: {f}, {f, g}, {bad}: 4 fsyncs.
	if got := testutil.ToFloat64(m.syncs.WithLabelValues("w", "fsync")); got != 4 {
		t.Errorf("fsyncs = %v, want 4", got)
	}
	gs := sample(t, reg, "cairn_commit_group_size", w).GetHistogram()
	if gs.GetSampleCount() != 3 || gs.GetSampleSum() != 11 {
		t.Errorf("group sizes: %d rounds, %v commits; want 3 rounds, 11 commits", gs.GetSampleCount(), gs.GetSampleSum())
	}
	for _, b := range gs.GetBucket() {
		if b.GetUpperBound() == 1 && b.GetCumulativeCount() != 2 || b.GetUpperBound() == 16 && b.GetCumulativeCount() != 3 {
			t.Errorf("group sizes ≤ %v: %d", b.GetUpperBound(), b.GetCumulativeCount())
		}
	}
	if got := value(t, reg, "cairn_commit_latency_seconds", w); got != 11 {
		t.Errorf("commit latencies = %v, want 11", got)
	}
	if got := value(t, reg, "cairn_commit_round_seconds", w); got != 3 {
		t.Errorf("round durations = %v, want 3", got)
	}
}

// Metric names, help and types pass Prometheus's own lint (promtool's
// rules) once every family has a series.
func TestLint(t *testing.T) {
	a := newTestApp(t, -1, 0)
	a.get("/do")
	a.get("/throw")
	problems, err := testutil.GatherAndLint(a.reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
}

func TestHandlerServesTextFormat(t *testing.T) {
	a := newTestApp(t, -1, 0)
	a.get("/")
	rec := httptest.NewRecorder()
	Handler(a.reg, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`cairn_request_duration_seconds_count{route="",status="200",worker="mtest"} 1`,
		"# TYPE cairn_objects_live gauge",
		"go_goroutines",
		"process_cpu_seconds_total",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
