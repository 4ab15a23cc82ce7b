// JS RPC stubs and the callee-side rules (jsrt/rpc.go has the transport).
// A stub is a Proxy: reading a property gives a path that can be called
// (stub.method(args)) or awaited (await stub.prop); a call returns a
// thenable whose properties pipeline further calls on the eventual result
// (stub.getCounter().increment()).
(function () {
  "use strict";
  const cairn = globalThis.__cairn;

  class RpcTarget {}
  cairn.RpcTarget = RpcTarget;

  // Every stub and path proxy made here, so they pass by reference.
  const stubs = new WeakSet();
  const PROMISE_METHODS = new Set(["then", "catch", "finally"]);

  // path returns a proxy for the member at path of what invoke reaches:
  // invoke(path, args) for a call, invoke(path, undefined) for a read.
  function path(invoke, names) {
    const p = new Proxy(function () {}, {
      get(_, prop) {
        if (typeof prop === "symbol") return undefined;
        if (PROMISE_METHODS.has(prop)) {
          const promise = invoke(names, undefined);
          return promise[prop].bind(promise);
        }
        return path(invoke, names.concat(prop));
      },
      apply(_, thisArg, args) { return result(send(invoke, names, args)); },
    });
    stubs.add(p);
    return p;
  }

  // result wraps the promise of a call's result: awaitable, and its
  // properties pipeline calls on the value once it arrives.
  function result(promise) {
    return new Proxy(function () {}, {
      get(_, prop) {
        if (PROMISE_METHODS.has(prop)) return promise[prop].bind(promise);
        if (typeof prop === "symbol") return undefined;
        return path((names, args) => promise.then((v) => applyPath(v, names, args)), [prop]);
      },
      apply() { throw new TypeError("The result of an RPC call is not a function; await it first."); },
    });
  }

  // applyPath calls (or reads) names on a value that arrived over RPC: a
  // stub forwards, a plain value is used locally.
  function applyPath(v, names, args) {
    let target = v, self;
    for (const name of names) {
      if (target === null || target === undefined) {
        throw new TypeError(`The RPC receiver does not implement the method "${name}".`);
      }
      self = target;
      target = target[name];
    }
    if (args === undefined) return target;
    if (typeof target !== "function") {
      throw new TypeError(`The RPC receiver does not implement the method "${names[names.length - 1]}".`);
    }
    return Reflect.apply(target, self, args);
  }

  // makeCapStub is the stub of a capability (a function or RpcTarget on the
  // other side): callable, its members reachable; not itself thenable.
  cairn.makeCapStub = (invoke) => {
    const root = new Proxy(function () {}, {
      get(_, prop) {
        if (typeof prop === "symbol" || prop === "then") return undefined;
        if (prop === "dup") return () => root;
        return path(invoke, [prop]);
      },
      apply(_, thisArg, args) { return result(send(invoke, [], args)); },
    });
    stubs.add(root);
    return root;
  };

  // stubMember is the member prop of a Durable Object stub.
  cairn.stubMember = (invoke, prop) => path(invoke, [prop]);
  cairn.markStub = (s) => { stubs.add(s); return s; };

  // makeService is a service binding: fetch() to the entrypoint's fetch
  // handler, any other member a JS RPC call on it.
  cairn.makeService = (native) => {
    const invoke = (names, args) => native.call(names, args);
    const fetch = async (input, init) => {
      const req = new Request(input, init);
      const res = await native.fetch(await cairn.requestToWire(req));
      return cairn.responseFromWire(res);
    };
    const service = new Proxy({}, {
      get(_, prop) {
        if (prop === "fetch") return fetch;
        if (typeof prop === "symbol" || prop === "then" || prop === "connect") return undefined;
        return path(invoke, [prop]);
      },
    });
    stubs.add(service);
    return service;
  };

  // --- Request, Response, Headers and URL over RPC ---
  // They travel as platform objects: the serializer (jsrt/jsclone Hosts)
  // asks rpcHostEncode about each class instance it meets and writes an 'H'
  // item, which rpcHostDecode turns back into the object; user data cannot
  // forge one. Bodies are read into bytes before the call is sent
  // (readBodies): a stream body is buffered, not streamed, and sending a
  // body uses it up, as on Cloudflare.
  const bodies = new WeakMap(); // Request or Response → its bytes (or null), read for sending
  const USED = "Body has already been used. It can only be used once. Use tee() first if you need to read it twice.";

  // readBodies reads the bodies of the Requests and Responses in value
  // (through arrays, plain objects, Maps and Sets; what else the
  // serializer takes holds none). It returns a promise if it has to wait,
  // else null, so calls without bodies are sent at once and in order.
  function readBodies(value) {
    if (value === null || typeof value !== "object") return null;
    const pending = [];
    const seen = new Set();
    const todo = [value];
    while (todo.length > 0) {
      const v = todo.pop();
      if (v === null || typeof v !== "object" || seen.has(v) || stubs.has(v)) continue;
      seen.add(v);
      if (v instanceof Request || v instanceof Response) {
        if (bodies.has(v)) continue;
        if (v instanceof Response && v.webSocket !== null) {
          throw new TypeError("A Response with a WebSocket cannot be sent over RPC (not supported by cairn yet).");
        }
        if (v.bodyUsed) throw new TypeError(USED);
        if (v.body === null) continue;
        pending.push(v.bytes().then((b) => { bodies.set(v, b); }));
      } else if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) todo.push(v[i]);
      } else if (v instanceof Map) {
        v.forEach((x, k) => { todo.push(k, x); });
      } else if (v instanceof Set) {
        v.forEach((x) => { todo.push(x); });
      } else {
        const proto = Object.getPrototypeOf(v);
        if (proto === Object.prototype || proto === null) {
          for (const k of Object.keys(v)) todo.push(v[k]);
        }
      }
    }
    return pending.length === 0 ? null : Promise.all(pending);
  }

  // send makes a call once the bodies in its arguments are read. Calls
  // stay in issue order: while one waits for its bodies, later calls queue
  // behind it (backlog, settled once it is sent). args is copied first:
  // goja's Proxy apply trap hands over an array backed by its stack, which
  // later calls overwrite, and the call may be sent later.
  let backlog = null;
  function send(invoke, names, args) {
    args = Array.prototype.slice.call(args);
    let pending;
    try {
      pending = readBodies(args);
    } catch (e) {
      return Promise.reject(e);
    }
    if (pending === null && backlog === null) return invoke(names, args);
    const turn = Promise.all([backlog, pending]).then(
      () => { if (backlog === turn) backlog = null; return { result: invoke(names, args) }; },
      (error) => { if (backlog === turn) backlog = null; return { error }; });
    backlog = turn;
    return turn.then((box) => { if ("error" in box) throw box.error; return box.result; });
  }

  // withBodies resolves a callee's result once the bodies in it are read.
  function withBodies(v) {
    if (v instanceof Promise) return v.then(withBodies);
    const pending = readBodies(v);
    return pending === null ? v : pending.then(() => v);
  }

  const headerPairs = (h) => Array.from(h, ([k, v]) => [k, v]);

  // takeBody returns the bytes read for r (null for no body) and marks them
  // sent.
  function takeBody(r) {
    if (bodies.has(r)) {
      const b = bodies.get(r);
      bodies.delete(r);
      return b;
    }
    if (r.bodyUsed) throw new TypeError(USED);
    if (r.body !== null) throw new TypeError(`The body of this ${r[Symbol.toStringTag]} cannot be sent over RPC here (only bodies in arrays, plain objects, Maps and Sets are read).`);
    return null;
  }

  // rpcHostEncode returns [kind, payload] for a platform object sent over
  // RPC, undefined for anything else.
  cairn.rpcHostEncode = (obj) => {
    if (obj instanceof Request) {
      return ["Request", { url: obj.url, method: obj.method, headers: headerPairs(obj.headers), redirect: obj.redirect,
        cf: obj.cf, body: takeBody(obj) }];
    }
    if (obj instanceof Response) {
      return ["Response", { status: obj.status, statusText: obj.statusText, headers: headerPairs(obj.headers),
        url: obj.url, redirected: obj.redirected, body: takeBody(obj) }];
    }
    if (obj instanceof Headers) return ["Headers", headerPairs(obj)];
    if (obj instanceof URL) return ["URL", obj.href];
    return undefined;
  };

  // rpcHostDecode rebuilds a platform object rpcHostEncode described.
  cairn.rpcHostDecode = (kind, p) => {
    switch (kind) {
      case "Request":
        return new Request(p.url, { method: p.method, headers: p.headers, redirect: p.redirect, cf: p.cf, body: p.body });
      case "Response":
        return cairn.responseFromWire({ status: p.status, statusText: p.statusText, headers: p.headers,
          url: p.url, redirected: p.redirected, body: p.body });
      case "Headers":
        return new Headers(p);
      case "URL":
        return new URL(p);
    }
    throw new TypeError(`Unknown platform object "${kind}" in an RPC payload.`);
  };

  cairn.isRPCTarget = (obj) => obj instanceof RpcTarget || stubs.has(obj);

  const RESERVED_OBJECT = new Set(["fetch", "connect", "alarm", "webSocketMessage", "webSocketClose",
    "webSocketError", "dup", "constructor"]);
  const RESERVED = new Set(["dup", "constructor"]);
  const notImplemented = (name) => new TypeError(`The RPC receiver does not implement the method "${name}".`);

  // rpcInvoke applies an incoming call to target as workerd does: on class
  // instances (Durable Objects, RpcTargets) only prototype members, never
  // own properties or Object.prototype's; on plain objects own properties.
  cairn.rpcInvoke = (target, names, args, root) => {
    let obj = target, self;
    for (let i = 0; i < names.length; i++) {
      const name = names[i];
      if ((i === 0 && root === "object" ? RESERVED_OBJECT : RESERVED).has(name)) {
        throw new TypeError(`'${name}' is a reserved method and cannot be called over RPC.`);
      }
      if (obj === null || (typeof obj !== "object" && typeof obj !== "function")) throw notImplemented(name);
      let next;
      if (stubs.has(obj)) {
        next = obj[name];
      } else if (typeof obj === "object" && Object.getPrototypeOf(obj) !== Object.prototype && Object.getPrototypeOf(obj) !== null) {
        if (Object.prototype.hasOwnProperty.call(obj, name)) throw notImplemented(name);
        next = obj[name];
        if (next === undefined || next === Object.prototype[name]) throw notImplemented(name);
      } else {
        if (!Object.prototype.hasOwnProperty.call(obj, name)) throw notImplemented(name);
        next = obj[name];
      }
      self = obj;
      obj = next;
    }
    if (args === undefined) return withBodies(obj);
    if (typeof obj !== "function") throw notImplemented(names[names.length - 1] ?? "(call)");
    return withBodies(Reflect.apply(obj, self, args));
  };
})();
