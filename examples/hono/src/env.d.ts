// Minimal Workers types for this example (esbuild strips types; install
// @cloudflare/workers-types for the full set).
declare module "cloudflare:workers" {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}
interface DurableObjectState {
  storage: any;
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}
interface DurableObjectNamespace<T = unknown> {
  getByName(name: string): { fetch(req: Request): Promise<Response> };
}
