package sockets

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestDial: a client socket dialed to a server socket carries messages both
// ways, delivers nothing before Start, and reports the server's close.
func TestDial(t *testing.T) {
	r := NewRegistry(context.Background(), Options{})
	url, conns := serve(t, r, nil)
	h := newRecorder()
	c := r.NewConn(h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Dial(ctx, url, DialOptions{Header: http.Header{"X-Hello": {"1"}, "Upgrade": {"websocket"}}, Protocols: []string{"chat"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("X-Test") != "yes" {
		t.Fatalf("handshake response %d %v", resp.StatusCode, resp.Header)
	}
	srv := <-conns
	if srv.err != nil {
		t.Fatal(srv.err)
	}
	srv.c.SendText("early")
	h.none(t) // not started: the message waits
	c.Start()
	if ev := h.next(t); ev.kind != "message" || ev.data != "early" || !ev.text {
		t.Fatalf("client got %+v", ev)
	}
	c.SendBinary([]byte{1, 2})
	if ev := srv.h.next(t); ev.kind != "message" || ev.data != "\x01\x02" || ev.text {
		t.Fatalf("server got %+v", ev)
	}
	srv.c.Close(4000, "bye")
	if ev := h.next(t); ev.kind != "close" || ev.code != 4000 || ev.reason != "bye" || !ev.clean {
		t.Fatalf("client got %+v", ev)
	}
	if _, err := c.Dial(ctx, url, DialOptions{}); !errors.Is(err, ErrConnected) {
		t.Fatalf("second Dial: %v, want ErrConnected", err)
	}
}

// TestDialNotUpgraded: a server that answers 200 gives its response and
// ErrNotUpgraded; a refused connection gives an error alone.
func TestDialNotUpgraded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("X-Plain", "1")
		_, _ = rw.Write([]byte("not a socket"))
	}))
	defer srv.Close()
	r := NewRegistry(context.Background(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := r.NewConn(newRecorder()).Dial(ctx, srv.URL, DialOptions{})
	if !errors.Is(err, ErrNotUpgraded) || resp == nil || resp.StatusCode != 200 || resp.Header.Get("X-Plain") != "1" {
		t.Fatalf("Dial = %v, %v; want the 200 and ErrNotUpgraded", resp, err)
	}
	url := srv.URL
	srv.Close()
	if resp, err := r.NewConn(newRecorder()).Dial(ctx, url, DialOptions{}); err == nil || resp != nil {
		t.Fatalf("Dial to a closed server = %v, %v; want an error", resp, err)
	}
}

// TestConnect: two sockets of one process joined in memory behave as a
// network connection: messages in order both ways, the close handshake
// reported on both sides, and a socket cannot be connected twice.
func TestConnect(t *testing.T) {
	r := NewRegistry(context.Background(), Options{})
	ph, ch := newRecorder(), newRecorder()
	peer, c := r.NewConn(ph), r.NewConn(ch)
	peer.SendText("queued before the client came")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Connect(ctx, peer, http.Header{"Sec-Websocket-Protocol": {"p1"}}); err != nil {
		t.Fatal(err)
	}
	if c.Protocol() != "p1" {
		t.Errorf("Protocol() = %q, want p1", c.Protocol())
	}
	c.Start()
	if ev := ch.next(t); ev.data != "queued before the client came" {
		t.Fatalf("client got %+v", ev)
	}
	for _, m := range []string{"a", "b", "c"} {
		c.SendText(m)
	}
	for _, m := range []string{"a", "b", "c"} {
		if ev := ph.next(t); ev.kind != "message" || ev.data != m {
			t.Fatalf("peer got %+v, want %q", ev, m)
		}
	}
	c.Close(1000, "done")
	if ev := ph.next(t); ev.kind != "close" || ev.code != 1000 || ev.reason != "done" || !ev.clean {
		t.Fatalf("peer got %+v", ev)
	}
	if ev := ch.next(t); ev.kind != "close" || ev.code != 1000 || !ev.clean {
		t.Fatalf("client got %+v", ev)
	}
	if err := r.NewConn(newRecorder()).Connect(ctx, peer, nil); !errors.Is(err, ErrConnected) {
		t.Fatalf("Connect to a connected peer: %v, want ErrConnected", err)
	}
}

// TestConnectClosing: connecting to a peer while the Registry closes
// fails and reports the peer closed with 1006.
func TestConnectClosing(t *testing.T) {
	r := NewRegistry(context.Background(), Options{})
	r.CloseAll()
	ph := newRecorder()
	peer := r.NewConn(ph)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.NewConn(newRecorder()).Connect(ctx, peer, nil); err == nil {
		t.Fatal("Connect succeeded on a closing Registry")
	}
	if ev := ph.next(t); ev.kind != "close" || ev.code != CodeAbnormal {
		t.Fatalf("peer got %+v, want a 1006 close", ev)
	}
}

func TestSplitProtocols(t *testing.T) {
	for in, want := range map[string]int{"": 0, "a": 1, " a , b ": 2, "a,,b": 2} {
		if got := SplitProtocols(in); len(got) != want {
			t.Errorf("SplitProtocols(%q) = %q, want %d items", in, got, want)
		}
	}
}

// TestRelay: a client socket relayed to a second socket carries messages
// both ways between the server and the relayed socket's client, and a close
// on one side reaches the other with its code.
func TestRelay(t *testing.T) {
	r := NewRegistry(context.Background(), Options{})
	url, conns := serve(t, r, nil)
	up := r.NewConn(newRecorder())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := up.Dial(ctx, url, DialOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := <-conns
	down, err := r.Relay(up)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Relay(up); !errors.Is(err, ErrConnected) {
		t.Fatalf("second Relay: %v, want ErrConnected", err)
	}
	srv.c.SendText("from the server, before the client came")
	// The relayed socket's client, in the same process.
	ch := newRecorder()
	client := r.NewConn(ch)
	if err := client.Connect(ctx, down, nil); err != nil {
		t.Fatal(err)
	}
	client.Start()
	if ev := ch.next(t); ev.data != "from the server, before the client came" {
		t.Fatalf("client got %+v", ev)
	}
	client.SendBinary([]byte("up"))
	if ev := srv.h.next(t); ev.kind != "message" || ev.data != "up" || ev.text {
		t.Fatalf("server got %+v", ev)
	}
	client.Close(4002, "client done")
	if ev := srv.h.next(t); ev.kind != "close" || ev.code != 4002 || ev.reason != "client done" {
		t.Fatalf("server got %+v", ev)
	}
	if ev := ch.next(t); ev.kind != "close" || ev.code != 4002 {
		t.Fatalf("client got %+v", ev)
	}
}

// TestDialNeverAccepted: a client socket nobody starts is closed after
// the accept timeout; the server sees it go.
func TestDialNeverAccepted(t *testing.T) {
	r := NewRegistry(context.Background(), Options{AcceptTimeout: 100 * time.Millisecond, Logger: quiet})
	url, conns := serve(t, r, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.NewConn(newRecorder()).Dial(ctx, url, DialOptions{}); err != nil {
		t.Fatal(err)
	}
	srv := <-conns
	if ev := srv.h.next(t); ev.kind != "close" || ev.code != 1001 {
		t.Fatalf("server got %+v, want a 1001 close", ev)
	}
}
