package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The corpus: real npm packages, unchanged, each in a project of its own
// under testdata/corpus (versions pinned by its package.json and
// package-lock.json, installed by npm ci in the test), with a smoke test of
// its main path through the real binary.

// agents: a minimal Agent (the SDK imports node:diagnostics_channel and
// node:async_hooks, and runs on partyserver) with state and SQL, reached
// through routeAgentRequest.
func TestCorpusAgents(t *testing.T) {
	dir := installProject(t, "testdata/corpus/agents")
	d := startDev(t, dir, t.TempDir())
	for i, want := range []string{`{"agent":"alice","count":1,"hits":1}`, `{"agent":"alice","count":2,"hits":2}`} {
		if status, got := d.Get("/agents/my-agent/alice"); status != 200 || got != want {
			t.Fatalf("request %d = %d %s, want %s\n%s", i, status, got, want, d.Logs)
		}
	}
	d.expect("GET", "/agents/my-agent/bob", 200, `{"agent":"bob","count":1,"hits":1}`)
	d.expect("GET", "/elsewhere", 404, "no agent here")
}

// partyserver: a chat room. Two clients connect; what one sends, the other
// receives (broadcast), on both of partyserver's paths: sockets in memory
// (iterator helpers, WebSocket.READY_STATE_OPEN) and hibernatable sockets.
func TestCorpusPartyserverChat(t *testing.T) {
	dir := installProject(t, "testdata/corpus/partyserver")
	d := startDev(t, dir, t.TempDir())
	for _, party := range []string{"chat", "hibernating-chat"} {
		t.Run(party, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			path := "/parties/" + party + "/lobby"
			a, b := dial(t, d, path+"?_pk=a"), dial(t, d, path+"?_pk=b")
			defer a.CloseNow()
			defer b.CloseNow()
			for _, c := range []*websocket.Conn{a, b} {
				if _, msg, err := c.Read(ctx); err != nil || string(msg) != "welcome to lobby" {
					t.Fatalf("welcome = %q, %v\n%s", msg, err, d.Logs)
				}
			}
			if err := a.Write(ctx, websocket.MessageText, []byte("hello from a")); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := b.Read(ctx); err != nil || string(msg) != "hello from a" {
				t.Fatalf("b got %q, %v\n%s", msg, err, d.Logs)
			}
			if err := b.Write(ctx, websocket.MessageText, []byte("hi a")); err != nil {
				t.Fatal(err)
			}
			if _, msg, err := a.Read(ctx); err != nil || string(msg) != "hi a" {
				t.Fatalf("a got %q, %v\n%s", msg, err, d.Logs)
			}
		})
	}
}

