package jsrt

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evanw/esbuild/pkg/api"

	"github.com/cairn-dev/cairn/bundle"
)

// A syntax error goja finds in a bundle (syntax esbuild passes through but
// goja cannot parse) is reported at the source file and line.
func TestSyntaxErrorAtSource(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"src/index.ts": "import { check } from \"./check\";\nexport default { fetch() { return new Response(String(check(\"ab\"))); } };\n",
		// A regexp modifier group: esbuild keeps it, goja cannot parse it.
		"src/check.ts": "// line 1\n// line 2\nexport function check(s: string): boolean {\n  return /(?i:a)b/.test(s);\n}\n",
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
	_, err = New(Config{Code: res.Code, Runtimes: 1})
	if err == nil {
		t.Fatal("New succeeded")
	}
	if !strings.Contains(err.Error(), "src/check.ts:4:") || !strings.Contains(err.Error(), "SyntaxError") {
		t.Errorf("err = %v, want it at src/check.ts:4", err)
	}
}

// A parse error goja reports at a bundle line ("Line 4:10 Unexpected …")
// is mapped through the inline source map to the source file's line. The
// bundle here keeps an import() of a computed name (as package bundle did
// before it lowered them), which goja cannot parse.
func TestParseErrorAtSource(t *testing.T) {
	src := "// routes\nconst routes = [{ module: \"./a.js\" }];\n\nexport async function load() {\n  return await import(routes[0].module);\n}\n"
	res := api.Transform(src, api.TransformOptions{
		Loader: api.LoaderTS, Format: api.FormatCommonJS, Sourcefile: "app/routes.ts",
		Sourcemap: api.SourceMapInline, Target: api.ES2022,
		// Move the code down a few lines in the output, so bundle and source lines differ.
		Banner: "// banner 1\n// banner 2\n// banner 3",
	})
	if len(res.Errors) > 0 {
		t.Fatal(res.Errors[0].Text)
	}
	_, err := New(Config{Code: string(res.Code), Runtimes: 1})
	if err == nil {
		t.Fatal("New succeeded")
	}
	if !strings.Contains(err.Error(), "app/routes.ts:5:") {
		t.Errorf("err = %v, want it at app/routes.ts:5", err)
	}
}
