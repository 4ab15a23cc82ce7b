// Durable Objects as Worker code sees them: DurableObjectNamespace, Id and
// Stub in env, and the DurableObjectState (ctx) with its storage. The natives
// (jsrt/fetch.go, jsrt/object.go, jsrt/object_storage.go) do the work; this file gives
// it Cloudflare's shape: argument checks, error texts, Maps and Promises.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;

  // readOnly defines the own, enumerable, read-only properties workerd
  // gives ids and stubs (Object.keys, JSON.stringify and spreads see them).
  const readOnly = (o, props) => {
    for (const [k, v] of props) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: false });
  };

  class DurableObjectId {
    #hex;
    constructor(hex, name, jurisdiction) {
      this.#hex = hex;
      readOnly(this, [["jurisdiction", jurisdiction], ["name", name]]);
    }
    toString() { return this.#hex; }
    equals(other) { return other instanceof DurableObjectId && other.#hex === this.#hex; }
  }
  cairn.makeId = (hex, name, jurisdiction) => new DurableObjectId(hex, name, jurisdiction);

  // DurableObjectStub sends fetch() and JS RPC calls to one object. Any
  // other member is an RPC method or property (stub.inc(), await stub.n).
  // Once a call fails because the object was reset, the stub stays broken.
  class DurableObjectStub {
    #native;
    #id;
    #broken;
    constructor(native, id) {
      this.#native = native;
      this.#id = id;
      readOnly(this, [["name", id.name], ["id", id]]);
      const invoke = (path, args) => this.#call(path, args);
      const stub = new Proxy(this, {
        get(target, prop) {
          if (typeof prop === "symbol" || prop in target) {
            const v = Reflect.get(target, prop, target);
            return typeof v === "function" ? v.bind(target) : v;
          }
          // Not RPC members: a stub is no thenable, and JSON.stringify
          // sees its own properties (as on workerd).
          if (prop === "then" || prop === "toJSON") return undefined;
          return cairn.stubMember(invoke, prop);
        },
      });
      return cairn.markStub(stub);
    }
    #check() {
      if (this.#broken) return Promise.reject(this.#broken);
      return undefined;
    }
    #watch(promise) {
      return promise.catch((e) => {
        if (e && e.durableObjectReset) this.#broken = e;
        throw e;
      });
    }
    #call(path, args) {
      return this.#check() ?? this.#watch(this.#native.call(this.#id.toString(), this.#id.name ?? "", path, args));
    }
    async fetch(input, init) {
      const broken = this.#check();
      if (broken) return broken;
      const req = new Request(input, init);
      const wire = await cairn.requestToWire(req);
      const p = this.#native.fetch(this.#id.toString(), this.#id.name ?? "", wire);
      // The request's signal (an incoming request's aborts when its client
      // goes away) aborts the object's request.signal too: Go cancels the
      // event's context (wire.abort).
      const signal = cairn.requestSignal(req);
      if (signal && typeof wire.abort === "function") {
        if (signal.aborted) wire.abort();
        else signal.addEventListener("abort", () => wire.abort(), { once: true });
      }
      const res = await this.#watch(p);
      return cairn.responseFromWire(res);
    }
  }

  const JURISDICTIONS = ["eu", "fedramp", "fedramp-high", "us"];

  // DurableObjectNamespace mints ids and stubs. jurisdiction(j) gives a
  // sub-namespace whose ids are confined to j (distinct from the same names
  // elsewhere); the top-level namespace accepts ids of any jurisdiction.
  class DurableObjectNamespace {
    #native;
    #jurisdiction;
    constructor(native, jurisdiction) {
      this.#native = native;
      this.#jurisdiction = jurisdiction;
    }
    idFromName(name) {
      name = String(name);
      return new DurableObjectId(this.#native.idFromName(name, this.#jurisdiction ?? ""), name, this.#jurisdiction);
    }
    newUniqueId(options) {
      let j = this.#jurisdiction;
      if (options && options.jurisdiction !== undefined) {
        if (j !== undefined && options.jurisdiction !== j) {
          throw new TypeError(`newUniqueId() jurisdiction "${options.jurisdiction}" does not match the namespace's "${j}".`);
        }
        j = String(options.jurisdiction);
      }
      return new DurableObjectId(this.#native.newUniqueId(j ?? ""), undefined, j);
    }
    idFromString(hex) {
      hex = String(hex);
      const j = this.#native.jurisdictionOf(hex);
      this.#checkJurisdiction(j);
      return new DurableObjectId(this.#native.idFromString(hex), undefined, j);
    }
    #checkJurisdiction(j) {
      if (this.#jurisdiction !== undefined && j !== this.#jurisdiction) {
        throw new TypeError(`The Durable Object ID's jurisdiction (${j ?? "none"}) does not match this namespace's jurisdiction (${this.#jurisdiction}).`);
      }
    }
    get(id, options) {
      if (!(id instanceof DurableObjectId)) {
        throw new TypeError("Failed to execute 'get' on 'DurableObjectNamespace': parameter 1 is not of type 'DurableObjectId'.");
      }
      this.#checkJurisdiction(id.jurisdiction);
      // options.locationHint is accepted: a single node has one location.
      return new DurableObjectStub(this.#native, id);
    }
    getByName(name, options) { return this.get(this.idFromName(name), options); }
    jurisdiction(j) {
      if (!JURISDICTIONS.includes(j)) {
        throw new TypeError(`Invalid jurisdiction "${j}": must be one of ${JURISDICTIONS.join(", ")}.`);
      }
      return new DurableObjectNamespace(this.#native, j);
    }
  }

  // --- SQL ---

  class SqlStorageCursor {
    #columns;
    #rows;
    #pos = 0;
    #rowsRead;
    #rowsWritten;
    constructor(result) {
      this.#columns = result.columns;
      this.#rows = result.rows || [];
      this.#rowsRead = result.rowsRead;
      this.#rowsWritten = result.rowsWritten;
    }
    get columnNames() { return this.#columns.slice(); }
    get rowsRead() { return this.#rowsRead; }
    get rowsWritten() { return this.#rowsWritten; }
    #object(row) {
      const o = {};
      for (let i = 0; i < this.#columns.length; i++) o[this.#columns[i]] = row[i];
      return o;
    }
    next() {
      if (this.#pos >= this.#rows.length) return { done: true }; // workerd: no value key
      return { done: false, value: this.#object(this.#rows[this.#pos++]) };
    }
    toArray() {
      const out = [];
      while (this.#pos < this.#rows.length) out.push(this.#object(this.#rows[this.#pos++]));
      return out;
    }
    one() {
      const rest = this.#rows.length - this.#pos;
      if (rest === 0) throw new Error("Expected exactly one result from SQL query, but got no results.");
      if (rest > 1) throw new Error("Expected exactly one result from SQL query, but got multiple results.");
      return this.#object(this.#rows[this.#pos++]);
    }
    raw() {
      const self = this;
      const rows = this.#rows;
      return {
        next() {
          if (self.#pos >= rows.length) return { done: true };
          return { done: false, value: rows[self.#pos++].slice() };
        },
        toArray() {
          const out = [];
          while (self.#pos < rows.length) out.push(rows[self.#pos++].slice());
          return out;
        },
        [Symbol.iterator]() { return this; },
      };
    }
    [Symbol.iterator]() { return this; }
  }

  class SqlStorage {
    #native;
    constructor(native) { this.#native = native; }
    exec(query, ...bindings) {
      if (typeof query !== "string") throw new TypeError("exec() requires a SQL string");
      return new SqlStorageCursor(this.#native.exec(query, ...bindings));
    }
    get databaseSize() { return this.#native.databaseSize(); }
    // workerd's test hook: bounds this instance's database to count pages
    // (PRAGMA max_page_count), so a test can reach SQLITE_FULL.
    setMaxPageCountForTest(count) { this.#native.setMaxPageCount(Number(count)); }
  }

  // --- KV ---

  const MAX_KEYS = 128;

  function checkKeys(keys) {
    if (keys.length > MAX_KEYS) {
      throw new RangeError(`Maximum number of key value pairs is ${MAX_KEYS}. ${keys.length} pairs were provided.`);
    }
    return keys.map(String);
  }

  function listOptions(options) {
    options = options || {};
    if (options.start !== undefined && options.startAfter !== undefined) {
      throw new TypeError("list() cannot be called with both start and startAfter values.");
    }
    if (options.limit !== undefined && !(options.limit > 0)) {
      throw new TypeError("List limit must be positive.");
    }
    return options;
  }

  class SyncKvStorage {
    #native;
    constructor(native) { this.#native = native; }
    get(key) { return this.#native.get(String(key)); }
    put(key, value) {
      if (value === undefined) throw new TypeError("put() called with undefined value.");
      this.#native.put(String(key), value, false); // last: allowUnconfirmed
    }
    delete(key) { return this.#native.delete(String(key), false); }
    list(options) { return this.#native.list(listOptions(options))[Symbol.iterator](); }
  }

  // unconfirmed: the allowUnconfirmed option of a write, passed to the
  // natives as their last argument.
  const unconfirmed = (options) => !!(options && options.allowUnconfirmed);

  class DurableObjectStorage {
    #native;
    #sql;
    #kv;
    #state; // {block, unblock} of the object, for transaction()
    #txDepth = 0;
    constructor(native, state) {
      this.#native = native;
      this.#state = state;
      this.#sql = new SqlStorage(native);
      this.#kv = new SyncKvStorage(native);
    }
    get sql() { return this.#sql; }
    get kv() { return this.#kv; }

    async get(keys, options) {
      if (Array.isArray(keys)) return new Map(this.#native.getMany(checkKeys(keys)));
      return this.#native.get(String(keys));
    }
    async put(keyOrEntries, value, options) {
      if (typeof keyOrEntries === "object" && keyOrEntries !== null) {
        const entries = Object.entries(keyOrEntries);
        checkKeys(entries.map((e) => e[0]));
        for (const [, v] of entries) {
          if (v === undefined) throw new TypeError("put() called with undefined value.");
        }
        this.#native.putMany(entries, unconfirmed(value));
        return;
      }
      if (value === undefined) throw new TypeError("put() called with undefined value.");
      this.#native.put(String(keyOrEntries), value, unconfirmed(options));
    }
    async delete(keys, options) {
      if (Array.isArray(keys)) return this.#native.deleteMany(checkKeys(keys), unconfirmed(options));
      return this.#native.delete(String(keys), unconfirmed(options));
    }
    async list(options) { return new Map(this.#native.list(listOptions(options))); }
    async deleteAll(options) {
      if (this.#txDepth > 0) throw new Error("Cannot call deleteAll() within a transaction");
      this.#native.deleteAll(unconfirmed(options));
    }
    sync() { return this.#native.sync(); }

    // Point-in-time recovery: bookmarks name states of the storage, in
    // order; onNextSessionRestoreBookmark restores one when the object next
    // starts (ctx.abort() restarts it) and returns the bookmark undoing it.
    async getCurrentBookmark() { return this.#native.getCurrentBookmark(); }
    async getBookmarkForTime(timestamp) {
      const ms = timestamp instanceof Date ? timestamp.getTime() : Number(timestamp);
      if (!Number.isFinite(ms)) throw new TypeError("getBookmarkForTime() requires a Date or a number of milliseconds since the epoch");
      return this.#native.getBookmarkForTime(Math.trunc(ms));
    }
    async onNextSessionRestoreBookmark(bookmark) {
      if (typeof bookmark !== "string") throw new TypeError("onNextSessionRestoreBookmark() requires a bookmark string");
      return this.#native.onNextSessionRestoreBookmark(bookmark);
    }
    async getAlarm(options) { return this.#native.getAlarm(); }
    async setAlarm(scheduledTime, options) {
      const ms = scheduledTime instanceof Date ? scheduledTime.getTime() : Number(scheduledTime);
      if (!Number.isFinite(ms)) throw new TypeError("setAlarm() requires a Date or a number of milliseconds since the epoch");
      if (ms <= 0) throw new TypeError("setAlarm() cannot be called with an alarm time <= 0");
      this.#native.setAlarm(Math.trunc(ms), unconfirmed(options));
    }
    async deleteAlarm(options) { this.#native.deleteAlarm(unconfirmed(options)); }

    // transactionSync runs fn in a savepoint: a throw rolls its writes back
    // and is rethrown.
    transactionSync(fn) {
      if (typeof fn !== "function") throw new TypeError("transactionSync() requires a function");
      this.#native.savepoint();
      let result;
      try {
        result = fn();
      } catch (e) {
        this.#native.rollbackSavepoint();
        throw e;
      }
      if (result !== null && typeof result === "object" && typeof result.then === "function") {
        this.#native.rollbackSavepoint();
        throw new TypeError("transactionSync() callback returned a Promise; it must be synchronous (use transaction() for async work).");
      }
      this.#native.releaseSavepoint();
      return result;
    }

    // transaction runs fn in a savepoint while no other event reaches the
    // object (as workerd does, through blockConcurrencyWhile): a throw or
    // txn.rollback() undoes its writes.
    async transaction(fn) {
      if (typeof fn !== "function") throw new TypeError("transaction() requires a function");
      const native = this.#native;
      this.#state.block();
      native.savepoint();
      this.#txDepth++;
      const txn = new DurableObjectTransaction(this, () => native.rollbackSavepoint());
      try {
        const result = await fn(txn);
        if (!txn._rolledBack) native.releaseSavepoint();
        return result;
      } catch (e) {
        if (!txn._rolledBack) native.rollbackSavepoint();
        throw e;
      } finally {
        this.#txDepth--;
        this.#state.unblock();
      }
    }
  }

  // DurableObjectTransaction is the txn of transaction(); on SQLite storage it
  // is the storage itself plus rollback().
  class DurableObjectTransaction {
    #storage;
    #rollback;
    constructor(storage, rollback) {
      this.#storage = storage;
      this.#rollback = rollback;
      this._rolledBack = false;
    }
    #check(op) {
      if (this._rolledBack) throw new Error(`Cannot ${op} on rolled back transaction`);
    }
    get(keys, options) { this.#check("get"); return this.#storage.get(keys, options); }
    put(key, value, options) { this.#check("put"); return this.#storage.put(key, value, options); }
    delete(keys, options) { this.#check("delete"); return this.#storage.delete(keys, options); }
    list(options) { this.#check("list"); return this.#storage.list(options); }
    getAlarm(options) { this.#check("getAlarm"); return this.#storage.getAlarm(options); }
    setAlarm(t, options) { this.#check("setAlarm"); return this.#storage.setAlarm(t, options); }
    deleteAlarm(options) { this.#check("deleteAlarm"); return this.#storage.deleteAlarm(options); }
    rollback() {
      this.#check("rollback");
      this._rolledBack = true;
      this.#rollback();
    }
  }

  cairn.makeNamespace = (native) => new DurableObjectNamespace(native);

  // MAX_BLOCK_DEPTH is how many blockConcurrencyWhile sections may be open
  // at once, nested in each other's callbacks (workerd's limit).
  const MAX_BLOCK_DEPTH = 64;

  cairn.makeState = (native) => {
    const id = new DurableObjectId(native.id, native.name, native.jurisdiction);
    const storage = new DurableObjectStorage(native.storage, native);
    let blockDepth = 0; // open blockConcurrencyWhile sections
    return {
      id,
      storage,
      // exports: the Worker's own entrypoints and namespaces (ctx.exports)
      get exports() { return native.exports(); },
      waitUntil(promise) {},
      // blockConcurrencyWhile holds every other event until callback
      // settles; if it throws or rejects, the object is reset.
      // Past MAX_BLOCK_DEPTH nested sections the call rejects (the
      // object is not reset by it).
      blockConcurrencyWhile(callback) {
        if (blockDepth >= MAX_BLOCK_DEPTH) {
          return Promise.reject(new Error("blockConcurrencyWhile() calls are nested too deeply."));
        }
        native.block();
        blockDepth++;
        let result;
        try {
          result = Promise.resolve(callback());
        } catch (e) {
          blockDepth--;
          native.unblock();
          native.breakObject(e);
          return Promise.reject(e);
        }
        return result.then(
          (v) => { blockDepth--; native.unblock(); return v; },
          (e) => { blockDepth--; native.unblock(); native.breakObject(e); throw e; });
      },
      // abort resets the object: the current calls fail with reason and
      // writes not yet committed are discarded.
      abort(reason) {
        const e = new Error(reason === undefined ? "Application called abort() to reset Durable Object." : String(reason));
        native.breakObject(e);
        throw e;
      },
    };
  };
})();
