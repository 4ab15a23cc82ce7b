// Server rendering with React's web-streams renderer (as Cloudflare's
// React Router template does), not Node's pipeable stream.
import { isbot } from "isbot";
import { renderToReadableStream } from "react-dom/server";
import type { AppLoadContext, EntryContext } from "react-router";
import { ServerRouter } from "react-router";

export default async function handleRequest(
  request: Request,
  status: number,
  headers: Headers,
  context: EntryContext,
  _load: AppLoadContext,
) {
  let failed = false;
  const body = await renderToReadableStream(<ServerRouter context={context} url={request.url} />, {
    signal: request.signal,
    onError(error: unknown) {
      failed = true;
      console.error(error);
    },
  });
  if (isbot(request.headers.get("user-agent") || "")) await body.allReady;
  headers.set("Content-Type", "text/html");
  return new Response(body, { headers, status: failed ? 500 : status });
}
