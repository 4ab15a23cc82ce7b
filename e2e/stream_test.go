package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const streamConfig = `{
  "name": "streams",
  "main": "src/index.js",
  "compatibility_date": "2025-09-01",
  "durable_objects": { "bindings": [{ "name": "HUB", "class_name": "Hub" }] },
  "services": [{ "binding": "SELF", "service": "streams" }],
  "migrations": [{ "tag": "v1", "new_sqlite_classes": ["Hub"] }],
}`

// The Hub object is where the tests' requests meet: /wait answers once
// /release has been called (whichever comes first), /note and /notes
// record what happened to a stream. Writers wait on it, so a test knows an
// event cannot have been written before it releases the writer.
const streamWorker = `import { DurableObject } from "cloudflare:workers";

const enc = new TextEncoder();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Hub extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.released = 0;
    this.waiters = [];
    this.notes = [];
  }
  wait() {
    if (this.released > 0) { this.released--; return Promise.resolve(); }
    return new Promise((r) => this.waiters.push(r));
  }
  release() {
    const w = this.waiters.shift();
    if (w) w(); else this.released++;
  }
  async fetch(req) {
    const url = new URL(req.url);
    switch (url.pathname) {
      case "/release": this.release(); return new Response("released");
      case "/wait": await this.wait(); return new Response("go");
      case "/note": this.notes.push(url.searchParams.get("what")); return new Response("ok");
      case "/notes": return new Response(this.notes.join(","));
      case "/do-hang":
        // Reached by the Worker's stub.fetch(request): the outer client's
        // disconnect must abort this request.signal too.
        req.signal.addEventListener("abort", () => { this.notes.push("do-aborted"); });
        return new Promise(() => {});
      case "/sse": {
        // The object's own event stream: event two waits for /release.
        const { readable, writable } = new TransformStream();
        const w = writable.getWriter();
        (async () => {
          await w.write(enc.encode("data: one\n\n"));
          await this.wait();
          await w.write(enc.encode("data: two\n\n"));
          await sleep(20);
          await w.write(enc.encode("data: three\n\n"));
          await w.close();
        })();
        return new Response(readable, { headers: { "content-type": "text/event-stream" } });
      }
    }
    return new Response("no such path", { status: 404 });
  }
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const hub = env.HUB.getByName(url.searchParams.get("hub") || "hub");
    const note = (what) => hub.fetch("http://hub/note?what=" + what);
    switch (url.pathname) {
      case "/release": case "/notes": return hub.fetch("http://hub" + url.pathname);
      case "/do-hang": return hub.fetch(req);
      case "/big": {
        // 64 MiB in 64 KiB chunks, pulled as the client reads; a note
        // "mb" for each MiB says how far the stream got.
        const chunk = new Uint8Array(65536).fill(120);
        let produced = 0;
        return new Response(new ReadableStream({
          pull(c) {
            if (produced >= 64 << 20) { c.close(); return; }
            produced += chunk.byteLength;
            if (produced % (1 << 20) === 0) note("mb");
            c.enqueue(chunk.slice());
          },
          cancel() { note("big-canceled"); },
        }));
      }

      case "/do-sse": return hub.fetch("http://hub/sse");
      case "/svc-sse": return env.SELF.fetch("http://self/sse?hub=" + url.searchParams.get("hub"));
      case "/fixed": {
        const { readable, writable } = new FixedLengthStream(11);
        const w = writable.getWriter();
        w.write(enc.encode("fixed "));
        w.write(enc.encode("size")).then(() => w.write(enc.encode("!"))).then(() => w.close());
        return new Response(readable);
      }
      case "/gzip":
        // Compressed by the Worker, decompressed by the client.
        return new Response(ReadableStream.from(["a", "b", "c"].map((x) => enc.encode(x.repeat(1000))))
          .pipeThrough(new CompressionStream("gzip")), { headers: { "content-encoding": "gzip" } });
      case "/sse": {
        // A Worker's stream, pulled by the client: event two waits for
        // /release (through the object), event three for a timer.
        let n = 0;
        return new Response(new ReadableStream({
          async pull(c) {
            n++;
            if (n === 1) c.enqueue(enc.encode("data: one\n\n"));
            else if (n === 2) { await (await hub.fetch("http://hub/wait")).text(); c.enqueue(enc.encode("data: two\n\n")); }
            else if (n === 3) { await sleep(20); c.enqueue(enc.encode("data: three\n\n")); }
            else c.close();
          },
          cancel() { note("canceled"); },
        }), { headers: { "content-type": "text/event-stream" } });
      }
      case "/upper": {
        // Each chunk of the request goes back upper-cased as it arrives.
        const dec = new TextDecoder();
        return new Response(req.body.pipeThrough(new TransformStream({
          transform(chunk, c) { c.enqueue(enc.encode(dec.decode(chunk, { stream: true }).toUpperCase())); },
        })));
      }
      case "/length": return new Response(String((await req.arrayBuffer()).byteLength));
      case "/hold-length": {
        // Reads the body whole, then holds it until /release.
        const n = (await req.arrayBuffer()).byteLength;
        await (await hub.fetch("http://hub/wait")).text();
        return new Response(String(n));
      }
      case "/length-caught":
        try { await req.arrayBuffer(); return new Response("read it all"); } catch (e) { return new Response(e.name + ": " + e.message); }
      case "/hang":
        req.signal.addEventListener("abort", () => { note("aborted"); });
        return new Promise(() => {});
      case "/broken": {
        let n = 0;
        return new Response(new ReadableStream({
          pull(c) {
            if (n++ === 0) c.enqueue(enc.encode("partial,"));
            else c.error(new RangeError("the feed broke"));
          },
        }));
      }
    }
    return new Response("no such path", { status: 404 });
  },
};
`

