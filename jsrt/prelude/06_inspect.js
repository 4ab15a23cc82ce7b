// How console.log and util.inspect (prelude/05_platform.js: inspect) show
// the values whose own properties say nothing: URL and URLSearchParams (as
// Node does: URL { href: …, … }), Headers, Request, Response, FormData,
// ArrayBuffer, errors with a cause, and objects with a
// [Symbol.for("nodejs.util.inspect.custom")] method. The classes are looked
// up when a value is inspected, since most are defined by later prelude
// files.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const custom = Symbol.for("nodejs.util.inspect.custom");
  const quote = (s) => JSON.stringify(String(s)).replace(/^"|"$/g, "'");
  const is = (value, name) => typeof globalThis[name] === "function" && value instanceof globalThis[name];

  // fields renders `Name { k: v, … }` from getters the object has.
  function fields(name, value, keys, inner) {
    const parts = keys.map((k) => `${k}: ${inner(value[k])}`);
    return `${name} { ${parts.join(", ")} }`;
  }

  function pairs(name, entries, inner) {
    const parts = entries.map(([k, v]) => `${inner(k)} => ${inner(v)}`);
    return parts.length ? `${name} { ${parts.join(", ")} }` : `${name} {}`;
  }

  cairn.inspectSpecial = function inspectSpecial(value, depth, seen, inspect) {
    if (typeof value[custom] === "function" && value[custom] !== inspectSpecial) {
      const out = value[custom](depth, { depth }, (v) => inspect(v, depth - 1, seen));
      return typeof out === "string" ? out : inspect(out, depth, seen);
    }
    const inner = (v) => inspect(v, depth - 1, new Set([...seen, value]));
    if (value instanceof Error && "cause" in value) {
      const head = value.stack || `${value.name}: ${value.message}`;
      if (seen.has(value)) return "[Circular]";
      return `${head} { [cause]: ${inner(value.cause)} }`;
    }
    if (depth < 0) return undefined;
    if (is(value, "URL")) {
      return fields("URL", value, ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "searchParams", "hash"], inner);
    }
    if (is(value, "URLSearchParams")) return pairs("URLSearchParams", [...value].map(([k, v]) => [quote(k), quote(v)]), String);
    if (is(value, "Headers")) return pairs(`Headers(${[...value].length})`, [...value].map(([k, v]) => [quote(k), quote(v)]), String);
    if (is(value, "FormData")) return pairs("FormData", [...value].map(([k, v]) => [quote(k), typeof v === "string" ? quote(v) : inner(v)]), String);
    if (is(value, "Request")) return fields("Request", value, ["method", "url", "headers", "redirect", "bodyUsed"], inner);
    if (is(value, "Response")) return fields("Response", value, ["status", "statusText", "headers", "ok", "redirected", "url", "bodyUsed"], inner);
    if (value instanceof ArrayBuffer) {
      const bytes = Array.from(new Uint8Array(value).subarray(0, 50), (b) => b.toString(16).padStart(2, "0"));
      const more = value.byteLength > 50 ? ` ... ${value.byteLength - 50} more bytes` : "";
      return `ArrayBuffer { [Uint8Contents]: <${bytes.join(" ")}${more}>, byteLength: ${value.byteLength} }`;
    }
    return undefined;
  };
})();
