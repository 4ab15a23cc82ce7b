package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// tailWorker logs from a request, throws from a TypeScript function (so
// the stack must be source-mapped to src/index.ts), and calls a Durable
// Object made by name that logs too.
const tailWorker = `import { DurableObject } from "cloudflare:workers";

export class Counter extends DurableObject {
  async fetch(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    console.log("object saw", path);
    if (path === "/ws") {
      const [client, server] = Object.values(new WebSocketPair());
      this.ctx.acceptWebSocket(server);
      return new Response(null, { status: 101, webSocket: client });
    }
    if (path === "/alarm") await this.ctx.storage.setAlarm(Date.now() + 50);
    return new Response("object");
  }
  async alarm() {
    console.log("alarm rang");
  }
  async webSocketMessage(ws: WebSocket, msg: string) {
    console.log("ws got", msg);
    ws.send("echo " + msg);
  }
}

function explode(what: string): never {
  throw new TypeError("kaboom " + what);
}

export default {
  async fetch(req: Request, env: { COUNTER: DurableObjectNamespace }): Promise<Response> {
    const url = new URL(req.url);
    console.log("handling", req.method, url.pathname);
    await new Promise((r) => setTimeout(r, 1));
    if (url.pathname.startsWith("/throw")) explode(url.pathname);
    if (url.pathname === "/do") {
      const res = await env.COUNTER.getByName("alice").fetch("http://do/inner");
      return new Response(await res.text());
    }
    if (url.pathname === "/ws" || url.pathname === "/alarm") return env.COUNTER.getByName("bob").fetch(req);
    return new Response("ok " + url.pathname);
  },
};
`

// tailClient is a running cairn tail --format json.
type tailClient struct {
	cmd   *exec.Cmd
	items chan map[string]any
	errs  *syncBuffer
	done  chan error
}

