package e2e

import (
	"strings"
	"testing"
)

// The JavaScript surface Worker code expects (issue 19), through the real
// binary: language built-ins goja lacks, import() of bundled and computed
// modules, Node.js modules under nodejs_compat, cloudflare:* modules.
func TestJSSurface(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"wrangler.jsonc": `{ "name": "surface", "main": "src/index.ts", "compatibility_date": "2026-11-01",
  "compatibility_flags": ["nodejs_compat"], "vars": { "GREETING": "hello" } }`,
		"src/routes/home.ts":  `export const title = "Home";`,
		"src/routes/about.ts": `export const title = "About";`,
		"src/index.ts": `import { channel } from "node:diagnostics_channel";
import { EmailMessage } from "cloudflare:email";
import { env, waitUntil } from "cloudflare:workers";
const routes: Record<string, { module: string }> = { ext: { module: "node:os" }, missing: { module: "./routes/gone.js" } };
export default {
  async fetch(req: Request): Promise<Response> {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/builtins": {
        const { promise, resolve } = Promise.withResolvers<number>();
        resolve(2);
        const m = new Map([["a", 1], ["b", 2], ["c", 3]]);
        const odd = m.values().filter((v) => v % 2).toArray();
        const groups = Object.groupBy([1, 2, 3], (n) => (n > 1 ? "big" : "small"));
        return Response.json({ p: await promise, odd, big: groups.big, union: [...new Set([1]).union(new Set([2]))] });
      }
      case "/import": {
        const page = url.searchParams.get("page")!;
        const mod = await import(` + "`./routes/${page}.ts`" + `);
        return new Response(mod.title);
      }
      case "/import-computed": {
        try {
          const os = await import(routes[url.searchParams.get("r")!].module);
          return new Response("os " + typeof os.platform);
        } catch (e) {
          return new Response((e as Error).message, { status: 500 });
        }
      }
      case "/node": {
        const got: string[] = [];
        channel("surface").subscribe((m: any) => got.push(m.n));
        channel("surface").publish({ n: "published" });
        waitUntil(Promise.resolve());
        return new Response([got.join(), process.env.GREETING, env.GREETING, new EmailMessage("a@x.dev", "b@x.dev", "raw").to].join(" "));
      }
    }
    return new Response("not found", { status: 404 });
  },
};
`,
	})
	d := startDev(t, dir, t.TempDir())
	d.expect("GET", "/builtins", 200, `{"p":2,"odd":[1,3],"big":[2,3],"union":[1,2]}`)
	d.expect("GET", "/import?page=about", 200, "About")
	d.expect("GET", "/import?page=home", 200, "Home")
	d.expect("GET", "/import-computed?r=ext", 200, "os function")
	// workerd names the module as resolved against the importer, not as written.
	status, body := d.Get("/import-computed?r=missing")
	if status != 500 || !strings.HasPrefix(body, `No such module "routes/gone.js"`) {
		t.Errorf("import of a missing module = %d %q, want 500 No such module", status, body)
	}
	d.expect("GET", "/node", 200, "published hello hello b@x.dev")
}
