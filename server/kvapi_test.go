package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/kv"
)

// kvTestAPI serves the admin API over an App with one namespace "ns1"
// (binding KV), without a Worker.
func kvTestAPI(t *testing.T) (*API, *kv.Namespace) {
	t.Helper()
	persist := t.TempDir()
	path, err := kv.Path(persist, "w", "ns1")
	if err != nil {
		t.Fatal(err)
	}
	ns, err := kv.Open(path, kv.Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	s := &Server{}
	s.app.Store(&App{
		Config: &config.Config{Name: "w", KVNamespaces: []config.KVNamespace{{Binding: "KV", ID: "ns1"}}},
		KV:     map[string]*kv.Namespace{"KV": ns},
		KVAll:  kv.NewCatalog(persist, "w"),
	})
	return s.AdminAPI(""), ns
}

type kvEnvelope struct {
	Success    bool            `json:"success"`
	Errors     []APIError      `json:"errors"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *kvListInfo     `json:"result_info"`
}

func do(t *testing.T, api *API, method, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:8788" // a local client
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, req)
	return rec
}

func envelopeOf(t *testing.T, rec *httptest.ResponseRecorder) kvEnvelope {
	t.Helper()
	var env kvEnvelope
	if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
		t.Fatalf("not an envelope (%v): %s", err, rec.Body)
	}
	return env
}

const kvBase = "/client/v4/accounts/acc/storage/kv/namespaces"

func TestKVAPIValues(t *testing.T) {
	api, ns := kvTestAPI(t)
	// A key with a slash and a space, URL-encoded in the path.
	key := "a/b c"
	vpath := kvBase + "/ns1/values/" + url.PathEscape(key)
	if rec := do(t, api, "PUT", vpath+"?expiration_ttl=600", "application/octet-stream", []byte("raw\x00bytes")); rec.Code != 200 || !envelopeOf(t, rec).Success {
		t.Fatalf("put = %d %s", rec.Code, rec.Body)
	}
	rec := do(t, api, "GET", vpath, "", nil)
	if rec.Code != 200 || rec.Body.String() != "raw\x00bytes" || rec.Header().Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("get = %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if e, ok, _ := ns.Get(t.Context(), key); !ok || e.Expiration == 0 {
		t.Fatalf("stored entry %+v %v", e, ok)
	}

	// Multipart with metadata.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	_ = mw.WriteField("value", "form value")
	_ = mw.WriteField("metadata", `{"from":"form"}`)
	mw.Close()
	if rec := do(t, api, "PUT", kvBase+"/ns1/values/m", mw.FormDataContentType(), body.Bytes()); rec.Code != 200 {
		t.Fatalf("multipart put = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "GET", kvBase+"/ns1/values/m", "", nil); rec.Body.String() != "form value" {
		t.Fatalf("multipart value = %q", rec.Body)
	}
	if env := envelopeOf(t, do(t, api, "GET", kvBase+"/ns1/metadata/m", "", nil)); string(env.Result) != `{"from":"form"}` {
		t.Fatalf("metadata = %s", env.Result)
	}

	if rec := do(t, api, "DELETE", vpath, "", nil); rec.Code != 200 {
		t.Fatalf("delete = %d %s", rec.Code, rec.Body)
	}
	rec = do(t, api, "GET", vpath, "", nil)
	if env := envelopeOf(t, rec); rec.Code != 404 || env.Success || env.Errors[0].Code != kvCodeKeyNotFound {
		t.Fatalf("get deleted = %d %s", rec.Code, rec.Body)
	}
}

func TestKVAPIErrors(t *testing.T) {
	api, ns := kvTestAPI(t)
	tests := []struct {
		name, method, path string
		body               string
		status, code       int
		msg                string
	}{
		{"unknown namespace", "GET", kvBase + "/nope/values/k", "", 404, kvCodeNamespaceNotFound, "namespace not found"},
		{"ttl too short", "PUT", kvBase + "/ns1/values/k?expiration_ttl=30", "v", 400, kvCodeMalformedValue, "Invalid expiration_ttl of 30. Expiration TTL must be at least 60."},
		{"dot key", "PUT", kvBase + "/ns1/values/%2E", "v", 400, kvCodeMalformedValue, `Illegal key name ".". Please use a different name.`},
		{"long key", "PUT", kvBase + "/ns1/values/" + strings.Repeat("k", 513), "v", 414, kvCodeMalformedValue, "UTF-8 encoded length of 513 exceeds key length limit of 512."},
		{"list limit", "GET", kvBase + "/ns1/keys?limit=1001", "", 400, kvCodeInvalidLimit, "Invalid key_count_limit of 1001. Please specify an integer less than 1000."},
		{"bulk bad json", "PUT", kvBase + "/ns1/bulk", "{", 400, kvCodeMalformedValue, ""},
		{"bulk one bad", "PUT", kvBase + "/ns1/bulk", `[{"key":"ok","value":"1"},{"key":"","value":"2"}]`, 400, kvCodeMalformedValue, "Key names must not be empty"},
		{"bulk big metadata", "PUT", kvBase + "/ns1/bulk", `[{"key":"m","value":"1","metadata":"` + strings.Repeat("m", 1100) + `"}]`, 413, kvCodePayloadTooLarge, "Metadata length of 1102 exceeds limit of 1024."},
		{"bulk get type", "POST", kvBase + "/ns1/bulk/get", `{"keys":["a"],"type":"arrayBuffer"}`, 400, kvCodeMalformedValue, `"arrayBuffer" is not a valid type. Use "json" or "text"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := ""
			if strings.Contains(tt.path, "/bulk") {
				ct = "application/json"
			}
			rec := do(t, api, tt.method, tt.path, ct, []byte(tt.body))
			env := envelopeOf(t, rec)
			if rec.Code != tt.status || env.Success || len(env.Errors) != 1 || env.Errors[0].Code != tt.code ||
				(tt.msg != "" && env.Errors[0].Message != tt.msg) {
				t.Fatalf("= %d %s, want %d code %d %q", rec.Code, rec.Body, tt.status, tt.code, tt.msg)
			}
		})
	}
	if res, _ := ns.List(t.Context(), kv.ListOptions{}); len(res.Keys) != 0 {
		t.Fatalf("rejected writes stored %v", res.Keys)
	}
}

