package sockets

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Options configure a Registry.
type Options struct {
	// MaxMessage bounds a received message; a larger one closes the socket
	// with 1009. Default DefaultMaxMessage.
	MaxMessage int64
	Logger     *slog.Logger // default slog.Default()
	// AcceptTimeout bounds how long a client socket (Dial, Connect) may
	// wait for its consumer to accept it (Start, Relay) before it is
	// closed, so that a socket nobody takes does not stay open. Default
	// DefaultAcceptTimeout.
	AcceptTimeout time.Duration
	// Observer, if set, is told about connections and messages (metrics).
	Observer Observer
	// ParkAfter is how long a hibernatable socket waits for its next
	// message with a goroutine of its own before it parks in the
	// Registry's poller, which holds it with none (Linux). A busy socket
	// never parks, so it pays nothing for parking. Default
	// DefaultParkAfter.
	ParkAfter time.Duration
}

// DefaultParkAfter is Options.ParkAfter unless set.
const DefaultParkAfter = time.Second

// DefaultAcceptTimeout is Options.AcceptTimeout unless set.
const DefaultAcceptTimeout = time.Minute

// Registry is one Worker's table of sockets: all the connected ones, so
// that CloseAll can say goodbye with 1012, and the record of each Durable
// Object that accepted some (Object), which belongs to the object rather
// than to a live instance of it.
type Registry struct {
	ctx        context.Context
	log        *slog.Logger
	maxMessage int64
	acceptWait time.Duration
	obs        Observer // nil: none
	parkAfter  time.Duration
	seq        atomic.Uint64 // acceptance order of hibernatable sockets

	mu      sync.Mutex
	all     map[*Conn]struct{}
	objs    map[objKey]*Object
	closing bool
	poller  *poller // where idle hibernatable sockets wait (Conn.park); made on first use
}

// objKey names an object: its class and id.
type objKey struct {
	class string
	id    [32]byte
}

// NewRegistry returns an empty Registry. ctx bounds the reads and writes
// of every socket; the owner cancels it when it stops, after CloseAll.
func NewRegistry(ctx context.Context, opts Options) *Registry {
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = DefaultMaxMessage
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.AcceptTimeout <= 0 {
		opts.AcceptTimeout = DefaultAcceptTimeout
	}
	if opts.ParkAfter <= 0 {
		opts.ParkAfter = DefaultParkAfter
	}
	return &Registry{ctx: ctx, log: opts.Logger, maxMessage: opts.MaxMessage, acceptWait: opts.AcceptTimeout, obs: opts.Observer,
		parkAfter: opts.ParkAfter}
}

// add registers a connected socket; false once the Registry is closing.
func (r *Registry) add(c *Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing {
		return false
	}
	if r.all == nil {
		r.all = make(map[*Conn]struct{})
	}
	r.all[c] = struct{}{}
	if r.obs != nil {
		r.obs.Connected()
	}
	return true
}

// poll returns r's poller, making it on first use. It stops when r's
// context ends.
func (r *Registry) poll() *poller {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.poller == nil {
		r.poller = newPoller(r.ctx, func(msg string, err error) { r.log.Warn(msg, "error", err) })
	}
	return r.poller
}

func (r *Registry) remove(c *Conn) {
	r.mu.Lock()
	delete(r.all, c)
	r.mu.Unlock()
}

// CloseAll closes every connected socket with 1012 (service restart) so
// that clients reconnect, waiting at most for the close handshakes' own
// timeouts. Sockets upgraded afterwards are closed the same way at once.
func (r *Registry) CloseAll() {
	r.mu.Lock()
	r.closing = true
	all := make([]*Conn, 0, len(r.all))
	for c := range r.all {
		all = append(all, c)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range all {
		wg.Go(func() { c.Shutdown(CodeServiceRestart, "Service restart") })
	}
	wg.Wait()
}

// Object returns the record of the object class/id (id is its
// objects.ID), making it if needed. A record is dropped when its last
// socket leaves and it holds no setting (Conn.Leave), so look it up again
// rather than keep it.
func (r *Registry) Object(class string, id [32]byte) *Object {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs == nil {
		r.objs = make(map[objKey]*Object)
	}
	k := objKey{class, id}
	o := r.objs[k]
	if o == nil {
		o = &Object{reg: r, key: k, sockets: make(map[*Conn]struct{})}
		r.objs[k] = o
	}
	return o
}

// Counts returns the object's hibernatable sockets and the sockets it
// accepted otherwise (which live in its instance, so keep it in memory),
// not closed yet. It makes no record.
func (r *Registry) Counts(class string, id [32]byte) (hibernatable, accepted int) {
	r.mu.Lock()
	o := r.objs[objKey{class, id}]
	r.mu.Unlock()
	if o == nil {
		return 0, 0
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.sockets), o.accepted
}

// dropIfEmpty forgets o once it holds no socket and no setting.
func (r *Registry) dropIfEmpty(o *Object) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	if r.objs[o.key] == o && len(o.sockets) == 0 && o.accepted == 0 && !o.autoSet && o.eventTimeout == 0 {
		delete(r.objs, o.key)
	}
}

