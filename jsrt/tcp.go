package jsrt

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/cairn-dev/cairn/jsrt/webapi"
	"github.com/dop251/goja"
)

// Outgoing TCP sockets: connect() of the "cloudflare:sockets" module
// (jsrt/modules/cloudflare-sockets.js builds the Socket on these natives).
// A socket's bytes leave through the output gate like a fetch does; its
// readable side is a Go body (see body.go) read as the script pulls it.
// The Worker's Outbound policy checks every address dialed.

// errConnect is what a script sees when a connection cannot be made, in
// workerd's words; the reason follows it.
const errConnect = "proxy request failed, cannot connect to the specified address"

// tcpSocket is one connection opened by connect(), or the TLS connection
// that startTls() made of one.
type tcpSocket struct {
	rt    *runtime
	vm    *goja.Runtime // the engine of rt that opened it: a reset closes it
	ready chan struct{} // closed once the dial (or handshake) has finished

	// readMu is held by a read in progress: startTls takes it to be sure
	// no read of this socket takes the bytes of the TLS handshake.
	readMu sync.Mutex

	mu       sync.Mutex
	conn     net.Conn // nil until ready, and if the dial failed
	err      error    // why the dial failed
	closed   bool     // closed by the script or the Worker
	upgraded bool     // startTls took the connection: this socket is done
}

// wait returns the connection once dialed, or why there is none.
func (s *tcpSocket) wait() (net.Conn, error) {
	<-s.ready
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return nil, s.err
	case s.closed || s.upgraded:
		return nil, net.ErrClosed
	}
	return s.conn, nil
}

// finish records the outcome of the dial.
func (s *tcpSocket) finish(conn net.Conn, err error) {
	s.mu.Lock()
	if err == nil && s.closed { // closed while dialing
		_ = conn.Close()
		conn, err = nil, net.ErrClosed
	}
	s.conn, s.err = conn, err
	s.mu.Unlock()
	close(s.ready)
}

// close closes the connection (once dialed) unless startTls took it.
func (s *tcpSocket) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.conn != nil && !s.upgraded {
		_ = s.conn.Close()
	}
}

// tcpReader is the Go body behind a socket's readable side. Reads end
// (EOF) once the script closed the socket or upgraded it to TLS; its Close
// leaves the connection to the socket.
type tcpReader struct{ s *tcpSocket }

func (r tcpReader) Read(p []byte) (int, error) {
	r.s.readMu.Lock()
	defer r.s.readMu.Unlock()
	conn, err := r.s.wait()
	if errors.Is(err, net.ErrClosed) {
		return 0, io.EOF
	}
	if err != nil {
		return 0, err
	}
	n, err := conn.Read(p)
	if err != nil && n == 0 {
		r.s.mu.Lock()
		done := r.s.closed || r.s.upgraded
		r.s.mu.Unlock()
		if done || errors.Is(err, net.ErrClosed) {
			return 0, io.EOF
		}
	}
	return n, err
}

func (tcpReader) Close() error { return nil }

// trackSocket remembers s so that a reset of its runtime, or the Worker's
// Close, closes it.
func (w *Worker) trackSocket(s *tcpSocket) {
	w.tcpMu.Lock()
	defer w.tcpMu.Unlock()
	if w.tcp == nil {
		w.tcp = make(map[*tcpSocket]struct{})
	}
	w.tcp[s] = struct{}{}
}

// untrackSocket forgets s once it is closed.
func (w *Worker) untrackSocket(s *tcpSocket) {
	w.tcpMu.Lock()
	defer w.tcpMu.Unlock()
	delete(w.tcp, s)
}

// closeSockets closes the sockets of rt opened by an engine it replaced
// (a reset), or every socket if rt is nil (the Worker closes).
func (w *Worker) closeSockets(rt *runtime) {
	w.tcpMu.Lock()
	defer w.tcpMu.Unlock()
	for s := range w.tcp {
		if rt == nil || (s.rt == rt && s.vm != rt.vm) {
			s.close()
			delete(w.tcp, s)
		}
	}
}

// tlsConfig is the TLS client configuration of sockets: that of the
// Worker's HTTP client (its roots, in tests), for serverName.
func (w *Worker) tlsConfig(serverName string) *tls.Config {
	cfg := &tls.Config{}
	if t, ok := w.cfg.HTTPClient.Transport.(*http.Transport); ok && t.TLSClientConfig != nil {
		cfg = t.TLSClientConfig.Clone()
	}
	cfg.ServerName = serverName
	return cfg
}

