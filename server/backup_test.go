package server

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// instantLog acknowledges every Submit at once, on a goroutine of its own.
type instantLog struct{}

func (instantLog) Submit(f commit.Syncer, done func(error))   { go done(nil) }
func (instantLog) Close() error                               { return nil }
func (instantLog) Record(commit.Syncer, *commit.Record) error { return nil }

type noSync struct{}

func (noSync) Sync() error { return nil }

// While paused, the gate holds every acknowledgement back; resumed, it
// releases them, and acknowledgements of one caller keep their order.
func TestAckGatePause(t *testing.T) {
	g := &ackGate{Log: instantLog{}}
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	submit := func(i int) {
		wg.Add(1)
		g.Submit(noSync{}, func(error) {
			mu.Lock()
			got = append(got, i)
			mu.Unlock()
			wg.Done()
		})
	}
	submit(0)
	wg.Wait()
	resume := g.Pause()
	resume2 := g.Pause()
	for i := 1; i <= 50; i++ {
		submit(i)
	}
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	if len(got) != 1 {
		t.Fatalf("acknowledged while paused: %v", got)
	}
	mu.Unlock()
	resume()
	resume() // a second call of the same resume does nothing
	time.Sleep(20 * time.Millisecond)
	mu.Lock()
	if len(got) != 1 {
		t.Fatalf("acknowledged while another pause holds: %v", got)
	}
	mu.Unlock()
	resume2()
	for i := 51; i <= 100; i++ {
		submit(i)
	}
	wg.Wait()
	if len(got) != 101 {
		t.Fatalf("%d acknowledgements, want 101", len(got))
	}
	// Those held were released in the order their syncs completed, before
	// any that came after the pause ended.
	held := slices.Clone(got[1:51])
	slices.Sort(held)
	for i, v := range held {
		if v != i+1 {
			t.Fatalf("held acknowledgements %v", got[1:51])
		}
	}
}
