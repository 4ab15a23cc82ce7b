package jsrt

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
)

const wsObject = `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  async webSocketMessage(ws, msg) {
    if (msg === "write") {
      this.ctx.storage.put("k", 1);
      ws.send("wrote");
    } else if (msg === "flood") {
      const chunk = new Uint8Array(1 << 20);
      for (let i = 0; i < 64; i++) ws.send(chunk);
      ws.send("flooded");
    } else if (msg === "closecodes") {
      const out = [];
      for (const code of [999, 1005, 1006, 2999, 5000]) {
        try { ws.close(code); out.push("ok"); } catch (e) { out.push(e.message); }
      }
      try { ws.close(1000, "x".repeat(124)); } catch (e) { out.push(e.message); }
      ws.send(out.join("|"));
    } else {
      ws.send(msg);
    }
  }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName("a").fetch(req); } };
`

// dialWorker serves w over HTTP and opens a WebSocket to it.
func dialWorker(t *testing.T, w *Worker) *websocket.Conn {
	t.Helper()
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func wsRead(ctx context.Context, c *websocket.Conn) <-chan string {
	out := make(chan string, 1)
	go func() {
		_, b, err := c.Read(ctx)
		if err != nil {
			out <- "error: " + err.Error()
			return
		}
		out <- string(b)
	}()
	return out
}

// A send after a write waits for the write to be durable (output gate).
func TestWebSocketSendOutputGate(t *testing.T) {
	log := gatesim.NewHeldLog()
	w := objectWorker(t, wsObject, log, Config{})
	c := dialWorker(t, w)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	arrives(t, wsRead(ctx, c), "hello")
	log.Hold()
	if err := c.Write(ctx, websocket.MessageText, []byte("write")); err != nil {
		t.Fatal(err)
	}
	got := wsRead(ctx, c)
	notYet(t, got, "a send after a write")
	log.Release()
	arrives(t, got, "wrote")
}

// A peer that stops reading gets its socket closed; the queue does not grow
// past its bound.
func TestWebSocketSendQueueBound(t *testing.T) {
	w := objectWorker(t, wsObject, commit.NewLocal(0), Config{})
	c := dialWorker(t, w)
	c.SetReadLimit(2 << 20)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("flood")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // not reading: the 64 MiB pile up at the server
	received := 0
	for {
		_, b, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("socket not closed after %d bytes: %v", received, err)
			}
			break
		}
		if string(b) == "flooded" {
			t.Fatal("all 64 MiB were queued for a peer that did not read")
		}
		received += len(b)
	}
	if received >= 64<<20 {
		t.Errorf("received %d bytes", received)
	}
}

func TestWebSocketCloseCodeChecks(t *testing.T) {
	w := objectWorker(t, wsObject, commit.NewLocal(0), Config{})
	c := dialWorker(t, w)
	ctx := context.Background()
	if err := c.Write(ctx, websocket.MessageText, []byte("closecodes")); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(<-wsRead(ctx, c), "|")
	want := []string{"Invalid WebSocket close code: 999.", "Invalid WebSocket close code: 1005.", "Invalid WebSocket close code: 1006.",
		"Invalid WebSocket close code: 2999.", "Invalid WebSocket close code: 5000.", "The WebSocket close reason must be at most 123 bytes."}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("close errors = %q, want %q", got, want)
	}
	// The rejected calls closed nothing: the socket still echoes.
	if err := c.Write(ctx, websocket.MessageText, []byte("still open")); err != nil {
		t.Fatal(err)
	}
	arrives(t, wsRead(ctx, c), "still open")
}

// WebSocketsHibernatable tells the Host which objects hold only
// hibernatable sockets.
func TestWebSocketsHibernatable(t *testing.T) {
	code := `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async fetch(req) {
    const [client, server] = Object.values(new WebSocketPair());
    if (new URL(req.url).searchParams.has("std")) server.accept();
    else this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, msg) { ws.send(msg); }
};
exports.default = { fetch(req, env) { return env.OBJ.getByName(new URL(req.url).pathname.slice(1)).fetch(req); } };
`
	w := objectWorker(t, code, commit.NewLocal(0), Config{})
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	ns, err := w.cfg.Host.Namespace("Obj")
	if err != nil {
		t.Fatal(err)
	}
	open := func(path string) *websocket.Conn {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		return c
	}
	open("/hib")
	open("/mixed")
	mixedStd := open("/mixed?std")
	open("/std?std")
	for _, tc := range []struct {
		name string
		want bool
	}{{"hib", true}, {"mixed", false}, {"std", false}, {"none", false}} {
		if got := w.WebSocketsHibernatable("Obj", ns.IDFromName(tc.name)); got != tc.want {
			t.Errorf("%s: WebSocketsHibernatable = %v, want %v", tc.name, got, tc.want)
		}
	}
	// Once its plain socket is gone, only hibernatable ones hold "mixed".
	if err := mixedStd.Close(websocket.StatusNormalClosure, ""); err != nil {
		t.Logf("close: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !w.WebSocketsHibernatable("Obj", ns.IDFromName("mixed")) {
		if time.Now().After(deadline) {
			t.Fatal("mixed: not hibernatable after its plain socket closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
