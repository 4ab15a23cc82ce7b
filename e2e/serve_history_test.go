package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// cairn serve's account-level D1 and KV (<data>/.account/) keep history as
// a Worker's do: D1 Time Travel over the account's REST routes, records of
// the KV namespace; and the admin API's top-level backup copies them, cut
// with acknowledgements held back.
func TestServeAccountHistoryAndBackup(t *testing.T) {
	const dbID = "cccccccc-0000-0000-0000-000000000001"
	dir := writeProject(t, map[string]string{
		"tt/wrangler.jsonc": `{"name": "tt", "main": "worker.js", "compatibility_date": "2025-09-01",
			"d1_databases": [{"binding": "DB", "database_name": "acct-db", "database_id": "` + dbID + `", "history_retention": "7d"}],
			"kv_namespaces": [{"binding": "KV", "id": "acct-kv"}]}`,
		"tt/worker.js": strings.Replace(timeTravelWorker, `if (url.pathname === "/add") {`,
			`if (url.pathname === "/kv") { await env.KV.put("k", url.searchParams.get("v")); return new Response("ok"); }
    if (url.pathname === "/add") {`, 1),
		"cairn.toml": "data_dir = \"data\"\n[admin]\nlisten = \"127.0.0.1:0\"\ntoken = \"t0k\"\n[[workers]]\nconfig = \"tt\"\nroutes = [\"127.0.0.1/*\"]\n",
	})
	data := filepath.Join(dir, "data")
	adminPort := freePort(t)
	d := startServe(t, filepath.Join(dir, "cairn.toml"), fmt.Sprintf("CAIRN_ADMIN=127.0.0.1:%d", adminPort))
	admin := fmt.Sprintf("http://127.0.0.1:%d", adminPort)
	base := admin + "/client/v4/accounts/acct/d1/database/" + dbID

	d.expect("GET", "/add?name=a", 200, "ok")
	time.Sleep(20 * time.Millisecond)
	t1 := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(20 * time.Millisecond)
	d.expect("GET", "/add?name=b", 200, "ok")
	d.expect("GET", "/kv?v=1", 200, "ok")
	d.expect("GET", "/kv?v=2", 200, "ok")
	d.expect("GET", "/", 200, "a,b")

	status, env := apiCall(t, base, "GET", "/time_travel/bookmark?timestamp="+url.QueryEscape(t1))
	if status != 200 || env["success"] != true {
		t.Fatalf("account D1 bookmark = %d %v\n%s", status, env, d.Logs)
	}
	b1 := env["result"].(map[string]any)["bookmark"].(string)
	status, env = apiCall(t, base, "POST", "/time_travel/restore?bookmark="+b1)
	if status != 200 || env["result"].(map[string]any)["previous_bookmark"] == "" {
		t.Fatalf("account D1 restore = %d %v", status, env)
	}
	d.expect("GET", "/", 200, "a")

	// The histories live under the account's directory.
	for _, h := range []string{"d1/" + dbID, "kv/acct-kv"} {
		segs, _ := filepath.Glob(filepath.Join(data, ".account", "history", h, "seg-*.log"))
		if len(segs) == 0 {
			t.Errorf("no history segments for %s under %s/.account/history", h, data)
		}
	}

	// A backup through the admin API holds the account's databases.
	to := filepath.Join(t.TempDir(), "acct-backup")
	out, err := runCairn(t, time.Minute, "backup", "--remote", admin, "--api-token", "t0k", "--to", to, "--json")
	if err != nil {
		t.Fatalf("cairn backup --remote (account): %v\n%s", err, out)
	}
	var m struct {
		Worker, Consistency string
		Files               []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &m); err != nil {
		t.Fatalf("manifest: %v\n%s", err, out)
	}
	have := map[string]bool{}
	for _, f := range m.Files {
		have[f.Path] = true
	}
	if m.Worker != ".account" || m.Consistency != "cut" || !have["d1/"+dbID+".sqlite"] || !have["kv/acct-kv.sqlite"] {
		t.Fatalf("account backup: worker %q, consistency %q, files %v", m.Worker, m.Consistency, have)
	}
	if _, err := os.Stat(filepath.Join(to, "d1", dbID+".sqlite")); err != nil {
		t.Errorf("backup directory: %v", err)
	}
}
