package e2e

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const bookmarkWorker = `
import { DurableObject } from "cloudflare:workers";

export class Notes extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)");
  }
  async fetch(req) {
    const url = new URL(req.url);
    const s = this.ctx.storage;
    switch (url.pathname) {
      case "/add":
        s.sql.exec("INSERT INTO notes (text) VALUES (?)", url.searchParams.get("text"));
        return new Response("ok");
      case "/bookmark":
        return new Response(await s.getCurrentBookmark());
      case "/bookmark-at":
        return new Response(await s.getBookmarkForTime(Number(url.searchParams.get("ms"))));
      case "/restore":
        return new Response(await s.onNextSessionRestoreBookmark(url.searchParams.get("b")));
      case "/abort":
        this.ctx.abort(); // the restart runs the restore; this request fails
        return new Response("not reached");
      case "/bad": {
        try {
          await s.onNextSessionRestoreBookmark(url.searchParams.get("b"));
          return new Response("accepted");
        } catch (e) {
          return new Response("error: " + e.message);
        }
      }
    }
    return new Response(s.sql.exec("SELECT text FROM notes ORDER BY id").toArray().map((r) => r.text).join(","));
  }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const stub = env.NOTES.getByName(url.searchParams.get("o") ?? "a");
    return stub.fetch(req);
  },
};
`

// Durable Object point-in-time recovery (spec 3.6): getCurrentBookmark,
// getBookmarkForTime and onNextSessionRestoreBookmark with ctx.abort(),
// the returned bookmark undoing the restore; bad bookmarks are errors that
// change nothing; bookmarks and the restore survive a restart.
func TestObjectBookmarks(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "bm", "main": "worker.js", "compatibility_date": "2025-09-01",
			"durable_objects": {"bindings": [{"name": "NOTES", "class_name": "Notes"}]},
			"migrations": [{"tag": "v1", "new_sqlite_classes": ["Notes"]}]}`,
		"worker.js": bookmarkWorker,
	})
	state := filepath.Join(dir, ".cairn", "state")
	d := startDev(t, dir, state)
	d.expect("GET", "/add?text=one", 200, "ok")
	_, b1 := d.Get("/bookmark")
	time.Sleep(20 * time.Millisecond)
	mid := time.Now().UnixMilli()
	time.Sleep(20 * time.Millisecond)
	d.expect("GET", "/add?text=two", 200, "ok")
	d.expect("GET", "/add?text=three", 200, "ok")
	_, b3 := d.Get("/bookmark")
	if len(b1) != 59 || !(b1 < b3) {
		t.Fatalf("bookmarks %q then %q: want ordered 8-8-8-32 strings", b1, b3)
	}
	if _, at := d.Get("/bookmark-at?ms=" + strconv.FormatInt(mid, 10)); at != b1 {
		t.Fatalf("bookmark for %d = %s, want %s", mid, at, b1)
	}
	// Bad input: nothing is scheduled, nothing changes.
	_, other := d.Get("/bookmark?o=b")
	for _, bad := range []string{"nonsense", other} {
		if status, body := d.Get("/bad?b=" + bad); status != 200 || !strings.HasPrefix(body, "error: ") {
			t.Errorf("bad bookmark %q = %d %s", bad, status, body)
		}
	}
	d.expect("GET", "/", 200, "one,two,three")

	_, undo := d.Get("/restore?b=" + b1)
	if undo != b3 {
		t.Fatalf("onNextSessionRestoreBookmark returned %q, want the bookmark before it %q", undo, b3)
	}
	d.expect("GET", "/", 200, "one,two,three") // not before the object restarts
	if status, _ := d.Get("/abort"); status != 500 {
		t.Errorf("ctx.abort() answered %d, want the request to fail", status)
	}
	d.expect("GET", "/", 200, "one")
	d.expect("GET", "/add?text=four", 200, "ok")
	d.expect("GET", "/", 200, "one,four")
	// The undo bookmark brings the state before the restore back, after a
	// restart too.
	d.Stop()
	d = startDev(t, dir, state)
	d.expect("GET", "/", 200, "one,four")
	d.Get("/restore?b=" + undo)
	d.Get("/abort")
	d.expect("GET", "/", 200, "one,two,three")
	if _, b := d.Get("/bookmark"); !(b > b3) {
		t.Fatalf("bookmark after restores %s, not after %s", b, b3)
	}
}
