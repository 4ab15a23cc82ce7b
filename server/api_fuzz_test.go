package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cairn-dev/cairn/config"
	"github.com/cairn-dev/cairn/d1"
	"github.com/cairn-dev/cairn/kv"
)

// FuzzAdminAPIJSONBody: whatever JSON body a local client sends to the
// admin API's JSON routes (D1 create, query, raw, import; KV bulk put, get,
// delete; the studio's D1 SQL), the server answers a v4 envelope with a status below 500, and
// keeps serving.
//
//	go test -tags "sqlite_fts5 sqlite_math_functions" ./server -run '^$' -fuzz FuzzAdminAPIJSONBody -fuzztime 5m
func FuzzAdminAPIJSONBody(f *testing.F) {
	dir := f.TempDir()
	path, err := kv.Path(dir, "w", "ns1")
	if err != nil {
		f.Fatal(err)
	}
	ns, err := kv.Open(path, kv.Options{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	defer ns.Close()
	m := d1.NewManager(D1Dir(dir, "w"), nil)
	defer m.Close()
	db, err := m.Create("db")
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{}
	s.app.Store(&App{
		Config: &config.Config{Name: "w", KVNamespaces: []config.KVNamespace{{Binding: "KV", ID: "ns1"}}},
		KV:     map[string]*kv.Namespace{"KV": ns},
		D1:     m,
	})
	api := s.AdminAPI("")
	routes := []struct{ method, path string }{
		{"POST", "/client/v4/accounts/a/d1/database"},
		{"POST", "/client/v4/accounts/a/d1/database/" + db.UUID + "/query"},
		{"POST", "/client/v4/accounts/a/d1/database/" + db.UUID + "/raw"},
		{"POST", "/client/v4/accounts/a/d1/database/" + db.UUID + "/import"},
		{"POST", "/client/v4/accounts/a/d1/database/" + db.UUID + "/export"},
		{"PUT", kvBase + "/ns1/bulk"},
		{"POST", kvBase + "/ns1/bulk/get"},
		{"POST", kvBase + "/ns1/bulk/delete"},
		{"POST", "/client/v4/cairn/studio/d1/db/query"},
	}
	for _, seed := range []string{
		`{"name":"x"}`, `{"sql":"SELECT 1"}`, `{"sql":"SELECT ?","params":[1,"a",null,1.5]}`,
		`{"batch":[{"sql":"CREATE TABLE IF NOT EXISTS t (a)"},{"sql":"INSERT INTO t VALUES (?)","params":[2]}]}`,
		`{"action":"init"}`, `{"action":"ingest","filename":"../../x"}`, `{"action":"poll"}`,
		`{"output_format":"polling","dump_options":{"tables":["t"]}}`,
		`[{"key":"k","value":"v","expiration_ttl":60,"metadata":{"a":1}}]`, `{"keys":["k"],"type":"json","withMetadata":true}`,
		`["k","x"]`, `{`, `null`, `[]`, `{"sql":1e400}`, `"\ud800"`,
		`{"sql":"DELETE FROM t","readWrite":false,"max_rows":5}`, `{"sql":"SELECT ?","params":[{"a":1}],"max_rows":-1}`,
	} {
		for i := range routes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		rt := routes[int(route)%len(routes)]
		req := httptest.NewRequest(rt.method, rt.path, bytes.NewReader(body))
		req.RemoteAddr, req.Host = "127.0.0.1:40000", "127.0.0.1:8788"
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		if rec.Code >= http.StatusInternalServerError {
			t.Fatalf("%s %s %q = %d %s", rt.method, rt.path, body, rec.Code, rec.Body)
		}
		var env struct {
			Success *bool      `json:"success"`
			Errors  []APIError `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil || env.Success == nil || (!*env.Success && len(env.Errors) == 0) {
			t.Fatalf("%s %s %q: not an envelope: %d %s", rt.method, rt.path, body, rec.Code, rec.Body)
		}
	})
}
