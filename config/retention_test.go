package config

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"30d", 30 * 24 * time.Hour, ""},
		{"7d12h", 7*24*time.Hour + 12*time.Hour, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"0d", 0, "must be positive"},
		{"-5h", 0, "must be positive"},
		{"3650d", 3650 * 24 * time.Hour, ""},
		{"3651d", 0, "longer than 3650 days"},
		{"d", 0, "is not a duration"},
		{"30 days", 0, "is not a duration"},
		{"12", 0, "is not a duration"},
		{"1d1d", 0, "is not a duration"},
	} {
		got, err := ParseRetention(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRetention(%q) = %v, %v; want error %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRetention(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// history_retention on a D1 database, a KV namespace and a Durable Object
// binding (its class) is read into the config, in JSON and TOML.
func TestHistoryRetentionKeys(t *testing.T) {
	for name, tc := range map[string]struct{ file, content string }{
		"jsonc": {"wrangler.jsonc", `{"main": "src/index.js",
  "d1_databases": [{"binding": "DB", "database_id": "d", "history_retention": "7d"}],
  "kv_namespaces": [{"binding": "KV", "id": "k", "history_retention": "36h"}],
  "durable_objects": {"bindings": [{"name": "C", "class_name": "Counter", "history_retention": "90d"},
                                   {"name": "C2", "class_name": "Counter"}]},
  "migrations": [{"tag": "v1", "new_sqlite_classes": ["Counter"]}]}`},
		"toml": {"wrangler.toml", `main = "src/index.js"
[[d1_databases]]
binding = "DB"
database_id = "d"
history_retention = "7d"
[[kv_namespaces]]
binding = "KV"
id = "k"
history_retention = "36h"
[[durable_objects.bindings]]
name = "C"
class_name = "Counter"
history_retention = "90d"
[[durable_objects.bindings]]
name = "C2"
class_name = "Counter"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["Counter"]
`},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := Load(project(t, tc.file, tc.content), nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.D1Databases[0].HistoryRetention; got != 7*24*time.Hour {
				t.Errorf("d1 retention %v", got)
			}
			if got := c.KVNamespaces[0].HistoryRetention; got != 36*time.Hour {
				t.Errorf("kv retention %v", got)
			}
			if got := c.DurableObjects[0].HistoryRetention; got != 90*24*time.Hour {
				t.Errorf("durable object retention %v", got)
			}
			if got := c.DurableObjects[1].HistoryRetention; got != 0 {
				t.Errorf("binding without the key: retention %v", got)
			}
		})
	}
}

// A bad history_retention is a config error with file:line, as every bad
// value is.
func TestHistoryRetentionErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, content, want string }{
		{"not a duration", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"d1_databases\": [{\"binding\": \"DB\",\n\"history_retention\": \"a month\"}]}",
			`wrangler.jsonc:3: d1_databases[0].history_retention: "a month" is not a duration`},
		{"number", "wrangler.toml", "main = \"src/index.js\"\n[[kv_namespaces]]\nbinding = \"KV\"\nhistory_retention = 30\n",
			`wrangler.toml:4: "kv_namespaces[0].history_retention" must be a string, got number`},
		{"zero", "wrangler.toml", "main = \"src/index.js\"\n[[kv_namespaces]]\nbinding = \"KV\"\nhistory_retention = \"0h\"\n",
			`wrangler.toml:4: kv_namespaces[0].history_retention: "0h" must be positive`},
		{"empty", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"kv_namespaces\": [{\"binding\": \"KV\",\n\"history_retention\": \"\"}]}",
			`wrangler.jsonc:3: "kv_namespaces[0].history_retention" must not be empty`},
		{"other worker's class", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"durable_objects\": {\"bindings\": [{\"name\": \"C\", \"class_name\": \"C\", \"script_name\": \"other\",\n\"history_retention\": \"1d\"}]}}",
			`wrangler.jsonc:3: durable_objects.bindings[0].history_retention: the objects of class C live in Worker other`},
		{"two retentions for a class", "wrangler.jsonc", "{\"main\": \"src/index.js\",\n\"durable_objects\": {\"bindings\": [{\"name\": \"A\", \"class_name\": \"C\", \"history_retention\": \"1d\"},\n{\"name\": \"B\", \"class_name\": \"C\",\n\"history_retention\": \"2d\"}]},\n\"migrations\": [{\"tag\": \"v1\", \"new_sqlite_classes\": [\"C\"]}]}",
			`wrangler.jsonc:4: durable_objects.bindings[1].history_retention: binding A already gives class C a history_retention of 24h0m0s`},
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
			if !errors.As(err, &e) {
				t.Errorf("error %#v is not an *Error", err)
			}
		})
	}
}
