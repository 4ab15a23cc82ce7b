package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const timeTravelWorker = `
export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    if (url.pathname === "/add") {
      await env.DB.prepare("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT)").run();
      await env.DB.prepare("INSERT INTO t (name) VALUES (?)").bind(url.searchParams.get("name")).run();
      return new Response("ok");
    }
    const { results } = await env.DB.prepare("SELECT group_concat(name, ',') AS names FROM (SELECT name FROM t ORDER BY id)").all();
    return new Response(results[0].names ?? "");
  },
};
`

// apiCall sends a request to the admin API and decodes the v4 envelope.
func apiCall(t *testing.T, base, method, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, nil)
	req.Header.Set("Authorization", "Bearer t0k")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env map[string]any
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: not an envelope: %s", method, path, b)
	}
	return resp.StatusCode, env
}

// spec 3.6, 70: D1 Time Travel over the REST API wrangler uses, the CLI
// (remote and local), bad input answered in the envelope with nothing
// changed, and history that survives SIGKILL.
func TestD1TimeTravel(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "tt", "main": "worker.js", "compatibility_date": "2025-09-01",
			"d1_databases": [{"binding": "DB", "database_name": "tt-db", "database_id": "bbbbbbbb-0000-0000-0000-000000000001"}]}`,
		"worker.js": timeTravelWorker,
	})
	state := filepath.Join(dir, ".cairn", "state")
	apiPort := freePort(t)
	d := startDev(t, dir, state, "--api-port", fmt.Sprint(apiPort), "--api-token", "t0k")
	base := fmt.Sprintf("http://127.0.0.1:%d/client/v4/accounts/local/d1/database/bbbbbbbb-0000-0000-0000-000000000001", apiPort)
	d.expect("GET", "/add?name=a", 200, "ok")
	time.Sleep(20 * time.Millisecond)
	t1 := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	d.expect("GET", "/add?name=b", 200, "ok")
	d.expect("GET", "/add?name=c", 200, "ok")
	d.expect("GET", "/", 200, "a,b,c")

	status, env := apiCall(t, base, "GET", "/time_travel/bookmark?timestamp="+url.QueryEscape(t1))
	if status != 200 || env["success"] != true {
		t.Fatalf("bookmark = %d %v", status, env)
	}
	b1 := env["result"].(map[string]any)["bookmark"].(string)
	_, env = apiCall(t, base, "GET", "/time_travel/bookmark")
	current := env["result"].(map[string]any)["bookmark"].(string)
	if !(b1 < current) {
		t.Fatalf("bookmark at %s = %s, not before the current %s", t1, b1, current)
	}

	// Bad input: an envelope error, nothing changed.
	for _, q := range []string{"bookmark=nonsense", "bookmark=00000000-00000001-00000000-00000000000000000000000000000000",
		"timestamp=" + url.QueryEscape(time.Now().Add(-40*24*time.Hour).Format(time.RFC3339)), "timestamp=yesterday", ""} {
		status, env := apiCall(t, base, "POST", "/time_travel/restore?"+q)
		if status != 400 || env["success"] != false || len(env["errors"].([]any)) == 0 {
			t.Errorf("restore?%s = %d %v, want a 400 envelope error", q, status, env)
		}
	}
	d.expect("GET", "/", 200, "a,b,c")

	status, env = apiCall(t, base, "POST", "/time_travel/restore?bookmark="+b1)
	if status != 200 {
		t.Fatalf("restore = %d %v", status, env)
	}
	res := env["result"].(map[string]any)
	if res["previous_bookmark"] != current || !(res["bookmark"].(string) > current) || res["message"] == "" {
		t.Fatalf("restore result %v; current was %s", res, current)
	}
	d.expect("GET", "/", 200, "a")
	d.expect("GET", "/add?name=d", 200, "ok")
	d.expect("GET", "/", 200, "a,d")

	// The CLI against the running server: undo the restore.
	remote := []string{"-c", dir, "--remote", fmt.Sprintf("http://127.0.0.1:%d", apiPort), "--api-token", "t0k"}
	out, err := runCairn(t, time.Minute, append([]string{"d1", "time-travel", "restore", "DB", "--bookmark", res["previous_bookmark"].(string), "--json"}, remote...)...)
	if err != nil {
		t.Fatalf("remote restore: %v\n%s", err, out)
	}
	d.expect("GET", "/", 200, "a,b,c")
	out, err = runCairn(t, time.Minute, append([]string{"d1", "time-travel", "info", "DB", "--timestamp", t1}, remote...)...)
	if err != nil || !strings.Contains(out, b1) {
		t.Fatalf("remote info: %v\n%s", err, out)
	}
	// Locally, the running server owns the state directory.
	if out, err := runCairn(t, time.Minute, "d1", "time-travel", "info", "DB", "-c", dir, "--persist-to", state); err == nil || !strings.Contains(out, "--remote") {
		t.Errorf("local time-travel while serving: %v\n%s", err, out)
	}

	// SIGKILL: acknowledged writes and their history survive.
	d.expect("GET", "/add?name=e", 200, "ok")
	d.cmd.Process.Kill()
	<-d.done
	d.done <- nil
	out, err = runCairn(t, time.Minute, "d1", "time-travel", "restore", "DB", "--timestamp", t1, "-c", dir, "--persist-to", state)
	if err != nil || !strings.Contains(out, "To undo") {
		t.Fatalf("local restore: %v\n%s", err, out)
	}
	d = startDev(t, dir, state, "--api-port", fmt.Sprint(apiPort), "--api-token", "t0k")
	d.expect("GET", "/", 200, "a")
	undo := out[strings.Index(out, "--bookmark=")+len("--bookmark="):]
	undo = strings.TrimSpace(undo)
	if status, env := apiCall(t, base, "POST", "/time_travel/restore?bookmark="+undo); status != 200 {
		t.Fatalf("undo of the local restore = %d %v", status, env)
	}
	d.expect("GET", "/", 200, "a,b,c,e")
}
