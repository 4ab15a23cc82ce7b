package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const d1CLIWorker = `
export default {
  async fetch(req, env) {
    const { results } = await env.DB.prepare("SELECT id, name FROM users ORDER BY id").all();
    return Response.json(results);
  },
};
`

// cairn d1 … on the local state directory: migrations (wrangler's layout, atomic),
// execute, export/import round trip, list; then the same data through the binding
// and the REST API of a running cairn dev.
func TestD1CLIAndREST(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "d1cli", "main": "worker.js", "compatibility_date": "2025-09-01",
			"d1_databases": [{"binding": "DB", "database_name": "app-db", "database_id": "aaaaaaaa-0000-0000-0000-000000000001"}]}`,
		"worker.js": d1CLIWorker,
	})
	state := filepath.Join(dir, ".cairn", "state")
	run := func(args ...string) string {
		t.Helper()
		out, err := runCairn(t, time.Minute, append([]string{"d1"}, append(args, "-c", dir)...)...)
		if err != nil {
			t.Fatalf("cairn d1 %v: %v\n%s", args, err, out)
		}
		return out
	}
	fail := func(args ...string) string {
		t.Helper()
		out, err := runCairn(t, time.Minute, append([]string{"d1"}, append(args, "-c", dir)...)...)
		if err == nil {
			t.Fatalf("cairn d1 %v succeeded, want an error\n%s", args, out)
		}
		return out
	}

	out := run("migrations", "create", "DB", "create users")
	m1 := filepath.Join(dir, "migrations", "0001_create_users.sql")
	if !strings.Contains(out, m1) {
		t.Fatalf("migrations create: %s", out)
	}
	os.WriteFile(m1, []byte("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\nINSERT INTO users (name) VALUES ('ada');\n"), 0o644)
	if out := run("migrations", "list", "app-db"); !strings.Contains(out, "0001_create_users.sql") {
		t.Errorf("migrations list: %s", out)
	}
	if out := run("migrations", "apply", "DB"); !strings.Contains(out, "Applied 0001_create_users.sql") {
		t.Errorf("migrations apply: %s", out)
	}
	// A failing migration leaves the database as it was.
	run("migrations", "create", "DB", "broken")
	os.WriteFile(filepath.Join(dir, "migrations", "0002_broken.sql"), []byte("INSERT INTO users (name) VALUES ('bob');\nINSERT INTO users (name) VALUES (NULL);\n"), 0o644)
	if out := fail("migrations", "apply", "DB"); !strings.Contains(out, "0002_broken.sql") || !strings.Contains(out, "NOT NULL constraint failed") {
		t.Errorf("failing migration: %s", out)
	}
	var res []struct {
		Results []map[string]any `json:"results"`
		Meta    map[string]any   `json:"meta"`
	}
	out = run("execute", "DB", "--command", "SELECT count(*) AS n FROM users; SELECT name FROM d1_migrations", "--json")
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 2 || res[0].Results[0]["n"] != 1.0 || len(res[1].Results) != 1 {
		t.Fatalf("execute --json = %s (%v)", out, err)
	}
	if out := run("migrations", "list", "DB"); !strings.Contains(out, "0002_broken.sql") || strings.Contains(out, "0001") {
		t.Errorf("migrations list after failure: %s", out)
	}
	if out := run("execute", "DB", "--command", "INSERT INTO users (name) VALUES ('grace')"); !strings.Contains(out, "1 row(s) changed") {
		t.Errorf("execute: %s", out)
	}

	// export → import into a new database
	dump := filepath.Join(t.TempDir(), "dump.sql")
	run("export", "DB", "--output", dump)
	b, _ := os.ReadFile(dump)
	if !strings.Contains(string(b), "INSERT INTO \"users\" VALUES(2,'grace');") {
		t.Fatalf("dump:\n%s", b)
	}
	if out := run("create", "copy"); !strings.Contains(out, `"database_name": "copy"`) {
		t.Errorf("create: %s", out)
	}
	run("import", "copy", dump)
	if out := run("execute", "copy", "--command", "SELECT name FROM users ORDER BY id"); !strings.Contains(out, "ada") || !strings.Contains(out, "grace") {
		t.Errorf("copy: %s", out)
	}
	broken := filepath.Join(t.TempDir(), "broken.sql")
	os.WriteFile(broken, []byte("INSERT INTO users (name) VALUES ('x');\nINSERT INTO nowhere VALUES (1);\n"), 0o644)
	if out := fail("execute", "copy", "--file", broken); !strings.Contains(out, "no such table: nowhere") || !strings.Contains(out, "nothing was applied") {
		t.Errorf("broken file: %s", out)
	}
	var info map[string]any
	if err := json.Unmarshal([]byte(run("info", "copy")), &info); err != nil || info["name"] != "copy" || info["num_tables"] != 2.0 {
		t.Errorf("info = %v (%v)", info, err)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(run("list", "--json")), &list); err != nil || len(list) != 2 {
		t.Errorf("list = %v (%v)", list, err)
	}
	fail("execute", "nope", "--command", "SELECT 1")
	fail("delete", "copy") // needs --yes
	run("delete", "copy", "--yes")
	fail("execute", "copy", "--command", "SELECT 1")

	// The binding sees what the CLI wrote; the REST API writes what the binding sees.
	apiPort := freePort(t)
	d := startDev(t, dir, state, "--api-port", fmt.Sprint(apiPort), "--api-token", "t0k")
	d.expect("GET", "/", 200, `[{"id":1,"name":"ada"},{"id":2,"name":"grace"}]`)
	api := fmt.Sprintf("http://127.0.0.1:%d/client/v4/accounts/local/d1/database/aaaaaaaa-0000-0000-0000-000000000001/query", apiPort)
	req, _ := http.NewRequest("POST", api, strings.NewReader(`{"sql":"INSERT INTO users (name) VALUES (?) RETURNING id","params":["linus"]}`))
	req.Header.Set("Authorization", "Bearer t0k")
	req.Header.Set("Content-Type", "application/json")
	resp, err := testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"results":[{"id":3}]`) || !strings.Contains(string(body), `"success":true`) {
		t.Fatalf("REST query = %d %s", resp.StatusCode, body)
	}
	d.expect("GET", "/", 200, `[{"id":1,"name":"ada"},{"id":2,"name":"grace"},{"id":3,"name":"linus"}]`)
	req, _ = http.NewRequest("POST", api, strings.NewReader(`{"sql":"SELEC"}`))
	req.Header.Set("Authorization", "Bearer t0k")
	req.Header.Set("Content-Type", "application/json")
	resp, err = testClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"success":false`) || !strings.Contains(string(body), `syntax error`) {
		t.Errorf("REST bad SQL = %d %s", resp.StatusCode, body)
	}

	// The same commands against the running server with --remote.
	remote := []string{"--remote", fmt.Sprintf("http://127.0.0.1:%d", apiPort), "--api-token", "t0k"}
	runRemote := func(args ...string) string {
		t.Helper()
		return run(append(args, remote...)...)
	}
	if out := fail("list", "--remote", fmt.Sprintf("http://127.0.0.1:%d", apiPort), "--api-token", "wrong"); !strings.Contains(out, "Authentication error") {
		t.Errorf("wrong token: %s", out)
	}
	if out := runRemote("execute", "DB", "--command", "SELECT name FROM users WHERE id = 3"); !strings.Contains(out, "linus") {
		t.Errorf("remote execute: %s", out)
	}
	// Fix the broken migration; apply it remotely; the server's binding sees it.
	os.WriteFile(filepath.Join(dir, "migrations", "0002_broken.sql"), []byte("INSERT INTO users (name) VALUES ('bob');\n"), 0o644)
	if out := runRemote("migrations", "list", "DB"); !strings.Contains(out, "0002_broken.sql") {
		t.Errorf("remote migrations list: %s", out)
	}
	if out := runRemote("migrations", "apply", "DB"); !strings.Contains(out, "Applied 0002_broken.sql") {
		t.Errorf("remote migrations apply: %s", out)
	}
	d.expect("GET", "/", 200, `[{"id":1,"name":"ada"},{"id":2,"name":"grace"},{"id":3,"name":"linus"},{"id":4,"name":"bob"}]`)
	if out := runRemote("migrations", "list", "DB"); !strings.Contains(out, "No migrations to apply.") {
		t.Errorf("remote migrations list after apply: %s", out)
	}
	remoteDump := filepath.Join(t.TempDir(), "remote.sql")
	runRemote("export", "DB", "--output", remoteDump, "--table", "users", "--no-schema")
	if b, _ := os.ReadFile(remoteDump); !strings.Contains(string(b), `INSERT INTO "users" VALUES(4,'bob');`) || strings.Contains(string(b), "CREATE TABLE") {
		t.Errorf("remote export:\n%s", b)
	}
	runRemote("create", "remote-copy")
	runRemote("execute", "remote-copy", "--command", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
	if out := runRemote("import", "remote-copy", remoteDump); !strings.Contains(out, "Executed 5 statements") {
		t.Errorf("remote import: %s", out)
	}
	if out := fail(append([]string{"execute", "remote-copy", "--file", broken}, remote...)...); !strings.Contains(out, "no such table: nowhere") {
		t.Errorf("remote broken import: %s", out)
	}
	if out := runRemote("execute", "remote-copy", "--command", "SELECT count(*) AS n FROM users", "--json"); !strings.Contains(out, `"n": 4`) {
		t.Errorf("remote copy count: %s", out)
	}
	if out := runRemote("info", "DB"); !strings.Contains(out, `"uuid": "aaaaaaaa-0000-0000-0000-000000000001"`) {
		t.Errorf("remote info: %s", out)
	}
	if out := runRemote("list"); !strings.Contains(out, "remote-copy") || !strings.Contains(out, "app-db") {
		t.Errorf("remote list: %s", out)
	}
	runRemote("delete", "remote-copy", "--yes")
}
