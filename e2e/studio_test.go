package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
)

// The data studio in a real browser: headless Chromium (installed by
// scripts/test-setup.sh) driven by chromedp against `cairn dev
// --api-port`. Screenshots of each step go to e2e/testdata/screenshots/
// (git-ignored; -studio.shots sets another directory).

var (
	studioShots   = flag.String("studio.shots", "testdata/screenshots", "directory for the studio test's screenshots")
	studioBigRows = flag.Int("studio.bigrows", 20000, "rows of the table TestStudioLargeTable opens (the measurement used 1000000)")
)

// studioFiles is a Worker with a Durable Object class that fills a table
// (?n= rows), sets an alarm (?alarm=1) and accepts hibernatable WebSockets
// with tags, a D1 database and a KV namespace.
var studioFiles = map[string]string{
	"wrangler.json": `{
  "name": "studio",
  "main": "worker.js",
  "compatibility_date": "2025-06-01",
  "durable_objects": {"bindings": [{"name": "STORE", "class_name": "Store"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Store"]}],
  "d1_databases": [{"binding": "DB", "database_name": "main", "database_id": "main-db"}],
  "kv_namespaces": [{"binding": "KV", "id": "kv1"}]
}`,
	"worker.js": `import { DurableObject } from "cloudflare:workers";
export class Store extends DurableObject {
  async fetch(req) {
    if (req.headers.get("Upgrade") === "websocket") {
      const [client, server] = Object.values(new WebSocketPair());
      this.ctx.acceptWebSocket(server, ["room-7", "user:ada"]);
      return new Response(null, { status: 101, webSocket: client });
    }
    const url = new URL(req.url);
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, label TEXT, price REAL)");
    const n = Number(url.searchParams.get("n") || "0");
    if (n > 0) {
      sql.exec("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO items (label, price) SELECT 'item ' || i, i * 1.5 FROM s", n);
    }
    if (url.searchParams.get("alarm")) await this.ctx.storage.setAlarm(Date.now() + 3600000);
    return new Response(String(sql.exec("SELECT count(*) AS c FROM items").one().c));
  }
  webSocketMessage(ws, msg) { ws.send(msg); }
  async alarm() {}
}
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/d1") {
      await env.DB.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)");
      const n = Number(url.searchParams.get("n") || "0");
      if (n > 0) {
        await env.DB.prepare("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO notes (body) SELECT 'note ' || i FROM s").bind(n).run();
      }
      const row = await env.DB.prepare("SELECT count(*) AS c FROM notes").first();
      return new Response(String(row.c));
    }
    if (url.pathname === "/kv") return new Response(await env.KV.get(url.searchParams.get("key")) ?? "(none)");
    return env.STORE.getByName(url.searchParams.get("name") || "a").fetch(req);
  }
};
`,
}

// chromiumPath finds Chromium. Without it the test skips, unless
// scripts/test-setup.sh ran (or CI is set): then it must be there.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("../.cache/test-setup-done"); err == nil || os.Getenv("CI") != "" {
		t.Fatal("Chromium not found although scripts/test-setup.sh ran (or CI is set): the studio browser test cannot run")
	}
	t.Skip("Chromium not found: run scripts/test-setup.sh (installs chromium and chromium-driver) to run the studio browser test")
	return ""
}

// browser starts headless Chromium and returns a chromedp context on a tab.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // root in CI
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancelTab(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	return ctx
}

// shot saves a full-page screenshot as name.png in the screenshot directory.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir, err := filepath.Abs(*studioShots)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, t.Name()+"-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", p)
}

// run runs chromedp actions, failing the test with a screenshot on error.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		shot(t, ctx, "failed-"+strings.ReplaceAll(step, " ", "-"))
		t.Fatalf("%s: %v\nmain: %s", step, err, html)
	}
}

// evaluate runs a JavaScript expression in the page and returns its value.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// gridText returns the text of the cells of the table matched by sel,
// row by row, cells joined by "|".
func gridText(t *testing.T, ctx context.Context, sel string) []string {
	t.Helper()
	return evaluate[[]string](t, ctx, fmt.Sprintf(
		`[...document.querySelectorAll(%q)].map(tr => [...tr.cells].map(c => c.textContent).join("|"))`, sel+" tbody tr"))
}

// text returns the text of the element matched by the CSS selector sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return evaluate[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))
}

