import { data, useLoaderData } from "react-router";

type Context = { cloudflare: { env: { NOTES: KVNamespace } } };

export async function loader({ params, context }: { params: { id: string }; context: Context }) {
  const text = await context.cloudflare.env.NOTES.get(params.id);
  if (text === null) throw data("no such note", { status: 404 });
  return { id: params.id, text };
}

export default function Note() {
  const note = useLoaderData<typeof loader>();
  return (
    <article>
      <h1>Note {note.id}</h1>
      <p>{note.text}</p>
    </article>
  );
}
