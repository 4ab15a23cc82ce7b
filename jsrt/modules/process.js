// node:process (with nodejs_compat; also the global process): unenv's
// process, with process.env holding the Worker's text vars and secrets, as
// Cloudflare populates it (nodejs_compat_populate_process_env). Methods are
// own properties bound to the process, so `import { nextTick } from
// "node:process"` works as in Node.
"use strict";
const internal = require("cairn:internal");
// While this loads, the global process getter (jsrt/modules.go) answers
// undefined rather than requiring a half-made module.
internal.nodeProcessLoading = true;
try {
  const ns = require("cairn:node").process();
  const proc = ns.default;
  const env = {};
  const populate = internal.nodeFeatures && internal.nodeFeatures.populateEnv;
  for (const [k, v] of Object.entries((populate && internal.env) || {})) {
    if (typeof v === "string") env[k] = v;
  }
  Object.defineProperty(proc, "env", { value: env, writable: true, enumerable: true, configurable: true });
  for (const k of Object.keys(ns)) {
    if (k === "default" || k === "env" || Object.prototype.hasOwnProperty.call(proc, k)) continue;
    const v = proc[k];
    if (typeof v === "function") {
      Object.defineProperty(proc, k, { value: v.bind(proc), writable: true, enumerable: false, configurable: true });
    }
  }
  module.exports = proc;
} finally {
  delete internal.nodeProcessLoading;
}
