//go:build !linux

package eventloop

import "time"

// threadID returns 0: without per-thread CPU clocks, TaskCPU falls back to
// the wall time a task has run.
func threadID() int32 { return 0 }

func threadClock(int32) (time.Duration, bool) { return 0, false }

// ThreadClocks reports whether Loop.TaskCPU measures CPU time (true on
// Linux) rather than the wall time a task has run.
const ThreadClocks = false
