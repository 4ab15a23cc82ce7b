package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// A common real-world stack, unchanged: hono for routing, drizzle-orm on the
// Durable Object's SQLite. The test installs the example's npm packages
// (pinned in its package-lock.json) into a copy of it.
func TestHonoDrizzleExample(t *testing.T) {
	dir := installExample(t, "hono")

	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/", 200, "hono on cairn")
	d.expect("GET", "/hello/ada?q=1", 200, `{"hello":"ada","q":"1"}`)
	d.expect("GET", "/missing", 404, "404 Not Found")

	for _, body := range []string{"first", "second"} {
		status, got := d.Do("POST", "/notebooks/mine/notes", `{"body":"`+body+`"}`)
		if status != 201 || !strings.Contains(got, `"body":"`+body+`"`) {
			t.Fatalf("POST note = %d %s\n%s", status, got, d.Logs)
		}
	}
	_, got := d.Get("/notebooks/mine/notes")
	var notes []struct {
		ID   int    `json:"id"`
		Body string `json:"body"`
	}
	if err := json.Unmarshal([]byte(got), &notes); err != nil || len(notes) != 2 || notes[0].Body != "second" || notes[1].ID != 1 {
		t.Errorf("notes = %s (%v)", got, err)
	}
	d.expect("GET", "/notebooks/mine/notes/1", 200, `{"id":1,"body":"first"}`)
	d.expect("GET", "/notebooks/other/notes", 200, `[]`)
}