func TestKVAPIBulkAndKeys(t *testing.T) {
	api, _ := kvTestAPI(t)
	var items []map[string]any
	for i := range 5 {
		items = append(items, map[string]any{"key": "k" + string(rune('0'+i)), "value": `{"i":` + string(rune('0'+i)) + `}`, "metadata": map[string]int{"i": i}})
	}
	items = append(items, map[string]any{"key": "bin", "value": "AAEC", "base64": true})
	body, _ := json.Marshal(items)
	rec := do(t, api, "PUT", kvBase+"/ns1/bulk", "application/json", body)
	if env := envelopeOf(t, rec); rec.Code != 200 || string(env.Result) != `{"successful_key_count":6,"unsuccessful_keys":[]}` {
		t.Fatalf("bulk put = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "GET", kvBase+"/ns1/values/bin", "", nil); rec.Body.String() != "\x00\x01\x02" {
		t.Fatalf("base64 value = %q", rec.Body)
	}

	// Pages of 2 over the k* keys, following result_info.cursor.
	var names []string
	cursor := ""
	for range 10 {
		env := envelopeOf(t, do(t, api, "GET", kvBase+"/ns1/keys?prefix=k&limit=2&cursor="+url.QueryEscape(cursor), "", nil))
		var keys []struct {
			Name     string         `json:"name"`
			Metadata map[string]int `json:"metadata"`
		}
		if err := json.Unmarshal(env.Result, &keys); err != nil || env.ResultInfo == nil || env.ResultInfo.Count != len(keys) {
			t.Fatalf("keys page: %s %v", env.Result, err)
		}
		for _, k := range keys {
			names = append(names, k.Name)
			if k.Metadata["i"] != int(k.Name[1]-'0') {
				t.Errorf("%s metadata %v", k.Name, k.Metadata)
			}
		}
		if cursor = env.ResultInfo.Cursor; cursor == "" {
			break
		}
	}
	if strings.Join(names, ",") != "k0,k1,k2,k3,k4" {
		t.Fatalf("listed %v", names)
	}

	env := envelopeOf(t, do(t, api, "POST", kvBase+"/ns1/bulk/get", "application/json", []byte(`{"keys":["k1","zz"],"type":"json","withMetadata":true}`)))
	if string(env.Result) != `{"values":{"k1":{"metadata":{"i":1},"value":{"i":1}},"zz":null}}` {
		t.Fatalf("bulk get = %s", env.Result)
	}
	if rec := do(t, api, "POST", kvBase+"/ns1/bulk/delete", "application/json", []byte(`["k0","k1","nope"]`)); rec.Code != 200 {
		t.Fatalf("bulk delete = %d %s", rec.Code, rec.Body)
	}
	env = envelopeOf(t, do(t, api, "GET", kvBase+"/ns1/keys", "", nil))
	if !strings.Contains(string(env.Result), `"k2"`) || strings.Contains(string(env.Result), `"k1"`) {
		t.Fatalf("after bulk delete: %s", env.Result)
	}

	env = envelopeOf(t, do(t, api, "GET", kvBase, "", nil))
	if string(env.Result) != `[{"id":"ns1","title":"w-KV","supports_url_encoding":true}]` {
		t.Fatalf("namespaces = %s", env.Result)
	}
	if rec := do(t, api, "GET", kvBase+"/ns1", "", nil); rec.Code != http.StatusOK {
		t.Fatalf("namespace = %d %s", rec.Code, rec.Body)
	}
}

// Namespaces as the cloudflare SDK and wrangler use them: create, rename,
// delete, and a page-based list with result_info that ends.
func TestKVAPINamespaces(t *testing.T) {
	api, _ := kvTestAPI(t)
	type nsResult struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	type listEnvelope struct {
		Success    bool       `json:"success"`
		Result     []nsResult `json:"result"`
		ResultInfo pageInfo   `json:"result_info"`
	}
	list := func(query string) listEnvelope {
		t.Helper()
		rec := do(t, api, "GET", kvBase+query, "", nil)
		var env listEnvelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || rec.Code != 200 || !env.Success {
			t.Fatalf("list%s = %d %s", query, rec.Code, rec.Body)
		}
		return env
	}
	var made []nsResult
	for _, title := range []string{"c-space", "a-space", "b-space"} {
		rec := do(t, api, "POST", kvBase, "application/json", []byte(`{"title":"`+title+`"}`))
		var ns nsResult
		if err := json.Unmarshal(envelopeOf(t, rec).Result, &ns); err != nil || rec.Code != 200 || len(ns.ID) != 32 || ns.Title != title {
			t.Fatalf("create %s = %d %s", title, rec.Code, rec.Body)
		}
		made = append(made, ns)
	}
	if rec := do(t, api, "POST", kvBase, "application/json", []byte(`{"title":"a-space"}`)); rec.Code != 400 || envelopeOf(t, rec).Errors[0].Code != kvCodeTitleExists {
		t.Errorf("duplicate title = %d %s", rec.Code, rec.Body)
	}

	// Four namespaces: the bound one (w-KV) and three made. Pages of 3 by
	// title: 3 then 1, then an empty page.
	all := list("?order=title&direction=asc")
	var titles []string
	for _, ns := range all.Result {
		titles = append(titles, ns.Title)
	}
	if got := strings.Join(titles, ","); got != "a-space,b-space,c-space,w-KV" || all.ResultInfo.TotalCount != 4 {
		t.Errorf("list = %s %+v", got, all.ResultInfo)
	}
	for page, want := range map[int]pageInfo{
		1: {Page: 1, PerPage: 3, Count: 3, TotalCount: 4, TotalPages: 2},
		2: {Page: 2, PerPage: 3, Count: 1, TotalCount: 4, TotalPages: 2},
		3: {Page: 3, PerPage: 3, Count: 0, TotalCount: 4, TotalPages: 2},
	} {
		env := list(fmt.Sprintf("?per_page=3&page=%d&order=title", page))
		if env.ResultInfo != want || len(env.Result) != want.Count {
			t.Errorf("page %d = %+v (%d items), want %+v", page, env.ResultInfo, len(env.Result), want)
		}
	}
	if env := list("?order=title&direction=desc&per_page=1"); env.Result[0].Title != "w-KV" {
		t.Errorf("desc = %+v", env.Result)
	}

	// A namespace made through the API holds keys like a bound one.
	id := made[1].ID
	if rec := do(t, api, "PUT", kvBase+"/"+id+"/values/k", "", []byte("v")); rec.Code != 200 {
		t.Fatalf("put in made namespace = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "GET", kvBase+"/"+id+"/values/k", "", nil); rec.Body.String() != "v" {
		t.Errorf("get in made namespace = %d %s", rec.Code, rec.Body)
	}

	// Rename, also of the bound namespace; a taken title is refused.
	if rec := do(t, api, "PUT", kvBase+"/"+id, "application/json", []byte(`{"title":"renamed"}`)); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"title":"renamed"`) {
		t.Errorf("rename = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "PUT", kvBase+"/ns1", "application/json", []byte(`{"title":"bound"}`)); rec.Code != 200 {
		t.Errorf("rename bound = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "PUT", kvBase+"/ns1", "application/json", []byte(`{"title":"renamed"}`)); rec.Code != 400 {
		t.Errorf("rename to a taken title = %d %s", rec.Code, rec.Body)
	}
	if rec := do(t, api, "GET", kvBase+"/ns1", "", nil); !strings.Contains(rec.Body.String(), `"title":"bound"`) {
		t.Errorf("get bound = %s", rec.Body)
	}

	// Delete: the namespace and its keys are gone; a bound one is refused.
	if rec := do(t, api, "DELETE", kvBase+"/"+id, "", nil); rec.Code != 200 {
		t.Errorf("delete = %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{kvBase + "/" + id, kvBase + "/" + id + "/values/k"} {
		if rec := do(t, api, "GET", path, "", nil); rec.Code != 404 {
			t.Errorf("GET %s after delete = %d %s", path, rec.Code, rec.Body)
		}
	}
	if rec := do(t, api, "DELETE", kvBase+"/ns1", "", nil); rec.Code != 400 {
		t.Errorf("delete bound = %d %s", rec.Code, rec.Body)
	}
	if env := list(""); env.ResultInfo.TotalCount != 3 {
		t.Errorf("after delete: %+v", env)
	}
}
