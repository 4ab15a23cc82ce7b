package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/cairn-dev/cairn/tail"
)

// The tail routes on the admin API: Cloudflare's create and delete, the
// token rule, and the WebSocket the Worker served by Swap reports to.
func TestTailRoutes(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"wrangler.json": `{"name": "tw", "main": "worker.js", "compatibility_date": "2025-09-01"}`,
		"worker.js":     `export default { fetch(req) { console.log("got", new URL(req.url).pathname); return new Response("ok"); } };`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	app, err := Load(Options{Config: dir, PersistTo: filepath.Join(dir, "state"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(app.Version) {
		t.Errorf("bundle version %q is not UUID-shaped", app.Version)
	}
	srv := &Server{}
	srv.Swap(app)
	defer srv.Swap(nil)
	api := httptest.NewServer(srv.AdminAPI("tok"))
	defer api.Close()
	worker := httptest.NewServer(srv)
	defer worker.Close()

	call := func(method, path, token, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, api.URL+"/client/v4/accounts/acc/workers/scripts/"+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var env map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&env)
		return resp.StatusCode, env
	}
	for _, tc := range []struct {
		name, method, path, token, body string
		status                          int
	}{
		{"no token", "POST", "tw/tails", "", "", 401},
		{"wrong token", "POST", "tw/tails", "nope", "", 401},
		{"another worker", "POST", "other/tails", "tok", "", 404},
		{"bad filters", "POST", "tw/tails", "tok", `{"filters":[{"sampling_rate":7}]}`, 400},
		{"delete unknown", "DELETE", "tw/tails/0123", "tok", "", 404},
	} {
		if status, env := call(tc.method, tc.path, tc.token, tc.body); status != tc.status || env["success"] != false {
			t.Errorf("%s: %d %v, want %d", tc.name, status, env, tc.status)
		}
	}

	status, env := call("POST", "tw/tails", "tok", `{"filters":[{"outcome":["ok"]}]}`)
	res, _ := env["result"].(map[string]any)
	wsURL, _ := res["url"].(string)
	if status != 200 || res["id"] == nil || !strings.HasPrefix(wsURL, "ws://") || res["expires_at"] == nil {
		t.Fatalf("create: %d %v", status, env)
	}
	if _, err := time.Parse(time.RFC3339, res["expires_at"].(string)); err != nil {
		t.Errorf("expires_at: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The WebSocket takes no token: its URL is the credential.
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{tail.Protocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	for !srv.Tails().Tracing() {
		time.Sleep(5 * time.Millisecond)
	}
	resp, err := http.Get(worker.URL + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var it tail.Item
	if err := json.Unmarshal(data, &it); err != nil {
		t.Fatal(err)
	}
	if it.ScriptName != "tw" || it.ScriptVersion == nil || it.ScriptVersion.ID != app.Version || it.RequestID == "" ||
		len(it.Logs) != 1 || it.Logs[0].Message[0] != "got /hello" {
		t.Errorf("item: %s", data)
	}
	// A second connection to the same tail is refused; an unknown tail is 404.
	if _, resp, err := websocket.Dial(ctx, wsURL, nil); err == nil || resp == nil || resp.StatusCode != http.StatusConflict {
		t.Errorf("second connection: %v %v", resp, err)
	}
	if _, resp, err := websocket.Dial(ctx, strings.TrimSuffix(wsURL, res["id"].(string))+"feed", nil); err == nil || resp == nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown tail: %v %v", resp, err)
	}
	// DELETE ends it.
	if status, env := call("DELETE", "tw/tails/"+res["id"].(string), "tok", ""); status != 200 || env["success"] != true {
		t.Errorf("delete: %d %v", status, env)
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after delete: %v", err)
	}
}
