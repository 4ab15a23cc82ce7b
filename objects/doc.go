// Package objects owns Durable Objects: their identity, their lifecycle and
// the semantics that make them durable. It does not know the JS engine: the
// JS runtime (package jsrt) is one guest of it, and Go code is another.
//
// # The model
//
// A few types carry it:
//
//   - Namespace: one per class; mints and parses ids (64 hex digits,
//     HMAC-bound to the namespace, so an id of one class is refused by
//     another). Names map to ids deterministically (IDFromName).
//   - Host: the live objects of one Worker. It activates an object on its
//     first event (Fetch, Call, an alarm), guarantees at most one live
//     instance per id, evicts idle ones (EvictIdle, HibernateIdle,
//     LimitLive) and runs their alarms (EnableAlarms). Classes are
//     registered by name (Register); the Catalog says where their storage
//     lives and holds the namespace secrets.
//   - Class and Instance: what a guest implements. Class.NewInstance is
//     called on activation with the Object (id, name, storage); the
//     Instance takes the events. Optional interfaces add RPC (Caller),
//     alarms (AlarmTaker), eviction (Evicter) and hibernation (Hibernator).
//   - Gate: the turns of one live object. Every guest drives one per
//     instance; it is where the input gate, the output gate, write
//     coalescing and reset-on-failure live, so they are the same for every
//     guest. See its doc for the rules.
//
// # Threads and turns
//
// Each live object has a thread: the goroutine its events run on, one task
// at a time (for JS, the event loop of the runtime the object is pinned to;
// for Go, a goroutine of the object's own). A task is a turn. The guest
// hands the Gate its events (Gate.Deliver), tells it when storage is used
// (Gate.Use), holds what must not leave before the writes are durable
// (Gate.Hold), and ends the turn (Gate.EndTurn): the turn's writes commit
// as one SQLite transaction, the commit goes to the commit log (package
// commit: group commit with fsync), and what was held is released once the
// log reports the commit durable. Meanwhile the object serves its next
// events: durability waits block output, not the object.
//
// The Host never blocks an object's thread: Call queues, and an event that
// arrives while its object is being evicted waits in the Host, in order,
// not on the thread the eviction needs.
//
// # Failures
//
// A commit that fails, a sync that fails, a blockConcurrencyWhile that
// throws or times out (ErrBlockTimeout) and an abort reset the object:
// events in flight and held output fail with a *ResetError, the
// uncommitted writes are rolled back, broken storage is reopened, and the
// next event constructs the object again. What was acknowledged is durable
// and stays; what was not acknowledged may be lost, and nobody was told it
// was written. A crash is the same reset, for every object at once.
//
// # Durable Objects in Go
//
// NewGoClass makes a Class from a constructor. The constructor gets a
// *State (id, name, Storage) and returns a value whose methods serve the
// events: ServeHTTP (http.Handler) for fetch, RPCHandler for JS RPC (and
// Host.Invoke from Go), AlarmHandler for alarms, WebSocketHandler for the
// WebSockets it accepts with State.AcceptWebSocket (hibernatable: they
// stay open while the object is evicted). A Go object's event runs to
// completion as one turn, so it needs no blockConcurrencyWhile; its
// Storage has the SQL API, the KV API (values in the structured-clone
// encoding of package clone, shared with JS) and the alarm. Register the
// class with Host.Register (or server.Options.Classes) and bind it in the
// wrangler config like a JS class: JS stubs reach it unchanged. See
// examples/go-counter.
package objects