// startTail runs cairn tail against the admin API at api with args and
// waits until it is connected.
func startTail(t *testing.T, api string, args ...string) *tailClient {
	t.Helper()
	cmd := exec.Command(cairnBin, append([]string{"tail", "tailed", "--remote", api, "--token", "tok", "--format", "json"}, args...)...)
	tc := &tailClient{cmd: cmd, items: make(chan map[string]any, 100), errs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stderr = tc.errs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var it map[string]any
			if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
				it = map[string]any{"unparsable": sc.Text()}
			}
			tc.items <- it
		}
		close(tc.items)
	}()
	go func() { tc.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(tc.errs.String(), "Connected to tailed") {
		if time.Now().After(deadline) {
			t.Fatalf("cairn tail did not connect: %s", tc.errs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return tc
}

// next returns the next item, or fails after 10 s.
func (tc *tailClient) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case it, ok := <-tc.items:
		if !ok {
			t.Fatalf("cairn tail ended: %s", tc.errs)
		}
		return it
	case <-time.After(10 * time.Second):
		t.Fatalf("no trace item in 10 s; tail stderr: %s", tc.errs)
	}
	return nil
}

// until returns the items up to and including the first for which last
// is true.
func (tc *tailClient) until(t *testing.T, last func(map[string]any) bool) []map[string]any {
	t.Helper()
	var items []map[string]any
	for {
		it := tc.next(t)
		items = append(items, it)
		if last(it) {
			return items
		}
	}
}

// get returns the value at a dotted path of a decoded JSON object.
func get(v any, path string) any {
	for _, k := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			var i int
			if _, err := fmt.Sscan(k, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func urlIs(path string) func(map[string]any) bool {
	return func(it map[string]any) bool {
		u, _ := get(it, "event.request.url").(string)
		return strings.HasSuffix(u, path)
	}
}

// cairn tail streams, per event, the console lines and exceptions of a
// request and of a Durable Object's fetch, in Cloudflare's trace item
// shape; its filters select on the server side; the console lines in the
// server's own JSON log carry worker, version, request and object.
func TestTail(t *testing.T) {
	project := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "tailed", "main": "src/index.ts", "compatibility_date": "2025-09-01",
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]}`,
		"src/index.ts": tailWorker,
	})
	apiPort := freePort(t)
	d := startDev(t, project, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "tok", "--log-format", "json")
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	all := startTail(t, api)
	errorsOnly := startTail(t, api, "--status", "error")
	posts := startTail(t, api, "--method", "POST")
	search := startTail(t, api, "--search", "object saw")

	d.expect("GET", "/log", 200, "ok /log")
	d.expect("POST", "/posted", 200, "ok /posted")
	if status, _ := d.Get("/throw/1"); status != 500 {
		t.Fatalf("/throw/1: status %d", status)
	}
	d.expect("GET", "/do", 200, "object")
	d.expect("POST", "/throw/end", 500, "Worker threw exception\n")

	// The unfiltered tail sees every event: the DO's fetch as an item of
	// its own, before the request that called it ends.
	items := all.until(t, urlIs("/throw/end"))
	byURL := map[string]map[string]any{}
	for _, it := range items {
		u, _ := get(it, "event.request.url").(string)
		byURL[u[strings.LastIndex(u, "/"):]] = it
		if it["scriptName"] != "tailed" || get(it, "scriptVersion.id") == nil || it["eventTimestamp"] == nil {
			t.Errorf("item without script name, version or timestamp: %v", it)
		}
	}
	if len(items) != 6 {
		t.Errorf("unfiltered tail: %d items, want 6 (5 requests and the object's fetch): %v", len(items), items)
	}
	log := byURL["/log"]
	if log["outcome"] != "ok" || get(log, "event.request.method") != "GET" || get(log, "event.response.status") != 200.0 ||
		get(log, "logs.0.message.0") != "handling GET /log" || get(log, "logs.0.level") != "log" || get(log, "event.request.cf.colo") != "LHR" {
		t.Errorf("/log item: %v", log)
	}
	thrown := byURL["/1"]
	stack, _ := get(thrown, "exceptions.0.stack").(string)
	if thrown["outcome"] != "exception" || get(thrown, "exceptions.0.name") != "TypeError" ||
		get(thrown, "exceptions.0.message") != "kaboom /throw/1" || get(thrown, "event.response.status") != 500.0 {
		t.Errorf("/throw/1 item: %v", thrown)
	}
	// Source-mapped: the throw is on line 25 of the TypeScript source.
	if !strings.Contains(stack, "src/index.ts:25:") {
		t.Errorf("exception stack not mapped to src/index.ts:25: %q", stack)
	}
	inner := byURL["/inner"]
	if inner["executionModel"] != "durableObject" || inner["entrypoint"] != "Counter" || inner["durableObjectName"] != "alice" ||
		len(fmt.Sprint(inner["durableObjectId"])) != 64 || get(inner, "logs.0.message.0") != "object saw /inner" {
		t.Errorf("Durable Object item: %v", inner)
	}
	if inner["requestId"] == nil || inner["requestId"] != byURL["/do"]["requestId"] {
		t.Errorf("object's item has request id %v, the request's is %v", inner["requestId"], byURL["/do"]["requestId"])
	}

	// --status error: only the two exceptions.
	for _, it := range errorsOnly.until(t, urlIs("/throw/end")) {
		if it["outcome"] != "exception" {
			t.Errorf("--status error passed %v", it)
		}
	}
	// --method POST: /posted and /throw/end.
	got := posts.until(t, urlIs("/throw/end"))
	if len(got) != 2 || !urlIs("/posted")(got[0]) {
		t.Errorf("--method POST passed %d items: %v", len(got), got)
	}
	// --search: only the object's item has the text.
	if it := search.next(t); !urlIs("/inner")(it) {
		t.Errorf("--search passed %v", it)
	}

	// An alarm and a hibernatable WebSocket's message are items of their
	// own, with the console lines of their handlers.
	d.expect("GET", "/alarm", 200, "object")
	ws := dial(t, d, "/ws")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "echo hi" {
		t.Fatalf("WebSocket echo: %q, %v", msg, err)
	}
	var alarm, wsMsg map[string]any
	all.until(t, func(it map[string]any) bool {
		switch {
		case get(it, "event.scheduledTime") != nil:
			alarm = it
		case get(it, "event.getWebSocketEvent.webSocketEventType") == "message":
			wsMsg = it
		}
		return alarm != nil && wsMsg != nil
	})
	if alarm["outcome"] != "ok" || alarm["durableObjectName"] != "bob" || get(alarm, "logs.0.message.0") != "alarm rang" {
		t.Errorf("alarm item: %v", alarm)
	}
	if wsMsg["outcome"] != "ok" || wsMsg["entrypoint"] != "Counter" || get(wsMsg, "logs.0.message.0") != "ws got hi" {
		t.Errorf("WebSocket message item: %v", wsMsg)
	}
	ws.Close(websocket.StatusNormalClosure, "")

	// The server's JSON log: the object's console line carries the worker,
	// version, request id and the object.
	var objLine map[string]any
	for _, l := range strings.Split(d.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(l), &rec) == nil && rec["msg"] == "object saw /inner" {
			objLine = rec
		}
	}
	if objLine == nil {
		t.Fatalf("no log record of the object's console line:\n%s", d.Logs)
	}
	for k, want := range map[string]any{"worker": "tailed", "version": get(inner, "scriptVersion.id"), "request": inner["requestId"],
		"class": "Counter", "name": "alice", "object": inner["durableObjectId"], "source": "console"} {
		if objLine[k] != want {
			t.Errorf("object's log record: %s = %v, want %v (%v)", k, objLine[k], want, objLine)
		}
	}
	if !d.waitLog(`"msg":"request failed"`) || !strings.Contains(d.Logs.String(), `"worker":"tailed"`) {
		t.Errorf("uncaught exception not logged with its worker")
	}

	// Ctrl-C ends a tail cleanly.
	_ = search.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-search.done:
		if err != nil {
			t.Errorf("cairn tail after SIGINT: %v (%s)", err, search.errs)
		}
	case <-time.After(10 * time.Second):
		t.Error("cairn tail did not stop on SIGINT")
	}
	// The server's shutdown ends the others, which exit 0 with a notice.
	d.Stop()
	for _, tc := range []*tailClient{all, errorsOnly, posts} {
		select {
		case err := <-tc.done:
			if err != nil || !strings.Contains(tc.errs.String(), "The tail ended") {
				t.Errorf("cairn tail after the server stopped: %v (%s)", err, tc.errs)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("cairn tail still running 15 s after the server stopped")
		}
	}
}

// Without a valid token no tail is made; a tail of another Worker is a 404.
func TestTailRefused(t *testing.T) {
	project := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "tailed", "main": "src/index.ts", "compatibility_date": "2025-09-01"}`,
		"src/index.ts":   `export default { fetch() { return new Response("x"); } };`,
	})
	apiPort := freePort(t)
	startDev(t, project, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "tok")
	api := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tail", "tailed", "--remote", api, "--token", "wrong"}, "Authentication error"},
		{[]string{"tail", "other", "--remote", api, "--token", "tok"}, "does not exist"},
		{[]string{"tail", "tailed", "--remote", api, "--token", "tok", "--status", "maybe"}, `--status "maybe"`},
		{[]string{"tail", "tailed", "--remote", api, "--token", "tok", "--sampling-rate", "2"}, "--sampling-rate"},
	} {
		out, err := runCairn(t, 30*time.Second, tc.args...)
		if err == nil || !strings.Contains(out, tc.want) {
			t.Errorf("cairn %s: err %v, output %q; want an error with %q", strings.Join(tc.args, " "), err, out, tc.want)
		}
	}
}
