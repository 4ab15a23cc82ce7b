// A D1 backend for workerd, in the manner of Miniflare's: workerd's own D1
// binding (the wrapped module cloudflare-internal:d1-api) sends its queries
// as HTTP to this service, which runs them in a SQLite Durable Object. Only
// bench/cmd/compare uses it, so that the D1 scenarios run on workerd too;
// cairn serves the same binding natively.
//
// Protocol (from workerd's d1-api.ts): POST /query or /execute with
// ?resultsFormat=ROWS_AND_COLUMNS|NONE and a JSON body {sql, params} or an
// array of them; the answer is {success, meta, results: {columns, rows}}
// (or an array), or {success: false, error}.
import { DurableObject } from "cloudflare:workers";

export class D1Backend extends DurableObject {
  async fetch(request) {
    const url = new URL(request.url);
    const body = await request.json();
    const queries = Array.isArray(body) ? body : [body];
    const withRows = url.searchParams.get("resultsFormat") !== "NONE";
    const sql = this.ctx.storage.sql;
    let results;
    try {
      // A batch is atomic, as on D1.
      results = this.ctx.storage.transactionSync(() =>
        queries.map((q) => {
          const start = performance.now();
          const cursor = sql.exec(q.sql, ...(q.params ?? []));
          const rows = withRows ? Array.from(cursor.raw()) : (cursor.toArray(), []);
          const meta = {
            served_by: "workerd-d1-backend",
            duration: performance.now() - start,
            changes: cursor.rowsWritten,
            last_row_id: sql.exec("SELECT last_insert_rowid() AS id").one().id,
            changed_db: cursor.rowsWritten > 0,
            size_after: sql.databaseSize,
            rows_read: cursor.rowsRead,
            rows_written: cursor.rowsWritten,
          };
          return { success: true, meta, results: withRows ? { columns: cursor.columnNames, rows } : undefined };
        }),
      );
    } catch (e) {
      const failure = { success: false, error: String(e && e.message) };
      return Response.json(Array.isArray(body) ? [failure] : failure);
    }
    return Response.json(Array.isArray(body) ? results : results[0]);
  }
}

export default {
  fetch(request, env) {
    return env.D1.get(env.D1.idFromName("bench")).fetch(request);
  },
};
