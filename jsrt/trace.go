package jsrt

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/objects"
	"github.com/cairn-dev/cairn/tail"
)

// Live logs: while a tail is connected, each event (an HTTP request, a
// Durable Object's fetch, RPC call or alarm) gathers a tail.Trace of its
// console lines and exceptions, sent to the tails when the event ends.
// The running trace is carried like the request id (rt.trace, and the
// continuations of the event's code); without a tail it is nil and costs
// one atomic load per event.

// Tail receives the trace items of the Worker's events (package tail's Hub
// implements it).
type Tail interface {
	// Tracing reports whether anyone follows the events: when not, none
	// gathers anything.
	Tracing() bool
	// Start begins the item of an event; nil means gather nothing.
	Start(tail.Item) *tail.Trace
}

type tailRef struct{ t Tail }

// SetTail makes the Worker report its events to t (nil: to nobody). The
// server sets it on each Worker it serves; it may change at any time.
func (w *Worker) SetTail(t Tail) {
	if t == nil {
		w.tail.Store(nil)
		return
	}
	w.tail.Store(&tailRef{t})
}

// Version returns the version id of the Worker's code (Config.Version).
func (w *Worker) Version() string { return w.cfg.Version }

// startTrace begins the item of an event of the Worker if a tail follows
// it; owner is the Durable Object the event is for (nil: stateless), and
// describe fills in the event. It returns nil, at the cost of an atomic
// load, when no tail is connected.
func (w *Worker) startTrace(owner *instance, request string, describe func(*tail.Item)) *tail.Trace {
	ref := w.tail.Load()
	if ref == nil || !ref.t.Tracing() {
		return nil
	}
	it := tail.Item{ScriptName: w.cfg.Name, RequestID: request, ExecutionModel: "stateless"}
	describe(&it)
	if w.cfg.Version != "" {
		it.ScriptVersion = &tail.Version{ID: w.cfg.Version}
	}
	if owner != nil {
		it.ExecutionModel = "durableObject"
		it.Entrypoint = owner.class
		it.DurableObjectID = owner.obj.ID.String()
		it.DurableObjectName = owner.obj.Name
	}
	return ref.t.Start(it)
}

// requestEvent describes an incoming request for its trace item.
func requestEvent(r *http.Request) *tail.Event {
	u := *r.URL
	if u.Host == "" {
		u.Host = r.Host
	}
	if u.Scheme == "" {
		u.Scheme = "http"
		if r.TLS != nil {
			u.Scheme = "https"
		}
	}
	var cf any
	if s := requestCF(r.Context()); s != "" {
		cf = json.RawMessage(s)
	}
	return &tail.Event{Request: tail.NewRequest(r, u.String(), cf)}
}

// clientIP returns the host of r's remote address.
func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
}

type traceKey struct{}

// withTrace returns ctx carrying t, the trace the event served with ctx
// gathers into.
func withTrace(ctx context.Context, t *tail.Trace) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, t)
}

func traceFrom(ctx context.Context) *tail.Trace {
	t, _ := ctx.Value(traceKey{}).(*tail.Trace)
	return t
}

// traceError adds err to t as an uncaught exception, and returns the
// outcome an event that failed with it has.
func traceError(t *tail.Trace, err error) string {
	var se *ScriptError
	switch {
	case errors.As(err, &se):
		t.Exception(se.Name, se.Message, se.Stack)
		return tail.OutcomeException
	case errors.Is(err, errCPULimit):
		t.Exception("Error", err.Error(), "")
		return tail.OutcomeExceededCPU
	case errors.Is(err, errMemoryLimit):
		t.Exception("Error", err.Error(), "")
		return tail.OutcomeExceededMemory
	case errors.Is(err, context.Canceled):
		return tail.OutcomeCanceled
	}
	var te *objects.ThrownError
	if errors.As(err, &te) {
		t.Exception(te.Name, te.Message, "")
		return tail.OutcomeException
	}
	t.Exception("Error", err.Error(), "")
	return tail.OutcomeException
}

// consoleTap adds a console line to the running event's trace, if any.
func (rt *runtime) consoleTap(level, msg string) {
	rt.trace.Log(level, msg)
}

// traceWriter notes the status of a traced request's response, and the
// outcome of a handler that failed.
type traceWriter struct {
	http.ResponseWriter
	status int
	failed string // the outcome of a failure (traceError), "" if none
}

func (w *traceWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *traceWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *traceWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *traceWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response does not support hijacking")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

func (w *traceWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// outcome is the outcome of the traced request r: its failure, canceled if
// the client went away, an exception if the response was cut short
// (aborted, the panic ServeHTTP ends with), else ok.
func (w *traceWriter) outcome(r *http.Request, aborted any) string {
	switch {
	case w.failed != "":
		return w.failed
	case r.Context().Err() != nil:
		return tail.OutcomeCanceled
	case aborted != nil:
		return tail.OutcomeException
	}
	return tail.OutcomeOK
}
