// node:http over fetch, as Cloudflare's (with nodejs_compat from
// compatibility date 2025-08-15, or enable_nodejs_http_modules; see
// jsrt/nodecompat.go). node:https is this module with https: as the
// default protocol (https.js).
//
// The client: http.request/get make a ClientRequest (a Writable: write,
// end, headers, setTimeout, abort/destroy) whose body is sent with fetch
// when it ends; its 'response' is an IncomingMessage (a Readable of the
// response body). Redirects are not followed, as in Node.
//
// The server (from 2025-09-01, or enable_nodejs_http_server_modules):
// http.createServer(handler).listen(port) registers the server, and
// cloudflare:node's httpServerHandler({ port }) (or (server)) turns it into
// a Worker's fetch handler: each Request becomes an IncomingMessage and a
// ServerResponse whose writes stream out as the Response.
"use strict";
const internal = require("cairn:internal");
const { Buffer } = require("buffer");
const { Readable, Writable } = require("stream");
const EventEmitter = require("events");

const METHODS = ["ACL", "BIND", "CHECKOUT", "CONNECT", "COPY", "DELETE", "GET", "HEAD", "LINK", "LOCK", "M-SEARCH", "MERGE",
  "MKACTIVITY", "MKCALENDAR", "MKCOL", "MOVE", "NOTIFY", "OPTIONS", "PATCH", "POST", "PROPFIND", "PROPPATCH", "PURGE",
  "PUT", "QUERY", "REBIND", "REPORT", "SEARCH", "SOURCE", "SUBSCRIBE", "TRACE", "UNBIND", "UNLINK", "UNLOCK", "UNSUBSCRIBE"];

const STATUS_CODES = {
  100: "Continue", 101: "Switching Protocols", 102: "Processing", 103: "Early Hints",
  200: "OK", 201: "Created", 202: "Accepted", 203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content",
  206: "Partial Content", 207: "Multi-Status", 208: "Already Reported", 226: "IM Used",
  300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified", 305: "Use Proxy",
  307: "Temporary Redirect", 308: "Permanent Redirect",
  400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
  406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict", 410: "Gone",
  411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large", 414: "URI Too Long", 415: "Unsupported Media Type",
  416: "Range Not Satisfiable", 417: "Expectation Failed", 418: "I'm a Teapot", 421: "Misdirected Request",
  422: "Unprocessable Entity", 423: "Locked", 424: "Failed Dependency", 425: "Too Early", 426: "Upgrade Required",
  428: "Precondition Required", 429: "Too Many Requests", 431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
  505: "HTTP Version Not Supported", 506: "Variant Also Negotiates", 507: "Insufficient Storage", 508: "Loop Detected",
  509: "Bandwidth Limit Exceeded", 510: "Not Extended", 511: "Network Authentication Required",
};

const features = internal.nodeFeatures || {};

function codeError(Ctor, code, msg) {
  const e = new Ctor(msg);
  e.code = code;
  return e;
}

const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
function validateHeaderName(name) {
  if (typeof name !== "string" || !name || !TOKEN.test(name)) {
    throw codeError(TypeError, "ERR_INVALID_HTTP_TOKEN", `Header name must be a valid HTTP token ["${name}"]`);
  }
}
function validateHeaderValue(name, value) {
  if (value === undefined) throw codeError(TypeError, "ERR_HTTP_INVALID_HEADER_VALUE", `Invalid value "${value}" for header "${name}"`);
  if (/[^\t\x20-\x7e\x80-\xff]/.test(String(value))) throw codeError(TypeError, "ERR_INVALID_CHAR", `Invalid character in header content ["${name}"]`);
}

// --- Agent (no sockets to pool: kept for code that passes one) ---

