package eventloop

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadID returns the id of the OS thread calling it (the task's thread,
// locked to the loop goroutine while the task runs).
func threadID() int32 { return int32(unix.Gettid()) }

// threadClock returns the CPU time thread tid of this process has used,
// read from any thread: the thread's own CPU clock (the kernel's
// MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED), which clock_gettime accepts for
// any thread of the calling process). ok is false if the thread is gone or
// the clock cannot be read.
func threadClock(tid int32) (used time.Duration, ok bool) {
	const cpuClockPerThread, cpuClockSched = 4, 2
	id := int32(^uint32(tid)<<3) | cpuClockPerThread | cpuClockSched
	var ts unix.Timespec
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, false
	}
	return time.Duration(ts.Nano()), true
}

// ThreadClocks reports whether Loop.TaskCPU measures CPU time (true on
// Linux) rather than the wall time a task has run.
const ThreadClocks = true
