package sockets

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"

	"github.com/coder/websocket"
)

// The client side of WebSockets: a Worker that dials a server (fetch with
// "Upgrade: websocket", new WebSocket(url)) or accepts the socket a
// Durable Object answered with instead of passing it on.

// DialOptions configure Dial.
type DialOptions struct {
	// Header is sent with the handshake request, less the handshake
	// headers, which Dial sets itself.
	Header http.Header
	// Protocols are the subprotocols offered (Sec-WebSocket-Protocol).
	Protocols []string
	// Client makes the handshake request; its transport decides which
	// addresses may be dialed. Default http.DefaultClient.
	Client *http.Client
}

// ErrNotUpgraded is returned by Dial when the server answered the
// handshake with something other than 101 Switching Protocols; the
// response comes with it (with at most the first KiB of its body).
var ErrNotUpgraded = errors.New("sockets: the server did not switch protocols")

// handshakeHeaders are the request headers the WebSocket client sets itself.
var handshakeHeaders = []string{"Upgrade", "Connection", "Sec-Websocket-Key", "Sec-Websocket-Version", "Sec-Websocket-Extensions", "Sec-Websocket-Protocol", "Content-Length", "Transfer-Encoding"}

// Dial connects c, as the client, to the WebSocket server at url (ws, wss,
// http or https) and returns the server's 101 response. Messages are
// delivered to c's Handler from Start on. ctx bounds the handshake only.
// A server that answers without upgrading gives its response and an error
// wrapping ErrNotUpgraded; a refused or failed connection gives an error
// alone.
func (c *Conn) Dial(ctx context.Context, url string, opts DialOptions) (*http.Response, error) {
	if c.Connected() {
		return nil, ErrConnected
	}
	header := opts.Header.Clone()
	for _, k := range handshakeHeaders {
		header.Del(k)
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:      opts.Client,
		HTTPHeader:      header,
		Subprotocols:    opts.Protocols,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return resp, fmt.Errorf("%w: %s", ErrNotUpgraded, resp.Status)
		}
		return nil, fmt.Errorf("sockets: dial %s: %w", url, err)
	}
	c.mu.Lock()
	c.protocol = conn.Subprotocol()
	conn.SetReadLimit(c.reg.maxMessage)
	c.mu.Unlock()
	if err := c.attach(conn, false); err != nil {
		return nil, err
	}
	return resp, nil
}

// Connect connects c, as the client, to peer: a socket of the same process
// waiting for its client (the end of a WebSocketPair that a Durable Object
// returned in a 101 response, header being that response's header). The
// two speak the WebSocket protocol over an in-memory pipe, so that they
// keep every rule of a network socket (close codes, limits, back-pressure).
// Messages are delivered to c's Handler from Start on. If the connection
// cannot be made, peer is reported closed with 1006 as Upgrade does.
func (c *Conn) Connect(ctx context.Context, peer *Conn, header http.Header) error {
	if c.Connected() {
		return ErrConnected
	}
	if peer.Connected() {
		return ErrConnected
	}
	if peer.reg.isClosing() {
		peer.Fail()
		return ErrClosed
	}
	client, server := net.Pipe()
	upgrade := make(chan error, 1)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
			upgrade <- peer.Upgrade(rw, req, header)
		}),
	}
	ln := &oneConn{conn: server, done: make(chan struct{})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	transport := &http.Transport{
		DialContext:       func(context.Context, string, string) (net.Conn, error) { return client, nil },
		DisableKeepAlives: true,
	}
	var protocols []string
	if p := header.Get("Sec-WebSocket-Protocol"); p != "" {
		protocols = []string{p}
	}
	conn, _, err := websocket.Dial(ctx, "ws://peer.cairn.internal/", &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: transport},
		Subprotocols:    protocols,
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		_ = client.Close()
		select {
		case <-upgrade: // Upgrade reported the failure to peer's owner
		default:
			peer.Fail()
		}
		return fmt.Errorf("sockets: connect in-process: %w", err)
	}
	if err := <-upgrade; err != nil {
		_ = conn.CloseNow()
		return fmt.Errorf("sockets: connect in-process: %w", err)
	}
	c.mu.Lock()
	c.protocol = conn.Subprotocol()
	conn.SetReadLimit(c.reg.maxMessage)
	c.mu.Unlock()
	return c.attach(conn, false)
}

// Connected reports whether c has its connection (Upgrade, Dial or Connect
// succeeded).
func (c *Conn) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// Protocol returns the subprotocol the server chose, for a socket made by
// Dial or Connect.
func (c *Conn) Protocol() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.protocol
}

// oneConn is a net.Listener that yields one connection, then blocks until
// closed.
type oneConn struct {
	mu   sync.Mutex
	conn net.Conn
	done chan struct{}
	shut sync.Once
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.conn
	l.conn = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.done
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	l.shut.Do(func() { close(l.done) })
	return nil
}

func (l *oneConn) Addr() net.Addr { return pipeAddr{} }

// pipeAddr is the address of an in-memory connection.
type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// SplitProtocols splits a Sec-WebSocket-Protocol header value into its
// subprotocols.
func SplitProtocols(v string) []string {
	var out []string
	for p := range strings.SplitSeq(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// isClosing reports whether CloseAll was called.
func (r *Registry) isClosing() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closing
}
