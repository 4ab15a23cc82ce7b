package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const wsConfig = `{
  "name": "ws",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ROOM", "class_name": "Room" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Room"] }],
}`

const wsWorker = `import { DurableObject } from "cloudflare:workers";

let constructed = 0; // module state: survives ctx.abort(), which resets the instance only

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    constructed++;
    this.sockets = new Set();
    this.hits = 0;
  }
  async fetch(req) {
    if (req.headers.get("Upgrade") !== "websocket") {
      return new Response("Expected Upgrade: websocket", { status: 426 });
    }
    const url = new URL(req.url);
    const [client, server] = Object.values(new WebSocketPair());
    if (url.searchParams.get("mode") === "std") {
      server.accept();
      this.sockets.add(server);
      server.addEventListener("message", (e) => {
        if (typeof e.data === "string" && e.data.startsWith("bcast:")) {
          for (const s of this.sockets) s.send(e.data.slice(6));
        } else {
          server.send(e.data);
        }
      });
      server.addEventListener("close", () => this.sockets.delete(server));
    } else {
      const tags = (url.searchParams.get("tags") || "").split(",").filter(Boolean);
      this.ctx.acceptWebSocket(server, tags);
      server.serializeAttachment({ name: url.searchParams.get("name"), at: constructed });
    }
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, msg) {
    this.hits++;
    if (typeof msg !== "string") return ws.send(msg);
    const [cmd, arg] = msg.split(":");
    const ctx = this.ctx;
    const attempt = (fn) => { try { fn(); return "no error"; } catch (e) { return e.message; } };
    switch (cmd) {
      case "whoami":
        return ws.send(JSON.stringify({ att: ws.deserializeAttachment(), constructed, hits: this.hits, tags: ctx.getTags(ws) }));
      case "bcast":
        for (const s of ctx.getWebSockets()) s.send(arg);
        return;
      case "count":
        return ws.send(String(ctx.getWebSockets(arg || undefined).length));
      case "abort":
        ctx.abort("reset by test");
        return;
      case "auto":
        ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
        return ws.send("auto set");
      case "ts":
        return ws.send(String(ctx.getWebSocketAutoResponseTimestamp(ws) !== null));
      case "limits": {
        const p1 = new WebSocketPair(), p2 = new WebSocketPair(), p3 = new WebSocketPair();
        p3[1].accept();
        return ws.send(JSON.stringify({
          tags11: attempt(() => ctx.acceptWebSocket(p1[1], Array.from({ length: 11 }, (_, i) => "t" + i))),
          longTag: attempt(() => ctx.acceptWebSocket(p2[1], ["x".repeat(257)])),
          getTagsStd: attempt(() => ctx.getTags(p3[1])),
          acceptTwice: attempt(() => ctx.acceptWebSocket(p3[1])),
          bigAttachment: attempt(() => ws.serializeAttachment("x".repeat(20000))),
          timeout: attempt(() => ctx.setHibernatableWebSocketEventTimeout(604800001)),
        }));
      }
      case "slow":
        ctx.setHibernatableWebSocketEventTimeout(200);
        await new Promise((r) => setTimeout(r, 1500));
        return ws.send("slow done"); // never arrives: the timeout reset the instance
      case "lasterror":
        return ws.send(String(await ctx.storage.get("lastError")));
      case "lastclose":
        return ws.send(JSON.stringify((await ctx.storage.get("lastClose")) ?? null));
      case "timer":
        setTimeout(() => {}, 60000);
        return ws.send("timer set");
      case "write": {
        await ctx.storage.put("w", arg);
        return ws.send("wrote " + arg);
      }
      default:
        return ws.send("unknown " + msg);
    }
  }
  async webSocketError(ws, err) {
    await this.ctx.storage.put("lastError", String(err.message));
  }
  async webSocketClose(ws, code, reason, wasClean) {
    await this.ctx.storage.put("lastClose", { code, reason, wasClean, name: ws.deserializeAttachment().name });
  }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname.startsWith("/do/")) {
      return env.ROOM.get(env.ROOM.idFromName(url.pathname.slice(4))).fetch(req);
    }
    if (url.pathname === "/bad101") {
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      return new Response(null, { status: 101, webSocket: client });
    }
    if (url.pathname === "/echo") {
      if (req.headers.get("Upgrade") !== "websocket") return new Response("Expected Upgrade: websocket", { status: 426 });
      const [client, server] = Object.values(new WebSocketPair());
      server.accept();
      server.addEventListener("message", (e) => {
        if (e.data === "close") return server.close(4000, "bye");
        server.send(typeof e.data === "string" ? "echo:" + e.data : e.data);
      });
      return new Response(null, { status: 101, webSocket: client });
    }
    return new Response("not found", { status: 404 });
  },
};
`

