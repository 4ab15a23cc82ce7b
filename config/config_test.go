package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// write creates dir/name with content, creating parent directories.
func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// project returns a temp dir holding src/index.js and the config file.
func project(t *testing.T, name, content string) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "src/index.js", "export default {}")
	return write(t, dir, name, content)
}

const fullJSONC = `// A Worker with every kind of binding.
{
  "$schema": "node_modules/wrangler/config-schema.json",
  "name": "counter",
  "main": "src/index.js", // the entry module
  "compatibility_date": "2024-04-03",
  "compatibility_flags": ["nodejs_compat",],
  /* plain bindings */
  "vars": {"GREETING": "hi", "LIMIT": 10, "DEBUG": true, "LIST": [1, "a"], "OBJ": {"k": "v"},},
  "durable_objects": {
    "bindings": [
      {"name": "COUNTER", "class_name": "Counter"},
      {"name": "CHAT", "class_name": "Chat",},
    ],
  },
  "migrations": [
    {"tag": "v1", "new_classes": ["Room"]},
    {"tag": "v2", "new_sqlite_classes": ["Counter"], "renamed_classes": [{"from": "Room", "to": "Chat"}]},
  ],
  "d1_databases": [{"binding": "DB", "database_name": "db", "database_id": "abc"}],
  "kv_namespaces": [{"binding": "KV", "id": "k1", "preview_id": "k2"}],
  "r2_buckets": [{"binding": "FILES", "bucket_name": "files"}, {"binding": "TMP"}],
  "services": [{"binding": "AUTH", "service": "counter", "entrypoint": "Auth"}],
}
`

const fullJSON = `{
  "name": "counter",
  "main": "src/index.js",
  "compatibility_date": "2024-04-03",
  "compatibility_flags": ["nodejs_compat"],
  "vars": {"GREETING": "hi", "LIMIT": 10, "DEBUG": true, "LIST": [1, "a"], "OBJ": {"k": "v"}},
  "durable_objects": {"bindings": [
    {"name": "COUNTER", "class_name": "Counter"},
    {"name": "CHAT", "class_name": "Chat"}
  ]},
  "migrations": [
    {"tag": "v1", "new_classes": ["Room"]},
    {"tag": "v2", "new_sqlite_classes": ["Counter"], "renamed_classes": [{"from": "Room", "to": "Chat"}]}
  ],
  "d1_databases": [{"binding": "DB", "database_name": "db", "database_id": "abc"}],
  "kv_namespaces": [{"binding": "KV", "id": "k1", "preview_id": "k2"}],
  "r2_buckets": [{"binding": "FILES", "bucket_name": "files"}, {"binding": "TMP"}],
  "services": [{"binding": "AUTH", "service": "counter", "entrypoint": "Auth"}]
}
`

const fullTOML = `# A Worker with every kind of binding.
name = "counter"
main = "src/index.js"
compatibility_date = 2024-04-03 # an unquoted TOML date works too
compatibility_flags = ["nodejs_compat"]

[vars]
GREETING = "hi"
LIMIT = 10
DEBUG = true
LIST = [1, "a"]
OBJ = { k = "v" }

[[durable_objects.bindings]]
name = "COUNTER"
class_name = "Counter"

[[durable_objects.bindings]]
name = "CHAT"
class_name = "Chat"

[[migrations]]
tag = "v1"
new_classes = ["Room"]

[[migrations]]
tag = "v2"
new_sqlite_classes = ["Counter"]
renamed_classes = [{ from = "Room", to = "Chat" }]

[[d1_databases]]
binding = "DB"
database_name = "db"
database_id = "abc"

[[kv_namespaces]]
binding = "KV"
id = "k1"
preview_id = "k2"

[[r2_buckets]]
binding = "FILES"
bucket_name = "files"

[[r2_buckets]]
binding = "TMP"

[[services]]
binding = "AUTH"
service = "counter"
entrypoint = "Auth"
`

