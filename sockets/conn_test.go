package sockets

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// event is one call of a recorder's Handler methods.
type event struct {
	kind   string // "message", "error" or "close"
	data   string
	text   bool
	code   int
	reason string
	clean  bool
}

// recorder is a Handler that sends its events to a channel. With hold set
// it keeps the done functions of messages instead of calling them.
type recorder struct {
	events chan event
	hold   bool

	mu    sync.Mutex
	dones []func()
}

func newRecorder() *recorder { return &recorder{events: make(chan event, 64)} }

func (h *recorder) OnMessage(data []byte, text bool, done func()) bool {
	if h.hold {
		h.mu.Lock()
		h.dones = append(h.dones, done)
		h.mu.Unlock()
	} else {
		done()
	}
	h.events <- event{kind: "message", data: string(data), text: text}
	return true
}

func (h *recorder) OnError(msg string) { h.events <- event{kind: "error", reason: msg} }

func (h *recorder) OnClose(code int, reason string, clean bool) {
	h.events <- event{kind: "close", code: code, reason: reason, clean: clean}
}

// next returns the recorder's next event, failing after a while.
func (h *recorder) next(t *testing.T) event {
	t.Helper()
	select {
	case ev := <-h.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
		return event{}
	}
}

// none checks that no event comes for a moment.
func (h *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case ev := <-h.events:
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(100 * time.Millisecond):
	}
}

// upgraded is a socket the test server made, with its Handler and
// Upgrade's result.
type upgraded struct {
	c   *Conn
	h   *recorder
	err error
}

// serve runs a server whose every request gets a new socket of r,
// prepared by setup (if set) before Upgrade.
func serve(t *testing.T, r *Registry, setup func(c *Conn, h *recorder)) (url string, conns <-chan upgraded) {
	t.Helper()
	ch := make(chan upgraded, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		h := newRecorder()
		c := r.NewConn(h)
		if setup != nil {
			setup(c, h)
		}
		err := c.Upgrade(rw, req, http.Header{"X-Test": {"yes"}})
		ch <- upgraded{c, h, err}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ch
}

// dial opens a WebSocket to url and returns it with the server's socket.
func dial(t *testing.T, url string, conns <-chan upgraded) (*websocket.Conn, upgraded) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if got := resp.Header.Get("X-Test"); got != "yes" {
		t.Errorf("X-Test header = %q, want the one given to Upgrade", got)
	}
	u := <-conns
	if u.err != nil {
		t.Fatal(u.err)
	}
	return c, u
}

// read reads one message, failing after a while.
func read(t *testing.T, c *websocket.Conn) (websocket.MessageType, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, b, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return typ, string(b)
}

// closeStatus reads until the connection ends and returns its close code.
func closeStatus(t *testing.T, c *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		return -1, err.Error()
	}
}

