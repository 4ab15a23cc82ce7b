// The API of the single-page app in ../public. Everything outside /api/* is
// a static asset (or index.html, for the app's client-side routes) served
// without running this code.
import notes from "./notes.md";

interface Env {
  ASSETS: Fetcher;
  KV: KVNamespace;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/api/hello":
        console.log("hello from", request.cf?.country);
        return Response.json({ hello: "world", country: request.cf?.country, colo: request.cf?.colo });
      case "/api/notes":
        return new Response(notes, { headers: { "Content-Type": "text/markdown" } });
      case "/api/page": {
        // The asset at another path, through the binding.
        const page = await env.ASSETS.fetch(new Request(new URL("/about", url)));
        return new Response(`${page.status} ${page.headers.get("Content-Type")} ${await page.text()}`);
      }
      case "/api/cron":
        return new Response((await env.KV.get("last-cron")) ?? "never");
      case "/api/time": {
        // The Cache API: the first answer is kept for 60 s.
        const cache = caches.default;
        const hit = await cache.match(request);
        if (hit) return hit;
        const fresh = new Response(String(Date.now()), { headers: { "Cache-Control": "max-age=60" } });
        await cache.put(request, fresh.clone());
        return fresh;
      }
    }
    // Other /api/* paths: what the assets would answer (index.html).
    return env.ASSETS.fetch(request);
  },

  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    await env.KV.put("last-cron", `${controller.cron} at ${controller.scheduledTime}`);
  },
};
