package commit

import (
	"errors"
	"sync"
	"time"
)

// ErrClosed is passed to done for a Submit made after the Log was closed.
var ErrClosed = errors.New("commit: log closed")

// A Syncer is a file whose written data can be made durable: for a SQLite
// database in WAL mode, its -wal file. Sync must be safe to call from another
// goroutine than the one writing, and while it writes.
type Syncer interface {
	Sync() error
}

// Log makes committed writes durable.
type Log interface {
	// Submit asks for everything written to f before the call to be made
	// durable. done is called exactly once, on a goroutine of the Log's,
	// with nil once it is durable or with the error that prevented it.
	// Calls for one file complete in the order they were submitted.
	Submit(f Syncer, done func(error))
	// Record hands the Log the content of a commit of the database whose
	// file is f, right after the commit and before the Submit that must
	// cover it; a database's records come in Seq order. A Submit of f is
	// done(nil) only once every record handed before it is durable too.
	// The local Log appends records to segment files (SetHistories; without
	// it, it keeps none); a cluster Log publishes each to the database's
	// subject of a replicated stream. An error means the record was not
	// kept: the owner must fail the commit.
	Record(f Syncer, rec *Record) error
	// Close completes every submitted call, then stops the Log.
	Close() error
}

// Local is the single-node Log: group commit with fsync. Its zero value is
// not usable; call NewLocal.
type Local struct {
	parallel int
	fs       *fileSystem // if set, rounds of many files use one syncfs

	mu      sync.Mutex
	pending []request // the next round
	running bool      // a round is in progress
	closed  bool
	idle    *sync.Cond // signalled when a round ends with nothing pending

	stats Stats
	obs   Observer // see Observe; nil: none

	histories *Histories          // see SetHistories
	recorded  map[Syncer]*History // the history each file's records went to
	failures  *Failures           // see SetFailures; made on first use
}

type request struct {
	f    Syncer
	done func(error)
	at   time.Time // when it was submitted, if an Observer wants to know
}

// Observer is told what a Local does, for metrics (package metrics
// implements it). Its methods are called on the Local's goroutines, before
// the round's waiters are told (so a commit acknowledged has been
// counted), and must not block.
type Observer interface {
	// Round reports a round of group commit once its syncs are done.
	Round(Round)
}

// Round describes one round of group commit.
type Round struct {
	Commits    int             // commits the round made durable (or failed): the group size
	Files      int             // distinct files it synced
	FileSystem bool            // the files were made durable by one sync of the file system
	Failed     int             // commits whose sync failed
	Took       time.Duration   // time spent syncing
	Waits      []time.Duration // for each commit, time from Submit until it was durable; valid during the call only
}

// Stats counts the work of a Local, for benchmarks and metrics.
type Stats struct {
	Submits uint64 // calls to Submit
	Syncs   uint64 // calls to Syncer.Sync
	FSSyncs uint64 // rounds made durable by one file-system sync
	Rounds  uint64 // rounds of syncs
}

// NewLocal returns a Local that syncs up to parallel files at once (16 if
// parallel ≤ 0).
func NewLocal(parallel int) *Local {
	if parallel <= 0 {
		parallel = 16
	}
	l := &Local{parallel: parallel}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// Submit queues f for the next round of syncs and starts a round if none is
// running.
func (l *Local) Submit(f Syncer, done func(error)) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		done(ErrClosed)
		return
	}
	l.stats.Submits++
	r := request{f: f, done: done}
	if l.obs != nil {
		r.at = time.Now()
	}
	l.pending = append(l.pending, r)
	if l.running {
		l.mu.Unlock()
		return
	}
	l.running = true
	l.mu.Unlock()
	go l.rounds()
}

// Observe makes o see every round from now on. Call it before the first
// Submit.
func (l *Local) Observe(o Observer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.obs = o
}

// rounds runs rounds until nothing is pending. Each round syncs every file
// submitted before it started, once.
func (l *Local) rounds() {
	var waits []time.Duration // reused across rounds
	for {
		l.mu.Lock()
		batch := l.pending
		l.pending = nil
		if len(batch) == 0 {
			l.running = false
			l.idle.Broadcast()
			l.mu.Unlock()
			return
		}
		l.stats.Rounds++
		obs := l.obs
		l.mu.Unlock()

		start := time.Now()
		errs, fsSync := l.syncRound(batch)
		if obs != nil {
			// Before the waiters are told: a commit acknowledged is counted.
			now := time.Now()
			failed := 0
			waits = waits[:0]
			for _, r := range batch {
				if errs[r.f] != nil {
					failed++
				}
				if !r.at.IsZero() { // submitted before Observe
					waits = append(waits, now.Sub(r.at))
				}
			}
			obs.Round(Round{Commits: len(batch), Files: len(errs), FileSystem: fsSync, Failed: failed, Took: now.Sub(start), Waits: waits})
		}
		for _, r := range batch {
			r.done(errs[r.f])
		}
	}
}

// syncAll syncs each distinct file of batch once, up to l.parallel at a
// time, and returns the errors by file. With a file system set, a round of
// at least its minimum of files is one syncfs instead; fsSync reports
// whether it was.
func (l *Local) syncAll(batch []request) (errs map[Syncer]error, fsSync bool) {
	files := make(map[Syncer]error, len(batch))
	order := make([]Syncer, 0, len(batch))
	for _, r := range batch {
		if _, ok := files[r.f]; !ok {
			files[r.f] = nil
			order = append(order, r.f)
		}
	}
	order = l.stuck(files, order) // a file whose sync failed once fails again, unsynced
	defer l.noteFailures(files)
	if len(order) == 0 {
		return files, false
	}
	if l.fs != nil && len(order) >= l.fs.min {
		if err := l.fs.sync(); err == nil {
			l.mu.Lock()
			l.stats.FSSyncs++
			l.mu.Unlock()
			return files, true
		}
		// Fall back to syncing each file, which reports errors per file.
	}
	l.mu.Lock()
	l.stats.Syncs += uint64(len(order))
	l.mu.Unlock()
	if len(order) == 1 {
		files[order[0]] = order[0].Sync()
		return files, false
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		next = make(chan Syncer)
	)
	for range min(l.parallel, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				err := f.Sync()
				mu.Lock()
				files[f] = err
				mu.Unlock()
			}
		}()
	}
	for _, f := range order {
		next <- f
	}
	close(next)
	wg.Wait()
	return files, false
}

// SyncFileSystem makes rounds that sync at least min files use one sync of
// the whole file system holding dir (Linux syncfs) instead of one fsync per
// file: with many objects written at once that is much cheaper, at the cost
// of also flushing whatever else is dirty on that file system (put the data
// directory on its own volume). Call it before the first Submit. It
// creates dir (durably, see MkdirAll) if it does not exist. It is a no-op
// where syncfs does not exist or does not make files durable (FUSE file
// systems).
func (l *Local) SyncFileSystem(dir string, min int) error {
	if err := MkdirAll(dir); err != nil {
		return err
	}
	fs, err := openFileSystem(dir, max(min, 2))
	if err != nil {
		return err
	}
	if fs != nil {
		l.fs = fs
	}
	return nil
}

// Stats returns the counters so far.
func (l *Local) Stats() Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Close waits for every submitted sync to complete; later Submits fail with
// ErrClosed.
func (l *Local) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	for l.running {
		l.idle.Wait()
	}
	if l.fs != nil {
		return l.fs.close()
	}
	return nil
}