func TestStudioBrowser(t *testing.T) {
	ctx := browser(t)
	dir := writeProject(t, studioFiles)
	apiPort := freePort(t)
	d := startDev(t, dir, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "studio-tok")
	if _, body := d.Get("/?name=alpha&n=300&alarm=1"); body != "300" {
		t.Fatalf("fill alpha = %s", body)
	}
	d.Get("/?name=beta&n=3")
	if _, body := d.Get("/d1?n=40"); body != "40" {
		t.Fatalf("fill d1 = %s", body)
	}
	// A hibernatable WebSocket with tags, held open through the test.
	wsctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(wsctx, strings.Replace(d.URL, "http", "ws", 1)+"/?name=alpha", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()

	admin := fmt.Sprintf("http://127.0.0.1:%d", apiPort)

	// Sign in: the page asks for the token (the API answers 401 without).
	run(t, ctx, "open studio",
		chromedp.Navigate(admin+"/studio/"),
		chromedp.WaitVisible(chromedp.CSS("#login #token")))
	shot(t, ctx, "1-login")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), "studio-tok"),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=classes]`)))
	shot(t, ctx, "2-worker")
	if got := gridText(t, ctx, "[data-test=classes]"); len(got) != 1 || got[0] != "Store|STORE" {
		t.Errorf("classes = %q", got)
	}
	if got := gridText(t, ctx, "[data-test=databases]"); len(got) != 1 || !strings.HasPrefix(got[0], "main|DB|") {
		t.Errorf("databases = %q", got)
	}

	// Workers → namespace → objects (searchable by name).
	run(t, ctx, "open class",
		chromedp.Click(chromedp.CSS(`[data-test=classes] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=objects]`)))
	if got := gridText(t, ctx, "[data-test=objects]"); len(got) != 2 {
		t.Errorf("objects = %q", got)
	}
	run(t, ctx, "search",
		chromedp.SendKeys(chromedp.CSS("#search"), "alpha\r"),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Open the object named")]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=objects]`)))
	shot(t, ctx, "3-objects")
	objs := gridText(t, ctx, "[data-test=objects]")
	if len(objs) != 1 || !strings.Contains(objs[0], "|alpha|") || !strings.Contains(objs[0], "live") {
		t.Fatalf("search alpha = %q", objs)
	}

	// The object: tables, alarm, WebSockets with their tags.
	run(t, ctx, "open object",
		chromedp.Click(chromedp.CSS(`[data-test=objects] tbody a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=tables]`)))
	shot(t, ctx, "4-object")
	if got := gridText(t, ctx, "[data-test=tables]"); len(got) != 1 || got[0] != "items|table|300" {
		t.Errorf("tables = %q", got)
	}
	alarm, sockets := text(t, ctx, `[data-test=alarm]`), text(t, ctx, `[data-test=websockets]`)
	if alarm == "none" || !strings.Contains(alarm, "Z)") {
		t.Errorf("alarm = %q", alarm)
	}
	if !strings.Contains(sockets, "1 hibernatable") || !strings.Contains(sockets, "room-7") || !strings.Contains(sockets, "user:ada") {
		t.Errorf("websockets = %q", sockets)
	}

	// A query with the result grid.
	run(t, ctx, "query",
		chromedp.SendKeys(chromedp.CSS("#sql"), "SELECT id, label, price FROM items WHERE id <= 3 ORDER BY id"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS(`#sql-result [data-test=grid]`)))
	shot(t, ctx, "5-query")
	if got := gridText(t, ctx, "#sql-result [data-test=grid]"); strings.Join(got, ";") != "1|item 1|1.5;2|item 2|3;3|item 3|4.5" {
		t.Errorf("grid = %q", got)
	}

	// A write in read-only mode: a clear error, nothing changed.
	run(t, ctx, "write read-only",
		chromedp.SetValue(chromedp.CSS("#sql"), "DELETE FROM items"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS(`#sql-result [data-test=error]`)))
	errText := text(t, ctx, `#sql-result [data-test=error]`)
	shot(t, ctx, "6-readonly")
	if !strings.Contains(errText, "read-only mode") {
		t.Errorf("read-only error = %q", errText)
	}
	if _, body := d.Get("/?name=alpha"); body != "300" {
		t.Errorf("after a refused write the object has %s rows, want 300", body)
	}
	// Switched to read-write, it runs (and the object sees it).
	run(t, ctx, "write read-write",
		chromedp.Click(chromedp.CSS("#readwrite")),
		chromedp.SetValue(chromedp.CSS("#sql"), "DELETE FROM items WHERE id > 290"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS(`#sql-result [data-test=meta]`)))
	if _, body := d.Get("/?name=alpha"); body != "290" {
		t.Errorf("after the read-write delete the object has %s rows, want 290", body)
	}

	// Rows by page.
	run(t, ctx, "open table",
		chromedp.Click(chromedp.CSS(`[data-test=tables] a`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=grid]`)))
	rows := gridText(t, ctx, "[data-test=grid]")
	if len(rows) != 100 || !strings.HasPrefix(rows[0], "1|1|item 1|") {
		t.Errorf("page 1: %d rows, first %q", len(rows), rows[:min(1, len(rows))])
	}
	run(t, ctx, "next page",
		chromedp.Click(chromedp.Search(`//a[contains(., "next page")]`)),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "first page")]`)))
	shot(t, ctx, "7-rows")
	if rows := gridText(t, ctx, "[data-test=grid]"); len(rows) != 100 || !strings.HasPrefix(rows[0], "101|101|item 101|") {
		t.Errorf("page 2: %d rows, first %q", len(rows), rows[:min(1, len(rows))])
	}

	// D1: tables and a query.
	run(t, ctx, "d1",
		chromedp.Navigate(admin+"/studio/#/d1/main-db"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=tables]`)),
		chromedp.SendKeys(chromedp.CSS("#sql"), "SELECT count(*) AS n, max(body) AS last FROM notes"),
		chromedp.Click(chromedp.CSS("#run")),
		chromedp.WaitVisible(chromedp.CSS(`#sql-result [data-test=grid]`)))
	shot(t, ctx, "8-d1")
	if got := gridText(t, ctx, "#sql-result [data-test=grid]"); len(got) != 1 || got[0] != "40|note 9" {
		t.Errorf("d1 grid = %q", got)
	}

	// KV: add a key in the browser, read it from the Worker.
	run(t, ctx, "kv add",
		chromedp.Navigate(admin+"/studio/#/kv/kv1"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=keys]`)),
		chromedp.SendKeys(chromedp.CSS("#new-key"), "greeting"),
		chromedp.Click(chromedp.Search(`//button[.="Add key"]`)),
		chromedp.WaitVisible(chromedp.CSS("#kv-value")),
		chromedp.SendKeys(chromedp.CSS("#kv-value"), "hello from the studio"),
		chromedp.Click(chromedp.CSS("#kv-save")),
		chromedp.WaitVisible(chromedp.Search(`//table[@data-test="keys"]//button[.="greeting"]`)))
	shot(t, ctx, "9-kv")
	if _, body := d.Get("/kv?key=greeting"); body != "hello from the studio" {
		t.Errorf("KV value = %q", body)
	}
}

// Without the token the studio's API calls get 401 in Cloudflare's
// envelope; the page itself loads (it holds no data).
func TestStudioWrongToken(t *testing.T) {
	dir := writeProject(t, studioFiles)
	apiPort := freePort(t)
	startDev(t, dir, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "right")
	admin := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	for _, tc := range []struct {
		path, token string
		status      int
		body        string
	}{
		{"/client/v4/cairn/studio/worker", "wrong", 401, `"code":10000`},
		{"/client/v4/cairn/studio/worker", "right", 200, `"name":"studio"`},
		{"/studio/", "", 200, "cairn studio"},
		{"/openapi.json", "", 200, `"/client/v4/cairn/studio/objects/{class}/{id}/query"`},
	} {
		req, _ := http.NewRequest("GET", admin+tc.path, nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := testClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s (token %q) = %d %.200s, want %d with %s", tc.path, tc.token, resp.StatusCode, b, tc.status, tc.body)
		}
	}
}

// TestStudioLargeTable opens a table of -studio.bigrows rows (20,000 by
// default; the README's measurement used 1,000,000) in the studio and
// reports how long the object page and the first page of rows took to
// render. The server reads one page (by rowid), never the table.
func TestStudioLargeTable(t *testing.T) {
	ctx := browser(t)
	dir := writeProject(t, studioFiles)
	apiPort := freePort(t)
	d := startDev(t, dir, t.TempDir(), "--api-port", fmt.Sprint(apiPort))
	n := *studioBigRows
	start := time.Now()
	if _, body := d.Get(fmt.Sprintf("/?name=big&n=%d", n)); body != fmt.Sprint(n) {
		t.Fatalf("fill = %s", body)
	}
	t.Logf("filled %d rows in %s", n, time.Since(start).Round(time.Millisecond))
	admin := fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	var id string
	run(t, ctx, "warm up",
		chromedp.Navigate(admin+"/studio/#/do/Store"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=objects] tbody a`)))
	id = evaluate[string](t, ctx, `document.querySelector("[data-test=objects] tbody a").getAttribute("href")`)
	id = id[strings.LastIndex(id, "/")+1:]

	start = time.Now()
	run(t, ctx, "object page",
		chromedp.Navigate(admin+"/studio/#/do/Store/"+id),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=tables]`)))
	objectPage := time.Since(start)
	if got := gridText(t, ctx, "[data-test=tables]"); len(got) != 1 || got[0] != fmt.Sprintf("items|table|%d", n) {
		t.Errorf("tables = %q", got)
	}
	start = time.Now()
	run(t, ctx, "rows page",
		chromedp.Navigate(admin+"/studio/#/do/Store/"+id+"/t/items"),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=grid]`)))
	rowsPage := time.Since(start)
	if rows := gridText(t, ctx, "[data-test=grid]"); len(rows) != 100 {
		t.Errorf("first page: %d rows", len(rows))
	}
	// A deep page costs the same: paging is by rowid.
	start = time.Now()
	run(t, ctx, "deep page",
		chromedp.Navigate(admin+fmt.Sprintf("/studio/#/do/Store/%s/t/items?after=%d", id, n-150)),
		chromedp.WaitVisible(chromedp.Search(`//a[contains(., "first page")]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-test=grid]`)))
	deepPage := time.Since(start)
	shot(t, ctx, "large")
	t.Logf("%d rows: object page (tables with row counts) %s, first rows page %s, page at row %d %s",
		n, objectPage.Round(time.Millisecond), rowsPage.Round(time.Millisecond), n-150, deepPage.Round(time.Millisecond))
	if rowsPage > 20*time.Second {
		t.Errorf("first page of rows took %s", rowsPage)
	}
}

