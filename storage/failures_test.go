package storage

import (
	"testing"

	commitlog "github.com/cairn-dev/cairn/commit"
)

func syncThrough(l *commitlog.Local, db *DB) error {
	done := make(chan error, 1)
	l.Submit(db, func(err error) { done <- err })
	return <-done
}

// A failed sync stays failed across the object's eviction: the next DB
// opened on the same file (a new instance, a new descriptor) would sync
// without error and acknowledge b, which the kernel dropped. The commit
// log remembers the failure by file (commit.Failures), so b and every
// later write stay unacknowledged (what survives the power cut is then
// the file's business: the reopened DB's own checkpoint at Close may
// save them).
func TestSyncFailureIsStickyAcrossReopen(t *testing.T) {
	db, l, cut := lazyDB(t)
	log := commitlog.NewLocal(0)
	defer log.Close()
	putCommit(t, db, "a")
	if err := syncThrough(log, db); err != nil {
		t.Fatal(err)
	}
	putCommit(t, db, "b")
	l.FailSync("-wal")
	if err := syncThrough(log, db); err == nil {
		t.Fatal("sync with a failing fsync: want an error")
	}
	// Evicted: a new DB on the same file, as the Host opens for the next
	// activation (Close fails: its checkpoint sees the failure).
	path := db.path
	db.Close()
	next := Open(path, Options{})
	t.Cleanup(func() { next.Close() }) // before the unmount, if the test fails
	putCommit(t, next, "c")
	if err := syncThrough(log, next); err == nil {
		// Error, not Fatal: the cut below ends the mount cleanly.
		t.Error("sync of the reopened file succeeded: it would acknowledge b and c, which are not on disk")
	}
	if st := l.Stats(); st.Failed != 1 {
		t.Errorf("lazyfs stats %+v: want the one failed fsync, and no retry", st)
	}
	next.Close()
	db = cut()
	if got := keyList(t, db); got[:2] != "a " {
		t.Fatalf("after the cut: keys %q, want the acknowledged a", got)
	}
}
