// Event, EventTarget, CustomEvent, DOMException, AbortController, AbortSignal.
// Simplified: no capture/bubbling phases (Workers have no DOM tree); an
// EventTarget only dispatches to its own listeners.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;

  function define(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  if (typeof globalThis.DOMException !== "function") {
    const codes = {
      IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
      NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
      SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
      TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
      QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
    };
    class DOMException extends Error {
      #name;
      constructor(message = "", name = "Error") {
        super(String(message));
        this.#name = String(name);
      }
      get name() { return this.#name; }
      get code() { return codes[this.#name] || 0; }
    }
    for (const [k, v] of Object.entries(codes)) {
      const constName = k.replace(/Error$/, "").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase() + "_ERR";
      Object.defineProperty(DOMException, constName, { value: v, enumerable: true });
    }
    define("DOMException", DOMException);
  }

  const now = () => (globalThis.performance && typeof performance.now === "function" ? performance.now() : Date.now());

  class Event {
    #type;
    #bubbles;
    #cancelable;
    #composed;
    #defaultPrevented = false;
    #timeStamp;
    #target = null;
    #currentTarget = null;
    #dispatching = false;
    #stopImmediate = false;
    #stop = false;
    constructor(type, init) {
      if (arguments.length === 0) throw new TypeError("Failed to construct 'Event': 1 argument required, but only 0 present.");
      this.#type = String(type);
      init = init || {};
      this.#bubbles = !!init.bubbles;
      this.#cancelable = !!init.cancelable;
      this.#composed = !!init.composed;
      this.#timeStamp = now();
    }
    get type() { return this.#type; }
    get bubbles() { return this.#bubbles; }
    get cancelable() { return this.#cancelable; }
    get composed() { return this.#composed; }
    get defaultPrevented() { return this.#defaultPrevented; }
    get returnValue() { return !this.#defaultPrevented; }
    get timeStamp() { return this.#timeStamp; }
    get target() { return this.#target; }
    get srcElement() { return this.#target; }
    get currentTarget() { return this.#currentTarget; }
    get eventPhase() { return this.#dispatching ? 2 : 0; }
    get isTrusted() { return false; }
    get cancelBubble() { return this.#stop; }
    set cancelBubble(v) { if (v) this.#stop = true; }
    composedPath() { return this.#dispatching && this.#currentTarget ? [this.#currentTarget] : []; }
    preventDefault() { if (this.#cancelable) this.#defaultPrevented = true; }
    stopPropagation() { this.#stop = true; }
    stopImmediatePropagation() { this.#stop = true; this.#stopImmediate = true; }
    static _begin(ev, target) {
      if (ev.#dispatching) throw new DOMException("The event is already being dispatched.", "InvalidStateError");
      ev.#dispatching = true;
      ev.#target = target;
      ev.#currentTarget = target;
      ev.#stopImmediate = false;
    }
    static _stopped(ev) { return ev.#stopImmediate; }
    static _end(ev) {
      ev.#dispatching = false;
      ev.#currentTarget = null;
    }
  }
  Event.NONE = 0;
  Event.CAPTURING_PHASE = 1;
  Event.AT_TARGET = 2;
  Event.BUBBLING_PHASE = 3;
  const beginDispatch = Event._begin;
  const immediateStopped = Event._stopped;
  const endDispatch = Event._end;
  delete Event._begin;
  delete Event._stopped;
  delete Event._end;

  class CustomEvent extends Event {
    #detail;
    constructor(type, init) {
      super(type, init);
      this.#detail = init && init.detail !== undefined ? init.detail : null;
    }
    get detail() { return this.#detail; }
  }

  function flattenOptions(options) {
    if (typeof options === "boolean") return { capture: options };
    return options || {};
  }

  class EventTarget {
    #listeners = new Map(); // type -> array of {callback, capture, once, removed}
    addEventListener(type, callback, options) {
      if (callback == null) return;
      if (typeof callback !== "function" && typeof callback !== "object") {
        throw new TypeError("Failed to execute 'addEventListener' on 'EventTarget': The callback provided as parameter 2 is not an object.");
      }
      options = flattenOptions(options);
      const capture = !!options.capture;
      const signal = options.signal;
      if (signal !== undefined && signal !== null && signal.aborted) return;
      type = String(type);
      let list = this.#listeners.get(type);
      if (!list) this.#listeners.set(type, (list = []));
      for (const l of list) if (l.callback === callback && l.capture === capture) return;
      const entry = { callback, capture, once: !!options.once, removed: false };
      list.push(entry);
      if (signal) {
        signal.addEventListener("abort", () => this.removeEventListener(type, callback, { capture }));
      }
    }
    removeEventListener(type, callback, options) {
      const capture = !!flattenOptions(options).capture;
      const list = this.#listeners.get(String(type));
      if (!list) return;
      const i = list.findIndex((l) => l.callback === callback && l.capture === capture);
      if (i >= 0) {
        list[i].removed = true;
        list.splice(i, 1);
      }
    }
    dispatchEvent(event) {
      if (!(event instanceof Event)) {
        throw new TypeError("Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'.");
      }
      beginDispatch(event, this);
      try {
        const list = this.#listeners.get(event.type);
        if (list) {
          for (const l of list.slice()) {
            if (l.removed) continue;
            if (l.once) this.removeEventListener(event.type, l.callback, { capture: l.capture });
            try {
              if (typeof l.callback === "function") l.callback.call(this, event);
              else if (typeof l.callback.handleEvent === "function") l.callback.handleEvent(event);
            } catch (e) {
              reportError(e);
            }
            if (immediateStopped(event)) break;
          }
        }
      } finally {
        endDispatch(event);
      }
      return !event.defaultPrevented;
    }
  }

  function reportError(e) {
    if (typeof globalThis.reportError === "function") {
      globalThis.reportError(e);
    } else if (globalThis.console && typeof console.error === "function") {
      console.error(e);
    }
  }

  // --- AbortController / AbortSignal ---

  const signalKey = Symbol("cairn.AbortSignal");

  class AbortSignal extends EventTarget {
    #aborted = false;
    #reason = undefined;
    #onabort = null;
    constructor(key) {
      if (key !== signalKey) throw new TypeError("Illegal constructor");
      super();
    }
    get aborted() { return this.#aborted; }
    get reason() { return this.#reason; }
    get onabort() { return this.#onabort; }
    set onabort(fn) {
      if (this.#onabort) this.removeEventListener("abort", this.#onabort);
      this.#onabort = typeof fn === "function" ? fn : null;
      if (this.#onabort) this.addEventListener("abort", this.#onabort);
    }
    throwIfAborted() {
      if (this.#aborted) throw this.#reason;
    }
    static _abort(signal, reason) {
      if (signal.#aborted) return;
      signal.#aborted = true;
      signal.#reason = reason === undefined ? new DOMException("This operation was aborted", "AbortError") : reason;
      signal.dispatchEvent(new Event("abort"));
    }
    static abort(reason) {
      const s = new AbortSignal(signalKey);
      abortSignal(s, reason);
      return s;
    }
    static timeout(ms) {
      ms = Number(ms);
      if (!(ms >= 0)) throw new TypeError("AbortSignal.timeout: delay must be a non-negative number");
      const s = new AbortSignal(signalKey);
      // setTimeout comes from the runtime; without it (a bare engine) the
      // signal simply never times out rather than failing here.
      if (typeof globalThis.setTimeout === "function") {
        setTimeout(() => abortSignal(s, new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
      }
      return s;
    }
    static any(signals) {
      const s = new AbortSignal(signalKey);
      const list = Array.from(signals);
      for (const sig of list) {
        if (!(sig instanceof AbortSignal)) throw new TypeError("AbortSignal.any: expected AbortSignal");
        if (sig.aborted) {
          abortSignal(s, sig.reason);
          return s;
        }
      }
      for (const sig of list) {
        sig.addEventListener("abort", () => abortSignal(s, sig.reason), { once: true });
      }
      return s;
    }
  }
  const abortSignal = AbortSignal._abort;
  delete AbortSignal._abort;

  class AbortController {
    #signal = new AbortSignal(signalKey);
    get signal() { return this.#signal; }
    abort(reason) { abortSignal(this.#signal, reason); }
  }

  define("Event", Event);
  define("EventTarget", EventTarget);
  define("CustomEvent", CustomEvent);
  define("AbortSignal", AbortSignal);
  define("AbortController", AbortController);
  if (cairn) cairn.abortSignal = abortSignal;
})();
