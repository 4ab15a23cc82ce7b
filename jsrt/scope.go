package jsrt

import "sync/atomic"

// requestScope is what the code of one incoming request (or Durable Object
// event) opened that ends with it: the bodies of its outbound fetch
// responses. Once the request has been answered and the promises it passed
// to ctx.waitUntil have settled, the bodies it never read to the end are
// closed, which gives their connections back (on Cloudflare, a request's
// I/O ends with it too). Without this an unread body held its connection
// until the Worker closed. Loop goroutine only, but for the two flags: the
// response completes on the server's goroutine, which queues a task to end
// the scope only if it has bodies (a request that fetched nothing costs no
// task).
type requestScope struct {
	bodies    []*bodySource
	pending   int         // waitUntil promises not settled yet
	answered  atomic.Bool // the response is complete (or failed)
	hasBodies atomic.Bool
}

// addBody notes a fetch response's body the request may leave unread.
func (s *requestScope) addBody(src *bodySource) {
	if s != nil && src != nil {
		s.bodies = append(s.bodies, src)
		s.hasBodies.Store(true)
		if s.answered.Load() {
			s.end()
		}
	}
}

// wait keeps the scope open until settled is called (ctx.waitUntil).
func (s *requestScope) wait() {
	if s != nil {
		s.pending++
	}
}

// settled notes that a promise passed to waitUntil has settled.
func (s *requestScope) settled() {
	if s != nil {
		s.pending--
		s.end()
	}
}

// answer notes, on the loop, that the request's response is complete.
func (s *requestScope) answer() {
	s.answered.Store(true)
	s.end()
}

// answerOff notes it from another goroutine; end is queued on the loop
// only if there may be bodies to close (addBody sees answered otherwise).
func (s *requestScope) answerOff(submit func(func()) bool) {
	s.answered.Store(true)
	if s.hasBodies.Load() {
		submit(s.end)
	}
}

// end closes the unread bodies once nothing of the request can read them.
func (s *requestScope) end() {
	if !s.answered.Load() || s.pending > 0 {
		return
	}
	for _, src := range s.bodies {
		if !src.taken && !src.eof {
			src.eof = true
			go src.r.Close() // may wait for a read in flight; not on the loop
		}
	}
	s.bodies = nil
}
