package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Hibernated WebSockets stay connected across a reload (a deploy in this
// process) and across a SIGUSR2 upgrade of the process: their tags,
// attachments and auto-response come along, the new code answers their
// next message, and the client never sees a close.

const handoffConfig = `{
  "name": "handoff",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "ROOM", "class_name": "Room" }] },
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Room"] }],
}`

// handoffWorker answers each hibernated socket's message with its code
// version, what the object knows of the socket, and how many sockets it
// holds.
const handoffWorker = `import { DurableObject } from "cloudflare:workers";

const VERSION = "v1";

export class Room extends DurableObject {
  async fetch(req) {
    const url = new URL(req.url);
    if (url.pathname === "/write") {
      await this.ctx.storage.put("k", url.searchParams.get("v"));
      return new Response("ok");
    }
    if (url.pathname === "/read") return new Response(String(await this.ctx.storage.get("k")));
    const [client, server] = Object.values(new WebSocketPair());
    if (url.searchParams.get("mode") === "std") {
      server.accept();
      server.addEventListener("message", (e) => server.send(VERSION + " std " + e.data));
    } else {
      const user = url.searchParams.get("user");
      this.ctx.acceptWebSocket(server, ["user:" + user, "all"]);
      server.serializeAttachment({ user });
      this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
    }
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, msg) {
    ws.send(JSON.stringify({
      version: VERSION, msg, user: ws.deserializeAttachment().user, tags: this.ctx.getTags(ws),
      all: this.ctx.getWebSockets("all").length, mine: this.ctx.getWebSockets("user:" + ws.deserializeAttachment().user).length,
      name: this.ctx.id.name,
    }));
  }
}

export default {
  fetch(req, env) {
    const room = new URL(req.url).searchParams.get("room") || "lobby";
    return env.ROOM.getByName(room).fetch(req);
  },
};
`

// handoffN is how many hibernated sockets the tests open:
// CAIRN_HANDOFF_N=1000 for the measurement in the README.
func handoffN(t *testing.T) int {
	if s := os.Getenv("CAIRN_HANDOFF_N"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("CAIRN_HANDOFF_N=%q", s)
		}
		return n
	}
	return 40
}

// wsClient is one hibernated socket of the test, in room room.
type wsClient struct {
	c    *websocket.Conn
	room string
	user string
}

// answer is the Worker's reply to a message.
type answer struct {
	Version string
	Msg     string
	User    string
	Tags    []string
	All     int
	Mine    int
	Name    string
}

// openClients dials n hibernated sockets spread over three rooms.
func openClients(t *testing.T, base string, n int) []wsClient {
	t.Helper()
	clients := make([]wsClient, n)
	for i := range clients {
		room, user := fmt.Sprintf("room%d", i%3), strconv.Itoa(i)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?room="+room+"&user="+user, nil)
		cancel()
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		c.SetReadLimit(1 << 20) // the burst's answers reach 64 KiB
		t.Cleanup(func() { c.CloseNow() })
		clients[i] = wsClient{c: c, room: room, user: user}
	}
	return clients
}

// exchange sends msg on every client at once and returns each one's
// answer, or the error that ended it (a close, a timeout).
func exchange(clients []wsClient, msg string) ([]answer, []error) {
	answers, errs := make([]answer, len(clients)), make([]error, len(clients))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i, cl := range clients {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := cl.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				errs[i] = err
				return
			}
			_, b, err := cl.c.Read(ctx)
			if err != nil {
				errs[i] = err
				return
			}
			if err := json.Unmarshal(b, &answers[i]); err != nil {
				errs[i] = fmt.Errorf("answer %q: %w", b, err)
			}
		})
	}
	wg.Wait()
	return answers, errs
}

// checkAnswers checks each answer came from version, and that the
// socket's attachment, tags and its object's list of sockets are intact;
// it returns how many clients passed.
func checkAnswers(t *testing.T, clients []wsClient, answers []answer, errs []error, msg, version string) int {
	t.Helper()
	perRoom := map[string]int{}
	for _, cl := range clients {
		perRoom[cl.room]++
	}
	ok, reported := 0, 0
	for i, cl := range clients {
		a, err := answers[i], errs[i]
		want := answer{Version: version, Msg: msg, User: cl.user, Tags: []string{"user:" + cl.user, "all"}, All: perRoom[cl.room], Mine: 1, Name: cl.room}
		if err == nil && a.Version == want.Version && a.Msg == want.Msg && a.User == want.User && slices.Equal(a.Tags, want.Tags) &&
			a.All == want.All && a.Mine == want.Mine && a.Name == want.Name {
			ok++
			continue
		}
		if reported++; reported <= 5 {
			t.Errorf("client %d: answer %+v, error %v; want %+v", i, a, err, want)
		}
	}
	return ok
}