func TestLoadFormatsAgree(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"wrangler.jsonc", fullJSONC},
		{"wrangler.json", fullJSON},
		{"wrangler.json", fullJSONC}, // .json accepts comments and trailing commas too
		{"wrangler.toml", fullTOML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := project(t, tc.name, tc.content)
			var warnings []string
			c, err := Load(file, func(msg string) { warnings = append(warnings, msg) })
			if err != nil {
				t.Fatal(err)
			}
			if len(warnings) > 0 {
				t.Errorf("unexpected warnings: %q", warnings)
			}
			dir := filepath.Dir(file)
			want := &Config{
				File:               file,
				Dir:                dir,
				Name:               "counter",
				Main:               filepath.Join(dir, "src/index.js"),
				CompatibilityDate:  "2024-04-03",
				CompatibilityFlags: []string{"nodejs_compat"},
				Vars: map[string]any{
					"GREETING": "hi", "LIMIT": 10.0, "DEBUG": true,
					"LIST": []any{1.0, "a"}, "OBJ": map[string]any{"k": "v"},
				},
				DurableObjects: []DurableObjectBinding{
					{Name: "COUNTER", ClassName: "Counter"},
					{Name: "CHAT", ClassName: "Chat"},
				},
				Migrations: []Migration{
					{Tag: "v1", NewClasses: []string{"Room"}},
					{Tag: "v2", NewSQLiteClasses: []string{"Counter"}, RenamedClasses: []RenamedClass{{From: "Room", To: "Chat"}}},
				},
				D1Databases:  []D1Database{{Binding: "DB", DatabaseName: "db", DatabaseID: "abc", MigrationsDir: filepath.Join(dir, "migrations")}},
				KVNamespaces: []KVNamespace{{Binding: "KV", ID: "k1", PreviewID: "k2"}},
				R2Buckets:    []R2Bucket{{Binding: "FILES", BucketName: "files"}, {Binding: "TMP"}},
				Services:     []ServiceBinding{{Binding: "AUTH", Service: "counter", Entrypoint: "Auth"}},
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("Load:\n got %+v\nwant %+v", c, want)
			}
			if !c.HasFlag("nodejs_compat") || c.HasFlag("nope") {
				t.Error("HasFlag wrong")
			}
			if got := c.CompatDate(); !got.Equal(time.Date(2024, 4, 3, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("CompatDate = %v", got)
			}
			if !c.SQLiteClass("Counter") || c.SQLiteClass("Chat") || c.SQLiteClass("Room") {
				t.Error("SQLiteClass wrong")
			}
		})
	}
}