class Agent extends EventEmitter {
  constructor(options = {}) {
    super();
    this.options = { path: null, ...options };
    this.defaultPort = options.defaultPort || 80;
    this.protocol = options.protocol || "http:";
    this.keepAlive = !!options.keepAlive;
    this.keepAliveMsecs = options.keepAliveMsecs || 1000;
    this.maxSockets = options.maxSockets || Infinity;
    this.maxFreeSockets = options.maxFreeSockets || 256;
    this.maxTotalSockets = options.maxTotalSockets || Infinity;
    this.sockets = {};
    this.freeSockets = {};
    this.requests = {};
  }
  destroy() {}
  getName(options = {}) {
    return `${options.host || "localhost"}:${options.port || ""}:${options.localAddress || ""}`;
  }
}
const globalAgent = new Agent();

// --- headers kept as Node does: by lower-case name, with the name as set ---

class HeaderStore {
  constructor() { this.map = new Map(); }
  set(name, value) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    this.map.set(name.toLowerCase(), [name, value]);
  }
  get(name) {
    const e = this.map.get(String(name).toLowerCase());
    return e && e[1];
  }
  has(name) { return this.map.has(String(name).toLowerCase()); }
  delete(name) { this.map.delete(String(name).toLowerCase()); }
  names() { return [...this.map.keys()]; }
  rawNames() { return [...this.map.values()].map((e) => e[0]); }
  object() {
    const o = Object.create(null);
    for (const [k, [, v]] of this.map) o[k] = v;
    return o;
  }
  toHeaders(skip) {
    const h = new Headers();
    for (const [k, [, v]] of this.map) {
      if (skip && skip.has(k)) continue;
      if (Array.isArray(v)) for (const x of v) h.append(k, String(x));
      else h.set(k, String(v));
    }
    return h;
  }
}

// A stand-in for the socket some code inspects (req.socket, 'socket').
class FakeSocket extends EventEmitter {
  constructor(encrypted) {
    super();
    this.encrypted = encrypted;
    this.remoteAddress = "127.0.0.1";
    this.remotePort = 0;
    this.readable = this.writable = true;
  }
  setTimeout(ms, cb) { if (cb) this.once("timeout", cb); return this; }
  setNoDelay() { return this; }
  setKeepAlive() { return this; }
  ref() { return this; }
  unref() { return this; }
  address() { return { address: this.remoteAddress, family: "IPv4", port: this.remotePort }; }
  destroy() { return this; }
  end() { return this; }
}

// --- IncomingMessage ---

class IncomingMessage extends Readable {
  constructor(socket) {
    super();
    this.socket = socket || new FakeSocket(false);
    this.connection = this.socket;
    this.httpVersion = "1.1";
    this.httpVersionMajor = 1;
    this.httpVersionMinor = 1;
    this.headers = {};
    this.headersDistinct = {};
    this.rawHeaders = [];
    this.trailers = {};
    this.rawTrailers = [];
    this.method = null;
    this.url = "";
    this.statusCode = null;
    this.statusMessage = null;
    this.complete = false;
    this.aborted = false;
    this._reader = null;
  }
  // _fromHeaders fills headers, headersDistinct and rawHeaders from a
  // Headers object, as Node joins repeated fields (set-cookie an array).
  _fromHeaders(h) {
    const cookies = typeof h.getSetCookie === "function" ? h.getSetCookie() : [];
    for (const [k, v] of h) {
      if (k === "set-cookie") continue;
      this.headers[k] = v;
      this.headersDistinct[k] = [v];
      this.rawHeaders.push(k, v);
    }
    if (cookies.length) {
      this.headers["set-cookie"] = cookies;
      this.headersDistinct["set-cookie"] = cookies;
      for (const c of cookies) this.rawHeaders.push("set-cookie", c);
    }
  }
  _read() {
    const reader = this._reader;
    if (!reader) {
      this.complete = true;
      this.push(null);
      return;
    }
    reader.read().then(({ done, value }) => {
      if (this.destroyed) return;
      if (done) {
        this.complete = true;
        this.push(null);
      } else {
        if (this._onData) this._onData();
        this.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
      }
    }, (e) => this.destroy(e));
  }
  _destroy(err, cb) {
    if (this._reader && !this.complete) {
      this.aborted = !this.complete;
      this._reader.cancel().catch(() => {});
    }
    cb(err);
  }
  setTimeout(ms, cb) {
    if (cb) this.once("timeout", cb);
    return this;
  }
}

