// WebSocket benchmark Worker + Durable Object, run unmodified by cairn and
// workerd (bench/cmd/wsbench). Routes (WebSocket upgrades):
//
//   /echo          stateless Worker: accept(), echo every message
//   /room?id=NAME  object NAME: hibernatable socket (ctx.acceptWebSocket);
//                  echoes, and "bcast" sends "b" to every socket of the object
import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  async fetch(request) {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage(ws, msg) {
    if (msg === "bcast") {
      for (const s of this.ctx.getWebSockets()) s.send("b");
      return;
    }
    ws.send(msg);
  }
  webSocketClose(ws, code, reason) {
    try { ws.close(1000, "bye"); } catch {}
  }
}

export default {
  fetch(request, env) {
    if (request.headers.get("Upgrade") !== "websocket") return new Response("WebSocket only", { status: 426 });
    const url = new URL(request.url);
    if (url.pathname === "/room") return env.ROOM.getByName(url.searchParams.get("id") ?? "room").fetch(request);
    const [client, server] = Object.values(new WebSocketPair());
    server.accept();
    server.addEventListener("message", (e) => server.send(e.data));
    return new Response(null, { status: 101, webSocket: client });
  },
};