func startWS(t *testing.T, args ...string) *devServer {
	t.Helper()
	dir := writeProject(t, map[string]string{"wrangler.jsonc": wsConfig, "src/index.js": wsWorker})
	return startDev(t, dir, t.TempDir(), append([]string{"--no-watch"}, args...)...)
}

// dial opens a WebSocket to path on d.
func dial(t *testing.T, d *devServer, path string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(d.URL, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v (%v)\n%s", path, err, resp, d.Logs)
	}
	c.SetReadLimit(64 << 20)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func send(t *testing.T, c *websocket.Conn, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
}

func recv(t *testing.T, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return typ, string(b)
}

// roundTrip sends msg and returns the next text message.
func roundTrip(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	send(t, c, msg)
	_, got := recv(t, c)
	return got
}

// closeCode reads until the connection closes and returns the close code.
func closeCode(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code, ce.Reason
			}
			return websocket.CloseStatus(err), err.Error()
		}
	}
}

func TestWebSocketWorkerEcho(t *testing.T) {
	d := startWS(t)
	c := dial(t, d, "/echo")
	if got := roundTrip(t, c, "hello"); got != "echo:hello" {
		t.Errorf("text echo = %q", got)
	}
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 1, 2, 255}); err != nil {
		t.Fatal(err)
	}
	if typ, got := recv(t, c); typ != websocket.MessageBinary || got != "\x00\x01\x02\xff" {
		t.Errorf("binary echo = %v %q", typ, got)
	}
	send(t, c, "close")
	if code, reason := closeCode(t, c); code != 4000 || reason != "bye" {
		t.Errorf("server close = %d %q, want 4000 bye", code, reason)
	}
	// A plain request to the upgrade route gets the app's answer.
	d.expect("GET", "/echo", 426, "Expected Upgrade: websocket")
	d.expect("GET", "/do/plain", 426, "Expected Upgrade: websocket")
	// A 101 to a request that is no upgrade: a clear 400, and the server lives on.
	if status, body := d.Get("/bad101"); status != http.StatusBadRequest || !strings.Contains(body, "not a WebSocket upgrade") {
		t.Errorf("GET /bad101 = %d %q", status, body)
	}
	if got := roundTrip(t, dial(t, d, "/echo"), "again"); got != "echo:again" {
		t.Errorf("echo after bad101 = %q", got)
	}
}

func TestWebSocketObjectBroadcast(t *testing.T) {
	d := startWS(t)
	// The upgrade goes Worker → stub.fetch → object; the object's 101 passes back.
	a := dial(t, d, "/do/std?mode=std")
	b := dial(t, d, "/do/std?mode=std")
	if got := roundTrip(t, a, "hi"); got != "hi" {
		t.Errorf("object echo = %q", got)
	}
	if got := roundTrip(t, b, "hey"); got != "hey" {
		t.Errorf("object echo = %q", got)
	}
	send(t, a, "bcast:all")
	if _, got := recv(t, a); got != "all" {
		t.Errorf("a got %q", got)
	}
	if _, got := recv(t, b); got != "all" {
		t.Errorf("b got %q", got)
	}
}

