package objects

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/sockets"
)

// room is a Go object with a chat room: it broadcasts each message with a
// count kept in storage.
type room struct{ s *State }

func (r *room) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if _, err := r.s.AcceptWebSocket(w, req, "chat"); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

func (r *room) WebSocketMessage(ctx context.Context, ws *WebSocket, data []byte, text bool) error {
	v, _, err := r.s.Storage.Get("n")
	if err != nil {
		return err
	}
	n, _ := v.(float64)
	if err := r.s.Storage.Put("n", n+1); err != nil {
		return err
	}
	for _, peer := range r.s.WebSockets("chat") {
		if err := peer.Send(fmt.Sprintf("%d: %s", int(n+1), data)); err != nil {
			return err
		}
	}
	return nil
}

func (r *room) WebSocketClose(ctx context.Context, ws *WebSocket, code int, reason string, wasClean bool) error {
	return ws.Close(1000, "bye")
}

// roomServer serves the Go class Room over HTTP, as the server package
// does: a 101 answer upgrades the client's connection.
func roomServer(t *testing.T, log commit.Log) (*Host, string) {
	t.Helper()
	h, ns := goHost(t, log, "Room", func(s *State) (any, error) { return &room{s}, nil })
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		resp, err := h.Fetch(r.Context(), "Room", ns.IDFromName("r"), "r", r)
		if err != nil {
			http.Error(rw, err.Error(), 500)
			return
		}
		if up, ok := resp.Body.(*sockets.Upgrade); ok {
			_ = up.Conn.Upgrade(rw, r, resp.Header)
			return
		}
		rw.WriteHeader(resp.StatusCode)
	}))
	t.Cleanup(srv.Close)
	return h, "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestGoClassWebSockets(t *testing.T) {
	_, url := roomServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	b, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.CloseNow()
	if err := a.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*websocket.Conn{a, b} {
		_, got, err := c.Read(ctx)
		if err != nil || string(got) != "1: hi" {
			t.Fatalf("broadcast = %q, %v", got, err)
		}
	}
}

// spec 20: what a Go object sends on a WebSocket after a write leaves only
// once the write is durable.
func TestGoClassWebSocketSendIsGated(t *testing.T) {
	log := gatesim.NewHeldLog()
	t.Cleanup(func() { log.Close() })
	_, url := roomServer(t, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.CloseNow()
	log.Hold()
	if err := a.Write(ctx, websocket.MessageText, []byte("held")); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		_, b, err := a.Read(ctx)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	}()
	select {
	case m := <-got:
		t.Fatalf("message %q sent before the write before it was durable", m)
	case <-time.After(200 * time.Millisecond):
	}
	log.Release()
	select {
	case m := <-got:
		if m != "1: held" {
			t.Fatalf("message %q, want %q", m, "1: held")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message after the write became durable")
	}
}

// A Go object's hibernatable sockets move to another Host (a deploy):
// same connections, tags kept, and the next message activates the object
// there.
func TestGoClassWebSocketsAdopted(t *testing.T) {
	h1, url := roomServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var clients []*websocket.Conn
	for range 2 {
		c, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		clients = append(clients, c)
	}
	h1.mu.Lock()
	reg1 := h1.socketRegistryLocked()
	h1.mu.Unlock()
	// The client has its 101 a moment before the server's side is
	// attached and read (a server detaches only once requests are done).
	ns, err := h1.Namespace("Room")
	if err != nil {
		t.Fatal(err)
	}
	for {
		socks := reg1.Object("Room", ns.IDFromName("r")).Sockets()
		if len(socks) == 2 && socks[0].Connected() && socks[1].Connected() {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("sockets not connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	m := reg1.Detach(ctx)
	if m.Len() != 2 {
		t.Fatalf("Detach = %d sockets, want 2", m.Len())
	}
	h1.Close()
	h2, _ := goHost(t, nil, "Room", func(s *State) (any, error) { return &room{s}, nil })
	h2.mu.Lock()
	reg2 := h2.socketRegistryLocked()
	h2.mu.Unlock()
	if n := reg2.Adopt(m, h2.AdoptWebSocket); n != 2 {
		t.Fatalf("Adopt = %d, want 2", n)
	}
	if err := clients[0].Write(ctx, websocket.MessageText, []byte("after")); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients { // both listed by WebSockets("chat") on the new Host
		if _, got, err := c.Read(ctx); err != nil || string(got) != "1: after" {
			t.Fatalf("broadcast after the move = %q, %v", got, err)
		}
	}
}
