package jsrt

import (
	"testing"

	"github.com/cairn-dev/cairn/commit"
)

// ctx.exports gives a handler and a Durable Object loopback bindings to
// the Worker's own exports: a namespace for an exported Durable Object
// class, a service (fetch and RPC) for the default export and each
// WorkerEntrypoint.
func TestCtxExports(t *testing.T) {
	code := `const { DurableObject, WorkerEntrypoint } = require("cloudflare:workers");
class Obj extends DurableObject {
  async viaExports() { return "obj:" + (await this.ctx.exports.Greeter.hello("from object")); }
  fetch() { return new Response("obj fetch"); }
}
class Unbound extends DurableObject { ping() { return "pong"; } }
class Greeter extends WorkerEntrypoint {
  hello(who) { return "hello " + who; }
}
exports.Obj = Obj;
exports.Greeter = Greeter;
exports.Unbound = Unbound;
exports.VERSION = "1";
exports.default = {
  async fetch(req, env, ctx) {
    const u = new URL(req.url);
    if (u.pathname === "/inner") return new Response("inner");
    const x = ctx.exports;
    const parts = [
      Object.keys(x).sort().join("+"),
      await x.Greeter.hello("you"),
      await (await x.default.fetch("http://x/inner")).text(),
      await (await x.Obj.getByName("a").fetch("http://x/")).text(),
      await x.Obj.getByName("a").viaExports(),
      x.Obj.idFromName("a").equals(env.OBJ.idFromName("a")),
      await x.Unbound.getByName("z").ping(),
    ];
    return new Response(parts.join(" | "));
  },
};`
	log := commit.NewLocal(2)
	t.Cleanup(func() { log.Close() })
	w := objectWorker(t, code, log, Config{})
	_, got, err := fetchBody(t, w, "http://x/")
	if err != nil {
		t.Fatal(err)
	}
	want := "Greeter+Obj+Unbound+default | hello you | inner | obj fetch | obj:hello from object | true | pong"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
