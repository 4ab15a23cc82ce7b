package jsrt

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// fakeKV is an in-memory KVNamespace that fails with err when set and
// records the options of each put.
type fakeKV struct {
	mu   sync.Mutex
	m    map[string]KVEntry
	err  error
	puts []KVPutOptions
}

type statusErr struct{ status int }

func (e statusErr) Error() string   { return "bad thing" }
func (e statusErr) HTTPStatus() int { return e.status }

func (f *fakeKV) Get(_ context.Context, key string) (KVEntry, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	return e, ok, f.err
}

func (f *fakeKV) GetMany(ctx context.Context, keys []string) ([]KVEntry, []bool, error) {
	var es []KVEntry
	var found []bool
	for _, k := range keys {
		e, ok, _ := f.Get(ctx, k)
		es, found = append(es, e), append(found, ok)
	}
	return es, found, f.err
}

func (f *fakeKV) Put(_ context.Context, key string, value []byte, opts KVPutOptions) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.m[key] = KVEntry{Value: value, Metadata: opts.Metadata}
	f.puts = append(f.puts, opts)
	return nil
}

func (f *fakeKV) Delete(_ context.Context, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, key)
	return f.err
}

func (f *fakeKV) List(context.Context, KVListOptions) (KVListResult, error) {
	return KVListResult{Keys: []KVKey{{Name: "a", Expiration: 99, Metadata: `{"x":1}`}, {Name: "b"}}, Complete: false, Cursor: "c1"}, f.err
}

func TestKVBinding(t *testing.T) {
	const code = `exports.default = { async fetch(req, env) {
  const kv = env.KV;
  const out = [];
  const step = async (f) => { try { out.push(JSON.stringify(await f())); } catch (e) { out.push(e.name + ": " + e.message); } };
  await step(() => kv.put("k", new Uint16Array([0x6968]), { expirationTtl: 120, metadata: { m: true } }));
  await step(() => kv.get("k"));
  await step(() => kv.getWithMetadata("k", "json"));
  await step(() => kv.get("k", "arrayBuffer").then((b) => b.byteLength));
  await step(() => kv.get("missing", { type: "json" }));
  await step(() => kv.list({ prefix: "p", limit: 2 }));
  await step(() => kv.delete("k"));
  return new Response(out.join("\n"));
} }`
	kv := &fakeKV{m: map[string]KVEntry{}}
	w := newTestWorker(t, code, Config{KV: map[string]KVNamespace{"KV": kv}})
	_, body, err := fetchBody(t, w, "http://x/")
	if err != nil {
		t.Fatal(err)
	}
	// put and delete resolve to undefined (joined as ""); "hi" is not JSON.
	lines := strings.Split(body, "\n")
	if len(lines) != 7 || lines[0] != "" || lines[1] != `"hi"` || !strings.HasPrefix(lines[2], "SyntaxError") ||
		lines[3] != "2" || lines[4] != "null" || lines[6] != "" ||
		lines[5] != `{"keys":[{"name":"a","expiration":99,"metadata":{"x":1}},{"name":"b"}],"list_complete":false,"cursor":"c1","cacheStatus":null}` {
		t.Fatalf("got:\n%s", body)
	}
	if len(kv.puts) != 1 || kv.puts[0].ExpirationTTL == nil || *kv.puts[0].ExpirationTTL != 120 || kv.puts[0].Metadata != `{"m":true}` {
		t.Fatalf("put options %+v", kv.puts)
	}

	// Store errors: bad input keeps its status and text, anything else is a 500.
	for _, tc := range []struct {
		err  error
		want string
	}{
		{statusErr{413}, "Error: KV GET failed: 413 bad thing"},
		{errors.New("disk on fire"), "Error: KV GET failed: 500 Internal Server Error"},
	} {
		kv.err = tc.err
		w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  try { await env.KV.get("k"); return new Response("no error"); } catch (e) { return new Response(e.name + ": " + e.message); }
} }`, Config{KV: map[string]KVNamespace{"KV": kv}})
		if _, body, err := fetchBody(t, w, "http://x/"); err != nil || body != tc.want {
			t.Errorf("error %v: got %q, %v; want %q", tc.err, body, err, tc.want)
		}
	}
}