func startStreams(t *testing.T, args ...string) *devServer {
	t.Helper()
	dir := writeProject(t, map[string]string{"wrangler.jsonc": streamConfig, "src/index.js": streamWorker})
	return startDev(t, dir, t.TempDir(), args...)
}

// lineReader delivers the lines of a body as they arrive.
func lineReader(r io.Reader) <-chan string {
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if sc.Text() != "" {
				lines <- sc.Text()
			}
		}
	}()
	return lines
}

// nextLine waits for the next line; "" means the body ended.
func nextLine(t *testing.T, lines <-chan string, d *devServer) string {
	t.Helper()
	select {
	case l := <-lines:
		return l
	case <-time.After(10 * time.Second):
		t.Fatalf("no line within 10s\n%s", d.Logs)
		return ""
	}
}

// Server-sent events, from a Worker and from a Durable Object through
// stub.fetch: each event reaches the client as it is written, not when the
// stream ends. Event two is written only after the client, having received
// event one, calls /release; so event one arrived before the stream could
// end.
func TestStreamServerSentEvents(t *testing.T) {
	d := startStreams(t)
	for _, path := range []string{"/sse", "/do-sse", "/svc-sse"} {
		t.Run(path, func(t *testing.T) {
			hub := "?hub=" + path[1:]
			resp, err := testClient.Get(d.URL + path + hub) // bounded: an unflushed stream fails, not hangs
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if ct := resp.Header.Get("content-type"); ct != "text/event-stream" {
				t.Errorf("content-type %q", ct)
			}
			if len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
				t.Errorf("transfer-encoding %v, want chunked", resp.TransferEncoding)
			}
			lines := lineReader(resp.Body)
			if got := nextLine(t, lines, d); got != "data: one" {
				t.Fatalf("first event %q", got)
			}
			if status, body := d.Do("POST", "/release"+hub, ""); status != 200 {
				t.Fatalf("release: %d %s", status, body)
			}
			for _, want := range []string{"data: two", "data: three", ""} {
				if got := nextLine(t, lines, d); got != want {
					t.Fatalf("got %q, want %q\n%s", got, want, d.Logs)
				}
			}
		})
	}
}

// The same event stream through curl -N, as a user would watch it.
func TestStreamServerSentEventsCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("no curl")
	}
	d := startStreams(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, "-sN", d.URL+"/sse?hub=curl")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	lines := lineReader(out)
	if got := nextLine(t, lines, d); got != "data: one" {
		t.Fatalf("first event %q", got)
	}
	d.Do("POST", "/release?hub=curl", "")
	if got := nextLine(t, lines, d); got != "data: two" {
		t.Fatalf("second event %q", got)
	}
}

