package jsrt

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// newTestWorker runs code (CommonJS, as package bundle emits) with vars.
func newTestWorker(t testing.TB, code string, cfg Config) *Worker {
	t.Helper()
	cfg.Code = code
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func fetchBody(t *testing.T, w *Worker, url string) (int, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := w.Fetch(ctx, httptest.NewRequest("GET", url, nil))
	if err != nil {
		return 0, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestWorkerFetchHandlers(t *testing.T) {
	tests := []struct {
		name, code, want string
	}{
		{"object", `exports.default = { fetch(req, env) { return new Response("hi " + env.WHO) } }`, "hi you"},
		{"async", `exports.default = { async fetch(req) { await null; return new Response(new URL(req.url).pathname) } }`, "/path"},
		{"entrypoint class", `const { WorkerEntrypoint } = require("cloudflare:workers");
exports.default = class extends WorkerEntrypoint { fetch(req) { return new Response("class " + this.env.WHO) } }`, "class you"},
		{"timers and microtasks", `exports.default = { fetch() {
  const order = [];
  return new Promise((resolve) => {
    setTimeout(() => { order.push("timeout"); resolve(new Response(order.join(","))) }, 5);
    queueMicrotask(() => order.push("microtask"));
    order.push("sync");
  });
} }`, "sync,microtask,timeout"},
		{"env module", `const { env } = require("cloudflare:workers");
exports.default = { fetch() { return new Response("env " + env.WHO) } }`, "env you"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTestWorker(t, tt.code, Config{Vars: map[string]any{"WHO": "you"}})
			status, body, err := fetchBody(t, w, "http://example.com/path")
			if err != nil || status != 200 || body != tt.want {
				t.Errorf("fetch = %d %q %v, want 200 %q", status, body, err, tt.want)
			}
		})
	}
}

// A request stuck in a loop is interrupted at the CPU limit; the runtime
// then serves the next request.
func TestWorkerCPULimit(t *testing.T) {
	w := newTestWorker(t, `exports.default = { async fetch(req) {
  if (req.url.endsWith("/spin")) for (;;) {}
  if (req.url.endsWith("/spin-later")) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    for (;;) {}
  }
  return new Response("fine");
} }`, Config{Runtimes: 1, CPULimit: 100 * time.Millisecond})
	for _, path := range []string{"/spin", "/spin-later"} {
		start := time.Now()
		_, _, err := fetchBody(t, w, "http://x"+path)
		if err == nil || !strings.Contains(err.Error(), "CPU time limit") {
			t.Fatalf("%s err = %v, want CPU limit error", path, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: interrupt took %s", path, d)
		}
	}
	if status, body, err := fetchBody(t, w, "http://x/ok"); err != nil || body != "fine" {
		t.Errorf("after interrupt: %d %q %v", status, body, err)
	}
}

func TestWorkerLoadErrors(t *testing.T) {
	tests := []struct {
		name, code, want string
		cfg              Config
	}{
		{"throws at load", `throw new Error("bad start")`, "bad start", Config{}},
		{"syntax", `exports.default = {`, "SyntaxError", Config{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Code = tt.code
			tt.cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			w, err := New(tt.cfg)
			if err == nil {
				w.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// BenchmarkWorkerFetch is the stateless request path without HTTP.
func BenchmarkWorkerFetch(b *testing.B) {
	w, err := New(Config{
		Code:   `exports.default = { fetch(req) { return new Response("ok") } }`,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := w.Fetch(ctx, httptest.NewRequest("GET", "http://x/ok", nil))
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
		}
	})
}