// A reload (the source changes under cairn dev) keeps every hibernated
// socket connected: the new code answers, with attachments, tags and the
// object's socket list intact. A socket accepted with ws.accept() is closed
// with 1012, as before.
func TestHibernatedWebSocketsSurviveReload(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": handoffConfig, "src/index.js": handoffWorker})
	d := startDev(t, dir, t.TempDir())
	n := handoffN(t)
	clients := openClients(t, d.URL, n)
	std := dial(t, d, "/ws?room=room0&mode=std")
	if got := roundTrip(t, std, "x"); got != "v1 std x" {
		t.Fatalf("std socket = %q", got)
	}
	answers, errs := exchange(clients, "before")
	if ok := checkAnswers(t, clients, answers, errs, "before", "v1"); ok != n {
		t.Fatalf("%d of %d sockets answered before the reload\n%s", ok, n, d.Logs)
	}
	stdClosed := make(chan websocket.StatusCode, 1)
	go func() {
		code, _ := closeCode(t, std)
		stdClosed <- code
	}()

	src := filepath.Join(dir, "src/index.js")
	if err := os.WriteFile(src, []byte(strings.Replace(handoffWorker, `"v1"`, `"v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// Messages sent while the reload happens: each answered once, in order.
	stop := make(chan struct{})
	answered := stream(clients, stop)
	reloaded := waitFor(60*time.Second, func() bool { return strings.Contains(d.Logs.String(), "moved to the new version") })
	time.Sleep(200 * time.Millisecond) // a few more under the new version
	close(stop)
	if !reloaded {
		t.Fatalf("no reload within 60s\n%s", d.Logs)
	}
	intact, versions := answered(t)
	t.Logf("reload: %d of %d clients had the messages they sent during it answered once and in order (answers by version: %v)", intact, n, versions)
	if intact != n {
		t.Errorf("%d of %d clients lost or reordered messages sent during the reload", n-intact, n)
	}
	answers, errs = exchange(clients, "after")
	kept := checkAnswers(t, clients, answers, errs, "after", "v2")
	t.Logf("reload: %d of %d hibernated WebSockets stayed connected", kept, n)
	if kept != n {
		t.Errorf("%d of %d sockets kept across the reload\n%s", kept, n, d.Logs)
	}
	// The auto-response came along without waking anything.
	if got := roundTripRaw(t, clients[0].c, "ping"); got != "pong" {
		t.Errorf("auto-response after the reload = %q, want pong", got)
	}
	select {
	case code := <-stdClosed:
		if code != websocket.StatusServiceRestart {
			t.Errorf("ws.accept() socket closed with %d on reload, want 1012", code)
		}
	case <-time.After(15 * time.Second):
		t.Error("ws.accept() socket not closed by the reload")
	}
}

// stream has every client send messages until stop is closed, keeping up
// to 4 unanswered (so the server's pace sets the rate, also under the race
// detector), every eighth padded to 32 KiB (so that frames are in flight
// in pieces when reading stops), while its socket moves. It returns a
// function that waits for the answers and reports how many clients got
// every message answered once and in order (by the old code or the new),
// and how many answers each version gave.
func stream(clients []wsClient, stop <-chan struct{}) func(t *testing.T) (intact int, versions map[string]int) {
	msgOf := func(k int) string {
		m := fmt.Sprintf("stream-%d", k)
		if k%8 == 3 {
			m += strings.Repeat(".", 32<<10)
		}
		return m
	}
	errs := make([]error, len(clients))
	var mu sync.Mutex
	versions := map[string]int{}
	var wg sync.WaitGroup
	for i, cl := range clients {
		window := make(chan struct{}, 4)
		var sent atomic.Int64
		sendDone := make(chan struct{})
		var sendErr error
		wg.Go(func() { // sender
			defer close(sendDone)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				case window <- struct{}{}:
				}
				if err := cl.c.Write(ctx, websocket.MessageText, []byte(msgOf(k))); err != nil {
					sendErr = err
					return
				}
				sent.Add(1)
			}
		})
		wg.Go(func() { // reader
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			var err error
			for k := 0; ; k++ {
				select {
				case <-sendDone:
					if int64(k) >= sent.Load() {
						if err == nil {
							err = sendErr
						}
						errs[i] = err
						return
					}
				default:
				}
				if int64(k) >= sent.Load() {
					time.Sleep(time.Millisecond)
					k--
					continue
				}
				var b []byte
				if _, b, err = cl.c.Read(ctx); err != nil {
					errs[i] = err
					return
				}
				var a answer
				if err = json.Unmarshal(b, &a); err == nil && a.Msg != msgOf(k) {
					err = fmt.Errorf("answer %d is to %.20q, want %.20q", k, a.Msg, msgOf(k))
				}
				if err != nil {
					errs[i] = err
					return
				}
				mu.Lock()
				versions[a.Version]++
				mu.Unlock()
				<-window
			}
		})
	}
	return func(t *testing.T) (int, map[string]int) {
		t.Helper()
		wg.Wait()
		intact, reported := 0, 0
		for i, err := range errs {
			if err == nil {
				intact++
			} else if reported++; reported <= 5 {
				t.Errorf("client %d: stream: %v", i, err)
			}
		}
		return intact, versions
	}
}

// roundTripRaw sends msg and returns the next message as text.
func roundTripRaw(t *testing.T, c *websocket.Conn, msg string) string {
	t.Helper()
	send(t, c, msg)
	_, got := recv(t, c)
	return got
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// SIGUSR2 upgrades the process without a gap: a new process of the same
// binary (here running the edited source, as after a deploy by restart)
// takes the listener and every hibernated socket; the old one exits 0.
// Every client gets its next answer from the new code, none saw a close,
// and a write acknowledged just before the signal is there after it.
func TestHibernatedWebSocketsSurviveUpgrade(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": handoffConfig, "src/index.js": handoffWorker})
	tmp := t.TempDir()
	pidFile, logPath := filepath.Join(tmp, "cairn.pid"), filepath.Join(tmp, "cairn.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	logs := func() string {
		b, _ := os.ReadFile(logPath)
		return string(b)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(cairnBin, "dev", dir, "--port", strconv.Itoa(port), "--persist-to", filepath.Join(tmp, "state"),
		"--no-watch", "--pid-file", pidFile)
	cmd.Stdout, cmd.Stderr = logf, logf
	exited := startWatched(t, cmd)
	oldPid, newPid := cmd.Process.Pid, 0
	stopAtCleanup(t, 15*time.Second, &oldPid, &newPid)
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 1 }) {
		t.Fatalf("not ready\n%s", logs())
	}
	d := &devServer{t: t, URL: base, Logs: &syncBuffer{}}
	n := handoffN(t)
	clients := openClients(t, base, n)
	std := dial(t, d, "/ws?room=room0&mode=std")
	answers, errs := exchange(clients, "before")
	if ok := checkAnswers(t, clients, answers, errs, "before", "v1"); ok != n {
		t.Fatalf("%d of %d sockets answered before the upgrade\n%s", ok, n, logs())
	}
	// The ws.accept() socket's client reads, as a browser does: its
	// close handshake does not hold up the hand-off.
	stdClosed := make(chan websocket.StatusCode, 1)
	go func() {
		code, _ := closeCode(t, std)
		stdClosed <- code
	}()
	// Deploy by restart: new source, then SIGUSR2 right after an
	// acknowledged write.
	if err := os.WriteFile(filepath.Join(dir, "src/index.js"), []byte(strings.Replace(handoffWorker, `"v1"`, `"v2"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, body := d.Get("/write?room=durable&v=acked-before-upgrade"); status != 200 || body != "ok" {
		t.Fatalf("write = %d %q", status, body)
	}
	if err := syscall.Kill(oldPid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	// Messages sent while the process changes: each answered once, in
	// order, by the old process or the new one.
	stop := make(chan struct{})
	answered := stream(clients, stop)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("old process exited with %v\n%s", err, logs())
		}
	case <-time.After(90 * time.Second):
		_ = syscall.Kill(oldPid, syscall.SIGQUIT) // its goroutines, in the log
		time.Sleep(2 * time.Second)
		t.Fatalf("old process still running 90s after SIGUSR2\n%s", logs())
	}
	if !waitFor(60*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 2 }) {
		t.Fatalf("the new process is not ready\n%s", logs())
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	if newPid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || newPid == oldPid || !alive(newPid) {
		t.Fatalf("pid file says %q (old pid %d)\n%s", b, oldPid, logs())
	}
	time.Sleep(200 * time.Millisecond) // a few more to the new process
	close(stop)
	intact, versions := answered(t)
	t.Logf("upgrade: %d of %d clients had the messages they sent during it answered once and in order (answers by version: %v)", intact, n, versions)
	if intact != n {
		t.Errorf("%d of %d clients lost or reordered messages sent during the upgrade\n%s", n-intact, n, logs())
	}
	answers, errs = exchange(clients, "after")
	kept := checkAnswers(t, clients, answers, errs, "after", "v2")
	t.Logf("upgrade: %d of %d hibernated WebSockets stayed connected (pid %d → %d)", kept, n, oldPid, newPid)
	if from, to := logTime(logs(), "the new process is ready"), logTime(logs(), "adopted from the previous process"); !from.IsZero() && !to.IsZero() {
		// Between these two lines neither process accepts: connections
		// wait in the listen backlog.
		if os.Getenv("CAIRN_HANDOFF_LOGS") != "" {
			t.Log(logs())
		}
		t.Logf("upgrade: hand-off window %s (old process stops accepting → new one adopted the sockets)", to.Sub(from).Round(time.Millisecond))
	}
	if kept != n {
		t.Errorf("%d of %d sockets kept across the upgrade\n%s", kept, n, logs())
	}
	if got := roundTripRaw(t, clients[n-1].c, "ping"); got != "pong" {
		t.Errorf("auto-response after the upgrade = %q, want pong", got)
	}
	if code := <-stdClosed; code != websocket.StatusServiceRestart {
		t.Errorf("ws.accept() socket closed with %d by the upgrade, want 1012", code)
	}
	if status, body := d.Get("/read?room=durable"); status != 200 || body != "acked-before-upgrade" {
		t.Errorf("after the upgrade read = %d %q, want the acknowledged write", status, body)
	}
	// The new process can be upgraded again.
	if err := syscall.Kill(newPid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	if !waitFor(90*time.Second, func() bool { return strings.Count(logs(), "Ready on ") == 3 && !alive(newPid) }) {
		t.Fatalf("second upgrade did not complete\n%s", logs())
	}
	b, _ = os.ReadFile(pidFile)
	newPid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	answers, errs = exchange(clients, "again")
	if kept := checkAnswers(t, clients, answers, errs, "again", "v2"); kept != n {
		t.Errorf("%d of %d sockets kept across the second upgrade", kept, n)
	}
}

// logTime returns the time of the first log line containing msg.
func logTime(logs, msg string) time.Time {
	for line := range strings.Lines(logs) {
		if !strings.Contains(line, msg) {
			continue
		}
		if ts, _, ok := strings.Cut(strings.TrimPrefix(line, "time="), " "); ok {
			at, _ := time.Parse(time.RFC3339Nano, ts)
			return at
		}
	}
	return time.Time{}
}

// alive reports whether pid runs (a zombie does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// startWatched starts cmd and returns a channel that gets what its Wait
// returns.
func startWatched(t *testing.T, cmd *exec.Cmd) chan error {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	return exited
}

// stopAtCleanup stops, when the test ends, each process whose pid is then
// in pids and still alive (an upgrade changes the pid the test watches):
// SIGTERM, then SIGKILL and an error if it has not exited within wait.
func stopAtCleanup(t *testing.T, wait time.Duration, pids ...*int) {
	t.Cleanup(func() {
		for _, p := range pids {
			if pid := *p; pid != 0 && alive(pid) {
				_ = syscall.Kill(pid, syscall.SIGTERM)
				if !waitFor(wait, func() bool { return !alive(pid) }) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					t.Errorf("pid %d did not stop on SIGTERM", pid)
				}
			}
		}
	})
}
