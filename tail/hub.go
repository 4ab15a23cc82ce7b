package tail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Protocol is the WebSocket subprotocol of a tail, as on Cloudflare.
const Protocol = "trace-v1"

// Sentinel errors of the Hub.
var (
	// ErrNoTail: no tail has the id (never created, deleted or expired).
	ErrNoTail = errors.New("no such tail")
	// ErrTooManyTails: the Hub holds MaxTails tails already.
	ErrTooManyTails = errors.New("too many tails")
	// ErrTailInUse: a client is connected to the tail already.
	ErrTailInUse = errors.New("a client is connected to this tail already")
)

// Limits of a Hub.
const (
	// MaxTails bounds the tails that exist at once (connected or not).
	MaxTails = 64
	// QueueLen is how many finished items wait for a slow client before
	// more are dropped.
	QueueLen = 512
	// TTL is how long a tail lives (Cloudflare's tails expire too).
	TTL = 6 * time.Hour
	// writeTimeout bounds one write to a client.
	writeTimeout = 10 * time.Second
)

// Hub holds the tails of one server and hands them the items of finished
// events. The zero Hub is not usable; make one with NewHub.
type Hub struct {
	log       *slog.Logger
	connected atomic.Int32 // tails with a client: Tracing's fast path

	mu     sync.Mutex
	tails  map[string]*Session
	closed bool
}

// NewHub returns an empty Hub; log gets its notices (nil: slog.Default).
func NewHub(log *slog.Logger) *Hub {
	if log == nil {
		log = slog.Default()
	}
	return &Hub{log: log, tails: make(map[string]*Session)}
}

// Session is one tail: the script it follows, its filters and, once a
// client connects, the queue of items waiting to be sent to it.
type Session struct {
	ID        string
	Script    string
	ExpiresAt time.Time

	hub      *Hub
	filters  atomic.Pointer[[]Filter]
	queue    chan []byte
	dropped  atomic.Int64
	attached atomic.Bool
	cancel   context.CancelFunc // ends the connection; nil until one
}

// Tracing reports whether any tail has a client: when not, events gather
// nothing. It is one atomic load.
func (h *Hub) Tracing() bool { return h != nil && h.connected.Load() > 0 }

// Start begins the item of an event of script: it returns nil (gather
// nothing) unless a tail is connected. it's EventTimestamp is set if zero.
func (h *Hub) Start(it Item) *Trace {
	if !h.Tracing() {
		return nil
	}
	return NewTrace(it, h.publish)
}

// Create makes a tail of script with filters; a client connects to it with
// Serve before ExpiresAt.
func (h *Hub) Create(script string, filters []Filter) (*Session, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("tail id: %w", err)
	}
	s := &Session{ID: hex.EncodeToString(b[:]), Script: script, ExpiresAt: time.Now().Add(TTL), hub: h, queue: make(chan []byte, QueueLen)}
	s.filters.Store(&filters)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("%w: the server is shutting down", ErrNoTail)
	}
	now := time.Now()
	for id, t := range h.tails {
		if now.After(t.ExpiresAt) {
			h.dropLocked(id, t)
		}
	}
	if len(h.tails) >= MaxTails {
		return nil, fmt.Errorf("%w (at most %d at once)", ErrTooManyTails, MaxTails)
	}
	h.tails[s.ID] = s
	return s, nil
}

// Delete removes the tail id, disconnecting its client.
func (h *Hub) Delete(id string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.tails[id]
	if !ok {
		return ErrNoTail
	}
	h.dropLocked(id, s)
	return nil
}

// dropLocked forgets the tail and ends its connection. h.mu is held.
func (h *Hub) dropLocked(id string, s *Session) {
	delete(h.tails, id)
	if s.cancel != nil {
		s.cancel()
	}
}

// Close disconnects every tail (1001, going away) and refuses new ones.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for id, s := range h.tails {
		h.dropLocked(id, s)
	}
}

// Len returns the number of tails and of those with a client.
func (h *Hub) Len() (tails, connected int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.tails), int(h.connected.Load())
}

