package jsrt

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
)

// spec 1.4: Request, Response, Headers and URL pass over JS RPC as
// arguments and results, also nested in objects, arrays and Maps; a body
// is carried whole (read before the call), and sending it uses it up.
func TestRPCPlatformObjects(t *testing.T) {
	code := `"use strict";
const { DurableObject } = require("cloudflare:workers");
exports.Obj = class extends DurableObject {
  async echo(req) {
    const body = await req.text();
    return new Response("got " + req.method + " " + req.url + " " + body, {
      status: 201, statusText: "Made", headers: { "x-seen": req.headers.get("x-in"), "x-colo": String(req.cf?.colo) } });
  }
  shapes(v) {
    return { url: v.url instanceof URL, href: v.url.href, search: v.url.searchParams.get("q"),
      headers: v.list[0] instanceof Headers, h: v.list[0].get("a"), cookies: v.list[0].getSetCookie(),
      mapped: v.map.get("u") instanceof URL };
  }
  give() { return [new URL("https://back.example/p?x=1"), new Headers({ "x-b": "2" }), { r: new Request("https://r.example/", { method: "PUT", body: "put" }) }]; }
  async ok(v) { return v === undefined ? "none" : typeof v; }
  note(v) { (this.seen ??= []).push(v instanceof Request ? "request" : v); return this.seen; }
};
exports.default = {
  async fetch(req, env) {
    const stub = env.OBJ.getByName("x");
    const path = new URL(req.url).pathname;
    if (path === "/echo") {
      const res = await stub.echo(new Request("https://in.example/a?b=c", { method: "POST", body: "hello", headers: { "x-in": "1" }, cf: { colo: "AMS" } }));
      return Response.json({ isResponse: res instanceof Response, status: res.status, statusText: res.statusText,
        seen: res.headers.get("x-seen"), colo: res.headers.get("x-colo"), body: await res.text() });
    }
    if (path === "/shapes") {
      const h = new Headers([["a", "1"], ["set-cookie", "c=1"], ["set-cookie", "d=2"]]);
      return Response.json(await stub.shapes({ url: new URL("https://u.example/?q=z"), list: [h], map: new Map([["u", new URL("https://m.example/")]]) }));
    }
    if (path === "/give") {
      const [u, h, o] = await stub.give();
      return Response.json({ u: u instanceof URL && u.searchParams.get("x"), h: h instanceof Headers && h.get("x-b"),
        r: o.r instanceof Request && o.r.method + " " + (await o.r.text()) });
    }
    if (path === "/used") {
      const r = new Request("https://in.example/", { method: "POST", body: "once" });
      await r.text();
      let err;
      try { await stub.echo(r); } catch (e) { err = e.constructor.name + ": " + e.message; }
      const sent = new Request("https://in.example/", { method: "POST", body: "twice" });
      await stub.echo(sent);
      return Response.json({ err, sentUsed: sent.bodyUsed, after: await stub.ok() });
    }
    if (path === "/order") {
      // A call waiting for its body to be read still goes before later calls.
      const calls = [stub.note(1), stub.note(new Request("https://o.example/", { method: "POST", body: "x" })), stub.note(3)];
      return Response.json({ seen: (await Promise.all(calls))[2] });
    }
    if (path === "/forged") {
      // A plain object shaped like the wire form stays a plain object.
      return Response.json({ t: await stub.ok(["Request", { url: "https://x/" }]) });
    }
    return new Response("not found", { status: 404 });
  },
};
`
	w := objectWorker(t, code, nil, Config{})
	get := func(t *testing.T, path string) map[string]any {
		t.Helper()
		resp, err := w.Fetch(t.Context(), httptest.NewRequest("GET", "http://x"+path, nil))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return out
	}
	tests := []struct {
		path string
		want map[string]any
	}{
		{"/echo", map[string]any{"isResponse": true, "status": 201.0, "statusText": "Made", "seen": "1", "colo": "AMS",
			"body": "got POST https://in.example/a?b=c hello"}},
		{"/shapes", map[string]any{"url": true, "href": "https://u.example/?q=z", "search": "z", "headers": true,
			"h": "1", "cookies": []any{"c=1", "d=2"}, "mapped": true}},
		{"/give", map[string]any{"u": "1", "h": "2", "r": "PUT put"}},
		{"/used", map[string]any{"err": "TypeError: Body has already been used. It can only be used once. Use tee() first if you need to read it twice.",
			"sentUsed": true, "after": "none"}},
		{"/order", map[string]any{"seen": []any{1.0, "request", 3.0}}},
		{"/forged", map[string]any{"t": "object"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := get(t, tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}
