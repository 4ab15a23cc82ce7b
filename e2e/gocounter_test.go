package e2e

import (
	"fmt"

	"github.com/coder/websocket"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// examples/go-counter: a Durable Object class written in Go, served next to
// a JS class by one cairn (library use), reached from JS by fetch and RPC.
func TestGoCounterExample(t *testing.T) {
	bin := buildGoCounter(t)
	dir := copyDir(t, "../examples/go-counter")
	state := t.TempDir()
	start := func() *devServer {
		port := freePort(t)
		return startServer(t, port, bin, "-port", fmt.Sprint(port), "-persist-to", state, dir)
	}
	d := start()

	// fetch: the Go object's ServeHTTP, through the JS Worker's stub.fetch.
	d.expect("GET", "/hit?name=a", 200, "a has been hit 1 times\n")
	d.expect("GET", "/hit?name=a", 200, "a has been hit 2 times\n")
	d.expect("GET", "/hit?name=b", 200, "b has been hit 1 times\n")
	// JS RPC to Go: arguments and results through the structured clone.
	d.expect("GET", "/add?name=a&by=40", 200, "42")
	d.expect("GET", "/get?name=a", 200, `{"alarms":0,"count":42,"name":"a"}`)
	// A JS object calling the Go object.
	d.expect("GET", "/tally?name=a", 200, `{"value":{"alarms":0,"count":42,"name":"a"},"asked":1}`)
	// Errors from Go reach JS with their name and message.
	if status, body := d.Get("/add?name=a&by=x"); status != 500 || !d.waitLog("TypeError: add(by) needs an integer") {
		t.Errorf("add with a bad argument = %d %q; log:\n%s", status, body, d.Logs)
	}

	// Alarms: the Go object's Alarm handler runs when due.
	if status, body := d.Get("/alarm?name=a&ms=50"); status != 200 {
		t.Fatalf("GET /alarm = %d %s\n%s", status, body, d.Logs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, body := d.Get("/get?name=a")
		if strings.Contains(body, `"alarms":1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Go object's alarm did not run: %s\n%s", body, d.Logs)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Acknowledged writes are on disk: a restart keeps them.
	d.Stop()
	d = start()
	d.expect("GET", "/hit?name=a", 200, "a has been hit 43 times\n")
	d.expect("GET", "/tally?name=a", 200, `{"value":{"alarms":1,"count":43,"name":"a"},"asked":2}`)
}

// The Go object's chat room: hibernatable WebSockets accepted by a Go
// object through the JS Worker, broadcast through its output gate, and
// kept open while the object is evicted (spec 13): the next message
// constructs it again and finds the sockets, their tags and attachments.
func TestGoCounterChatHibernates(t *testing.T) {
	bin := buildGoCounter(t)
	port := freePort(t)
	d := startServer(t, port, bin, "-port", fmt.Sprint(port), "-persist-to", t.TempDir(), "-hibernate-idle", "300ms", copyDir(t, "../examples/go-counter"))

	alice := dial(t, d, "/chat?name=room")
	bob := dial(t, d, "/chat?name=room")
	send(t, alice, "hi")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", d.Logs)
		}
	})
	for _, c := range []*websocket.Conn{alice, bob} {
		if _, got := recv(t, c); got != "#1 from 1 (instance 1): hi" {
			t.Fatalf("broadcast = %q\n%s", got, d.Logs)
		}
	}
	time.Sleep(2 * time.Second) // well past the hibernation idle time: the object is evicted
	send(t, bob, "still here?")
	for _, c := range []*websocket.Conn{alice, bob} {
		if _, got := recv(t, c); got != "#2 from 2 (instance 2): still here?" {
			t.Fatalf("after hibernation, broadcast = %q (want a new instance that still has both sockets)\n%s", got, d.Logs)
		}
	}
	if err := alice.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("close: %v", err)
	}
	// A plain request to /chat is refused by AcceptWebSocket.
	if status, body := d.Get("/chat?name=room"); status != 400 || !strings.Contains(body, "not a WebSocket upgrade") {
		t.Errorf("GET /chat without Upgrade = %d %q", status, body)
	}
}

// buildGoCounter builds examples/go-counter into a temp dir.
func buildGoCounter(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "go-counter")
	build := exec.Command("go", "build", "-tags", "sqlite_fts5 sqlite_math_functions", "-o", bin, "../examples/go-counter")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build examples/go-counter: %v\n%s", err, out)
	}
	return bin
}
