package jsrt

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// A fetch response whose body the request never reads gives its connection
// back when the request has been answered (before, it held it until the
// Worker closed), but not while a waitUntil promise may still read it.
func TestUnreadFetchBodyReleased(t *testing.T) {
	var mu sync.Mutex
	closed := 0
	upstream := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		chunk := strings.Repeat("x", 64<<10)
		for i := 0; i < 64; i++ { // 4 MiB, more than the transport drains on close
			if _, err := fmt.Fprint(rw, chunk); err != nil {
				return
			}
			rw.(http.Flusher).Flush()
		}
	}))
	upstream.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			mu.Lock()
			closed++
			mu.Unlock()
		}
	}
	upstream.Start()
	t.Cleanup(upstream.Close) // after the Worker's Close (cleanups run last first)
	w := newTestWorker(t, `exports.default = { async fetch(req, env, ctx) {
  const res = await fetch(env.UP);
  if (new URL(req.url).pathname === "/later") {
    ctx.waitUntil(new Promise((r) => setTimeout(r, 300)).then(() => res.text()).then((t) => { globalThis.lateLength = t.length; }, (e) => { globalThis.lateLength = String(e); }));
    return new Response("later");
  }
  if (new URL(req.url).pathname === "/late") return new Response(String(globalThis.lateLength));
  return new Response("unread " + res.status);
} }`, Config{Runtimes: 1, Vars: map[string]any{"UP": upstream.URL}})
	srv := httptest.NewServer(w)
	defer srv.Close()
	get := func(path string) string {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(strings.Builder)
		_, _ = fmt.Fprint(b, readAllString(t, resp))
		return b.String()
	}
	for i := 0; i < 3; i++ {
		if got := get("/"); got != "unread 200" {
			t.Fatalf("got %q", got)
		}
	}
	waitFor := func(n int) bool {
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			c := closed
			mu.Unlock()
			if c >= n {
				return true
			}
			time.Sleep(20 * time.Millisecond)
		}
		return false
	}
	if !waitFor(3) {
		mu.Lock()
		t.Fatalf("%d of 3 upstream connections closed after their requests ended: unread bodies still hold them", closed)
	}
	if got := get("/later"); got != "later" {
		t.Fatalf("got %q", got)
	}
	want := fmt.Sprint(64 * 64 << 10)
	got := ""
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = get("/late"); got == want {
			break
		}
	}
	if got != want {
		t.Errorf("the body read in waitUntil after the response: length %s, want all of it", got)
	}
}

func readAllString(t *testing.T, resp *http.Response) string {
	t.Helper()
	b := new(strings.Builder)
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			return b.String()
		}
	}
}
