package sockets

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Hand-off: hibernatable sockets outlive the code that accepted them. On a
// deploy (a new App in the same process) Registry.Detach stops reading them
// at a message boundary and Registry.Adopt gives them to the next
// Registry, the same connections with their tags, attachments and the
// object's auto-response; on an upgrade of the process, Moving.Export turns
// them into file descriptors and a state message, and Import makes them
// again in the next process. The client sees nothing: no close, no lost or
// repeated byte (frameConn keeps what it received and did not deliver).

// Moving is a set of hibernatable sockets taken out of one Registry
// (Detach, or Import in a new process) on their way into another (Adopt).
type Moving struct {
	conns   []*Conn
	objects map[objKey]objectSettings
}

// objectSettings is what an object's record holds besides its sockets.
type objectSettings struct {
	name         string
	autoSet      bool
	autoReq      string
	autoRes      string
	eventTimeout time.Duration
}

// Len returns how many sockets m holds.
func (m *Moving) Len() int {
	if m == nil {
		return 0
	}
	return len(m.conns)
}

// Close closes m's sockets with 1012 (service restart): for sockets that
// found no new home.
func (m *Moving) Close() {
	if m == nil {
		return
	}
	var wg sync.WaitGroup
	for _, c := range m.conns {
		wg.Go(func() { c.Shutdown(CodeServiceRestart, "Service restart") })
	}
	wg.Wait()
	m.conns = nil
}

