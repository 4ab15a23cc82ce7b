import { DurableObject } from "cloudflare:workers";

interface Env {
  COUNTER: DurableObjectNamespace;
  GREETING: string;
}

// Counter keeps two counters: one in a SQL table, one in the KV API.
export class Counter extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Schema set-up before any request is delivered.
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)");
    });
  }

  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    const sql = this.ctx.storage.sql;
    switch (`${request.method} ${pathname}`) {
      case "POST /sql/increment": {
        const row = sql
          .exec<{ value: number }>(
            "INSERT INTO counters VALUES ('hits', 1) ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value",
          )
          .one();
        return Response.json({ value: row.value });
      }
      case "GET /sql": {
        const rows = sql.exec<{ value: number }>("SELECT value FROM counters WHERE name = 'hits'").toArray();
        return Response.json({ value: rows[0]?.value ?? 0 });
      }
      case "POST /kv/increment": {
        const value = ((await this.ctx.storage.get<number>("count")) ?? 0) + 1;
        await this.ctx.storage.put("count", value);
        return Response.json({ value });
      }
      case "GET /kv":
        return Response.json({ value: (await this.ctx.storage.get<number>("count")) ?? 0 });
      case "GET /id":
        return Response.json({ id: this.ctx.id.toString(), name: this.ctx.id.name ?? null });
    }
    return new Response("not found", { status: 404 });
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/") {
      return new Response(
        `${env.GREETING} from cairn!\n\n` +
          "GET  /ok                           stateless\n" +
          "POST /counter/<name>/sql/increment SQL counter of object <name>\n" +
          "GET  /counter/<name>/sql\n" +
          "POST /counter/<name>/kv/increment  KV counter of object <name>\n" +
          "GET  /counter/<name>/kv\n" +
          "GET  /counter/<name>/id\n",
      );
    }
    if (url.pathname === "/ok") return new Response("ok");

    const match = url.pathname.match(/^\/counter\/([^/]+)(\/.*)$/);
    if (match) {
      const [, name, rest] = match;
      // One object per name, created on first use. The object sees the rest
      // of the path (and the query), on an absolute URL as stub.fetch requires.
      const stub = env.COUNTER.getByName(decodeURIComponent(name));
      return stub.fetch(new Request("https://counter" + rest + url.search, request));
    }
    return new Response("not found", { status: 404 });
  },
};
