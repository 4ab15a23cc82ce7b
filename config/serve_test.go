package config

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serveDir returns a temp dir with two Worker projects, a/ and b/, and
// cert.pem/key.pem files (contents not checked by LoadServe).
func serveDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	write(t, dir, "a/wrangler.jsonc", `{"name": "a", "main": "index.js"}`)
	write(t, dir, "a/index.js", "export default {}")
	write(t, dir, "b/wrangler.toml", "name = \"b\"\nmain = \"index.js\"\n")
	write(t, dir, "b/index.js", "export default {}")
	write(t, dir, "cert.pem", "x")
	write(t, dir, "key.pem", "x")
	return dir
}

func TestLoadServe(t *testing.T) {
	dir := serveDir(t)
	file := write(t, dir, "cairn.toml", `
data_dir = "data"
shutdown_timeout = "5s"
log_format = "json"

[http]
listen = "0.0.0.0:8080"

[https]
listen = ":8443"
cert_file = "cert.pem"
key_file = "key.pem"

[admin]
listen = "127.0.0.1:9090"
token = "secret"

[[workers]]
config = "a"
routes = ["a.example.com/*", { pattern = "*.example.com/api/*", zone_name = "example.com" }, { pattern = "shop.example.com", custom_domain = true }]
vars = { GREETING = "hi" }

[[workers]]
config = "b/wrangler.toml"
`)
	got, err := LoadServe(file)
	if err != nil {
		t.Fatal(err)
	}
	want := &Serve{
		File: file, Dir: dir,
		DataDir: filepath.Join(dir, "data"), ShutdownTimeout: 5 * time.Second, LogFormat: "json",
		HTTP: "0.0.0.0:8080", HTTPS: ":8443", CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
		Admin: "127.0.0.1:9090", AdminToken: "secret",
		Workers: []ServeWorker{
			{Config: filepath.Join(dir, "a"), HasRoutes: true, Vars: map[string]string{"GREETING": "hi"}, Line: 18, Routes: []Route{
				{Pattern: "a.example.com/*", File: file, Line: 20},
				{Pattern: "*.example.com/api/*", ZoneName: "example.com", File: file, Line: 20},
				{Pattern: "shop.example.com", CustomDomain: true, File: file, Line: 20},
			}},
			{Config: filepath.Join(dir, "b/wrangler.toml"), Line: 23},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadServe:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadServeDefaults(t *testing.T) {
	dir := serveDir(t)
	file := write(t, dir, "cairn.toml", "data_dir = \"/var/lib/cairn\"\n[[workers]]\nconfig = \"a\"\n")
	got, err := LoadServe(file)
	if err != nil {
		t.Fatal(err)
	}
	if got.DataDir != "/var/lib/cairn" || got.HTTP != DefaultHTTPAddr || got.ShutdownTimeout != DefaultShutdownTimeout ||
		got.LogFormat != "text" || got.Admin != "" || got.HTTPS != "" || got.Workers[0].HasRoutes {
		t.Errorf("defaults: %+v", got)
	}
}

// Every mistake in a cairn.toml is reported at its file and line.
func TestLoadServeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      string
	}{
		{"syntax", "log_format = \"text\"\ndata_dir = \n", 2, "syntax error"},
		{"data dir type", "data_dir = 3\n", 1, `"data_dir" must be a string`},
		{"unknown top key", "data_dir = \"d\"\nshutdown_timout = \"1s\"\n", 2, `unknown key "shutdown_timout"`},
		{"unknown http key", "data_dir = \"d\"\n[http]\nlisten = \":1\"\nport = 3\n", 4, `unknown key "port" in http`},
		{"bad timeout", "data_dir = \"d\"\nshutdown_timeout = \"soon\"\n", 2, "positive duration"},
		{"negative timeout", "data_dir = \"d\"\nshutdown_timeout = \"-1s\"\n", 2, "positive duration"},
		{"log format", "data_dir = \"d\"\nlog_format = \"xml\"\n", 2, `"log_format" must be one of text, json`},
		{"listen no port", "data_dir = \"d\"\n[http]\nlisten = \"localhost\"\n", 3, "want host:port"},
		{"listen bad port", "data_dir = \"d\"\n[admin]\nlisten = \"localhost:http\"\n", 3, "port must be a number"},
		{"https without listen", "data_dir = \"d\"\n[https]\ncert_file = \"cert.pem\"\n", 2, `[https] needs "listen"`},
		{"https without key", "data_dir = \"d\"\n[https]\nlisten = \":443\"\ncert_file = \"cert.pem\"\n", 2, `https is missing "key_file"`},
		{"https missing cert", "data_dir = \"d\"\n[https]\nlisten = \":443\"\ncert_file = \"nope.pem\"\nkey_file = \"key.pem\"\n", 4, "https.cert_file"},
		{"no workers", "data_dir = \"d\"\n", 0, "no [[workers]]"},
		{"workers not tables", "data_dir = \"d\"\nworkers = [\"a\"]\n", 2, "workers[0] must be a table"},
		{"worker without config", "data_dir = \"d\"\n[[workers]]\nroutes = []\n", 2, `workers[0] is missing "config"`},
		{"worker config missing", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\n[[workers]]\nconfig = \"zzz\"\n", 5, "workers[1].config"},
		{"worker unknown key", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroute = \"x/*\"\n", 4, `unknown key "route" in workers[0]`},
		{"routes not array", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = \"a.com/*\"\n", 4, "must be an array of route patterns"},
		{"route infix wildcard", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [\n  \"a.com/*\",\n  \"a.com/*.jpg\",\n]\n", 6, "only end the path"},
		{"route wildcard in host", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [\"a.*.com/*\"]\n", 4, "only start the hostname"},
		{"route query", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [\"a.com/?x=*\"]\n", 4, "query string"},
		{"route scheme", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [\"ftp://a.com/*\"]\n", 4, "http or https"},
		{"route no host", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [\"/api/*\"]\n", 4, "no hostname"},
		{"route object no pattern", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [{ zone_name = \"a.com\" }]\n", 4, `is missing "pattern"`},
		{"route object unknown key", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [{ pattern = \"a.com/*\", zone = \"a.com\" }]\n", 4, `unknown key "zone"`},
		{"custom domain with path", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [{ pattern = \"a.com/x\", custom_domain = true }]\n", 4, "hostname alone"},
		{"custom domain not bool", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nroutes = [{ pattern = \"a.com\", custom_domain = \"yes\" }]\n", 4, "custom_domain must be a boolean"},
		{"vars not strings", "data_dir = \"d\"\n[[workers]]\nconfig = \"a\"\nvars = { N = 3 }\n", 4, "workers[0].vars.N must be a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := serveDir(t)
			file := write(t, dir, "cairn.toml", tt.src)
			_, err := LoadServe(file)
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *config.Error", err)
			}
			if ce.File != file || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.want) {
				t.Errorf("err = %q (line %d), want line %d and %q", err, ce.Line, tt.line, tt.want)
			}
		})
	}
}

func TestLoadServeNotTOML(t *testing.T) {
	dir := serveDir(t)
	file := write(t, dir, "cairn.json", "{}")
	if _, err := LoadServe(file); err == nil || !strings.Contains(err.Error(), "TOML") {
		t.Errorf("err = %v, want one asking for TOML", err)
	}
}

// The routes of a wrangler config, in both formats and both keys.
func TestLoadRoutes(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            []Route
		err             string
		line            int
	}{
		{name: "jsonc routes", file: "wrangler.jsonc", src: "{\n  \"name\": \"a\",\n  \"routes\": [\n    \"a.com/*\",\n    {\"pattern\": \"b.com\", \"custom_domain\": true},\n    {\"pattern\": \"*.c.com/x*\", \"zone_id\": \"z1\"},\n  ],\n}",
			want: []Route{{Pattern: "a.com/*", Line: 4}, {Pattern: "b.com", CustomDomain: true, Line: 5}, {Pattern: "*.c.com/x*", ZoneID: "z1", Line: 6}}},
		{name: "jsonc route", file: "wrangler.jsonc", src: "{\n  \"route\": \"a.com/*\"\n}", want: []Route{{Pattern: "a.com/*", Line: 2}}},
		{name: "toml routes", file: "wrangler.toml", src: "name = \"a\"\nroutes = [\n  { pattern = \"a.com/*\", zone_name = \"a.com\" },\n]\n",
			want: []Route{{Pattern: "a.com/*", ZoneName: "a.com", Line: 3}}},
		{name: "none", file: "wrangler.jsonc", src: `{"name": "a"}`, want: nil},
		{name: "both", file: "wrangler.jsonc", src: "{\n\"route\": \"a.com/*\",\n\"routes\": []\n}", err: "not both", line: 2},
		{name: "bad", file: "wrangler.jsonc", src: "{\n\"routes\": [\n\"a.com/*/x\"\n]\n}", err: "only end the path", line: 3},
		{name: "route not string", file: "wrangler.jsonc", src: "{\n\"route\": 3\n}", err: `"route" must be a string`, line: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := write(t, t.TempDir(), tt.file, tt.src)
			got, err := LoadRoutes(file)
			if tt.err != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Line != tt.line || !strings.Contains(ce.Msg, tt.err) {
					t.Fatalf("err = %v, want line %d and %q", err, tt.line, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.want {
				tt.want[i].File = file
			}
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("LoadRoutes:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
