package sockets

// Observer is told about a Registry's traffic, for metrics (package
// metrics implements it). Its methods are called on the sockets'
// goroutines and must not block.
type Observer interface {
	// Connected reports a socket whose connection was made (an upgrade, a
	// dial or an in-process connection).
	Connected()
	// Message reports a data message received from the peer (received
	// true; auto-responses included) or being written to it.
	Message(received bool, size int)
}

// ObjectKey names a Durable Object in a Registry: its class and id (an
// objects.ID).
type ObjectKey struct {
	Class string
	ID    [32]byte
}

// Open returns how many sockets are connected now.
func (r *Registry) Open() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.all)
}

// HibernatableObjects returns the objects that hold hibernatable sockets
// now.
func (r *Registry) HibernatableObjects() []ObjectKey {
	r.mu.Lock()
	objs := make([]*Object, 0, len(r.objs))
	for _, o := range r.objs {
		objs = append(objs, o)
	}
	r.mu.Unlock()
	var out []ObjectKey
	for _, o := range objs {
		o.mu.Lock()
		n := len(o.sockets)
		o.mu.Unlock()
		if n > 0 {
			out = append(out, ObjectKey{o.key.class, o.key.id})
		}
	}
	return out
}