// Detach stops reading r's hibernatable sockets and takes them out of r:
// each read loop stops between two frames (what it received and did not
// deliver stays with the socket), the messages already delivered are
// handled (their done called), and the socket leaves r, so that CloseAll
// and the end of r's context leave it open. Sends still go out meanwhile.
// A socket that does not stop before ctx ends is closed with 1012. Call
// Adopt (or Export) next; the caller closes what it does not adopt.
func (r *Registry) Detach(ctx context.Context) *Moving {
	r.mu.Lock()
	var list []*Conn
	for c := range r.all {
		c.mu.Lock()
		_, framed := c.conn.(*frameConn)
		if c.hibernatable && framed && c.reading && !c.left && c.obj != nil {
			list = append(list, c)
			delete(r.all, c)
		}
		c.mu.Unlock()
	}
	r.mu.Unlock()
	for _, c := range list {
		c.interruptRead()
	}
	m := &Moving{objects: make(map[objKey]objectSettings)}
	for _, c := range list {
		c.mu.Lock()
		stopped, credits := c.stopped, c.credits
		c.mu.Unlock()
		select {
		case <-stopped:
		case <-ctx.Done():
			r.log.Warn("a hibernatable WebSocket did not stop for the hand-off; closing it", "error", ctx.Err())
			go c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		c.mu.Lock()
		interrupted := c.interrupted
		c.mu.Unlock()
		if !interrupted {
			continue // it closed meanwhile and reported it
		}
		// Every credit back: the messages delivered were handled.
		drained := true
		for range cap(credits) {
			select {
			case credits <- struct{}{}:
			case <-ctx.Done():
				drained = false
			}
			if !drained {
				break
			}
		}
		if !drained {
			r.log.Warn("a hibernatable WebSocket's messages were not handled before the hand-off; closing it")
			go c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		m.conns = append(m.conns, c)
	}
	slices.SortFunc(m.conns, func(a, b *Conn) int { return cmp.Compare(a.seq, b.seq) })
	for _, c := range m.conns {
		o := c.Object()
		o.mu.Lock()
		delete(o.sockets, c)
		if _, ok := m.objects[o.key]; !ok {
			m.objects[o.key] = objectSettings{name: o.name, autoSet: o.autoSet, autoReq: o.autoReq, autoRes: o.autoRes, eventTimeout: o.eventTimeout}
		}
		o.mu.Unlock()
		r.dropIfEmpty(o)
	}
	return m
}

// Adopt makes m's sockets r's: each joins its object's record in r (the
// object's auto-response and event timeout come along unless r's record
// has its own), gets the Handler handler makes for it, and is read again.
// A socket for which handler returns nil (its class is gone) is closed
// with 1012. Adopt returns how many sockets it adopted; m is empty after.
func (r *Registry) Adopt(m *Moving, handler func(c *Conn) Handler) int {
	if m == nil {
		return 0
	}
	for k, s := range m.objects {
		o := r.Object(k.class, k.id)
		o.mu.Lock()
		if o.name == "" {
			o.name = s.name
		}
		if !o.autoSet && s.autoSet {
			o.autoSet, o.autoReq, o.autoRes = true, s.autoReq, s.autoRes
		}
		if o.eventTimeout == 0 {
			o.eventTimeout = s.eventTimeout
		}
		o.mu.Unlock()
	}
	adopted := 0
	for _, c := range m.conns {
		c.mu.Lock()
		k := c.obj.key
		c.mu.Unlock()
		o := r.Object(k.class, k.id)
		o.mu.Lock()
		c.mu.Lock()
		c.reg, c.obj, c.left = r, o, false
		c.seq = r.seq.Add(1)
		c.credits = make(chan struct{}, readAhead)
		o.sockets[c] = struct{}{}
		c.mu.Unlock()
		o.mu.Unlock()
		h := handler(c)
		if h == nil || !r.add(c) {
			o.mu.Lock()
			delete(o.sockets, c)
			o.mu.Unlock()
			r.dropIfEmpty(o)
			c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		c.mu.Lock()
		c.h = h
		c.frozen = false
		c.startWriter() // what was queued before an Export
		fc := c.conn.(*frameConn)
		c.mu.Unlock()
		fc.limit = r.maxMessage // no read loop runs: the next one reads it
		fc.parkAfter = r.parkAfter
		fc.resume()
		c.Start()
		adopted++
	}
	m.conns = nil
	return adopted
}

// ObjectName returns the name of the object c belongs to, if it is known
// (Object.SetName), for a consumer that adopts c.
func (c *Conn) ObjectName() string {
	o := c.Object()
	if o == nil {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.name
}

// ObjectKey returns the class and id of the object that accepted c, ok
// false if none did.
func (c *Conn) ObjectKey() (class string, id [32]byte, ok bool) {
	o := c.Object()
	if o == nil {
		return "", [32]byte{}, false
	}
	return o.key.class, o.key.id, true
}

// SetName records the object's name (ctx.id.name), for the consumer that
// adopts its sockets after a hand-off.
func (o *Object) SetName(name string) {
	if name == "" {
		return
	}
	o.mu.Lock()
	o.name = name
	o.mu.Unlock()
}

// handoffState is the state message of an Export: everything about each
// socket but its file descriptor, which travels beside it in the same
// order.
type handoffState struct {
	Version int           `json:"version"`
	Objects []objectState `json:"objects"`
	Sockets []socketState `json:"sockets"`
}

type objectState struct {
	Class          string `json:"class"`
	ID             []byte `json:"id"`
	Name           string `json:"name,omitempty"`
	AutoSet        bool   `json:"autoSet,omitempty"`
	AutoRequest    string `json:"autoRequest,omitempty"`
	AutoResponse   string `json:"autoResponse,omitempty"`
	EventTimeoutMS int64  `json:"eventTimeoutMs,omitempty"`
}

type socketState struct {
	Class      string       `json:"class"`
	ID         []byte       `json:"id"`
	Tags       []string     `json:"tags,omitempty"`
	Attachment []byte       `json:"attachment,omitempty"`
	AutoAtMS   int64        `json:"autoAtMs,omitempty"`
	Protocol   string       `json:"protocol,omitempty"`
	Unread     []byte       `json:"unread,omitempty"` // received, not parsed
	PartOp     byte         `json:"partOp,omitempty"` // a fragmented message being read
	Part       []byte       `json:"part,omitempty"`   // its payload so far
	Out        []frameState `json:"out,omitempty"`    // queued, not sent
}

type frameState struct {
	Text   bool   `json:"text,omitempty"`
	Data   []byte `json:"data,omitempty"`
	Close  bool   `json:"close,omitempty"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

const handoffVersion = 1

// ErrNotExportable is reported for a socket whose connection cannot be
// passed to another process (not a TCP or Unix socket: TLS, an in-process
// pipe): it is closed with 1012 instead.
var ErrNotExportable = errors.New("sockets: connection cannot be passed to another process")

// Export turns m's sockets into a state message and one file per socket,
// in the same order, for Import in another process. It waits (until ctx
// ends) for each socket's queued frames to be written; frames still queued
// then travel in the state. Sockets that cannot be exported are closed
// with 1012. The caller sends the files and closes them; m's connections
// in this process are closed (without a Close frame: the files keep them
// open).
func (m *Moving) Export(ctx context.Context) (state []byte, files []*os.File, err error) {
	st := handoffState{Version: handoffVersion}
	if m == nil {
		m = &Moving{}
	}
	for k, s := range m.objects {
		st.Objects = append(st.Objects, objectState{Class: k.class, ID: k.id[:], Name: s.name, AutoSet: s.autoSet,
			AutoRequest: s.autoReq, AutoResponse: s.autoRes, EventTimeoutMS: s.eventTimeout.Milliseconds()})
	}
	for _, c := range m.conns {
		fc := c.conn.(*frameConn)
		fcFile, ok := fc.nc.(interface{ File() (*os.File, error) })
		if !ok {
			c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		c.mu.Lock()
		c.frozen = true
		c.mu.Unlock()
		for {
			c.mu.Lock()
			writing := c.writing
			c.mu.Unlock()
			if !writing || ctx.Err() != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		c.mu.Lock()
		writing, finished := c.writing, c.finished && len(c.out) == 0
		c.mu.Unlock()
		if writing || finished {
			c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		// No writer runs and none can start: the stream is at a frame
		// boundary both ways.
		f, ferr := fcFile.File()
		if ferr != nil {
			c.Shutdown(CodeServiceRestart, "Service restart")
			continue
		}
		c.mu.Lock()
		s := socketState{Class: c.obj.key.class, ID: slices.Clone(c.obj.key.id[:]), Tags: c.tags, Attachment: c.attachment,
			Protocol: c.protocol, Unread: fc.buf, PartOp: fc.partOp, Part: fc.part}
		if !c.autoAt.IsZero() {
			s.AutoAtMS = c.autoAt.UnixMilli()
		}
		for _, fr := range c.out {
			s.Out = append(s.Out, frameState{Text: fr.typ == websocket.MessageText, Data: fr.data, Close: fr.close, Code: int(fr.code), Reason: fr.reason})
		}
		c.mu.Unlock()
		st.Sockets = append(st.Sockets, s)
		files = append(files, f)
		_ = fc.nc.Close() // f keeps the connection open
	}
	m.conns = nil
	state, err = json.Marshal(st)
	if err != nil {
		for _, f := range files {
			f.Close()
		}
		return nil, nil, fmt.Errorf("sockets: export: %w", err)
	}
	return state, files, nil
}

// Import makes the sockets of an Export again from its state message and
// files (taken over: Import closes them once it made their connections),
// for Registry.Adopt. A nil file stands for a socket whose descriptor did
// not survive the way (a store of descriptors that dropped it): it is left
// out. maxMessage bounds received messages as Options.MaxMessage does (0:
// DefaultMaxMessage).
func Import(state []byte, files []*os.File, maxMessage int64) (*Moving, error) {
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	var st handoffState
	if err := json.Unmarshal(state, &st); err != nil {
		return nil, fmt.Errorf("sockets: import: %w", err)
	}
	if st.Version != handoffVersion {
		return nil, fmt.Errorf("sockets: import: hand-off version %d, want %d", st.Version, handoffVersion)
	}
	if len(st.Sockets) != len(files) {
		return nil, fmt.Errorf("sockets: import: %d sockets but %d files", len(st.Sockets), len(files))
	}
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessage
	}
	m := &Moving{objects: make(map[objKey]objectSettings)}
	for _, o := range st.Objects {
		k, err := keyOf(o.Class, o.ID)
		if err != nil {
			return nil, err
		}
		m.objects[k] = objectSettings{name: o.Name, autoSet: o.AutoSet, autoReq: o.AutoRequest, autoRes: o.AutoResponse,
			eventTimeout: time.Duration(o.EventTimeoutMS) * time.Millisecond}
	}
	for i, s := range st.Sockets {
		k, err := keyOf(s.Class, s.ID)
		if err != nil {
			m.Close()
			return nil, err
		}
		if files[i] == nil {
			continue
		}
		nc, err := net.FileConn(files[i])
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("sockets: import: %w", err)
		}
		fc := newFrameConn(nc, maxMessage)
		fc.buf, fc.partOp, fc.part = s.Unread, s.PartOp, s.Part
		c := &Conn{conn: fc, hibernatable: true, tags: s.Tags, attachment: s.Attachment, protocol: s.Protocol, frozen: true,
			obj: &Object{key: k}}
		fc.beforeClose = c.unparkToClose
		if s.AutoAtMS != 0 {
			c.autoAt = time.UnixMilli(s.AutoAtMS)
		}
		for _, fr := range s.Out {
			typ := websocket.MessageBinary
			if fr.Text {
				typ = websocket.MessageText
			}
			c.out = append(c.out, frame{typ: typ, data: fr.Data, close: fr.Close, code: websocket.StatusCode(fr.Code), reason: fr.Reason})
			c.outBytes += len(fr.Data)
			c.finished = c.finished || fr.Close
		}
		m.conns = append(m.conns, c)
	}
	return m, nil
}

// keyOf checks an object key read from a hand-off.
func keyOf(class string, id []byte) (objKey, error) {
	if len(id) != 32 {
		return objKey{}, fmt.Errorf("sockets: import: object id of %d bytes, want 32", len(id))
	}
	return objKey{class: class, id: [32]byte(id)}, nil
}
