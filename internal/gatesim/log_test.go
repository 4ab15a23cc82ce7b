package gatesim

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// syncer is a file whose syncs are counted.
type syncer struct{ syncs int }

func (s *syncer) Sync() error { s.syncs++; return nil }

// The Log holds what is submitted, completes each file's submissions in
// order, and a success makes the file's earlier submissions durable, failed
// ones included.
func TestLogDurability(t *testing.T) {
	l := NewLog()
	l.CallSync = true
	a, b := &syncer{}, &syncer{}
	l.Attach(a, "a")
	l.Attach(b, "b")
	var got []string
	done := func(name string) func(error) {
		return func(err error) {
			if err != nil {
				name += " failed"
			}
			got = append(got, name)
		}
	}
	w1 := l.Wrote(a, true)
	l.Submit(a, done("a1"))
	w2 := l.Wrote(a, true)
	l.Submit(a, done("a2"))
	wb := l.Wrote(b, true)
	l.Submit(b, done("b1"))
	if l.Durable(w1) || l.Held() != 3 {
		t.Fatalf("durable before any release, or not held: held %d", l.Held())
	}

	r := rand.New(rand.NewPCG(1, 1))
	for l.Held() == 3 {
		l.Step(r, 1) // fails one batch
	}
	switch {
	case len(got) == 0 || got[0] == "a2 failed" || got[0] == "b1":
		t.Fatalf("completions %v: a2 before a1, or a failure reported as success", got)
	case l.Durable(w1) || l.Durable(w2) || l.Durable(wb):
		t.Fatalf("a failed sync made something durable: %v", got)
	}
	w3 := l.Wrote(a, true)
	l.Submit(a, done("a3"))
	l.Submit(b, done("b2"))
	l.ReleaseAll()
	if !l.Durable(w1) || !l.Durable(w2) || !l.Durable(w3) || !l.Durable(wb) {
		t.Fatalf("after the last sync of each file, not all durable: %v", got)
	}
	if a.syncs == 0 || b.syncs == 0 {
		t.Fatalf("CallSync set but files synced %d and %d times", a.syncs, b.syncs)
	}
}

// Attach (a constructor after a reset) rolls back what was registered and
// not submitted; Closed rolls back the rest and makes submissions durable.
func TestLogRollBack(t *testing.T) {
	l := NewLog()
	f := &syncer{}
	l.Attach(f, "f")
	lost := l.Wrote(f, true)
	l.Attach(f, "f")
	kept := l.Wrote(f, true)
	var err error
	l.Submit(f, func(e error) { err = e })
	notSubmitted := l.Wrote(f, true)
	l.Step(rand.New(rand.NewPCG(1, 1)), 1)
	if !errors.Is(err, ErrInjected) {
		t.Fatalf("sync error %v, want ErrInjected", err)
	}
	if !l.RolledBack(lost) || l.RolledBack(kept) || l.Durable(kept) {
		t.Fatal("Attach did not roll back the write before it, or rolled back or synced the one after")
	}
	l.Closed()
	if !l.Durable(kept) || !l.RolledBack(notSubmitted) {
		t.Fatal("Closed: a submitted write is not durable, or a write never submitted is not rolled back")
	}
}
