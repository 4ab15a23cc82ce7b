// D1 as Worker code sees it: env.DB is a D1Database with prepare/bind,
// first/all/run/raw, batch, exec, dump and withSession (spec 7.2–7.5). The
// natives (jsrt/d1.go) run queries off the loop; this file gives them
// Cloudflare's shape: bind's type checks, result objects, error texts and
// session bookmarks.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;

  // V8's Error.captureStackTrace, which ORMs' error classes call on D1
  // failures (drizzle-orm's DrizzleQueryError); goja has no such function.
  if (typeof Error.captureStackTrace !== "function") {
    Object.defineProperty(Error, "captureStackTrace", {
      value: function captureStackTrace(target) {
        if (target !== null && typeof target === "object") {
          const stack = new Error().stack;
          Object.defineProperty(target, "stack", { value: stack, writable: true, configurable: true });
        }
      },
      writable: true,
      configurable: true,
    });
  }

  function d1Error(kind, text) {
    const e = new Error(`${kind}: ${text}`);
    e.cause = new Error(text);
    return e;
  }

  // bind's conversion (spec 7.2): numbers and strings as they are, booleans
  // as 1/0, null, byte arrays and buffers as BLOBs; anything else throws.
  function convertParam(r) {
    const t = typeof r;
    if (t === "number" || t === "string") return r;
    if (t === "boolean") return r ? 1 : 0;
    if (t === "object") {
      if (r === null) return r;
      if (Array.isArray(r) && r.every((b) => typeof b === "number" && Number.isInteger(b) && b >= 0 && b < 256)) return r;
      if (r instanceof ArrayBuffer) return new Uint8Array(r.slice(0));
      if (ArrayBuffer.isView(r)) return new Uint8Array(r.buffer.slice(r.byteOffset, r.byteOffset + r.byteLength));
    }
    let shown;
    try { shown = String(r); } catch { shown = Object.prototype.toString.call(r); }
    throw d1Error("D1_TYPE_ERROR", `Type '${t}' not supported for value '${shown}'`);
  }

  function toObjects(columns, rows) {
    const out = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const o = {};
      for (let j = 0; j < columns.length; j++) o[columns[j]] = row[j];
      out[i] = o;
    }
    return out;
  }

  function toResult(r) {
    return { success: true, meta: r.meta, results: toObjects(r.columns, r.rows) };
  }

  const CONSTRAINTS = new Set(["first-primary", "first-unconstrained"]);

  class D1DatabaseSession {
    #native;
    #token; // the constraint or the newest bookmark; null: no session (always the primary)
    constructor(native, token) {
      this.#native = native;
      this.#token = token;
    }

    getBookmark() {
      if (this.#token === null || CONSTRAINTS.has(this.#token)) return null;
      return this.#token;
    }

    prepare(query) {
      return new D1PreparedStatement(this, String(query), []);
    }

    async batch(statements) {
      if (!Array.isArray(statements)) throw new TypeError("batch() expects an array of D1PreparedStatement");
      for (const s of statements) {
        if (!(s instanceof D1PreparedStatement)) throw new TypeError("batch() expects an array of D1PreparedStatement");
      }
      const res = await this._send(statements.map((s) => s._wire()));
      return res.map(toResult);
    }

    async _send(stmts) {
      const resp = await this.#native.batch(stmts, this.#token ?? "");
      const b = resp.bookmark;
      if (this.#token !== null && b && (CONSTRAINTS.has(this.#token) || b > this.#token)) {
        this.#token = b; // never moves backwards (string order is history order)
      }
      return resp.results;
    }
  }

  class D1PreparedStatement {
    #session;
    constructor(session, statement, params) {
      this.#session = session;
      this.statement = statement;
      this.params = params;
    }

    bind(...values) {
      return new D1PreparedStatement(this.#session, this.statement, values.map(convertParam));
    }

    _wire() {
      return { sql: this.statement, params: this.params };
    }

    async #one() {
      const res = await this.#session._send([this._wire()]);
      return res[0];
    }

    async first(colName) {
      const r = await this.#one();
      if (r.rows.length === 0) return null;
      const row = toObjects(r.columns, [r.rows[0]])[0];
      if (colName === undefined) return row;
      if (row[colName] === undefined) {
        const e = new Error(`D1_COLUMN_NOTFOUND: Column not found (${colName})`);
        e.cause = new Error("Column not found");
        throw e;
      }
      return row[colName];
    }

    async all() {
      return toResult(await this.#one());
    }

    async run() {
      return toResult(await this.#one());
    }

    async raw(options) {
      const r = await this.#one();
      const rows = r.rows.slice();
      if (options && options.columnNames) rows.unshift(r.columns.slice());
      return rows;
    }
  }

  class D1Database {
    #native;
    #primary;
    constructor(native) {
      this.#native = native;
      this.#primary = new D1DatabaseSession(native, null);
    }

    prepare(query) {
      return this.#primary.prepare(query);
    }

    batch(statements) {
      return this.#primary.batch(statements);
    }

    async exec(query) {
      return this.#native.exec(String(query));
    }

    async dump() {
      return this.#native.dump();
    }

    async query() {
      throw new Error("D1_ERROR: D1Database.query() requires the d1_binding_jsrpc compatibility flag. Enable d1_binding_jsrpc before calling query().");
    }

    withSession(constraintOrBookmark) {
      let token = constraintOrBookmark === undefined ? "" : String(constraintOrBookmark).trim();
      if (token === "") token = "first-unconstrained";
      return new D1DatabaseSession(this.#native, token);
    }
  }

  cairn.makeD1 = (native) => new D1Database(native);
})();
