package jsrt

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/objects"
)

// wsClientScript exercises the client end of WebSockets from a Worker:
// each path answers with what it saw, as text.
const wsClientScript = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.addEventListener("message", (e) => server.send("do:" + e.data));
    server.addEventListener("close", (e) => this.ctx.storage.put("closed", e.code));
    return new Response(null, { status: 101, webSocket: client, headers: { "x-do": "1" } });
  }
  closed() { return this.ctx.storage.get("closed"); }
};

// talk sends msgs on an accepted socket and resolves with the replies.
function talk(ws, msgs) {
  return new Promise((resolve, reject) => {
    const got = [];
    ws.addEventListener("message", (e) => {
      got.push(typeof e.data === "string" ? e.data : "bytes:" + new Uint8Array(e.data).join(","));
      if (got.length === msgs.length) resolve(got.join("|"));
    });
    ws.addEventListener("close", (e) => reject(new Error("closed " + e.code)));
    for (const m of msgs) ws.send(m);
  });
}

exports.default = {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    const echo = env.ECHO;
    if (path === "/do") { // spec: a Durable Object's 101 gives resp.webSocket
      const stub = env.OBJ.getByName("a");
      const resp = await stub.fetch("http://do/", { headers: { Upgrade: "websocket" } });
      const ws = resp.webSocket;
      ws.accept();
      const out = await talk(ws, ["a", "b"]);
      ws.close(4001, "done");
      let closed;
      for (let i = 0; i < 100 && closed === undefined; i++) {
        await new Promise((r) => setTimeout(r, 10));
        closed = await stub.closed();
      }
      return new Response([resp.status, resp.headers.get("x-do"), ws.readyState, out, closed].join(" "));
    }
    if (path === "/fetch") {
      const resp = await fetch(echo, { headers: { Upgrade: "websocket", "X-Hello": "hi" } });
      const ws = resp.webSocket;
      ws.accept();
      const out = await talk(ws, ["x", new Uint8Array([1, 2, 3])]);
      ws.close();
      return new Response([resp.status, out].join(" "));
    }
    if (path === "/fetch-plain") {
      const resp = await fetch(env.PLAIN, { headers: { Upgrade: "websocket" } });
      return new Response([resp.status, String(resp.webSocket), await resp.text()].join(" "));
    }
    if (path === "/new") {
      const ws = new WebSocket(echo, ["chat", "other"]);
      const states = [ws.readyState, ws.url.startsWith("ws://")];
      let threw = "";
      try { ws.send("too early"); } catch (e) { threw = e.name; }
      await new Promise((resolve) => { ws.onopen = resolve; });
      states.push(ws.readyState, ws.protocol);
      const out = await talk(ws, ["y"]);
      const closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve(e.code + ":" + e.reason + ":" + e.wasClean)));
      ws.close(1000, "bye");
      states.push(ws.readyState);
      const c = await closed;
      return new Response([...states, threw, out, c, ws.readyState].join(" "));
    }
    if (path === "/close-connecting") { // close() before open: no open event, the connection failed (1006)
      const ws = new WebSocket(echo);
      const events = [];
      ws.onopen = () => events.push("open");
      ws.close(4005, "changed my mind");
      const state = ws.readyState;
      const c = await new Promise((resolve) => { ws.onclose = (e) => resolve(e.code + ":" + e.wasClean); });
      return new Response([state, ...events, c].join(" "));
    }
    if (path === "/blob") {
      const ws = new WebSocket(echo);
      ws.binaryType = "blob";
      await new Promise((resolve) => { ws.onopen = resolve; });
      const data = await new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); ws.send(new Uint8Array([7, 8])); });
      ws.close();
      return new Response((data instanceof Blob) + " " + new Uint8Array(await data.arrayBuffer()).join(","));
    }
    if (path === "/refused") {
      const ws = new WebSocket(env.DEAD);
      const events = [];
      await new Promise((resolve) => {
        ws.addEventListener("error", () => events.push("error"));
        ws.addEventListener("close", (e) => { events.push("close:" + e.code + ":" + e.wasClean); resolve(); });
      });
      return new Response(events.join(" ") + " " + ws.readyState);
    }
    if (path === "/bad") {
      const out = [];
      for (const args of [["ftp://x/"], ["not a url"], ["ws://x/#frag"], ["ws://x/", ["a", "a"]], ["ws://x/", ["bad proto"]]]) {
        try { new WebSocket(...args); out.push("ok"); } catch (e) { out.push(e.name); }
      }
      return new Response(out.join(" "));
    }
    return new Response("no route", { status: 404 });
  },
};
`

// echoServer is a WebSocket server that echoes every message with
// "echo:" before it (text) or as is (binary), and says which header and
// subprotocol it got as its first message if asked.
func echoServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		c, err := websocket.Accept(rw, req, &websocket.AcceptOptions{Subprotocols: []string{"chat"}})
		if err != nil {
			return
		}
		defer c.CloseNow()
		hello := req.Header.Get("X-Hello")
		for {
			typ, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			if typ == websocket.MessageText {
				b = []byte("echo:" + string(b) + hello)
			}
			if err := c.Write(context.Background(), typ, b); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWebSocketClient: the client end of WebSockets from a Worker, through
// a Durable Object's 101 response, fetch with Upgrade and new WebSocket.
func TestWebSocketClient(t *testing.T) {
	plain := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		_, _ = rw.Write([]byte("plain"))
	}))
	defer plain.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := "ws" + strings.TrimPrefix(dead.URL, "http")
	dead.Close()
	w := objectWorker(t, wsClientScript, nil, Config{Vars: map[string]any{
		"ECHO":  "ws" + strings.TrimPrefix(echoServer(t), "http"),
		"PLAIN": plain.URL,
		"DEAD":  deadURL,
	}})
	for _, tc := range []struct{ path, want string }{
		// accept() of the object's end connects to it; messages both ways; the
		// object sees the Worker's close (code 4001).
		{"/do", "101 1 3 do:a|do:b 4001"},
		{"/fetch", "101 echo:xhi|bytes:1,2,3"},
		// a server that does not switch protocols: its response, no socket
		{"/fetch-plain", "200 null plain"},
		// CONNECTING → OPEN → CLOSING → CLOSED, the chosen subprotocol, send
		// too early throws, the server's close echo
		{"/new", "0 true 1 chat 2 InvalidStateError echo:y 1000:bye:true 3"},
		{"/close-connecting", "2 1006:false"},
		{"/blob", "true 7,8"},
		{"/refused", "error close:1006:false 3"},
		{"/bad", "SyntaxError SyntaxError SyntaxError SyntaxError SyntaxError"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			status, body, err := fetchBody(t, w, "http://w"+tc.path)
			if err != nil || status != 200 || body != tc.want {
				t.Fatalf("GET %s = %d %q, %v; want %q", tc.path, status, body, err, tc.want)
			}
		})
	}
}

// wsDeniedScript dials from a Worker and from a Durable Object; the
// Worker's HTTP client refuses every connection.
const wsDeniedScript = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const resp = await fetch(new URL(req.url).searchParams.get("u"), { headers: { Upgrade: "websocket" } });
    try { this.ctx.acceptWebSocket(resp.webSocket); return new Response("hibernating a client socket"); }
    catch (e) { return new Response(e.name); }
  }
};
exports.default = {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    if (path === "/fetch") {
      try { await fetch(env.U, { headers: { Upgrade: "websocket" } }); return new Response("connected"); }
      catch (e) { return new Response(e.message); }
    }
    if (path === "/new") {
      const ws = new WebSocket(env.U);
      const msg = await new Promise((resolve) => ws.addEventListener("error", (e) => resolve(e.message)));
      return new Response(msg);
    }
    if (path === "/hibernate") return env.OBJ.getByName("h").fetch("http://o/?u=" + encodeURIComponent(env.U));
    if (path === "/return-accepted") {
      const resp = await fetch(env.U, { headers: { Upgrade: "websocket" } });
      resp.webSocket.accept();
      return new Response(null, { status: 101, webSocket: resp.webSocket });
    }
    return new Response("no route", { status: 404 });
  },
};
`

