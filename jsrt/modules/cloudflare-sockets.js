// The "cloudflare:sockets" module: connect() opens an outgoing TCP
// connection (jsrt/tcp.go), as workerd's does: a Socket with a byte
// readable, a writable, the opened and closed promises, close() and
// startTls(). Errors use workerd's words.
"use strict";
const internal = require("cairn:internal");

const SECURE = { off: 1, on: 1, starttls: 1 };

// parseAddress returns [hostname, port] of a "host:port" string or a
// {hostname, port} record.
function parseAddress(address) {
  let host, port;
  if (typeof address === "string") {
    let url;
    try {
      url = new URL("fake://" + address);
    } catch {
      throw new TypeError("Specified address could not be parsed.");
    }
    host = url.hostname;
    port = url.port;
    if (host === "") throw new TypeError("Specified address is missing hostname.");
    if (port === "") throw new TypeError("Specified address is missing port.");
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  } else if (address !== null && typeof address === "object") {
    host = String(address.hostname ?? "");
    port = String(address.port ?? "");
  } else {
    throw new TypeError("Specified address could not be parsed.");
  }
  const whole = `${host}:${port}`;
  if (whole.length > 255 || host === "" || !/^[A-Za-z0-9\-._\[\]:]+$/.test(whole)) {
    throw new TypeError("Specified address is empty string, contains unsupported characters or is too long.");
  }
  return [host, port];
}

function toBytes(chunk) {
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError("This WritableStream only supports writing byte types.");
}

class Socket {
  #native;
  #readable;
  #writable;
  #opened;
  #closed;
  #resolveClosed;
  #rejectClosed;
  #secure;
  #host;
  #upgraded = false;
  #closing = false;
  #startTlsUsed = false;

  constructor(token, opened, host, secure, allowHalfOpen) {
    if (token !== internalToken) throw new TypeError("Illegal constructor");
    this.#native = opened.socket;
    this.#host = host;
    this.#secure = secure;
    this.#opened = opened.opened;
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    this.#opened.catch((e) => this.#fail(e));
    this.#closed.catch(() => {});
    const src = opened.source;
    const sock = this;
    this.#readable = new ReadableStream({
      type: "bytes",
      pull(c) {
        return internal.bodyRead(src).then((buf) => {
          if (buf === null) {
            c.close();
            if (!allowHalfOpen) sock.#finish();
          } else {
            c.enqueue(new Uint8Array(buf));
          }
        }, (e) => {
          sock.#fail(e);
          throw e;
        });
      },
      cancel() { internal.bodyCancel(src); },
    }, { highWaterMark: 0 });
    const native = this.#native;
    this.#writable = new WritableStream({
      write(chunk) { return internal.tcpWrite(native, toBytes(chunk)); },
      close() { return internal.tcpCloseWrite(native); },
      abort() { internal.tcpClose(native); },
    });
  }

  get readable() { return this.#readable; }
  get writable() { return this.#writable; }
  get opened() { return this.#opened; }
  get closed() { return this.#closed; }
  get upgraded() { return this.#upgraded; }
  get secureTransport() { return this.#secure; }

  // close ends both directions and resolves closed.
  close() {
    if (!this.#closing) {
      this.#closing = true;
      this.#opened.then(() => this.#finish(), () => {});
    }
    return this.#closed;
  }

  // startTls hands the connection to a new TLS Socket; this one is done
  // (its closed resolves, upgraded is true).
  startTls(options) {
    if (this.#secure === "on") throw new TypeError("Cannot startTls on a TLS socket.");
    if (this.#secure !== "starttls") {
      throw new TypeError("The `secureTransport` socket option must be set to 'starttls' for startTls to be used.");
    }
    if (this.#startTlsUsed) throw new TypeError("startTls can only be called once.");
    this.#startTlsUsed = true;
    const host = options && options.expectedServerHostname !== undefined ? String(options.expectedServerHostname) : this.#host;
    const next = internal.tcpStartTls(this.#native, host);
    this.#upgraded = true;
    this.#resolveClosed();
    return new Socket(internalToken, next, host, "on", false);
  }

  #finish() {
    internal.tcpClose(this.#native);
    this.#resolveClosed();
  }

  #fail(e) {
    internal.tcpClose(this.#native);
    this.#rejectClosed(e);
  }
}

const internalToken = Symbol("cairn.socket");

function connect(address, options) {
  const [host, port] = parseAddress(address);
  const secure = options && options.secureTransport !== undefined ? String(options.secureTransport) : "off";
  if (SECURE[secure] !== 1) throw new TypeError(`Unsupported value in secureTransport socket option: ${secure}`);
  const allowHalfOpen = !!(options && options.allowHalfOpen);
  const opened = internal.tcpConnect(host, port, secure === "on");
  return new Socket(internalToken, opened, host, secure, allowHalfOpen);
}

Object.defineProperty(exports, "__esModule", { value: true });
exports.connect = connect;
exports.Socket = Socket;
