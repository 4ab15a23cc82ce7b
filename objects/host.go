package objects

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/sockets"
	"github.com/cairn-dev/cairn/storage"
)

// ErrNoClass is returned for an event addressed to a class no guest registered.
var ErrNoClass = errors.New("no such Durable Object class")

// ErrClosed is returned for events that arrive after the Host was closed.
var ErrClosed = errors.New("Durable Object host is shutting down")

// Class creates instances of one Durable Object class. A guest (the JS
// runtime, or Go code) implements it and registers it with Host.Register.
type Class interface {
	// NewInstance returns the instance for o. It is called on the first
	// event for o's id; the guest may defer running user code until the
	// instance receives that event.
	NewInstance(o *Object) (Instance, error)
}

// Instance is a live Durable Object. The Host guarantees at most one
// Instance per id at a time.
type Instance interface {
	// Fetch delivers an HTTP request to the object.
	Fetch(ctx context.Context, req *http.Request) (*http.Response, error)
	// Close releases the instance; no events follow.
	Close()
}

// Caller is an Instance that takes JS RPC calls. The payloads are opaque
// to the Host: the guest encodes arguments and results.
type Caller interface {
	// Call invokes the member at path with args (nil: read the property)
	// and calls done once with the result or the error. Calls are started
	// in the order Call is called. Call must not block: it queues the call
	// on the object's thread (the Host calls it with its lock held), and
	// it reports ErrEvicted, if at all, from there, not from within Call.
	Call(path []string, args []byte, done func(result []byte, err error))
}

// ErrNoRPC is returned for an RPC call to an object whose guest does not
// take RPC calls.
var ErrNoRPC = errors.New("Durable Object does not support RPC")

// Object is what the Host knows about one live Durable Object.
type Object struct {
	ID      ID
	Name    string // name it was addressed by, "" if unknown (unique or parsed ids)
	Class   string
	Storage *storage.DB

	host     *Host
	durable  commit.Log        // the Host's, for guests that bring none
	sockets  *sockets.Registry // the Host's, for Go objects' WebSockets
	path     string            // of the storage file
	log      *slog.Logger
	scratch  *storage.Scratch
	activity activity
	inst     Instance
	gate     *Gate // set by NewGate; Host.Inspect runs on it

	storageOpts storage.Options // opens Storage again (ReopenStorage)
}

// ReopenStorage replaces a storage handle that broke (a critical SQLite
// error or a failed sync) with a fresh one on the same file: what was
// durable is kept, the rest is gone. The guest calls it when it resets the
// object.
func (o *Object) ReopenStorage() {
	if err := o.Storage.Close(); err != nil {
		o.log.Error("close broken storage", "class", o.Class, "id", o.ID.String(), "error", err)
	}
	o.Storage = storage.Open(o.path, o.storageOpts)
}

// Host keeps the live Durable Objects of one Worker: it activates an object
// on its first event, guarantees a single instance per id, and owns each
// object's storage handle.
type Host struct {
	catalog *Catalog
	log     *slog.Logger
	scratch *storage.Scratch // answers reads of objects that have no file yet

	mu       sync.Mutex
	classes  map[string]Class
	live     map[key]*Object
	evicting map[key]chan struct{} // closed when the object's eviction is decided
	closed   bool
	sweeping bool
	stop     chan struct{} // ends the eviction sweeper
	pressure chan struct{} // wakes the sweeper when over maxLive
	maxLive  int
	alarms   *alarmScheduler // nil until EnableAlarms

	hibernateIdle time.Duration
	obs           Observer // see SetObserver; nil: none

	durable commit.Log    // see SetCommitLog
	ownLog  *commit.Local // the log the Host made, if it made one; Close closes it

	histories *commit.Histories // see SetHistories; nil: objects keep no history

	sockets    *sockets.Registry // WebSockets of Go objects (see SetSockets)
	ownSockets *sockets.Registry // the registry the Host made, if it made one; Close closes it

	// calls holds, per object being evicted, the RPC calls that arrived
	// meanwhile, in order; the eviction's end delivers them.
	calls map[key][]pendingCall

	// ready, while not nil, holds back activations until the previous Host
	// of the same state closes (see WaitFor); early holds the RPC calls
	// that arrived meanwhile, in order.
	ready <-chan struct{}
	early []earlyCall
}