// A request body streams into the handler: the Worker answers each chunk
// before the client has sent the next, so the handler ran (and its
// response streamed) while the body was still arriving.
func TestStreamRequestBodyBothWays(t *testing.T) {
	d := startStreams(t)
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", d.URL+"/upper", pr)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		resp *http.Response
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		got <- result{resp, err}
	}()
	if _, err := pw.Write([]byte("first chunk\n")); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatalf("no response while the body is open\n%s", d.Logs)
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.resp.Body.Close()
	lines := lineReader(r.resp.Body)
	if l := nextLine(t, lines, d); l != "FIRST CHUNK" {
		t.Fatalf("got %q", l)
	}
	if _, err := pw.Write([]byte("second chunk\n")); err != nil {
		t.Fatal(err)
	}
	if l := nextLine(t, lines, d); l != "SECOND CHUNK" {
		t.Fatalf("got %q", l)
	}
	pw.Close()
	if l := nextLine(t, lines, d); l != "" {
		t.Fatalf("got %q after the end", l)
	}
}

// rawRequest sends head and then body on a new connection and returns the
// status line of the answer.
func rawRequest(t *testing.T, d *devServer, head, body string) string {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no response: %v\n%s", err, d.Logs)
	}
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
}

// chunked encodes n bytes of body in chunks of 1000.
func chunked(n int) string {
	var b strings.Builder
	for n > 0 {
		c := min(n, 1000)
		fmt.Fprintf(&b, "%x\r\n%s\r\n", c, strings.Repeat("x", c))
		n -= c
	}
	return b.String() + "0\r\n\r\n"
}

// A body over --max-body-size: with a Content-Length the answer is 413
// before the body is sent (the client sends only the headers here); a
// chunked body fails its stream once it passes the limit, which is 413 if
// the handler lets the error through and an error the handler can catch.
func TestStreamBodyTooLarge(t *testing.T) {
	d := startStreams(t, "--max-body-size", "10000")
	head := "POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n"
	if got := rawRequest(t, d, head, ""); got != "413 Payload Too Large" {
		t.Errorf("Content-Length over the limit: %q", got)
	}
	chunkedHead := "POST %s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	if got := rawRequest(t, d, fmt.Sprintf(chunkedHead, "/length"), chunked(9000)); got != "200 9000" {
		t.Errorf("chunked body under the limit: %q", got)
	}
	if got := rawRequest(t, d, fmt.Sprintf(chunkedHead, "/length"), chunked(20000)); got != "413 Payload Too Large" {
		t.Errorf("chunked body over the limit: %q\n%s", got, d.Logs)
	}
	got := rawRequest(t, d, fmt.Sprintf(chunkedHead, "/length-caught"), chunked(20000))
	if !strings.HasPrefix(got, "200 TypeError: request body too large: the body is larger than the limit of 10000 bytes") {
		t.Errorf("chunked body over the limit, caught: %q", got)
	}
}

