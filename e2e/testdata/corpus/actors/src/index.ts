// @cloudflare/actors: an Actor named from the request (handler), SQL in
// onInit and per request, and an alarm scheduled through this.alarms that
// calls a method of the Actor.
import { Actor, handler } from "@cloudflare/actors";

export class Counter extends Actor<unknown> {
  static async nameFromRequest(req: Request): Promise<string | undefined> {
    return new URL(req.url).searchParams.get("name") ?? "default";
  }

  protected async onInit(): Promise<void> {
    this.sql`CREATE TABLE IF NOT EXISTS hits (at INTEGER)`;
    this.sql`CREATE TABLE IF NOT EXISTS rings (payload TEXT)`;
  }

  protected async onRequest(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    if (path === "/alarm") {
      const s = await this.alarms.schedule(1, "ring", "wake up");
      return Response.json({ scheduled: s.type });
    }
    if (path === "/rings") return Response.json(this.sql`SELECT payload FROM rings`);
    this.sql`INSERT INTO hits VALUES (${Date.now()})`;
    const [row] = this.sql<{ c: number }>`SELECT count(*) AS c FROM hits`;
    return Response.json({ name: this.name, count: row.c });
  }

  async ring(payload: string): Promise<void> {
    this.sql`INSERT INTO rings VALUES (${payload})`;
  }
}

export default handler(Counter);
