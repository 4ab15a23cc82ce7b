// node:net over connect() of cloudflare:sockets, as workerd provides it
// under nodejs_compat: net.Socket (a Duplex), net.connect and
// createConnection, and the address helpers. Servers cannot listen in a
// Worker: createServer throws. node:tls builds its TLSSocket on this.
"use strict";
const { Duplex } = require("stream");
const { Buffer } = require("buffer");
const sockets = require("cloudflare:sockets");

function notSupported(what) {
  const e = new Error(`${what} is not supported in Workers: a Worker cannot accept TCP connections.`);
  e.code = "ERR_METHOD_NOT_IMPLEMENTED";
  return e;
}

// normalizeConnectArgs turns connect's (options[, cb]), (port[, host][, cb])
// and (path[, cb]) forms into [options, cb].
function normalizeConnectArgs(args) {
  let options = {};
  let cb;
  if (args.length > 0 && typeof args[args.length - 1] === "function") cb = args[args.length - 1];
  const first = args[0];
  if (first !== null && typeof first === "object") options = { ...first };
  else if (typeof first === "string" && !/^\d+$/.test(first)) options = { path: first };
  else {
    options = { port: first };
    if (typeof args[1] === "string") options.host = args[1];
  }
  return [options, cb];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIPv4(s) { return IPV4.test(String(s)); }
function isIPv6(s) {
  s = String(s);
  if (!s.includes(":")) return false;
  try {
    new URL(`http://[${s}]/`);
    return true;
  } catch {
    return false;
  }
}
function isIP(s) { return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0; }

function splitAddress(addr) {
  if (typeof addr !== "string") return [undefined, undefined];
  const i = addr.lastIndexOf(":");
  if (i < 0) return [addr, undefined];
  return [addr.slice(0, i).replace(/^\[|\]$/g, ""), Number(addr.slice(i + 1))];
}

class Socket extends Duplex {
  constructor(options = {}) {
    super({ allowHalfOpen: !!options.allowHalfOpen, emitClose: true, autoDestroy: true, decodeStrings: true });
    this.connecting = false;
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.remoteAddress = undefined;
    this.remotePort = undefined;
    this.remoteFamily = undefined;
    this.localAddress = undefined;
    this.localPort = undefined;
    this._cf = null;
    this._reader = null;
    this._writer = null;
    this._opened = null;
    this._reading = false;
    this._timeoutMs = 0;
    this._timer = null;
    this._host = undefined;
    this._secure = false; // the connection is TLS (tls.connect)
  }

  get pending() { return this._cf === null || this.connecting; }
  get readyState() {
    if (this.connecting) return "opening";
    if (this.readable && this.writable) return "open";
    if (this.readable) return "readOnly";
    if (this.writable) return "writeOnly";
    return "closed";
  }

  connect(...args) {
    const [options, cb] = normalizeConnectArgs(args);
    if (options.path !== undefined) throw notSupported("Connecting to a Unix domain socket");
    const port = Number(options.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      const e = new RangeError(`Port should be >= 0 and < 65536. Received ${options.port}.`);
      e.code = "ERR_SOCKET_BAD_PORT";
      throw e;
    }
    const host = options.host || "localhost";
    this._host = host;
    // Every socket may later become TLS (tls.connect({socket})).
    const cf = sockets.connect({ hostname: host, port }, {
      secureTransport: this._secure ? "on" : "starttls",
      allowHalfOpen: true,
    });
    this._attach(cf, cb);
    return this;
  }

  // _attach makes cf the connection under this socket.
  _attach(cf, cb) {
    this.connecting = true;
    this._cf = cf;
    this._writer = cf.writable.getWriter();
    this._reader = cf.readable.getReader();
    if (cb) this.once(this._secure ? "secureConnect" : "connect", cb);
    this._opened = cf.opened.then((info) => {
      this.connecting = false;
      [this.remoteAddress, this.remotePort] = splitAddress(info.remoteAddress);
      [this.localAddress, this.localPort] = splitAddress(info.localAddress);
      this.remoteFamily = isIPv6(this.remoteAddress) ? "IPv6" : "IPv4";
      this._touch();
      this.emit("connect");
      if (this._secure) this.emit("secureConnect");
      this.emit("ready");
      if (this._reading) this._pull();
    }, (err) => {
      this.connecting = false;
      this.destroy(err);
      throw err;
    });
    this._opened.catch(() => {});
  }

  _read() {
    if (this._reading) return;
    this._reading = true;
    if (!this.connecting && this._reader) this._pull();
  }

  // _pull reads chunks while the readable side wants more.
  _pull() {
    const reader = this._reader;
    reader.read().then(({ value, done }) => {
      if (reader !== this._reader) return; // handed to TLS meanwhile
      if (done) {
        this._reading = false;
        this.push(null);
        return;
      }
      this.bytesRead += value.byteLength;
      this._touch();
      if (this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) this._pull();
      else this._reading = false;
    }, (err) => {
      if (reader === this._reader) this.destroy(err);
    });
  }

  _write(chunk, encoding, cb) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk, encoding) : chunk;
    const go = () => {
      this.bytesWritten += bytes.byteLength;
      this._writer.write(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)).then(() => {
        this._touch();
        cb();
      }, cb);
    };
    if (this._writer === null) {
      cb(new Error("This socket is not connected."));
      return;
    }
    if (this.connecting) this._opened.then(go, cb);
    else go();
  }

  _final(cb) {
    if (this._writer === null) return cb();
    this._writer.close().then(() => cb(), cb);
  }

  _destroy(err, cb) {
    this._clearTimer();
    if (this._cf !== null) this._cf.close().catch(() => {});
    cb(err);
  }

  // _touch restarts the idle timer of setTimeout.
  _touch() {
    if (this._timeoutMs > 0) {
      this._clearTimer();
      this._timer = setTimeout(() => this.emit("timeout"), this._timeoutMs);
    }
  }

  _clearTimer() {
    if (this._timer !== null) clearTimeout(this._timer);
    this._timer = null;
  }

  setTimeout(ms, cb) {
    this._timeoutMs = Number(ms) || 0;
    if (cb) {
      if (this._timeoutMs === 0) this.removeListener("timeout", cb);
      else this.once("timeout", cb);
    }
    if (this._timeoutMs === 0) this._clearTimer();
    else this._touch();
    return this;
  }

  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  ref() { return this; }
  unref() { return this; }

  address() {
    if (this.localAddress === undefined) return {};
    return { address: this.localAddress, port: this.localPort, family: isIPv6(this.localAddress) ? "IPv6" : "IPv4" };
  }

  resetAndDestroy() { return this.destroy(); }
}

function connect(...args) {
  const [options] = normalizeConnectArgs(args);
  const socket = new Socket(options);
  if (options.timeout) socket.setTimeout(options.timeout);
  return socket.connect(...args);
}

class Server {
  constructor() { throw notSupported("net.Server"); }
}

class BlockList {
  constructor() { this._rules = []; }
  addAddress(address) { this._rules.push((a) => a === address); }
  check(address) { return this._rules.some((r) => r(address)); }
}

let autoSelect = true;

module.exports = {
  Socket,
  Stream: Socket,
  Server,
  BlockList,
  connect,
  createConnection: connect,
  createServer() { throw notSupported("net.createServer"); },
  isIP,
  isIPv4,
  isIPv6,
  getDefaultAutoSelectFamily() { return autoSelect; },
  setDefaultAutoSelectFamily(v) { autoSelect = !!v; },
  getDefaultAutoSelectFamilyAttemptTimeout() { return 250; },
  setDefaultAutoSelectFamilyAttemptTimeout() {},
};
