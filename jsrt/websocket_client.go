package jsrt

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/cairn-dev/cairn/sockets"
)

// The client end of WebSockets: a Worker (or Durable Object) that
// accepts the socket a Durable Object answered its stub.fetch() with, that
// fetches with "Upgrade: websocket", or that makes a new WebSocket(url).
// The connection is package sockets' (Conn.Dial, Conn.Connect); a client
// socket is a wsConn as a server end is, accepted into the code that made
// it, so its events, sends and closes take the same paths (loop, input and
// output gates).

// dialTimeout bounds a WebSocket handshake with a server.
const dialTimeout = 30 * time.Second

// isWebSocketUpgrade reports whether an outbound request asks for a
// WebSocket (fetch with "Upgrade: websocket").
func isWebSocketUpgrade(req *http.Request) bool {
	return strings.EqualFold(req.Header.Get("Upgrade"), "websocket")
}

// fetchWebSocket dials the WebSocket server req asks for, once the output
// gate opens, and returns a promise of the response wire: a 101 with
// webSocket (not accepted yet: messages wait for accept()), or the
// server's other answer as a plain response.
func (rt *runtime) fetchWebSocket(req *http.Request) goja.Value {
	c := &wsConn{w: rt.w, client: true}
	c.net = rt.w.sockets.NewConn(c)
	client := rt.w.cfg.HTTPClient
	if req.Body != nil { // a handshake has no body
		_ = req.Body.Close()
	}
	return rt.offLoop(true, func(ctx context.Context) func(*settler) {
		ctx, cancel := context.WithTimeout(ctx, dialTimeout)
		defer cancel()
		resp, err := c.net.Dial(ctx, req.URL.String(), sockets.DialOptions{
			Header:    req.Header,
			Protocols: sockets.SplitProtocols(req.Header.Get("Sec-WebSocket-Protocol")),
			Client:    client,
		})
		return func(s *settler) {
			switch {
			case s == nil: // the runtime was reset meanwhile
				if err == nil {
					c.net.Shutdown(sockets.CodeInternalError, "Worker reset")
				}
			case errors.Is(err, sockets.ErrNotUpgraded): // its first KiB of body
				_ = s.resolve(rt.responseWire(resp))
			case err != nil:
				_ = s.reject(rt.errorValue(err))
			default:
				c.url, c.protocol = req.URL.String(), c.net.Protocol()
				resp.Body = nil
				wire := rt.responseWire(resp)
				ws, err := rt.callPrelude("wsWrap", rt.vm.ToValue(c), rt.vm.ToValue(false))
				if err != nil {
					c.net.Shutdown(sockets.CodeInternalError, "Worker failed")
					_ = s.reject(rt.errorValue(err))
					return
				}
				_ = wire.(*goja.Object).Set("webSocket", ws)
				_ = s.resolve(wire)
			}
		}
	})
}

// installWebSocketClient adds the natives of client sockets to
// __cairn.webSocket: dial (new WebSocket(url)), connect (accept() of a
// socket a Durable Object answered with), url and protocol.
func (rt *runtime) installWebSocketClient(n *goja.Object, handle func(goja.Value) *wsConn) {
	vm := rt.vm
	_ = n.Set("dial", func(url string, protocols []string, ws goja.Value) *wsConn {
		c := &wsConn{w: rt.w, url: url, client: true}
		c.net = rt.w.sockets.NewConn(c)
		c.own(rt, ws.ToObject(vm), modeAccepted)
		c.state = wsConnecting
		client := rt.w.cfg.HTTPClient
		rt.offLoop(true, func(ctx context.Context) func(*settler) {
			ctx, cancel := context.WithTimeout(ctx, dialTimeout)
			defer cancel()
			_, err := c.net.Dial(ctx, url, sockets.DialOptions{Protocols: protocols, Client: client})
			return func(s *settler) {
				if s == nil {
					if err == nil {
						c.net.Shutdown(sockets.CodeInternalError, "Worker reset")
					}
					return
				}
				_ = s.resolve(goja.Undefined())
				c.opened(err)
			}
		})
		return c
	})
	_ = n.Set("connect", func(h goja.Value) *wsConn {
		peer := handle(h)
		c := &wsConn{w: rt.w, client: true}
		c.net = rt.w.sockets.NewConn(c)
		ctx, cancel := context.WithTimeout(rt.w.ctx, dialTimeout)
		defer cancel()
		if err := c.net.Connect(ctx, peer.net, nil); err != nil {
			if errors.Is(err, sockets.ErrConnected) {
				panic(vm.NewTypeError("This WebSocket was already accepted, or returned in a response."))
			}
			panic(rt.errorValue(err))
		}
		c.protocol = c.net.Protocol()
		return c
	})
	_ = n.Set("url", func(h goja.Value) goja.Value {
		if c := handle(h); c.url != "" {
			return vm.ToValue(c.url)
		}
		return goja.Null()
	})
	_ = n.Set("protocol", func(h goja.Value) string { return handle(h).protocol })
}

// opened ends the handshake of a new WebSocket(url): the open event (or
// error and a 1006 close if it failed), then its messages. Loop only.
func (c *wsConn) opened(err error) {
	if c.stale() {
		c.net.Shutdown(sockets.CodeInternalError, "Worker reset")
		return
	}
	if err != nil {
		c.rt.log.Warn("WebSocket connection failed", "url", c.url, "error", err.Error())
		c.onError("WebSocket connection to " + c.url + " failed: " + err.Error())
		c.onClose(sockets.CodeAbnormal, "", false)
		return
	}
	if c.state != wsConnecting {
		// close() while connecting fails the connection, as the WHATWG
		// WebSocket spec says: no open event, a close with 1006.
		c.net.Shutdown(1000, "")
		c.onClose(sockets.CodeAbnormal, "", false)
		return
	}
	c.protocol = c.net.Protocol()
	c.state = wsOpen
	c.dispatch("open")
	c.net.Start()
}

// upgradeConn returns the socket a 101 response with c hands to the HTTP
// server: c's own for the end of a pair, or for a client socket nobody
// accepted (from fetch, or a Durable Object's through a stub) a relay to it,
// the Worker proxying its client to the server.
func (rt *runtime) upgradeConn(c *wsConn) (*sockets.Conn, error) {
	if c.mode != modeNone || !c.net.Connected() {
		return c.net, nil
	}
	down, err := rt.w.sockets.Relay(c.net)
	if err != nil {
		return nil, fmt.Errorf("return a WebSocket in a response: %w", err)
	}
	return down, nil
}
