// chanfana (OpenAPI routes with zod schemas) on hono, as Cloudflare's
// "OpenAPI" Worker template is built: validated params, query and body, and
// the generated /openapi.json.
import { Hono } from "hono";
import { fromHono, OpenAPIRoute } from "chanfana";
import { z } from "zod";

const Task = z.object({
  name: z.string().min(1),
  due: z.string().date(),
  done: z.boolean().default(false),
});

class TaskFetch extends OpenAPIRoute {
  schema = {
    request: {
      params: z.object({ slug: z.string() }),
      query: z.object({ verbose: z.coerce.boolean().optional() }),
    },
    responses: { "200": { description: "a task", content: { "application/json": { schema: z.object({ slug: z.string(), verbose: z.boolean() }) } } } },
  };

  async handle() {
    const data = await this.getValidatedData<typeof this.schema>();
    return { slug: data.params.slug, verbose: data.query.verbose ?? false };
  }
}

class TaskCreate extends OpenAPIRoute {
  schema = {
    request: { body: { content: { "application/json": { schema: Task } } } },
    responses: { "201": { description: "created", content: { "application/json": { schema: Task } } } },
  };

  async handle() {
    const data = await this.getValidatedData<typeof this.schema>();
    return Response.json({ created: data.body }, { status: 201 });
  }
}

const app = new Hono();
const openapi = fromHono(app, { docs_url: "/docs", openapi_url: "/openapi.json" });
openapi.get("/tasks/:slug", TaskFetch);
openapi.post("/tasks", TaskCreate);

export default app;
