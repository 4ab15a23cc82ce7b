package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Cloudflare's own clients against cairn (issue 20): the official
// `cloudflare` npm SDK (here) and `wrangler … --remote` (wrangler_test.go,
// build tag wrangler: it installs workerd with wrangler and takes minutes)
// drive a running cairn's REST API, and the Worker's D1 binding meets what
// those clients and chanfana send. The clients are pinned in testdata/sdk
// and testdata/wrangler (package-lock.json) and installed with npm ci.

const restclientsConfig = `name = "clients"
main = "worker.js"
compatibility_date = "2025-09-01"

[[d1_databases]]
binding = "DB"
database_name = "clientsdb"
database_id = "6f1e2d3c-4b5a-4697-8877-665544332211"

[[kv_namespaces]]
binding = "CACHE"
id = "0123456789abcdef0123456789abcdef"
`

const restclientsWorker = `
export default {
  async fetch(request, env) {
    const db = env.DB;
    const url = new URL(request.url);
    const err = async (f) => { try { await f(); return null; } catch (e) { return String(e.message); } };
    switch (url.pathname) {
      case "/limit": {
        await db.exec("CREATE TABLE IF NOT EXISTS todo (id INTEGER PRIMARY KEY, done INTEGER)");
        await db.prepare("INSERT INTO todo (done) VALUES (1), (1), (0)").run();
        // What chanfana's D1 delete endpoint issues.
        const del = await db.prepare("DELETE FROM todo WHERE done = ? RETURNING * LIMIT 1").bind(1).all();
        const upd = await db.prepare("UPDATE todo SET done = 2 WHERE done = 1 ORDER BY id LIMIT 1").run();
        const left = await db.prepare("SELECT id, done FROM todo ORDER BY id").all();
        return Response.json({ deleted: del.results, updated: upd.meta.changes, left: left.results });
      }
      case "/ddl": {
        const r = await db.prepare("CREATE TABLE ddl_" + url.searchParams.get("n") + " (id INTEGER PRIMARY KEY, a TEXT UNIQUE)").run();
        return Response.json(r.meta);
      }
      case "/bookmark": {
        // A bookmark in D1's shape that cairn did not issue (wrangler dev's).
        const foreign = "00000000-0000000a-00000000-00000000000000000000000000000000";
        const s = db.withSession(foreign);
        const r = await s.prepare("SELECT 1 AS one").all();
        return Response.json({ one: r.results[0].one, primary: r.meta.served_by_primary, bookmark: s.getBookmark(),
          garbage: await err(() => db.withSession("garbage").prepare("SELECT 1").all()) });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`

// npmInstall copies testdata dir src into a temp dir and installs its
// pinned packages with npm ci; it skips the test without npm or node.
func npmInstall(t *testing.T, src string) string {
	t.Helper()
	for _, tool := range []string{"npm", "node"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: cannot install %s", tool, src)
		}
	}
	dir := copyDir(t, src)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	install := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", src, err, out)
	}
	return dir
}

// clientsProject is a running cairn dev serving the clients project with
// its REST API, and how to run a client against it.
type clientsProject struct {
	dir string     // the project (wrangler.toml, seed.sql)
	dev *devServer // cairn dev
	env []string   // CLOUDFLARE_API_TOKEN, CLOUDFLARE_API_BASE_URL, … for the clients
}

func startClientsProject(t *testing.T) *clientsProject {
	t.Helper()
	project := writeProject(t, map[string]string{
		"wrangler.toml": restclientsConfig,
		"worker.js":     restclientsWorker,
		"seed.sql": "CREATE TABLE seeded (id INTEGER PRIMARY KEY, name TEXT);\n" +
			"INSERT INTO seeded (name) VALUES ('ada'), ('grace');\nINSERT INTO seeded (name) VALUES ('edsger');\n",
	})
	apiPort := freePort(t)
	d := startDev(t, project, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "s3cret")
	api := fmt.Sprintf("http://127.0.0.1:%d/client/v4", apiPort)
	env := append(os.Environ(),
		"CLOUDFLARE_API_TOKEN=s3cret", "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef",
		"CLOUDFLARE_API_BASE_URL="+api, "CAIRN_API="+api, "D1_ID=6f1e2d3c-4b5a-4697-8877-665544332211",
		"WRANGLER_SEND_METRICS=false", "WRANGLER_LOG=log", "NO_COLOR=1", "CI=1",
		"HOME="+t.TempDir(), // no wrangler login state or caches of the user's
	)
	return &clientsProject{dir: project, dev: d, env: env}
}

