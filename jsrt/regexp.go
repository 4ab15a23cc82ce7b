package jsrt

import (
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// wallFactor bounds a task's wall time: a task is interrupted when its
// thread has used the CPU limit in CPU time, or when it has run wallFactor
// times the limit in wall time, whichever comes first. The wall bound is a
// backstop for what the CPU clock cannot see through (a regular
// expression's own timeout, below); a busy machine gives a runtime's
// thread at least half a core for it not to matter.
const wallFactor = 2

// The regular expressions goja cannot hand to Go's regexp (lookaround,
// backreferences) run on regexp2, a backtracking engine: a catastrophic
// pattern is native work that goja's interrupt cannot stop (it ran 14.7 s
// past a 2 s limit, holding its runtime and every request queued on it,
// and held shutdown). regexp2's only bound is a match timeout in wall time,
// and goja reads it from a process-wide default when it compiles a pattern
// and reports a timed-out match as no match. So the default is set once,
// from the first Worker's CPU limit: its wall bound plus two ticks of the
// watchdog (regexpTimeout). That Worker's watchdog has interrupted the task
// by then, so no JS runs to see the wrong answer, and the runtime is free
// again at the timeout.
//
// goja offers no per-runtime match timeout, and the default cannot change
// safely once runtimes run. A later Worker of the process with a larger
// limit (cairn serve, a reload with a higher limits.cpu_ms) keeps the first
// value: a match of its code that runs longer than that gives up as no
// match while its task may still be under its own bounds.
var (
	boundRegexps sync.Once
	regexpLimit  time.Duration
)

// regexpTimeout is the match timeout a first Worker with this CPU limit
// sets for the process.
func regexpTimeout(cpuLimit time.Duration) time.Duration {
	return wallLimit(cpuLimit) + 2*watchdogTick(cpuLimit)
}

func setRegexpTimeout(cpuLimit time.Duration) {
	boundRegexps.Do(func() {
		regexpLimit = regexpTimeout(cpuLimit)
		regexp2.DefaultMatchTimeout = regexpLimit
	})
}

// wallLimit is the wall time after which the watchdog interrupts a task of
// a Worker with this CPU limit, whatever CPU it has used.
func wallLimit(cpuLimit time.Duration) time.Duration {
	return wallFactor * cpuLimit
}
