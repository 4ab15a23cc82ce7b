package objects

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/clone"
	"github.com/cairn-dev/cairn/internal/gatesim"
)

// kObject is a Go object with one KV key, k: "put" sets it, "abort" sets
// it and aborts, "get" returns it. Its constructor writes nothing.
type kObject struct{ st *State }

func (o *kObject) RPC(ctx context.Context, method string, args []any) (any, error) {
	switch method {
	case "put", "abort":
		if err := o.st.Storage.Put("k", args[0]); err != nil {
			return nil, err
		}
		if method == "abort" {
			o.st.Abort("aborted")
		}
		return "ok", nil
	case "get":
		v, _, err := o.st.Storage.Get("k")
		return v, err
	}
	return nil, errors.New("no method " + method)
}

// kHost returns a Host with one kObject, whose commits go to log.
func kHost(t *testing.T, log *gatesim.Log) (*Host, ID) {
	t.Helper()
	catalog, err := OpenCatalog(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost(catalog, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { log.ReleaseAll(); h.Close() })
	h.SetCommitLog(log)
	h.Register("K", NewGoClass(func(st *State) (any, error) { return &kObject{st}, nil }))
	ns, err := h.Namespace("K")
	if err != nil {
		t.Fatal(err)
	}
	return h, ns.IDFromName("k")
}

type kResult struct {
	v   any
	err error
}

// kCall calls method on the object and returns where its outcome arrives.
func kCall(t *testing.T, h *Host, id ID, method string, args ...any) <-chan kResult {
	t.Helper()
	payload, err := clone.Marshal(append([]any{}, args...))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan kResult, 1)
	h.Call("K", id, "k", []string{method}, payload, func(b []byte, err error) {
		var v any
		if err == nil {
			v, err = clone.Unmarshal(b)
		}
		ch <- kResult{v, err}
	})
	return ch
}

// heldBack fails if ch delivers within a short while: the output gate must
// hold it.
func heldBack(t *testing.T, ch <-chan kResult, what string) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("%s arrived (%v, %v) while a write it may show was not durable", what, r.v, r.err)
	case <-time.After(200 * time.Millisecond):
	}
}

func outcome(t *testing.T, ch <-chan kResult) kResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no answer")
	}
	return kResult{}
}

// spec 17, 20: a reset (here an abort) discards the writes of its own turn,
// not the earlier ones, which are committed and on their way to the disk.
// The next instance reads them, so its answers wait until they are durable:
// else a caller would see a write that a crash can still lose.
func TestResetKeepsEarlierCommitsGated(t *testing.T) {
	log := gatesim.NewLog()
	h, id := kHost(t, log)
	put := kCall(t, h, id, "put", "1")
	heldBack(t, put, "the answer of put")
	if r := outcome(t, kCall(t, h, id, "abort", "2")); r.err == nil {
		t.Fatal("abort succeeded")
	}
	get := kCall(t, h, id, "get")
	heldBack(t, get, "the answer of get after the reset")
	log.ReleaseAll()
	if r := outcome(t, get); r.err != nil || r.v != "1" {
		t.Fatalf("get = %v, %v; want 1", r.v, r.err)
	}
	outcome(t, put) // failed by the reset, or ok: either is allowed
}

// spec 20: when the sync of a commit fails, the object is reset, but the
// commit is still in the database: the next instance reads it, so its
// answers wait until a sync succeeds.
func TestFailedSyncKeepsCommitGated(t *testing.T) {
	log := gatesim.NewLog()
	h, id := kHost(t, log)
	put := kCall(t, h, id, "put", "1")
	heldBack(t, put, "the answer of put")
	log.Step(rand.New(rand.NewPCG(1, 2)), 1) // the sync fails
	if r := outcome(t, put); r.err == nil {
		t.Fatal("put succeeded though its sync failed")
	}
	get := kCall(t, h, id, "get")
	heldBack(t, get, "the answer of get after the failed sync")
	log.ReleaseAll()
	if r := outcome(t, get); r.err != nil || r.v != "1" {
		t.Fatalf("get = %v, %v; want 1", r.v, r.err)
	}
}
