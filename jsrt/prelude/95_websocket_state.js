// Adds the WebSocket Hibernation API (prelude/40_websocket.js) to the
// DurableObjectState that prelude/90_objects.js makes.
(function () {
  "use strict";
  const cairn = globalThis.__cairn;
  const make = cairn.makeState;
  cairn.makeState = (native) => {
    const state = make(native);
    return native.webSockets ? cairn.addWebSocketState(state, native.webSockets) : state;
  };
})();
