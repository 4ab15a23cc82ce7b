package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"
)

var goroutineTotal = regexp.MustCompile(`^goroutine profile: total (\d+)`)

// serverGoroutines reads the goroutine count of a cairn started with
// CAIRN_PPROF=addr.
func serverGoroutines(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := goroutineTotal.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no goroutine count in %.200s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// waitGoroutines waits until the server runs at most n goroutines.
func waitGoroutines(t *testing.T, addr string, n int, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := serverGoroutines(t, addr)
		if got <= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the server runs %d goroutines, want at most %d", what, got, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Idle hibernated WebSockets cost the server no goroutine (issue 14: their
// reads wait in one epoll poller), and each still wakes its object for a
// message and for its close (spec 13, spec 2.4).
func TestWebSocketIdleHoldsNoGoroutine(t *testing.T) {
	const n = 100
	dir := writeProject(t, map[string]string{"wrangler.jsonc": wsConfig, "src/index.js": wsWorker})
	port := freePort(t)
	pprof := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(cairnBin, "dev", dir, "--port", fmt.Sprint(port), "--persist-to", t.TempDir(),
		"--no-watch", "--hibernate-idle", "200ms")
	cmd.Env = append(os.Environ(), "CAIRN_PPROF="+pprof)
	d := startCommand(t, port, cmd)

	first := dial(t, d, "/do/idle?name=first")
	if got := roundTrip(t, first, "count"); got != "1" {
		t.Fatalf("count = %q", got)
	}
	time.Sleep(time.Second) // hibernated; the poller runs
	base := serverGoroutines(t, pprof)

	conns := make([]*websocket.Conn, n)
	for i := range conns {
		conns[i] = dial(t, d, fmt.Sprintf("/do/idle?name=s%d", i))
	}
	// Before issue 14 each socket kept a reading goroutine: base+n.
	waitGoroutines(t, pprof, base+10, fmt.Sprintf("%d idle hibernated sockets", n))

	// spec 13: each message wakes the object (constructor, then
	// webSocketMessage), the attachment intact.
	for i, c := range conns {
		var who struct{ Att struct{ Name string } }
		if err := json.Unmarshal([]byte(roundTrip(t, c, "whoami")), &who); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("s%d", i); who.Att.Name != want {
			t.Fatalf("socket %d answered for %q", i, who.Att.Name)
		}
	}
	waitGoroutines(t, pprof, base+10, "idle again")

	// Each close reaches webSocketClose and the server answers it.
	for i, c := range conns {
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("socket %d: close handshake: %v", i, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if got := roundTrip(t, first, "count"); got == "1" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var last struct {
		Code     int
		Reason   string
		WasClean bool
		Name     string
	}
	if err := json.Unmarshal([]byte(roundTrip(t, first, "lastclose")), &last); err != nil {
		t.Fatal(err)
	}
	if last.Code != 1000 || last.Reason != "bye" || !last.WasClean {
		t.Errorf("last webSocketClose = %+v, want 1000 bye clean", last)
	}
	if got := roundTrip(t, first, "count"); got != "1" {
		t.Errorf("getWebSockets() after the closes lists %s sockets, want 1", got)
	}
}
