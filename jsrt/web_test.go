package jsrt

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestScheduled(t *testing.T) {
	tests := []struct {
		name, code string
		wantErr    string // "" for success
		has        bool
	}{
		{"object", `exports.default = { async scheduled(c, env, ctx) {
  if (c.cron !== "*/5 * * * *" || c.scheduledTime !== 1700000000000 || c.type !== "scheduled") throw new Error("bad controller " + JSON.stringify(c));
  if (env.WHO !== "you" || typeof ctx.waitUntil !== "function") throw new Error("bad env or ctx");
  c.noRetry();
} }`, "", true},
		{"class", `const { WorkerEntrypoint } = require("cloudflare:workers");
exports.default = class extends WorkerEntrypoint { scheduled(c) { if (this.env.WHO !== "you" || c.cron !== "*/5 * * * *") throw new Error("bad"); } }`, "", true},
		{"throws", `exports.default = { scheduled() { throw new TypeError("boom") } }`, "boom", true},
		{"rejects", `exports.default = { async scheduled() { await null; throw new Error("later") } }`, "later", true},
		{"none", `exports.default = { fetch() { return new Response("") } }`, ErrNoScheduled.Error(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newTestWorker(t, tt.code, Config{Vars: map[string]any{"WHO": "you"}})
			if got := w.HasScheduled(); got != tt.has {
				t.Errorf("HasScheduled = %v, want %v", got, tt.has)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := w.Scheduled(ctx, "*/5 * * * *", time.UnixMilli(1700000000000))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Scheduled: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Scheduled error %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestScheduledCPULimit(t *testing.T) {
	w := newTestWorker(t, `exports.default = { async scheduled() { await null; for (;;) {} } }`, Config{CPULimit: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Scheduled(ctx, "* * * * *", time.Now()); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Scheduled over the CPU limit: %v, want the limit's error", err)
	}
}

func TestFetcherBinding(t *testing.T) {
	h := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("X-Path", r.URL.Path)
		rw.WriteHeader(http.StatusTeapot)
		io.WriteString(rw, r.Method+" "+r.Header.Get("X-In"))
	})
	w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  const r = await env.ASSETS.fetch(new Request("http://x/a/b", { method: "POST", body: "x", headers: { "X-In": "hi" } }));
  let rpc = "";
  try { await env.ASSETS.other(); } catch (e) { rpc = e.message; }
  return new Response(r.status + " " + r.headers.get("X-Path") + " " + (await r.text()) + " | " + rpc);
} }`, Config{Fetchers: map[string]http.Handler{"ASSETS": h}})
	_, body, err := fetchBody(t, w, "http://x/")
	if err != nil {
		t.Fatal(err)
	}
	if want := "418 /a/b POST hi | env.ASSETS supports only fetch()"; body != want {
		t.Errorf("body %q, want %q", body, want)
	}
}

func TestRequestCFAndID(t *testing.T) {
	var mu sync.Mutex
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	w := newTestWorker(t, `exports.default = { async fetch(req) {
  console.log("before");
  await new Promise((r) => setTimeout(r, 5));
  console.log("after timer");
  return new Response(JSON.stringify(req.cf ?? null) + " " + JSON.stringify(req.clone().cf ?? null));
} }`, Config{Logger: log})
	for _, tc := range []struct {
		cf, id, want string
	}{
		{`{"country":"NZ","asn":1}`, "req-1", `{"country":"NZ","asn":1} {"country":"NZ","asn":1}`},
		{"", "", "null null"},
	} {
		r := httptest.NewRequest("GET", "http://x/", nil)
		ctx := r.Context()
		if tc.cf != "" {
			ctx = WithCF(ctx, tc.cf)
		}
		if tc.id != "" {
			ctx = WithRequestID(ctx, tc.id)
		}
		resp, err := w.Fetch(ctx, r.WithContext(ctx))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if string(b) != tc.want {
			t.Errorf("cf %q: body %s, want %s", tc.cf, b, tc.want)
		}
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	lines := strings.Split(out, "\n")
	for i, msg := range []string{`msg=before `, `msg="after timer" `} {
		if !strings.Contains(lines[i], msg) || !strings.HasSuffix(lines[i], "source=console request=req-1") {
			t.Errorf("log line %d is %q, want %s… request=req-1", i, lines[i], msg)
		}
	}
	if strings.Count(out, "request=") != 2 {
		t.Errorf("want 2 lines with a request id (the second request had none):\n%s", out)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