// A client that goes away aborts request.signal of a handler still
// running, and cancels a response stream it stopped reading.
func TestStreamClientDisconnect(t *testing.T) {
	d := startStreams(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/hang?hub=gone", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // let the handler start
	cancel()
	<-errc

	resp, err := testClient.Get(d.URL + "/sse?hub=gone")
	if err != nil {
		t.Fatal(err)
	}
	if l := nextLine(t, lineReader(resp.Body), d); l != "data: one" {
		t.Fatalf("got %q", l)
	}
	resp.Body.Close() // gone while the stream waits to write event two
	d.Do("POST", "/release?hub=gone", "")

	deadline := time.Now().Add(10 * time.Second)
	for {
		_, notes := d.Get("/notes?hub=gone")
		if strings.Contains(notes, "aborted") && strings.Contains(notes, "canceled") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notes %q, want aborted and canceled\n%s", notes, d.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Request bodies read whole are bounded in total across requests
// (--max-bodies-in-flight): past it, such a request gets 503 with
// Retry-After; streamed bodies do not count; the budget comes back when the
// requests holding it end.
func TestStreamBodiesInFlightBound(t *testing.T) {
	d := startStreams(t, "--max-bodies-in-flight", "100000")
	post := func(path string, n int) (int, string, http.Header) {
		resp, err := testClient.Post(d.URL+path, "application/octet-stream", strings.NewReader(strings.Repeat("b", n)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	held := make(chan string, 1)
	go func() {
		status, body, _ := post("/hold-length?hub=budget", 80000)
		held <- fmt.Sprint(status, " ", body)
	}()
	time.Sleep(500 * time.Millisecond) // the first request holds 80000 bytes
	status, body, h := post("/hold-length?hub=budget", 80000)
	if status != 503 || h.Get("Retry-After") == "" {
		t.Errorf("second body over the total: %d %q (Retry-After %q), want 503\n%s", status, body, h.Get("Retry-After"), d.Logs)
	}
	if status, body, _ := post("/upper", 500000); status != 200 || len(body) != 500000 {
		t.Errorf("a streamed body while the budget is spent: %d, %d bytes", status, len(body))
	}
	d.Do("POST", "/release?hub=budget", "")
	if got := <-held; got != "200 80000" {
		t.Errorf("the first request: %q", got)
	}
	d.Do("POST", "/release?hub=budget", "") // for the next one
	if status, body, _ := post("/hold-length?hub=budget", 80000); status != 200 || body != "80000" {
		t.Errorf("after the first request ended: %d %q, want the budget back", status, body)
	}
	if !d.waitLog("request bodies in flight over the limit") {
		t.Errorf("the 503 is not logged:\n%s", d.Logs)
	}
}

// A client that goes away aborts request.signal inside a Durable Object
// its Worker forwarded the request to with stub.fetch(request).
func TestStreamClientDisconnectReachesObject(t *testing.T) {
	d := startStreams(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", d.URL+"/do-hang?hub=dogone", nil)
	errc := make(chan error, 1)
	go func() {
		_, err := http.DefaultClient.Do(req)
		errc <- err
	}()
	time.Sleep(300 * time.Millisecond) // let the object's handler start
	cancel()
	<-errc
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, notes := d.Get("/notes?hub=dogone")
		if strings.Contains(notes, "do-aborted") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notes %q, want do-aborted\n%s", notes, d.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A client that stops reading a large streamed response holds only the
// buffers between it and the stream (the socket's and one chunk or so):
// the stream is pulled no further than they hold, other requests are
// answered meanwhile, and closing the connection cancels the stream.
func TestStreamSlowReader(t *testing.T) {
	d := startStreams(t)
	conn, err := net.Dial("tcp", strings.TrimPrefix(d.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(64 << 10) // a small window, as a slow mobile client has
	}
	fmt.Fprintf(conn, "GET /big?hub=slow HTTP/1.1\r\nHost: x\r\n\r\n")
	first := make([]byte, 1<<20)
	if _, err := io.ReadFull(conn, first); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the client stops reading
	mib := func() int { _, notes := d.Get("/notes?hub=slow"); return strings.Count(notes, "mb") << 20 }
	n1 := mib()
	time.Sleep(time.Second)
	n2 := mib() // also: the Worker still answers
	t.Logf("the stream produced %d MiB for a client that read 1 MiB and stopped", n2>>20)
	if n1 == 0 || n2 != n1 {
		t.Errorf("produced %d then %d bytes while the client did not read: want a stream that waits", n1, n2)
	}
	if n2 > 24<<20 {
		t.Errorf("produced %d bytes for a client that read 1 MiB: buffered beyond the socket's buffers", n2)
	}
	if status, body := d.Get("/fixed"); status != 200 || body != "fixed size!" {
		t.Errorf("another request while one client stalls: %d %q", status, body)
	}
	conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, notes := d.Get("/notes?hub=slow")
		if strings.Contains(notes, "big-canceled") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("notes %q, want big-canceled once the client went away\n%s", notes, d.Logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A stream that errors mid-way ends the response without its last chunk:
// the client sees the bytes sent so far and then a broken body, never a
// hang, and the log says why.
func TestStreamErrorTruncatesResponse(t *testing.T) {
	d := startStreams(t)
	resp, err := testClient.Get(d.URL + "/broken")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if string(b) != "partial," || err == nil {
		t.Fatalf("body %q, error %v: want the first chunk and then an error", b, err)
	}
	if !d.waitLog("response body failed, response truncated") || !d.waitLog("the feed broke") {
		t.Errorf("log does not say why:\n%s", d.Logs)
	}
}

// A FixedLengthStream body goes out with its Content-Length, not chunked;
// a CompressionStream body is gzip the client can read.
func TestStreamLengthAndCompression(t *testing.T) {
	d := startStreams(t)
	resp, err := testClient.Get(d.URL + "/fixed")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ContentLength != 11 || len(resp.TransferEncoding) != 0 || string(b) != "fixed size!" {
		t.Errorf("fixed: length %d, transfer-encoding %v, body %q", resp.ContentLength, resp.TransferEncoding, b)
	}
	status, body := d.Get("/gzip") // Go's client asks for gzip and decompresses
	if status != 200 || body != strings.Repeat("a", 1000)+strings.Repeat("b", 1000)+strings.Repeat("c", 1000) {
		t.Errorf("gzip: %d, %d bytes: %.40q", status, len(body), body)
	}
}
