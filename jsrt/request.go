package jsrt

import (
	"context"
	"log/slog"
)

// Per-request values the server hands the runtime through the request's
// context: an id for the log, and the request.cf object.

type requestIDKey struct{}
type cfKey struct{}

// WithRequestID returns ctx carrying the id of an HTTP request: the
// console lines of the code that serves it carry it as the attribute
// "request" (its code's awaits on fetch, storage, RPC and timers too).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id WithRequestID put in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithCF returns ctx carrying the request.cf object the Worker sees for
// the request, as a JSON object.
func WithCF(ctx context.Context, cfJSON string) context.Context {
	return context.WithValue(ctx, cfKey{}, cfJSON)
}

func requestCF(ctx context.Context) string {
	cf, _ := ctx.Value(cfKey{}).(string)
	return cf
}

// requestHandler adds the running request's id to the records of a
// runtime's console, and inside a Durable Object the object's id, name (if
// it was made by name) and class. It runs on the runtime's loop, as
// console does.
type requestHandler struct {
	slog.Handler
	rt *runtime
}

func (h requestHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := h.rt.request; id != "" {
		r.AddAttrs(slog.String("request", id))
	}
	if o := h.rt.active; o != nil {
		r.AddAttrs(slog.String("class", o.class), slog.String("object", o.obj.ID.String()))
		if o.obj.Name != "" {
			r.AddAttrs(slog.String("name", o.obj.Name))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// consoleLog is the logger of the runtime's console: its records name the
// Worker and the version of its code.
func (rt *runtime) consoleLog() *slog.Logger {
	l := rt.log.With("worker", rt.w.cfg.Name)
	if v := rt.w.cfg.Version; v != "" {
		l = l.With("version", v)
	}
	return l
}

func (h requestHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestHandler{h.Handler.WithAttrs(as), h.rt}
}

func (h requestHandler) WithGroup(name string) slog.Handler {
	return requestHandler{h.Handler.WithGroup(name), h.rt}
}
