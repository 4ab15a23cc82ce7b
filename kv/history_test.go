package kv

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/cairn-dev/cairn/commit"
)

// openHistory opens the namespace at path with a commit log keeping its
// history in hs, as the server does.
func openHistory(t *testing.T, path string, hs *commit.Histories) (*Namespace, *commit.Local) {
	t.Helper()
	log := commit.NewLocal(0)
	log.SetHistories(hs)
	rec, err := hs.Recorder("kv/ns", path)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := Open(path, Options{Commit: log, Recorder: rec, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return ns, log
}

// contents reads every live entry of the namespace file at path (a built
// past state), opened without a commit log.
func contents(t *testing.T, path string) map[string]string {
	t.Helper()
	ns, err := Open(path, Options{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	out := map[string]string{}
	ctx := context.Background()
	cursor := ""
	for {
		res, err := ns.List(ctx, ListOptions{Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range res.Keys {
			e, ok, err := ns.Get(ctx, k.Name)
			if err != nil || !ok {
				t.Fatalf("get %q: %v %v", k.Name, ok, err)
			}
			out[k.Name] = string(e.Value)
		}
		if res.Complete {
			return out
		}
		cursor = res.Cursor
	}
}

// Every commit of a namespace with a history is a record: building the
// history at each record's sequence number gives the namespace as it was
// after that write, and a reopened namespace continues the same history.
func TestHistoryReplaysPastStates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kv", "ns.sqlite")
	hs := commit.NewHistories(filepath.Join(dir, "history"), nil)
	defer hs.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(16, 1))
	model := map[string]string{}
	states := map[uint64]map[string]string{} // by record seq
	big := make([]byte, 6000)                // values over a page, so records span overflow pages
	for round := range 2 {
		ns, log := openHistory(t, path, hs)
		h, _ := hs.Open("kv/ns")
		if round == 1 && h.Last().Kind != commit.KindCommit {
			t.Fatalf("reopened after a clean close: last record is %v, want the last commit (no new base)", h.Last().Kind)
		}
		for i := range 150 {
			k := fmt.Sprintf("k%02d", rng.IntN(40))
			switch rng.IntN(4) {
			case 0:
				if err := ns.Delete(ctx, k); err != nil {
					t.Fatal(err)
				}
				delete(model, k)
			case 1:
				v := fmt.Sprintf("big-%d-%d-%s", round, i, big[:rng.IntN(len(big))])
				if err := ns.Put(ctx, k, []byte(v), PutOptions{}); err != nil {
					t.Fatal(err)
				}
				model[k] = v
			default:
				v := fmt.Sprintf("v-%d-%d", round, i)
				if err := ns.Put(ctx, k, []byte(v), PutOptions{}); err != nil {
					t.Fatal(err)
				}
				model[k] = v
			}
			states[h.Last().Seq] = maps.Clone(model)
		}
		if err := ns.Close(); err != nil {
			t.Fatal(err)
		}
		if err := log.Close(); err != nil {
			t.Fatal(err)
		}
	}
	h, _ := hs.Open("kv/ns")
	if n := len(states); n < 250 {
		t.Fatalf("%d distinct recorded states for 300 writes", n)
	}
	checked := 0
	for seq, want := range states {
		if rng.IntN(6) != 0 {
			continue // a sample keeps the test fast
		}
		dst := filepath.Join(t.TempDir(), "built.sqlite")
		if err := h.Build(seq, dst); err != nil {
			t.Fatalf("build %d: %v", seq, err)
		}
		if got := contents(t, dst); !maps.Equal(got, want) {
			t.Fatalf("state after record %d: %d keys, want %d", seq, len(got), len(want))
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no state checked")
	}
}

// A namespace written by a process that keeps no history (the cairn kv
// commands) is noticed when it is next opened with one: its history
// continues from a base snapshot of the file, so the latest state is
// restorable and so are those before.
func TestHistoryNoticesWritesOutside(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kv", "ns.sqlite")
	hs := commit.NewHistories(filepath.Join(dir, "history"), nil)
	defer hs.Close()
	ctx := context.Background()
	ns, log := openHistory(t, path, hs)
	if err := ns.Put(ctx, "a", []byte("1"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	h, _ := hs.Open("kv/ns")
	before := h.Last().Seq
	ns.Close()
	log.Close()

	plain, err := Open(path, Options{SweepInterval: -1}) // as `cairn kv put` does
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Put(ctx, "b", []byte("2"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	plain.Close()

	ns, log = openHistory(t, path, hs)
	defer log.Close()
	defer ns.Close()
	last := h.Last()
	if last.Kind != commit.KindBase || last.Seq != before+1 {
		t.Fatalf("after a write outside the history: last record %v %d, want base %d", last.Kind, last.Seq, before+1)
	}
	for seq, want := range map[uint64]map[string]string{before: {"a": "1"}, last.Seq: {"a": "1", "b": "2"}} {
		dst := filepath.Join(t.TempDir(), "built.sqlite")
		if err := h.Build(seq, dst); err != nil {
			t.Fatal(err)
		}
		if got := contents(t, dst); !maps.Equal(got, want) {
			t.Fatalf("state %d: %v, want %v", seq, got, want)
		}
	}
}
