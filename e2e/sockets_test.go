package e2e

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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

// smtpServer is a small SMTP server (EHLO, STARTTLS with cert, AUTH PLAIN,
// MAIL, RCPT, DATA, RSET, QUIT) that records what it was sent.
type smtpServer struct {
	Addr string
	mu   sync.Mutex
	log  []string // "tls", "auth <decoded>", "from …", "to …", "data …"
}

func (s *smtpServer) record(v string) {
	s.mu.Lock()
	s.log = append(s.log, v)
	s.mu.Unlock()
}

func (s *smtpServer) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func startSMTP(t *testing.T, cert tls.Certificate) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &smtpServer{Addr: ln.Addr().String()}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn, cert)
		}
	}()
	return s
}

func (s *smtpServer) serve(conn net.Conn, cert tls.Certificate) {
	defer func() { conn.Close() }()
	r := bufio.NewReader(conn)
	say := func(lines string) { _, _ = io.WriteString(conn, lines) }
	say("220 fake ESMTP\r\n")
	secure := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.TrimRight(line, "\r\n")
		verb := strings.ToUpper(strings.SplitN(cmd, " ", 2)[0])
		switch verb {
		case "EHLO":
			caps := "250-fake\r\n250-AUTH PLAIN\r\n"
			if !secure {
				caps += "250-STARTTLS\r\n"
			}
			say(caps + "250 8BITMIME\r\n")
		case "STARTTLS":
			say("220 ready\r\n")
			tc := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{cert}})
			if err := tc.Handshake(); err != nil {
				s.record("tls failed: " + err.Error())
				return
			}
			conn, r, secure = tc, bufio.NewReader(tc), true
			s.record("tls")
		case "AUTH":
			parts := strings.Fields(cmd)
			raw, _ := base64.StdEncoding.DecodeString(parts[len(parts)-1])
			s.record("auth " + strings.ReplaceAll(string(raw), "\x00", "|"))
			say("235 ok\r\n")
		case "MAIL", "RCPT":
			s.record(strings.ToLower(verb) + " " + cmd)
			say("250 ok\r\n")
		case "DATA":
			say("354 go ahead\r\n")
			var body strings.Builder
			for !strings.HasSuffix(body.String(), "\r\n.\r\n") {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				body.WriteString(l)
			}
			s.record("data " + body.String())
			say("250 queued\r\n")
		case "RSET":
			say("250 ok\r\n")
		case "QUIT":
			say("221 bye\r\n")
			return
		default:
			say("502 unknown\r\n")
		}
	}
}

// worker-mailer, an npm SMTP client built on cloudflare:sockets, sends a
// mail through the real binary: in plain text, and upgraded with STARTTLS
// (the server's certificate trusted through SSL_CERT_FILE).
func TestCorpusWorkerMailer(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	cert := tlsSrv.TLS.Certificates[0]
	pemFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	tlsSrv.Close()
	t.Setenv("SSL_CERT_FILE", pemFile)

	dir := installProject(t, "testdata/corpus/mailer")
	d := startDev(t, dir, t.TempDir())
	for _, starttls := range []string{"0", "1"} {
		smtp := startSMTP(t, cert)
		host, port, _ := net.SplitHostPort(smtp.Addr)
		status, body := d.Get("/?host=" + host + "&port=" + port + "&starttls=" + starttls)
		if status != 200 || body != "sent" {
			t.Fatalf("starttls=%s: %d %q\nserver saw %q\n%s", starttls, status, body, smtp.Log(), d.Logs)
		}
		log := strings.Join(smtp.Log(), "\n")
		for _, want := range []string{"auth |bob@example.com|hunter2", "mail MAIL FROM: <bob@example.com>", "rcpt RCPT TO: <alice@example.com>", "Subject: Hello from cairn", "It works."} {
			if !strings.Contains(log, want) {
				t.Errorf("starttls=%s: server log lacks %q:\n%s", starttls, want, log)
			}
		}
		if tlsUsed := strings.HasPrefix(log, "tls\n"); tlsUsed != (starttls == "1") {
			t.Errorf("starttls=%s: TLS used = %v; server log:\n%s", starttls, tlsUsed, log)
		}
	}
}
