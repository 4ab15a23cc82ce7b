// The Cache API as workerd has it: globalThis.caches with caches.default and
// caches.open(name), each a Cache with match, put and delete. The natives
// (jsrt/cache.go) reach the Worker's store (package cache) off the loop;
// the checks workerd makes before a request leaves are here.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const internal = Symbol("cache");

  function toRequest(request) {
    return request instanceof Request ? request : new Request(request);
  }

  // keyWire is the wire of the request without its body, which the cache
  // does not read (and must not consume).
  function keyWire(req) {
    return cairn.requestToWire(new Request(req.url, { method: req.method, headers: req.headers }));
  }

  class Cache {
    #name;
    constructor(token, name) {
      if (token !== internal) throw new TypeError("Illegal constructor");
      this.#name = name;
    }
    async match(request, options) {
      const req = toRequest(request);
      const ignoreMethod = !!(options && options.ignoreMethod);
      const wire = await cairn.cacheMatch(this.#name, await keyWire(req), ignoreMethod);
      return wire === undefined ? undefined : cairn.responseFromWire(wire);
    }
    async put(request, response) {
      const req = toRequest(request);
      if (!(response instanceof Response)) throw new TypeError("Cache.put: the second argument must be a Response.");
      if (req.method !== "GET") throw new TypeError("Cannot cache response to non-GET request.");
      if (response.status === 206) throw new TypeError("Cannot cache response to a range request (206 Partial Content).");
      if ((response.headers.get("vary") || "").split(",").some((v) => v.trim() === "*")) {
        throw new TypeError("Cannot cache response with 'Vary: *' header.");
      }
      if (response.webSocket) throw new TypeError("Cannot cache WebSocket upgrade response.");
      if (response.bodyUsed) {
        throw new TypeError("Body has already been used. It can only be used once. Use tee() first if you need to read it twice.");
      }
      const reqWire = await keyWire(req);
      const resWire = await cairn.responseToWire(response);
      await cairn.cachePut(this.#name, reqWire, resWire);
    }
    async delete(request, options) {
      const req = toRequest(request);
      const ignoreMethod = !!(options && options.ignoreMethod);
      return cairn.cacheDelete(this.#name, await keyWire(req), ignoreMethod);
    }
    get [Symbol.toStringTag]() { return "Cache"; }
  }

  class CacheStorage {
    #default = new Cache(internal, ":default");
    constructor(token) {
      if (token !== internal) throw new TypeError("Illegal constructor");
    }
    get default() { return this.#default; }
    async open(name) {
      name = String(name);
      if (name.length > 1024) throw new TypeError("Cache name is too long.");
      return new Cache(internal, name);
    }
    get [Symbol.toStringTag]() { return "CacheStorage"; }
  }

  const caches = new CacheStorage(internal);
  for (const [name, value] of [["caches", caches], ["Cache", Cache], ["CacheStorage", CacheStorage]]) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }
})();
