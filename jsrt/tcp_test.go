package jsrt

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// lineEchoServer accepts connections and writes back each line it reads,
// upper-cased; the line "STARTTLS" switches the connection to TLS with
// cert first (answering "GO" in plain text). It returns the address.
func lineEchoServer(t *testing.T, cert *tls.Certificate) string {
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
			go func(conn net.Conn) {
				defer conn.Close()
				r := bufio.NewReader(conn)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "STARTTLS\n" && cert != nil {
						_, _ = io.WriteString(conn, "GO\n")
						tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{*cert}})
						conn, r = tc, bufio.NewReader(tc)
						continue
					}
					if _, err := io.WriteString(conn, strings.ToUpper(line)); err != nil {
						return
					}
				}
			}(conn)
		}
	}()
	return ln.Addr().String()
}

// connect() of cloudflare:sockets: bytes both ways, half-close, close(),
// errors in workerd's words, and a STARTTLS upgrade.
func TestSocketsConnect(t *testing.T) {
	// A TLS server's certificate, trusted by the Worker's HTTP client.
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	cert := tlsSrv.TLS.Certificates[0]
	client := tlsSrv.Client()
	tlsSrv.Close()

	addr := lineEchoServer(t, &cert)
	refused := func() string { // a port nobody listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	readLine := `async function readLine(reader) {
	  let s = "";
	  while (!s.endsWith("\n")) {
	    const { value, done } = await reader.read();
	    if (done) break;
	    s += new TextDecoder().decode(value);
	  }
	  return s;
	}
	`
	tests := []struct{ name, body, want string }{
		{"echo", readLine + `const { connect } = require("cloudflare:sockets");
			const s = connect("` + addr + `");
			const info = await s.opened;
			const w = s.writable.getWriter();
			await w.write(new TextEncoder().encode("hello\n"));
			const line = await readLine(s.readable.getReader());
			await s.close();
			await s.closed;
			return line.trim() + " " + (info.remoteAddress === "` + addr + `") + " " + typeof info.localAddress;`, "HELLO true string"},
		{"address record", `const { connect } = require("cloudflare:sockets");
			const [hostname, port] = "` + addr + `".split(":");
			const s = connect({ hostname, port: Number(port) });
			const w = s.writable.getWriter();
			await w.write(new TextEncoder().encode("a\n"));
			await w.write(new TextEncoder().encode("b\n"));
			const r = s.readable.getReader();
			let out = "";
			while (out.split("\n").length < 3) out += new TextDecoder().decode((await r.read()).value);
			s.close();
			return out.replace(/\n/g, ",") + s.secureTransport + s.upgraded;`, "A,B,offfalse"},
		{"half close ends the server", readLine + `const { connect } = require("cloudflare:sockets");
			const s = connect("` + addr + `");
			const w = s.writable.getWriter();
			await w.write(new TextEncoder().encode("x\n"));
			await w.close();
			const r = s.readable.getReader();
			const line = await readLine(r);
			const end = await r.read();
			await s.closed; // the readable ended: the socket closes (allowHalfOpen false)
			return line.trim() + end.done;`, "Xtrue"},
		{"readable piped into a Response", `const { connect } = require("cloudflare:sockets");
			const s = connect("` + addr + `");
			const w = s.writable.getWriter();
			await w.write(new TextEncoder().encode("piped\n"));
			await w.close();
			return (await new Response(s.readable).text()).trim();`, "PIPED"},
		{"refused", `const { connect } = require("cloudflare:sockets");
			const s = connect("` + refused + `");
			const got = await s.opened.then(() => "opened", (e) => e.message);
			const closed = await s.closed.then(() => "resolved", (e) => "rejected");
			return got.split(":")[0] + " / " + closed;`, "proxy request failed, cannot connect to the specified address / rejected"},
		{"non-bytes write", `const { connect } = require("cloudflare:sockets");
			const s = connect("` + addr + `");
			try { await s.writable.getWriter().write("text"); return "wrote"; } catch (e) { return e.message; } finally { s.close(); }`, "This WritableStream only supports writing byte types."},
		{"bad secureTransport", `try { require("cloudflare:sockets").connect("` + addr + `", { secureTransport: "maybe" }); } catch (e) { return e.message; }`,
			"Unsupported value in secureTransport socket option: maybe"},
		{"bad host", `try { require("cloudflare:sockets").connect({ hostname: "a b", port: 1 }); } catch (e) { return e.message; }`,
			"Specified address is empty string, contains unsupported characters or is too long."},
		{"startTls needs starttls", `const s = require("cloudflare:sockets").connect("` + addr + `");
			try { s.startTls(); } catch (e) { return e.message; } finally { s.close(); }`,
			"The `secureTransport` socket option must be set to 'starttls' for startTls to be used."},
		{"starttls", readLine + `const { connect } = require("cloudflare:sockets");
			const s = connect("` + addr + `", { secureTransport: "starttls" });
			const w = s.writable.getWriter();
			await w.write(new TextEncoder().encode("STARTTLS\n"));
			const r = s.readable.getReader();
			const go = await readLine(r);
			r.releaseLock(); w.releaseLock();
			const t = s.startTls({ expectedServerHostname: "example.com" });
			let again; try { s.startTls(); } catch (e) { again = e.message; }
			await s.closed;
			await t.opened;
			const tw = t.writable.getWriter();
			await tw.write(new TextEncoder().encode("secret\n"));
			const line = await readLine(t.readable.getReader());
			t.close();
			return [go.trim(), s.upgraded, t.secureTransport, line.trim(), again].join(" ");`, "GO true on SECRET startTls can only be called once."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodeEval(t, tt.body, Config{HTTPClient: client})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// The Worker's Outbound policy applies to sockets as to fetch.
func TestSocketsOutboundPolicy(t *testing.T) {
	addr := lineEchoServer(t, nil)
	got := nodeEval(t, `const s = require("cloudflare:sockets").connect("`+addr+`");
		return await s.opened.then(() => "opened", (e) => e.message);`, Config{Outbound: Outbound{DenyPrivate: true}})
	if !strings.Contains(got, "private address") {
		t.Errorf("got %q, want a refusal naming the private address", got)
	}
}

// node:net and node:tls over connect(): a Socket's events and counters, a
// TLS upgrade of a connected socket with a read in flight (as database
// drivers do), and connect's argument forms.
func TestNodeNet(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	cert := tlsSrv.TLS.Certificates[0]
	client := tlsSrv.Client()
	tlsSrv.Close()
	addr := lineEchoServer(t, &cert)
	host, port, _ := net.SplitHostPort(addr)
	tests := []struct{ name, body, want string }{
		{"echo with events", `const net = require("node:net");
			const sock = net.connect(` + port + `, "` + host + `");
			const events = [];
			sock.on("connect", () => events.push("connect"));
			sock.on("ready", () => events.push("ready"));
			sock.setEncoding("utf8");
			sock.write("one\n");
			const got = await new Promise((resolve, reject) => {
			  let buf = "";
			  sock.on("data", (d) => { buf += d; if (buf.endsWith("\n")) resolve(buf); });
			  sock.on("error", reject);
			});
			const closed = new Promise((r) => sock.on("close", () => r("close")));
			sock.end();
			sock.destroy();
			return [events.join("+"), got.trim(), sock.bytesWritten, sock.bytesRead, sock.remotePort === ` + port + `, await closed].join(" ");`,
			"connect+ready ONE 4 4 true close"},
		{"connect options and callback", `const net = require("net");
			return await new Promise((resolve) => {
			  const s = net.createConnection({ host: "` + host + `", port: ` + port + ` }, () => {
			    resolve(typeof s.address().port + " " + s.readyState + " " + net.isIP(s.remoteAddress) + " " + net.isIPv6("::1"));
			    s.destroy();
			  });
			});`, "number open 4 true"},
		{"refused", `const net = require("net");
			const s = net.connect(1, "127.0.0.1");
			return await new Promise((r) => s.on("error", (e) => r(e.message.split(":")[0])));`,
			"proxy request failed, cannot connect to the specified address"},
		{"createServer", `try { require("net").createServer(); } catch (e) { return e.code; }`, "ERR_METHOD_NOT_IMPLEMENTED"},
		{"starttls with a read in flight", `const net = require("net"), tls = require("tls");
			const plain = net.connect(` + port + `, "` + host + `");
			const lines = [];
			await new Promise((resolve) => {
			  plain.on("data", (d) => { lines.push(String(d).trim()); if (String(d).includes("GO")) resolve(); });
			  plain.write("STARTTLS\n");
			});
			// plain is still reading (its next read waits) when TLS starts.
			const secure = tls.connect({ socket: plain, servername: "example.com" });
			await new Promise((r) => secure.once("secureConnect", r));
			secure.write("secret\n");
			const got = await new Promise((r) => secure.once("data", (d) => r(String(d).trim())));
			secure.destroy();
			return lines.join(",") + " " + got + " " + secure.encrypted + " " + secure.authorized;`, "GO SECRET true true"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nodeEval(t, tt.body, Config{NodeCompat: true, HTTPClient: client})
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
