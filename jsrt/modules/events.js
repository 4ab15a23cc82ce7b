// node:events — EventEmitter, as nodejs_compat provides it.
//
// A plain constructor function (not a class) so both `class X extends
// EventEmitter` and the older `EventEmitter.call(this)` + util.inherits
// pattern work; listener lists are created lazily for the latter.
"use strict";

function EventEmitter(opts) {
  EventEmitter.init.call(this, opts);
}

EventEmitter.init = function () {
  if (!this._events || this._events === Object.getPrototypeOf(this)._events) {
    this._events = new Map();
  }
  this._maxListeners = this._maxListeners || undefined;
};

function events(emitter) {
  if (!(emitter._events instanceof Map)) {
    Object.defineProperty(emitter, "_events", { value: new Map(), writable: true, configurable: true, enumerable: false });
  }
  return emitter._events;
}

function checkListener(listener) {
  if (typeof listener !== "function") {
    throw new TypeError('The "listener" argument must be of type function. Received ' + (listener === null ? "null" : typeof listener));
  }
}

function addListener(emitter, name, listener, prepend, once) {
  checkListener(listener);
  const map = events(emitter);
  if (map.has("newListener")) emitter.emit("newListener", name, listener);
  let list = map.get(name);
  if (!list) map.set(name, (list = []));
  const entry = { listener, once };
  if (prepend) list.unshift(entry);
  else list.push(entry);
  return emitter;
}

const proto = EventEmitter.prototype;
proto._events = undefined;
proto._maxListeners = undefined;

proto.on = proto.addListener = function (name, listener) { return addListener(this, name, listener, false, false); };
proto.prependListener = function (name, listener) { return addListener(this, name, listener, true, false); };
// once and prependOnceListener go through this.on and this.prependListener,
// as Node's do, so a subclass that overrides on (a Readable starts flowing
// when a "data" listener is added) sees once-listeners too.
proto.once = function (name, listener) {
  checkListener(listener);
  return this.on(name, onceWrap(this, name, listener));
};
proto.prependOnceListener = function (name, listener) {
  checkListener(listener);
  return this.prependListener(name, onceWrap(this, name, listener));
};

// onceWrap returns a listener that removes itself before calling listener
// (kept as its .listener, for removeListener and listeners()).
function onceWrap(emitter, name, listener) {
  let fired = false;
  function wrapper(...args) {
    if (fired) return undefined;
    fired = true;
    emitter.removeListener(name, wrapper);
    return listener.apply(this, args);
  }
  wrapper.listener = listener;
  return wrapper;
}

proto.off = proto.removeListener = function (name, listener) {
  checkListener(listener);
  const map = events(this);
  const list = map.get(name);
  if (!list) return this;
  let i = -1;
  for (let j = list.length - 1; j >= 0; j--) {
    if (list[j].listener === listener || list[j].listener.listener === listener) { i = j; break; }
  }
  if (i < 0) return this;
  list.splice(i, 1);
  if (list.length === 0) map.delete(name);
  if (map.has("removeListener")) this.emit("removeListener", name, listener);
  return this;
};

proto.removeAllListeners = function (name) {
  const map = events(this);
  if (name === undefined) map.clear();
  else map.delete(name);
  return this;
};

proto.emit = function (name, ...args) {
  const map = events(this);
  const list = map.get(name);
  if (!list || list.length === 0) {
    if (name === "error") {
      const err = args[0];
      if (err instanceof Error) throw err;
      const e = new Error("Unhandled error." + (err === undefined ? "" : " (" + String(err) + ")"));
      e.code = "ERR_UNHANDLED_ERROR";
      e.context = err;
      throw e;
    }
    return false;
  }
  for (const entry of [...list]) {
    if (entry.once) {
      const i = list.indexOf(entry);
      if (i < 0) continue; // removed by an earlier listener
      list.splice(i, 1);
      if (list.length === 0) map.delete(name);
    }
    entry.listener.apply(this, args);
  }
  return true;
};

proto.listeners = function (name) { return (events(this).get(name) || []).map((e) => e.listener.listener || e.listener); };
proto.rawListeners = function (name) { return (events(this).get(name) || []).map((e) => e.listener); };
proto.listenerCount = function (name) { return (events(this).get(name) || []).length; };
proto.eventNames = function () { return [...events(this).keys()]; };
proto.setMaxListeners = function (n) {
  if (typeof n !== "number" || n < 0 || Number.isNaN(n)) throw new RangeError('The value of "n" is out of range. It must be a non-negative number. Received ' + String(n));
  this._maxListeners = n;
  return this;
};
proto.getMaxListeners = function () { return this._maxListeners === undefined ? EventEmitter.defaultMaxListeners : this._maxListeners; };

// once resolves with the arguments of the next `name` event (rejects on "error").
function once(emitter, name) {
  return new Promise((resolve, reject) => {
    const onError = (err) => { emitter.removeListener(name, onEvent); reject(err); };
    const onEvent = (...args) => { if (name !== "error") emitter.removeListener("error", onError); resolve(args); };
    emitter.once(name, onEvent);
    if (name !== "error") emitter.once("error", onError);
  });
}

EventEmitter.EventEmitter = EventEmitter;
EventEmitter.once = once;
EventEmitter.defaultMaxListeners = 10;
EventEmitter.listenerCount = (emitter, name) => emitter.listenerCount(name);
module.exports = EventEmitter;
