package objects

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/sockets"
)

// WebSockets of Durable Objects written in Go: the Hibernation API. A Go
// object accepts a socket in its ServeHTTP (State.AcceptWebSocket); the
// socket belongs to the object, not to its instance, so the object may be
// evicted while the socket stays open (after Host.HibernateIdle without
// events), and the next message constructs it again. Messages and closes
// are events of the object, through its gate like any other, delivered to
// the WebSocketHandler methods of what the constructor returned.

// WebSocketHandler is a Go object that takes the events of the WebSockets
// it accepted, as the webSocketMessage and webSocketClose handlers of a JS
// class do.
type WebSocketHandler interface {
	WebSocketMessage(ctx context.Context, ws *WebSocket, data []byte, text bool) error
	WebSocketClose(ctx context.Context, ws *WebSocket, code int, reason string, wasClean bool) error
}

// WebSocketErrorHandler is a WebSocketHandler that also hears of protocol
// errors (a message over the size limit), before the close.
type WebSocketErrorHandler interface {
	WebSocketError(ctx context.Context, ws *WebSocket, msg string) error
}

// ErrNotUpgrade is returned by AcceptWebSocket for a request that does not
// ask for a WebSocket.
var ErrNotUpgrade = errors.New("the request is not a WebSocket upgrade (no Upgrade: websocket header)")

// SetSockets makes r the registry of the WebSockets that Go objects accept;
// the JS runtime's, so that both kinds of socket close together on
// shutdown. Without it the Host makes its own on first use.
func (h *Host) SetSockets(r *sockets.Registry) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sockets = r
}

// socketRegistryLocked returns the Host's WebSocket registry. h.mu is held.
func (h *Host) socketRegistryLocked() *sockets.Registry {
	if h.sockets == nil {
		h.ownSockets = sockets.NewRegistry(context.Background(), sockets.Options{Logger: h.log})
		h.sockets = h.ownSockets
	}
	return h.sockets
}

// AcceptWebSocket accepts the WebSocket that r asks for, as a hibernatable
// socket of the object with tags (ctx.acceptWebSocket(ws, tags) in JS).
// Call it from ServeHTTP with its ResponseWriter and return: the response
// becomes the 101 that upgrades the client's connection.
func (s *State) AcceptWebSocket(w http.ResponseWriter, r *http.Request, tags ...string) (*WebSocket, error) {
	rec, ok := w.(*recorder)
	if !ok {
		return nil, errors.New("AcceptWebSocket: w is not the ResponseWriter of the object's ServeHTTP")
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return nil, ErrNotUpgrade
	}
	if err := s.live(); err != nil {
		return nil, err
	}
	o := s.gate.obj
	reg := o.sockets
	h := &goSocket{host: o.host, class: o.Class, id: o.ID, name: o.Name}
	conn := reg.NewConn(h)
	h.c = conn // before any event: they start with the upgrade
	if err := reg.Object(o.Class, o.ID).AddHibernatable(conn, tags); err != nil {
		return nil, err
	}
	reg.Object(o.Class, o.ID).SetName(o.Name) // for the Host that adopts the socket after a deploy
	rec.upgrade = conn
	return &WebSocket{conn: conn, state: s}, nil
}

// WebSockets returns the object's open WebSockets, those with tag if tag
// is not "" (ctx.getWebSockets(tag)), in the order they were accepted.
func (s *State) WebSockets(tag string) []*WebSocket {
	o := s.gate.obj
	var out []*WebSocket
	for _, c := range o.sockets.Object(o.Class, o.ID).Sockets() {
		if tag == "" || c.HasTag(tag) {
			out = append(out, &WebSocket{conn: c, state: s})
		}
	}
	return out
}

// SetWebSocketAutoResponse makes the object's sockets answer a text
// message equal to request with response, without an event
// (ctx.setWebSocketAutoResponse).
func (s *State) SetWebSocketAutoResponse(request, response string) error {
	o := s.gate.obj
	return o.sockets.Object(o.Class, o.ID).SetAutoResponse(request, response)
}

// live returns ErrReset if the state belongs to an instance that was reset.
func (s *State) live() error {
	if s.gate.Generation() != s.gen {
		return ErrReset
	}
	return nil
}

// WebSocket is the server end of a socket a Go object accepted, seen from
// one instance of the object. Use it on the object's thread, during its
// events. What it sends leaves through the object's output gate: after the
// writes the event made before are durable.
type WebSocket struct {
	conn  *sockets.Conn
	state *State
}

// Send sends a text message.
func (ws *WebSocket) Send(text string) error { return ws.gated(func() { ws.conn.SendText(text) }) }

// SendBinary sends a binary message; b must not change afterwards.
func (ws *WebSocket) SendBinary(b []byte) error {
	return ws.gated(func() { ws.conn.SendBinary(b) })
}

// Close closes the socket with code and reason, after what was sent.
func (ws *WebSocket) Close(code int, reason string) error {
	return ws.gated(func() { ws.conn.Close(code, reason) })
}