// --- ClientRequest ---

const BODYLESS = new Set(["GET", "HEAD"]);
const SKIP_HEADERS = new Set(["host", "connection", "content-length", "transfer-encoding", "keep-alive", "expect"]);

function requestArgs(defaultProtocol, input, options, cb) {
  let opts = {};
  if (typeof input === "string" || (input && typeof input === "object" && typeof input.href === "string" && input.searchParams)) {
    const u = new URL(String(input));
    opts = { protocol: u.protocol, hostname: u.hostname.replace(/^\[|\]$/g, ""), port: u.port, path: u.pathname + u.search,
      auth: u.username ? decodeURIComponent(u.username) + ":" + decodeURIComponent(u.password) : undefined };
    if (typeof options === "function") [cb, options] = [options, undefined];
    if (options) opts = { ...opts, ...options };
  } else {
    if (typeof input === "function") [cb, input] = [input, {}];
    opts = { ...(input || {}) };
    if (typeof options === "function") cb = options;
  }
  const agent = opts.agent && typeof opts.agent === "object" ? opts.agent : null;
  opts.protocol = opts.protocol || (agent && agent.protocol) || defaultProtocol;
  if (opts.protocol !== "http:" && opts.protocol !== "https:") {
    throw codeError(TypeError, "ERR_INVALID_PROTOCOL", `Protocol "${opts.protocol}" not supported. Expected "${defaultProtocol}"`);
  }
  return { opts, cb };
}

