// WebSocketPair, WebSocket, MessageEvent, CloseEvent, ErrorEvent and
// WebSocketRequestResponsePair. The natives (jsrt/websocket.go, on
// __cairn.webSocket) own the connection; a WebSocket here is a view of a Go
// handle, and Go may wrap a handle again (after an object reset, or for the
// socket an object returned to a Worker through a stub).
//
// Simplified: no outgoing connections (new WebSocket(url)); the end of a
// pair that is not accepted can only be returned in a 101 Response.
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
      if (url !== internal) {
        throw new TypeError("cairn does not support outgoing WebSocket connections (new WebSocket(url)) yet.");
      }
      super();
      this.#h = init.h;
      this.#forwarded = !!init.forwarded;
    }
    accept() {
      if (this.#forwarded) {
        throw new TypeError("This WebSocket came from a Durable Object's response; return it in a Response instead of accepting it.");
      }
      native.accept(this.#h, this);
    }
    // send: the native checks that the socket was accepted and is open.
    send(data) {
      if (this.#forwarded) throw new TypeError(NOT_ACCEPTED);
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
    get url() { return null; }
    get protocol() { return ""; }
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
    if (kind === "message") ev = new MessageEvent("message", { data: a });
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
