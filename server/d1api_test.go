package server

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/d1"
)

type envelopeResult struct {
	Success    bool            `json:"success"`
	Errors     []APIError      `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *pageInfo       `json:"result_info"`
}

func d1TestServer(t *testing.T) (*httptest.Server, *d1.Manager) {
	t.Helper()
	m := d1.NewManager(t.TempDir(), nil)
	t.Cleanup(func() { m.Close() })
	api := NewAPI("tok")
	registerD1API(api, func() (*d1.Manager, error) { return m, nil }, testMaxImport)
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv, m
}

func call(t *testing.T, srv *httptest.Server, method, path, body string, wantStatus int, result any) envelopeResult {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+"/client/v4/accounts/acc/d1/database"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var env envelopeResult
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("%s %s: not an envelope: %s", method, path, b)
	}
	if resp.StatusCode != wantStatus {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, resp.StatusCode, wantStatus, b)
	}
	if result != nil {
		if err := json.Unmarshal(env.Result, result); err != nil {
			t.Fatalf("%s %s: result: %v: %s", method, path, err, b)
		}
	}
	return env
}

func TestD1APIDatabases(t *testing.T) {
	srv, _ := d1TestServer(t)
	var created d1.Info
	call(t, srv, "POST", "", `{"name":"alpha"}`, 200, &created)
	if created.Name != "alpha" || len(created.UUID) != 36 || created.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", created)
	}
	if env := call(t, srv, "POST", "", `{"name":"alpha"}`, 409, nil); env.Success || env.Errors[0].Code != codeD1Exists {
		t.Errorf("duplicate = %+v", env)
	}
	call(t, srv, "POST", "", `{"name":"beta"}`, 200, nil)
	call(t, srv, "POST", "", `{"nam`, 400, nil)
	var list []d1.Info
	call(t, srv, "GET", "?name=alp", "", 200, &list)
	if len(list) != 1 || list[0].UUID != created.UUID {
		t.Errorf("list = %+v", list)
	}
	env := call(t, srv, "GET", "?per_page=1&page=2", "", 200, &list)
	if len(list) != 1 || list[0].Name != "beta" {
		t.Errorf("page 2 = %+v", list)
	}
	// result_info, and an empty page past the end (wrangler reads pages
	// until a short one).
	if want := (pageInfo{Page: 2, PerPage: 1, Count: 1, TotalCount: 2, TotalPages: 2}); env.ResultInfo == nil || *env.ResultInfo != want {
		t.Errorf("page 2 result_info = %+v, want %+v", env.ResultInfo, want)
	}
	if env := call(t, srv, "GET", "?per_page=1&page=3", "", 200, &list); len(list) != 0 || env.ResultInfo.Count != 0 {
		t.Errorf("page 3 = %+v %+v", list, env.ResultInfo)
	}
	call(t, srv, "GET", "?page=0", "", 400, nil)
	var got d1.Info
	call(t, srv, "GET", "/"+created.UUID, "", 200, &got)
	if got.Name != "alpha" {
		t.Errorf("get = %+v", got)
	}
	if got.ReadReplication.Mode != "disabled" {
		t.Errorf("read_replication = %+v", got.ReadReplication)
	}
	call(t, srv, "PATCH", "/"+created.UUID, `{"read_replication":{"mode":"auto"}}`, 200, &got)
	if got.ReadReplication.Mode != "auto" {
		t.Errorf("after PATCH: %+v", got.ReadReplication)
	}
	call(t, srv, "PUT", "/"+created.UUID, `{"read_replication":{"mode":"sometimes"}}`, 400, nil)
	call(t, srv, "DELETE", "/"+created.UUID, "", 200, nil)
	if env := call(t, srv, "GET", "/"+created.UUID, "", 404, nil); env.Errors[0].Code != codeD1NotFound {
		t.Errorf("after delete = %+v", env)
	}
}

func TestD1APIQuery(t *testing.T) {
	srv, _ := d1TestServer(t)
	var db d1.Info
	call(t, srv, "POST", "", `{"name":"q"}`, 200, &db)
	q := "/" + db.UUID + "/query"

	// spec 71: several statements give one result each.
	var res []struct {
		Results []map[string]any `json:"results"`
		Success bool             `json:"success"`
		Meta    map[string]any   `json:"meta"`
	}
	call(t, srv, "POST", q, `{"sql":"SELECT 1 AS a; SELECT 2 AS b"}`, 200, &res)
	if len(res) != 2 || res[0].Results[0]["a"] != 1.0 || res[1].Results[0]["b"] != 2.0 || !res[0].Success {
		t.Errorf("query = %+v", res)
	}
	var raw []struct {
		Results struct {
			Columns []string `json:"columns"`
			Rows    [][]any  `json:"rows"`
		} `json:"results"`
	}
	call(t, srv, "POST", "/"+db.UUID+"/raw", `{"sql":"SELECT 1 AS a; SELECT 2 AS b"}`, 200, &raw)
	if len(raw) != 2 || strings.Join(raw[0].Results.Columns, ",") != "a" || len(raw[0].Results.Rows) != 1 || raw[0].Results.Rows[0][0] != 1.0 {
		t.Errorf("raw = %+v", raw)
	}

	call(t, srv, "POST", q, `{"sql":"CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, b BLOB)"}`, 200, nil)
	call(t, srv, "POST", q, `{"sql":"INSERT INTO t (v, b) VALUES (?, ?)","params":["x",[1,2]]}`, 200, &res)
	if res[0].Meta["changes"] != 1.0 || res[0].Meta["last_row_id"] != 1.0 {
		t.Errorf("insert meta = %v", res[0].Meta)
	}
	call(t, srv, "POST", q, `{"sql":"SELECT id, v, b, typeof(b) AS tb FROM t WHERE id = ?","params":[1]}`, 200, &res)
	if r := res[0].Results[0]; r["v"] != "x" || r["tb"] != "blob" || len(r["b"].([]any)) != 2 {
		t.Errorf("select = %v", r)
	}
	// A failing batch applies nothing and answers the v4 error envelope.
	env := call(t, srv, "POST", q, `{"batch":[{"sql":"INSERT INTO t (v) VALUES (?)","params":["y"]},{"sql":"INSERT INTO t (v) VALUES (NULL)"}]}`, 400, nil)
	if env.Success || env.Errors[0].Code != codeD1SQL || env.Errors[0].Message != "NOT NULL constraint failed: t.v: SQLITE_CONSTRAINT" {
		t.Errorf("failing batch = %+v", env)
	}
	call(t, srv, "POST", q, `{"sql":"SELECT count(*) AS n FROM t"}`, 200, &res)
	if res[0].Results[0]["n"] != 1.0 {
		t.Errorf("rows after failed batch = %v", res[0].Results[0]["n"])
	}
	for _, bad := range []string{`{"sql":"SELEC 1"}`, `{"sql":""}`, `{"sql":"SELECT ?; SELECT ?","params":[1,2]}`, `{"sql":"SELECT ?","params":[{"a":1}]}`} {
		if env := call(t, srv, "POST", q, bad, 400, nil); env.Success || len(env.Errors) != 1 {
			t.Errorf("%s = %+v", bad, env)
		}
	}
	call(t, srv, "POST", "/nope/query", `{"sql":"SELECT 1"}`, 404, nil)
}

func TestD1APIExportImport(t *testing.T) {
	srv, _ := d1TestServer(t)
	var src, dst d1.Info
	call(t, srv, "POST", "", `{"name":"src"}`, 200, &src)
	call(t, srv, "POST", "", `{"name":"dst"}`, 200, &dst)
	call(t, srv, "POST", "/"+src.UUID+"/query", `{"sql":"CREATE TABLE t (a); INSERT INTO t VALUES (1), (2)"}`, 200, nil)

	var exp struct {
		Status string `json:"status"`
		Result struct {
			Filename  string `json:"filename"`
			SignedURL string `json:"signed_url"`
		} `json:"result"`
	}
	call(t, srv, "POST", "/"+src.UUID+"/export", `{"output_format":"polling"}`, 200, &exp)
	if exp.Status != "complete" || exp.Result.SignedURL == "" {
		t.Fatalf("export = %+v", exp)
	}
	// The signed URL needs no token (wrangler sends none); a URL whose
	// signature, method or expiry was changed is refused.
	for _, bad := range []struct{ method, url string }{
		{"GET", strings.Replace(exp.Result.SignedURL, "sig=", "sig=0", 1)},
		{"GET", strings.Replace(exp.Result.SignedURL, "expires=", "expires=1", 1)},
		{"PUT", exp.Result.SignedURL},
		{"GET", strings.Replace(exp.Result.SignedURL, exp.Result.Filename, randomName(".sql"), 1)},
	} {
		req, _ := http.NewRequest(bad.method, bad.url, strings.NewReader("x"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s = %d, want 403", bad.method, bad.url, resp.StatusCode)
		}
	}
	resp, err := http.Get(exp.Result.SignedURL)
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(dump), `INSERT INTO "t" VALUES(2);`) {
		t.Fatalf("dump = %s", dump)
	}

	sum := md5.Sum(dump)
	etag := hex.EncodeToString(sum[:])
	var ini struct {
		UploadURL string `json:"upload_url"`
		Filename  string `json:"filename"`
	}
	call(t, srv, "POST", "/"+dst.UUID+"/import", `{"action":"init","etag":"`+etag+`"}`, 200, &ini)
	req, _ := http.NewRequest("PUT", ini.UploadURL, strings.NewReader(string(dump)))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("ETag") != `"`+etag+`"` {
		t.Errorf("upload etag = %s, want %s", resp.Header.Get("ETag"), etag)
	}
	type pollAnswer struct {
		Success  bool     `json:"success"`
		Status   string   `json:"status"`
		Messages []string `json:"messages"`
		Error    string   `json:"error"`
		Result   struct {
			NumQueries    float64        `json:"num_queries"`
			FinalBookmark string         `json:"final_bookmark"`
			Meta          map[string]any `json:"meta"`
		} `json:"result"`
	}
	// wrangler reads ingest's answer as the first poll: status, messages
	// and the result with its meta.
	for _, action := range []string{`{"action":"ingest","etag":"` + etag + `","filename":"` + ini.Filename + `"}`, `{"action":"poll"}`} {
		var poll pollAnswer
		call(t, srv, "POST", "/"+dst.UUID+"/import", action, 200, &poll)
		if !poll.Success || poll.Status != "complete" || poll.Messages == nil || poll.Result.NumQueries != 4 ||
			poll.Result.FinalBookmark == "" || poll.Result.Meta["duration"] == nil || poll.Result.Meta["rows_written"] != 2.0 {
			t.Errorf("%s = %+v", action, poll)
		}
	}
	var again pollAnswer
	if call(t, srv, "POST", "/"+dst.UUID+"/import", `{"action":"poll"}`, 200, &again); again.Success || again.Error != "Not currently importing anything." {
		t.Errorf("second poll = %+v", again)
	}
	// A failing import: success false with the error, nothing applied.
	bad := "INSERT INTO t VALUES (100);\nINSERT INTO nope VALUES (1);\n"
	call(t, srv, "POST", "/"+dst.UUID+"/import", `{"action":"init"}`, 200, &ini)
	req, _ = http.NewRequest("PUT", ini.UploadURL, strings.NewReader(bad))
	if resp, err = http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var failed pollAnswer
	call(t, srv, "POST", "/"+dst.UUID+"/import", `{"action":"ingest","filename":"`+ini.Filename+`"}`, 200, &failed)
	if failed.Success || failed.Status != "error" || !strings.Contains(failed.Error, "no such table: nope") {
		t.Errorf("failed ingest = %+v", failed)
	}
	var res []struct {
		Results []map[string]any `json:"results"`
	}
	call(t, srv, "POST", "/"+dst.UUID+"/query", `{"sql":"SELECT sum(a) AS s FROM t"}`, 200, &res)
	if res[0].Results[0]["s"] != 3.0 {
		t.Errorf("imported sum = %v", res[0].Results[0]["s"])
	}
}

// testMaxImport is the import file limit of d1TestServer.
const testMaxImport = 1 << 20

// An upload needs the signed URL of an import's init (of that database),
// and is bounded in size (413, nothing kept).
func TestD1APIUploadNeedsInitAndLimit(t *testing.T) {
	srv, m := d1TestServer(t)
	var a, b d1.Info
	call(t, srv, "POST", "", `{"name":"a"}`, 200, &a)
	call(t, srv, "POST", "", `{"name":"b"}`, 200, &b)
	put := func(url string, body io.Reader) int {
		t.Helper()
		req, _ := http.NewRequest("PUT", url, body)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := put(srv.URL+"/client/v4/accounts/acc/d1/database/"+a.UUID+"/files/0123456789abcdef0123456789abcdef.sql", strings.NewReader("SELECT 1;")); got != 403 {
		t.Errorf("upload without init = %d, want 403", got)
	}
	var ini struct {
		UploadURL string `json:"upload_url"`
		Filename  string `json:"filename"`
	}
	call(t, srv, "POST", "/"+a.UUID+"/import", `{"action":"init"}`, 200, &ini)
	if got := put(strings.Replace(ini.UploadURL, a.UUID, b.UUID, 1), strings.NewReader("SELECT 1;")); got != 403 {
		t.Errorf("upload to another database = %d, want 403", got)
	}
	// Over the limit, with no Content-Length (streamed) and with one.
	big := strings.Repeat("-- x\n", testMaxImport/5+1)
	if got := put(ini.UploadURL, io.MultiReader(strings.NewReader(big))); got != 413 {
		t.Errorf("streamed upload over the limit = %d, want 413", got)
	}
	if _, err := os.Stat(filepath.Join(m.Dir(), ".files", ini.Filename)); !os.IsNotExist(err) {
		t.Errorf("a refused upload left its file: %v", err)
	}
	if got := put(ini.UploadURL, strings.NewReader(big)); got != 413 {
		t.Errorf("upload over the limit = %d, want 413", got)
	}
	if got := put(ini.UploadURL, strings.NewReader("SELECT 1;")); got != 200 {
		t.Errorf("upload after init = %d, want 200", got)
	}
}