class ClientRequest extends Writable {
  constructor(defaultProtocol, input, options, cb) {
    // Not destroyed once written (the response is still to come); 'close'
    // comes after the response, or the error.
    super({ decodeStrings: true, autoDestroy: false, emitClose: false });
    const { opts, cb: callback } = requestArgs(defaultProtocol, input, options, cb);
    this._opts = opts;
    this.method = String(opts.method || "GET").toUpperCase();
    if (!METHODS.includes(this.method)) throw codeError(TypeError, "ERR_INVALID_HTTP_TOKEN", `Method must be a valid HTTP token ["${opts.method}"]`);
    this.protocol = opts.protocol;
    this.host = opts.hostname || (opts.host || "localhost").replace(/:\d+$/, "");
    const port = opts.port || (opts.host && /:(\d+)$/.test(opts.host) ? opts.host.match(/:(\d+)$/)[1] : "") ||
      opts.defaultPort || (this.protocol === "https:" ? 443 : 80);
    this.port = Number(port);
    this.path = opts.path || "/";
    if (/[\u0000-\u0020]/.test(this.path)) throw codeError(TypeError, "ERR_UNESCAPED_CHARACTERS", "Request path contains unescaped characters");
    this.aborted = false;
    this.reusedSocket = false;
    this.maxHeadersCount = null;
    this.headersSent = false;
    this.res = null;
    this.agent = opts.agent === undefined ? globalAgent : opts.agent;
    this.socket = new FakeSocket(this.protocol === "https:");
    this.connection = this.socket;
    this._headers = new HeaderStore();
    this._chunks = [];
    this._controller = new AbortController();
    this._timer = null;
    this._timeoutMs = 0;
    if (Array.isArray(opts.headers)) {
      for (let i = 0; i + 1 < opts.headers.length; i += 2) this.setHeader(opts.headers[i], opts.headers[i + 1]);
    } else if (opts.headers) {
      for (const [k, v] of Object.entries(opts.headers)) if (v !== undefined) this.setHeader(k, v);
    }
    if (opts.auth && !this._headers.has("authorization")) this.setHeader("Authorization", "Basic " + Buffer.from(opts.auth).toString("base64"));
    if (callback) this.once("response", callback);
    if (opts.signal) {
      if (opts.signal.aborted) queueMicrotask(() => this.destroy(abortError(opts.signal.reason)));
      else opts.signal.addEventListener("abort", () => this.destroy(abortError(opts.signal.reason)), { once: true });
    }
    if (opts.timeout) this.setTimeout(opts.timeout);
    queueMicrotask(() => {
      if (!this.destroyed) this.emit("socket", this.socket);
    });
  }
  get url() {
    const host = this.host.includes(":") ? `[${this.host}]` : this.host;
    const dflt = this.protocol === "https:" ? 443 : 80;
    return `${this.protocol}//${host}${this.port === dflt ? "" : ":" + this.port}${this.path}`;
  }
  setHeader(name, value) {
    if (this.headersSent) throw codeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot set headers after they are sent to the client");
    this._headers.set(name, value);
    return this;
  }
  getHeader(name) { return this._headers.get(name); }
  getHeaders() { return this._headers.object(); }
  getHeaderNames() { return this._headers.names(); }
  getRawHeaderNames() { return this._headers.rawNames(); }
  hasHeader(name) { return this._headers.has(name); }
  removeHeader(name) {
    if (this.headersSent) throw codeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot remove headers after they are sent to the client");
    this._headers.delete(name);
  }
  flushHeaders() {}
  setNoDelay() {}
  setSocketKeepAlive() {}
  setTimeout(ms, cb) {
    if (cb) this.once("timeout", cb);
    this._timeoutMs = ms;
    this._armTimer();
    return this;
  }
  _armTimer() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    if (this._timeoutMs > 0 && !this.destroyed) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this.emit("timeout");
        this.socket.emit("timeout");
      }, this._timeoutMs);
    }
  }
  _clearTimer() {
    if (this._timer) clearTimeout(this._timer);
    this._timer = null;
    this._timeoutMs = 0;
  }
  _write(chunk, encoding, cb) {
    this._chunks.push(chunk);
    cb();
  }
  _final(cb) {
    this.headersSent = true;
    const headers = this._headers.toHeaders(SKIP_HEADERS);
    const body = this._chunks.length ? Buffer.concat(this._chunks) : null;
    if (body && BODYLESS.has(this.method) && body.length) {
      cb(codeError(Error, "ERR_INVALID_ARG_VALUE", `a ${this.method} request cannot have a body`));
      return;
    }
    cb();
    fetch(this.url, { method: this.method, headers, body: body && !BODYLESS.has(this.method) ? body : undefined,
      redirect: "manual", signal: this._controller.signal }).then((resp) => this._response(resp), (e) => {
      if (this.destroyed && this._destroyedOnPurpose) return;
      this._clearTimer();
      const err = e instanceof Error ? e : new Error(String(e));
      if (!err.code) err.code = "ECONNREFUSED";
      this.destroy(err);
    });
  }
  _response(resp) {
    if (this.destroyed) {
      resp.body && resp.body.cancel().catch(() => {});
      return;
    }
    const res = new IncomingMessage(this.socket);
    res.req = this;
    res.statusCode = resp.status;
    res.statusMessage = resp.statusText || STATUS_CODES[resp.status] || "";
    res.url = resp.url || "";
    res._fromHeaders(resp.headers);
    res._reader = resp.body ? resp.body.getReader() : null;
    res._onData = () => this._armTimer();
    res.once("end", () => {
      this._clearTimer();
      queueMicrotask(() => this.emit("close"));
    });
    this.res = res;
    this._armTimer();
    if (!this.emit("response", res)) res.resume(); // nobody listens: drain, as Node does
  }
  abort() {
    if (this.aborted) return;
    this.aborted = true;
    queueMicrotask(() => this.emit("abort"));
    this._destroyedOnPurpose = true;
    this.destroy();
  }
  _destroy(err, cb) {
    this._clearTimer();
    this._destroyedOnPurpose = true;
    this._controller.abort();
    if (this.res && !this.res.complete) this.res.destroy(err || undefined);
    if (!err && !this.res && !this.aborted) err = codeError(Error, "ECONNRESET", "socket hang up");
    cb(err);
    queueMicrotask(() => this.emit("close"));
  }
}

