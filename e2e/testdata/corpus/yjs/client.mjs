// The test's client (Node, not part of the Worker): two y-partyserver
// providers (Yjs's y-websocket protocol over the ws package) edit the
// shared text "t" of one room; each waits until it sees the other's edit.
// node client.mjs <host:port> <room> prints the text both ended with as
// JSON, or exits 1 naming what did not arrive within 10 s.
import WebSocket from "ws";
import * as Y from "yjs";
import YProvider from "y-partyserver/provider";

const [host, room] = process.argv.slice(2);

function connect() {
  const doc = new Y.Doc();
  const provider = new YProvider(host, room, doc, { party: "document", WebSocketPolyfill: WebSocket, disableBc: true });
  return { doc, provider, text: doc.getText("t") };
}

function until(what, ok) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const timer = setInterval(() => {
      if (ok()) {
        clearInterval(timer);
        resolve();
      } else if (Date.now() - start > 10000) {
        clearInterval(timer);
        reject(new Error(`timed out waiting for ${what}`));
      }
    }, 10);
  });
}

const a = connect();
await until("a to sync", () => a.provider.synced);
const before = a.text.toString();
a.text.insert(a.text.length, "hello");
const b = connect();
await until("b to sync", () => b.provider.synced);
await until("b to see a's edit", () => b.text.toString() === before + "hello");
b.text.insert(b.text.length, " world");
await until("a to see b's edit", () => a.text.toString() === before + "hello world");
console.log(JSON.stringify({ before, a: a.text.toString(), b: b.text.toString() }));
a.provider.destroy();
b.provider.destroy();
process.exit(0);
