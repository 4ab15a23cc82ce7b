package e2e

import (
	"strings"
	"testing"
	"time"
)

// hono + drizzle-orm's d1 driver, unchanged, on a D1 database whose schema
// comes from a wrangler-style migration applied with cairn d1.
func TestD1HonoDrizzleExample(t *testing.T) {
	dir := installExample(t, "d1-hono")
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
