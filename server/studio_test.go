package server

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// studioProject is a Worker with a Durable Object class that fills a table
// (?n= rows), sets an alarm (?alarm=1) and accepts hibernatable WebSockets
// with tags, and a D1 database.
var studioProject = map[string]string{
	"wrangler.json": `{
  "name": "studio",
  "main": "worker.js",
  "compatibility_date": "2025-06-01",
  "durable_objects": {"bindings": [{"name": "STORE", "class_name": "Store"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Store"]}],
  "d1_databases": [{"binding": "DB", "database_name": "main", "database_id": "main-db"}]
}`,
	"worker.js": `import { DurableObject } from "cloudflare:workers";
export class Store extends DurableObject {
  async fetch(req) {
    const url = new URL(req.url);
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, label TEXT, data BLOB)");
    const n = Number(url.searchParams.get("n") || "0");
    if (n > 0) {
      sql.exec("WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) INSERT INTO items (label, data) SELECT 'item ' || i, x'00ff' FROM s", n);
    }
    if (url.searchParams.get("alarm")) await this.ctx.storage.setAlarm(Date.now() + 3600000);
    return new Response(String(sql.exec("SELECT count(*) AS c FROM items").one().c));
  }
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
    return env.STORE.getByName(url.searchParams.get("name") || "a").fetch(req);
  }
};
`,
}

// studioServer loads studioProject and returns its Server and the admin
// handler (token "" unless given).
func studioServer(t *testing.T, token string) (*Server, http.Handler) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range studioProject {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, err := Load(Options{Config: dir, PersistTo: t.TempDir(), Logger: log, ObjectIdle: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Log: log, NoRequestLog: true}
	s.Swap(app)
	t.Cleanup(func() { s.Swap(nil) })
	return s, s.AdminHandler(token)
}

// workerGet sends a request to the Worker and returns its body.
func workerGet(t *testing.T, s *Server, path string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "http://w"+path, nil))
	if rec.Code != 200 {
		t.Fatalf("GET %s = %d %s", path, rec.Code, rec.Body)
	}
	return rec.Body.String()
}

