// Small libraries most Workers use: hono and itty-router for routing,
// nanoid and uuid for ids. Each answers under its own path.
import { Hono } from "hono";
import { AutoRouter } from "itty-router";
import { nanoid, customAlphabet } from "nanoid";
import { v4 as uuidv4, v7 as uuidv7, validate, version } from "uuid";

const hono = new Hono().basePath("/hono");
hono.get("/hello/:name", (c) => c.json({ hello: c.req.param("name"), q: c.req.query("q") ?? null }));
hono.post("/echo", async (c) => c.json(await c.req.json(), 201));

const itty = AutoRouter({ base: "/itty" });
itty.get("/items/:id", ({ params, query }) => ({ id: params.id, sort: query.sort ?? null }));
itty.post("/items", async (req) => new Response(JSON.stringify(await req.json()), { status: 201, headers: { "content-type": "application/json" } }));

export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname.startsWith("/hono")) return hono.fetch(request);
    if (pathname.startsWith("/itty")) return itty.fetch(request);
    if (pathname === "/ids") {
      const hex = customAlphabet("0123456789abcdef", 12);
      const u4 = uuidv4(), u7 = uuidv7();
      return Response.json({
        nanoid: nanoid(), hex: hex(),
        uuid4: u4, uuid4valid: validate(u4) && version(u4) === 4,
        uuid7: u7, uuid7valid: validate(u7) && version(u7) === 7,
      });
    }
    return new Response("not found", { status: 404 });
  },
};
