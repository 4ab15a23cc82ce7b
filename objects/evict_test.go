package objects

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// evictableClass makes instances that serialize their events like a guest
// loop does and can be evicted; it checks that no two instances of one id
// are ever alive at once.
type evictableClass struct {
	mu      sync.Mutex
	alive   map[ID]int
	twice   atomic.Bool
	made    atomic.Int32
	evicted atomic.Int32
}

func (c *evictableClass) NewInstance(o *Object) (Instance, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.alive[o.ID]++
	if c.alive[o.ID] > 1 {
		c.twice.Store(true)
	}
	c.made.Add(1)
	return &evictableInstance{c: c, o: o}, nil
}

type evictableInstance struct {
	c       *evictableClass
	o       *Object
	mu      sync.Mutex // the "loop"
	evicted bool
	busy    int
}

func (i *evictableInstance) Fetch(ctx context.Context, req *http.Request) (*http.Response, error) {
	i.mu.Lock()
	if i.evicted {
		i.mu.Unlock()
		return nil, ErrEvicted
	}
	i.busy++
	i.mu.Unlock()
	time.Sleep(time.Duration(len(req.URL.Path)) * 10 * time.Microsecond)
	i.mu.Lock()
	i.busy--
	i.mu.Unlock()
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("ok"))}, nil
}

func (i *evictableInstance) Evict() bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.busy > 0 {
		return false
	}
	i.evicted = true
	i.c.mu.Lock()
	i.c.alive[i.o.ID]--
	i.c.mu.Unlock()
	i.c.evicted.Add(1)
	return true
}

func (i *evictableInstance) Close() {}

// Eviction racing with events: every event is served, and an id never has
// two instances alive at once.
func TestEvictionRacingEvents(t *testing.T) {
	catalog, err := OpenCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, nil)
	cls := &evictableClass{alive: make(map[ID]int)}
	h.Register("Room", cls)
	ns, _ := h.Namespace("Room")
	h.EvictIdle(time.Microsecond) // sweep constantly
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(5 * time.Second)
			for n := 0; n < 200 || (cls.evicted.Load() < 5 && time.Now().Before(deadline)); n++ {
				if n%20 == 0 {
					time.Sleep(time.Millisecond) // let the objects go idle now and then
				}
				id := ns.IDFromName([]string{"a", "b", "c"}[(g+n)%3])
				resp, err := h.Fetch(context.Background(), "Room", id, "", httptest.NewRequest("GET", "http://x/"+strings.Repeat("x", n%5), nil))
				if err != nil || resp.StatusCode != 200 {
					t.Errorf("fetch: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if cls.twice.Load() {
		t.Fatal("two instances of one id were alive at once")
	}
	if cls.evicted.Load() == 0 {
		t.Fatal("nothing was evicted: the test did not exercise eviction")
	}
	t.Logf("%d instances made, %d evicted", cls.made.Load(), cls.evicted.Load())
}
