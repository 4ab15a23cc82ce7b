package e2e

import (
	"bufio"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
)

// upperServer answers each line of a connection with the line upper-cased
// and closes the connection after the line "BYE".
func upperServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := io.WriteString(conn, strings.ToUpper(line)); err != nil || line == "bye\n" {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

const socketsWorker = `import { connect } from "cloudflare:sockets";
import { DurableObject } from "cloudflare:workers";

async function talk(addr, lines) {
  const socket = connect(addr);
  const writer = socket.writable.getWriter();
  for (const l of lines) await writer.write(new TextEncoder().encode(l + "\n"));
  return socket;
}

export class Caller extends DurableObject {
  async call(addr) {
    const socket = await talk(addr, ["from object", "bye"]);
    const text = await new Response(socket.readable).text();
    this.ctx.storage.put("last", text.trim());
    return text;
  }
}

export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const addr = u.searchParams.get("addr");
    try {
      if (u.pathname === "/object") return new Response(await env.CALLER.getByName("a").call(addr));
      const socket = await talk(addr, [u.searchParams.get("say") ?? "hi", "bye"]);
      await socket.opened;
      return new Response(socket.readable, { headers: { "content-type": "text/plain" } });
    } catch (e) {
      return new Response(e.message, { status: 502 });
    }
  },
};
`

// A Worker and a Durable Object talk to a TCP server through connect() of
// cloudflare:sockets, in the real binary; the server's answer streams back
// as the response body. With --private-fetch=false a private address is
// refused, as outbound fetch is.
func TestSocketsConnect(t *testing.T) {
	addr := upperServer(t)
	dir := writeProject(t, map[string]string{
		"worker.js": socketsWorker,
		"wrangler.jsonc": `{ "name": "sockets", "main": "worker.js", "compatibility_date": "2025-06-01",
		  "durable_objects": { "bindings": [{ "name": "CALLER", "class_name": "Caller" }] },
		  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Caller"] }] }`,
	})
	d := startDev(t, dir, t.TempDir())
	q := "?addr=" + url.QueryEscape(addr)
	d.expect("GET", "/"+q+"&say=hello", 200, "HELLO\nBYE\n")
	d.expect("GET", "/object"+q, 200, "FROM OBJECT\nBYE\n")

	closed := startDev(t, dir, t.TempDir(), "--private-fetch=false")
	status, body := closed.Get("/" + q)
	if status != 502 || !strings.Contains(body, "cannot connect to the specified address") || !strings.Contains(body, "private address") {
		t.Errorf("private address with --private-fetch=false: %d %q, want 502 and a refusal", status, body)
	}
}
