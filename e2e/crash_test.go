//go:build crash

package e2e

import (
	"flag"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// The crash test: go test -tags "crash sqlite_fts5 sqlite_math_functions" ./e2e -run Crash -v
var crashKills = flag.Int("crash.kills", 30, "how many times the crash test kills the server")

// Kill cairn with SIGKILL at random moments while many clients write to
// many objects; after each restart every acknowledged write must be there
// and no event's writes may be half applied.
func TestCrashLoop(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": crashConfig, "src/index.js": crashWorker})
	state := t.TempDir()
	w := newWriteLoad(40, 32)
	histories := 0 // databases compared with their history's latest state
	for round := range *crashKills {
		d := startDev(t, dir, state)
		w.check(t, d, round)
		if round > 0 {
			// The check opened every database: each must now be its
			// history's latest state (reconciled at open), with every
			// acknowledged write in both.
			histories += checkHistories(t, d, state, round)
			d = startDev(t, dir, state)
		}
		stop := w.start(d, round)
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond)
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		stop()
	}
	d := startDev(t, dir, state)
	w.check(t, d, *crashKills)
	t.Logf("%d times a database was compared with its history's latest state after a restart: all equal", histories)
	t.Logf("%d kills: %d writes acknowledged and found after restart (%d of them to KV + D1), %d cut off by a kill (allowed either way), no event half applied",
		*crashKills, w.total, len(w.acked[w.objects]), w.uncertain)
	if w.total == 0 {
		t.Fatal("no write was acknowledged: the test tested nothing")
	}
}