// Object is the record of one Durable Object's sockets: its hibernatable
// sockets, how many it accepted otherwise, its auto-response pair and its
// event timeout. Its methods are safe for concurrent use.
type Object struct {
	reg *Registry
	key objKey

	mu           sync.Mutex
	name         string             // the object's name, if known (SetName)
	sockets      map[*Conn]struct{} // hibernatable
	accepted     int                // accepted otherwise, not left yet
	autoReq      string
	autoRes      string
	autoSet      bool
	eventTimeout time.Duration // 0: unset
}

// errAccepted is AddHibernatable's answer for a socket some object
// accepted already.
var errAccepted = errors.New("Cannot call acceptWebSocket() on a WebSocket that was already accepted")

// AddHibernatable makes c one of the object's hibernatable sockets, with
// tags: its messages get the auto-response, and it outlives the object's
// instance. It fails for more than 10 tags, a tag over 256 bytes, 32,768
// hibernatable sockets, or a socket already accepted.
func (o *Object) AddHibernatable(c *Conn, tags []string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.obj != nil {
		return errAccepted
	}
	if len(tags) > maxTags {
		return fmt.Errorf("a Hibernatable WebSocket cannot have more than %d tags", maxTags)
	}
	for _, t := range tags {
		if len(t) > maxTagLength {
			return fmt.Errorf("%q is longer than the max tag length (%d characters).", t, maxTagLength)
		}
	}
	if len(o.sockets) >= maxHibernatable {
		return fmt.Errorf("only %d hibernatable WebSockets are allowed per Durable Object", maxHibernatable)
	}
	c.obj, c.hibernatable, c.tags = o, true, slices.Clone(tags)
	c.seq = o.reg.seq.Add(1)
	o.sockets[c] = struct{}{}
	return nil
}

// AddAccepted counts c as accepted by the object but not hibernatable: it
// keeps the object's instance in memory until it leaves (Conn.Leave). A
// socket already accepted is left as it is.
func (o *Object) AddAccepted(c *Conn) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.obj != nil {
		return
	}
	c.obj = o
	o.accepted++
}

// Sockets returns the object's hibernatable sockets that have not left, in
// the order they were accepted.
func (o *Object) Sockets() []*Conn {
	o.mu.Lock()
	list := make([]*Conn, 0, len(o.sockets))
	for c := range o.sockets {
		list = append(list, c)
	}
	o.mu.Unlock()
	slices.SortFunc(list, func(a, b *Conn) int { return cmp.Compare(a.seq, b.seq) })
	return list
}

// SetAutoResponse makes the object's hibernatable sockets answer a text
// message equal to request with response, without the guest. Each must be
// at most 2048 bytes.
func (o *Object) SetAutoResponse(request, response string) error {
	if len(request) > maxAutoResponse || len(response) > maxAutoResponse {
		return fmt.Errorf("Request and response must each be at most %d characters.", maxAutoResponse)
	}
	o.mu.Lock()
	o.autoSet, o.autoReq, o.autoRes = true, request, response
	o.mu.Unlock()
	return nil
}

// ClearAutoResponse removes the auto-response.
func (o *Object) ClearAutoResponse() {
	o.mu.Lock()
	o.autoSet, o.autoReq, o.autoRes = false, "", ""
	o.mu.Unlock()
}

// SetEventTimeout sets how long the guest lets a hibernatable socket's
// event handler run before it resets the object; 0 (or less) unsets it.
// The guest enforces it. It fails over MaxEventTimeout.
func (o *Object) SetEventTimeout(d time.Duration) error {
	if d > MaxEventTimeout {
		return fmt.Errorf("Event timeout should not exceed %d ms.", MaxEventTimeout.Milliseconds())
	}
	o.mu.Lock()
	o.eventTimeout = max(d, 0)
	o.mu.Unlock()
	return nil
}

// EventTimeout returns the event timeout, 0 if unset.
func (o *Object) EventTimeout() time.Duration {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.eventTimeout
}
