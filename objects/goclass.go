package objects

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/sockets"
	"github.com/cairn-dev/cairn/storage"
)

// Durable Objects written in Go. A Go class is registered next to the
// Worker's JS classes (Host.Register(name, NewGoClass(…))); JS stubs and Go
// code reach its objects alike, and its objects get the same storage and
// the same gates as JS ones.
//
// Each live Go object has a thread of its own: a goroutine, started when
// the object has work and gone when it has none, that runs its events one
// at a time. An event is one turn: it runs to completion, its writes commit
// together when it returns, and its response (or RPC result) leaves once
// they are durable. Another event of the object never runs in the middle
// of one, so a Go handler never needs blockConcurrencyWhile; in exchange,
// an event that waits (for another object, for the network) holds its
// object meanwhile, and an object must not wait for itself.

// NewGoClass returns a Class whose objects are written in Go. construct is
// the constructor: it runs on the object's first event (and again after a
// reset or an eviction), on the object's thread, with the object's State.
// What it returns serves the object's events through the handler
// interfaces it implements: http.Handler (fetch), RPCHandler, AlarmHandler.
// An error or a panic from construct fails the event that triggered it.
func NewGoClass(construct func(state *State) (any, error)) Class {
	return &goClass{construct: construct}
}

// RPCHandler is a Go object that takes JS RPC calls: `await
// stub.method(a, b)` from JS (or Host.Call from Go) calls RPC with the
// method name and the arguments decoded by package clone (numbers as
// float64, objects as map[string]any, arrays as []any, …). The result is
// encoded the same way; an error rejects the caller's promise with an
// Error of the same message.
type RPCHandler interface {
	RPC(ctx context.Context, method string, args []any) (any, error)
}

// AlarmHandler is a Go object with an alarm handler: it runs when the
// alarm set with Storage.SetAlarm is due. An error retries it, as a
// throwing alarm() does in JS.
type AlarmHandler interface {
	Alarm(ctx context.Context, info AlarmInfo) error
}

// AlarmInfo describes an alarm event: how often it failed before.
type AlarmInfo struct {
	RetryCount int
	IsRetry    bool
}

// ThrownError is an error raised by an object's code, passed to its caller
// with the name of the JS error to raise there ("Error", "TypeError", …).
type ThrownError struct{ Name, Message string }

func (e *ThrownError) Error() string { return e.Name + ": " + e.Message }

// State is what a Go object knows of itself: its id, the name it was
// addressed by, and its storage. It is the Go counterpart of a JS object's
// ctx, and is usable only on the object's thread, during its events.
type State struct {
	ID      ID
	Name    string // "" if the object was addressed by a unique or parsed id
	Storage *Storage

	gate *Gate
	gen  int
}

// Abort resets the object when the current event ends, as ctx.abort() does:
// the writes of the event are rolled back and its caller gets the error.
func (s *State) Abort(reason string) {
	if s.gate.Generation() == s.gen {
		s.gate.Break(errors.New(reason))
	}
}

// goClass is a Class made by NewGoClass.
type goClass struct {
	construct func(*State) (any, error)
}

func (c *goClass) NewInstance(o *Object) (Instance, error) {
	i := &goInstance{class: c, obj: o}
	i.gate = NewGate(o, GateConfig{Guest: i})
	return i, nil
}

// goInstance is one live Go object: the Guest of its gate.
type goInstance struct {
	class *goClass
	obj   *Object
	gate  *Gate

	mu      sync.Mutex // guards the task queue
	queue   []func()
	running bool // a goroutine runs the queue
	stopped bool
	runner  sync.WaitGroup // the goroutine that runs the queue, for Close

	// On the object's thread.
	user  any    // what construct returned; nil until constructed
	state *State // the State construct got
	used  bool   // the gate was used in the running task
}

// Post queues fn on the object's thread (Guest).
func (i *goInstance) Post(fn func()) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.stopped {
		return false
	}
	i.queue = append(i.queue, fn)
	if !i.running {
		i.running = true
		i.runner.Add(1)
		go i.run()
	}
	return true
}

