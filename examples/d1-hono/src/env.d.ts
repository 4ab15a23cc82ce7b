// Minimal Workers types for this example (esbuild strips types; install
// @cloudflare/workers-types for the full set).
interface D1Database {
  prepare(query: string): unknown;
  batch(statements: unknown[]): Promise<unknown[]>;
  exec(query: string): Promise<{ count: number; duration: number }>;
}
