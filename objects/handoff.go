package objects

// earlyCall is an RPC call that arrived before the Host was ready.
type earlyCall struct {
	k key
	c pendingCall
}

// WaitFor holds back every activation of an object until ready is closed:
// events and RPC calls wait, in order, and none fails. A new version of a
// Worker gets a new Host over the same state while the previous Host still
// finishes its events; the previous Host's objects hold their databases
// (exclusively), and one object must never run in two Hosts at once. So
// the server closes ready once the previous Host closed, and objects move
// to the new code at their next activation.
func (h *Host) WaitFor(ready <-chan struct{}) {
	h.mu.Lock()
	h.ready = ready
	h.mu.Unlock()
	go func() {
		<-ready
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.ready != ready {
			return // a later WaitFor replaced it
		}
		h.ready = nil
		early := h.early
		h.early = nil
		if h.closed {
			return // Close failed the calls
		}
		for _, e := range early {
			if _, ok := h.evicting[e.k]; ok {
				h.calls[e.k] = append(h.calls[e.k], e.c)
				continue
			}
			h.callLocked(e.k, e.c)
		}
	}()
}
