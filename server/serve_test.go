package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/config"
)

// testFleet loads Workers "a" and "b", each binding a D1 database
// (<name>db) and a KV namespace (k<name>), into a Fleet with state under
// one data dir.
func testFleet(t *testing.T) *Fleet {
	t.Helper()
	data := t.TempDir()
	router, err := NewRouter([]RouteTarget{
		{Worker: "a", Routes: []config.Route{{Pattern: "a.test/*"}}},
		{Worker: "b", Routes: []config.Route{{Pattern: "b.test/*"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	f, err := NewFleet([]string{"a", "b"}, router, log)
	if err != nil {
		t.Fatal(err)
	}
	locks := &StateLocks{}
	acc, err := OpenAccount(data, locks, log)
	if err != nil {
		t.Fatal(err)
	}
	f.UseAccount(acc)
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
		locks.Close()
	})
	for _, n := range []string{"a", "b"} {
		dir := t.TempDir()
		cfg := fmt.Sprintf(`{"name": %q, "main": "index.js",
  "d1_databases": [{"binding": "DB", "database_name": "%sdb", "database_id": "%sdb-id"},
    {"binding": "SHARED_DB", "database_name": "common", "database_id": "common-id"}],
  "kv_namespaces": [{"binding": "KV", "id": "k%s"}, {"binding": "SHARED", "id": "common"}],
  "services": [{"binding": "OTHER", "service": "b"}]}`, n, n, n, n)
		for name, content := range map[string]string{
			"wrangler.jsonc": cfg,
			"index.js":       `export default { async fetch(req, env) { return new Response("` + n + `") } }`,
		} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		app, err := Load(Options{Config: dir, PersistTo: data, Logger: log, Locks: locks, Workers: f.Handler, Account: acc})
		if err != nil {
			t.Fatal(err)
		}
		f.Server(n).Swap(app)
	}
	return f
}

func fleetDo(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:9090"
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// The account-level D1 and KV routes find a database or namespace in the
// Worker that has it; lists merge all Workers'.
func TestFleetAdminAPI(t *testing.T) {
	f := testFleet(t)
	api := f.AdminAPI("")
	const d1 = "/client/v4/accounts/acc/d1/database"
	const kvb = "/client/v4/accounts/acc/storage/kv/namespaces"
	tests := []struct {
		method, path, body string
		status             int
		want               string
	}{
		{"GET", d1, "", 200, `"name":"adb"`},
		{"GET", "/studio", "", 200, `href="workers/b/studio/"`},   // several Workers: pick one
		{"GET", "/workers/b/studio/", "", 200, "<!doctype html>"}, // each Worker's studio
		{"GET", "/workers/b/openapi.json", "", 200, `"openapi"`},
		{"GET", d1, "", 200, `"name":"bdb"`},
		{"GET", d1 + "?name=bd", "", 200, `"total_count":1`},
		{"POST", d1 + "/bdb/query", `{"sql": "CREATE TABLE t(x); INSERT INTO t VALUES (7)"}`, 200, `"success":true`},
		{"POST", d1 + "/bdb/query", `{"sql": "SELECT x FROM t"}`, 200, `"results":[{"x":7}]`},
		{"POST", d1 + "/adb/query", `{"sql": "SELECT x FROM t"}`, 400, "no such table"}, // a's database is another one
		{"GET", "/workers/b" + d1 + "/bdb", "", 200, `"name":"bdb"`},
		{"GET", "/workers/a" + d1 + "/bdb", "", 200, `"name":"bdb"`}, // account-level: every Worker's API sees it
		{"GET", d1 + "/nope", "", 404, "The database nope could not be found"},
		{"POST", d1, `{"name": "made"}`, 200, `"name":"made"`},
		{"GET", "/workers/a" + d1 + "/made", "", 200, `"name":"made"`}, // made in the first Worker
		{"GET", kvb, "", 200, `"id":"ka"`},
		{"GET", kvb, "", 200, `"id":"kb"`},
		{"PUT", kvb + "/kb/values/greeting", "hello", 200, `"success":true`},
		{"GET", kvb + "/kb/values/greeting", "", 200, "hello"},
		{"GET", "/workers/b" + kvb + "/kb/values/greeting", "", 200, "hello"},
		{"GET", "/workers/a" + kvb + "/kb/values/greeting", "", 200, "hello"},
		{"GET", kvb + "/ka/values/greeting", "", 404, "key not found"},
		{"GET", kvb + "/kz/values/greeting", "", 404, "namespace not found"},
		// Account-level: both Workers bind "common" and share it.
		{"PUT", kvb + "/common/values/k", "shared", 200, `"success":true`},
		{"GET", "/workers/a" + kvb + "/common/values/k", "", 200, "shared"},
		{"GET", "/workers/b" + kvb + "/common/values/k", "", 200, "shared"},
		{"POST", "/workers/a" + d1 + "/common-id/query", `{"sql": "CREATE TABLE s(v); INSERT INTO s VALUES ('from a')"}`, 200, `"success":true`},
		{"POST", "/workers/b" + d1 + "/common-id/query", `{"sql": "SELECT v FROM s"}`, 200, `"results":[{"v":"from a"}]`},
		{"GET", "/client/v4/cairn/workers", "", 200, `"name":"b","routes":["b.test/*"],"loaded":true`},
		{"GET", "/cairn/healthz", "", 200, `"status":"ok"`},
		{"GET", "/client/v4/nope", "", 404, "Could not route"},
	}
	for _, tt := range tests {
		status, body := fleetDo(t, api, tt.method, tt.path, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s %s = %d %s, want %d with %s", tt.method, tt.path, status, body, tt.status, tt.want)
		}
	}
}

// With a token, everything but the health check needs it.
func TestFleetAdminAPIToken(t *testing.T) {
	f := testFleet(t)
	api := f.AdminAPI("secret")
	for _, p := range []string{"/client/v4/cairn/workers", "/client/v4/accounts/acc/d1/database", "/workers/a/client/v4/cairn/status", "/client/v4/accounts/acc/d1/database/adb/query"} {
		if status, _ := fleetDo(t, api, "GET", p, ""); status != http.StatusUnauthorized {
			t.Errorf("GET %s without the token = %d, want 401", p, status)
		}
	}
	if status, _ := fleetDo(t, api, "GET", "/cairn/healthz", ""); status != 200 {
		t.Errorf("healthz without the token = %d, want 200", status)
	}
	req := httptest.NewRequest("GET", "/client/v4/cairn/workers", nil)
	req.Header.Set("Authorization", "Bearer secret")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("with the token = %d %s", rec.Code, rec.Body)
	}
}

// Requests go to the Worker their host routes to; draining fails the
// health check; a service binding reaches the other Worker.
func TestFleetServeHTTP(t *testing.T) {
	f := testFleet(t)
	for host, want := range map[string]string{"a.test": "a", "b.test:8080": "b"} {
		req := httptest.NewRequest("GET", "http://"+host+"/x", nil)
		rec := httptest.NewRecorder()
		f.ServeHTTP(rec, req)
		if rec.Code != 200 || rec.Body.String() != want {
			t.Errorf("%s: %d %q, want %q", host, rec.Code, rec.Body, want)
		}
	}
	rec := httptest.NewRecorder()
	f.ServeHTTP(rec, httptest.NewRequest("GET", "http://c.test/y", nil))
	if rec.Code != 404 || !strings.Contains(rec.Body.String(), "No Worker route matches c.test/y") {
		t.Errorf("unrouted: %d %q", rec.Code, rec.Body)
	}
	if f.Handler("b") == nil || f.Handler("zz") != nil {
		t.Error("Handler: want b's Server and nil for an unknown Worker")
	}
	api := f.AdminAPI("")
	f.Drain()
	status, body := fleetDo(t, api, "GET", "/cairn/healthz", "")
	var h struct{ Status string }
	_ = json.Unmarshal(bytes.TrimSpace([]byte(body)), &h)
	if status != http.StatusServiceUnavailable || h.Status != "draining" {
		t.Errorf("healthz while draining = %d %s", status, body)
	}
}

func TestNewFleetDuplicate(t *testing.T) {
	r, _ := NewRouter(nil)
	if _, err := NewFleet([]string{"a", "a"}, r, slog.Default()); err == nil || !strings.Contains(err.Error(), `two Workers are named "a"`) {
		t.Errorf("err = %v", err)
	}
}

// A D1 export started through either mount gives a signed URL that the
// admin API accepts (the URL points at the account-level route).
func TestFleetD1ExportSignedURL(t *testing.T) {
	f := testFleet(t)
	srv := httptest.NewServer(f.AdminAPI(""))
	defer srv.Close()
	const d1 = "/client/v4/accounts/acc/d1/database"
	for _, prefix := range []string{"", "/workers/a", "/workers/b"} {
		req, _ := http.NewRequest("POST", srv.URL+prefix+d1+"/bdb/query", strings.NewReader(`{"sql": "CREATE TABLE IF NOT EXISTS e(x); INSERT INTO e VALUES (1)"}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Fatalf("query: %v %v", resp, err)
		}
		req, _ = http.NewRequest("POST", srv.URL+prefix+d1+"/bdb/export", strings.NewReader(`{"output_format":"polling"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var exp struct {
			Result struct {
				Result struct {
					SignedURL string `json:"signed_url"`
				} `json:"result"`
			} `json:"result"`
		}
		var raw bytes.Buffer
		_, _ = raw.ReadFrom(resp.Body)
		resp.Body.Close()
		_ = json.Unmarshal(raw.Bytes(), &exp)
		if exp.Result.Result.SignedURL == "" {
			t.Fatalf("%s: export gave no signed URL: %s", prefix, raw.String())
		}
		resp, err = http.Get(exp.Result.Result.SignedURL)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(b.String(), "CREATE TABLE") {
			t.Errorf("%s: GET signed URL = %d %.200s", prefix, resp.StatusCode, b.String())
		}
	}
}
