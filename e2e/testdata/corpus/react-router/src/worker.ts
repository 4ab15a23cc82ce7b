// The Worker: React Router's request handler over the server build that
// `npm run build` (react-router build) writes to build/server, loaded with
// a dynamic import() on the first request, as Cloudflare's template does.
import { createRequestHandler } from "react-router";

const handler = createRequestHandler(() => import("../build/server/index.js") as never, "production");

export default {
  fetch(request: Request, env: unknown, ctx: ExecutionContext): Promise<Response> {
    return handler(request, { cloudflare: { env, ctx } });
  },
};
