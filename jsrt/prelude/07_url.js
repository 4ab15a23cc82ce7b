// URL and URLSearchParams (the WHATWG URL Standard), over the Go natives
// of package jsrt/webapi (url.go): parsing, the setters and the
// application/x-www-form-urlencoded codec run in Go; a URL keeps the
// fields the parser returned, so its getters read an array slot.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const { urlParse, urlSet, formParse, formSerialize } = cairn;
  // Indices of the fields array (webapi/url.go's url* constants).
  const HREF = 0, ORIGIN = 1, PROTOCOL = 2, USERNAME = 3, PASSWORD = 4, HOST = 5, HOSTNAME = 6, PORT = 7, PATHNAME = 8, SEARCH = 9, HASH = 10;
  // workerd's message for a string that is no URL.
  const invalid = () => new TypeError("Invalid URL string.");

  let paramsOf, setParamsList, linkParams;

  class URLSearchParams {
    #list = []; // [name, value, name, value, ...]
    #url = null; // the URL whose query this is, or null

    constructor(init = "") {
      if (init !== null && (typeof init === "object" || typeof init === "function")) {
        if (init instanceof URLSearchParams) {
          this.#list = init.#list.slice();
          return;
        }
        const iter = init[Symbol.iterator];
        if (iter !== undefined) {
          if (typeof iter !== "function") throw new TypeError("Failed to construct 'URLSearchParams': The provided value is not iterable.");
          for (const pair of init) {
            if (pair === null || (typeof pair !== "object" && typeof pair !== "function") || typeof pair[Symbol.iterator] !== "function") {
              throw new TypeError("Failed to construct 'URLSearchParams': The provided value cannot be converted to a sequence.");
            }
            const p = [...pair];
            if (p.length !== 2) throw new TypeError("Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements");
            this.#list.push(usv(p[0]), usv(p[1]));
          }
          return;
        }
        for (const key of Reflect.ownKeys(init)) {
          const desc = Reflect.getOwnPropertyDescriptor(init, key);
          if (desc === undefined || !desc.enumerable || typeof key === "symbol") continue;
          this.#list.push(usv(key), usv(init[key]));
        }
        return;
      }
      let s = usv(init);
      if (s[0] === "?") s = s.slice(1);
      if (s !== "") this.#list = formParse(s);
    }

    static {
      paramsOf = (p) => p.#list;
      setParamsList = (p, list) => {
        p.#list = list;
      };
      linkParams = (p, url) => {
        p.#url = url;
      };
    }

    #update() {
      if (this.#url !== null) this.#url.search = this.#list.length === 0 ? "" : formSerialize(this.#list);
    }

    get size() {
      return this.#list.length / 2;
    }
    append(name, value) {
      args(arguments, 2, "append");
      this.#list.push(usv(name), usv(value));
      this.#update();
    }
    delete(name, value) {
      args(arguments, 1, "delete");
      name = usv(name);
      const v = value === undefined ? undefined : usv(value);
      const l = this.#list;
      const out = [];
      for (let i = 0; i < l.length; i += 2) {
        if (l[i] === name && (v === undefined || l[i + 1] === v)) continue;
        out.push(l[i], l[i + 1]);
      }
      this.#list = out;
      this.#update();
    }
    get(name) {
      args(arguments, 1, "get");
      name = usv(name);
      const l = this.#list;
      for (let i = 0; i < l.length; i += 2) if (l[i] === name) return l[i + 1];
      return null;
    }
    getAll(name) {
      args(arguments, 1, "getAll");
      name = usv(name);
      const l = this.#list;
      const out = [];
      for (let i = 0; i < l.length; i += 2) if (l[i] === name) out.push(l[i + 1]);
      return out;
    }
    has(name, value) {
      args(arguments, 1, "has");
      name = usv(name);
      const v = value === undefined ? undefined : usv(value);
      const l = this.#list;
      for (let i = 0; i < l.length; i += 2) if (l[i] === name && (v === undefined || l[i + 1] === v)) return true;
      return false;
    }
    set(name, value) {
      args(arguments, 2, "set");
      name = usv(name);
      value = usv(value);
      const l = this.#list;
      const out = [];
      let found = false;
      for (let i = 0; i < l.length; i += 2) {
        if (l[i] !== name) out.push(l[i], l[i + 1]);
        else if (!found) {
          out.push(name, value);
          found = true;
        }
      }
      if (!found) out.push(name, value);
      this.#list = out;
      this.#update();
    }
    sort() {
      const l = this.#list;
      const pairs = [];
      for (let i = 0; i < l.length; i += 2) pairs.push([l[i], l[i + 1]]);
      // Stable, by UTF-16 code units (JS string comparison).
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#list = pairs.flat();
      this.#update();
    }
    forEach(callback, thisArg) {
      if (typeof callback !== "function") throw new TypeError("Failed to execute 'forEach' on 'URLSearchParams': parameter 1 is not of type 'Function'.");
      for (let i = 0; i < this.#list.length; i += 2) callback.call(thisArg, this.#list[i + 1], this.#list[i], this);
    }
    *entries() {
      for (let i = 0; i < this.#list.length; i += 2) yield [this.#list[i], this.#list[i + 1]];
    }
    *keys() {
      for (let i = 0; i < this.#list.length; i += 2) yield this.#list[i];
    }
    *values() {
      for (let i = 0; i < this.#list.length; i += 2) yield this.#list[i + 1];
    }
    toString() {
      return formSerialize(this.#list);
    }
  }
  URLSearchParams.prototype[Symbol.iterator] = URLSearchParams.prototype.entries;
  Object.defineProperty(URLSearchParams.prototype, Symbol.iterator, { enumerable: false });
  Object.defineProperty(URLSearchParams.prototype, Symbol.toStringTag, { value: "URLSearchParams", configurable: true });

  class URL {
    #f; // the fields, as urlParse returns them
    #params = null; // searchParams, made on first use

    constructor(url, base) {
      const f = base === undefined ? urlParse(usv(url)) : urlParse(usv(url), usv(base));
      if (f === null) throw invalid();
      this.#f = f;
    }

    static canParse(url, base) {
      return (base === undefined ? urlParse(usv(url)) : urlParse(usv(url), usv(base))) !== null;
    }
    static parse(url, base) {
      try {
        return base === undefined ? new URL(url) : new URL(url, base);
      } catch {
        return null;
      }
    }

    #set(name, value) {
      const f = urlSet(this.#f[HREF], name, usv(value));
      if (f === null) throw invalid();
      const search = this.#f[SEARCH];
      this.#f = f;
      if (this.#params !== null && (name === "href" || f[SEARCH] !== search || name === "search")) {
        setParamsList(this.#params, f[SEARCH] === "" ? [] : formParse(f[SEARCH].slice(1)));
      }
    }

    get href() {
      return this.#f[HREF];
    }
    set href(v) {
      this.#set("href", v);
    }
    get origin() {
      return this.#f[ORIGIN];
    }
    get protocol() {
      return this.#f[PROTOCOL];
    }
    set protocol(v) {
      this.#set("protocol", v);
    }
    get username() {
      return this.#f[USERNAME];
    }
    set username(v) {
      this.#set("username", v);
    }
    get password() {
      return this.#f[PASSWORD];
    }
    set password(v) {
      this.#set("password", v);
    }
    get host() {
      return this.#f[HOST];
    }
    set host(v) {
      this.#set("host", v);
    }
    get hostname() {
      return this.#f[HOSTNAME];
    }
    set hostname(v) {
      this.#set("hostname", v);
    }
    get port() {
      return this.#f[PORT];
    }
    set port(v) {
      this.#set("port", v);
    }
    get pathname() {
      return this.#f[PATHNAME];
    }
    set pathname(v) {
      this.#set("pathname", v);
    }
    get search() {
      return this.#f[SEARCH];
    }
    set search(v) {
      this.#set("search", v);
    }
    get searchParams() {
      if (this.#params === null) {
        const p = new URLSearchParams(this.#f[SEARCH]);
        linkParams(p, this);
        this.#params = p;
      }
      return this.#params;
    }
    get hash() {
      return this.#f[HASH];
    }
    set hash(v) {
      this.#set("hash", v);
    }
    toString() {
      return this.#f[HREF];
    }
    toJSON() {
      return this.#f[HREF];
    }
  }
  Object.defineProperty(URL.prototype, Symbol.toStringTag, { value: "URL", configurable: true });
  for (const name of ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "searchParams", "hash", "toString", "toJSON"]) {
    Object.defineProperty(URL.prototype, name, { enumerable: true });
  }
  for (const name of ["size", "append", "delete", "get", "getAll", "has", "set", "sort", "forEach", "entries", "keys", "values", "toString"]) {
    Object.defineProperty(URLSearchParams.prototype, name, { enumerable: true });
  }

  // usv converts v to a string for a USVString argument. Lone surrogates
  // become U+FFFD where the string reaches Go (parsing, serializing); the
  // check is not made here, since String.prototype.isWellFormed is
  // core-js's in goja and costs hundreds of allocations per call.
  function usv(v) {
    return typeof v === "string" ? v : String(v);
  }
  function args(a, n, method) {
    if (a.length < n) {
      throw new TypeError(`Failed to execute '${method}' on 'URLSearchParams': ${n} argument${n > 1 ? "s" : ""} required, but only ${a.length} present.`);
    }
  }

  void paramsOf;
  define("URL", URL);
  define("URLSearchParams", URLSearchParams);
})();
