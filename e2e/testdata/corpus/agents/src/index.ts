import { Agent, routeAgentRequest, callable } from "agents";

type State = { count: number };

export class MyAgent extends Agent<unknown, State> {
  initialState: State = { count: 0 };

  async onRequest(request: Request): Promise<Response> {
    this.setState({ count: this.state.count + 1 });
    this.sql`CREATE TABLE IF NOT EXISTS hits (at TEXT)`;
    this.sql`INSERT INTO hits VALUES (${new Date().toISOString()})`;
    const [{ n }] = this.sql<{ n: number }>`SELECT count(*) AS n FROM hits`;
    return Response.json({ agent: this.name, count: this.state.count, hits: n });
  }
}

export default {
  async fetch(request: Request, env: unknown): Promise<Response> {
    return (await routeAgentRequest(request, env)) ?? new Response("no agent here", { status: 404 });
  },
};
