// ioredis (a Redis client on node:net) talks to the Redis server named by
// ?host=&port=: SET, INCR twice, GET, a pipeline, then QUIT.
import Redis from "ioredis";

export default {
  async fetch(req: Request): Promise<Response> {
    const u = new URL(req.url);
    const redis = new Redis({
      host: u.searchParams.get("host")!,
      port: Number(u.searchParams.get("port")),
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
    });
    try {
      await redis.connect();
      await redis.set("greeting", "hello from cairn");
      await redis.incr("hits");
      const hits = await redis.incr("hits");
      const greeting = await redis.get("greeting");
      const piped = await redis.pipeline().set("a", "1").get("a").exec();
      await redis.quit();
      return Response.json({ greeting, hits, piped });
    } catch (e) {
      redis.disconnect();
      return new Response(String((e as Error).stack || e), { status: 500 });
    }
  },
};
