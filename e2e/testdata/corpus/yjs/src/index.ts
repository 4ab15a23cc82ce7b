// A collaborative Y.Doc served by y-partyserver (Yjs over partyserver):
// clients speak the y-websocket sync and awareness protocol to
// /parties/document/<room>; the document is saved to the object's SQLite
// storage (onSave, debounced) and loaded from it when the object starts
// again (onLoad), so it outlives eviction and restarts.
// GET /text/<room> answers the room's shared text "t" as the server sees it.
import { routePartykitRequest } from "partyserver";
import { YServer } from "y-partyserver";
import * as Y from "yjs";

export class Document extends YServer {
  static callbackOptions = { debounceWait: 50, debounceMaxWait: 200 };
  static options = { hibernate: true };

  async onLoad() {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS doc (id INTEGER PRIMARY KEY, state BLOB)");
    const rows = this.ctx.storage.sql.exec("SELECT state FROM doc WHERE id = 1").toArray();
    if (rows.length === 0) return;
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(rows[0].state as ArrayBuffer));
    return doc;
  }

  async onSave() {
    const state = Y.encodeStateAsUpdate(this.document);
    this.ctx.storage.sql.exec("INSERT OR REPLACE INTO doc (id, state) VALUES (1, ?)", state);
  }

  async onRequest(): Promise<Response> {
    return Response.json({ text: this.document.getText("t").toString(), saves: this.ctx.storage.sql.exec("SELECT count(*) AS n FROM doc").one().n });
  }
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const url = new URL(request.url);
    const m = url.pathname.match(/^\/text\/([\w-]+)$/);
    if (m) {
      return routePartykitRequest(new Request(new URL(`/parties/document/${m[1]}`, url), request), env).then((r) => r ?? new Response("no document", { status: 404 }));
    }
    return (await routePartykitRequest(request, env)) ?? new Response("no party here", { status: 404 });
  },
};
