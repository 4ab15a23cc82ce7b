// node:tls over cloudflare:sockets, as workerd provides it under
// nodejs_compat: tls.connect to a host, or over an existing net.Socket
// (STARTTLS, as database drivers upgrade after their first packets). The
// server's certificate is checked against the system's roots; servers
// cannot listen.
"use strict";
const net = require("net");

function notSupported(what) {
  const e = new Error(`${what} is not supported in Workers.`);
  e.code = "ERR_METHOD_NOT_IMPLEMENTED";
  return e;
}

class TLSSocket extends net.Socket {
  constructor(socket, options = {}) {
    super(options);
    this._secure = true;
    this.encrypted = true;
    this.authorized = false;
    this.authorizationError = null;
    this.alpnProtocol = false;
    this.servername = options.servername;
    if (socket instanceof net.Socket) upgrade(socket, this, options, undefined);
    this.once("secureConnect", () => { this.authorized = true; });
  }

  getPeerCertificate() { return {}; }
  getCertificate() { return {}; }
  getProtocol() { return "TLSv1.3"; }
  getCipher() { return { name: "TLS_AES_128_GCM_SHA256", standardName: "TLS_AES_128_GCM_SHA256", version: "TLSv1.3" }; }
  getSession() { return undefined; }
  isSessionReused() { return false; }
  setServername() {}
  exportKeyingMaterial() { throw notSupported("exportKeyingMaterial"); }
}

// upgrade moves plain's connection under tls (a TLSSocket) with startTls.
function upgrade(plain, tls, options, cb) {
  const servername = options.servername || options.host || plain._host;
  tls.servername = servername;
  const go = () => {
    if (plain._cf === null) {
      tls.destroy(new Error("The socket to upgrade is not connected."));
      return;
    }
    const cf = plain._cf;
    plain._reader = null; // a read of the plain socket in flight ends unseen
    plain._writer.releaseLock();
    plain._writer = null;
    plain._cf = null;
    tls._attach(cf.startTls({ expectedServerHostname: servername }), cb);
  };
  if (plain.connecting) plain._opened.then(go, (err) => tls.destroy(err));
  else go();
}

// connect takes (options[, cb]) or (port[, host][, options][, cb]).
function connect(...args) {
  let cb;
  if (typeof args[args.length - 1] === "function") cb = args.pop();
  let options;
  if (args[0] !== null && typeof args[0] === "object") options = { ...args[0] };
  else {
    options = { port: args[0] };
    if (typeof args[1] === "string") options.host = args[1];
    const extra = args.find((a, i) => i > 0 && a !== null && typeof a === "object");
    if (extra) options = { ...extra, ...options };
  }
  const tls = new TLSSocket(null, options);
  if (options.socket) {
    upgrade(options.socket, tls, options, cb);
    return tls;
  }
  return tls.connect({ port: options.port, host: options.host || options.servername || "localhost" }, cb);
}

module.exports = {
  TLSSocket,
  connect,
  createSecureContext(options) { return { context: {}, options }; },
  createServer() { throw notSupported("tls.createServer"); },
  Server: class Server { constructor() { throw notSupported("tls.Server"); } },
  checkServerIdentity() { return undefined; },
  getCiphers() { return ["tls_aes_128_gcm_sha256", "tls_aes_256_gcm_sha384", "tls_chacha20_poly1305_sha256"]; },
  rootCertificates: Object.freeze([]),
  DEFAULT_ECDH_CURVE: "auto",
  DEFAULT_MIN_VERSION: "TLSv1.2",
  DEFAULT_MAX_VERSION: "TLSv1.3",
  DEFAULT_CIPHERS: "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
};
