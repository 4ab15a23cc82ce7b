// nodejs_compat as real code meets it: simple-get (an npm HTTP client on
// node:http/https), Express 4 served by cloudflare:node's httpServerHandler,
// node:fs's virtual file system, zlib's brotli, and process.env.
import get from "simple-get";
import express from "express";
import { httpServerHandler } from "cloudflare:node";
import fs from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import zlib from "node:zlib";
import process from "node:process";

const app = express();
app.use(express.json());
app.get("/express/hello/:name", (req, res) => {
  res.set("X-Powered", "express").json({ hello: req.params.name, q: req.query.q ?? null });
});
app.post("/express/echo", (req, res) => res.status(201).json({ got: req.body }));
app.use((req, res) => res.status(404).send("no express route"));
const expressHandler = httpServerHandler(app.listen(3000));

export default {
  async fetch(request) {
    const url = new URL(request.url);
    switch (url.pathname) {
      case "/get": {
        // simple-get's concat: the whole response body of a node:http request.
        const target = url.searchParams.get("url");
        return await new Promise((resolve) => {
          get.concat({ url: target, headers: { "x-from": "simple-get" } }, (err, res, data) => {
            if (err) resolve(new Response("error: " + err.message, { status: 502 }));
            else resolve(Response.json({ status: res.statusCode, header: res.headers["x-up"], body: data.toString() }));
          });
        });
      }
      case "/fs": {
        // Each request has a /tmp of its own: what an earlier request wrote is gone.
        const before = fs.readdirSync("/tmp");
        fs.mkdirSync("/tmp/a/b", { recursive: true });
        await writeFile("/tmp/a/b/note.txt", url.searchParams.get("v") ?? "");
        fs.appendFileSync("/tmp/a/b/note.txt", "!");
        let bundleWrite;
        try { fs.writeFileSync("/bundle/x", "no"); } catch (e) { bundleWrite = e.code; }
        return Response.json({
          before,
          note: await readFile("/tmp/a/b/note.txt", "utf8"),
          bundle: fs.readdirSync("/bundle").length > 0,
          bundleWrite,
          zero: fs.readFileSync("/dev/null").length,
        });
      }
      case "/brotli": {
        // The request body is brotli-compressed; the answer is the text,
        // compressed again, as Content-Encoding says.
        const text = zlib.brotliDecompressSync(Buffer.from(await request.arrayBuffer())).toString();
        return new Response(zlib.brotliCompressSync(text.toUpperCase()), { headers: { "x-text-length": String(text.length) } });
      }
      case "/env":
        return new Response(process.env.GREETING ?? "(unset)");
    }
    if (url.pathname.startsWith("/express")) return expressHandler.fetch(request);
    return new Response("not found", { status: 404 });
  },
};