// hono, itty-router, nanoid and uuid in one Worker.
func TestCorpusLibraries(t *testing.T) {
	dir := installProject(t, "testdata/corpus/libs")
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/hono/hello/ada?q=1", 200, `{"hello":"ada","q":"1"}`)
	if status, got := d.Do("POST", "/hono/echo", `{"a":[1,2]}`); status != 201 || got != `{"a":[1,2]}` {
		t.Errorf("POST /hono/echo = %d %s", status, got)
	}
	d.expect("GET", "/itty/items/7?sort=asc", 200, `{"id":"7","sort":"asc"}`)
	d.expect("GET", "/itty/nothing", 404, `{"status":404,"error":"Not Found"}`)
	status, got := d.Get("/ids")
	var ids struct {
		Nanoid, Hex, Uuid4, Uuid7 string
		Uuid4valid, Uuid7valid    bool
	}
	if err := json.Unmarshal([]byte(got), &ids); status != 200 || err != nil {
		t.Fatalf("/ids = %d %s (%v)\n%s", status, got, err, d.Logs)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[47][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{21}$`).MatchString(ids.Nanoid) || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(ids.Hex) ||
		!uuid.MatchString(ids.Uuid4) || !uuid.MatchString(ids.Uuid7) || !ids.Uuid4valid || !ids.Uuid7valid || !strings.HasPrefix(ids.Uuid7[14:], "7") {
		t.Errorf("/ids = %s", got)
	}
}

// chanfana with zod on hono (the shape of Cloudflare's OpenAPI template):
// validated params, query and JSON body, a 400 for a bad body, and the
// generated OpenAPI document and docs page.
func TestCorpusChanfana(t *testing.T) {
	dir := installProject(t, "testdata/corpus/openapi")
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/tasks/write-tests?verbose=true", 200, `{"slug":"write-tests","verbose":true}`)
	if status, got := d.Do("POST", "/tasks", `{"name":"ship","due":"2026-12-24"}`); status != 201 || got != `{"created":{"name":"ship","due":"2026-12-24","done":false}}` {
		t.Errorf("POST /tasks = %d %s", status, got)
	}
	if status, got := d.Do("POST", "/tasks", `{"name":"","due":"soon"}`); status != 400 || !strings.Contains(got, `"success":false`) || !strings.Contains(got, "due") {
		t.Errorf("POST /tasks with a bad body = %d %s, want 400 naming the field", status, got)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	getJSON(t, d, "/openapi.json", &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/tasks/{slug}"]["get"] == nil || doc.Paths["/tasks"]["post"] == nil {
		t.Errorf("openapi.json = %+v", doc)
	}
	if status, got := d.Get("/docs"); status != 200 || !strings.Contains(got, "openapi.json") {
		t.Errorf("/docs = %d %.200s", status, got)
	}
}

// @cloudflare/actors: handler() routes by nameFromRequest to an Actor that
// keeps SQL state per name and runs an alarm scheduled with this.alarms.
func TestCorpusActors(t *testing.T) {
	dir := installProject(t, "testdata/corpus/actors")
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/?name=a", 200, `{"name":"a","count":1}`)
	d.expect("GET", "/?name=a", 200, `{"name":"a","count":2}`)
	d.expect("GET", "/?name=b", 200, `{"name":"b","count":1}`)
	d.expect("GET", "/alarm?name=a", 200, `{"scheduled":"delayed"}`)
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, got := d.Get("/rings?name=a")
		if got == `[{"payload":"wake up"}]` {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the alarm did not ring: /rings = %s\n%s", got, d.Logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	d.expect("GET", "/rings?name=b", 200, `[]`)
}

// y-partyserver: a Y.Doc (Yjs) served by a Durable Object. Two clients
// (y-partyserver's own provider over the ws package, in Node: client.mjs)
// edit one room's text and each sees the other's edit; the server saves the
// doc to SQLite (onSave) and loads it when the object starts again
// (onLoad), so a new process serves the same text and new edits append.
func TestCorpusYjs(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed: the Yjs clients run on Node")
	}
	dir := installProject(t, "testdata/corpus/yjs")
	state := t.TempDir()
	clients := func(d *devServer) string {
		t.Helper()
		cmd := exec.Command(node, "client.mjs", strings.TrimPrefix(d.URL, "http://"), "room-1")
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("clients: %v\n%s\n%s", err, out, d.Logs)
		}
		return strings.TrimSpace(string(out))
	}
	// waitText waits for the debounced save, then reads the server's text.
	waitText := func(d *devServer, want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			status, got := d.Get("/text/room-1")
			if status == 200 && strings.HasPrefix(got, `{"text":"`+want+`","saves":1}`) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("GET /text/room-1 = %d %s, want text %q saved\n%s", status, got, want, d.Logs)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	d := startDev(t, dir, state)
	if got, want := clients(d), `{"before":"","a":"hello world","b":"hello world"}`; got != want {
		t.Fatalf("first clients: %s, want %s", got, want)
	}
	waitText(d, "hello world")
	d.Stop()

	d = startDev(t, dir, state)
	waitText(d, "hello world") // loaded by onLoad in a new process
	if got, want := clients(d), `{"before":"hello world","a":"hello worldhello world","b":"hello worldhello world"}`; got != want {
		t.Fatalf("clients after a restart: %s, want %s", got, want)
	}
	waitText(d, "hello worldhello world")
}

// React Router v7 in framework mode: the test set-up builds the app with
// `react-router build` (npm run build, from the project's own files), and
// a Worker serves the server build, loaded by a dynamic import(), with
// createRequestHandler: server-rendered HTML from loaders that read a KV
// binding, a form POST to an action that writes it and redirects, a
// single-fetch data request, a 404 thrown by a loader, and the client
// assets from build/client.
func TestCorpusReactRouter(t *testing.T) {
	dir := installProject(t, "testdata/corpus/react-router")
	build := exec.Command("npm", "run", "build")
	build.Dir = dir
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("react-router build: %v\n%s", err, out)
	}
	d := startDev(t, dir, t.TempDir())
	main := regexp.MustCompile(`<main>.*</main>`)
	if status, got := d.Get("/"); status != 200 || !strings.HasPrefix(got, "<!DOCTYPE html>") ||
		main.FindString(got) != `<main><h1>Notes (<!-- -->0<!-- -->)</h1><ul></ul><form data-discover="true" action="/?index" method="post"><input name="text"/><button type="submit">Add</button></form></main>` {
		t.Fatalf("GET / = %d %.600s\n%s", status, got, d.Logs)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(d.URL+"/?index", url.Values{"text": {"first <note>"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !regexp.MustCompile(`^/notes/n\d+$`).MatchString(loc) {
		t.Fatalf("POST /?index = %d Location %q, want a redirect to the new note\n%s", resp.StatusCode, loc, d.Logs)
	}
	id := strings.TrimPrefix(loc, "/notes/")
	if status, got := d.Get(loc); status != 200 || !strings.Contains(got, "<article><h1>Note <!-- -->"+id+"</h1><p>first &lt;note&gt;</p></article>") {
		t.Errorf("GET %s = %d %.600s", loc, status, got)
	}
	if _, got := d.Get("/"); !strings.Contains(main.FindString(got), "Notes (<!-- -->1<!-- -->)</h1><ul><li>first &lt;note&gt;</li></ul>") {
		t.Errorf("GET / after the POST: %s", main.FindString(got))
	}
	if status, got := d.Get(loc + ".data"); status != 200 || !strings.Contains(got, `"routes/note"`) || !strings.Contains(got, `"first <note>"`) {
		t.Errorf("GET %s.data = %d %s", loc, status, got)
	}
	if status, _ := d.Get("/notes/none"); status != 404 {
		t.Errorf("GET /notes/none = %d, want 404 (thrown by the loader)", status)
	}
	if status, got := d.Get("/"); status == 200 {
		asset := regexp.MustCompile(`/assets/root-[\w-]+\.js`).FindString(got)
		if status, body := d.Get(asset); asset == "" || status != 200 || !strings.Contains(body, "import") {
			t.Errorf("GET %q (a client asset) = %d %.100s", asset, status, body)
		}
	}
}
