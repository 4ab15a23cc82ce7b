package jsrt

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/objects"
)

// An RPC call made by an object to another object of the same runtime
// while the Host evicts the callee must not wedge the runtime. Before
// Host.Call stopped blocking, the call waited on the loop for an eviction
// that waited for the same loop: from then on nothing on that runtime ran,
// no object was evicted and shutdown hung. One runtime, many callers and a
// sweeper evicting idle callees every few milliseconds make the race
// frequent.
func TestRPCRacingEvictionOnOneRuntime(t *testing.T) {
	catalog, err := objects.OpenCatalog(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	host := objects.NewHost(catalog, nil)
	t.Cleanup(func() { host.Close() })
	host.EvictIdle(time.Millisecond)
	w := newTestWorker(t, `
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  ping() { return this.ctx.id.name; }
  async fetch(req) {
    const url = new URL(req.url);
    const callee = this.env.OBJ.getByName("callee-" + url.searchParams.get("n"));
    let got = 0;
    for (let i = 0; i < 40; i++) {
      if ((await callee.ping()) === "callee-" + url.searchParams.get("n")) got++;
      await new Promise((r) => setTimeout(r, (i * 7) % 5));
    }
    return new Response(String(got));
  }
};
exports.default = { fetch(req, env) {
  const url = new URL(req.url);
  return env.OBJ.getByName("caller-" + url.searchParams.get("n")).fetch(req);
} };
`, Config{Runtimes: 1, DurableObjects: map[string]string{"OBJ": "Obj"}, Host: host})

	const callers = 16
	var wg sync.WaitGroup
	errs := make(chan string, callers)
	for n := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body, err := fetchBody(t, w, fmt.Sprintf("http://x/?n=%d", n))
			if err != nil || status != 200 || body != "40" {
				errs <- fmt.Sprintf("caller %d: %d %q %v", n, status, body, err)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("callers did not finish in 60 s: the runtime's loop is wedged")
	}
	close(errs)
	var failed []string
	for e := range errs {
		failed = append(failed, e)
	}
	if len(failed) > 0 {
		t.Fatal(strings.Join(failed, "\n"))
	}
}
