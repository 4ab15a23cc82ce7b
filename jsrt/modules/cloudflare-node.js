// cloudflare:node: httpServerHandler, which serves a Worker's fetch events
// with a node:http server (http.js). Needs nodejs_compat, as node:http does.
"use strict";
const internal = require("cairn:internal");
require("node:http");
const h = internal.nodeHttp;

exports.httpServerHandler = function httpServerHandler(target) {
  if (!h) {
    const e = new Error("httpServerHandler needs node:http (nodejs_compat with compatibility date 2025-09-01 or later, or the enable_nodejs_http_modules and enable_nodejs_http_server_modules compatibility flags)");
    e.code = "ERR_METHOD_NOT_IMPLEMENTED";
    throw e;
  }
  return h.httpServerHandler(target);
};
