// Package tail owns live logs: the trace item of one event of a Worker (a
// request, a Durable Object's fetch, RPC call or alarm) with the console
// lines and uncaught exceptions of its code, the filters a tail client
// asks for, and the Hub that hands finished items to the connected tails.
//
// The shapes are Cloudflare's, so `wrangler tail` can read them: a tail is
// created with POST …/workers/scripts/{name}/tails, which answers {id, url,
// expires_at}; the client opens a WebSocket to url with the subprotocol
// "trace-v1" and receives one JSON trace item per event, as the event ends.
//
// The request path pays for tails only while one is connected: Hub.Tracing
// is one atomic load, and nothing is gathered without a tail. A slow tail
// never slows requests: each has a bounded queue, events that do not fit
// are dropped and counted, and the tail is told how many it missed.
package tail

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// Outcomes of an event, as Cloudflare names them (wrangler tail --status
// ok|error|canceled maps onto them: error is every outcome but ok and
// canceled).
const (
	OutcomeOK             = "ok"
	OutcomeException      = "exception"
	OutcomeExceededCPU    = "exceededCpu"
	OutcomeExceededMemory = "exceededMemory"
	OutcomeCanceled       = "canceled"
	OutcomeUnknown        = "unknown"
)

// Item is one trace item: an event of a Worker with the console lines and
// exceptions of its code, in the JSON shape of Cloudflare's trace-v1 tail
// (the TraceItem of tail Workers). durableObjectName and requestId are
// cairn's additions.
type Item struct {
	Outcome           string       `json:"outcome"`
	ScriptName        string       `json:"scriptName"`
	ScriptVersion     *Version     `json:"scriptVersion,omitempty"`
	Entrypoint        string       `json:"entrypoint,omitempty"`
	ExecutionModel    string       `json:"executionModel,omitempty"` // "stateless" or "durableObject"
	DurableObjectID   string       `json:"durableObjectId,omitempty"`
	DurableObjectName string       `json:"durableObjectName,omitempty"`
	RequestID         string       `json:"requestId,omitempty"`
	EventTimestamp    int64        `json:"eventTimestamp"` // ms since the epoch
	Event             *Event       `json:"event"`
	Logs              []Log        `json:"logs"`
	Exceptions        []Exception  `json:"exceptions"`
	DiagnosticsEvents []Diagnostic `json:"diagnosticsChannelEvents"`
	WallTime          int64        `json:"wallTime"` // ms
	Truncated         bool         `json:"truncated"`

	clientIP string // for the client_ip filter; not sent
}

// Version is the version of the Worker that ran the event.
type Version struct {
	ID string `json:"id"`
}

// Event says what started the work. Exactly one group of fields is set:
// Request (and Response) for a fetch, RPCMethod for an RPC call,
// WebSocket for a hibernatable WebSocket's event, ScheduledTime (and Cron) for a scheduled or alarm event, or Type and
// Message for a notice from the tail itself (type "overload": events were
// dropped).
type Event struct {
	Request   *Request  `json:"request,omitempty"`
	Response  *Response `json:"response,omitempty"`
	RPCMethod string    `json:"rpcMethod,omitempty"`
	// WebSocket is a hibernatable WebSocket's event in a Durable Object.
	WebSocket     *WebSocketEvent `json:"getWebSocketEvent,omitempty"`
	Cron          string          `json:"cron,omitempty"`
	ScheduledTime any             `json:"scheduledTime,omitempty"`
	Type          string          `json:"type,omitempty"`
	Message       string          `json:"message,omitempty"`
}

// Request is the request of a fetch event. Headers that carry credentials
// are redacted.
type Request struct {
	URL     string            `json:"url"`
	Method  string            `json:"method"`
	Headers map[string]string `json:"headers"`
	CF      any               `json:"cf,omitempty"`
}

// WebSocketEvent is the kind of a hibernatable WebSocket event: message,
// close or error.
type WebSocketEvent struct {
	Type string `json:"webSocketEventType"`
}

// Response is the answer to a fetch event.
type Response struct {
	Status int `json:"status"`
}