function abortError(reason) {
  const e = new Error("The operation was aborted", { cause: reason });
  e.name = "AbortError";
  e.code = "ABORT_ERR";
  return e;
}

// --- the server side ---

const servers = new Map(); // port → Server listening on it

class ServerResponse extends Writable {
  constructor(req) {
    super({ decodeStrings: true });
    this.req = req;
    this.statusCode = 200;
    this.statusMessage = undefined;
    this.headersSent = false;
    this.sendDate = true;
    this.socket = req.socket;
    this.connection = req.socket;
    this._headers = new HeaderStore();
    this._ready = null; // resolves the Response once the head is out
    this._controller = null;
    this._stream = new ReadableStream({
      start: (c) => { this._controller = c; },
      cancel: () => { this.destroy(); },
    }, { highWaterMark: 0 });
  }
  get finished() { return this.writableEnded; }
  setHeader(name, value) {
    if (this.headersSent) throw codeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot set headers after they are sent to the client");
    this._headers.set(name, value);
    return this;
  }
  appendHeader(name, value) {
    const prev = this._headers.get(name);
    this.setHeader(name, prev === undefined ? value : [].concat(prev, value));
    return this;
  }
  getHeader(name) { return this._headers.get(name); }
  getHeaders() { return this._headers.object(); }
  getHeaderNames() { return this._headers.names(); }
  hasHeader(name) { return this._headers.has(name); }
  removeHeader(name) {
    if (this.headersSent) throw codeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot remove headers after they are sent to the client");
    this._headers.delete(name);
  }
  writeHead(status, message, headers) {
    if (this.headersSent) throw codeError(Error, "ERR_HTTP_HEADERS_SENT", "Cannot write headers after they are sent to the client");
    if (typeof message !== "string") [headers, message] = [message, undefined];
    this.statusCode = status;
    if (message !== undefined) this.statusMessage = message;
    if (Array.isArray(headers)) {
      for (let i = 0; i + 1 < headers.length; i += 2) this.appendHeader(headers[i], headers[i + 1]);
    } else if (headers) {
      for (const [k, v] of Object.entries(headers)) this.setHeader(k, v);
    }
    this._sendHead();
    return this;
  }
  writeContinue() {}
  writeEarlyHints() {}
  flushHeaders() { this._sendHead(); }
  setTimeout(ms, cb) { if (cb) this.once("timeout", cb); return this; }
  _sendHead() {
    if (this.headersSent) return;
    this.headersSent = true;
    const bodyless = this.req.method === "HEAD" || this.statusCode === 204 || this.statusCode === 304;
    const resp = new Response(bodyless ? null : this._stream, {
      status: this.statusCode,
      statusText: this.statusMessage || STATUS_CODES[this.statusCode] || "",
      headers: this._headers.toHeaders(new Set(["connection", "transfer-encoding", "keep-alive"])),
    });
    this._bodyless = bodyless;
    this._ready(resp);
  }
  _write(chunk, encoding, cb) {
    this._sendHead();
    if (!this._bodyless && chunk.length) this._controller.enqueue(new Uint8Array(chunk));
    cb();
  }
  _final(cb) {
    this._sendHead();
    try { this._controller.close(); } catch {}
    cb();
  }
  _destroy(err, cb) {
    try { err ? this._controller.error(err) : this._controller.close(); } catch {}
    cb(err);
  }
}