// pendingCall is an RPC call waiting for an object's eviction to end.
type pendingCall struct {
	name string
	path []string
	args []byte
	done func([]byte, error)
}

type key struct {
	class string
	id    ID
}

// NewHost returns a Host whose class secrets and storage locations come
// from catalog.
func NewHost(catalog *Catalog, log *slog.Logger) *Host {
	if log == nil {
		log = slog.Default()
	}
	return &Host{catalog: catalog, log: log, scratch: storage.NewScratch(), classes: make(map[string]Class), live: make(map[key]*Object), evicting: make(map[key]chan struct{}), calls: make(map[key][]pendingCall)}
}

// SetCommitLog makes l the log that makes the objects' commits durable,
// for guests that do not bring their own (GateConfig.Commit). Without it
// the Host makes a commit.Local on first use and closes it in Close.
func (h *Host) SetCommitLog(l commit.Log) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.durable = l
}

// commitLogLocked returns the Host's commit log. h.mu is held.
func (h *Host) commitLogLocked() commit.Log {
	if h.durable == nil {
		h.ownLog = commit.NewLocal(0)
		h.durable = h.ownLog
	}
	return h.durable
}

// Register makes class name served by c.
func (h *Host) Register(name string, c Class) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.classes[name] = c
}

// Namespace returns the namespace of a class, for minting and parsing ids.
func (h *Host) Namespace(class string) (*Namespace, error) {
	ns, _, err := h.catalog.Class(class)
	return ns, err
}

// Fetch delivers an HTTP request to the object id of class, activating it
// if needed. name is the name the id was derived from, if known.
func (h *Host) Fetch(ctx context.Context, class string, id ID, name string, req *http.Request) (*http.Response, error) {
	for {
		o, err := h.activate(class, id, name)
		if err != nil {
			return nil, err
		}
		resp, err := o.inst.Fetch(ctx, req)
		if errors.Is(err, ErrEvicted) {
			continue // it was evicted after we found it: activate anew
		}
		return resp, err
	}
}

// Call delivers an RPC call to the object id of class, activating it if
// needed; done gets the result. It never blocks (it may be called from an
// object's thread, even one an eviction waits for), and calls made in a row
// are delivered in that order: a call that arrives while the object is
// being evicted waits, with those behind it, for the eviction's end.
func (h *Host) Call(class string, id ID, name string, path []string, args []byte, done func([]byte, error)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := key{class, id}
	if h.ready != nil && !h.closed {
		h.early = append(h.early, earlyCall{k, pendingCall{name, path, args, done}})
		return
	}
	if _, ok := h.evicting[k]; ok {
		h.calls[k] = append(h.calls[k], pendingCall{name, path, args, done})
		return
	}
	h.callLocked(k, pendingCall{name, path, args, done})
}

// callLocked hands c to the live instance of k, activating it if needed.
// The instance queues it on its thread; being queued while h.mu is held
// puts it ahead of any eviction of that instance, which the sweeper asks
// for only after taking h.mu. h.mu is held.
func (h *Host) callLocked(k key, c pendingCall) {
	o, err := h.activateLocked(k.class, k.id, c.name)
	if err != nil {
		c.done(nil, err)
		return
	}
	caller, ok := o.inst.(Caller)
	if !ok {
		c.done(nil, ErrNoRPC)
		return
	}
	caller.Call(c.path, c.args, func(result []byte, err error) {
		if errors.Is(err, ErrEvicted) {
			// An instance that took the call after its eviction (a guest
			// that queues off its thread): deliver it to the new one.
			h.Call(k.class, k.id, c.name, c.path, c.args, c.done)
			return
		}
		c.done(result, err)
	})
}

