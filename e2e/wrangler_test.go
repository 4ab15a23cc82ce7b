//go:build wrangler

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wrangler … --remote against a running cairn (issue 20), with
// CLOUDFLARE_API_BASE_URL pointing at its REST API. Behind the build tag
// wrangler: npm ci installs wrangler with workerd (over 100 MB) and each
// command starts Node.js, so the test takes minutes. Run it with
//
//	go test -tags "wrangler sqlite_fts5 sqlite_math_functions" ./e2e -run TestWranglerRemote -v
//
// wrangler is pinned at 4.86.0, the last release that runs on Node.js 20.
func TestWranglerRemote(t *testing.T) {
	tools := npmInstall(t, "testdata/wrangler")
	p := startClientsProject(t)
	run := p.run
	project := p.dir
	wrangler := filepath.Join(tools, "node_modules", ".bin", "wrangler")

	// kv namespace list reads pages of 100 until a short one.
	out := run(t, wrangler, "kv", "namespace", "list")
	var nss []struct{ ID, Title string }
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &nss); err != nil || len(nss) == 0 {
		t.Fatalf("kv namespace list: %v\n%s", err, out)
	}
	out = run(t, wrangler, "kv", "namespace", "create", "from-wrangler")
	if !strings.Contains(out, "from-wrangler") {
		t.Errorf("kv namespace create:\n%s", out)
	}
	// rename finds the namespace by its title in the list.
	run(t, wrangler, "kv", "namespace", "rename", "from-wrangler", "--new-name", "renamed-by-wrangler")
	out = run(t, wrangler, "kv", "namespace", "list")
	id := ""
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &nss); err != nil {
		t.Fatalf("kv namespace list: %v\n%s", err, out)
	}
	for _, ns := range nss {
		if ns.Title == "renamed-by-wrangler" {
			id = ns.ID
		}
	}
	if id == "" {
		t.Fatalf("renamed namespace not listed:\n%s", out)
	}
	run(t, wrangler, "kv", "namespace", "delete", "--namespace-id", id, "-y")
	if out = run(t, wrangler, "kv", "namespace", "list"); strings.Contains(out, id) {
		t.Errorf("deleted namespace still listed:\n%s", out)
	}
	out = run(t, wrangler, "kv", "key", "put", "--binding", "CACHE", "--remote", "k1", "v1")
	if got := run(t, wrangler, "kv", "key", "get", "--binding", "CACHE", "--remote", "k1"); !strings.Contains(got, "v1") {
		t.Errorf("kv key get:\n%s\n(put said:\n%s)", got, out)
	}

	// d1 execute --file: init, upload to the signed URL (no token),
	// ingest, poll.
	out = run(t, wrangler, "d1", "execute", "DB", "--remote", "--file", "seed.sql", "-y")
	if !strings.Contains(out, "Executed 3 queries") {
		t.Errorf("d1 execute --file:\n%s", out)
	}
	out = run(t, wrangler, "d1", "execute", "DB", "--remote", "--json", "--command", "DELETE FROM seeded RETURNING name LIMIT 1")
	if !strings.Contains(out, `"name": "ada"`) {
		t.Errorf("d1 execute DELETE … LIMIT:\n%s", out)
	}
	// d1 export: the signed URL is downloaded without the token.
	out = run(t, wrangler, "d1", "export", "DB", "--remote", "--output", "dump.sql")
	dump, err := os.ReadFile(filepath.Join(project, "dump.sql"))
	if err != nil || !strings.Contains(string(dump), `INSERT INTO "seeded" VALUES(3,'edsger');`) || strings.Contains(string(dump), "'ada'") {
		t.Errorf("d1 export: %v\n%s\n%s", err, out, dump)
	}
	out = run(t, wrangler, "d1", "list", "--json")
	if !strings.Contains(out, `"clientsdb"`) {
		t.Errorf("d1 list:\n%s", out)
	}

	// d1 time-travel (spec 70): the current bookmark, a write, a restore
	// to the bookmark, and the previous bookmark undoing it.
	var info struct{ Bookmark string }
	out = run(t, wrangler, "d1", "time-travel", "info", "DB", "--json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &info); err != nil || info.Bookmark == "" {
		t.Fatalf("d1 time-travel info: %v\n%s", err, out)
	}
	run(t, wrangler, "d1", "execute", "DB", "--remote", "--command", "INSERT INTO seeded (name) VALUES ('barbara')")
	var restored struct {
		Bookmark         string `json:"bookmark"`
		PreviousBookmark string `json:"previous_bookmark"`
	}
	out = run(t, wrangler, "d1", "time-travel", "restore", "DB", "--bookmark", info.Bookmark, "--json")
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &restored); err != nil || restored.PreviousBookmark <= info.Bookmark {
		t.Fatalf("d1 time-travel restore: %v\n%s", err, out)
	}
	if out = run(t, wrangler, "d1", "execute", "DB", "--remote", "--json", "--command", "SELECT name FROM seeded"); strings.Contains(out, "barbara") {
		t.Errorf("after time-travel restore the row written after the bookmark is still there:\n%s", out)
	}
	run(t, wrangler, "d1", "time-travel", "restore", "DB", "--bookmark", restored.PreviousBookmark, "--json")
	if out = run(t, wrangler, "d1", "execute", "DB", "--remote", "--json", "--command", "SELECT name FROM seeded"); !strings.Contains(out, "barbara") {
		t.Errorf("undoing the restore did not bring the row back:\n%s", out)
	}
}
