package objects

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// testLoop is one thread shared by many objects, as a JS runtime's event
// loop is: tasks run one at a time, in order.
type testLoop struct{ tasks chan func() }

func newTestLoop(t *testing.T) *testLoop {
	l := &testLoop{tasks: make(chan func(), 1024)}
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case fn := <-l.tasks:
				fn()
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop) })
	return l
}

// loopClass puts all its objects on one loop. Its instances record the RPC
// calls they serve and can be evicted; onEvict, if set, runs (off the
// loop) when the Host asks an instance to evict, before it does.
type loopClass struct {
	loop    *testLoop
	onEvict func()

	mu    sync.Mutex
	calls []string // the path of every call served, in order
}

func (c *loopClass) NewInstance(o *Object) (Instance, error) {
	return &loopInstance{c: c}, nil
}

type loopInstance struct {
	c       *loopClass
	evicted bool // loop only
}

func (i *loopInstance) Fetch(context.Context, *http.Request) (*http.Response, error) {
	return nil, errors.New("no fetch")
}

func (i *loopInstance) Close() {}

func (i *loopInstance) Call(path []string, args []byte, done func([]byte, error)) {
	i.c.loop.tasks <- func() {
		if i.evicted {
			done(nil, ErrEvicted)
			return
		}
		i.c.mu.Lock()
		i.c.calls = append(i.c.calls, path[0])
		i.c.mu.Unlock()
		done([]byte(path[0]), nil)
	}
}

func (i *loopInstance) Evict() bool {
	if i.c.onEvict != nil {
		i.c.onEvict()
	}
	ch := make(chan bool)
	i.c.loop.tasks <- func() { i.evicted = true; ch <- true }
	return <-ch
}

func loopHost(t *testing.T, c *loopClass) (*Host, *Namespace) {
	t.Helper()
	catalog, err := OpenCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, nil)
	t.Cleanup(func() { h.Close() })
	h.Register("Loop", c)
	ns, err := h.Namespace("Loop")
	if err != nil {
		t.Fatal(err)
	}
	return h, ns
}

// evictNow runs one sweep that evicts the object id, as the idle sweeper
// would.
func (h *Host) evictNow(class string, id ID) {
	h.sweep(func(live map[key]*Object) []key {
		if _, ok := live[key{class, id}]; !ok {
			return nil
		}
		return []key{{class, id}}
	})
}

// A call made on an object's thread to an object of the same thread that
// is being evicted must not wait for the eviction (which needs that
// thread): before the fix, Host.Call blocked the loop for good.
func TestCallDuringEvictionDoesNotBlockTheLoop(t *testing.T) {
	asked := make(chan struct{}, 1)
	c := &loopClass{onEvict: func() { asked <- struct{}{} }}
	c.loop = newTestLoop(t)
	h, ns := loopHost(t, c)
	b := ns.IDFromName("b")

	warm := make(chan error, 1)
	h.Call("Loop", b, "b", []string{"warm"}, nil, func(_ []byte, err error) { warm <- err })
	if err := <-warm; err != nil {
		t.Fatal(err)
	}

	got := make(chan error, 1)
	// On the loop: wait until the eviction of b is under way, then call b.
	c.loop.tasks <- func() {
		<-asked
		h.Call("Loop", b, "b", []string{"during"}, nil, func(_ []byte, err error) { got <- err })
	}
	go h.evictNow("Loop", b)

	select {
	case err := <-got:
		if err != nil {
			t.Fatalf("call during eviction: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("call made on the loop during an eviction never completed: the loop is deadlocked")
	}
}

// Calls made in a row reach the object in that order, across evictions of
// the object in between (spec 9: calls are delivered in issue order).
func TestCallsStayInOrderAcrossEvictions(t *testing.T) {
	c := &loopClass{}
	c.loop = newTestLoop(t)
	h, ns := loopHost(t, c)
	id := ns.IDFromName("ordered")

	const n = 2000
	var evicting sync.WaitGroup
	var stop atomic.Bool
	evicting.Add(1)
	go func() { // evict the object again and again while calls go out
		defer evicting.Done()
		for !stop.Load() {
			h.evictNow("Loop", id)
		}
	}()
	var wg sync.WaitGroup
	var failed atomic.Int32
	for k := range n {
		wg.Add(1)
		h.Call("Loop", id, "ordered", []string{string(rune('a' + k%26))}, nil, func(_ []byte, err error) {
			if err != nil {
				failed.Add(1)
			}
			wg.Done()
		})
		if k%7 == 0 {
			time.Sleep(10 * time.Microsecond)
		}
	}
	wg.Wait()
	stop.Store(true)
	evicting.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d calls failed", f)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.calls) != n {
		t.Fatalf("served %d calls, want %d", len(c.calls), n)
	}
	for k, p := range c.calls {
		if want := string(rune('a' + k%26)); p != want {
			t.Fatalf("call %d served as %q, want %q: calls reordered", k, p, want)
		}
	}
}
