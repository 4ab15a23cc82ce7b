package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// In cairn serve a service binding to another Worker carries JS RPC as on
// Cloudflare: env.SVC.method() runs the other Worker's code, on its
// default export (a WorkerEntrypoint class) or on a named entrypoint;
// fetch() still reaches it as a request does.
func TestServeServiceBindingRPC(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"front/wrangler.jsonc": `{
  "name": "front",
  "main": "index.js",
  "compatibility_date": "2025-09-01",
  "services": [
    { "binding": "BACK", "service": "back" },
    { "binding": "MATH", "service": "back", "entrypoint": "Math" },
  ],
}`,
		"front/index.js": `export default {
  async fetch(req, env) {
    let missing, thrown;
    try { await env.BACK.nope(); } catch (e) { missing = e.message; }
    try { await env.MATH.fail("bad input"); } catch (e) { thrown = e.name + ": " + e.message; }
    return Response.json({
      whoami: await env.BACK.whoami(),
      add: await env.MATH.add(2, 3),
      value: await env.MATH.shape({ list: [1, 2], when: new Date(0) }),
      twice: await env.MATH.twice((x) => x + 1, 4),
      env: await env.BACK.greeting(),
      backFetch: await (await env.BACK.fetch("http://back.internal/hello")).text(),
      mathFetch: await (await env.MATH.fetch("http://back.internal/p")).text(),
      echoReq: await (async () => {
        const res = await env.MATH.echoReq(new Request("http://x/", { method: "PUT", body: "svc", headers: { "x-a": "1" } }));
        return res.headers.get("x-a") + " " + (await res.text());
      })(),
      missing,
      thrown,
    });
  },
};`,
		"back/wrangler.jsonc": `{
  "name": "back",
  "main": "index.js",
  "compatibility_date": "2025-09-01",
  "vars": { "GREETING": "hello from back" },
}`,
		"back/index.js": `import { WorkerEntrypoint } from "cloudflare:workers";
export class Math extends WorkerEntrypoint {
  add(a, b) { return a + b; }
  shape(v) { return { sum: v.list[0] + v.list[1], year: v.when.getUTCFullYear() }; }
  async twice(fn, x) { return 2 * (await fn(x)); }
  fail(msg) { throw new RangeError(msg); }
  fetch(req) { return new Response("math fetch " + new URL(req.url).pathname); }
  async echoReq(req) { return new Response(req.method + " " + (await req.text()), { headers: req.headers }); }
}
export default class extends WorkerEntrypoint {
  whoami() { return "back"; }
  greeting() { return this.env.GREETING; }
  fetch(req) { return new Response("back fetch " + new URL(req.url).pathname); }
}`,
	})
	file := filepath.Join(dir, "cairn.toml")
	toml := `data_dir = "data"

[[workers]]
config = "front"
routes = ["127.0.0.1/*"]

[[workers]]
config = "back"
`
	if err := os.WriteFile(file, []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startServe(t, file)
	want := `{"whoami":"back","add":5,"value":{"sum":3,"year":1970},"twice":10,"env":"hello from back","backFetch":"back fetch /hello","mathFetch":"math fetch /p","echoReq":"1 PUT svc","missing":"The RPC receiver does not implement the method \"nope\".","thrown":"RangeError: bad input"}`
	if status, got := d.Get("/"); status != 200 || got != want {
		t.Errorf("got  %d %s\nwant %s\n%s", status, got, want, d.Logs)
	}
}
