// node:events — EventEmitter, as nodejs_compat provides it.
"use strict";

class EventEmitter {
  #events = new Map();
  #max = 10;

  on(name, listener) { return this.#add(name, listener, false, false); }
  addListener(name, listener) { return this.on(name, listener); }
  prependListener(name, listener) { return this.#add(name, listener, true, false); }
  once(name, listener) { return this.#add(name, listener, false, true); }
  prependOnceListener(name, listener) { return this.#add(name, listener, true, true); }

  #add(name, listener, prepend, once) {
    if (typeof listener !== "function") throw new TypeError('The "listener" argument must be of type function.');
    if (this.#events.has("newListener")) this.emit("newListener", name, listener);
    const list = this.#events.get(name) ?? [];
    const entry = { listener, once };
    if (prepend) list.unshift(entry);
    else list.push(entry);
    this.#events.set(name, list);
    return this;
  }

  off(name, listener) {
    const list = this.#events.get(name);
    if (!list) return this;
    const i = list.findIndex((e) => e.listener === listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#events.delete(name);
    if (i >= 0 && this.#events.has("removeListener")) this.emit("removeListener", name, listener);
    return this;
  }
  removeListener(name, listener) { return this.off(name, listener); }

  removeAllListeners(name) {
    if (name === undefined) this.#events.clear();
    else this.#events.delete(name);
    return this;
  }

  emit(name, ...args) {
    const list = this.#events.get(name);
    if (!list || list.length === 0) {
      if (name === "error") {
        const err = args[0];
        throw err instanceof Error ? err : new Error("Unhandled error. (" + String(err) + ")");
      }
      return false;
    }
    for (const entry of [...list]) {
      if (entry.once) this.off(name, entry.listener);
      entry.listener.apply(this, args);
    }
    return true;
  }

  listeners(name) { return (this.#events.get(name) ?? []).map((e) => e.listener); }
  rawListeners(name) { return this.listeners(name); }
  listenerCount(name) { return (this.#events.get(name) ?? []).length; }
  eventNames() { return [...this.#events.keys()]; }
  setMaxListeners(n) { this.#max = n; return this; }
  getMaxListeners() { return this.#max; }
}

// once resolves with the arguments of the next `name` event (rejects on "error").
function once(emitter, name) {
  return new Promise((resolve, reject) => {
    const onError = (err) => { emitter.off(name, onEvent); reject(err); };
    const onEvent = (...args) => { if (name !== "error") emitter.off("error", onError); resolve(args); };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
  });
}

EventEmitter.EventEmitter = EventEmitter;
EventEmitter.once = once;
EventEmitter.defaultMaxListeners = 10;
module.exports = EventEmitter;