func write(t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg string) {
	t.Helper()
	if err := c.Write(context.Background(), typ, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

// Messages go both ways, in order; what was sent before the upgrade goes
// first.
func TestConnMessages(t *testing.T) {
	r := newTestRegistry(t)
	url, conns := serve(t, r, func(c *Conn, _ *recorder) { c.SendText("early") })
	client, s := dial(t, url, conns)
	if typ, msg := read(t, client); typ != websocket.MessageText || msg != "early" {
		t.Errorf("first message = %v %q, want the text sent before Upgrade", typ, msg)
	}
	s.c.SendText("hello")
	s.c.SendBinary([]byte{1, 2, 3})
	if typ, msg := read(t, client); typ != websocket.MessageText || msg != "hello" {
		t.Errorf("got %v %q, want text hello", typ, msg)
	}
	if typ, msg := read(t, client); typ != websocket.MessageBinary || msg != "\x01\x02\x03" {
		t.Errorf("got %v %q, want binary 010203", typ, msg)
	}
	write(t, client, websocket.MessageText, "from client")
	write(t, client, websocket.MessageBinary, "bytes")
	if ev := s.h.next(t); ev != (event{kind: "message", data: "from client", text: true}) {
		t.Errorf("event = %+v, want the text message", ev)
	}
	if ev := s.h.next(t); ev != (event{kind: "message", data: "bytes"}) {
		t.Errorf("event = %+v, want the binary message", ev)
	}
}

// How the end of a connection is reported to the Handler and the peer.
func TestConnClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(client *websocket.Conn, s *Conn)
		// want is the Handler's event; only its kind is checked when the
		// server closes (its read loop may see the peer's answer or the
		// connection end first).
		want event
		// wantClient and wantReason are the close the client sees; -1 if
		// the client closed.
		wantClient websocket.StatusCode
		wantReason string
	}{
		{
			name:       "peer closes",
			end:        func(client *websocket.Conn, _ *Conn) { go client.Close(4001, "later") },
			want:       event{kind: "close", code: 4001, reason: "later", clean: true},
			wantClient: -1,
		},
		{
			name:       "peer closes without a code",
			end:        func(client *websocket.Conn, _ *Conn) { go client.Close(websocket.StatusNoStatusRcvd, "") },
			want:       event{kind: "close", code: 1005, reason: "", clean: true},
			wantClient: -1,
		},
		{
			name:       "peer vanishes",
			end:        func(client *websocket.Conn, _ *Conn) { client.CloseNow() },
			want:       event{kind: "close", code: 1006, reason: "WebSocket disconnected without sending Close frame.", clean: false},
			wantClient: -1,
		},
		{
			name:       "Close after sends",
			end:        func(_ *websocket.Conn, s *Conn) { s.SendText("last"); s.Close(4000, "bye"); s.SendText("dropped") },
			want:       event{kind: "close"},
			wantClient: 4000,
			wantReason: "bye",
		},
		{
			name: "Shutdown",
			// Shutdown waits for the peer's answer to its Close frame.
			end:        func(_ *websocket.Conn, s *Conn) { go s.Shutdown(CodeInternalError, "Durable Object reset") },
			want:       event{kind: "close"},
			wantClient: 1011,
			wantReason: "Durable Object reset",
		},
	} {
		for _, hib := range []bool{false, true} {
			t.Run(tc.name+framingName(hib), func(t *testing.T) {
				r := newTestRegistry(t)
				url, conns := serve(t, r, framing(r, hib))
				client, s := dial(t, url, conns)
				tc.end(client, s.c)
				if tc.wantClient != -1 {
					if tc.name == "Close after sends" {
						if _, msg := read(t, client); msg != "last" {
							t.Errorf("got %q before the close, want last", msg)
						}
					}
					if code, reason := closeStatus(t, client); code != tc.wantClient || reason != tc.wantReason {
						t.Errorf("client saw close %d %q, want %d %q", code, reason, tc.wantClient, tc.wantReason)
					}
				}
				ev := s.h.next(t)
				if tc.wantClient != -1 {
					ev = event{kind: ev.kind}
				}
				if ev != tc.want {
					t.Errorf("Handler got %+v, want %+v", ev, tc.want)
				}
				s.h.none(t)
			})
		}
	}
}

// framing returns a serve setup that makes the socket hibernatable (framed
// by frameConn rather than coder/websocket) if hib is set.
func framing(r *Registry, hib bool) func(*Conn, *recorder) {
	if !hib {
		return nil
	}
	return func(c *Conn, _ *recorder) { _ = r.Object("Obj", testID).AddHibernatable(c, nil) }
}

func framingName(hib bool) string {
	if hib {
		return " (hibernatable)"
	}
	return ""
}

// A peer that stops reading gets its socket closed with 1008; the queue
// does not grow past its bound.
func TestConnSendQueueBound(t *testing.T) {
	for _, hib := range []bool{false, true} {
		t.Run(framingName(hib), func(t *testing.T) { testSendQueueBound(t, hib) })
	}
}