// gated runs send once the object's earlier writes are durable; if they
// fail, the socket is closed with 1011 instead.
func (ws *WebSocket) gated(send func()) error {
	if err := ws.state.live(); err != nil {
		return err
	}
	ws.state.gate.Hold(false, func(err error) {
		if err != nil {
			go ws.conn.Shutdown(sockets.CodeInternalError, "Durable Object storage failed")
			return
		}
		send()
	})
	return nil
}

// SetAttachment keeps v with the socket across hibernation
// (serializeAttachment): encoded by package clone, at most 16 KiB.
func (ws *WebSocket) SetAttachment(v any) error {
	b, err := clone.Marshal(v)
	if err != nil {
		return err
	}
	return ws.conn.SetAttachment(b)
}

// Attachment returns what SetAttachment kept, nil if nothing.
func (ws *WebSocket) Attachment() (any, error) {
	b := ws.conn.Attachment()
	if b == nil {
		return nil, nil
	}
	return clone.Unmarshal(b)
}

// Tags returns the tags the socket was accepted with.
func (ws *WebSocket) Tags() []string { return ws.conn.Tags() }

// AdoptWebSocket returns the Handler of a hibernatable socket of a Go
// object that moves to this Host with a deploy or an upgrade
// (sockets.Registry.Adopt), nil if its class is not a Go class here: its
// next message activates the object on this Host.
func (h *Host) AdoptWebSocket(c *sockets.Conn) sockets.Handler {
	class, id, ok := c.ObjectKey()
	if !ok {
		return nil
	}
	h.mu.Lock()
	_, isGo := h.classes[class].(*goClass)
	h.mu.Unlock()
	if !isGo {
		return nil
	}
	return &goSocket{host: h, class: class, id: ID(id), name: c.ObjectName(), c: c}
}

// goSocket receives the events of a socket a Go object accepted
// (sockets.Handler) and delivers them to the object's current instance,
// activating it if it was evicted meanwhile.
type goSocket struct {
	host  *Host
	class string
	id    ID
	name  string
	c     *sockets.Conn
}

// deliver runs fn as an event of the object's current instance. It returns
// once the event is admitted (in order with the socket's other events, so
// that they stay in order across an eviction); done runs after fn, or if
// the event cannot run.
func (s *goSocket) deliver(fn func(i *goInstance, ws *WebSocket) error, conn *sockets.Conn, done func()) bool {
	for {
		inst, err := s.host.Instance(s.class, s.id, s.name)
		if err != nil {
			if !errors.Is(err, ErrClosed) { // at shutdown the sockets close after the objects
				s.host.log.Error("WebSocket event for an object that cannot be activated", "class", s.class, "id", s.id.String(), "error", err)
			}
			done()
			return false
		}
		i, ok := inst.(*goInstance)
		if !ok {
			done()
			return false
		}
		admitted := make(chan error, 1)
		ok = i.Post(func() {
			err := i.gate.Deliver(func(ev *Event) {
				admitted <- nil
				state := i.state
				err := protect(func() error { return fn(i, &WebSocket{conn: conn, state: state}) })
				if err != nil {
					s.host.log.Error("Durable Object WebSocket handler failed", "class", s.class, "id", s.id.String(), "error", err)
				}
				ev.Done()
				done()
			}, func(err error) {
				s.host.log.Error("Durable Object failed to start for a WebSocket event", "class", s.class, "id", s.id.String(), "error", err)
				done()
			})
			if err != nil {
				admitted <- err
			}
		})
		if !ok {
			done()
			return false
		}
		if err := <-admitted; !errors.Is(err, ErrEvicted) {
			return true
		}
		// evicted since we found it: find the new instance
	}
}

// OnMessage delivers a message to WebSocketMessage (sockets.Handler).
func (s *goSocket) OnMessage(data []byte, text bool, done func()) bool {
	return s.deliver(func(i *goInstance, ws *WebSocket) error {
		h, ok := i.user.(WebSocketHandler)
		if !ok {
			return fmt.Errorf("class %s has no WebSocketMessage handler", s.class)
		}
		return h.WebSocketMessage(context.Background(), ws, data, text)
	}, s.c, done)
}

// OnError delivers a protocol error to WebSocketError, if the object has it.
func (s *goSocket) OnError(msg string) {
	s.deliver(func(i *goInstance, ws *WebSocket) error {
		if h, ok := i.user.(WebSocketErrorHandler); ok {
			return h.WebSocketError(context.Background(), ws, msg)
		}
		return nil
	}, s.c, func() {})
}

// OnClose delivers the close to WebSocketClose; the socket leaves the
// object afterwards.
func (s *goSocket) OnClose(code int, reason string, wasClean bool) {
	s.deliver(func(i *goInstance, ws *WebSocket) error {
		if h, ok := i.user.(WebSocketHandler); ok {
			return h.WebSocketClose(context.Background(), ws, code, reason, wasClean)
		}
		return nil
	}, s.c, s.c.Leave)
}

// Hibernatable reports whether all the object keeps is hibernatable
// WebSockets (Hibernator): then it may be evicted after the shorter
// hibernation idle time, its sockets staying open.
func (i *goInstance) Hibernatable() bool {
	hibernatable, accepted := i.obj.sockets.Counts(i.obj.Class, i.obj.ID)
	return hibernatable > 0 && accepted == 0
}