// installSockets defines the natives of connect():
//
//	tcpConnect(host, port, tls) {socket, source, opened: Promise<{remoteAddress, localAddress}>}
//	tcpWrite(socket, bytes) Promise   (after the output gate)
//	tcpCloseWrite(socket) Promise     (half-close: FIN)
//	tcpClose(socket)
//	tcpStartTls(socket, serverName) {socket, source, opened}
func (rt *runtime) installSockets() error {
	vm := rt.vm
	w := rt.w
	handle := func(v goja.Value) *tcpSocket {
		s, ok := v.Export().(*tcpSocket)
		if !ok {
			panic(vm.NewTypeError("not a socket"))
		}
		return s
	}
	// open starts dial off the loop, after the output gate, and returns
	// the socket's JS side.
	open := func(s *tcpSocket, dial func(ctx context.Context) (net.Conn, error)) goja.Value {
		w.trackSocket(s)
		opened := rt.offLoop(true, func(ctx context.Context) func(*settler) {
			conn, err := dial(ctx)
			if err != nil {
				err = fmt.Errorf("%s: %w", errConnect, err)
			}
			s.finish(conn, err)
			return func(st *settler) {
				switch {
				case st == nil:
					s.close()
				case err != nil:
					w.untrackSocket(s)
					_ = st.reject(rt.errorValue(err))
				default:
					info := vm.NewObject()
					_ = info.Set("remoteAddress", conn.RemoteAddr().String())
					_ = info.Set("localAddress", conn.LocalAddr().String())
					_ = st.resolve(info)
				}
			}
		})
		out := vm.NewObject()
		_ = out.Set("socket", s)
		_ = out.Set("source", rt.newSource(tcpReader{s}, -1))
		_ = out.Set("opened", opened)
		return out
	}
	set := func(name string, fn func(goja.FunctionCall) goja.Value) error { return rt.natives.Set(name, fn) }
	if err := set("tcpConnect", func(call goja.FunctionCall) goja.Value {
		host, port, secure := call.Argument(0).String(), call.Argument(1).String(), call.Argument(2).ToBoolean()
		addr := net.JoinHostPort(host, port)
		s := &tcpSocket{rt: rt, vm: vm, ready: make(chan struct{})}
		return open(s, func(ctx context.Context) (net.Conn, error) {
			d := &net.Dialer{
				Timeout:   30 * time.Second,
				KeepAlive: 30 * time.Second,
				Control: func(_, address string, _ syscall.RawConn) error {
					return w.cfg.Outbound.Check(address)
				},
			}
			conn, err := d.DialContext(ctx, "tcp", addr)
			if err != nil || !secure {
				return conn, err
			}
			tc := tls.Client(conn, w.tlsConfig(host))
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return tc, nil
		})
	}); err != nil {
		return err
	}
	if err := set("tcpWrite", func(call goja.FunctionCall) goja.Value {
		s := handle(call.Argument(0))
		b := append([]byte(nil), webapi.ViewBytes(vm, call.Argument(1))...)
		return rt.offLoop(true, func(context.Context) func(*settler) {
			conn, err := s.wait()
			if err == nil {
				_, err = conn.Write(b)
				if err != nil {
					err = fmt.Errorf("write to socket: %w", err)
				}
			}
			return func(st *settler) {
				switch {
				case st == nil:
				case err != nil:
					_ = st.reject(rt.errorValue(err))
				default:
					_ = st.resolve(goja.Undefined())
				}
			}
		})
	}); err != nil {
		return err
	}
	if err := set("tcpCloseWrite", func(call goja.FunctionCall) goja.Value {
		s := handle(call.Argument(0))
		return rt.offLoop(true, func(context.Context) func(*settler) {
			conn, err := s.wait()
			if cw, ok := conn.(interface{ CloseWrite() error }); err == nil && ok {
				err = cw.CloseWrite()
			}
			return func(st *settler) {
				if st != nil {
					_ = st.resolve(goja.Undefined()) // the writable ends either way
				}
			}
		})
	}); err != nil {
		return err
	}
	if err := set("tcpClose", func(call goja.FunctionCall) goja.Value {
		s := handle(call.Argument(0))
		s.close()
		w.untrackSocket(s)
		return goja.Undefined()
	}); err != nil {
		return err
	}
	return set("tcpStartTls", func(call goja.FunctionCall) goja.Value {
		old := handle(call.Argument(0))
		serverName := call.Argument(1).String()
		s := &tcpSocket{rt: rt, vm: vm, ready: make(chan struct{})}
		return open(s, func(ctx context.Context) (net.Conn, error) {
			conn, err := old.wait()
			if err != nil {
				return nil, err
			}
			old.mu.Lock()
			old.upgraded = true
			old.mu.Unlock()
			w.untrackSocket(old)
			// A read of the plain socket may be waiting (a client reading
			// ahead): wake it, so that it ends (EOF) without taking the
			// server's handshake, and wait until it has.
			_ = conn.SetReadDeadline(time.Now())
			old.readMu.Lock()
			_ = conn.SetReadDeadline(time.Time{})
			old.readMu.Unlock()
			tc := tls.Client(conn, w.tlsConfig(serverName))
			if err := tc.HandshakeContext(ctx); err != nil {
				_ = conn.Close()
				return nil, err
			}
			return tc, nil
		})
	})
}
