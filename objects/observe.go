package objects

import (
	"time"
)

// Observer is told what a Host does, for metrics (package metrics
// implements it). Its methods are called on the Host's goroutines and must
// not block.
type Observer interface {
	// Activated reports an object brought into memory (constructed on its
	// next event).
	Activated(class string)
	// Evicted reports an object evicted from memory; hibernated says it
	// kept hibernatable WebSockets open.
	Evicted(class string, hibernated bool)
	// AlarmFired reports an alarm handed to its object, lag after the time
	// it was due.
	AlarmFired(class string, lag time.Duration)
}

// SetObserver makes o see the Host's activations, evictions and alarms
// from now on.
func (h *Host) SetObserver(o Observer) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.obs = o
}

// observer returns the Host's Observer, nil if none.
func (h *Host) observer() Observer {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.obs
}

// Counts says how many objects are in memory (live), and how many are not
// but keep hibernatable WebSockets open (hibernated), for metrics.
func (h *Host) Counts() (live, hibernated int) {
	h.mu.Lock()
	reg := h.sockets
	live = len(h.live)
	h.mu.Unlock()
	if reg == nil {
		return live, 0
	}
	held := reg.HibernatableObjects()
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, o := range held {
		if _, ok := h.live[key{o.Class, ID(o.ID)}]; !ok {
			hibernated++
		}
	}
	return live, hibernated
}
