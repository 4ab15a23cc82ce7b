// The "cloudflare:sockets" module. cairn does not open outgoing TCP
// sockets yet: connect() throws saying so, so that code importing the
// module loads and fails only where it connects.
"use strict";

function connect(address) {
  const where = typeof address === "string" ? address : address && `${address.hostname}:${address.port}`;
  throw new Error(`cairn does not support outgoing TCP sockets (connect("${where}") from cloudflare:sockets) yet.`);
}

Object.defineProperty(exports, "__esModule", { value: true });
exports.connect = connect;
