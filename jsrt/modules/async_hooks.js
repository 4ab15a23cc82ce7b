// node:async_hooks — AsyncLocalStorage.
//
// The async context is a Map (AsyncLocalStorage → store) held by Go
// (jsrt/webapi/console.go: asyncContext) and carried by goja's AsyncContextTracker into
// every promise reaction: then/catch/finally callbacks and the continuation
// after each await see the stores that were current when they were
// registered. Maps are never mutated once current, so a continuation keeps
// the context it captured. Not carried: timer callbacks (setTimeout,
// setInterval) and event listeners run with no store unless bound with
// AsyncLocalStorage.bind / snapshot.
"use strict";
const internal = require("cairn:internal");

const EMPTY = new Map();
const current = () => internal.asyncContext() || EMPTY;
const enter = (ctx) => internal.setAsyncContext(ctx.size ? ctx : undefined);

// withContext runs fn(...args) with ctx current, restoring the previous
// context afterwards (also when fn throws).
function withContext(ctx, fn, thisArg, args) {
  const prev = current();
  enter(ctx);
  try {
    return fn.apply(thisArg, args);
  } finally {
    enter(prev);
  }
}

// bind makes fn run with the context that is current now.
function bind(fn) {
  if (typeof fn !== "function") throw new TypeError('The "fn" argument must be of type function.');
  const saved = current();
  return function (...args) {
    return withContext(saved, fn, this, args);
  };
}

class AsyncLocalStorage {
  getStore() {
    return current().get(this);
  }
  run(store, fn, ...args) {
    const ctx = new Map(current());
    ctx.set(this, store);
    return withContext(ctx, fn, undefined, args);
  }
  exit(fn, ...args) {
    const ctx = new Map(current());
    ctx.delete(this);
    return withContext(ctx, fn, undefined, args);
  }
  enterWith(store) {
    const ctx = new Map(current());
    ctx.set(this, store);
    enter(ctx);
  }
  disable() {
    const ctx = new Map(current());
    ctx.delete(this);
    enter(ctx);
  }
  static bind(fn) {
    return bind(fn);
  }
  static snapshot() {
    return bind((fn, ...args) => fn(...args));
  }
}

// AsyncResource: enough for libraries that bind callbacks with it.
class AsyncResource {
  #ctx = current();
  constructor(type) {
    this.type = type;
  }
  runInAsyncScope(fn, thisArg, ...args) {
    return withContext(this.#ctx, fn, thisArg, args);
  }
  bind(fn) {
    const res = this;
    return function (...args) {
      return res.runInAsyncScope(fn, this, ...args);
    };
  }
  static bind(fn, type) {
    return new AsyncResource(type || fn.name || "bound-anonymous-fn").bind(fn);
  }
  emitDestroy() {
    return this;
  }
  asyncId() {
    return 0;
  }
  triggerAsyncId() {
    return 0;
  }
}

exports.AsyncLocalStorage = AsyncLocalStorage;
exports.AsyncResource = AsyncResource;