// run is the object's thread while it has tasks: each task is a turn.
func (i *goInstance) run() {
	defer i.runner.Done()
	for {
		i.mu.Lock()
		if len(i.queue) == 0 {
			i.running = false
			i.mu.Unlock()
			return
		}
		fn := i.queue[0]
		i.queue[0] = nil
		i.queue = i.queue[1:]
		i.mu.Unlock()
		fn()
		if i.used {
			i.used = false
			i.gate.EndTurn()
		}
	}
}

// Used ends the gate's turn with the running task (Guest).
func (i *goInstance) Used(*Gate) { i.used = true }

// Construct runs the class's constructor (Guest).
func (i *goInstance) Construct() error {
	state := &State{ID: i.obj.ID, Name: i.obj.Name, gate: i.gate, gen: i.gate.Generation()}
	state.Storage = &Storage{state: state}
	var user any
	err := protect(func() (err error) {
		user, err = i.class.construct(state)
		return err
	})
	if err != nil {
		return err
	}
	i.user, i.state = user, state
	return nil
}

// Reset drops the Go object (Guest).
func (i *goInstance) Reset(error) { i.user, i.state = nil, nil }

// protect runs fn, turning a panic into an error: a Go object's bug fails
// its event, not the process.
func protect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in Durable Object: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// thrown gives an error from a Go object the shape callers rethrow.
func thrown(err error) error {
	var t *ThrownError
	var r *ResetError
	if errors.As(err, &t) || errors.As(err, &r) {
		return err
	}
	return &ThrownError{Name: "Error", Message: err.Error()}
}

// event delivers one event to the object: run gets the event and reports
// its outcome with finish, which releases it through the output gate.
// fail gets the error if the event cannot run or the object is reset.
func (i *goInstance) event(run func(ev *Event), fail func(error)) {
	ok := i.Post(func() {
		if err := i.gate.Deliver(run, fail); err != nil {
			fail(err)
		}
	})
	if !ok {
		fail(ErrClosed)
	}
}

