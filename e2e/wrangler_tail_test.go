//go:build wrangler

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// wrangler tail itself against cairn: it creates the tail through the
// admin API (CLOUDFLARE_API_BASE_URL), connects the trace-v1 WebSocket and
// prints the items cairn sends. Behind the wrangler tag, as
// TestWranglerRemote:
//
//	go test -tags "wrangler sqlite_fts5 sqlite_math_functions" ./e2e -run TestWranglerTail -v
func TestWranglerTail(t *testing.T) {
	tools := npmInstall(t, "testdata/wrangler")
	wrangler := filepath.Join(tools, "node_modules", ".bin", "wrangler")
	project := writeProject(t, map[string]string{
		"wrangler.jsonc": `{"name": "tailed", "main": "src/index.ts", "compatibility_date": "2025-09-01",
  "durable_objects": {"bindings": [{"name": "COUNTER", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]}`,
		"src/index.ts": tailWorker,
	})
	apiPort := freePort(t)
	d := startDev(t, project, t.TempDir(), "--api-port", fmt.Sprint(apiPort), "--api-token", "s3cret")
	api := fmt.Sprintf("http://127.0.0.1:%d/client/v4", apiPort)

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, wrangler, "tail", "tailed", "--format", "json", "--status", "error")
	cmd.Dir = project
	cmd.Env = append(os.Environ(),
		"CLOUDFLARE_API_TOKEN=s3cret", "CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef",
		"CLOUDFLARE_API_BASE_URL="+api, "WRANGLER_SEND_METRICS=false", "NO_COLOR=1", "CI=1",
		"HOME="+t.TempDir(),
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 5 * time.Second
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The wrangler script starts Node.js again as its child: the whole
	// process group ends (also on the context's end, Cancel), and Wait does
	// not wait on output a straggler keeps open.
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	items := make(chan map[string]any, 16)
	raw := &syncBuffer{}
	go func() {
		defer close(items)
		// wrangler prints each item as indented JSON, between other output
		// (warnings, colour codes): an item starts at a line "{" and ends
		// at the line "}".
		sc := bufio.NewScanner(io.TeeReader(stdout, raw))
		sc.Buffer(nil, 1<<20)
		var cur []string
		for sc.Scan() {
			line := sc.Text()
			if line == "{" {
				cur = []string{line}
				continue
			}
			if cur == nil {
				continue
			}
			cur = append(cur, line)
			if line == "}" {
				var it map[string]any
				if err := json.Unmarshal([]byte(strings.Join(cur, "\n")), &it); err != nil {
					it = map[string]any{"decode error": err.Error()}
				}
				items <- it
				cur = nil
			}
		}
	}()

	// wrangler prints nothing when it connects in JSON mode: throw until an
	// item arrives, with an ok request between each (which --status error
	// must keep out).
	var got map[string]any
	for got == nil {
		d.Get("/log")
		d.Get("/throw/" + fmt.Sprint(time.Now().UnixNano()))
		select {
		case it, ok := <-items:
			if !ok {
				t.Fatalf("wrangler tail exited: %s\nserver log:\n%s", stderr, d.Logs)
			}
			got = it
		case <-time.After(time.Second):
		case <-ctx.Done():
			t.Fatalf("no item from wrangler tail: %s\nserver log:\n%s", stderr, d.Logs)
		}
	}
	if got["outcome"] != "exception" || got["scriptName"] != "tailed" || get(got, "exceptions.0.name") != "TypeError" ||
		!strings.Contains(fmt.Sprint(get(got, "event.request.url")), "/throw/") {
		t.Errorf("wrangler tail printed %v\nits output:\n%s", got, raw)
	}
	if msg, _ := get(got, "exceptions.0.message").(string); !strings.HasPrefix(msg, "kaboom /throw/") {
		t.Errorf("exception message %q", msg)
	}
}
