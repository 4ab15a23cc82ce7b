package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/versions"
)

// deployProject writes a Worker project answering label.
func deployProject(t *testing.T, label string) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"wrangler.jsonc": `{"name": "w", "main": "index.js", "compatibility_date": "2026-01-01"}`,
		"index.js":       `export default { fetch() { return new Response("` + label + `") } }`,
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// uploadBody is a version upload of project as cairn deploy sends it.
func uploadBody(t *testing.T, project string) (io.Reader, string) {
	t.Helper()
	file, err := config.Find(project)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := BundleProject(cfg)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(cfg)
	meta, _ := json.Marshal(map[string]any{"main_module": VersionScript, "cairn": map[string]any{"config": json.RawMessage(raw)}})
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormField("metadata")
	w.Write(meta)
	w, _ = mw.CreateFormFile(VersionScript, VersionScript)
	io.WriteString(w, res.Code)
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func body(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	return rec.Body.String()
}

// A server started on a state directory serves the version deployed last
// (LoadActive), not the one it was started from.
func TestLoadActiveAfterRestart(t *testing.T) {
	state := t.TempDir()
	opts := Options{Config: deployProject(t, "files"), PersistTo: state, Locks: &StateLocks{}}
	if _, err := LoadActive(opts, "w"); !errors.Is(err, versions.ErrNoDeployment) {
		t.Fatalf("LoadActive before any deploy = %v, want ErrNoDeployment", err)
	}
	app, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{}
	srv.Swap(app)
	if err := srv.EnableDeploys(opts); err != nil {
		t.Fatal(err)
	}
	api := srv.AdminAPI("tok")
	b, ct := uploadBody(t, deployProject(t, "deployed"))
	req := httptest.NewRequest("PUT", "/client/v4/accounts/a/workers/scripts/w", b)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer tok")
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("deploy: %d %s", rec.Code, rec.Body)
	}
	var env struct {
		Result struct {
			VersionID string `json:"version_id"`
		}
	}
	json.Unmarshal(rec.Body.Bytes(), &env)
	if got := body(t, srv); got != "deployed" {
		t.Fatalf("after deploy the server answers %q", got)
	}
	srv.Swap(nil)
	opts.Locks.Close()

	opts.Locks = &StateLocks{}
	defer opts.Locks.Close()
	restarted, err := LoadActive(opts, "w")
	if err != nil {
		t.Fatal(err)
	}
	srv = &Server{}
	srv.Swap(restarted)
	defer srv.Swap(nil)
	if got := body(t, srv); got != "deployed" || restarted.Version != env.Result.VersionID {
		t.Fatalf("restarted server answers %q from version %q; want \"deployed\" from %s", got, restarted.Version, env.Result.VersionID)
	}
}

// An upload past the limit gets 413 also when its size is not declared
// (a chunked body), and nothing is stored.
func TestDeployUploadLimit(t *testing.T) {
	state := t.TempDir()
	opts := Options{Config: deployProject(t, "files"), PersistTo: state, Locks: &StateLocks{}}
	defer opts.Locks.Close()
	app, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{}
	srv.Swap(app)
	defer srv.Swap(nil)
	if err := srv.EnableDeploys(opts); err != nil {
		t.Fatal(err)
	}
	srv.deploys.maxUpload = 1024
	ts := httptest.NewServer(srv.AdminAPI("tok"))
	defer ts.Close()
	b, ct := uploadBody(t, deployProject(t, strings.Repeat("x", 4096)))
	req, _ := http.NewRequest("PUT", ts.URL+"/client/v4/accounts/a/workers/scripts/w", io.MultiReader(b)) // no Content-Length
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("oversized chunked upload: %d, want 413", resp.StatusCode)
	}
	if list, _ := srv.deploys.store.List(); len(list) != 0 {
		t.Fatalf("an oversized upload was stored: %+v", list)
	}
	if got := body(t, srv); got != "files" {
		t.Fatalf("server answers %q after a refused upload", got)
	}
}

func TestVersionConfigNames(t *testing.T) {
	tests := []struct {
		cfg  string
		want string // "" for no error
	}{
		{`{"Name": "w", "Main": "/home/me/src/index.ts", "Assets": {"Directory": "/home/me/public"}}`, ""},
		{`{"Name": ""}`, "may not name"},
		{`{"Name": "../up"}`, "may not name"},
		{`{"Name": "w", "D1Databases": [{"Binding": "DB", "DatabaseID": "a/b"}]}`, `"a/b" may not name`},
		{`{"Name": "w", "KVNamespaces": [{"Binding": "KV", "ID": ".."}]}`, `".." may not name`},
		{`{"Name": "w", "R2Buckets": [{"Binding": "B", "BucketName": "x y"}]}`, `"x y" may not name`},
		{`not json`, "version config"},
	}
	for _, tt := range tests {
		cfg, err := versionConfig([]byte(tt.cfg), "/v/1")
		if tt.want == "" {
			if err != nil || cfg.Main != filepath.Join("/v/1", VersionScript) || cfg.Dir != "/v/1" || cfg.Assets.Directory != "/v/1/assets" {
				t.Errorf("%s: %+v, %v", tt.cfg, cfg, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

// A request meeting an App closed without a successor gets 503 at once;
// one after a Swap goes to the new App.
func TestServeClosedApp(t *testing.T) {
	opts := Options{Config: deployProject(t, "one"), PersistTo: t.TempDir(), Locks: &StateLocks{}}
	defer opts.Locks.Close()
	app, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{}
	srv.Swap(app)
	if got := body(t, srv); got != "one" {
		t.Fatalf("before close: %q", got)
	}
	opts.Config = deployProject(t, "two")
	next, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Swap(next)
	if got := body(t, srv); got != "two" {
		t.Fatalf("after swap: %q", got)
	}
	next.Close()
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() { srv.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil)); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a request to a closed App hung")
	}
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("request to a closed App: %d %s", rec.Code, rec.Body)
	}
}
