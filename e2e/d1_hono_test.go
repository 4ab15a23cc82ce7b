package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// hono + drizzle-orm's d1 driver, unchanged, on a D1 database whose schema
// comes from a wrangler-style migration applied with cairn d1.
func TestD1HonoDrizzleExample(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed: cannot install the example's packages")
	}
	dir := copyDir(t, "../examples/d1-hono")
	install := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	install.Dir = dir
	done := make(chan struct{})
	var out []byte
	go func() { out, err = install.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		_ = install.Process.Kill()
		t.Fatal("npm ci took over 3 minutes")
	}
	if err != nil {
		t.Fatalf("npm ci: %v\n%s", err, out)
	}
	state := t.TempDir()
	if out, err := runCairn(t, time.Minute, "d1", "migrations", "apply", "DB", "-c", dir, "--persist-to", state); err != nil || !strings.Contains(out, "Applied 0001_create_authors_and_posts.sql") {
		t.Fatalf("migrations apply: %v\n%s", err, out)
	}

	d := startDev(t, dir, state)
	d.expect("GET", "/", 200, "hono + drizzle on D1, on cairn")
	status, body := d.Do("POST", "/authors", `{"name":"ada","firstPost":"Notes"}`)
	if status != 201 || body != `{"id":1,"name":"ada"}` {
		t.Fatalf("POST /authors = %d %s\n%s", status, body, d.Logs)
	}
	// The batch is atomic: a duplicate author adds no post either (spec 62).
	status, body = d.Do("POST", "/authors", `{"name":"ada","firstPost":"Again"}`)
	if status != 409 || !strings.Contains(body, "UNIQUE constraint failed: authors.name") {
		t.Errorf("duplicate author = %d %s", status, body)
	}
	status, body = d.Do("POST", "/authors/1/posts", `{"title":"Engines","published":true}`)
	if status != 201 || !strings.Contains(body, `"title":"Engines","published":true`) {
		t.Errorf("POST post = %d %s", status, body)
	}
	// Foreign keys are enforced (spec 72).
	if status, body := d.Do("POST", "/authors/99/posts", `{"title":"orphan"}`); status != 400 || !strings.Contains(body, "FOREIGN KEY constraint failed") {
		t.Errorf("orphan post = %d %s", status, body)
	}
	d.expect("GET", "/authors", 200, `[{"id":1,"name":"ada","posts":2}]`)
	d.expect("GET", "/posts?published=1", 200, `[{"id":2,"title":"Engines","published":true,"author":"ada"}]`)
	d.expect("GET", "/posts", 200, `[{"id":2,"title":"Engines","published":true,"author":"ada"},{"id":1,"title":"Notes","published":false,"author":"ada"}]`)
	d.expect("DELETE", "/authors/1", 200, `{"deleted":1}`)
	d.expect("GET", "/posts", 200, `[]`) // ON DELETE CASCADE
}
