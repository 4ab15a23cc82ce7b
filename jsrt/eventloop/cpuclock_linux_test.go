package eventloop_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairn-dev/cairn/jsrt/eventloop"
)

// threadCPU is the calling thread's CPU time as getrusage reports it, an
// independent measure of what TaskCPU reads.
func threadCPU(t *testing.T) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TaskCPU counts the CPU a task uses, not the time it waits (issue 17: the
// CPU limit was the wall time of a task).
func TestTaskCPUCountsCPUNotWaiting(t *testing.T) {
	l := eventloop.New()
	runLoop(t, l)

	if _, _, ok := l.TaskCPU(); ok {
		t.Errorf("TaskCPU reports a task on an idle loop")
	}

	// A task that waits 300 ms uses almost no CPU.
	started := make(chan struct{})
	done := make(chan struct{})
	l.Submit(func() {
		close(started)
		time.Sleep(300 * time.Millisecond)
		close(done)
	})
	<-started
	time.Sleep(200 * time.Millisecond)
	_, used, ok := l.TaskCPU()
	if !ok || used > 50*time.Millisecond {
		t.Errorf("a task sleeping for 200 ms: TaskCPU = %s, %v; want under 50 ms, true", used, ok)
	}
	<-done

	// A task that spins: TaskCPU agrees with getrusage of its thread.
	type sample struct{ clock, rusage time.Duration }
	got := make(chan sample, 1)
	l.Submit(func() {
		r0 := threadCPU(t)
		// Until it has used 100 ms of CPU: on a busy machine that takes
		// longer than 100 ms.
		for start := time.Now(); threadCPU(t)-r0 < 100*time.Millisecond && time.Since(start) < 10*time.Second; {
		}
		_, used, _ := l.TaskCPU()
		got <- sample{used, threadCPU(t) - r0}
	})
	s := <-got
	if d := s.clock - s.rusage; d < -20*time.Millisecond || d > 20*time.Millisecond || s.clock < 90*time.Millisecond {
		t.Errorf("a spinning task: TaskCPU = %s, getrusage of its thread = %s; want them within 20 ms", s.clock, s.rusage)
	}
	t.Logf("spinning task: TaskCPU %s, getrusage %s", s.clock, s.rusage)
}
