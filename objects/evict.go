package objects

import (
	"errors"
	"hash/maphash"
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
	seed := maphash.MakeSeed()
	go func() {
		tick := time.NewTicker(max(idle/4, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case now := <-tick.C:
				h.sweep(now, func(o *Object) time.Duration {
					return idle + time.Duration(maphash.Bytes(seed, o.ID[:])%uint64(idle))
				})
			}
		}
	}()
}

// sweep evicts the objects idle longer than their limit.
func (h *Host) sweep(now time.Time, limit func(*Object) time.Duration) {
	type candidate struct {
		k    key
		o    *Object
		done chan struct{}
	}
	var cands []candidate
	h.mu.Lock()
	for k, o := range h.live {
		if _, ok := o.inst.(Evicter); ok && o.activity.idleFor(now) > limit(o) {
			c := candidate{k, o, make(chan struct{})}
			delete(h.live, k)
			h.evicting[k] = c.done
			cands = append(cands, c)
		}
	}
	h.mu.Unlock()
	for _, c := range cands {
		evicted := c.o.inst.(Evicter).Evict()
		if evicted {
			if err := c.o.Storage.Close(); err != nil {
				h.log.Error("close evicted object", "class", c.o.Class, "id", c.o.ID.String(), "error", err)
			}
		}
		h.mu.Lock()
		if !evicted {
			if h.closed { // Close did not see it: close it here
				c.o.inst.Close()
				c.o.Storage.Close()
			} else {
				h.live[c.k] = c.o
			}
		}
		delete(h.evicting, c.k)
		h.mu.Unlock()
		close(c.done)
	}
}
