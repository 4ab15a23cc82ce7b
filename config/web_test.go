package config

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLoadWebKeys(t *testing.T) {
	for _, tc := range []struct {
		name, content string
	}{
		{"wrangler.jsonc", `{
  "main": "src/index.js",
  "compatibility_date": "2025-06-01",
  "assets": {"directory": "./public", "binding": "ASSETS", "html_handling": "drop-trailing-slash",
    "not_found_handling": "single-page-application", "run_worker_first": ["/api/*", "!/api/docs"]},
  "build": {"command": "npm run build", "cwd": "web", "watch_dir": ["web/src", "lib"]},
  "triggers": {"crons": ["*/5 * * * *", "0 0 * * MON"]},
  "rules": [{"type": "Text", "globs": ["**/*.md"], "fallthrough": true}, {"type": "Data", "globs": ["**/*.dat"]}],
}`},
		{"wrangler.toml", `main = "src/index.js"
compatibility_date = "2025-06-01"

[assets]
directory = "./public"
binding = "ASSETS"
html_handling = "drop-trailing-slash"
not_found_handling = "single-page-application"
run_worker_first = ["/api/*", "!/api/docs"]

[build]
command = "npm run build"
cwd = "web"
watch_dir = ["web/src", "lib"]

[triggers]
crons = ["*/5 * * * *", "0 0 * * MON"]

[[rules]]
type = "Text"
globs = ["**/*.md"]
fallthrough = true

[[rules]]
type = "Data"
globs = ["**/*.dat"]
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := project(t, tc.name, tc.content)
			dir := filepath.Dir(file)
			c, err := Load(file, func(msg string) { t.Errorf("warning: %s", msg) })
			if err != nil {
				t.Fatal(err)
			}
			wantAssets := &Assets{Directory: filepath.Join(dir, "public"), Binding: "ASSETS", HTMLHandling: "drop-trailing-slash",
				NotFoundHandling: "single-page-application", RunWorkerFirstRules: []string{"/api/*", "!/api/docs"}}
			if !reflect.DeepEqual(c.Assets, wantAssets) {
				t.Errorf("Assets = %+v, want %+v", c.Assets, wantAssets)
			}
			wantBuild := &Build{Command: "npm run build", Cwd: filepath.Join(dir, "web"), WatchDirs: []string{filepath.Join(dir, "web/src"), filepath.Join(dir, "lib")}}
			if !reflect.DeepEqual(c.Build, wantBuild) {
				t.Errorf("Build = %+v, want %+v", c.Build, wantBuild)
			}
			if want := []string{"*/5 * * * *", "0 0 * * MON"}; !reflect.DeepEqual(c.Crons, want) {
				t.Errorf("Crons = %q, want %q", c.Crons, want)
			}
			wantRules := []ModuleRule{{Type: "Text", Globs: []string{"**/*.md"}, Fallthrough: true}, {Type: "Data", Globs: []string{"**/*.dat"}}}
			if !reflect.DeepEqual(c.Rules, wantRules) {
				t.Errorf("Rules = %+v, want %+v", c.Rules, wantRules)
			}
		})
	}
}

func TestLoadWebDefaults(t *testing.T) {
	file := project(t, "wrangler.jsonc", `{"main": "src/index.js", "compatibility_date": "2025-06-01",
  "assets": {"directory": "dist", "run_worker_first": true}, "build": {"command": "make"}}`)
	c, err := Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(file)
	if want := (&Assets{Directory: filepath.Join(dir, "dist"), RunWorkerFirst: true}); !reflect.DeepEqual(c.Assets, want) {
		t.Errorf("Assets = %+v, want %+v", c.Assets, want)
	}
	if want := (&Build{Command: "make", Cwd: dir, WatchDirs: []string{filepath.Join(dir, "src")}}); !reflect.DeepEqual(c.Build, want) {
		t.Errorf("Build = %+v, want %+v", c.Build, want)
	}
}

func TestLoadWebErrors(t *testing.T) {
	for _, tc := range []struct{ content, want string }{
		{`{"main": "src/index.js",
  "assets": {"directory": "p", "html_handling": "sometimes"}}`, `wrangler.jsonc:2: "assets.html_handling" must be one of`},
		{`{"main": "src/index.js",
  "assets": {"directory": "p",
    "not_found_handling": "spa"}}`, `wrangler.jsonc:3: "assets.not_found_handling" must be one of`},
		{`{"main": "src/index.js",
  "assets": {"directory": "p", "run_worker_first": "yes"}}`, `wrangler.jsonc:2: "assets.run_worker_first" must be a boolean or an array`},
		{`{"main": "src/index.js",
  "assets": {}}`, `wrangler.jsonc:2: "assets" needs a "directory"`},
		{`{"main": "src/index.js",
  "rules": [{"type": "Markdown", "globs": ["*.md"]}]}`, `wrangler.jsonc:2: rules[0].type "Markdown" is not a module type`},
		{`{"main": "src/index.js",
  "triggers": {"crons": [
    "* * * * * *"]}}`, `wrangler.jsonc:3: triggers.crons[0]: invalid cron expression "* * * * * *": want 5 fields`},
		{`{"main": "src/index.js",
  "triggers": {"crons": "* * * * *"}}`, `wrangler.jsonc:2: "triggers.crons" must be an array of strings`},
	} {
		file := project(t, "wrangler.jsonc", tc.content)
		_, err := Load(file, nil)
		if err == nil || !strings.HasPrefix(err.Error(), filepath.Join(filepath.Dir(file), tc.want)) {
			t.Errorf("error %v, want %s…", err, tc.want)
		}
	}
}

func TestLoadIgnoredKeysWarn(t *testing.T) {
	file := project(t, "wrangler.jsonc", `{
  "main": "src/index.js",
  "compatibility_date": "2025-06-01",
  "workers_dev": true,
  "env": {"staging": {}},
  "minify": true,
  "assets": {"directory": "p", "colour": 1},
  "limits": {"cpu_ms": 100, "subrequests": 50},
}`)
	var got []string
	if _, err := Load(file, func(m string) { got = append(got, strings.TrimPrefix(m, filepath.Dir(file)+"/")) }); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`wrangler.jsonc:4: "workers_dev" is a deployment setting; ignored`,
		`wrangler.jsonc:5: "env" (named environments) is not supported by cairn yet; ignored`,
		`wrangler.jsonc:6: "minify" is not supported by cairn (bundles are not minified); ignored`,
		`wrangler.jsonc:7: unknown key "assets.colour" ignored`,
		`wrangler.jsonc:8: "limits.subrequests" is not enforced by cairn; ignored`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
}

func TestLoadAssetsOnly(t *testing.T) {
	dir := t.TempDir()
	file := write(t, dir, "wrangler.jsonc", `{"name": "site", "compatibility_date": "2025-06-01", "assets": {"directory": "./dist"}}`)
	c, err := Load(file, func(m string) { t.Errorf("warning: %s", m) })
	if err != nil {
		t.Fatal(err)
	}
	if c.Main != "" || c.Assets == nil || c.Assets.Directory != filepath.Join(dir, "dist") || c.Name != "site" {
		t.Errorf("assets-only config = %+v", c)
	}
	for _, content := range []string{
		`{"assets": {"directory": "d", "binding": "ASSETS"}}`,
		`{"assets": {"directory": "d", "run_worker_first": true}}`,
		`{"assets": {"directory": "d"}, "kv_namespaces": []}`,
		`{"compatibility_date": "2025-06-01"}`,
	} {
		file := write(t, t.TempDir(), "wrangler.jsonc", content)
		if _, err := Load(file, nil); err == nil {
			t.Errorf("Load(%s) succeeded, want an error", content)
		}
	}
}
