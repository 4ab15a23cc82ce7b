// The few Workers types this example uses, declared here so the project
// needs no npm install (esbuild strips types; @cloudflare/workers-types
// would give the full set).
declare module "cloudflare:workers" {
  export abstract class DurableObject<Env = unknown> {
    protected ctx: DurableObjectState;
    protected env: Env;
    constructor(ctx: DurableObjectState, env: Env);
  }
}

interface DurableObjectId {
  toString(): string;
  equals(other: DurableObjectId): boolean;
  readonly name?: string;
}

interface SqlStorageCursor<T> extends Iterable<T> {
  one(): T;
  toArray(): T[];
}

interface DurableObjectState {
  readonly id: DurableObjectId;
  readonly storage: {
    sql: { exec<T = Record<string, unknown>>(query: string, ...bindings: unknown[]): SqlStorageCursor<T> };
    get<T>(key: string): Promise<T | undefined>;
    put<T>(key: string, value: T): Promise<void>;
  };
  blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T>;
}

interface DurableObjectStub {
  fetch(input: string | Request, init?: RequestInit): Promise<Response>;
}

interface DurableObjectNamespace {
  getByName(name: string): DurableObjectStub;
}
