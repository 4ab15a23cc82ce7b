package tail

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func requestItem(method, outcome string, logs ...string) *Item {
	r := httptest.NewRequest(method, "http://x/p", nil)
	r.Header.Set("X-Tenant", "acme-eu")
	it := &Item{Outcome: outcome, ScriptName: "w", ScriptVersion: &Version{ID: "v1"},
		Event: &Event{Request: NewRequest(r, "http://x/p", nil)}}
	for _, l := range logs {
		it.Logs = append(it.Logs, Log{Message: []any{l}, Level: "log"})
	}
	it.ClientIP("10.0.0.7")
	return it
}

func TestFilters(t *testing.T) {
	get := requestItem("GET", OutcomeOK, "user 42 signed in")
	post := requestItem("POST", OutcomeException)
	post.Exceptions = []Exception{{Name: "TypeError", Message: "x is undefined"}}
	rpc := &Item{Outcome: OutcomeOK, ScriptName: "w", Event: &Event{RPCMethod: "hello"}}
	tests := []struct {
		name   string
		filter string
		want   []bool // get, post, rpc
	}{
		{"none", `{"filters":[]}`, []bool{true, true, true}},
		{"empty body", ``, []bool{true, true, true}},
		{"outcome ok", `{"filters":[{"outcome":["ok"]}]}`, []bool{true, false, true}},
		{"outcome error", `{"filters":[{"outcome":["exception","exceededCpu","exceededMemory","unknown"]}]}`, []bool{false, true, false}},
		{"method", `{"filters":[{"method":["post"]}]}`, []bool{false, true, false}},
		{"header key", `{"filters":[{"header":{"key":"x-tenant"}}]}`, []bool{true, true, false}},
		{"header value", `{"filters":[{"header":{"key":"X-Tenant","query":"-us"}}]}`, []bool{false, false, false}},
		{"client ip", `{"filters":[{"client_ip":["10.0.0.7"]}]}`, []bool{true, true, false}},
		{"client ip self", `{"filters":[{"client_ip":["self"]}]}`, []bool{false, false, false}},
		{"query in logs", `{"filters":[{"query":"signed in"}]}`, []bool{true, false, false}},
		{"query in exception", `{"filters":[{"query":"undefined"}]}`, []bool{false, true, false}},
		{"version", `{"filters":[{"scriptVersion":"v1"}]}`, []bool{true, true, false}},
		{"all of them", `{"filters":[{"outcome":["ok"]},{"method":["GET"]}]}`, []bool{true, false, false}},
		{"sampling 1", `{"filters":[{"sampling_rate":1}]}`, []bool{true, true, true}},
		{"unknown kind passes", `{"filters":[{"somethingNew":1}]}`, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := ParseFilters([]byte(tt.filter), "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			for i, it := range []*Item{get, post, rpc} {
				if got := Match(fs, it); got != tt.want[i] {
					t.Errorf("item %d: Match = %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	for _, body := range []string{`{`, `{"filters":[{"sampling_rate":0}]}`, `{"filters":[{"sampling_rate":1.5}]}`, `{"filters":[{"header":{"query":"x"}}]}`, `{"filters":"no"}`} {
		if _, err := ParseFilters([]byte(body), ""); !errors.Is(err, ErrBadFilter) {
			t.Errorf("%s: err = %v, want ErrBadFilter", body, err)
		}
	}
}

func TestSamplingRate(t *testing.T) {
	fs, err := ParseFilters([]byte(`{"filters":[{"sampling_rate":0.25}]}`), "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for range 4000 {
		if Match(fs, requestItem("GET", OutcomeOK)) {
			n++
		}
	}
	if n < 800 || n > 1200 { // 1000 expected; this band is > 8 standard deviations wide
		t.Errorf("sampling 0.25 passed %d of 4000", n)
	}
}

// The JSON is Cloudflare's trace item: the fields wrangler tail reads.
func TestItemShape(t *testing.T) {
	var got *Item
	tr := NewTrace(Item{ScriptName: "w", EventTimestamp: 1700000000000, Event: requestItem("GET", "").Event}, func(it *Item) { got = it })
	tr.Log("log", "hello")
	tr.Exception("Error", "bad", "Error: bad\n    at f (src/index.ts:3:9)")
	tr.Finish(OutcomeException, 500)
	tr.Log("log", "after the end") // ignored
	tr.Finish(OutcomeOK, 200)      // ignored
	b, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"outcome", "scriptName", "eventTimestamp", "event", "logs", "exceptions", "diagnosticsChannelEvents", "truncated", "wallTime"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	ev := m["event"].(map[string]any)
	req := ev["request"].(map[string]any)
	if req["url"] != "http://x/p" || req["method"] != "GET" || req["headers"].(map[string]any)["x-tenant"] != "acme-eu" {
		t.Errorf("event.request: %v", req)
	}
	if ev["response"].(map[string]any)["status"] != 500.0 || m["outcome"] != "exception" {
		t.Errorf("outcome/response: %s", b)
	}
	logs := m["logs"].([]any)
	if len(logs) != 1 || logs[0].(map[string]any)["level"] != "log" || logs[0].(map[string]any)["message"].([]any)[0] != "hello" {
		t.Errorf("logs: %v", logs)
	}
	ex := m["exceptions"].([]any)[0].(map[string]any)
	if ex["name"] != "Error" || ex["message"] != "bad" || !strings.Contains(ex["stack"].(string), "src/index.ts:3:9") {
		t.Errorf("exceptions: %v", ex)
	}
	if _, ok := m["clientIP"]; ok {
		t.Errorf("client address sent: %s", b)
	}
}

// A nil Trace (no tail connected) does nothing.
func TestNilTrace(t *testing.T) {
	var tr *Trace
	tr.Log("log", "x")
	tr.Exception("E", "m", "")
	tr.Finish(OutcomeOK, 200)
	h := NewHub(nil)
	if h.Tracing() || h.Start(Item{}) != nil {
		t.Error("a Hub without connected tails traces")
	}
}

// connect creates a tail of script "w" on h with filters and connects a
// client to it over a real WebSocket.
func connect(t *testing.T, h *Hub, filters string) (*websocket.Conn, *Session) {
	t.Helper()
	fs, err := ParseFilters([]byte(filters), "")
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.Create("w", fs)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h.Serve(w, r, strings.TrimPrefix(r.URL.Path, "/")); errors.Is(err, ErrNoTail) {
			http.Error(w, err.Error(), http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/"+s.ID, &websocket.DialOptions{Subprotocols: []string{Protocol}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Subprotocol() != Protocol {
		t.Errorf("subprotocol %q", c.Subprotocol())
	}
	t.Cleanup(func() { c.CloseNow() })
	waitFor(t, func() bool { return h.Tracing() })
	return c, s
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func read(t *testing.T, c *websocket.Conn) Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var it Item
	if err := json.Unmarshal(data, &it); err != nil {
		t.Fatal(err)
	}
	return it
}

func TestHubDeliversMatchingItems(t *testing.T) {
	h := NewHub(nil)
	c, s := connect(t, h, `{"filters":[{"method":["POST"]}]}`)
	for _, m := range []string{"GET", "POST"} {
		tr := h.Start(*requestItem(m, ""))
		tr.Log("log", m+" line")
		tr.Finish(OutcomeOK, 200)
	}
	other := h.Start(Item{ScriptName: "another-worker"})
	other.Finish(OutcomeOK, 0)
	if it := read(t, c); it.Event.Request.Method != "POST" || it.Logs[0].Message[0] != "POST line" {
		t.Fatalf("got %+v", it)
	}
	// A filter message on the socket replaces the filters.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"filters":[{"method":["GET"]}],"debug":false}`)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { fs := *s.filters.Load(); return len(fs) == 1 && fs[0].Method[0] == "GET" })
	h.Start(*requestItem("POST", "")).Finish(OutcomeOK, 200)
	h.Start(*requestItem("GET", "")).Finish(OutcomeOK, 200)
	if it := read(t, c); it.Event.Request.Method != "GET" {
		t.Fatalf("after the filter message got %+v", it)
	}
	// Deleting the tail closes the connection normally.
	if err := h.Delete(s.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := c.Read(ctx)
	if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Errorf("after Delete: %v", err)
	}
	waitFor(t, func() bool { return !h.Tracing() })
}

// A client that does not read never blocks publishing: items past its
// queue are dropped and counted, and once it catches up it is told.
func TestSlowClientDropsAndIsTold(t *testing.T) {
	h := NewHub(nil)
	c, s := connect(t, h, ``)
	// The client reads nothing while far more items than the queue (and
	// the socket's buffers) hold are published; each publish returns at
	// once.
	big := strings.Repeat("x", 16<<10)
	const n = 4 * QueueLen
	published := make(chan struct{})
	go func() {
		defer close(published)
		for range n {
			tr := h.Start(*requestItem("GET", ""))
			tr.Log("log", big)
			tr.Finish(OutcomeOK, 200)
		}
	}()
	select {
	case <-published:
	case <-time.After(60 * time.Second): // a publish that waited for the client would never end
		t.Fatal("publishing to a stalled client blocked")
	}
	if s.Dropped() == 0 {
		t.Fatal("nothing dropped for a client that reads nothing")
	}
	got, notice := 0, ""
	for notice == "" {
		it := read(t, c)
		if it.Event.Type == "overload" {
			notice = it.Event.Message
		} else {
			got++
		}
	}
	if int64(got)+s.Dropped() != n {
		t.Errorf("received %d + dropped %d != published %d", got, s.Dropped(), n)
	}
	if !strings.Contains(notice, "dropped") {
		t.Errorf("notice %q", notice)
	}
}

func TestHubLimitsAndClose(t *testing.T) {
	h := NewHub(nil)
	for range MaxTails {
		if _, err := h.Create("w", nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Create("w", nil); !errors.Is(err, ErrTooManyTails) {
		t.Errorf("tail %d: err = %v", MaxTails+1, err)
	}
	if err := h.Delete("nope"); !errors.Is(err, ErrNoTail) {
		t.Errorf("Delete of an unknown tail: %v", err)
	}
	h2 := NewHub(nil)
	c, _ := connect(t, h2, ``)
	h2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != websocket.StatusGoingAway {
		t.Errorf("after Close: %v", err)
	}
	if _, err := h2.Create("w", nil); err == nil {
		t.Error("a closed Hub made a tail")
	}
}

// wrangler tail sends its first message unmasked: the tail reads it (and
// answers pings) instead of closing the connection.
func TestUnmaskedClientFrames(t *testing.T) {
	h := NewHub(nil)
	s, err := h.Create("w", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _ = h.Serve(w, r, s.ID) }))
	defer srv.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /%s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: trace-v1\r\n\r\n", s.ID)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	// Unmasked: a filter message (length 126 form, as a longer one would
	// be), then a ping.
	msg := `{"filters":[{"method":["PUT"]}],"debug":false,"pad":"` + strings.Repeat("x", 200) + `"}`
	frame := []byte{0x81, 126, byte(len(msg) >> 8), byte(len(msg))}
	frame = append(frame, msg...)
	frame = append(frame, 0x89, 4, 'p', 'i', 'n', 'g')
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	pong := make([]byte, 6)
	if _, err := io.ReadFull(br, pong); err != nil || pong[0] != 0x8a || string(pong[2:]) != "ping" {
		t.Fatalf("pong: %x, %v", pong, err)
	}
	waitFor(t, func() bool {
		fs := *s.filters.Load()
		return len(fs) == 1 && len(fs[0].Method) == 1 && fs[0].Method[0] == "PUT"
	})
	// And items flow to it.
	h.Start(*requestItem("PUT", "")).Finish(OutcomeOK, 200)
	head := make([]byte, 4)
	if _, err := io.ReadFull(br, head); err != nil || head[0] != 0x81 {
		t.Fatalf("item frame: %x, %v", head, err)
	}
}
