// The notes kept in the Worker's KV namespace NOTES: the loader lists them,
// the action (a form POST) adds one.
import { Form, redirect, useLoaderData } from "react-router";

type Env = { NOTES: KVNamespace };
type Context = { cloudflare: { env: Env } };

export async function loader({ context }: { context: Context }) {
  const list = await context.cloudflare.env.NOTES.list();
  const notes = await Promise.all(list.keys.map(async (k) => ({ id: k.name, text: await context.cloudflare.env.NOTES.get(k.name) })));
  return { notes };
}

export async function action({ request, context }: { request: Request; context: Context }) {
  const form = await request.formData();
  const text = String(form.get("text") ?? "").trim();
  if (!text) return { error: "a note needs text" };
  const id = `n${Date.now()}`;
  await context.cloudflare.env.NOTES.put(id, text);
  return redirect(`/notes/${id}`);
}

export default function Home() {
  const { notes } = useLoaderData<typeof loader>();
  return (
    <main>
      <h1>Notes ({notes.length})</h1>
      <ul>
        {notes.map((n) => (
          <li key={n.id}>{n.text}</li>
        ))}
      </ul>
      <Form method="post">
        <input name="text" />
        <button type="submit">Add</button>
      </Form>
    </main>
  );
}
