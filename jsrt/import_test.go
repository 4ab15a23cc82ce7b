package jsrt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/bundle"
)

// A computed import() of a relative specifier resolves against the modules
// of the bundle (named by their paths relative to the main module's
// directory, as workerd resolves against uploaded modules); one that is
// not there rejects with "No such module", as does a package name.
func TestDynamicImportRelative(t *testing.T) {
	if bundledModules != bundle.ModuleMapGlobal {
		t.Fatalf("bundledModules = %q, bundle.ModuleMapGlobal = %q", bundledModules, bundle.ModuleMapGlobal)
	}
	dir := t.TempDir()
	files := map[string]string{
		"src/index.ts": `import { routes } from "./routes/index";
export default {
  async fetch(req: Request) {
    const spec = new URL(req.url).searchParams.get("m") ?? "";
    try {
      const m = await import(spec);
      return new Response(m.default + " " + m.title);
    } catch (e) {
      return new Response("rejects: " + (e as Error).message);
    }
  },
};
export const used = routes;`,
		"src/routes/index.ts": `import * as home from "./home";
export const routes = { home };`,
		"src/routes/home.ts":  `export default "home"; export const title = "Home";`,
		"src/routes/other.ts": `export default "other";`,
	}
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := bundle.Build(bundle.Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	w := newTestWorker(t, res.Code, Config{Runtimes: 1})
	for _, tc := range []struct{ spec, want string }{
		{"./routes/home.js", "home Home"},
		{"./routes/home.ts", "home Home"},
		{"./routes/../routes/home.js", "home Home"},
		{"./routes/other.js", `rejects: No such module "routes/other.js" (a relative specifier resolves against the modules in the Worker's bundle, by their paths relative to the main module's directory)`},
		{"../src/routes/home.js", `rejects: No such module "../src/routes/home.js"`},
		{"leftpad", `rejects: No such module "leftpad" (imported by the Worker)`},
	} {
		_, body, err := fetchBody(t, w, "http://x/?m="+tc.spec)
		if err != nil || !strings.HasPrefix(body, tc.want) {
			t.Errorf("import(%q) = %q %v, want %q", tc.spec, body, err, tc.want)
		}
	}
}
