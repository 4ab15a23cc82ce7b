package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cairn-dev/cairn/sockets"
)

// echo is a sockets.Handler that answers every message on its socket.
type echo struct{ c *sockets.Conn }

func (e echo) OnMessage(data []byte, text bool, done func()) bool {
	e.c.SendText("echo " + string(data))
	done()
	return true
}
func (echo) OnError(string)            {}
func (echo) OnClose(int, string, bool) {}

// ignore is a sockets.Handler that drops every event.
type ignore struct{}

func (ignore) OnMessage(_ []byte, _ bool, done func()) bool { done(); return true }
func (ignore) OnError(string)                               {}
func (ignore) OnClose(int, string, bool)                    {}

// socketPair returns the two ends of a Unix stream socket.
func socketPair(t *testing.T) (a, b *os.File) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
}

// The hand-off stream carries more descriptors than one message can
// (batches of fdsPerMessage), in order with their states, for two Workers
// whose objects have the same class and id: every socket answers through
// the adopting Registry of its own Worker, with its own tag.
func TestHandoffStream(t *testing.T) {
	const n = 2*fdsPerMessage + 50
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	names := []string{"alpha", "beta"}
	old := map[string]*sockets.Registry{}
	for _, w := range names {
		old[w] = sockets.NewRegistry(ctx, sockets.Options{Logger: quiet})
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		reg := old[req.URL.Query().Get("worker")]
		c := reg.NewConn(ignore{})
		if err := reg.Object("Room", [32]byte{1}).AddHibernatable(c, []string{req.URL.Query().Get("tag")}); err != nil {
			t.Error(err)
		}
		_ = c.Upgrade(rw, req, nil)
	}))
	defer srv.Close()
	clients := make([]*websocket.Conn, n)
	workerOf := func(i int) string { return names[i%2] }
	for i := range clients {
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+fmt.Sprintf("/?tag=t%d&worker=%s", i, workerOf(i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		clients[i] = c
	}
	// A client has its 101 a moment before the server's side is attached
	// and read (a server detaches only once its requests are done).
	deadline := time.Now().Add(10 * time.Second)
	for (!allConnected(old["alpha"].Object("Room", [32]byte{1}).Sockets(), n-n/2) ||
		!allConnected(old["beta"].Object("Room", [32]byte{1}).Sockets(), n/2)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	var workers []workerSockets
	for _, w := range names {
		m := old[w].Detach(ctx)
		old[w].CloseAll()
		workers = append(workers, workerSockets{name: w, moving: m})
	}
	if got := workers[0].moving.Len() + workers[1].moving.Len(); got != n {
		t.Fatalf("Detach = %d sockets, want %d", got, n)
	}
	state, files, err := packHandoff(ctx, workers)
	if err != nil {
		t.Fatal(err)
	}
	parent, child := socketPair(t)
	sent := make(chan error, 1)
	go func() {
		defer parent.Close()
		sent <- sendHandoff(parent, state, files)
		for _, f := range files {
			f.Close()
		}
	}()
	got, err := receiveHandoff(ctx, child)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got.Len() != n {
		t.Fatalf("received %d sockets, want %d", got.Len(), n)
	}
	next := map[string]*sockets.Registry{}
	for _, w := range names {
		next[w] = sockets.NewRegistry(ctx, sockets.Options{Logger: quiet})
		defer next[w].CloseAll()
		want := n / 2
		if w == "alpha" {
			want = n - n/2
		}
		if k := next[w].Adopt(got.Take(w), func(c *sockets.Conn) sockets.Handler { return echo{c} }); k != want {
			t.Fatalf("Adopt(%s) = %d, want %d", w, k, want)
		}
	}
	if left := got.Close(); left != 0 {
		t.Fatalf("%d sockets left after both Workers took theirs", left)
	}
	for i, c := range clients {
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf("m%d", i))); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		_, b, err := c.Read(ctx)
		if err != nil || string(b) != fmt.Sprintf("echo m%d", i) {
			t.Fatalf("client %d: read %q, %v", i, b, err)
		}
	}
	for _, w := range names {
		k := 0
		if w == "beta" {
			k = 1
		}
		for _, c := range next[w].Object("Room", [32]byte{1}).Sockets() {
			if tags := c.Tags(); len(tags) != 1 || tags[0] != fmt.Sprintf("t%d", k) {
				t.Fatalf("%s: socket has tags %q, want t%d (states and descriptors out of order, or in the wrong Worker)", w, tags, k)
			}
			k += 2
		}
	}
}

// A Worker the new process does not serve (removed from cairn.toml) gets
// its sockets closed with 1012 by Handed.Close, not leaked.
func TestHandedCloseUnclaimed(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := sockets.NewRegistry(ctx, sockets.Options{Logger: quiet})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		c := reg.NewConn(ignore{})
		if err := reg.Object("Room", [32]byte{2}).AddHibernatable(c, nil); err != nil {
			t.Error(err)
		}
		_ = c.Upgrade(rw, req, nil)
	}))
	defer srv.Close()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	deadline := time.Now().Add(10 * time.Second)
	for !allConnected(reg.Object("Room", [32]byte{2}).Sockets(), 1) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	m := reg.Detach(ctx)
	reg.CloseAll()
	state, files, err := packHandoff(ctx, []workerSockets{{name: "gone", moving: m}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := unpackHandoff(state, files)
	if err != nil {
		t.Fatal(err)
	}
	if got := h.Take("other"); got.Len() != 0 {
		t.Fatalf("Take(other) = %d sockets, want 0", got.Len())
	}
	if closed := h.Close(); closed != 1 {
		t.Fatalf("Close = %d, want 1", closed)
	}
	rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
	defer rcancel()
	_, _, err = c.Read(rctx)
	if code := websocket.CloseStatus(err); code != websocket.StatusServiceRestart {
		t.Fatalf("client read after Close: %v (code %d), want close 1012", err, code)
	}
}

// allConnected reports whether list holds n sockets, all connected.
func allConnected(list []*sockets.Conn, n int) bool {
	if len(list) != n {
		return false
	}
	for _, c := range list {
		if !c.Connected() {
			return false
		}
	}
	return true
}

// A hand-off stream that ends early or lies about its size is an error,
// not a hang or a panic.
func TestReceiveHandoffBadStream(t *testing.T) {
	for _, tc := range []struct {
		name string
		send []byte
	}{
		{"nothing", nil},
		{"unknown message", []byte{'X'}},
		{"state cut short", append(binary.BigEndian.AppendUint64([]byte{'S'}, 100), "{}"...)},
		{"state too big", binary.BigEndian.AppendUint64([]byte{'S'}, 1<<62)},
		{"state not JSON", append(binary.BigEndian.AppendUint64([]byte{'S'}, 3), "{{{"...)},
		{"not a fleet hand-off", append(binary.BigEndian.AppendUint64([]byte{'S'}, 13), `{"version":1}`...)},
		{"wrong version", append(binary.BigEndian.AppendUint64([]byte{'S'}, 60), `{"workers":[{"name":"a","sockets":0,"state":{"version":9}}]}`...)},
		{"more sockets than descriptors", append(binary.BigEndian.AppendUint64([]byte{'S'}, 60), `{"workers":[{"name":"a","sockets":3,"state":{"version":1}}]}`...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parent, child := socketPair(t)
			if len(tc.send) > 0 {
				if _, err := parent.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			parent.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if m, err := receiveHandoff(ctx, child); err == nil {
				t.Fatalf("receiveHandoff = %d sockets, want an error", m.Len())
			}
		})
	}
}
