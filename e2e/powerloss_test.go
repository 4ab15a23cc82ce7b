//go:build powerloss

package e2e

import (
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairn-dev/cairn/internal/lazyfs"
)

// The power-loss test (Linux, root, /dev/fuse):
//
//	go test -tags "powerloss sqlite_fts5 sqlite_math_functions" ./e2e -run PowerLoss -v [-powerloss.cuts 30]
var powerCuts = flag.Int("powerloss.cuts", 30, "how many times the power-loss test cuts the power")

// Cut the power at random moments while many clients write to many objects,
// to KV and to D1: the state directory is on a lazyfs mount, which keeps
// everything not yet fsynced in memory; a cut throws that away and kills
// the server, as a power cut empties the page cache. After each restart
// every acknowledged write must be there and no event's writes may be half
// applied. (SIGKILL alone, as in the crash test, keeps the page cache: it
// cannot tell whether anything was ever synced.)
func TestPowerLoss(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": crashConfig, "src/index.js": crashWorker})
	mnt, backing := t.TempDir(), t.TempDir()
	mount := func() *lazyfs.FS {
		l, err := lazyfs.Mount(mnt, backing)
		if err != nil {
			t.Skipf("lazyfs (FUSE) not available: %v", err)
		}
		return l
	}
	l := mount()
	t.Cleanup(func() { // after the servers' own clean-ups, which run first
		if err := l.Unmount(); err != nil {
			t.Error(err)
		}
	})
	state := filepath.Join(mnt, "state")
	t.Cleanup(func() {
		if t.Failed() { // what the last cut left
			_ = filepath.WalkDir(backing, func(p string, e fs.DirEntry, err error) error {
				if info, err := e.Info(); err == nil {
					t.Logf("backing: %s %d bytes", p, info.Size())
				}
				return nil
			})
		}
	})
	w := newWriteLoad(40, 32)
	// Four objects get big writes: their WALs pass the 4 MiB checkpoint
	// threshold several times in the run.
	w.pad, w.padObjects = 256<<10, 4
	var writes, fileSyncs, dirSyncs, dropped uint64
	histories := 0 // databases compared with their history's latest state
	for round := range *powerCuts {
		d := startDev(t, dir, state)
		w.check(t, d, round)
		if round > 0 {
			// The check opened every database: each must now be its
			// history's latest state (reconciled at open), with every
			// acknowledged write in both.
			histories += checkHistories(t, d, state, round)
			d = startDev(t, dir, state)
		}
		before := w.acknowledged()
		stop := w.start(d, round)
		// Cut while writes flow: once the restarted server acknowledges
		// writes again (its objects start cold, which on a busy machine
		// can take longer than the random delay below, and a round that
		// acknowledges nothing tests nothing), at a random moment after.
		if !w.waitAcknowledged(before+w.clients, time.Minute) {
			t.Fatalf("round %d: the server acknowledged %d writes in a minute\n%s", round, w.acknowledged()-before, d.Logs)
		}
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond)
		// The power goes: nothing unsynced survives, nothing more is
		// written, and the process dies with it.
		l.Cut()
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
		<-d.done
		stop()
		if err := l.Unmount(); err != nil {
			t.Fatal(err)
		}
		st := l.Stats()
		writes, fileSyncs, dirSyncs, dropped = writes+st.Writes, fileSyncs+st.FileSyncs, dirSyncs+st.DirSyncs, dropped+st.Dropped
		l = mount()
	}
	d := startDev(t, dir, state)
	w.check(t, d, *powerCuts)
	t.Logf("%d times a database was compared with its history's latest state after a restart: all equal", histories)
	t.Logf("%d power cuts: %d writes acknowledged and found after restart (%d of them to KV + D1), %d cut off (allowed either way), lost 0, no event half applied",
		*powerCuts, w.total, len(w.acked[w.objects]), w.uncertain)
	t.Logf("the file system saw %d writes, %d file syncs and %d directory syncs; the cuts dropped %d KiB never synced",
		writes, fileSyncs, dirSyncs, dropped/1024)
	if w.total == 0 {
		t.Fatal("no write was acknowledged: the test tested nothing")
	}
	if dropped == 0 {
		t.Fatal("no cut dropped unsynced data: the test did not cut the power mid-write")
	}
	// The objects whose database file holds more than a few pages were
	// checkpointed (by cairn, at 4 MiB of WAL) between the cuts.
	checkpointed := 0
	err := filepath.WalkDir(filepath.Join(backing, "state"), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if info, err := e.Info(); err == nil && strings.HasSuffix(p, ".sqlite") && info.Size() > 1<<20 {
			checkpointed++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("the state directory on the backing directory: %v", err)
	}
	t.Logf("%d database files were checkpointed during the run", checkpointed)
	if checkpointed == 0 {
		t.Fatal("no database was checkpointed: the test did not cut the power around checkpoints")
	}
}

// A failed fsync (a write-back error, as Linux reports it once) must fail
// the write that waited for it and every later write of that object, for
// the data of the failed sync may never reach the disk: a retried fsync
// succeeds without it. After a power cut, what was acknowledged is there.
func TestPowerLossFailedSync(t *testing.T) {
	dir := writeProject(t, map[string]string{"wrangler.jsonc": crashConfig, "src/index.js": crashWorker})
	mnt, backing := t.TempDir(), t.TempDir()
	l, err := lazyfs.Mount(mnt, backing)
	if err != nil {
		t.Skipf("lazyfs (FUSE) not available: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Unmount(); err != nil {
			t.Error(err)
		}
	})
	state := filepath.Join(mnt, "state")
	w := newWriteLoad(1, 1)
	d := startDev(t, dir, state)
	write := func(seq int) bool {
		status, body := d.Get(fmt.Sprintf("/o/0/write/%d", seq))
		if status == 200 && body == "ok" {
			w.acked[0][seq] = true
			return true
		}
		return false
	}
	if !write(1) {
		t.Fatalf("first write failed\n%s", d.Logs)
	}
	l.FailSync("-wal")
	if write(2) {
		t.Fatal("a write whose fsync failed was acknowledged")
	}
	if st := l.Stats(); st.Failed != 1 {
		t.Fatalf("the injected fsync failure was not hit (stats %+v)", st)
	}
	for seq := 3; seq < 6; seq++ {
		if write(seq) {
			t.Fatalf("write %d after a failed fsync was acknowledged: its WAL follows the lost frames of write 2, so a power cut takes it", seq)
		}
	}
	l.Cut()
	_ = d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.done
	if err := l.Unmount(); err != nil {
		t.Fatal(err)
	}
	if l, err = lazyfs.Mount(mnt, backing); err != nil {
		t.Fatal(err)
	}
	d = startDev(t, dir, state)
	w.check(t, d, 1)
}

// acknowledged returns how many writes w's clients had acknowledged.
func (w *writeLoad) acknowledged() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total
}

// waitAcknowledged waits until n writes were acknowledged in all, and
// reports whether that happened within timeout.
func (w *writeLoad) waitAcknowledged(n int, timeout time.Duration) bool {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if w.acknowledged() >= n {
			return true
		}
	}
	return false
}