// Fetch delivers an HTTP request to the object's ServeHTTP (Instance).
func (i *goInstance) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	i.event(func(ev *Event) {
		rec := newRecorder()
		err := protect(func() error {
			h, ok := i.user.(http.Handler)
			if !ok {
				return errors.New("Handler does not export a fetch() function.")
			}
			h.ServeHTTP(rec, req.WithContext(ctx))
			return nil
		})
		if !ev.Done() {
			return
		}
		if err != nil {
			i.obj.log.Error("Durable Object failed", "class", i.obj.Class, "id", i.obj.ID.String(), "error", err)
		}
		i.gate.Hold(false, func(gateErr error) {
			if gateErr != nil {
				err = gateErr
			}
			if err != nil {
				if rec.upgrade != nil {
					rec.upgrade.Fail() // no client will get this socket
				}
				ch <- result{nil, err}
				return
			}
			ch <- result{rec.response(), nil}
		})
	}, func(err error) { ch <- result{nil, err} })
	select {
	case r := <-ch:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Call takes an RPC call (Caller): path is one method name, args the
// structured-clone encoding of the arguments array.
func (i *goInstance) Call(path []string, args []byte, done func([]byte, error)) {
	i.event(func(ev *Event) {
		var out []byte
		err := protect(func() error {
			h, ok := i.user.(RPCHandler)
			if !ok || len(path) != 1 || args == nil {
				name := ""
				if len(path) > 0 {
					name = path[len(path)-1]
				}
				return &ThrownError{Name: "TypeError", Message: fmt.Sprintf("The RPC receiver does not implement the method %q.", name)}
			}
			v, err := clone.Unmarshal(args)
			if err != nil {
				return fmt.Errorf("decode RPC arguments: %w", err)
			}
			list, _ := v.([]any)
			result, err := h.RPC(context.Background(), path[0], list)
			if err != nil {
				return thrown(err)
			}
			out, err = clone.Marshal(result)
			return err
		})
		if !ev.Done() {
			return
		}
		i.gate.Hold(false, func(gateErr error) {
			if gateErr != nil {
				out, err = nil, gateErr
			}
			done(out, err)
		})
	}, func(err error) { done(nil, err) })
}

// Alarm runs an alarm event (AlarmTaker).
func (i *goInstance) Alarm(scheduled int64, retryCount int, done func(AlarmResult)) {
	i.event(func(ev *Event) {
		var handler func(func(error))
		if h, ok := i.user.(AlarmHandler); ok {
			handler = func(finish func(error)) {
				finish(protect(func() error {
					return h.Alarm(context.Background(), AlarmInfo{RetryCount: retryCount, IsRetry: retryCount > 0})
				}))
			}
		}
		i.gate.RunAlarm(scheduled, handler, func(r AlarmResult) {
			if ev.Done() {
				done(r)
			}
		})
	}, func(err error) {
		if errors.Is(err, ErrEvicted) || errors.Is(err, ErrClosed) {
			done(AlarmResult{Err: err})
			return
		}
		done(AlarmResult{Failed: true}) // a reset: retry
	})
}

// Evict drops the object if it is idle (Evicter).
func (i *goInstance) Evict() bool {
	ch := make(chan bool, 1)
	if !i.Post(func() {
		evicted := i.gate.Evict()
		if evicted {
			i.user, i.state = nil, nil
		}
		ch <- evicted
	}) {
		return true // closed: nothing is left of it
	}
	return <-ch
}

// Close stops the object's thread: tasks not started are dropped, and it
// returns once the running one has finished (the Host closes the storage
// next).
func (i *goInstance) Close() {
	i.mu.Lock()
	i.stopped = true
	i.queue = nil
	i.mu.Unlock()
	i.runner.Wait()
}

// recorder is the http.ResponseWriter a Go object's ServeHTTP writes to;
// the response leaves once the event's writes are durable.
type recorder struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	upgrade *sockets.Conn // a socket accepted by the object (State.AcceptWebSocket)
}

func newRecorder() *recorder { return &recorder{header: make(http.Header)} }

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

func (r *recorder) response() *http.Response {
	if r.upgrade != nil {
		return &http.Response{
			StatusCode: http.StatusSwitchingProtocols,
			Status:     "101 Switching Protocols",
			Header:     r.header,
			Body:       &sockets.Upgrade{Conn: r.upgrade},
		}
	}
	r.WriteHeader(http.StatusOK)
	return &http.Response{
		StatusCode:    r.status,
		Status:        strconv.Itoa(r.status) + " " + http.StatusText(r.status),
		Header:        r.header,
		Body:          io.NopCloser(bytes.NewReader(r.body.Bytes())),
		ContentLength: int64(r.body.Len()),
	}
}

// Storage is a Go object's storage: the SQL API and the KV API of a
// Durable Object (values in the structured-clone encoding, so JS and Go
// read each other's), and its alarm. Writes join the current event's
// turn: they commit together when the event returns, and what the event
// answers leaves once they are durable. Use it on the object's thread.
type Storage struct{ state *State }

// db returns the object's database, or ErrReset for an old instance.
func (s *Storage) db() (*storage.DB, error) {
	g := s.state.gate
	if g.Generation() != s.state.gen {
		return nil, ErrReset
	}
	return g.obj.Storage, nil
}

// use returns the database, marking it used by the turn (see Gate.Use).
func (s *Storage) use(write bool) (*storage.DB, error) {
	db, err := s.db()
	if err == nil {
		s.state.gate.Use(write)
	}
	return db, err
}

// Exec runs one SQL statement, as ctx.storage.sql.exec does; read the rows
// from the cursor before the next call.
func (s *Storage) Exec(query string, args ...any) (*storage.Cursor, error) {
	db, err := s.use(true)
	if err != nil {
		return nil, err
	}
	return db.Exec(query, args...)
}

