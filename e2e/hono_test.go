package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A common real-world stack, unchanged: hono for routing, drizzle-orm on the
// Durable Object's SQLite. The test installs the example's npm packages
// (pinned in its package-lock.json) into a copy of it.
func TestHonoDrizzleExample(t *testing.T) {
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm not installed: cannot install the example's packages")
	}
	dir := copyDir(t, "../examples/hono")
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
