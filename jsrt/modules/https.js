// node:https: node:http (http.js) with https: as the default protocol and
// 443 as the default port. TLS is fetch's, so Agent's TLS options (ca,
// cert, rejectUnauthorized) are accepted and not used, as on Cloudflare.
"use strict";
const internal = require("cairn:internal");
const http = require("http");
const { ClientRequest, Agent: HTTPAgent } = internal.nodeHttp;

class Agent extends HTTPAgent {
  constructor(options = {}) {
    super({ defaultPort: 443, protocol: "https:", ...options });
  }
}
const globalAgent = new Agent();

const https = {
  ...http,
  Agent,
  globalAgent,
  request(input, options, cb) { return new ClientRequest("https:", input, options, cb); },
  get(input, options, cb) {
    const req = new ClientRequest("https:", input, options, cb);
    req.end();
    return req;
  },
};
https.default = https;
module.exports = https;
