import { Hono } from "hono";
import { drizzle } from "drizzle-orm/d1";
import { integer, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { and, desc, eq, sql } from "drizzle-orm";

interface Env {
  DB: D1Database;
}

// The schema of migrations/0001_create_authors_and_posts.sql.
const authors = sqliteTable("authors", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  name: text("name").notNull().unique(),
});

const posts = sqliteTable("posts", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  authorId: integer("author_id").notNull().references(() => authors.id, { onDelete: "cascade" }),
  title: text("title").notNull(),
  published: integer("published", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at", { mode: "timestamp" }).notNull().default(sql`(unixepoch())`),
});

const app = new Hono<{ Bindings: Env }>();

// drizzle wraps a failed query in an error whose cause is D1's.
const reason = (e: unknown) => ((e as Error).cause instanceof Error ? (e as Error).cause as Error : (e as Error)).message;

app.get("/", (c) => c.text("hono + drizzle on D1, on cairn"));

// Create an author and their first post in one atomic batch.
app.post("/authors", async (c) => {
  const { name, firstPost } = await c.req.json<{ name: string; firstPost: string }>();
  const db = drizzle(c.env.DB);
  try {
    const [[author]] = await db.batch([
      db.insert(authors).values({ name }).returning(),
      db.insert(posts).values({ authorId: sql`(SELECT id FROM authors WHERE name = ${name})`, title: firstPost }),
    ]);
    return c.json(author, 201);
  } catch (e) {
    return c.json({ error: reason(e) }, 409);
  }
});

app.get("/authors", async (c) => {
  const db = drizzle(c.env.DB);
  const rows = await db
    .select({ id: authors.id, name: authors.name, posts: sql<number>`count(${posts.id})` })
    .from(authors)
    .leftJoin(posts, eq(posts.authorId, authors.id))
    .groupBy(authors.id)
    .orderBy(authors.id);
  return c.json(rows);
});

app.post("/authors/:id/posts", async (c) => {
  const { title, published } = await c.req.json<{ title: string; published?: boolean }>();
  const db = drizzle(c.env.DB);
  try {
    const [post] = await db
      .insert(posts)
      .values({ authorId: Number(c.req.param("id")), title, published: published ?? false })
      .returning();
    return c.json(post, 201);
  } catch (e) {
    return c.json({ error: reason(e) }, 400);
  }
});

app.get("/posts", async (c) => {
  const db = drizzle(c.env.DB);
  const onlyPublished = c.req.query("published") === "1";
  const rows = await db
    .select({ id: posts.id, title: posts.title, published: posts.published, author: authors.name })
    .from(posts)
    .innerJoin(authors, eq(posts.authorId, authors.id))
    .where(onlyPublished ? eq(posts.published, true) : undefined)
    .orderBy(desc(posts.id));
  return c.json(rows);
});

app.delete("/authors/:id", async (c) => {
  const db = drizzle(c.env.DB);
  const res = await db.delete(authors).where(and(eq(authors.id, Number(c.req.param("id")))));
  return c.json({ deleted: res.meta.changes });
});

export default app;
