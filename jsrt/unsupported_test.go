package jsrt

import "testing"

// A binding of a kind cairn does not serve is in env, and every use of it
// throws an Error naming it (issue 17: it used to be undefined).
func TestUnsupportedBinding(t *testing.T) {
	w := newTestWorker(t, `exports.default = { async fetch(req, env) {
  const out = [];
  const probe = (what, f) => { try { f(); out.push(what + ": no error"); } catch (e) { out.push(what + ": " + e.constructor.name + ": " + e.message); } };
  out.push("typeof " + typeof env.BUCKET);
  probe("get", () => env.BUCKET.get("k"));
  probe("index", () => env.BUCKET[0]);
  probe("in", () => "get" in env.BUCKET);
  probe("set", () => { env.BUCKET.x = 1; });
  probe("string", () => String(env.BUCKET));
  out.push("await " + typeof (await env.BUCKET));
  out.push("json " + JSON.stringify(env));
  out.push("keys " + Object.keys(env).join(","));
  return new Response(out.join("\n"));
} }`, Config{Unsupported: map[string]string{"BUCKET": "r2_buckets"}, Vars: map[string]any{"V": "v"}})
	_, body, err := fetchBody(t, w, "http://example.com/")
	if err != nil {
		t.Fatal(err)
	}
	const msg = "Error: env.BUCKET (r2_buckets) is not supported by cairn yet"
	want := "typeof object\n" +
		"get: " + msg + "\n" +
		"index: " + msg + "\n" +
		"in: " + msg + "\n" +
		"set: " + msg + "\n" +
		"string: " + msg + "\n" +
		"await object\n" +
		`json {"V":"v","BUCKET":{}}` + "\n" +
		"keys V,BUCKET"
	if body != want {
		t.Errorf("got:\n%s\nwant:\n%s", body, want)
	}
}