func TestLoadDefaults(t *testing.T) {
	file := project(t, "wrangler.jsonc", `{"main": "./src/index.js", "durable_objects": {"bindings": [{"name": "X", "class_name": "X"}]}}`)
	var warnings []string
	c, err := Load(file, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Base(filepath.Dir(file)); c.Name != want {
		t.Errorf("Name = %q, want %q", c.Name, want)
	}
	if today := time.Now().UTC().Format(time.DateOnly); c.CompatibilityDate != today {
		t.Errorf("CompatibilityDate = %q, want %q", c.CompatibilityDate, today)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "no compatibility_date") {
		t.Errorf("warnings = %q, want one about compatibility_date", warnings)
	}
	if !c.SQLiteClass("X") {
		t.Error("without migrations every class should be SQLite-backed")
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content string
		want                string // expected suffix of the file name onwards
	}{
		{"main type", "wrangler.jsonc", "{\n  \"name\": \"x\",\n  \"main\": 42\n}",
			`wrangler.jsonc:3: "main" must be a string, got number`},
		{"main missing", "wrangler.jsonc", `{"name": "x"}`,
			`wrangler.jsonc: "main" is required: set it to your Worker's entry module, e.g. "src/index.ts"`},
		{"main not found", "wrangler.toml", "name = \"x\"\n\nmain = \"src/nope.ts\"\n",
			`wrangler.toml:3: main module "src/nope.ts" does not exist`},
		{"bad date", "wrangler.toml", "main = \"src/index.js\"\n\ncompatibility_date = \"2024-13-01\"\n",
			`wrangler.toml:3: compatibility_date "2024-13-01" is not a valid date (want YYYY-MM-DD)`},
		{"jsonc syntax", "wrangler.jsonc", "{\n  // comment\n  \"main\": \"src/index.js\",\n\n  \"name\" \"x\"\n}",
			`wrangler.jsonc:5: syntax error: `},
		{"toml syntax", "wrangler.toml", "main = \"src/index.js\"\nname = \n",
			`wrangler.toml:2: syntax error: `},
		{"duplicate json key", "wrangler.json", "{\n\"main\": \"src/index.js\",\n\"main\": \"src/index.js\"}",
			`wrangler.json:3: duplicate key "main"`},
		{"top level not object", "wrangler.json", `[1]`,
			`wrangler.json:1: config must be an object, got array`},
		{"class_name missing", "wrangler.jsonc", `{
  "main": "src/index.js",
  "durable_objects": {
    "bindings": [
      {"name": "A", "class_name": "A"},
      {
        "name": "B"
      }
    ]
  }
}`, `wrangler.jsonc:6: durable_objects.bindings[1] is missing "class_name"`},
		{"class_name missing toml header", "wrangler.toml", "main = \"src/index.js\"\n[[durable_objects.bindings]]\nname = \"A\"\nclass_name = \"A\"\n\n[[durable_objects.bindings]]\nname = \"B\"\n",
			`wrangler.toml:6: durable_objects.bindings[1] is missing "class_name"`},
		{"class_name missing toml array", "wrangler.toml", "main = \"src/index.js\"\n[durable_objects]\nbindings = [\n  { name = \"A\", class_name = \"A\" },\n  { name = \"B\" },\n]\n",
			`wrangler.toml:5: durable_objects.bindings[1] is missing "class_name"`},
		{"class_name type", "wrangler.toml", "main = \"src/index.js\"\n[[durable_objects.bindings]]\nname = \"A\"\nclass_name = 1\n",
			`wrangler.toml:4: "durable_objects.bindings[0].class_name" must be a string, got number`},
		{"bindings not array", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"durable_objects\": {\"bindings\": {}}}",
			`wrangler.jsonc:2: "durable_objects.bindings" must be an array of objects, got object`},
		{"vars not object", "wrangler.toml", "main = \"src/index.js\"\nvars = \"x\"\n",
			`wrangler.toml:2: "vars" must be an object, got string`},
		{"flags not strings", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"compatibility_flags\": [\n\"a\",\n3]}",
			`wrangler.jsonc:4: compatibility_flags[1] must be a string, got number`},
		{"service without service", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"services\": [\n{\"binding\": \"S\"}]}",
			`wrangler.jsonc:3: services[0] is missing "service"`},
		{"binding not identifier", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"kv_namespaces\": [\n{\"binding\": \"my-kv\"}]}",
			`wrangler.jsonc:3: binding name "my-kv" is not a valid JavaScript identifier`},
		{"r2 without binding", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"r2_buckets\": [\n{\"bucket_name\": \"b\"}]}",
			`wrangler.jsonc:3: r2_buckets[0] is missing "binding"`},
		{"r2 binding duplicate", "wrangler.toml", "main = \"src/index.js\"\n[[kv_namespaces]]\nbinding = \"B\"\n[[r2_buckets]]\nbinding = \"B\"\n",
			`wrangler.toml:5: binding name "B" is already used by kv_namespaces[0].binding`},
		{"binding duplicate", "wrangler.toml", "main = \"src/index.js\"\n[vars]\nDB = \"x\"\n[[d1_databases]]\nbinding = \"DB\"\n",
			`wrangler.toml:5: binding name "DB" is already used by vars.DB`},
		{"tag duplicate", "wrangler.toml", "main = \"src/index.js\"\n[[migrations]]\ntag = \"v1\"\n[[migrations]]\ntag = \"v1\"\n",
			`wrangler.toml:5: migration tag "v1" is already used by migrations[0]`},
		{"tag missing", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"migrations\": [\n{\"new_classes\": [\"A\"]}]}",
			`wrangler.jsonc:3: migrations[0] is missing "tag"`},
		{"rename missing to", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"migrations\": [{\"tag\": \"v1\",\n\"renamed_classes\": [\n{\"from\": \"A\"}]}]}",
			`wrangler.jsonc:4: migrations[0].renamed_classes[0] is missing "to"`},
		{"rename unknown class", "wrangler.toml", "main = \"src/index.js\"\n[[migrations]]\ntag = \"v1\"\nrenamed_classes = [{ from = \"A\", to = \"B\" }]\n",
			`wrangler.toml:4: migrations[0].renamed_classes[0]: renamed class "A" does not exist`},
		{"delete unknown class", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"migrations\": [{\"tag\": \"v1\",\n\"deleted_classes\": [\"A\"]}]}",
			`wrangler.jsonc:3: migrations[0].deleted_classes[0]: deleted class "A" does not exist`},
		{"class exists", "wrangler.toml", "main = \"src/index.js\"\nmigrations = [\n  { tag = \"v1\", new_classes = [\"A\"] },\n  { tag = \"v2\", new_sqlite_classes = [\"A\"] },\n]\n",
			`wrangler.toml:4: migrations[1].new_sqlite_classes[0]: class "A" already exists`},
		{"class undeclared", "wrangler.jsonc", `{"main": "src/index.js",
"durable_objects": {"bindings": [{"name": "A",
  "class_name": "Counter"}]},
"migrations": [{"tag": "v1", "new_sqlite_classes": ["Other"]}]}`,
			`wrangler.jsonc:3: class "Counter" is not declared by any migration`},
		{"class deleted", "wrangler.toml", "main = \"src/index.js\"\n[[durable_objects.bindings]]\nname = \"A\"\nclass_name = \"A\"\n[[migrations]]\ntag = \"v1\"\nnew_classes = [\"A\"]\n[[migrations]]\ntag = \"v2\"\ndeleted_classes = [\"A\"]\n",
			`wrangler.toml:4: class "A" is not declared by any migration`},
		{"unsupported format", "wrangler.yaml", "main: x",
			`wrangler.yaml: unsupported config format ".yaml"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := project(t, tc.file, tc.content)
			_, err := Load(file, nil)
			if err == nil {
				t.Fatalf("Load succeeded, want error %q", tc.want)
			}
			if want := filepath.Join(filepath.Dir(file), tc.want); !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error:\n got %s\nwant %s...", err, want)
			}
			var e *Error
			if !errors.As(err, &e) || e.File != file {
				t.Errorf("error %#v is not an *Error for %s", err, file)
			}
		})
	}
}

func TestLoadUnknownKeys(t *testing.T) {
	for _, tc := range []struct {
		file, content string
		want          []string // file:line: unknown key ... without the directory
	}{
		{"wrangler.jsonc", `{
  "main": "src/index.js",
  "compatibility_date": "2024-04-03",
  "colour": "blue",
  "routes": ["example.com/*"], // known to wrangler; warned about as deployment-only
  "durable_objects": {
    "bindings": [{"name": "A", "class_name": "A",
      "clas": "A"}],
    "extra": 1
  }
}`, []string{
			`wrangler.jsonc:4: unknown key "colour" ignored`,
			`wrangler.jsonc:5: "routes" is read by cairn serve, not cairn dev; ignored`,
			`wrangler.jsonc:8: unknown key "durable_objects.bindings[0].clas" ignored`,
			`wrangler.jsonc:9: unknown key "durable_objects.extra" ignored`,
		}},
		{"wrangler.toml", `main = "src/index.js"
compatibility_date = "2024-04-03"
colour = "blue"
account_id = "x"

[durable_objects]
extra = 1
bindings = [
  { name = "A", class_name = "A", clas = "A" },
]

[[migrations]]
tag = "v1"
new_classes = ["A"]
transferred_classes = []
`, []string{
			`wrangler.toml:3: unknown key "colour" ignored`,
			`wrangler.toml:4: "account_id" is a deployment setting; ignored`,
			`wrangler.toml:7: unknown key "durable_objects.extra" ignored`,
			`wrangler.toml:9: unknown key "durable_objects.bindings[0].clas" ignored`,
			`wrangler.toml:15: unknown key "migrations[0].transferred_classes" ignored`,
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			file := project(t, tc.file, tc.content)
			var got []string
			if _, err := Load(file, func(msg string) { got = append(got, msg) }); err != nil {
				t.Fatal(err)
			}
			want := make([]string, len(tc.want))
			for i, w := range tc.want {
				want[i] = filepath.Join(filepath.Dir(file), w)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("warnings:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestFind(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  string // "" for the no-config error
	}{
		{[]string{"wrangler.toml", "wrangler.json", "wrangler.jsonc"}, "wrangler.jsonc"},
		{[]string{"wrangler.toml", "wrangler.json"}, "wrangler.json"},
		{[]string{"wrangler.toml"}, "wrangler.toml"},
		{[]string{"package.json"}, ""},
	} {
		dir := t.TempDir()
		for _, f := range tc.files {
			write(t, dir, f, "")
		}
		got, err := Find(dir)
		if tc.want == "" {
			want := "no wrangler.jsonc, wrangler.json or wrangler.toml in " + dir
			if err == nil || err.Error() != want {
				t.Errorf("Find(%v) = %q, %v; want error %q", tc.files, got, err, want)
			}
			continue
		}
		if want := filepath.Join(dir, tc.want); err != nil || got != want {
			t.Errorf("Find(%v) = %q, %v; want %q", tc.files, got, err, want)
		}
	}

	// A file is returned as is, whatever its name.
	file := write(t, t.TempDir(), "custom.toml", "")
	if got, err := Find(file); err != nil || got != file {
		t.Errorf("Find(%q) = %q, %v", file, got, err)
	}
	if _, err := Find(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Find of a missing path succeeded")
	}
}

func TestLimitsCPU(t *testing.T) {
	tests := []struct {
		name, limits string
		want         time.Duration
		wantErr      string
		wantMemory   int64
	}{
		{"unset", `{}`, 0, "", 0},
		{"set", `{"cpu_ms": 250}`, 250 * time.Millisecond, "", 0},
		{"negative", `{"cpu_ms": -1}`, 0, "wrangler.jsonc:6: limits.cpu_ms must be a positive", 0},
		{"string", `{"cpu_ms": "5"}`, 0, "wrangler.jsonc:6: limits.cpu_ms must be a positive", 0},
		{"memory", `{"memory_mb": 64}`, 0, "", 64 << 20},
		{"memory fraction", `{"memory_mb": 1.5}`, 0, "wrangler.jsonc:6: limits.memory_mb must be a positive whole number", 0},
		{"memory zero", `{"memory_mb": 0}`, 0, "wrangler.jsonc:6: limits.memory_mb must be a positive whole number", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("export default {}"), 0o644); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "wrangler.jsonc")
			src := "{\n  \"main\": \"index.js\",\n  \"compatibility_date\": \"2025-01-01\",\n  \"limits\":\n " + strings.ReplaceAll(tt.limits, "{", "{\n  ") + "\n}"
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(file, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr[len("wrangler.jsonc"):]) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.CPULimit != tt.want {
				t.Errorf("CPULimit = %v, want %v", c.CPULimit, tt.want)
			}
			if c.MemoryLimit != tt.wantMemory {
				t.Errorf("MemoryLimit = %d, want %d", c.MemoryLimit, tt.wantMemory)
			}
		})
	}
}

// Names that become paths under the state directory stay one element
// inside it (issue 17: a Worker name of "../../x" wrote outside
// --persist-to).
func TestLoadNames(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string // want: "" for valid, else the error after the file name
	}{
		{"plain", `{"name": "my-worker_2.v1", "main": "src/index.js"}`, ""},
		{"traversal", "{\"main\": \"src/index.js\",\n\"name\": \"../../x\"}", `:2: Worker name "../../x" is not valid`},
		{"slash", `{"main": "src/index.js", "name": "a/b"}`, `:1: Worker name "a/b" is not valid`},
		{"dot", `{"main": "src/index.js", "name": ".."}`, `:1: Worker name ".." is not valid`},
		{"hidden", `{"main": "src/index.js", "name": ".cairn"}`, `:1: Worker name ".cairn" is not valid`},
		{"space", `{"main": "src/index.js", "name": "my worker"}`, `:1: Worker name "my worker" is not valid`},
		{"too long", `{"main": "src/index.js", "name": "` + strings.Repeat("w", 129) + `"}`, `is not valid`},
		{"d1 id", "{\"main\": \"src/index.js\",\n\"d1_databases\": [\n{\"binding\": \"DB\", \"database_id\": \"../db\"}]}", `:3: database_id "../db" is not valid`},
		{"d1 name as id", "{\"main\": \"src/index.js\",\n\"d1_databases\": [{\"binding\": \"DB\",\n\"database_name\": \"a\\\\b\"}]}", `:3: database_name "a\\b" is not valid`},
		{"d1 name with id", `{"main": "src/index.js", "d1_databases": [{"binding": "DB", "database_name": "my db", "database_id": "x1"}]}`, ""},
		{"kv id", "{\"main\": \"src/index.js\",\n\"kv_namespaces\": [{\"binding\": \"KV\",\n\"id\": \"../../kv\"}]}", `:3: KV namespace id "../../kv" is not valid`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := project(t, "wrangler.jsonc", tc.content)
			_, err := Load(file, nil)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %#v is not an *Error", err)
			}
		})
	}
	// A name taken from an unusable directory name asks for "name".
	dir := filepath.Join(t.TempDir(), "my project")
	file := write(t, dir, "wrangler.jsonc", `{"main": "src/index.js"}`)
	write(t, dir, "src/index.js", "")
	if _, err := Load(file, nil); err == nil || !strings.Contains(err.Error(), `set "name"`) {
		t.Errorf("name from directory %q: %v", dir, err)
	}
}

// Bindings of kinds cairn does not serve are listed with their line and
// warned about, generically (a kind served later leaves the list).
func TestLoadUnsupportedBindings(t *testing.T) {
	file := project(t, "wrangler.jsonc", `{
  "main": "src/index.js",
  "compatibility_date": "2026-01-01",
  "vectorize": [
    {"binding": "BUCKET", "index_name": "b"}
  ],
  "queues": {
    "producers": [{"binding": "Q", "queue": "q"}],
    "consumers": [{"queue": "q"}]
  },
  "ai": {"binding": "AI"},
  "send_email": [{"name": "MAIL"}]
}`)
	var warnings []string
	c, err := Load(file, func(msg string) { warnings = append(warnings, msg) })
	if err != nil {
		t.Fatal(err)
	}
	want := []UnsupportedBinding{
		{Kind: "vectorize", Name: "BUCKET", Line: 5},
		{Kind: "queues.producers", Name: "Q", Line: 8},
		{Kind: "ai", Name: "AI", Line: 11},
		{Kind: "send_email", Name: "MAIL", Line: 12},
	}
	if !reflect.DeepEqual(c.Unsupported, want) {
		t.Errorf("Unsupported = %+v, want %+v", c.Unsupported, want)
	}
	for _, w := range []string{
		`wrangler.jsonc:5: vectorize binding "BUCKET" is not supported by cairn yet: env.BUCKET throws when used`,
		`wrangler.jsonc:8: queues.producers binding "Q"`,
		`wrangler.jsonc:11: ai binding "AI"`,
		`wrangler.jsonc:9: "queues.consumers" is not supported by cairn yet; ignored`,
	} {
		found := false
		for _, got := range warnings {
			found = found || strings.Contains(got, w)
		}
		if !found {
			t.Errorf("no warning %q in %q", w, warnings)
		}
	}
}
