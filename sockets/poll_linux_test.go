//go:build linux

package sockets

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

func rawConnOf(t *testing.T, c net.Conn) syscall.RawConn {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	return rc
}

// fired reports whether ch gets a value within d.
func fired(ch <-chan struct{}, d time.Duration) bool {
	select {
	case <-ch:
		return true
	case <-time.After(d):
		return false
	}
}

// The poller fires an armed socket once for what makes it readable (bytes,
// also bytes there before it was armed; a hang-up), never for a disarmed
// one, and fires everything armed when its context ends.
func TestPoller(t *testing.T) {
	cases := []struct {
		name     string
		before   func(client net.Conn) // before arming
		after    func(client net.Conn) // after arming
		disarm   bool
		wantFire bool
	}{
		{name: "idle", wantFire: false},
		{name: "bytes after arming", after: func(c net.Conn) { c.Write([]byte("x")) }, wantFire: true},
		{name: "bytes before arming", before: func(c net.Conn) { c.Write([]byte("x")) }, wantFire: true},
		{name: "peer closed", after: func(c net.Conn) { c.Close() }, wantFire: true},
		{name: "disarmed", disarm: true, after: func(c net.Conn) { c.Write([]byte("x")) }, wantFire: false},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	p := newPoller(ctx, func(msg string, err error) { t.Errorf("%s: %v", msg, err) })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server, client := tcpPair(t)
			if tc.before != nil {
				tc.before(client)
				time.Sleep(10 * time.Millisecond)
			}
			rc := rawConnOf(t, server)
			ch := make(chan struct{}, 2)
			fd, err := p.arm(rc, func() { ch <- struct{}{} })
			if err != nil {
				t.Fatal(err)
			}
			if tc.disarm && !p.disarm(rc, fd) {
				t.Fatal("disarm of an armed socket = false")
			}
			if tc.after != nil {
				tc.after(client)
			}
			if got := fired(ch, 200*time.Millisecond); got != tc.wantFire {
				t.Fatalf("fired = %v, want %v", got, tc.wantFire)
			}
			if tc.wantFire {
				if p.disarm(rc, fd) {
					t.Error("disarm after firing = true, want false")
				}
				// One-shot: more bytes do not fire again until armed again.
				client.Write([]byte("y"))
				if fired(ch, 50*time.Millisecond) {
					t.Error("fired twice for one arming")
				}
			}
		})
	}

	// Armed sockets fire when the context ends; nothing is armed after.
	server, _ := tcpPair(t)
	rc := rawConnOf(t, server)
	ch := make(chan struct{}, 1)
	if _, err := p.arm(rc, func() { ch <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	cancel()
	if !fired(ch, 5*time.Second) {
		t.Fatal("an armed socket did not fire when the poller stopped")
	}
	if _, err := p.arm(rc, func() {}); err == nil {
		t.Error("arm after the poller stopped succeeded")
	}
}
