// WeakRef and FinalizationRegistry (ES2021), which goja lacks and core-js
// cannot provide. goja exposes no weak references, so a WeakRef holds its
// target strongly and a FinalizationRegistry never calls back: both are what
// the specification allows an engine whose collector never reclaims a
// target (deref() always returns it; cleanup is never guaranteed to run).
// Code uses them for caches, where this costs memory, never correctness.
(function () {
  "use strict";
  if (typeof globalThis.WeakRef === "function") return;
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  const canBeHeldWeakly = (v) =>
    (typeof v === "object" && v !== null) || typeof v === "function" ||
    (typeof v === "symbol" && Symbol.keyFor(v) === undefined);

  class WeakRef {
    #target;
    constructor(target) {
      if (!canBeHeldWeakly(target)) throw new TypeError("WeakRef: target must be an object or an unregistered symbol");
      this.#target = target;
    }
    deref() { return this.#target; }
  }
  Object.defineProperty(WeakRef.prototype, Symbol.toStringTag, { value: "WeakRef", configurable: true });

  class FinalizationRegistry {
    #cleanup;
    #tokens = new Map(); // unregister token → number of registrations
    constructor(cleanup) {
      if (typeof cleanup !== "function") throw new TypeError("FinalizationRegistry: cleanup must be callable");
      this.#cleanup = cleanup;
    }
    register(target, held, token) {
      if (!canBeHeldWeakly(target)) throw new TypeError("FinalizationRegistry.prototype.register: invalid target");
      if (Object.is(target, held)) throw new TypeError("FinalizationRegistry.prototype.register: target and holdings must not be same");
      if (token !== undefined) {
        if (!canBeHeldWeakly(token)) throw new TypeError("FinalizationRegistry.prototype.register: invalid unregister token");
        this.#tokens.set(token, (this.#tokens.get(token) || 0) + 1);
      }
    }
    unregister(token) {
      if (!canBeHeldWeakly(token)) throw new TypeError("FinalizationRegistry.prototype.unregister: invalid unregister token");
      return this.#tokens.delete(token);
    }
  }
  Object.defineProperty(FinalizationRegistry.prototype, Symbol.toStringTag, { value: "FinalizationRegistry", configurable: true });

  define("WeakRef", WeakRef);
  define("FinalizationRegistry", FinalizationRegistry);
})();
