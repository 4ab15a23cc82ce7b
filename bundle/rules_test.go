package bundle

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dop251/goja"
)

// evalDefault bundles files with rules and returns the entry's default
// export, evaluated.
func evalDefault(t *testing.T, files map[string]string, rules []Rule) (goja.Value, error) {
	t.Helper()
	dir := writeFiles(t, files)
	res, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir, Rules: rules})
	if err != nil {
		return nil, err
	}
	vm := goja.New()
	exports, _ := run(t, vm, res.Code)
	return exports.Get("default"), nil
}

func TestModuleRules(t *testing.T) {
	files := map[string]string{
		"src/index.ts": `import md from "./README.md";
import page from "./page.html";
import data from "./blob.bin";
import notes from "./notes.txt";
export default [md, page, data instanceof ArrayBuffer, data.byteLength, new Uint8Array(data)[1], notes].join("|");`,
		"src/README.md": "# Title",
		"src/page.html": "<p>hi</p>",
		"src/blob.bin":  "\x01\x02\x03",
		"src/notes.txt": "notes",
	}
	tests := []struct {
		name    string
		rules   []Rule
		want    string // "" when the build must fail with wantErr
		wantErr string
	}{
		{"no rule for .md", nil, "", `No loader is configured for ".md" files`},
		{"Text rule with fallthrough keeps the defaults", []Rule{{Type: "Text", Globs: []string{"**/*.md"}, Fallthrough: true}},
			"# Title|<p>hi</p>|true|3|2|notes", ""},
		{"Text rule without fallthrough replaces the default Text rule", []Rule{{Type: "Text", Globs: []string{"**/*.md"}}},
			"", `No loader is configured for ".html" files`},
		{"globs relative to the project", []Rule{{Type: "Text", Globs: []string{"src/*.{md,html}"}}},
			"# Title|<p>hi</p>|true|3|2|notes", ""},
		{"a later rule of a type without fallthrough is ignored", []Rule{{Type: "Text", Globs: []string{"lib/*.md"}}, {Type: "Text", Globs: []string{"**/*.md"}}},
			"", `No loader is configured for ".md" files`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := evalDefault(t, files, tt.rules)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if v.String() != tt.want {
				t.Errorf("default export %q, want %q", v, tt.want)
			}
		})
	}
}

// A CompiledWasm import is a WebAssembly.Module of the file's bytes, as
// wrangler's; here WebAssembly.Module is a stand-in recording its argument
// (package jsrt and e2e/wasm_test.go run real modules).
func TestWasmImport(t *testing.T) {
	tests := []struct {
		name, imp, file string
		rules           []Rule
		want, wantErr   string
	}{
		{"default rule", "./add.wasm", "src/add.wasm", nil, "Module 0,97,115,109,1,0,0,0", ""},
		{"?module suffix", "./add.wasm?module", "src/add.wasm", nil, "Module 0,97,115,109,1,0,0,0", ""},
		{"config rule", "./add.bytes", "src/add.bytes", []Rule{{Type: "CompiledWasm", Globs: []string{"**/*.bytes"}}}, "Module 0,97,115,109,1,0,0,0", ""},
		{"missing file", "./none.wasm?module", "src/add.wasm", nil, "", "none.wasm"},
		{"compile error names the file", "./add.wasm", "src/add.wasm", nil, "throws: src/add.wasm: bad bytes", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{
				"src/index.ts": `import mod from "` + tt.imp + `"; export default mod;`,
				tt.file:        "\x00asm\x01\x00\x00\x00",
			})
			res, err := Build(Options{Entry: filepath.Join(dir, "src/index.ts"), Dir: dir, Rules: tt.rules})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Build error %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vm := goja.New()
			if _, err := vm.RunString(`globalThis.WebAssembly = { Module: class { constructor(b) {
				if (` + fmt.Sprint(strings.HasPrefix(tt.want, "throws")) + `) throw new Error("bad bytes");
				this.desc = "Module " + Array.from(b).join();
			} } };`); err != nil {
				t.Fatal(err)
			}
			var got string
			if strings.HasPrefix(tt.want, "throws: ") {
				v, err := vm.RunString("(function (module, exports, require) {" + res.Code + "\n})({ exports: {} }, {}, () => ({}))")
				if ex, ok := err.(*goja.Exception); ok {
					got = "throws: " + ex.Value().ToObject(vm).Get("message").String()
				} else {
					got = fmt.Sprint(v, err)
				}
			} else {
				exports, _ := run(t, vm, res.Code)
				got = exports.Get("default").ToObject(vm).Get("desc").String()
			}
			if got != tt.want {
				t.Errorf("default export %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGlobRegexp(t *testing.T) {
	tests := []struct {
		glob  string
		match []string
		not   []string
	}{
		{"**/*.md", []string{"a.md", "src/a.md", "node_modules/x/y.md"}, []string{"a.mdx", "a.md/b"}},
		{"src/*.txt", []string{"src/a.txt"}, []string{"src/x/a.txt", "a.txt"}},
		{"src/**", []string{"src/a", "src/a/b.c"}, []string{"lib/a"}},
		{"*.{md,txt}", []string{"a.md", "b.txt"}, []string{"c.html", "x/a.md"}},
		{"file?.txt", []string{"file1.txt"}, []string{"file12.txt"}},
	}
	for _, tt := range tests {
		re, err := globRegexp(tt.glob)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tt.match {
			if !re.MatchString(m) {
				t.Errorf("%q does not match %q", tt.glob, m)
			}
		}
		for _, m := range tt.not {
			if re.MatchString(m) {
				t.Errorf("%q matches %q", tt.glob, m)
			}
		}
	}
}