class Server extends EventEmitter {
  constructor(options, handler) {
    super();
    if (typeof options === "function") [handler, options] = [options, {}];
    this.options = options || {};
    this.listening = false;
    this.port = null;
    this.timeout = 0;
    this.keepAliveTimeout = 5000;
    this.headersTimeout = 60000;
    this.requestTimeout = 300000;
    this.maxHeadersCount = null;
    if (handler) this.on("request", handler);
  }
  listen(...args) {
    const cb = typeof args[args.length - 1] === "function" ? args.pop() : undefined;
    let port = args[0];
    if (port && typeof port === "object") port = port.port;
    this.port = port === undefined || port === null ? 0 : Number(port);
    if (servers.has(this.port) && servers.get(this.port) !== this) {
      const e = codeError(Error, "EADDRINUSE", `listen EADDRINUSE: address already in use :::${this.port}`);
      e.syscall = "listen";
      queueMicrotask(() => this.emit("error", e));
      return this;
    }
    servers.set(this.port, this);
    this.listening = true;
    if (cb) this.once("listening", cb);
    queueMicrotask(() => this.emit("listening"));
    return this;
  }
  address() {
    return this.listening ? { address: "::", family: "IPv6", port: this.port } : null;
  }
  close(cb) {
    if (servers.get(this.port) === this) servers.delete(this.port);
    this.listening = false;
    queueMicrotask(() => {
      this.emit("close");
      if (cb) cb();
    });
    return this;
  }
  closeAllConnections() {}
  closeIdleConnections() {}
  setTimeout(ms, cb) { this.timeout = ms; if (cb) this.on("timeout", cb); return this; }
  ref() { return this; }
  unref() { return this; }
  [Symbol.asyncDispose]() { return new Promise((r) => this.close(r)); }

  // _serve answers request with this server's 'request' listeners.
  _serve(request) {
    const u = new URL(request.url);
    const req = new IncomingMessage(new FakeSocket(u.protocol === "https:"));
    req.method = request.method;
    req.url = u.pathname + u.search;
    req._fromHeaders(request.headers);
    if (!req.headers.host) {
      req.headers.host = u.host;
      req.rawHeaders.push("Host", u.host);
    }
    req._reader = request.body ? request.body.getReader() : null;
    const res = new ServerResponse(req);
    return new Promise((resolve, reject) => {
      res._ready = resolve;
      res.once("error", reject);
      try {
        if (!this.emit("request", req, res)) {
          res.statusCode = 404;
          res.end();
        }
      } catch (e) {
        reject(e);
      }
    });
  }
}

function createServer(options, handler) {
  return new Server(options, handler);
}

// httpServerHandler is cloudflare:node's: a Worker's default export that
// serves fetch events with a node:http Server (or the one listening on
// options.port).
function httpServerHandler(target) {
  if (!features.httpServer) {
    throw codeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "httpServerHandler needs node:http's server (compatibility date 2025-09-01 or later, or the enable_nodejs_http_server_modules compatibility flag)");
  }
  return {
    async fetch(request) {
      let server = target instanceof Server ? target : null;
      if (!server) {
        const port = target && typeof target === "object" ? target.port : target;
        server = servers.get(Number(port));
        if (!server) throw new Error(`no node:http server listening on port ${port}; call server.listen(${port}) first`);
      }
      return server._serve(request);
    },
  };
}

const http = {
  METHODS, STATUS_CODES, Agent, globalAgent, ClientRequest, IncomingMessage, OutgoingMessage: Writable,
  maxHeaderSize: 16384, validateHeaderName, validateHeaderValue,
  setMaxIdleHTTPParsers() {},
  request(input, options, cb) { return new ClientRequest("http:", input, options, cb); },
  get(input, options, cb) {
    const req = new ClientRequest("http:", input, options, cb);
    req.end();
    return req;
  },
};

const serverNotOn = () => {
  throw codeError(Error, "ERR_METHOD_NOT_IMPLEMENTED", "node:http's server needs compatibility date 2025-09-01 or later, or the enable_nodejs_http_server_modules compatibility flag");
};
if (features.httpServer) Object.assign(http, { Server, ServerResponse, createServer });
else Object.assign(http, { Server: serverNotOn, ServerResponse: serverNotOn, createServer: serverNotOn });

// For node:https and cloudflare:node, which Worker code cannot reach.
internal.nodeHttp = { ClientRequest, Agent, httpServerHandler };
http.default = http;
module.exports = http;
