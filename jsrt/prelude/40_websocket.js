// WebSocketPair, WebSocket, MessageEvent, CloseEvent, ErrorEvent and
// WebSocketRequestResponsePair. The natives (jsrt/websocket.go, on
// __cairn.webSocket) own the connection; a WebSocket here is a view of a Go
// handle, and Go may wrap a handle again (after an object reset, or for the
// socket an object returned to a Worker through a stub).
//
// Client sockets (jsrt/websocket_client.go): new WebSocket(url, protocols)
// dials at once; a socket from fetch() with "Upgrade: websocket" waits for
// accept(); accept() of the socket a Durable Object answered a stub.fetch()
// with connects to the object's end in-process. A socket not accepted can
// be returned in a 101 Response instead (the object's own end, proxied).
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const native = cairn.webSocket;
  const internal = Symbol("cairn.WebSocket");

  function define(name, value) {
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
  }

  class MessageEvent extends Event {
    #data;
    constructor(type, init) {
      super(type, init);
      this.#data = init && "data" in init ? init.data : null;
    }
    get data() { return this.#data; }
  }

  class CloseEvent extends Event {
    #code;
    #reason;
    #wasClean;
    constructor(type, init) {
      super(type, init);
      init = init || {};
      this.#code = init.code === undefined ? 0 : Number(init.code);
      this.#reason = init.reason === undefined ? "" : String(init.reason);
      this.#wasClean = !!init.wasClean;
    }
    get code() { return this.#code; }
    get reason() { return this.#reason; }
    get wasClean() { return this.#wasClean; }
  }

  class ErrorEvent extends Event {
    #message;
    #error;
    constructor(type, init) {
      super(type, init);
      init = init || {};
      this.#message = init.message === undefined ? "" : String(init.message);
      this.#error = init.error;
    }
    get message() { return this.#message; }
    get error() { return this.#error; }
  }

  const encoder = new TextEncoder();
  const NOT_ACCEPTED = "You must call one of accept() or state.acceptWebSocket() on this WebSocket before sending messages.";
  let handleOf;

  class WebSocket extends EventTarget {
    #h;
    #forwarded; // wrapped for a Worker by Go: can only be returned
    #binaryType = "arraybuffer";
    static {
      handleOf = (ws) => (ws !== null && typeof ws === "object" && #h in ws ? ws.#h : undefined);
    }
    constructor(url, init) {
      if (url === internal) {
        super();
        this.#h = init.h;
        this.#forwarded = !!init.forwarded;
        return;
      }
      if (arguments.length === 0) throw new TypeError("Failed to construct 'WebSocket': 1 argument required, but only 0 present.");
      let u;
      try {
        u = new URL(String(url));
      } catch {
        throw new DOMException(`Failed to construct 'WebSocket': The URL '${url}' is invalid.`, "SyntaxError");
      }
      if (u.protocol === "http:") u.protocol = "ws:";
      else if (u.protocol === "https:") u.protocol = "wss:";
      if (u.protocol !== "ws:" && u.protocol !== "wss:") {
        throw new DOMException(`Failed to construct 'WebSocket': The URL's scheme must be either 'http', 'https', 'ws', or 'wss'. '${u.protocol.slice(0, -1)}' is not allowed.`, "SyntaxError");
      }
      if (u.hash !== "") throw new DOMException("Failed to construct 'WebSocket': The URL contains a fragment identifier.", "SyntaxError");
      let protocols = init === undefined ? [] : typeof init === "string" ? [init] : Array.from(init, String);
      for (const p of protocols) {
        if (p === "" || /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(p)) {
          throw new DOMException(`Failed to construct 'WebSocket': The subprotocol '${p}' is invalid.`, "SyntaxError");
        }
      }
      if (new Set(protocols).size !== protocols.length) {
        throw new DOMException("Failed to construct 'WebSocket': The subprotocol list contains a duplicate.", "SyntaxError");
      }
      super();
      this.#h = native.dial(u.href, protocols, this);
    }
    accept() {
      if (this.#forwarded) {
        // The end a Durable Object answered with: connect to it here.
        this.#h = native.connect(this.#h);
        this.#forwarded = false;
      }
      native.accept(this.#h, this);
    }
    // send: the native checks that the socket was accepted and is open.
    send(data) {
      if (this.#forwarded) throw new TypeError(NOT_ACCEPTED);
      if (native.mode(this.#h) !== 0 && native.readyState(this.#h) === 0) {
        throw new DOMException("Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.", "InvalidStateError");
      }
      if (typeof data === "string" || data instanceof ArrayBuffer) native.send(this.#h, data, this);
      else if (ArrayBuffer.isView(data)) native.send(this.#h, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), this);
      else native.send(this.#h, String(data), this);
    }
    close(code, reason) {
      if (native.mode(this.#h) === 0 || this.#forwarded) {
        throw new TypeError("You must call one of accept() or state.acceptWebSocket() on this WebSocket before closing it.");
      }
      if (code === undefined) code = 1000;
      code = Number(code);
      if (!(code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006))) {
        throw new TypeError(`Invalid WebSocket close code: ${code}.`);
      }
      reason = reason === undefined ? "" : String(reason);
      if (encoder.encode(reason).byteLength > 123) throw new TypeError("The WebSocket close reason must be at most 123 bytes.");
      native.close(this.#h, code, reason, this);
    }
    get readyState() { return native.readyState(this.#h); }
    get url() { return native.url(this.#h); }
    get protocol() { return native.protocol(this.#h); }
    get extensions() { return ""; }
    get binaryType() { return this.#binaryType; }
    set binaryType(v) {
      if (v !== "arraybuffer" && v !== "blob") throw new TypeError(`Invalid binaryType: ${v}`);
      this.#binaryType = v;
    }
    serializeAttachment(value) { native.setAttachment(this.#h, cairn.serialize(value)); }
    deserializeAttachment() {
      const b = native.getAttachment(this.#h);
      return b === null ? null : cairn.deserialize(b);
    }
  }
  // The ready-state constants, on the class and its instances, under the
  // standard names and workerd's READY_STATE_* aliases (partyserver keeps
  // only sockets whose readyState is WebSocket.READY_STATE_OPEN).
  for (const [k, v] of [["CONNECTING", 0], ["OPEN", 1], ["CLOSING", 2], ["CLOSED", 3]]) {
    for (const name of [k, "READY_STATE_" + k]) {
      Object.defineProperty(WebSocket, name, { value: v, enumerable: true });
      Object.defineProperty(WebSocket.prototype, name, { value: v, enumerable: true });
    }
  }

  class WebSocketPair {
    constructor() {
      const h = native.pair();
      this[0] = new WebSocket(internal, { h });
      this[1] = new WebSocket(internal, { h });
    }
  }

  class WebSocketRequestResponsePair {
    #request;
    #response;
    constructor(request, response) {
      if (typeof request !== "string" || typeof response !== "string") {
        throw new TypeError("WebSocketRequestResponsePair needs a request and a response string.");
      }
      this.#request = request;
      this.#response = response;
    }
    get request() { return this.#request; }
    get response() { return this.#response; }
  }

  // Called by Go.
  cairn.wsHandle = (ws) => handleOf(ws);
  cairn.wsWrap = (h, forwarded) => new WebSocket(internal, { h, forwarded });
  cairn.wsDispatch = (ws, kind, a, b, c) => {
    let ev;
    if (kind === "open") ev = new Event("open");
    else if (kind === "message") {
      if (a instanceof ArrayBuffer && ws.binaryType === "blob" && typeof Blob === "function") a = new Blob([a]);
      ev = new MessageEvent("message", { data: a });
    }
    else if (kind === "close") ev = new CloseEvent("close", { code: a, reason: b, wasClean: c });
    else ev = new ErrorEvent("error", { message: String(a), error: new Error(String(a)) });
    const handler = ws["on" + kind];
    if (typeof handler === "function") {
      try {
        handler.call(ws, ev);
      } catch (e) {
        console.error(e);
      }
    }
    ws.dispatchEvent(ev);
  };

  // The hibernation API on ctx; 95_websocket_state.js adds it to makeState.
  cairn.addWebSocketState = (state, n) => {
    const handle = (ws, method) => {
      const h = handleOf(ws);
      if (h === undefined) throw new TypeError(`Failed to execute '${method}' on 'DurableObjectState': parameter 1 is not of type 'WebSocket'.`);
      return h;
    };
    let autoPair = null;
    Object.assign(state, {
      acceptWebSocket(ws, tags) { n.accept(handle(ws, "acceptWebSocket"), ws, tags === undefined ? [] : Array.from(tags, String)); },
      getWebSockets(tag) { return n.getWebSockets(tag === undefined ? undefined : String(tag)); },
      getTags(ws) { return n.getTags(handle(ws, "getTags")); },
      setWebSocketAutoResponse(pair) {
        if (pair === undefined || pair === null) {
          autoPair = null;
          n.setAutoResponse();
          return;
        }
        if (!(pair instanceof WebSocketRequestResponsePair)) {
          throw new TypeError("Failed to execute 'setWebSocketAutoResponse' on 'DurableObjectState': parameter 1 is not of type 'WebSocketRequestResponsePair'.");
        }
        n.setAutoResponse(pair.request, pair.response);
        autoPair = pair;
      },
      getWebSocketAutoResponse() { return autoPair; },
      getWebSocketAutoResponseTimestamp(ws) {
        const t = n.autoResponseTimestamp(handle(ws, "getWebSocketAutoResponseTimestamp"));
        return t === null ? null : new Date(t);
      },
      setHibernatableWebSocketEventTimeout(ms) { n.setEventTimeout(ms); },
      getHibernatableWebSocketEventTimeout() { return n.getEventTimeout(); },
    });
    return state;
  };

  define("WebSocket", WebSocket);
  define("WebSocketPair", WebSocketPair);
  define("WebSocketRequestResponsePair", WebSocketRequestResponsePair);
  define("MessageEvent", MessageEvent);
  define("CloseEvent", CloseEvent);
  define("ErrorEvent", ErrorEvent);
})();
