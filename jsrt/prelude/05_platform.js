// Platform APIs over Go natives (package jsrt/webapi: encoding.go, console.go):
// TextEncoder/TextDecoder (crypto is 21_crypto.js),
// console (formatted like Node's util.format), performance, navigator.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const define = (name, value) =>
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });

  // --- encoding ---

  const UTF8_LABELS = ["utf-8", "utf8", "unicode-1-1-utf-8"];

  class TextEncoder {
    get encoding() { return "utf-8"; }
    encode(input = "") { return cairn.utf8Encode(String(input)); }
    encodeInto(source, destination) {
      const bytes = cairn.utf8Encode(String(source));
      let n = Math.min(bytes.length, destination.length);
      // Do not split a character: back up to a sequence boundary.
      while (n > 0 && n < bytes.length && (bytes[n] & 0xc0) === 0x80) n--;
      destination.set(bytes.subarray(0, n));
      const read = cairn.utf8Decode(bytes.subarray(0, n), false, true).length;
      return { read, written: n };
    }
  }

  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending = null; // bytes of a character split across stream chunks
    #started = false;
    constructor(label = "utf-8", options = {}) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase())) {
        throw new RangeError(`Failed to construct 'TextDecoder': The encoding label provided ('${label}') is invalid.`);
      }
      this.#fatal = !!options.fatal;
      this.#ignoreBOM = !!options.ignoreBOM;
    }
    get encoding() { return "utf-8"; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input, options = {}) {
      let bytes = input === undefined ? new Uint8Array(0) : toBytes(input);
      if (this.#pending) {
        const joined = new Uint8Array(this.#pending.length + bytes.length);
        joined.set(this.#pending);
        joined.set(bytes, this.#pending.length);
        bytes = joined;
        this.#pending = null;
      }
      const stream = !!options.stream;
      if (stream) {
        const whole = cairn.utf8Complete(bytes);
        if (whole < bytes.length) {
          this.#pending = bytes.slice(whole);
          bytes = bytes.subarray(0, whole);
        }
      }
      const ignoreBOM = this.#ignoreBOM || this.#started;
      const out = cairn.utf8Decode(bytes, this.#fatal, ignoreBOM);
      this.#started = stream && (this.#started || bytes.length > 0);
      return out;
    }
  }

  function toBytes(input) {
    if (input instanceof ArrayBuffer) return new Uint8Array(input);
    if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    throw new TypeError("The provided value is not of type '(ArrayBuffer or ArrayBufferView)'.");
  }

  define("TextEncoder", TextEncoder);
  define("TextDecoder", TextDecoder);

  // --- console ---

  function inspect(value, depth = 2, seen = new Set()) {
    switch (typeof value) {
      case "string": return seen.size === 0 ? value : JSON.stringify(value).replace(/^"|"$/g, "'");
      case "number": return Object.is(value, -0) ? "-0" : String(value);
      case "bigint": return value + "n";
      case "boolean": return String(value);
      case "symbol": return value.toString();
      case "undefined": return "undefined";
      case "function": return `[Function: ${value.name || "(anonymous)"}]`;
    }
    if (value === null) return "null";
    // URL, Headers, Request, Response, errors with a cause, custom
    // inspectors: prelude/06_inspect.js.
    const special = cairn.inspectSpecial && cairn.inspectSpecial(value, depth, seen, inspect);
    if (special !== undefined) return special;
    if (value instanceof Error) return value.stack || `${value.name}: ${value.message}`;
    if (seen.has(value)) return "[Circular]";
    if (value instanceof Date) return value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (depth < 0) return Array.isArray(value) ? "[Array]" : "[Object]";
    seen.add(value);
    const inner = (v) => inspect(v, depth - 1, seen);
    let out;
    if (Array.isArray(value)) {
      out = value.length ? `[ ${value.map(inner).join(", ")} ]` : "[]";
    } else if (value instanceof Map) {
      out = `Map(${value.size}) {${[...value].map(([k, v]) => ` ${inner(k)} => ${inner(v)}`).join(",")}${value.size ? " " : ""}}`;
    } else if (value instanceof Set) {
      out = `Set(${value.size}) {${[...value].map((v) => " " + inner(v)).join(",")}${value.size ? " " : ""}}`;
    } else if (ArrayBuffer.isView(value)) {
      out = `${value.constructor.name}(${value.length}) [ ${Array.from(value).join(", ")} ]`;
    } else {
      const keys = Object.keys(value);
      const name = value.constructor && value.constructor !== Object && value.constructor.name ? value.constructor.name + " " : "";
      out = keys.length ? `${name}{ ${keys.map((k) => `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${inner(value[k])}`).join(", ")} }` : `${name}{}`;
    }
    seen.delete(value);
    return out;
  }

  function format(...args) {
    if (args.length === 0) return "";
    let rest = args;
    let out = "";
    if (typeof args[0] === "string") {
      let i = 1;
      out = args[0].replace(/%[sdifjoOc%]/g, (spec) => {
        if (spec === "%%") return "%";
        if (i >= args.length) return spec;
        const v = args[i++];
        switch (spec) {
          case "%s": return typeof v === "string" ? v : inspect(v, 1, new Set([{}]));
          case "%d": case "%i": return typeof v === "bigint" ? v + "n" : String(spec === "%i" ? parseInt(v) : Number(v));
          case "%f": return String(parseFloat(v));
          case "%j": try { return JSON.stringify(v); } catch { return "[Circular]"; }
          case "%c": return "";
          default: return inspect(v);
        }
      });
      rest = args.slice(i);
    } else {
      out = inspect(args[0]);
      rest = args.slice(1);
    }
    for (const v of rest) out += " " + (typeof v === "string" ? v : inspect(v));
    return out;
  }

  cairn.inspect = inspect;
  cairn.format = format;

  const counts = new Map();
  const timers = new Map();
  const log = (level) => (...args) => cairn.log(level, format(...args));
  define("console", {
    log: log("log"), info: log("info"), debug: log("debug"), warn: log("warn"), error: log("error"),
    trace: (...args) => cairn.log("info", format(...args) + "\n" + (new Error().stack || "").split("\n").slice(1).join("\n")),
    dir: (v) => cairn.log("info", inspect(v)),
    table: (v) => cairn.log("info", inspect(v)),
    assert: (cond, ...args) => { if (!cond) cairn.log("error", "Assertion failed" + (args.length ? ": " + format(...args) : "")); },
    count: (label = "default") => { const n = (counts.get(label) || 0) + 1; counts.set(label, n); cairn.log("info", `${label}: ${n}`); },
    countReset: (label = "default") => counts.delete(label),
    time: (label = "default") => timers.set(label, cairn.now()),
    timeEnd: (label = "default") => {
      if (timers.has(label)) cairn.log("info", `${label}: ${(cairn.now() - timers.get(label)).toFixed(3)}ms`);
      timers.delete(label);
    },
    timeLog: (label = "default", ...args) => {
      if (timers.has(label)) cairn.log("info", `${label}: ${(cairn.now() - timers.get(label)).toFixed(3)}ms` + (args.length ? " " + format(...args) : ""));
    },
    group: () => {}, groupEnd: () => {},
  });

  // --- performance, navigator ---

  const timeOrigin = Date.now();
  define("performance", { now: () => cairn.now(), timeOrigin });
  define("navigator", { userAgent: "Cloudflare-Workers" });

  // workerd's global scope names itself `self`, as a service worker's does;
  // libraries probe it (self.crypto, self.location ?? …) to detect a browser-like host.
  define("self", globalThis);
})();