func testSendQueueBound(t *testing.T, hib bool) {
	r := newTestRegistry(t)
	url, conns := serve(t, r, framing(r, hib))
	client, s := dial(t, url, conns)
	client.SetReadLimit(2 << 20)
	chunk := make([]byte, 1<<20)
	for range 64 {
		s.c.SendBinary(chunk)
	}
	s.c.SendText("flooded")
	time.Sleep(500 * time.Millisecond) // not reading: the 64 MiB pile up at the server
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	received := 0
	for {
		_, b, err := client.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != websocket.StatusPolicyViolation {
				t.Fatalf("socket closed with %v (%v) after %d bytes, want 1008", code, err, received)
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
	if ev := s.h.next(t); ev.kind != "close" {
		t.Errorf("Handler got %+v, want the close", ev)
	}
}

// A message over the limit closes the socket with 1009; the Handler hears
// of an error, then of the close.
func TestConnOversizedMessage(t *testing.T) {
	for _, hib := range []bool{false, true} {
		t.Run(framingName(hib), func(t *testing.T) { testOversizedMessage(t, hib) })
	}
}

func testOversizedMessage(t *testing.T, hib bool) {
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRegistry(ctx, Options{MaxMessage: 1024, Logger: quiet})
	t.Cleanup(func() { r.CloseAll(); cancel() })
	url, conns := serve(t, r, framing(r, hib))
	client, s := dial(t, url, conns)
	write(t, client, websocket.MessageText, strings.Repeat("x", 1024))
	if ev := s.h.next(t); ev.kind != "message" || len(ev.data) != 1024 {
		t.Errorf("a message at the limit: Handler got %s of %d bytes", ev.kind, len(ev.data))
	}
	write(t, client, websocket.MessageBinary, strings.Repeat("x", 1025))
	if code, _ := closeStatus(t, client); code != websocket.StatusMessageTooBig {
		t.Errorf("client saw close %d, want 1009", code)
	}
	if ev := s.h.next(t); ev != (event{kind: "error", reason: "Message is too large"}) {
		t.Errorf("Handler got %+v, want the error", ev)
	}
	if ev := s.h.next(t); ev != (event{kind: "close", code: 1009, reason: "Message is too large"}) {
		t.Errorf("Handler got %+v, want the 1009 close", ev)
	}
}

// CloseAll says goodbye with 1012 to every socket, and to those that
// connect afterwards.
func TestCloseAll(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := NewRegistry(ctx, Options{Logger: quiet})
	url, conns := serve(t, r, nil)
	c1, s1 := dial(t, url, conns)
	c2, s2 := dial(t, url, conns)
	got := make(chan websocket.StatusCode, 2)
	for _, c := range []*websocket.Conn{c1, c2} {
		go func() {
			code, _ := closeStatus(t, c)
			got <- code
		}()
	}
	r.CloseAll()
	for range 2 {
		if code := <-got; code != websocket.StatusServiceRestart {
			t.Errorf("client saw close %d, want 1012", code)
		}
	}
	for _, s := range []upgraded{s1, s2} {
		if ev := s.h.next(t); ev.kind != "close" {
			t.Errorf("Handler got %+v, want the close", ev)
		}
	}

	dctx, dcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer dcancel()
	late, _, err := websocket.Dial(dctx, "ws"+strings.TrimPrefix(url, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer late.CloseNow()
	if code, reason := closeStatus(t, late); code != websocket.StatusServiceRestart || reason != "Service restart" {
		t.Errorf("socket after CloseAll: close %d %q, want 1012 Service restart", code, reason)
	}
	s := <-conns
	if !errors.Is(s.err, ErrClosed) {
		t.Errorf("Upgrade after CloseAll = %v, want ErrClosed", s.err)
	}
	if ev := s.h.next(t); ev != (event{kind: "close", code: 1006, reason: reasonDisconnected}) {
		t.Errorf("Handler got %+v, want a 1006 close", ev)
	}
}

// A plain request cannot be upgraded: it gets a 400 and the socket's
// Handler a 1006 close.
func TestUpgradeNotWebSocket(t *testing.T) {
	r := newTestRegistry(t)
	url, conns := serve(t, r, nil)
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not a WebSocket upgrade") {
		t.Errorf("plain request: %d %q, want 400", resp.StatusCode, body)
	}
	s := <-conns
	if s.err == nil {
		t.Error("Upgrade of a plain request succeeded")
	}
	if ev := s.h.next(t); ev != (event{kind: "close", code: 1006, reason: reasonDisconnected}) {
		t.Errorf("Handler got %+v, want a 1006 close", ev)
	}
}

// The object's auto-response is answered without the Handler, for its
// hibernatable sockets only.
func TestAutoResponse(t *testing.T) {
	r := newTestRegistry(t)
	o := r.Object("Obj", testID)
	if err := o.SetAutoResponse("ping", "pong"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func(c *Conn, h *recorder)
		auto  bool
	}{
		{name: "hibernatable", setup: func(c *Conn, _ *recorder) { _ = o.AddHibernatable(c, nil) }, auto: true},
		{name: "accepted", setup: func(c *Conn, _ *recorder) { o.AddAccepted(c) }},
		{name: "no object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, conns := serve(t, r, tc.setup)
			client, s := dial(t, url, conns)
			before := time.Now()
			write(t, client, websocket.MessageText, "ping")
			write(t, client, websocket.MessageBinary, "ping") // binary: never auto-answered
			if tc.auto {
				if _, msg := read(t, client); msg != "pong" {
					t.Errorf("answer = %q, want pong", msg)
				}
				if at := s.c.AutoResponseTime(); at.Before(before) {
					t.Errorf("AutoResponseTime = %v, want after %v", at, before)
				}
			} else {
				if ev := s.h.next(t); ev != (event{kind: "message", data: "ping", text: true}) {
					t.Errorf("Handler got %+v, want the ping", ev)
				}
				if !s.c.AutoResponseTime().IsZero() {
					t.Error("AutoResponseTime set without an auto-response")
				}
			}
			if ev := s.h.next(t); ev != (event{kind: "message", data: "ping"}) {
				t.Errorf("Handler got %+v, want the binary ping", ev)
			}
			s.h.none(t)
		})
	}
}

// At most readAhead messages wait for their done; then reading stops.
func TestConnReadAhead(t *testing.T) {
	r := newTestRegistry(t)
	url, conns := serve(t, r, func(_ *Conn, h *recorder) { h.hold = true })
	client, s := dial(t, url, conns)
	for range readAhead + 2 {
		write(t, client, websocket.MessageText, "m")
	}
	for range readAhead {
		s.h.next(t)
	}
	s.h.none(t)
	s.h.mu.Lock()
	done := s.h.dones[0]
	s.h.mu.Unlock()
	done()
	done() // again: harmless, frees no second place
	s.h.next(t)
	s.h.none(t)
}
