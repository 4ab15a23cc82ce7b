package objects

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/cairn-dev/cairn/storage"
)

// ErrNotInspectable is returned by Host.Inspect for an object whose guest
// made no Gate (every guest of this module makes one).
var ErrNotInspectable = errors.New("the Durable Object cannot be inspected: its guest has no gate")

// Inspect runs fn with the storage of the object id of class, on the
// object's thread, as an event of its own: after the events queued before
// it, never inside a blockConcurrencyWhile section or transaction, and
// never beside another writer of the file (one writer per object). It is
// for tools that look inside objects (cairn's data studio).
//
// The object's code does not run: an object that was not live is
// activated without being constructed, and evicted again afterwards if it
// is idle, so inspecting an object does not keep it in memory. fn's writes,
// if any, commit when the event ends, and Inspect returns once they are
// durable (fn is a turn like any other; write says it may write, which
// holds the output gate). If fn fails after writing, its writes are rolled
// back: an inspection applies whole or not at all.
//
// If ctx ends first Inspect returns ctx.Err(); fn may still run.
func (h *Host) Inspect(ctx context.Context, class string, id ID, write bool, fn func(db *storage.DB) error) error {
	k := key{class, id}
	for {
		h.mu.Lock()
		_, wasLive := h.live[k]
		h.mu.Unlock()
		o, err := h.activate(class, id, "")
		if err != nil {
			return err
		}
		g := o.gate
		if g == nil {
			return ErrNotInspectable
		}
		ch := make(chan error, 1)
		if !g.guest.Post(func() { g.inspect(write, fn, func(err error) { ch <- err }) }) {
			return ErrClosed
		}
		select {
		case err = <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		if errors.Is(err, ErrEvicted) {
			continue // evicted before the event was admitted: activate anew
		}
		if !wasLive {
			h.sweep(func(live map[key]*Object) []key {
				if live[k] == o {
					return []key{k}
				}
				return nil
			})
		}
		return err
	}
}

// inspect admits the Host's inspection event (see Host.Inspect) through
// the input gate, without constructing the object, and calls done once
// with its outcome, after its writes are durable. It runs on the object's
// thread.
func (g *Gate) inspect(write bool, fn func(*storage.DB) error, done func(error)) {
	if g.evicted {
		done(ErrEvicted)
		return
	}
	ev := &Event{g: g, fail: done}
	g.inflight[ev] = struct{}{}
	run := func() {
		db := g.obj.Storage
		g.Use(write) // the turn ends with this task: it commits, or closes the read
		err := protectInspect(func() error { return fn(db) })
		if err != nil && db.InTx() && !db.InSavepoint() {
			if rerr := db.Rollback(); rerr != nil {
				err = errors.Join(err, fmt.Errorf("roll back: %w", rerr))
			}
		}
		if !ev.Done() {
			return // a reset failed it meanwhile
		}
		g.Hold(false, func(herr error) {
			if herr != nil {
				err = herr
			}
			done(err)
		})
	}
	q := queuedEvent{inspect: true, run: run, fail: func(err error) {
		if ev.Done() {
			done(err)
		}
	}}
	if g.blocked > 0 || len(g.queued) > 0 {
		g.queued = append(g.queued, q)
		return
	}
	g.deliverNow(q)
}

// protectInspect runs fn, turning a panic into an error.
func protectInspect(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while inspecting a Durable Object: %v\n%s", r, debug.Stack())
		}
	}()
	return fn()
}

// PendingAlarm is an alarm the Host will run: when, and the name the
// object was addressed by when it was set ("" if unknown).
type PendingAlarm struct {
	At   time.Time
	Name string
}

// PendingAlarms returns the pending alarms of class's objects, from the
// Host's index (nil before EnableAlarms). An entry may be stale: an alarm
// the object has since deleted stays until it would have fired.
func (h *Host) PendingAlarms(class string) map[ID]PendingAlarm {
	h.mu.Lock()
	s := h.alarms
	h.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[ID]PendingAlarm)
	for k, e := range s.pending {
		if k.class == class {
			out[k.id] = PendingAlarm{At: time.UnixMilli(e.sched), Name: e.name}
		}
	}
	return out
}

// Object describes one object of class as Objects would, without listing
// the others: its files' size and last write (zero without storage),
// whether it is live, and its name if the Host knows it.
func (h *Host) Object(class string, id ID) (ObjectInfo, error) {
	h.mu.Lock()
	_, known := h.classes[class]
	o, live := h.live[key{class, id}]
	info := ObjectInfo{ID: id.String(), Live: live}
	if live {
		info.Name = o.Name
	}
	h.mu.Unlock()
	if !known {
		return ObjectInfo{}, fmt.Errorf("%w: %s", ErrNoClass, class)
	}
	_, dir, err := h.catalog.Class(class)
	if err != nil {
		return ObjectInfo{}, err
	}
	for _, suffix := range []string{".sqlite", ".sqlite-wal"} {
		st, err := os.Stat(filepath.Join(dir, id.String()+suffix))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return ObjectInfo{}, err
		}
		info.Size += st.Size()
		if st.ModTime().After(info.Modified) {
			info.Modified = st.ModTime()
		}
	}
	return info, nil
}

// Classes returns the names of the classes the Host serves.
func (h *Host) Classes() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]string, 0, len(h.classes))
	for name := range h.classes {
		out = append(out, name)
	}
	return out
}
