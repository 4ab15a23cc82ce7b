// Package sockets owns the network side of WebSockets for Workers and
// Durable Objects: the connection behind the server end of a pair once its
// HTTP request is upgraded (Conn.Upgrade), the client end of one dialed to
// a server (Conn.Dial) or to a server end in the same process
// (Conn.Connect, over an in-memory pipe), the relay that passes a client
// socket nobody accepted on to the Worker's own client (Registry.Relay),
// the bounded send queue and the
// writer that drains it, the read loop with its back-pressure, the close
// codes sent and reported (1006 when the peer vanishes, 1008 for a peer that
// does not read, 1009 for an oversized message, 1012 on shutdown), the
// auto-responses answered without waking the guest, and each Durable
// Object's record of its sockets (Object): hibernatable sockets with their
// tags, attachments, auto-response pair and timestamps, and the event
// timeout. A record belongs to the object, not to a live instance of it,
// so it survives eviction and resets.
//
// An idle hibernatable socket holds no goroutine and no read buffer: its
// read loop parks it in the Registry's poller (one epoll instance, on
// Linux) between messages, and the poller starts the loop again when the
// socket has bytes to read (poll_linux.go).
//
// The package knows no guest language. A consumer (the JS runtime, or a
// Durable Object written in Go) makes each Conn with a Handler; the read
// loop calls the Handler for every event and the consumer decides on which
// thread, and through which gate, the event runs. Likewise the consumer
// holds sends back for its output gate before calling Conn.SendText.
//
// Objects are keyed by class and 32-byte id (an objects.ID converts
// implicitly), so that package objects may use this package without an
// import cycle.
package sockets
