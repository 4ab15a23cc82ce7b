package commit

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// roundLog is an Observer that keeps the rounds it saw.
type roundLog struct {
	mu     sync.Mutex
	rounds []Round
}

func (o *roundLog) Round(r Round) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r.Waits = append([]time.Duration(nil), r.Waits...)
	o.rounds = append(o.rounds, r)
}

// syncFunc is a Syncer.
type syncFunc func() error

func (f *syncFunc) Sync() error { return (*f)() }

func TestObserverSeesRounds(t *testing.T) {
	l := NewLocal(0)
	obs := &roundLog{}
	l.Observe(obs)
	entered, release := make(chan struct{}), make(chan struct{})
	first := true
	var a, b, bad syncFunc
	a = func() error {
		if first {
			first = false
			close(entered)
			<-release
		}
		return nil
	}
	b = func() error { return nil }
	bad = func() error { return errors.New("EIO") }
	var wg sync.WaitGroup
	submit := func(f Syncer) {
		wg.Add(1)
		l.Submit(f, func(error) { wg.Done() })
	}
	submit(&a) // round 1, held in its sync
	<-entered
	submit(&a) // these three wait for round 2: two files, one failing
	submit(&b)
	submit(&bad)
	close(release)
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	want := []struct{ commits, files, failed int }{{1, 1, 0}, {3, 3, 1}}
	if len(obs.rounds) != len(want) {
		t.Fatalf("rounds = %+v, want %d", obs.rounds, len(want))
	}
	for i, w := range want {
		r := obs.rounds[i]
		if r.Commits != w.commits || r.Files != w.files || r.Failed != w.failed || len(r.Waits) != w.commits || r.FileSystem {
			t.Errorf("round %d = %+v, want %+v", i, r, w)
		}
		for _, wait := range r.Waits {
			if wait <= 0 || wait > time.Minute {
				t.Errorf("round %d: wait %v", i, wait)
			}
		}
	}
}