// TestWebSocketClientDialCheck: WebSocket dials go through the Worker's
// outbound HTTP client, so its address check (Config.Outbound) refuses a
// private address as it refuses a fetch to one.
func TestWebSocketClientDialCheck(t *testing.T) {
	echo := echoServer(t) // on loopback
	w := objectWorker(t, wsDeniedScript, nil, Config{Outbound: Outbound{DenyPrivate: true}, Vars: map[string]any{"U": echo}})
	for _, path := range []string{"/fetch", "/new"} {
		_, body, err := fetchBody(t, w, "http://w"+path)
		if err != nil || !strings.Contains(body, "private address") {
			t.Errorf("GET %s = %q, %v; want the dial refused", path, body, err)
		}
	}
	// The same Worker with the check off connects.
	w = objectWorker(t, wsDeniedScript, nil, Config{Vars: map[string]any{"U": echo}})
	if _, body, err := fetchBody(t, w, "http://w/fetch"); err != nil || body != "connected" {
		t.Errorf("GET /fetch without the check = %q, %v; want connected", body, err)
	}
}

// TestWebSocketClientMisuse: a client socket cannot hibernate (spec 2.4),
// and an accepted one cannot also be returned in a response.
func TestWebSocketClientMisuse(t *testing.T) {
	echo := echoServer(t)
	w := objectWorker(t, wsDeniedScript, nil, Config{Vars: map[string]any{"U": echo}})
	if _, body, err := fetchBody(t, w, "http://w/hibernate"); err != nil || body != "TypeError" {
		t.Errorf("acceptWebSocket(client socket) = %q, %v; want a TypeError", body, err)
	}
	srv := httptest.NewServer(w)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/return-accepted", nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("returning an accepted socket: %v, %v; want a 500", resp, err)
	}
}