// Get returns the value stored under key (KV API).
func (s *Storage) Get(key string) (v any, ok bool, err error) {
	db, err := s.use(false)
	if err != nil {
		return nil, false, err
	}
	b, ok, err := db.Get(key)
	if err != nil || !ok {
		return nil, false, err
	}
	v, err = clone.Unmarshal(b)
	return v, err == nil, err
}

// Put stores v under key (KV API); v is encoded by clone.Marshal.
func (s *Storage) Put(key string, v any) error {
	b, err := clone.Marshal(v)
	if err != nil {
		return err
	}
	db, err := s.use(true)
	if err != nil {
		return err
	}
	return db.Put(key, b)
}

// Delete deletes key and reports whether it existed (KV API).
func (s *Storage) Delete(key string) (bool, error) {
	db, err := s.use(true)
	if err != nil {
		return false, err
	}
	return db.Delete(key)
}

// KV is one entry listed by Storage.List.
type KV struct {
	Key   string
	Value any
}

// List returns the entries opts selects, in key order (KV API).
func (s *Storage) List(opts storage.ListOptions) ([]KV, error) {
	db, err := s.use(false)
	if err != nil {
		return nil, err
	}
	raw, err := db.List(opts)
	if err != nil {
		return nil, err
	}
	out := make([]KV, len(raw))
	for k, e := range raw {
		v, err := clone.Unmarshal(e.Value)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", e.Key, err)
		}
		out[k] = KV{e.Key, v}
	}
	return out, nil
}

// DeleteAll deletes the object's whole storage, SQL tables included.
func (s *Storage) DeleteAll() error {
	db, err := s.use(true)
	if err != nil {
		return err
	}
	return db.DeleteAll()
}

// Transaction runs fn in a transaction: if fn returns an error (or
// panics), its writes are rolled back and the error returned.
func (s *Storage) Transaction(fn func() error) error {
	db, err := s.use(true)
	if err != nil {
		return err
	}
	if err := db.Savepoint(); err != nil {
		return err
	}
	if err := protect(fn); err != nil {
		if rerr := db.RollbackSavepoint(); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return db.ReleaseSavepoint()
}

// Alarm returns when the object's alarm is set for, if it is.
func (s *Storage) Alarm() (time.Time, bool, error) {
	if _, err := s.use(false); err != nil {
		return time.Time{}, false, err
	}
	ms, ok, err := s.state.gate.Alarm()
	if err != nil || !ok {
		return time.Time{}, false, err
	}
	return time.UnixMilli(ms), true, nil
}

// SetAlarm sets the object's alarm: its AlarmHandler runs at t.
func (s *Storage) SetAlarm(t time.Time) error {
	if _, err := s.db(); err != nil {
		return err
	}
	return s.state.gate.SetAlarm(t.UnixMilli(), true)
}

// DeleteAlarm deletes the object's alarm.
func (s *Storage) DeleteAlarm() error {
	if _, err := s.db(); err != nil {
		return err
	}
	return s.state.gate.DeleteAlarm(true)
}

// Invoke calls method on the object id of class from Go, as `await
// stub.method(args…)` does from JS: args and the result go through package
// clone, so the object may be written in JS or in Go. name is the name the
// id was derived from, if known. An error thrown by the object's code is a
// *ThrownError (Go objects) or carries the JS error's text.
func (h *Host) Invoke(ctx context.Context, class string, id ID, name, method string, args ...any) (any, error) {
	if args == nil {
		args = []any{}
	}
	payload, err := clone.Marshal(args)
	if err != nil {
		return nil, fmt.Errorf("encode arguments of %s: %w", method, err)
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	h.Call(class, id, name, []string{method}, payload, func(b []byte, err error) { ch <- result{b, err} })
	select {
	case r := <-ch:
		if r.err != nil {
			return nil, r.err
		}
		return clone.Unmarshal(r.b)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
