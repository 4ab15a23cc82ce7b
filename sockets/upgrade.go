package sockets

import "errors"

// Upgrade is the body of a 101 response that carries a WebSocket: it
// travels with the response from the code that accepted the socket (a
// Worker, a Durable Object in JS or in Go, through any stubs between them)
// to the HTTP server, which calls Conn.Upgrade with the client's request.
type Upgrade struct{ Conn *Conn }

// Read fails: a WebSocket response has no body to read.
func (*Upgrade) Read([]byte) (int, error) { return 0, errors.New("a WebSocket response has no body") }

// Close does nothing.
func (*Upgrade) Close() error { return nil }