// wsGateScript: a Durable Object writes, then dials out.
const wsGateScript = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const u = new URL(req.url).searchParams.get("u");
    this.ctx.storage.put("k", 1);
    if (new URL(req.url).pathname === "/new") {
      const ws = new WebSocket(u);
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = (e) => reject(new Error(e.message)); });
      ws.close();
    } else {
      const resp = await fetch(u, { headers: { Upgrade: "websocket" } });
      resp.webSocket.accept();
      resp.webSocket.close();
    }
    return new Response("connected");
  }
};
exports.default = {
  fetch(req, env) {
    const u = new URL(req.url);
    return env.OBJ.getByName(u.pathname).fetch("http://o" + u.pathname + "?u=" + encodeURIComponent(env.U));
  },
};
`

// TestWebSocketClientOutputGate: a Durable Object's WebSocket dial leaves
// only once its earlier writes are durable, as an outgoing fetch does
// (spec 20: outgoing fetch() and WebSocket sends are held).
func TestWebSocketClientOutputGate(t *testing.T) {
	var dials atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		dials.Add(1)
		c, err := websocket.Accept(rw, req, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		_, _, _ = c.Read(context.Background())
	}))
	defer srv.Close()
	log := gatesim.NewHeldLog()
	w := objectWorker(t, wsGateScript, log, Config{Vars: map[string]any{"U": srv.URL}})
	for i, path := range []string{"/new", "/fetch"} {
		log.Hold()
		got := asyncFetch(w, "http://w"+path)
		notYet(t, got, "a dial after a write")
		if n := dials.Load(); n != int32(i) {
			t.Fatalf("%s: the server saw %d dials before the write was durable, want %d", path, n, i)
		}
		log.Release()
		arrives(t, got, "connected")
		if n := dials.Load(); n != int32(i+1) {
			t.Fatalf("%s: %d dials, want %d", path, n, i+1)
		}
	}
}

// goEcho is a Durable Object written in Go that accepts a WebSocket and
// answers each message with "go:" before it.
type goEcho struct{ s *objects.State }

func (g *goEcho) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, err := g.s.AcceptWebSocket(w, r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

func (g *goEcho) WebSocketMessage(_ context.Context, ws *objects.WebSocket, data []byte, _ bool) error {
	return ws.Send("go:" + string(data))
}

func (g *goEcho) WebSocketClose(context.Context, *objects.WebSocket, int, string, bool) error {
	return nil
}

// TestWebSocketClientGoObject: a Worker accepts the socket a Durable
// Object written in Go answered with, and talks to it.
func TestWebSocketClientGoObject(t *testing.T) {
	catalog, err := objects.OpenCatalog(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	host := objects.NewHost(catalog, nil)
	t.Cleanup(func() { host.Close() })
	host.Register("GoEcho", objects.NewGoClass(func(s *objects.State) (any, error) { return &goEcho{s}, nil }))
	w := newTestWorker(t, `
exports.default = {
  async fetch(req, env) {
    const resp = await env.GO.getByName("g").fetch("http://g/", { headers: { Upgrade: "websocket" } });
    const ws = resp.webSocket;
    ws.accept();
    const got = new Promise((resolve) => ws.addEventListener("message", (e) => resolve(e.data)));
    ws.send("hi");
    const out = await got;
    ws.close();
    return new Response(resp.status + " " + out);
  },
};`, Config{
		DurableObjects: map[string]string{"GO": "GoEcho"},
		HostedClasses:  map[string]bool{"GoEcho": true},
		Host:           host,
	})
	host.SetSockets(w.Sockets())
	if _, body, err := fetchBody(t, w, "http://w/"); err != nil || body != "101 go:hi" {
		t.Fatalf("GET / = %q, %v; want 101 go:hi", body, err)
	}
}
