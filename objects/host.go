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
	// in the order Call is called.
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

	path     string // of the storage file
	log      *slog.Logger
	scratch  *storage.Scratch
	activity activity
	inst     Instance
}

// ReopenStorage replaces a storage handle that broke (a critical SQLite
// error or a failed sync) with a fresh one on the same file: what was
// durable is kept, the rest is gone. The guest calls it when it resets the
// object.
func (o *Object) ReopenStorage() {
	if err := o.Storage.Close(); err != nil {
		o.log.Error("close broken storage", "class", o.Class, "id", o.ID.String(), "error", err)
	}
	o.Storage = storage.Open(o.path, storage.Options{Logger: o.log, Scratch: o.scratch})
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
	return &Host{catalog: catalog, log: log, scratch: storage.NewScratch(), classes: make(map[string]Class), live: make(map[key]*Object), evicting: make(map[key]chan struct{})}
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
// needed; done gets the result. It does not block: calls made in a row are
// delivered in that order.
func (h *Host) Call(class string, id ID, name string, path []string, args []byte, done func([]byte, error)) {
	o, err := h.activate(class, id, name)
	if err != nil {
		done(nil, err)
		return
	}
	c, ok := o.inst.(Caller)
	if !ok {
		done(nil, ErrNoRPC)
		return
	}
	c.Call(path, args, func(result []byte, err error) {
		if errors.Is(err, ErrEvicted) {
			go h.Call(class, id, name, path, args, done) // activate anew (off the instance's loop)
			return
		}
		done(result, err)
	})
}

// activate returns the live object for id, creating its instance on first use.
func (h *Host) activate(class string, id ID, name string) (*Object, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k := key{class, id}
	for {
		if h.closed {
			return nil, ErrClosed
		}
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
	o := &Object{
		ID:      id,
		Name:    name,
		Class:   class,
		Storage: storage.Open(path, storage.Options{Logger: h.log, Scratch: h.scratch}),
		path:    path,
		log:     h.log,
		scratch: h.scratch,
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
	h.mu.Unlock()
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
