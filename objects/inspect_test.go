package objects

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/cairn-dev/cairn/internal/gatesim"
	"github.com/cairn-dev/cairn/storage"
)

// Host.Inspect runs on the object's thread without constructing it; an
// object that was not live is evicted again; its writes are durable and
// seen by the object's next event (one writer).
func TestInspect(t *testing.T) {
	var constructed atomic.Int32
	h, ns := goHost(t, nil, "Counter", func(s *State) (any, error) {
		constructed.Add(1)
		return &goCounter{s}, nil
	})
	h.EvictIdle(-1)
	ctx := context.Background()
	id := ns.IDFromName("a")

	// Not live: activated without constructing, evicted after.
	var tables []storage.Table
	err := h.Inspect(ctx, "Counter", id, false, func(db *storage.DB) error {
		var err error
		tables, err = db.Tables()
		return err
	})
	if err != nil || len(tables) != 0 || constructed.Load() != 0 || h.Live() != 0 {
		t.Fatalf("inspect: %v, tables %v, constructed %d, live %d", err, tables, constructed.Load(), h.Live())
	}

	// Live: the same instance serves both.
	if got, err := h.Invoke(ctx, "Counter", id, "a", "add", 2); err != nil || got != 2.0 {
		t.Fatalf("add = %v, %v", got, err)
	}
	err = h.Inspect(ctx, "Counter", id, true, func(db *storage.DB) error {
		_, err := db.Inspect("CREATE TABLE notes (x); INSERT INTO notes VALUES (1)", nil, false, 0)
		return err
	})
	if err != nil || constructed.Load() != 1 || h.Live() != 1 {
		t.Fatalf("write: %v, constructed %d, live %d", err, constructed.Load(), h.Live())
	}
	// A failed call rolls back its writes.
	err = h.Inspect(ctx, "Counter", id, true, func(db *storage.DB) error {
		if _, err := db.Inspect("INSERT INTO notes VALUES (2)", nil, false, 0); err != nil {
			return err
		}
		_, err := db.Inspect("SELECT * FROM nosuch", nil, false, 0)
		return err
	})
	if err == nil {
		t.Fatal("failing inspection: no error")
	}
	// A read-only refusal, and a panic, are errors, not crashes.
	err = h.Inspect(ctx, "Counter", id, false, func(db *storage.DB) error {
		_, err := db.Inspect("DELETE FROM notes", nil, true, 0)
		return err
	})
	if !errors.Is(err, storage.ErrReadOnly) {
		t.Errorf("read-only: %v", err)
	}
	if err := h.Inspect(ctx, "Counter", id, false, func(*storage.DB) error { panic("boom") }); err == nil {
		t.Error("panic: no error")
	}
	var n any
	err = h.Inspect(ctx, "Counter", id, false, func(db *storage.DB) error {
		res, err := db.Inspect("SELECT count(*) FROM notes", nil, true, 0)
		if err == nil {
			n = res.Rows[0][0]
		}
		return err
	})
	if err != nil || n != int64(1) {
		t.Errorf("notes = %v, %v; want 1 (the failed call rolled back)", n, err)
	}
	// The object's own event sees its state and the inspection's table.
	if got, err := h.Invoke(ctx, "Counter", id, "a", "add", 1); err != nil || got != 3.0 {
		t.Errorf("add after = %v, %v", got, err)
	}
	if info, err := h.Object("Counter", id); err != nil || !info.Live || info.Size == 0 || info.Modified.IsZero() || info.Name != "a" {
		t.Errorf("Object = %+v, %v", info, err)
	}
	if info, err := h.Object("Counter", ns.IDFromName("never")); err != nil || info.Live || info.Size != 0 {
		t.Errorf("Object(never) = %+v, %v", info, err)
	}
	if _, err := h.Object("Nope", id); !errors.Is(err, ErrNoClass) {
		t.Errorf("Object of an unknown class: %v", err)
	}
	if err := h.Inspect(ctx, "Nope", id, false, func(*storage.DB) error { return nil }); !errors.Is(err, ErrNoClass) {
		t.Errorf("unknown class: %v", err)
	}
}

// spec 20, 21: the studio sees no write that a crash could still lose. A
// read of an object whose earlier write is not durable yet waits for it
// (output gate), and so does the answer of an inspection's own write.
func TestInspectOutputGate(t *testing.T) {
	log := gatesim.NewLog()
	h, id := kHost(t, log)
	put := kCall(t, h, id, "put", "1")
	heldBack(t, put, "the answer of put")
	inspect := func(write bool, sql string) <-chan kResult {
		ch := make(chan kResult, 1)
		go func() {
			err := h.Inspect(context.Background(), "K", id, write, func(db *storage.DB) error {
				_, err := db.Inspect(sql, nil, !write, 0)
				return err
			})
			ch <- kResult{nil, err}
		}()
		return ch
	}
	read := inspect(false, "SELECT 1")
	heldBack(t, read, "an inspection after a write that is not durable")
	log.ReleaseAll()
	if r := outcome(t, read); r.err != nil {
		t.Fatal(r.err)
	}
	outcome(t, put)
	write := inspect(true, "CREATE TABLE t (x)")
	heldBack(t, write, "an inspection's write that is not durable")
	log.ReleaseAll()
	if r := outcome(t, write); r.err != nil {
		t.Fatal(r.err)
	}
}