// activate returns the live object for id, creating its instance on first
// use. It waits for an eviction of the object in progress: it must not be
// called on an object's thread.
func (h *Host) activate(class string, id ID, name string) (*Object, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := key{class, id}
	for ready := h.ready; ready != nil && !h.closed; ready = h.ready {
		h.mu.Unlock()
		<-ready
		h.mu.Lock()
		if h.ready == ready {
			break // closed: WaitFor's goroutine is about to clear it
		}
	}
	for !h.closed {
		done, ok := h.evicting[k]
		if !ok {
			break
		}
		// Wait until its eviction is decided: one instance per id, and one
		// open storage handle.
		h.mu.Unlock()
		<-done
		h.mu.Lock()
	}
	return h.activateLocked(class, id, name)
}

// activateLocked is activate for an object not being evicted. h.mu is held.
func (h *Host) activateLocked(class string, id ID, name string) (*Object, error) {
	if h.closed {
		return nil, ErrClosed
	}
	k := key{class, id}
	if o, ok := h.live[k]; ok {
		if o.Name == "" && name != "" {
			o.Name = name
		}
		o.activity.touch()
		return o, nil
	}
	c, ok := h.classes[class]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoClass, class)
	}
	_, dir, err := h.catalog.Class(class)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, id.String()+".sqlite")
	sopts := h.storageOptionsLocked(class, id)
	o := &Object{
		ID:      id,
		Name:    name,
		Class:   class,
		Storage: storage.Open(path, sopts),
		host:    h,
		durable: h.commitLogLocked(),
		sockets: h.socketRegistryLocked(),
		path:    path,
		log:     h.log,
		scratch: h.scratch,

		storageOpts: sopts,
	}
	inst, err := c.NewInstance(o)
	if err != nil {
		o.Storage.Close()
		return nil, fmt.Errorf("activate %s %s: %w", class, id, err)
	}
	o.inst = inst
	o.activity.touch()
	h.live[k] = o
	h.overLimit()
	if h.obs != nil {
		h.obs.Activated(class)
	}
	return o, nil
}

// Close closes every live instance and its storage. Later events fail with
// ErrClosed.
func (h *Host) Close() error {
	h.mu.Lock()
	live := h.live
	h.live = make(map[key]*Object)
	h.closed = true
	if h.sweeping {
		close(h.stop)
		h.sweeping = false
	}
	alarms := h.alarms
	h.alarms = nil
	calls := h.calls
	h.calls = make(map[key][]pendingCall)
	for _, c := range h.early {
		calls[c.k] = append(calls[c.k], c.c)
	}
	h.early = nil
	ownLog, ownSockets := h.ownLog, h.ownSockets
	h.mu.Unlock()
	if ownSockets != nil {
		defer ownSockets.CloseAll()
	}
	for _, cs := range calls {
		for _, c := range cs {
			c.done(nil, ErrClosed)
		}
	}
	var errs []error
	if alarms != nil {
		errs = append(errs, alarms.close())
	}
	for _, o := range live {
		o.inst.Close()
		if err := o.Storage.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s %s: %w", o.Class, o.ID, err))
		}
	}
	errs = append(errs, h.scratch.Close())
	if ownLog != nil {
		errs = append(errs, ownLog.Close())
	}
	return errors.Join(errs...)
}

// Instance returns the live instance of the object id of class, activating
// it if needed (e.g. after it was evicted while its hibernatable WebSockets
// stayed open). name is the name the id was derived from, if known. The
// guest delivers events to it directly, and asks again if the instance it
// got was evicted meanwhile.
func (h *Host) Instance(class string, id ID, name string) (Instance, error) {
	o, err := h.activate(class, id, name)
	if err != nil {
		return nil, err
	}
	return o.inst, nil
}
