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
      apply(_, thisArg, args) { return result(invoke(names, args)); },
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
      apply(_, thisArg, args) { return result(invoke([], args)); },
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
    if (args === undefined) return obj;
    if (typeof obj !== "function") throw notImplemented(names[names.length - 1] ?? "(call)");
    return Reflect.apply(obj, self, args);
  };
})();