// Log is one console line. Message holds the line as the console formatted
// it (one string: cairn formats the arguments as console.log prints them).
type Log struct {
	Message   []any  `json:"message"`
	Level     string `json:"level"` // log, info, debug, warn, error
	Timestamp int64  `json:"timestamp"`
}

// Exception is an uncaught exception, with its source-mapped stack.
type Exception struct {
	Name      string `json:"name"`
	Message   string `json:"message"`
	Stack     string `json:"stack,omitempty"`
	Timestamp int64  `json:"timestamp"`
}

// Diagnostic is a diagnostics_channel event (none are gathered yet; the
// field is there because clients expect it).
type Diagnostic struct {
	Channel   string `json:"channel"`
	Message   any    `json:"message"`
	Timestamp int64  `json:"timestamp"`
}

// redacted are the request headers a tail never shows: they carry
// credentials.
var redacted = map[string]bool{"authorization": true, "cookie": true, "proxy-authorization": true}

// NewRequest describes r for a fetch event's item. cf is the request.cf
// object (JSON-able), or nil.
func NewRequest(r *http.Request, url string, cf any) *Request {
	h := make(map[string]string, len(r.Header))
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		if redacted[k] {
			h[k] = "REDACTED"
			continue
		}
		h[k] = strings.Join(vs, ", ")
	}
	return &Request{URL: url, Method: r.Method, Headers: h, CF: cf}
}

// ClientIP sets the address the event's request came from, which the
// client_ip filter matches; it is not sent.
func (it *Item) ClientIP(ip string) { it.clientIP = ip }

// Trace gathers one event's item while its code runs; Finish sends it to
// the tails. Its methods may be called from any goroutine, and on a nil
// *Trace (no tail was connected when the event began) they do nothing, so
// callers need not check.
type Trace struct {
	send  func(*Item) // where Finish sends the item
	start time.Time
	mu    sync.Mutex
	item  Item
	done  bool
}

// maxLogs bounds the console lines one item keeps; later ones are dropped
// and the item is marked truncated (as Cloudflare truncates large items).
const maxLogs = 256

// maxLogBytes bounds one console line in an item.
const maxLogBytes = 32 << 10

// Log adds a console line at level (log, info, debug, warn, error).
func (t *Trace) Log(level, msg string) {
	if t == nil {
		return
	}
	now := time.Now().UnixMilli()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return
	}
	if len(t.item.Logs) >= maxLogs {
		t.item.Truncated = true
		return
	}
	if len(msg) > maxLogBytes {
		msg = msg[:maxLogBytes] + "…"
		t.item.Truncated = true
	}
	t.item.Logs = append(t.item.Logs, Log{Message: []any{msg}, Level: level, Timestamp: now})
}

// Exception adds an uncaught exception.
func (t *Trace) Exception(name, message, stack string) {
	if t == nil {
		return
	}
	now := time.Now().UnixMilli()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done || len(t.item.Exceptions) >= maxLogs {
		return
	}
	t.item.Exceptions = append(t.item.Exceptions, Exception{Name: name, Message: message, Stack: stack, Timestamp: now})
}

// Finish ends the event with outcome and, for a fetch event, the response
// status (0: none), and hands the item to the tails. Later calls, and
// console lines after it, are ignored.
func (t *Trace) Finish(outcome string, status int) {
	if t == nil {
		return
	}
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.item.Outcome = outcome
	if status != 0 && t.item.Event != nil && t.item.Event.Request != nil {
		t.item.Event.Response = &Response{Status: status}
	}
	t.item.WallTime = time.Since(t.start).Milliseconds()
	item := t.item
	t.mu.Unlock()
	t.send(&item)
}

// NewTrace begins gathering the item it, which Finish hands to send.
// Logs, Exceptions and DiagnosticsEvents start empty, and EventTimestamp
// is set to now if zero. (Hub.Start is the usual way to begin one.)
func NewTrace(it Item, send func(*Item)) *Trace {
	now := time.Now()
	if it.EventTimestamp == 0 {
		it.EventTimestamp = now.UnixMilli()
	}
	it.Logs = []Log{}
	it.Exceptions = []Exception{}
	it.DiagnosticsEvents = []Diagnostic{}
	return &Trace{send: send, start: now, item: it}
}
