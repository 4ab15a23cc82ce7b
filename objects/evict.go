package objects

import (
	"errors"
	"hash/maphash"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrEvicted is returned by an Instance for an event that reached it after
// it was evicted; the Host then delivers the event to a new instance.
var ErrEvicted = errors.New("Durable Object instance was evicted")

// Evicter is an Instance that can be evicted when idle.
type Evicter interface {
	// Evict drops the instance if it has nothing in progress (no events
	// running or queued, no writes waiting to become durable, nothing that
	// must keep it in memory) and reports whether it did. Events that reach
	// an evicted instance fail with ErrEvicted.
	Evict() bool
}

// Hibernator is an Instance that can tell it is hibernatable: all it keeps
// is hibernatable WebSockets, so it may be evicted after the shorter
// hibernation idle time (Host.HibernateIdle) while its sockets stay open.
type Hibernator interface {
	Hibernatable() bool
}

// HibernateIdle sets how long a hibernatable object (see Hibernator) may go
// without events before it is evicted; Cloudflare hibernates after about
// 10 s. 0 means it waits like any other object.
func (h *Host) HibernateIdle(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hibernateIdle = d
}

// activity is when an object last got an event, for idle eviction.
type activity struct{ last atomic.Int64 }

func (a *activity) touch()                              { a.last.Store(time.Now().UnixNano()) }
func (a *activity) idleSince() time.Time                { return time.Unix(0, a.last.Load()) }
func (a *activity) idleFor(now time.Time) time.Duration { return now.Sub(a.idleSince()) }

// EvictIdle makes the Host evict objects that had no event for a while:
// between idle and 2×idle, spread by id, as Cloudflare evicts after 70–140 s
// (idle 70 s). An evicted object costs no memory and no open file; its next
// event constructs it again from its storage. It runs until Close.
func (h *Host) EvictIdle(idle time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.sweeping || h.closed || idle <= 0 {
		return
	}
	h.sweeping = true
	h.stop = make(chan struct{})
	h.pressure = make(chan struct{}, 1)
	seed := maphash.MakeSeed()
	limit := func(o *Object) time.Duration {
		return idle + time.Duration(maphash.Bytes(seed, o.ID[:])%uint64(idle))
	}
	go func() {
		h.mu.Lock()
		period := idle / 4
		if h.hibernateIdle > 0 {
			period = min(period, h.hibernateIdle/4)
		}
		h.mu.Unlock()
		tick := time.NewTicker(max(period, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case now := <-tick.C:
				h.sweep(func(live map[key]*Object) []key {
					var ks []key
					for k, o := range live {
						lim := limit(o)
						if hb, ok := o.inst.(Hibernator); ok && h.hibernateIdle > 0 && hb.Hibernatable() {
							lim = h.hibernateIdle
						}
						if o.activity.idleFor(now) > lim {
							ks = append(ks, k)
						}
					}
					return ks
				})
			case <-h.pressure:
				h.sweep(h.leastRecentlyUsed)
			}
		}
	}()
}

// LimitLive caps the objects in memory: beyond max, the least recently
// used are evicted early (each live object holds open files; the process
// has a limit). 0 means no cap. It takes effect with EvictIdle.
func (h *Host) LimitLive(max int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.maxLive = max
}

// overLimit wakes the sweeper when there are more live objects than the
// cap. h.mu is held.
func (h *Host) overLimit() {
	if h.maxLive > 0 && len(h.live) > h.maxLive && h.pressure != nil {
		select {
		case h.pressure <- struct{}{}:
		default:
		}
	}
}

// leastRecentlyUsed picks the objects to evict to get back to 90 % of the
// cap. h.mu is held.
func (h *Host) leastRecentlyUsed(live map[key]*Object) []key {
	excess := len(live) - h.maxLive*9/10
	if h.maxLive <= 0 || excess <= 0 {
		return nil
	}
	ks := make([]key, 0, len(live))
	for k := range live {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b key) int {
		return int(live[a].activity.last.Load() - live[b].activity.last.Load())
	})
	return ks[:excess]
}

// sweep evicts the objects pick chooses (it runs with h.mu held); those
// busy stay.
func (h *Host) sweep(pick func(live map[key]*Object) []key) {
	type candidate struct {
		k    key
		o    *Object
		done chan struct{}
	}
	var cands []candidate
	h.mu.Lock()
	for _, k := range pick(h.live) {
		o := h.live[k]
		if _, ok := o.inst.(Evicter); ok {
			c := candidate{k, o, make(chan struct{})}
			delete(h.live, k)
			h.evicting[k] = c.done
			cands = append(cands, c)
		}
	}
	h.mu.Unlock()
	// Ask every candidate at once: each answers from its own loop.
	var wg sync.WaitGroup
	for _, c := range cands {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.finishEviction(c.k, c.o, c.done, c.o.inst.(Evicter).Evict())
		}()
	}
	wg.Wait()
}

// finishEviction closes an evicted object's storage, or puts a busy one
// back, and lets events waiting for it go on.
func (h *Host) finishEviction(k key, o *Object, done chan struct{}, evicted bool) {
	if evicted {
		if err := o.Storage.Close(); err != nil {
			h.log.Error("close evicted object", "class", o.Class, "id", o.ID.String(), "error", err)
		}
		if obs := h.observer(); obs != nil {
			hib := 0
			if reg := o.sockets; reg != nil {
				hib, _ = reg.Counts(o.Class, o.ID)
			}
			obs.Evicted(o.Class, hib > 0)
		}
	}
	h.mu.Lock()
	if !evicted {
		if h.closed { // Close did not see it: close it here
			o.inst.Close()
			o.Storage.Close()
		} else {
			h.live[k] = o
		}
	}
	delete(h.evicting, k)
	// Calls that arrived meanwhile go out now, in order, before any later
	// call can take h.mu.
	calls := h.calls[k]
	delete(h.calls, k)
	for _, c := range calls {
		h.callLocked(k, c)
	}
	h.mu.Unlock()
	close(done)
}

// Live returns the number of objects in memory.
func (h *Host) Live() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}
