package sockets

// Relaying: a Worker that fetches a WebSocket from a server and returns
// it, not accepted, in its own 101 response proxies its client to that
// server. No guest code runs for the messages: two sockets pass them on.

// Relay returns a socket, not connected yet, for the Worker's client to be
// upgraded onto, which exchanges every message with upstream: a client
// socket made by Dial or Connect and not started (nobody accepted it).
// Each side's close is passed on to the other: a clean close with its code
// and reason (1005, no code, as 1000), a dropped connection as 1001 (going
// away). Relay fails with ErrConnected if upstream was started.
func (r *Registry) Relay(upstream *Conn) (*Conn, error) {
	down := r.NewConn(relay{to: upstream})
	upstream.mu.Lock()
	if upstream.reading || upstream.conn == nil {
		upstream.mu.Unlock()
		return nil, ErrConnected
	}
	upstream.h = relay{to: down}
	upstream.mu.Unlock()
	upstream.Start()
	return down, nil
}

// relay is the Handler of one side of a Relay: it sends what it receives
// to the other side.
type relay struct{ to *Conn }

func (h relay) OnMessage(data []byte, text bool, done func()) bool {
	if text {
		h.to.SendText(string(data))
	} else {
		h.to.SendBinary(data)
	}
	done()
	return true
}

func (relay) OnError(string) {}

func (h relay) OnClose(code int, reason string, clean bool) {
	switch {
	case !clean:
		h.to.Close(1001, "the other side of the proxied WebSocket went away")
	case code == 1005:
		h.to.Close(1000, "")
	default:
		h.to.Close(code, reason)
	}
}
