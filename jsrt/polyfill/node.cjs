// The Node.js modules cairn provides under nodejs_compat from npm sources,
// bundled at build time into ../modules/generated/node.js (go generate ./jsrt).
// Each entry is a factory, so a runtime evaluates only the modules its Worker
// requires. As wrangler does with unenv, the modules a Worker can load but
// whose functions need a host (fs, net, child_process, …) are unenv's: they
// load, and their unimplemented functions throw naming themselves. streams
// and string_decoder are readable-stream and string_decoder (Node's own code
// as npm packages). node:buffer, events, path, url, util and async_hooks are
// cairn's (jsrt/modules); crypto and zlib are native.
//
// Imports of Node modules inside these packages stay require("node:…")
// calls, resolved by cairn's module registry at run time, so every module
// shares one events, buffer and process.
// unenv's AssertionError keeps Error's name; Node's is "AssertionError".
const named = (m) => {
  const AE = m.AssertionError || (m.default && m.default.AssertionError);
  if (AE && AE.prototype.name !== "AssertionError") {
    Object.defineProperty(AE.prototype, "name", { value: "AssertionError", writable: true, configurable: true });
  }
  return m;
};

module.exports = {
  "assert": () => named(require("unenv/node/assert")),
  "assert/strict": () => named(require("unenv/node/assert/strict")),
  "child_process": () => require("unenv/node/child_process"),
  "cluster": () => require("unenv/node/cluster"),
  "console": () => require("unenv/node/console"),
  "constants": () => require("unenv/node/constants"),
  "dgram": () => require("unenv/node/dgram"),
  "diagnostics_channel": () => require("unenv/node/diagnostics_channel"),
  "dns": () => require("unenv/node/dns"),
  "dns/promises": () => require("unenv/node/dns/promises"),
  "domain": () => require("unenv/node/domain"),
  "fs": () => require("unenv/node/fs"),
  "fs/promises": () => require("unenv/node/fs/promises"),
  "http": () => require("unenv/node/http"),
  "http2": () => require("unenv/node/http2"),
  "https": () => require("unenv/node/https"),
  "inspector": () => require("unenv/node/inspector"),
  "module": () => require("unenv/node/module"),
  "net": () => require("unenv/node/net"),
  "os": () => require("unenv/node/os"),
  "perf_hooks": () => require("unenv/node/perf_hooks"),
  "process": () => require("unenv/node/process"),
  "punycode": () => require("unenv/node/punycode"),
  "querystring": () => require("unenv/node/querystring"),
  "readline": () => require("unenv/node/readline"),
  "readline/promises": () => require("unenv/node/readline/promises"),
  "repl": () => require("unenv/node/repl"),
  "stream": () => require("readable-stream"),
  "stream/promises": () => require("readable-stream").promises,
  "stream/web": () => require("unenv/node/stream/web"),
  "stream/consumers": () => require("unenv/node/stream/consumers"),
  "string_decoder": () => require("string_decoder/lib/string_decoder.js"),
  "timers": () => require("unenv/node/timers"),
  "timers/promises": () => require("unenv/node/timers/promises"),
  "tls": () => require("unenv/node/tls"),
  "trace_events": () => require("unenv/node/trace_events"),
  "tty": () => require("unenv/node/tty"),
  "util/types": () => require("unenv/node/util/types"),
  "v8": () => require("unenv/node/v8"),
  "vm": () => require("unenv/node/vm"),
  "worker_threads": () => require("unenv/node/worker_threads"),
};