type studioEnvelope struct {
	Success bool            `json:"success"`
	Errors  []APIError      `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

// call sends a local request to the admin handler and decodes the
// envelope; body, if any, is sent as JSON.
func studioCall(t *testing.T, h http.Handler, method, path string, body any, header ...string) (int, studioEnvelope) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:8788"
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var env studioEnvelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("%s %s: not an envelope (%v): %s", method, path, err, rec.Body)
	}
	return rec.Code, env
}

func resultOf[T any](t *testing.T, env studioEnvelope) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(env.Result, &v); err != nil {
		t.Fatalf("result: %v: %s", err, env.Result)
	}
	return v
}

const studioBase = "/client/v4/cairn/studio"

func TestStudioBrowseObjects(t *testing.T) {
	s, h := studioServer(t, "")
	if got := workerGet(t, s, "/?name=alpha&n=250&alarm=1"); got != "250" {
		t.Fatalf("fill = %s", got)
	}
	workerGet(t, s, "/?name=beta&n=1")

	code, env := studioCall(t, h, "GET", studioBase+"/worker", nil)
	if code != 200 {
		t.Fatalf("worker = %d %+v", code, env.Errors)
	}
	w := resultOf[struct {
		Name    string
		Classes []studioClass
		D1      []studioD1
	}](t, env)
	if w.Name != "studio" || len(w.Classes) != 1 || w.Classes[0].Name != "Store" || !slices.Equal(w.Classes[0].Bindings, []string{"STORE"}) ||
		len(w.D1) != 1 || w.D1[0].Binding != "DB" {
		t.Fatalf("worker = %+v", w)
	}

	type list struct {
		Objects    []studioObjectInfo
		ResultInfo pageInfo `json:"result_info"`
	}
	// By binding or class name; search by exact name, by id prefix, none.
	code, env = studioCall(t, h, "GET", studioBase+"/objects/STORE", nil)
	all := resultOf[list](t, env)
	if code != 200 || all.ResultInfo.TotalCount != 2 || len(all.Objects) != 2 {
		t.Fatalf("objects = %d %+v", code, all)
	}
	var alpha studioObjectInfo
	for _, o := range all.Objects {
		if o.Name == "alpha" {
			alpha = o
		}
	}
	if alpha.ID == "" || !alpha.Live || alpha.Alarm == nil || alpha.Size == 0 || alpha.Modified.IsZero() {
		t.Fatalf("alpha = %+v", alpha)
	}
	for _, tc := range []struct {
		search string
		want   int
	}{{"alpha", 1}, {alpha.ID[:10], 1}, {"ALP", 1}, {"nobody", 0}, {"", 2}} {
		_, env := studioCall(t, h, "GET", studioBase+"/objects/Store?search="+tc.search, nil)
		if got := resultOf[list](t, env); len(got.Objects) != tc.want {
			t.Errorf("search %q: %d objects, want %d", tc.search, len(got.Objects), tc.want)
		}
	}
	_, env = studioCall(t, h, "GET", studioBase+"/objects/Store?per_page=1&page=2", nil)
	if got := resultOf[list](t, env); len(got.Objects) != 1 || got.ResultInfo.TotalPages != 2 {
		t.Errorf("page 2 = %+v", got)
	}

	// The object: its table with the row count, and the alarm.
	code, env = studioCall(t, h, "GET", studioBase+"/objects/Store/"+alpha.ID, nil)
	if code != 200 {
		t.Fatalf("object = %d %+v", code, env.Errors)
	}
	obj := resultOf[struct {
		Name   string
		Live   bool
		Alarm  *string
		Tables []struct {
			Name string
			Rows int64
		}
	}](t, env)
	if obj.Alarm == nil || len(obj.Tables) != 1 || obj.Tables[0].Name != "items" || obj.Tables[0].Rows != 250 {
		t.Fatalf("object = %+v", obj)
	}

	// Rows by page, by rowid: 100, 100, 50.
	type grid struct {
		Columns   []string
		Rows      [][]any
		Truncated bool
	}
	after := "0"
	var pages []int
	for range 4 {
		code, env := studioCall(t, h, "GET", studioBase+"/objects/Store/"+alpha.ID+"/tables/items?limit=100&after="+after, nil)
		g := resultOf[grid](t, env)
		if code != 200 || g.Columns[0] != "rowid" {
			t.Fatalf("rows = %d %+v", code, g)
		}
		pages = append(pages, len(g.Rows))
		if !g.Truncated {
			break
		}
		after = strings.TrimSuffix(string(must(json.Marshal(g.Rows[len(g.Rows)-1][0]))), ".0")
	}
	if !slices.Equal(pages, []int{100, 100, 50}) {
		t.Errorf("pages = %v, want [100 100 50]", pages)
	}
	if code, env := studioCall(t, h, "GET", studioBase+"/objects/Store/"+alpha.ID+"/tables/nosuch", nil); code != 404 {
		t.Errorf("missing table = %d %+v", code, env)
	}

	// Inspecting an object that is not live leaves it so: not constructed,
	// evicted again.
	live := s.Current().Host.Live()
	code, env = studioCall(t, h, "GET", studioBase+"/objects/Store/-?name=ghost", nil)
	if code != 200 || s.Current().Host.Live() != live {
		t.Errorf("ghost = %d %s; live %d → %d", code, env.Result, live, s.Current().Host.Live())
	}
	if code, _ := studioCall(t, h, "GET", studioBase+"/objects/Store/0123", nil); code != 400 {
		t.Errorf("bad id = %d, want 400", code)
	}
	if code, _ := studioCall(t, h, "GET", studioBase+"/objects/Nope", nil); code != 404 {
		t.Errorf("unknown class = %d, want 404", code)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// SQL on an object: read-only unless switched; a write in read-only mode
// is refused and changes nothing; a failing read-write call rolls back.
func TestStudioObjectSQL(t *testing.T) {
	s, h := studioServer(t, "")
	workerGet(t, s, "/?name=alpha&n=20")
	path := studioBase + "/objects/STORE/-/query?name=alpha"
	for _, tc := range []struct {
		name      string
		sql       string
		readWrite bool
		maxRows   int
		status    int
		errLike   string
		rows      int // rows in the result
		count     string
		truncated bool
	}{
		{name: "read", sql: "SELECT id, label, data FROM items ORDER BY id", status: 200, rows: 20, count: "20"},
		{name: "capped", sql: "SELECT * FROM items", maxRows: 5, status: 200, rows: 5, count: "20", truncated: true},
		{name: "write refused", sql: "INSERT INTO items (label) VALUES ('x')", status: 403, errLike: "read-only mode", count: "20"},
		{name: "write after read refused", sql: "SELECT 1; DELETE FROM items", status: 403, errLike: "read-only mode", count: "20"},
		{name: "ddl refused", sql: "DROP TABLE items", status: 403, errLike: "read-only mode", count: "20"},
		{name: "bad sql", sql: "SELEC 1", status: 400, errLike: "syntax error", count: "20"},
		{name: "write", sql: "INSERT INTO items (label) VALUES ('x') RETURNING id", readWrite: true, status: 200, rows: 1, count: "21"},
		{name: "failed write rolls back", sql: "DELETE FROM items; SELECT * FROM nosuch", readWrite: true, status: 400, errLike: "no such table", count: "21"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, env := studioCall(t, h, "POST", path, map[string]any{"sql": tc.sql, "readWrite": tc.readWrite, "max_rows": tc.maxRows})
			if code != tc.status {
				t.Fatalf("status %d, want %d: %s %+v", code, tc.status, env.Result, env.Errors)
			}
			if tc.errLike != "" && (len(env.Errors) == 0 || !strings.Contains(env.Errors[0].Message, tc.errLike)) {
				t.Errorf("errors %+v, want %q", env.Errors, tc.errLike)
			}
			if code == 200 {
				g := resultOf[studioResult](t, env)
				if len(g.Rows) != tc.rows || g.Truncated != tc.truncated || (tc.truncated && g.Notice == "") {
					t.Errorf("result: %d rows truncated=%v notice=%q, want %d rows truncated=%v", len(g.Rows), g.Truncated, g.Notice, tc.rows, tc.truncated)
				}
			}
			// The object's own code sees the outcome (one writer).
			if got := workerGet(t, s, "/?name=alpha"); got != tc.count {
				t.Errorf("rows seen by the object = %s, want %s", got, tc.count)
			}
		})
	}
	// A BLOB comes as base64.
	_, env := studioCall(t, h, "POST", path, map[string]any{"sql": "SELECT data FROM items WHERE id = 1"})
	if !strings.Contains(string(env.Result), `{"blob":"AP8="}`) {
		t.Errorf("blob = %s", env.Result)
	}
	if code, _ := studioCall(t, h, "POST", path, map[string]any{"sql": " "}); code != 400 {
		t.Errorf("empty sql = %d", code)
	}
	if code, _ := studioCall(t, h, "POST", path, map[string]any{"sql": "SELECT 1", "max_rows": 10001}); code != 400 {
		t.Errorf("max_rows 10001 = %d", code)
	}
}

func TestStudioD1(t *testing.T) {
	s, h := studioServer(t, "")
	if got := workerGet(t, s, "/d1?n=150"); got != "150" {
		t.Fatalf("fill = %s", got)
	}
	code, env := studioCall(t, h, "GET", studioBase+"/d1/DB/tables", nil)
	tables := resultOf[[]struct {
		Name string
		Rows int64
	}](t, env)
	if code != 200 || len(tables) != 1 || tables[0].Name != "notes" || tables[0].Rows != 150 {
		t.Fatalf("tables = %d %+v %+v", code, tables, env.Errors)
	}
	code, env = studioCall(t, h, "GET", studioBase+"/d1/main/tables/notes?limit=100&after=100", nil)
	g := resultOf[studioResult](t, env)
	if code != 200 || len(g.Rows) != 50 || g.Truncated || g.Columns[0] != "rowid" {
		t.Fatalf("rows = %d %+v", code, g)
	}
	for _, tc := range []struct {
		sql       string
		readWrite bool
		status    int
		count     string
	}{
		{"SELECT count(*) FROM notes", false, 200, "150"},
		{"DELETE FROM notes", false, 403, "150"},
		{"SELECT 1; DELETE FROM notes", false, 403, "150"},
		{"DELETE FROM notes WHERE id > 100", true, 200, "100"},
	} {
		code, env := studioCall(t, h, "POST", studioBase+"/d1/main-db/query", map[string]any{"sql": tc.sql, "readWrite": tc.readWrite})
		if code != tc.status {
			t.Errorf("%q: %d, want %d %+v", tc.sql, code, tc.status, env.Errors)
		}
		if got := workerGet(t, s, "/d1"); got != tc.count {
			t.Errorf("%q: count %s, want %s", tc.sql, got, tc.count)
		}
	}
	_, env = studioCall(t, h, "POST", studioBase+"/d1/DB/query", map[string]any{"sql": "SELECT * FROM notes", "max_rows": 7})
	if g := resultOf[studioResult](t, env); len(g.Rows) != 7 || !g.Truncated {
		t.Errorf("capped = %d rows truncated=%v", len(g.Rows), g.Truncated)
	}
	if code, _ := studioCall(t, h, "GET", studioBase+"/d1/nosuch/tables", nil); code != 404 {
		t.Errorf("unknown db = %d", code)
	}
}

// With a token the studio's calls need it (401 in the envelope without);
// the page itself and the OpenAPI document need none.
func TestStudioAuth(t *testing.T) {
	_, h := studioServer(t, "s3cret")
	for _, tc := range []struct {
		header []string
		want   int
	}{
		{nil, 401},
		{[]string{"Authorization", "Bearer wrong"}, 401},
		{[]string{"Authorization", "Bearer s3cret"}, 200},
	} {
		code, env := studioCall(t, h, "GET", studioBase+"/worker", nil, tc.header...)
		if code != tc.want || env.Success != (tc.want == 200) {
			t.Errorf("%v: %d %+v, want %d", tc.header, code, env.Errors, tc.want)
		}
	}
	for _, tc := range []struct {
		path, contentType, body string
	}{
		{"/studio/", "text/html", "cairn studio"},
		{"/studio/studio.js", "javascript", "sessionStorage"},
		{"/openapi.json", "application/json", `"openapi"`},
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.RemoteAddr = "192.0.2.1:5000" // not loopback: no data, so no token needed
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 || !strings.Contains(rec.Header().Get("Content-Type"), tc.contentType) || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("GET %s = %d %q", tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
		if strings.HasPrefix(tc.path, "/studio") && !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("GET %s: no CSP", tc.path)
		}
	}
}

// The OpenAPI document describes every route the admin handler registers,
// and nothing else.
func TestOpenAPICoversRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routes := append((&Server{deploys: &deployer{}}).AdminAPI("").Routes(), "GET /studio/", "GET /openapi.json")
	wildcard := regexp.MustCompile(`\{(\w+)\.\.\.\}`)
	registered := map[string]bool{}
	for _, r := range routes {
		registered[wildcard.ReplaceAllString(r, "{$1}")] = true
	}
	for r := range registered {
		if !documented[r] {
			t.Errorf("route %s is not in server/openapi.json", r)
		}
	}
	for r := range documented {
		if !registered[r] {
			t.Errorf("server/openapi.json documents %s, which is not a route", r)
		}
	}
	if len(registered) < 30 {
		t.Errorf("only %d routes registered", len(registered))
	}
}

// Under a prefix (a server holding several Workers), /studio redirects
// relative to it and the page is served.
func TestStudioUnderPrefix(t *testing.T) {
	_, h := studioServer(t, "")
	mux := http.NewServeMux()
	mux.Handle("/w/studio/", http.StripPrefix("/w/studio", h))
	for _, tc := range []struct {
		path     string
		status   int
		location string
	}{
		{"/w/studio/studio", http.StatusFound, "studio/"},
		{"/w/studio/studio/", http.StatusOK, ""},
		{"/w/studio/openapi.json", http.StatusOK, ""},
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", tc.path, nil))
		if rec.Code != tc.status || rec.Header().Get("Location") != tc.location {
			t.Errorf("GET %s = %d Location %q, want %d %q", tc.path, rec.Code, rec.Header().Get("Location"), tc.status, tc.location)
		}
	}
}
