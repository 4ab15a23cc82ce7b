// A partyserver chat room: every message a connection sends is broadcast
// to the room's other connections. Chat keeps its sockets in memory
// (partyserver's non-hibernating path: iterator helpers over a Map, sockets
// filtered by WebSocket.READY_STATE_OPEN); HibernatingChat uses the
// Hibernation API.
import { Server, routePartykitRequest, type Connection } from "partyserver";

export class Chat extends Server {
  onConnect(conn: Connection) {
    conn.send(`welcome ${conn.id.slice(0, 0)}to ${this.name}`);
  }
  onMessage(sender: Connection, message: string) {
    this.broadcast(`${message}`, [sender.id]);
  }
}

export class HibernatingChat extends Chat {
  static options = { hibernate: true };
}

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    return (await routePartykitRequest(request, env)) ?? new Response("no party here", { status: 404 });
  },
};