// The studio shows an object that holds hibernatable WebSockets and was
// evicted as hibernated, with its sockets' tags, and looking at it does
// not disturb it: it stays out of memory and its socket stays open.
func TestStudioHibernated(t *testing.T) {
	dir := writeProject(t, studioFiles)
	apiPort := freePort(t)
	d := startDev(t, dir, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--hibernate-idle", "300ms")
	admin := fmt.Sprintf("http://127.0.0.1:%d/client/v4", apiPort)
	d.Get("/?name=sleepy&n=5")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, strings.Replace(d.URL, "http", "ws", 1)+"/?name=sleepy", nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.CloseNow()
	status := func() (live int) {
		var env struct{ Result struct{ LiveObjects int } }
		getJSONURL(t, admin+"/cairn/status", &env)
		return env.Result.LiveObjects
	}
	deadline := time.Now().Add(20 * time.Second)
	for status() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the object did not hibernate")
		}
		time.Sleep(100 * time.Millisecond)
	}
	var list struct {
		Result struct {
			Objects []struct {
				Name       string
				Live       bool
				Hibernated bool
				WebSockets int
				ID         string
			}
		}
	}
	getJSONURL(t, admin+"/cairn/studio/objects/STORE", &list)
	if o := list.Result.Objects; len(o) != 1 || o[0].Live || !o[0].Hibernated || o[0].WebSockets != 1 {
		t.Fatalf("objects = %+v", o)
	}
	var obj struct {
		Result struct {
			Hibernated bool
			Tables     []struct{ Rows int64 }
			WebSockets struct {
				Hibernatable int
				Sockets      []struct{ Tags []string }
			}
		}
	}
	getJSONURL(t, admin+"/cairn/studio/objects/STORE/"+list.Result.Objects[0].ID, &obj)
	r := obj.Result
	if !r.Hibernated || len(r.Tables) != 1 || r.Tables[0].Rows != 5 || r.WebSockets.Hibernatable != 1 ||
		len(r.WebSockets.Sockets) != 1 || strings.Join(r.WebSockets.Sockets[0].Tags, ",") != "room-7,user:ada" {
		t.Fatalf("object = %+v", r)
	}
	if live := status(); live != 0 {
		t.Errorf("after the studio looked: %d live objects, want 0", live)
	}
	// The socket is still connected: a message wakes the object, which echoes it.
	if err := ws.Write(ctx, websocket.MessageText, []byte("still there?")); err != nil {
		t.Fatal(err)
	}
	if _, msg, err := ws.Read(ctx); err != nil || string(msg) != "still there?" {
		t.Fatalf("echo = %q, %v", msg, err)
	}
}

// getJSONURL GETs url (a local admin API call), which must answer 200,
// and decodes its body into v.
func getJSONURL(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := testClient.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %s %v", url, resp.StatusCode, b, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
}