// run runs a client command in the project and returns its output; it
// fails the test if the command fails or runs over 90 s.
func (p *clientsProject) run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish in 90 s (a list that never ends?)\n%s\nserver log:\n%s", name, strings.Join(args, " "), out, p.dev.Logs)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, p.dev.Logs)
	}
	return string(out)
}

func TestRESTClients(t *testing.T) {
	tools := npmInstall(t, "testdata/sdk")
	p := startClientsProject(t)
	d, run := p.dev, p.run

	t.Run("cloudflare SDK", func(t *testing.T) {
		out := run(t, "node", filepath.Join(tools, "sdk.mjs"))
		var got struct {
			KVTitles, KVKeys, KVAfterDelete, D1Names []string
			KVRenamed, KVValue                       string
			CreateMeta                               map[string]any
			Deleted, Rows                            []map[string]any
			DeleteChanges, UpdateChanges             float64
			ServedByPrimary                          any
		}
		if err := json.Unmarshal([]byte(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:]), &got); err != nil {
			t.Fatalf("sdk.mjs output: %v\n%s", err, out)
		}
		for name, c := range map[string]struct{ got, want any }{
			"kv namespaces, read page by page": {got.KVTitles, []string{"clients-CACHE", "sdk-a", "sdk-b", "sdk-c"}},
			"renamed":                          {got.KVRenamed, "sdk-renamed"},
			"value":                            {got.KVValue, "hello"},
			"keys":                             {got.KVKeys, []string{"greeting"}},
			"after delete":                     {got.KVAfterDelete, []string{"clients-CACHE", "sdk-c", "sdk-renamed"}},
			"d1 databases, page by page":       {got.D1Names, []string{"clientsdb"}},
			"CREATE TABLE meta":                {got.CreateMeta, map[string]any{"changes": 0.0, "rows_written": 2.0, "changed_db": true}},
			"DELETE … RETURNING * LIMIT 1":     {got.Deleted, []map[string]any{{"id": 1.0, "v": "a"}}},
			"its changes":                      {got.DeleteChanges, 1.0},
			"UPDATE … ORDER BY … LIMIT":        {got.UpdateChanges, 1.0},
			"served_by_primary":                {got.ServedByPrimary, true},
			"rows left":                        {got.Rows, []map[string]any{{"id": 2.0, "v": "b"}, {"id": 3.0, "v": "z"}}},
		} {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("%s = %#v, want %#v", name, c.got, c.want)
			}
		}
	})

	t.Run("binding", func(t *testing.T) {
		var lim struct {
			Deleted, Left []map[string]any
			Updated       float64
		}
		getJSON(t, d, "/limit", &lim)
		if !reflect.DeepEqual(lim.Deleted, []map[string]any{{"id": 1.0, "done": 1.0}}) || lim.Updated != 1 ||
			!reflect.DeepEqual(lim.Left, []map[string]any{{"id": 2.0, "done": 2.0}, {"id": 3.0, "done": 0.0}}) {
			t.Errorf("UPDATE/DELETE … LIMIT through the binding = %+v", lim)
		}
		var meta map[string]any
		getJSON(t, d, "/ddl?n=1", &meta)
		if meta["changes"] != 0.0 || meta["rows_written"] != 3.0 || meta["changed_db"] != true {
			t.Errorf("DDL meta = %v; D1: changes 0, rows_written 3, changed_db true", meta)
		}
		var bm map[string]any
		getJSON(t, d, "/bookmark", &bm)
		if bm["one"] != 1.0 || bm["primary"] != true || bm["garbage"] != "D1_SESSION_ERROR: invalid bookmark or constraint" {
			t.Errorf("foreign bookmark = %v", bm)
		}
	})
}
