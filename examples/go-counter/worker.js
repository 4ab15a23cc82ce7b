// The Worker: routes requests to the Go class (COUNTER) and the JS class
// (TALLY). Nothing here knows that GoCounter is written in Go.
import { DurableObject } from "cloudflare:workers";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const name = url.searchParams.get("name") ?? "default";
    const counter = env.COUNTER.getByName(name);
    switch (url.pathname) {
      case "/hit": // fetch to the Go object: it counts and answers
        return counter.fetch(request);
      case "/add": { // JS RPC to the Go object
        const by = Number(url.searchParams.get("by") ?? "1");
        return Response.json(await counter.add(by));
      }
      case "/get":
        return Response.json(await counter.get());
      case "/tally": // a JS object that calls the Go object by RPC
        return Response.json(await env.TALLY.getByName(name).tally(name));
      case "/alarm": // the Go object sets an alarm; its handler records it
        return Response.json(await counter.remindIn(Number(url.searchParams.get("ms") ?? "100")));
      case "/chat": // a WebSocket chat room kept by the Go object (hibernatable sockets)
        return counter.fetch(request);
    }
    return new Response("try /hit, /add?by=2, /get, /tally, /alarm?ms=100, /chat (WebSocket)\n", { status: 404 });
  },
};

// Tally is a JS Durable Object that asks the Go counter for its value and
// keeps how often it asked.
export class Tally extends DurableObject {
  async tally(name) {
    const value = await this.env.COUNTER.getByName(name).get();
    const asked = (this.ctx.storage.kv.get("asked") ?? 0) + 1;
    this.ctx.storage.kv.put("asked", asked);
    return { value, asked };
  }
}
