package eventloop

import (
	"runtime"
	"testing"
)

// BenchmarkTaskAccounting is what runTask adds to every task to measure
// its CPU: lock the thread, read its id and CPU clock, unlock.
func BenchmarkTaskAccounting(b *testing.B) {
	for b.Loop() {
		runtime.LockOSThread()
		tid := threadID()
		_, _ = threadClock(tid)
		runtime.UnlockOSThread()
	}
}
