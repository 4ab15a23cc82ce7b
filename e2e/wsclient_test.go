package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

const wsClientConfig = `{
  "name": "wsclient",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ROOM", "class_name": "Room" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Room"] }],
}`

// The Worker proxies its client's WebSocket to a Durable Object or to a
// server on the network, each in two ways: passing the socket on (no JS
// per message) and accepting both ends and pumping in JS.
const wsClientWorker = `import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  async fetch(req) {
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.addEventListener("message", (e) => {
      if (typeof e.data === "string" && e.data.endsWith("bye")) server.close(4000, "room says bye");
      else server.send(typeof e.data === "string" ? "room:" + e.data : e.data);
    });
    return new Response(null, { status: 101, webSocket: client });
  }
}

// pump joins two accepted sockets: what one receives the other sends
// (text going upstream marked with the Worker's "w>"), and a close on one
// closes the other.
function pump(down, up) {
  for (const [from, to, mark] of [[down, up, "w>"], [up, down, ""]]) {
    from.addEventListener("message", (e) => to.send(typeof e.data === "string" ? mark + e.data : e.data));
    from.addEventListener("close", (e) => { try { to.close(e.code === 1005 ? 1000 : e.code, e.reason); } catch {} });
  }
}

export default {
  async fetch(req, env) {
    const path = new URL(req.url).pathname;
    const room = env.ROOM.getByName("r");
    switch (path) {
      case "/do/pass": { // client <-> Durable Object, the socket passed on
        const resp = await room.fetch(req);
        return new Response(null, { status: 101, webSocket: resp.webSocket });
      }
      case "/do/pump": { // client <-> Worker (JS) <-> Durable Object
        const resp = await room.fetch("http://room/", { headers: { Upgrade: "websocket" } });
        const upstream = resp.webSocket;
        upstream.accept();
        const [client, server] = Object.values(new WebSocketPair());
        server.accept();
        pump(server, upstream);
        return new Response(null, { status: 101, webSocket: client });
      }
      case "/net/pass": { // client <-> network server, the fetched socket passed on
        const resp = await fetch(env.UPSTREAM.replace(/^ws/, "http"), { headers: { Upgrade: "websocket" } });
        if (resp.status !== 101) return new Response("upstream said " + resp.status, { status: 502 });
        return new Response(null, { status: 101, webSocket: resp.webSocket });
      }
      case "/net/pump": { // client <-> Worker (JS) <-> network server, with new WebSocket
        const upstream = new WebSocket(env.UPSTREAM);
        await new Promise((resolve, reject) => {
          upstream.addEventListener("open", resolve);
          upstream.addEventListener("error", (e) => reject(new Error(e.message)));
        });
        const [client, server] = Object.values(new WebSocketPair());
        server.accept();
        pump(server, upstream);
        return new Response(null, { status: 101, webSocket: client });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`

// upstreamServer is a WebSocket server on the network for the Worker to
// dial: it answers a text message with "net:" before it, echoes binary
// ones, and closes with 4000 on "bye".
func upstreamServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		c, err := websocket.Accept(rw, req, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		ctx := context.Background()
		for {
			typ, b, err := c.Read(ctx)
			if err != nil {
				return
			}
			if typ == websocket.MessageText && strings.HasSuffix(string(b), "bye") {
				_ = c.Close(4000, "net says bye")
				return
			}
			if typ == websocket.MessageText {
				b = append([]byte("net:"), b...)
			}
			if err := c.Write(ctx, typ, b); err != nil {
				return
			}
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "ws://" + ln.Addr().String() + "/"
}

// TestWebSocketClientProxy: a Worker proxies its client's WebSocket to a
// Durable Object and to a server on the network, passing the socket on or
// pumping it in JS; text and binary messages go both ways, and the far
// end's close reaches the client with its code.
func TestWebSocketClientProxy(t *testing.T) {
	up := upstreamServer(t)
	dir := writeProject(t, map[string]string{"wrangler.jsonc": wsClientConfig, "src/index.js": wsClientWorker})
	d := startDev(t, dir, t.TempDir(), "--no-watch", "--var", "UPSTREAM:"+up)
	for _, tc := range []struct {
		path, want, wantCloseReason string
	}{
		{"/do/pass", "room:hello", "room says bye"},
		{"/do/pump", "room:w>hello", "room says bye"},
		{"/net/pass", "net:hello", "net says bye"},
		{"/net/pump", "net:w>hello", "net says bye"},
	} {
		t.Run(strings.ReplaceAll(strings.TrimPrefix(tc.path, "/"), "/", "-"), func(t *testing.T) {
			c := dial(t, d, tc.path)
			for range 3 { // several, in order
				if got := roundTrip(t, c, "hello"); got != tc.want {
					t.Fatalf("reply = %q, want %q\n%s", got, tc.want, d.Logs)
				}
			}
			ctx := context.Background()
			if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2, 255}); err != nil {
				t.Fatal(err)
			}
			if typ, got := recv(t, c); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
				t.Fatalf("binary reply = %v %q", typ, got)
			}
			send(t, c, "bye")
			if code, reason := closeCode(t, c); code != 4000 || reason != tc.wantCloseReason {
				t.Fatalf("close = %d %q, want 4000 %q\n%s", code, reason, tc.wantCloseReason, d.Logs)
			}
		})
	}
}

// TestWebSocketClientPrivateRefused: with --private-fetch=false a Worker's
// WebSocket dials to loopback are refused, as its fetches are.
func TestWebSocketClientPrivateRefused(t *testing.T) {
	up := upstreamServer(t)
	dir := writeProject(t, map[string]string{"wrangler.jsonc": wsClientConfig, "src/index.js": wsClientWorker})
	d := startDev(t, dir, t.TempDir(), "--no-watch", "--private-fetch=false", "--var", "UPSTREAM:"+up)
	for _, path := range []string{"/net/pass", "/net/pump"} {
		if status, _ := d.Get(path); status != http.StatusInternalServerError {
			t.Errorf("GET %s = %d, want 500 (the dial refused)", path, status)
		}
	}
	if !d.waitLog("private address") {
		t.Errorf("the log does not say why the dial was refused:\n%s", d.Logs)
	}
}
