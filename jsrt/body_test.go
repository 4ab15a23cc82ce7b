package jsrt

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is an HTTP server for outbound fetch tests: /stream writes
// "one", flushes, and writes "two" once release is closed; /sink reports
// its body's first five bytes on first before reading the rest; /slow
// writes a chunk and reports when its client cancels.
type upstream struct {
	*httptest.Server
	release  chan struct{}
	first    chan string
	canceled chan struct{}
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{release: make(chan struct{}), first: make(chan string, 1), canceled: make(chan struct{}, 1)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(rw)
		switch r.URL.Path {
		case "/stream":
			io.WriteString(rw, "one\n")
			rc.Flush()
			select {
			case <-u.release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(rw, "two\n")
		case "/sink":
			buf := make([]byte, 5)
			if _, err := io.ReadFull(r.Body, buf); err != nil {
				http.Error(rw, err.Error(), 400)
				return
			}
			u.first <- string(buf)
			rest, _ := io.ReadAll(r.Body)
			fmt.Fprintf(rw, "%s%s", buf, rest)
		case "/slow":
			io.WriteString(rw, "chunk")
			rc.Flush()
			<-r.Context().Done()
			u.canceled <- struct{}{}
		}
	}))
	t.Cleanup(u.Close)
	return u
}

const fetchStreamWorker = `
const enc = new TextEncoder();
let writer;
exports.default = {
  async fetch(req, env) {
    const url = new URL(req.url);
    switch (url.pathname) {
    case "/proxy": return fetch(env.UP + "/stream");
    case "/first": {
      const reader = (await fetch(env.UP + "/stream")).body.getReader();
      const { value } = await reader.read();
      return new Response(value);
    }
    case "/post": {
      const { readable, writable } = new TransformStream();
      writer = writable.getWriter();
      writer.write(enc.encode("first"));
      const res = await fetch(env.UP + "/sink", { method: "POST", body: readable });
      return new Response(res.status + " " + await res.text());
    }
    case "/more":
      await writer.write(enc.encode("+second"));
      await writer.close();
      return new Response("written");
    case "/abort": {
      const c = new AbortController();
      const res = await fetch(env.UP + "/slow", { signal: c.signal });
      const reader = res.body.getReader();
      const first = new TextDecoder().decode((await reader.read()).value);
      c.abort();
      try { await reader.read(); return new Response(first + " then no error"); }
      catch (e) { return new Response(first + " then " + e.name); }
    }
    }
    return new Response("?", { status: 404 });
  },
};
`

// Outbound fetch streams its response: the script (and a client the
// response is passed on to) gets the first chunk while the upstream has
// not sent the rest.
func TestFetchResponseStreams(t *testing.T) {
	up := newUpstream(t)
	w := newTestWorker(t, fetchStreamWorker, Config{Vars: map[string]any{"UP": up.URL}, Runtimes: 1})
	if _, body, err := fetchBody(t, w, "http://x/first"); err != nil || body != "one\n" {
		t.Fatalf("first chunk: %q %v", body, err)
	}
	resp, err := w.Fetch(context.Background(), httptest.NewRequest("GET", "http://x/proxy", nil))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	arrives(t, readAsync(resp.Body), "one")
	close(up.release)
	rest, err := io.ReadAll(resp.Body)
	if err != nil || string(rest) != "two\n" {
		t.Fatalf("rest %q %v", rest, err)
	}
}

// Outbound fetch streams its request body: the upstream reads the first
// chunk before the script has written the second.
func TestFetchRequestBodyStreams(t *testing.T) {
	up := newUpstream(t)
	w := newTestWorker(t, fetchStreamWorker, Config{Vars: map[string]any{"UP": up.URL}, Runtimes: 1})
	post := asyncFetch(w, "http://x/post")
	select {
	case got := <-up.first:
		if got != "first" {
			t.Fatalf("upstream read %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream got nothing before the body ended")
	}
	if _, body, err := fetchBody(t, w, "http://x/more"); err != nil || body != "written" {
		t.Fatalf("/more: %q %v", body, err)
	}
	arrives(t, post, "200 first+second")
}

// Aborting a fetch's signal cancels the request upstream and errors the
// response body the script is reading.
func TestFetchAbortCancelsStream(t *testing.T) {
	up := newUpstream(t)
	w := newTestWorker(t, fetchStreamWorker, Config{Vars: map[string]any{"UP": up.URL}, Runtimes: 1})
	res := asyncFetch(w, "http://x/abort")
	select {
	case <-up.canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not canceled")
	}
	got := <-res
	if !strings.HasPrefix(got, "chunk then ") || strings.HasSuffix(got, "no error") {
		t.Fatalf("got %q", got)
	}
}

// The budget of request bodies read whole: reservations of several bodies
// add up to the limit, one past it fails with ErrBodiesBusy (and marks its
// request busy: a 503), and release gives a request's bytes back.
func TestBodyBudget(t *testing.T) {
	budget := &bodyBudget{limit: 100}
	var busyA, busyB atomic.Bool
	a := &limitedBody{budget: budget, busy: &busyA}
	b := &limitedBody{budget: budget, busy: &busyB}
	steps := []struct {
		body *limitedBody
		n    int64
		err  error
	}{
		{a, 60, nil},
		{b, 30, nil},
		{b, 20, ErrBodiesBusy},
		{a, 10, nil},
		{a, 1, ErrBodiesBusy},
	}
	for i, s := range steps {
		if err := s.body.reserve(s.n); err != s.err {
			t.Fatalf("step %d: reserve(%d) = %v, want %v", i, s.n, err, s.err)
		}
	}
	if !busyA.Load() || !busyB.Load() || budget.used.Load() != 100 {
		t.Fatalf("busy %v %v, used %d", busyA.Load(), busyB.Load(), budget.used.Load())
	}
	a.release()
	a.release() // twice: nothing more
	if got := budget.used.Load(); got != 30 {
		t.Fatalf("used after a's release = %d, want 30", got)
	}
	if err := b.reserve(70); err != nil {
		t.Fatalf("reserve after release: %v", err)
	}
}
