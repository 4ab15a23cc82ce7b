// node:async_hooks — AsyncLocalStorage.
//
// Limitation: goja has no async context, so a store is visible while run()'s
// callback runs synchronously and inside promise reactions registered
// during it (then/catch/finally are wrapped while a store is active), but
// not across awaits of a native async function resumed later.
"use strict";

let current = new Map(); // AsyncLocalStorage → store

const proto = Promise.prototype;
const { then } = proto;
let wrapped = false;

// bind makes fn run with the context that is current now.
function bind(fn) {
  if (typeof fn !== "function") return fn;
  const saved = current;
  return function (...args) {
    const prev = current;
    current = saved;
    try {
      return fn.apply(this, args);
    } finally {
      current = prev;
    }
  };
}

function wrapThen() {
  if (wrapped) return;
  wrapped = true;
  proto.then = function (onFulfilled, onRejected) {
    if (current.size === 0) return then.call(this, onFulfilled, onRejected);
    return then.call(this, bind(onFulfilled), bind(onRejected));
  };
}

class AsyncLocalStorage {
  getStore() { return current.get(this); }
  run(store, fn, ...args) {
    wrapThen();
    const prev = current;
    current = new Map(prev);
    current.set(this, store);
    try {
      return fn(...args);
    } finally {
      current = prev;
    }
  }
  exit(fn, ...args) {
    const prev = current;
    current = new Map(prev);
    current.delete(this);
    try {
      return fn(...args);
    } finally {
      current = prev;
    }
  }
  enterWith(store) {
    wrapThen();
    current = new Map(current);
    current.set(this, store);
  }
  disable() { this.enterWith(undefined); }
  static bind(fn) { return bind(fn); }
  static snapshot() { return bind((fn, ...args) => fn(...args)); }
}

exports.AsyncLocalStorage = AsyncLocalStorage;
