package jsrt

import (
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// boundRegexps gives every backtracking regular expression compiled from
// now on a match timeout. goja runs patterns Go's regexp cannot (lookaround,
// backreferences) on regexp2, whose matching is native work the CPU
// limit's interrupt cannot stop: a catastrophic pattern ran 14.7 s past a
// 2 s limit, holding its runtime and every request queued on it, and held
// shutdown. regexp2 has only a process-wide default (goja compiles the
// patterns), so it is set once, from the CPU limit of the first Worker:
// the limit plus two ticks of the watchdog. A match that long has its task
// over the limit already and interrupted by the watchdog, so the task
// fails as soon as the match gives up (goja reports a timed-out match as
// no match; no JS runs to see that wrong answer). A later
// Worker with a larger limit (a reload with a higher limits.cpu_ms) keeps
// the first value.
var boundRegexps sync.Once

func setRegexpTimeout(cpuLimit time.Duration) {
	boundRegexps.Do(func() { regexp2.DefaultMatchTimeout = cpuLimit + 2*watchdogTick(cpuLimit) })
}
