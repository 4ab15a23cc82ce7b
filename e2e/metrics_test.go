package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// A Worker with a counter object (storage writes), a hibernatable
// WebSocket echo and a route that throws.
const metricsWorker = `
import { DurableObject } from "cloudflare:workers";
export class Counter extends DurableObject {
  async fetch(req) {
    if (new URL(req.url).pathname === "/do/ws") {
      const pair = new WebSocketPair();
      this.ctx.acceptWebSocket(pair[1]);
      return new Response(null, { status: 101, webSocket: pair[0] });
    }
    const n = ((await this.ctx.storage.get("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", n);
    return new Response(String(n));
  }
  async webSocketMessage(ws, msg) { ws.send("echo:" + msg); }
}
export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/throw") throw new Error("boom");
    if (path.startsWith("/do")) return env.COUNTER.getByName("a").fetch(req);
    return new Response("ok");
  },
};
`

// scrape GETs /metrics from the admin address with token and parses it.
func scrape(t *testing.T, base, token string) map[string]*dto.MetricFamily {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /metrics = %d %s", resp.StatusCode, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// metricValue returns the value (a histogram's count) of the series of
// name whose labels include want; -1 if there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	mf := mfs[name]
	if mf == nil {
		return -1
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
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// The admin address serves Prometheus metrics: after requests, a Durable
// Object write, a WebSocket message and an exception, the series count
// them.
func TestMetricsEndToEnd(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"worker.js": metricsWorker,
		"wrangler.jsonc": `{"name": "metrics", "main": "worker.js", "compatibility_date": "2026-01-01",
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]}`,
	})
	apiPort := freePort(t)
	d := startDev(t, dir, filepath.Join(dir, "state"), "--api-port", fmt.Sprint(apiPort), "--api-token", "tok")
	admin := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	for range 3 {
		d.expect("GET", "/", 200, "ok")
	}
	d.expect("GET", "/do", 200, "1") // spec: storage put, durable before the response
	d.expect("GET", "/do", 200, "2")
	if status, _ := d.Get("/throw"); status != 500 {
		t.Fatalf("GET /throw = %d, want 500", status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(d.URL, "http")+"/do/ws", nil)
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

	// The token is required, as for the rest of the admin API.
	for _, tok := range []string{"", "wrong"} {
		req, _ := http.NewRequest("GET", admin+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(string(b), "Authentication error") {
			t.Errorf("GET /metrics with token %q = %d %s, want 401", tok, resp.StatusCode, b)
		}
	}

	mfs := scrape(t, admin, "tok")
	w := "metrics"
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"cairn_request_duration_seconds", map[string]string{"worker": w, "route": "", "status": "200"}, 5},
		{"cairn_request_duration_seconds", map[string]string{"worker": w, "status": "500"}, 1},
		{"cairn_request_duration_seconds", map[string]string{"worker": w, "status": "101"}, 1},
		{"cairn_request_cpu_seconds", map[string]string{"worker": w, "route": ""}, 7},
		{"cairn_exceptions_total", map[string]string{"worker": w, "where": "fetch"}, 1},
		{"cairn_object_activations_total", map[string]string{"worker": w, "class": "Counter"}, 1},
		{"cairn_objects_live", map[string]string{"worker": w}, 1},
		{"cairn_objects_hibernated", map[string]string{"worker": w}, 0},
		{"cairn_websocket_connections", map[string]string{"worker": w}, 1},
		{"cairn_websocket_connections_total", map[string]string{"worker": w}, 1},
		{"cairn_websocket_messages_total", map[string]string{"worker": w, "direction": "in"}, 1},
		{"cairn_websocket_messages_total", map[string]string{"worker": w, "direction": "out"}, 1},
		{"cairn_runtime_resets_total", map[string]string{"worker": w}, -1}, // none yet: no series
	} {
		if got := metricValue(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The two writes (and the object's first table) were committed
	// through group commit, each waited for.
	if got := metricValue(mfs, "cairn_commits_total", map[string]string{"worker": w}); got < 2 {
		t.Errorf("cairn_commits_total = %v, want ≥ 2", got)
	}
	if got := metricValue(mfs, "cairn_commit_latency_seconds", map[string]string{"worker": w}); got < 2 {
		t.Errorf("commit latencies = %v, want ≥ 2", got)
	}
	if got := metricValue(mfs, "cairn_commit_group_size", map[string]string{"worker": w}); got < 1 {
		t.Errorf("group commit rounds = %v, want ≥ 1", got)
	}
	if got := metricValue(mfs, "cairn_storage_bytes", map[string]string{"worker": w, "kind": "durable_object", "name": "Counter"}); got <= 0 {
		t.Errorf("storage bytes of Counter = %v, want > 0", got)
	}
	if metricValue(mfs, "process_cpu_seconds_total", nil) <= 0 {
		t.Error("no process_cpu_seconds_total")
	}
}
