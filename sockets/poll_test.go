//go:build linux

package sockets

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// newParkingRegistry is a test Registry whose idle sockets park after
// 10 ms.
func newParkingRegistry(t *testing.T) *Registry {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := NewRegistry(ctx, Options{Logger: quiet, ParkAfter: 10 * time.Millisecond})
	t.Cleanup(func() {
		r.CloseAll()
		cancel()
	})
	return r
}

// rawClient opens a WebSocket to url with a hand-made handshake: unlike
// coder/websocket's client it runs no goroutine, so that the test counts
// the server's goroutines only.
func rawClient(t *testing.T, url string) net.Conn {
	t.Helper()
	host := strings.TrimPrefix(url, "http://")
	c, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET / HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	// The server sends nothing after its 101 until the test asks it to,
	// so a buffered read of the response takes nothing more.
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 4096), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %s", resp.Status)
	}
	_ = c.SetDeadline(time.Time{})
	return c
}

// readServerFrame reads one unmasked frame of a short payload.
func readServerFrame(t *testing.T, c net.Conn) (op byte, payload string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var h [2]byte
	if _, err := io.ReadFull(c, h[:]); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, h[1]&0x7F)
	if _, err := io.ReadFull(c, p); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0F, string(p)
}

// waitParked waits until every socket's read loop has parked, and checks
// that a parked socket keeps no read buffer.
func waitParked(t *testing.T, conns []upgraded) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, u := range conns {
		for {
			u.c.mu.Lock()
			parked := u.c.parked
			var buf []byte
			if parked {
				buf = u.c.conn.(*frameConn).buf
			}
			u.c.mu.Unlock()
			if parked {
				if buf != nil {
					t.Errorf("a parked socket keeps a read buffer of %d bytes", cap(buf))
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a socket did not park")
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// goroutinesAtMost waits until at most n goroutines run, failing after a
// while with the count.
func goroutinesAtMost(t *testing.T, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d goroutines, want at most %d", what, runtime.NumGoroutine(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Idle hibernatable sockets hold no goroutine (their read loops park in
// the Registry's poller), and each still delivers a message, gets an
// answer, the auto-response and its close once woken; also after moving
// to another Registry (Detach, Adopt) while parked.
func TestIdleSocketsHoldNoGoroutine(t *testing.T) {
	const n = 200
	reg := newParkingRegistry(t)
	o := reg.Object("Chat", testID)
	if err := o.SetAutoResponse("ping", "pong"); err != nil {
		t.Fatal(err)
	}
	url, upgrades := serve(t, reg, func(c *Conn, _ *recorder) {
		if err := o.AddHibernatable(c, nil); err != nil {
			t.Error(err)
		}
	})
	// One socket first: the HTTP server and the poller start their own
	// goroutines once.
	first := rawClient(t, url)
	firstUp := <-upgrades
	waitParked(t, []upgraded{firstUp})
	time.Sleep(50 * time.Millisecond)
	base := runtime.NumGoroutine()

	clients := make([]net.Conn, n)
	ups := make([]upgraded, n)
	for i := range clients {
		clients[i] = rawClient(t, url)
		ups[i] = <-upgrades
		if ups[i].err != nil {
			t.Fatal(ups[i].err)
		}
	}
	// A little slack for the HTTP server's connection goroutines ending.
	goroutinesAtMost(t, base+5, "idle sockets")
	waitParked(t, ups)

	// Each socket wakes for a message (spec 13: the next message after
	// hibernation reaches webSocketMessage), which its Handler gets; the
	// server's answer arrives.
	for i, c := range clients {
		if _, err := c.Write(maskedFrame(0x81, []byte("hello"))); err != nil {
			t.Fatal(err)
		}
		if ev := ups[i].h.next(t); ev != (event{kind: "message", data: "hello", text: true}) {
			t.Fatalf("socket %d: event %+v, want the message", i, ev)
		}
		ups[i].c.SendText("answer")
		if op, p := readServerFrame(t, c); op != opText || p != "answer" {
			t.Fatalf("socket %d read opcode %d %q, want the answer", i, op, p)
		}
	}
	// The auto-response is answered by the woken read loop without the
	// Handler (spec 56).
	if _, err := clients[0].Write(maskedFrame(0x81, []byte("ping"))); err != nil {
		t.Fatal(err)
	}
	if op, p := readServerFrame(t, clients[0]); op != opText || p != "pong" {
		t.Fatalf("auto-response: opcode %d %q", op, p)
	}
	ups[0].h.none(t)
	waitParked(t, ups)
	goroutinesAtMost(t, base+5, "idle again after one message each")

	// The parked sockets move to the next Registry and park there.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	m := reg.Detach(ctx)
	if m.Len() != n+1 {
		t.Fatalf("Detach moved %d sockets, want %d", m.Len(), n+1)
	}
	next := newParkingRegistry(t)
	handlers := make(map[*Conn]*recorder)
	if got := next.Adopt(m, func(c *Conn) Handler {
		h := newRecorder()
		handlers[c] = h
		return h
	}); got != n+1 {
		t.Fatalf("Adopt = %d", got)
	}
	for i := range ups {
		ups[i].h = handlers[ups[i].c]
	}
	waitParked(t, ups)
	goroutinesAtMost(t, base+6, "idle after the move") // the next Registry's poller

	// Each closes (spec 2.4: webSocketClose with the client's code): the
	// Handler hears it and the server answers the Close.
	for i, c := range clients {
		if _, err := c.Write(maskedFrame(0x88, binary.BigEndian.AppendUint16(nil, 1000))); err != nil {
			t.Fatal(err)
		}
		if ev := ups[i].h.next(t); ev.kind != "close" || ev.code != 1000 || !ev.clean {
			t.Fatalf("socket %d: event %+v, want a clean close 1000", i, ev)
		}
		if op, _ := readServerFrame(t, c); op != opClose {
			t.Fatalf("socket %d: opcode %d, want the server's Close", i, op)
		}
	}
	first.Close()
}

// A parked socket closed by the server (shutdown, 1012) is read again, so
// its close is reported as for a socket whose read loop runs.
func TestParkedSocketShutdown(t *testing.T) {
	reg := newParkingRegistry(t)
	o := reg.Object("Chat", testID)
	url, upgrades := serve(t, reg, func(c *Conn, _ *recorder) {
		if err := o.AddHibernatable(c, nil); err != nil {
			t.Error(err)
		}
	})
	client := rawClient(t, url)
	up := <-upgrades
	waitParked(t, []upgraded{up})
	done := make(chan struct{})
	go func() { // Shutdown waits for the peer's Close
		up.c.Shutdown(CodeServiceRestart, "Service restart")
		close(done)
	}()
	if op, p := readServerFrame(t, client); op != opClose || len(p) < 2 || binary.BigEndian.Uint16([]byte(p)) != CodeServiceRestart {
		t.Fatalf("client read opcode %d %q, want a Close 1012", op, p)
	}
	if _, err := client.Write(maskedFrame(0x88, binary.BigEndian.AppendUint16(nil, CodeServiceRestart))); err != nil {
		t.Fatal(err)
	}
	if ev := up.h.next(t); ev != (event{kind: "close", code: CodeServiceRestart, clean: true}) {
		t.Fatalf("event %+v, want the clean close", ev)
	}
	select {
	case <-done:
	case <-time.After(closeTimeout / 2):
		t.Fatal("Shutdown did not return once the peer answered its Close")
	}
	if n := reg.Open(); n != 0 {
		t.Errorf("%d sockets still open", n)
	}
}

// A parked socket whose peer drops the connection without a Close frame
// reports 1006 (spec 57).
func TestParkedSocketDropped(t *testing.T) {
	reg := newParkingRegistry(t)
	o := reg.Object("Chat", testID)
	url, upgrades := serve(t, reg, func(c *Conn, _ *recorder) {
		if err := o.AddHibernatable(c, nil); err != nil {
			t.Error(err)
		}
	})
	client := rawClient(t, url)
	up := <-upgrades
	waitParked(t, []upgraded{up})
	client.Close()
	if ev := up.h.next(t); ev != (event{kind: "close", code: CodeAbnormal, reason: reasonDisconnected}) {
		t.Fatalf("event %+v, want 1006 not clean", ev)
	}
}