func TestWebSocketHibernationAPI(t *testing.T) {
	d := startWS(t)
	a := dial(t, d, "/do/hib?tags=red,blue&name=a")
	b := dial(t, d, "/do/hib?tags=green&name=b")

	// spec 55: tags select sockets; limits throw.
	for _, tc := range []struct{ msg, want string }{
		{"count:red", "1"}, {"count:green", "1"}, {"count:none", "0"}, {"count", "2"},
	} {
		if got := roundTrip(t, a, tc.msg); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.msg, got, tc.want)
		}
	}
	var limits map[string]string
	if err := json.Unmarshal([]byte(roundTrip(t, a, "limits")), &limits); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"tags11":        "a Hibernatable WebSocket cannot have more than 10 tags",
		"longTag":       "is longer than the max tag length (256 characters).",
		"getTagsStd":    "getTags()",
		"acceptTwice":   "Cannot call acceptWebSocket() if the WebSocket was already accepted via accept()",
		"bigAttachment": "cannot be larger than 16384 bytes", // spec 58
		"timeout":       "Event timeout should not exceed 604800000 ms.",
	} {
		if !strings.Contains(limits[key], want) {
			t.Errorf("%s: error %q, want it to contain %q", key, limits[key], want)
		}
	}

	type who struct {
		Att         struct{ Name string }
		Constructed int
		Hits        int
		Tags        []string
	}
	whoami := func(c *websocket.Conn) who {
		t.Helper()
		var w who
		if err := json.Unmarshal([]byte(roundTrip(t, c, "whoami")), &w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	before := whoami(a)
	if before.Att.Name != "a" || strings.Join(before.Tags, ",") != "red,blue" || before.Hits < 2 {
		t.Errorf("whoami = %+v", before)
	}

	// A reset drops the instance, not the sockets: the next message
	// constructs the object again; attachments and tags are intact.
	send(t, a, "abort") // messages of one socket are delivered in order
	after := whoami(a)
	if after.Constructed != before.Constructed+1 || after.Hits != 1 || after.Att.Name != "a" || strings.Join(after.Tags, ",") != "red,blue" {
		t.Errorf("after reset whoami(a) = %+v, before %+v\n%s", after, before, d.Logs)
	}
	if w := whoami(b); w.Constructed != after.Constructed || w.Hits != 2 || w.Att.Name != "b" || strings.Join(w.Tags, ",") != "green" {
		t.Errorf("after reset whoami(b) = %+v", w)
	}
	send(t, b, "bcast:everyone")
	for _, c := range []*websocket.Conn{a, b} {
		if _, got := recv(t, c); got != "everyone" {
			t.Errorf("broadcast after reset got %q", got)
		}
	}

	// spec 56: the auto-response is answered without running the object.
	if got := roundTrip(t, a, "auto"); got != "auto set" {
		t.Fatalf("auto = %q", got)
	}
	if got := roundTrip(t, a, "ts"); got != "false" {
		t.Errorf("timestamp before ping = %q", got)
	}
	hits := whoami(a).Hits
	for range 3 {
		if got := roundTrip(t, a, "ping"); got != "pong" {
			t.Errorf("ping = %q", got)
		}
	}
	if got := roundTrip(t, a, "ts"); got != "true" {
		t.Errorf("timestamp after ping = %q", got)
	}
	if h := whoami(a).Hits; h != hits+2 { // ts and whoami ran JS; the pings did not
		t.Errorf("hits = %d, want %d: auto-responses reached webSocketMessage", h, hits+2)
	}

	// spec 57: a client that vanishes without a Close frame → 1006.
	b.CloseNow()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := roundTrip(t, a, "lastclose")
		if got != "null" {
			want := `{"code":1006,"reason":"WebSocket disconnected without sending Close frame.","wasClean":false,"name":"b"}`
			if got != want {
				t.Errorf("lastClose = %s, want %s", got, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("webSocketClose not called after the client dropped\n%s", d.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := roundTrip(t, a, "count"); got != "1" {
		t.Errorf("sockets after drop = %s, want 1", got)
	}
	// A handler over the event timeout resets the object; the old
	// instance's late send is refused.
	constructed := whoami(a).Constructed
	send(t, a, "slow")
	time.Sleep(500 * time.Millisecond)
	if w := whoami(a); w.Constructed != constructed+1 {
		t.Errorf("after the event timeout constructed = %d, want %d\n%s", w.Constructed, constructed+1, d.Logs)
	}
	time.Sleep(1500 * time.Millisecond)
	if got := roundTrip(t, a, "count"); got != "1" {
		t.Errorf("after the timed-out handler's timer: got %q, want the count 1", got)
	}
	// A clean close reports its code and reason.
	c := dial(t, d, "/do/hib?name=c")
	if err := c.Close(4001, "done"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := roundTrip(t, a, "lastclose"); got != `{"code":4001,"reason":"done","wasClean":true,"name":"c"}` {
		t.Errorf("lastClose after clean close = %s", got)
	}
}

func TestWebSocketOversizedMessage(t *testing.T) {
	d := startWS(t)
	a := dial(t, d, "/do/big?mode=std")
	b := dial(t, d, "/do/big?mode=std")
	big := make([]byte, 32<<20+1)
	_ = a.Write(context.Background(), websocket.MessageBinary, big)
	if code, _ := closeCode(t, a); code != websocket.StatusMessageTooBig {
		t.Errorf("oversized message closed with %d, want 1009", code)
	}
	// The object and its other sockets keep working; a message at the limit passes.
	if got := roundTrip(t, b, "still here"); got != "still here" {
		t.Errorf("other socket = %q", got)
	}
	// A hibernatable socket reports the error to webSocketError.
	h := dial(t, d, "/do/big?name=h")
	_ = h.Write(context.Background(), websocket.MessageBinary, big)
	if code, _ := closeCode(t, h); code != websocket.StatusMessageTooBig {
		t.Errorf("hibernatable: oversized message closed with %d, want 1009", code)
	}
	h2 := dial(t, d, "/do/big?name=h2")
	deadline := time.Now().Add(10 * time.Second)
	for got := roundTrip(t, h2, "lasterror"); got != "Message is too large"; got = roundTrip(t, h2, "lasterror") {
		if time.Now().After(deadline) {
			t.Fatalf("webSocketError saw %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := roundTrip(t, h2, "lastclose"); !strings.Contains(got, `"code":1009`) {
		t.Errorf("lastClose = %s", got)
	}
	if err := b.Write(context.Background(), websocket.MessageBinary, big[:32<<20]); err != nil {
		t.Fatal(err)
	}
	if _, got := recv(t, b); len(got) != 32<<20 {
		t.Errorf("32 MiB echo = %d bytes", len(got))
	}
}

// The limit is configurable.
func TestWebSocketMaxMessageFlag(t *testing.T) {
	d := startWS(t, "--websocket-max-message", "1024")
	c := dial(t, d, "/echo")
	if err := c.Write(context.Background(), websocket.MessageText, []byte(strings.Repeat("x", 1024))); err != nil {
		t.Fatal(err)
	}
	if _, got := recv(t, c); len(got) != len("echo:")+1024 {
		t.Errorf("echo of a message at the limit = %d bytes", len(got))
	}
	_ = c.Write(context.Background(), websocket.MessageText, []byte(strings.Repeat("x", 1025)))
	if code, _ := closeCode(t, c); code != websocket.StatusMessageTooBig {
		t.Errorf("1025-byte message closed with %d, want 1009", code)
	}
}

func TestWebSocketShutdownCloses1012(t *testing.T) {
	d := startWS(t)
	a := dial(t, d, "/echo")
	h := dial(t, d, "/do/sd?name=h")
	if got := roundTrip(t, a, "x"); got != "echo:x" {
		t.Fatalf("echo = %q", got)
	}
	if got := roundTrip(t, h, "count"); got != "1" {
		t.Fatalf("count = %q", got)
	}
	codes := make(chan websocket.StatusCode, 2)
	for _, c := range []*websocket.Conn{a, h} {
		go func() {
			code, _ := closeCode(t, c)
			codes <- code
		}()
	}
	d.Stop()
	for range 2 {
		if code := <-codes; code != websocket.StatusServiceRestart {
			t.Errorf("close on SIGTERM = %d, want 1012", code)
		}
	}
}

// spec 13: an object holding only hibernatable sockets is evicted after the
// hibernation idle time while its sockets stay open; the next message
// constructs it again (in-memory state reset, attachments and tags intact)
// and is delivered. An object with an accept()ed socket is not evicted.
func TestWebSocketRealHibernation(t *testing.T) {
	d := startWS(t, "--hibernate-idle", "200ms")
	a := dial(t, d, "/do/sleepy?tags=red&name=a")
	std := dial(t, d, "/do/awake?mode=std")
	timer := dial(t, d, "/do/timer?name=t")
	if got := roundTrip(t, timer, "timer"); got != "timer set" {
		t.Fatalf("timer = %q", got)
	}

	type who struct {
		Att         struct{ Name string }
		Constructed int
		Hits        int
		Tags        []string
	}
	var before, after who
	if err := json.Unmarshal([]byte(roundTrip(t, a, "whoami")), &before); err != nil {
		t.Fatal(err)
	}
	if got := roundTrip(t, std, "hello"); got != "hello" {
		t.Fatalf("std echo = %q", got)
	}
	time.Sleep(1500 * time.Millisecond) // well past the hibernation idle time
	if err := json.Unmarshal([]byte(roundTrip(t, a, "whoami")), &after); err != nil {
		t.Fatal(err)
	}
	if after.Constructed <= before.Constructed || after.Hits != 1 || after.Att.Name != "a" || strings.Join(after.Tags, ",") != "red" {
		t.Errorf("after hibernation whoami = %+v, before %+v: want a new construction, hits reset, attachment and tags kept", after, before)
	}
	// The object with a standard socket stayed in memory: its echo works
	// through the same instance (its listener lives in JS).
	if got := roundTrip(t, std, "still there"); got != "still there" {
		t.Errorf("std socket after idle = %q", got)
	}
	// spec 14: an object with a timer pending is not hibernated.
	var w who
	if err := json.Unmarshal([]byte(roundTrip(t, timer, "whoami")), &w); err != nil {
		t.Fatal(err)
	}
	if w.Hits != 2 {
		t.Errorf("object with a pending setTimeout: hits %d, want 2 (not hibernated)", w.Hits)
	}
}