// publish queues it for every connected tail whose script and filters it
// matches. It never blocks: a tail whose queue is full loses the item, and
// counts it.
func (h *Hub) publish(it *Item) {
	h.mu.Lock()
	var targets []*Session
	for _, s := range h.tails {
		if s.attached.Load() && s.Script == it.ScriptName {
			targets = append(targets, s)
		}
	}
	h.mu.Unlock()
	var data []byte
	for _, s := range targets {
		if !Match(*s.filters.Load(), it) {
			continue
		}
		if data == nil {
			var err error
			if data, err = json.Marshal(it); err != nil {
				h.log.Error("tail: encode trace item", "error", err)
				return
			}
		}
		select {
		case s.queue <- data:
		default:
			s.dropped.Add(1)
		}
	}
}

// Serve connects the WebSocket client of r to the tail id and sends it
// items until the client goes away, the tail is deleted or the Hub
// closes. The client may send a filter message to replace the tail's
// filters. The id is the tail's credential (it is unguessable and only the
// caller who created the tail learns it), so Serve needs no token.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, id string) error {
	h.mu.Lock()
	s, ok := h.tails[id]
	if ok && time.Now().After(s.ExpiresAt) {
		h.dropLocked(id, s)
		ok = false
	}
	if !ok {
		h.mu.Unlock()
		return ErrNoTail
	}
	if s.cancel != nil {
		h.mu.Unlock()
		return ErrTailInUse
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	h.mu.Unlock()
	defer cancel()

	// maskingWriter: wrangler's first message is unmasked (unmasked.go).
	conn, err := websocket.Accept(maskingWriter{w}, r, &websocket.AcceptOptions{Subprotocols: []string{Protocol}})
	if err != nil {
		h.detach(s)
		return fmt.Errorf("tail %s: %w", id, err)
	}
	defer conn.CloseNow()
	s.attached.Store(true)
	h.connected.Add(1)
	defer func() {
		s.attached.Store(false)
		h.connected.Add(-1)
		h.detach(s)
	}()

	self := r.RemoteAddr
	if host, _, err := net.SplitHostPort(self); err == nil {
		self = host
	}
	// The reader has a context of its own: cancelling ctx must leave the
	// connection open for the close handshake below.
	readCtx, stopRead := context.WithCancel(context.Background())
	defer stopRead()
	go func() { // reads filter messages; pings and closes are handled by the library
		defer cancel()
		for {
			_, data, err := conn.Read(readCtx)
			if err != nil {
				return
			}
			var m map[string]json.RawMessage
			if json.Unmarshal(data, &m) != nil || m["filters"] == nil {
				continue // {"debug": …} or anything else: nothing to change
			}
			if fs, err := ParseFilters(data, self); err == nil {
				s.filters.Store(&fs)
			}
		}
	}()

	var reported int64
	for {
		select {
		case <-ctx.Done():
			h.mu.Lock()
			closed := h.closed
			h.mu.Unlock()
			if closed {
				conn.Close(websocket.StatusGoingAway, "server shutting down")
			} else {
				conn.Close(websocket.StatusNormalClosure, "tail ended")
			}
			return nil
		case data := <-s.queue:
			// Not ctx: a write cut short by a Delete would drop the
			// connection without the close handshake below.
			if err := write(context.Background(), conn, data); err != nil {
				return nil
			}
		}
		if n := s.dropped.Load(); n > reported && len(s.queue) == 0 {
			// The client kept up again: say what it missed.
			msg := fmt.Sprintf("cairn: %d events were dropped because this tail client reads slower than the Worker logs; add filters or a sampling rate", n-reported)
			reported = n
			h.log.Warn("tail client too slow, events dropped", "tail", s.ID, "dropped", n)
			notice, _ := json.Marshal(&Item{Outcome: OutcomeOK, ScriptName: s.Script, EventTimestamp: time.Now().UnixMilli(),
				Event: &Event{Type: "overload", Message: msg}, Logs: []Log{}, Exceptions: []Exception{}, DiagnosticsEvents: []Diagnostic{}})
			if err := write(context.Background(), conn, notice); err != nil {
				return nil
			}
		}
	}
}

func write(ctx context.Context, conn *websocket.Conn, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, data)
}

// detach forgets the tail once its client has gone: a tail serves one
// connection (wrangler makes a new tail to reconnect).
func (h *Hub) detach(s *Session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tails[s.ID] == s {
		delete(h.tails, s.ID)
	}
}

// Dropped returns how many items the tail lost to a full queue.
func (s *Session) Dropped() int64 { return s.dropped.Load() }

// Has reports whether a tail with id exists (a server holding several
// Workers finds which one serves a tail's WebSocket).
func (h *Hub) Has(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.tails[id]
	return ok
}
