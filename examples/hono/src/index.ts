import { DurableObject } from "cloudflare:workers";
import { Hono } from "hono";
import { drizzle, type DrizzleSqliteDODatabase } from "drizzle-orm/durable-sqlite";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { desc, eq } from "drizzle-orm";

interface Env {
  NOTEBOOK: DurableObjectNamespace<Notebook>;
}

const notes = sqliteTable("notes", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  body: text("body").notNull(),
});

// Notebook is one Durable Object per notebook name; its notes live in the
// object's own SQLite database, queried with drizzle and routed with hono.
export class Notebook extends DurableObject<Env> {
  private db: DrizzleSqliteDODatabase;
  private app = new Hono();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.db = drizzle(ctx.storage);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes(id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)");
    });
    this.app.post("/notes", async (c) => {
      const { body } = await c.req.json<{ body: string }>();
      const [row] = this.db.insert(notes).values({ body }).returning().all();
      return c.json(row, 201);
    });
    this.app.get("/notes", (c) => c.json(this.db.select().from(notes).orderBy(desc(notes.id)).all()));
    this.app.get("/notes/:id", (c) => {
      const row = this.db.select().from(notes).where(eq(notes.id, Number(c.req.param("id")))).get();
      return row ? c.json(row) : c.json({ error: "no such note" }, 404);
    });
  }

  fetch(request: Request): Response | Promise<Response> {
    return this.app.fetch(request);
  }
}

const app = new Hono<{ Bindings: Env }>();

app.get("/", (c) => c.text("hono on cairn"));
app.get("/hello/:name", (c) => c.json({ hello: c.req.param("name"), q: c.req.query("q") ?? null }));
app.all("/notebooks/:name/*", (c) => {
  const rest = c.req.path.split("/").slice(3).join("/");
  return c.env.NOTEBOOK.getByName(c.req.param("name")).fetch(new Request("https://notebook/" + rest, c.req.raw));
});

export default app;
