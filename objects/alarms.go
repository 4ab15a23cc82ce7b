package objects

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver

	"github.com/cairn-dev/cairn/commit"
)

// Alarms. An object's alarm time is stored in its own database (the source
// of truth, written in the event's transaction). The Host keeps an index of
// pending alarms in one SQLite file per Worker, loaded into a min-heap at
// start, so 100,000 pending alarms cost one heap and one timer, not a timer
// each nor a scan per tick. The index may hold entries the objects no longer
// have (a set that was rolled back, a delete not yet reflected): firing
// checks the object's own storage first. An entry is written (durably)
// before the object's commit that sets the alarm, so no set alarm is ever
// missing from it.

// AlarmResult is what an object reports after an alarm event.
type AlarmResult struct {
	Failed bool      // the handler threw: retry
	Next   time.Time // the object's alarm now (zero: none), e.g. set by the handler
	Err    error     // the event could not run (evicted, closed)
}

// AlarmTaker is an Instance that takes alarm events.
type AlarmTaker interface {
	// Alarm runs the alarm scheduled at scheduled (ms since the epoch),
	// with retryCount earlier failures, unless the object's storage no
	// longer holds that alarm; done reports the outcome.
	Alarm(scheduled int64, retryCount int, done func(AlarmResult))
}

// maxAlarmRetries is how often a failing alarm is retried, as on Cloudflare.
const maxAlarmRetries = 6

type alarmKey struct {
	class string
	id    ID
}

type alarmEntry struct {
	key   alarmKey
	name  string
	at    time.Time // when to run
	sched int64     // the scheduled time stored in the object, ms
	retry int
	index int // in the heap
}

type alarmHeap []*alarmEntry

func (h alarmHeap) Len() int           { return len(h) }
func (h alarmHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h alarmHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *alarmHeap) Push(x any) { e := x.(*alarmEntry); e.index = len(*h); *h = append(*h, e) }
func (h *alarmHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}

// alarmScheduler owns the index file and the heap.
type alarmScheduler struct {
	h         *Host
	path      string
	db        *sql.DB
	retryBase time.Duration
	durable   *commit.Shared // syncs the index through the Host's commit log and runs its checkpoints

	// wmu orders the index's writes with their records: each write, its
	// record and any checkpoint after it run under it.
	wmu sync.Mutex
	rec *commit.Recorder // with the Host's histories: records each write ("alarms"); nil: none

	mu      sync.Mutex
	heap    alarmHeap
	pending map[alarmKey]*alarmEntry // the one entry per object, in the heap or running
	running map[alarmKey]bool
	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
}

// EnableAlarms makes the Host run alarms, with its index at path (created
// if needed). A failed handler is retried after retryBase (2 s on
// Cloudflare), doubling, ±25 %, at most 6 times. It runs until Close.
func (h *Host) EnableAlarms(path string, retryBase time.Duration) error {
	// synchronous=NORMAL: SetAlarm has the commit log sync the WAL; removals
	// need not be durable (a stale entry is checked against the object and
	// dropped). No automatic checkpoint: the index runs its own, whose
	// errors it sees (commit.Shared), like every database of cairn's.
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000"
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return fmt.Errorf("alarm index %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=" + strconv.Itoa(commit.WALSizeLimit)); err != nil {
		db.Close()
		return fmt.Errorf("alarm index %s: %w", path, err)
	}
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS alarms (class TEXT NOT NULL, id TEXT NOT NULL,
		name TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (class, id)) WITHOUT ROWID`); err != nil {
		db.Close()
		return fmt.Errorf("alarm index %s: %w", path, err)
	}
	if err := commit.SyncFileAndDir(path); err != nil {
		db.Close()
		return fmt.Errorf("alarm index %s: %w", path, err)
	}
	h.mu.Lock()
	log, hs := h.commitLogLocked(), h.histories
	h.mu.Unlock()
	s := &alarmScheduler{h: h, path: path, db: db, retryBase: retryBase, durable: commit.NewShared(log, commit.WAL{Path: path}), pending: make(map[alarmKey]*alarmEntry),
		running: make(map[alarmKey]bool), wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if hs != nil {
		// Its commits are records too, like every database of cairn's: the
		// index has a history, and a cluster would replicate it.
		s.rec, err = hs.Recorder(AlarmsHistoryName, path)
		if err == nil {
			err = s.rec.Start(func() error { return s.checkpointNow("TRUNCATE") }, h.log.Warn)
		}
		if err != nil {
			db.Close()
			return fmt.Errorf("alarm index %s: history: %w", path, err)
		}
	}
	rows, err := db.Query("SELECT class, id, name, time FROM alarms")
	if err != nil {
		db.Close()
		return fmt.Errorf("alarm index %s: %w", path, err)
	}
	for rows.Next() {
		var class, idHex, name string
		var ms int64
		if err := rows.Scan(&class, &idHex, &name, &ms); err != nil {
			rows.Close()
			db.Close()
			return fmt.Errorf("alarm index %s: %w", path, err)
		}
		var id ID
		if b, err := hex.DecodeString(idHex); err == nil && len(b) == len(id) {
			copy(id[:], b)
			s.schedule(alarmKey{class, id}, name, ms, time.UnixMilli(ms), 0)
		}
	}
	rows.Close()
	h.mu.Lock()
	h.alarms = s
	h.mu.Unlock()
	go s.run()
	return nil
}

// SetAlarm records that object id of class will have its alarm at ms once
// the commit being made lands. It writes the index durably, so call it
// before that commit (from the object's event loop).
func (h *Host) SetAlarm(class string, id ID, name string, ms int64) error {
	s := h.alarmScheduler()
	if s == nil {
		return errors.New("alarms are not enabled")
	}
	ticket, err := s.write("INSERT OR REPLACE INTO alarms (class, id, name, time) VALUES (?, ?, ?, ?)",
		class, id.String(), name, ms)
	if err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	if err := s.durable.Durable(context.Background(), ticket); err != nil {
		return fmt.Errorf("alarm index: %w", err)
	}
	s.mu.Lock()
	s.schedule(alarmKey{class, id}, name, ms, time.UnixMilli(ms), 0)
	s.mu.Unlock()
	return nil
}

// DeleteAlarm records that the object no longer has an alarm (after its
// commit). Call it from the object's event loop, so it is ordered with the
// object's SetAlarm calls.
func (h *Host) DeleteAlarm(class string, id ID) {
	s := h.alarmScheduler()
	if s == nil {
		return
	}
	k := alarmKey{class, id}
	s.mu.Lock()
	if e, ok := s.pending[k]; ok && !s.running[k] {
		heap.Remove(&s.heap, e.index)
		delete(s.pending, k)
	}
	s.mu.Unlock()
	s.forget(k, -1)
}

func (h *Host) alarmScheduler() *alarmScheduler {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.alarms
}

// schedule makes e the object's pending alarm. s.mu is held (or s is not
// running yet).
func (s *alarmScheduler) schedule(k alarmKey, name string, sched int64, at time.Time, retry int) {
	if old, ok := s.pending[k]; ok {
		if old.index >= 0 {
			heap.Remove(&s.heap, old.index)
		}
	}
	e := &alarmEntry{key: k, name: name, at: at, sched: sched, retry: retry, index: -1}
	s.pending[k] = e
	if !s.running[k] {
		s.push(e)
	}
}

// push adds e to the heap and wakes the loop to re-arm its timer.
func (s *alarmScheduler) push(e *alarmEntry) {
	heap.Push(&s.heap, e)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// forget removes the object's index entry: the one for time ms, or any if
// ms is -1 (so a late removal cannot drop a newer alarm).
func (s *alarmScheduler) forget(k alarmKey, ms int64) {
	if _, err := s.write("DELETE FROM alarms WHERE class = ? AND id = ? AND (? = -1 OR time = ?)",
		k.class, k.id.String(), ms, ms); err != nil {
		s.h.log.Error("alarm index", "error", err)
	}
}

// AlarmsHistoryName is the name of the alarm index's history in the
// Host's history store (SetHistories).
const AlarmsHistoryName = "alarms"

// write runs one statement on the index as a transaction of its own,
// records it (with a history), checkpoints when due, and returns the
// commit's number for Durable.
func (s *alarmScheduler) write(query string, args ...any) (uint64, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.rec != nil { // ordered with another Host's writes (a reload's)
		s.rec.Lock()
		defer s.rec.Unlock()
	}
	if _, err := s.db.Exec(query, args...); err != nil {
		return 0, err
	}
	ticket := s.durable.Committed()
	if s.rec != nil {
		if err := s.rec.Record(s.durable); err != nil {
			// Applied without a record: neither it nor any later write is
			// acknowledged.
			s.h.log.Error("alarm index: write not recorded; setting alarms fails from now on", "error", err)
			s.durable.Fail(fmt.Errorf("alarm index: record: %w", err))
		}
	}
	if s.durable.CheckpointDue() {
		if err := s.checkpointNow("PASSIVE"); err != nil {
			s.h.log.Error("alarm index: checkpoint failed; setting alarms fails from now on", "error", err)
		}
	}
	return ticket, nil
}

// checkpointNow folds the index's WAL into its file (mode PASSIVE, or
// TRUNCATE), with no sync of it running meanwhile; a failure fails the
// index's later syncs (commit.Shared.Checkpoint). Every write before it
// was recorded (write reads the WAL's tail first). s.wmu is held, or no
// write can run.
func (s *alarmScheduler) checkpointNow(mode string) error {
	return s.durable.Checkpoint(func() error {
		_, err := s.db.Exec("PRAGMA wal_checkpoint(" + mode + ")")
		return err
	})
}

// run fires due alarms until stopped.
func (s *alarmScheduler) run() {
	defer close(s.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		for len(s.heap) > 0 && !s.heap[0].at.After(now) {
			e := heap.Pop(&s.heap).(*alarmEntry)
			s.running[e.key] = true
			go s.fire(e)
		}
		wait := time.Hour
		if len(s.heap) > 0 {
			wait = time.Until(s.heap[0].at)
		}
		s.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// fire delivers one alarm and schedules what follows: nothing, the next
// alarm the object set, or a retry.
func (s *alarmScheduler) fire(e *alarmEntry) {
	if obs := s.h.observer(); obs != nil {
		obs.AlarmFired(e.key.class, time.Since(e.at))
	}
	done := make(chan AlarmResult, 1)
	s.h.deliverAlarm(e.key, e.name, e.sched, e.retry, func(r AlarmResult) { done <- r })
	var r AlarmResult
	select {
	case r = <-done:
	case <-s.stop:
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, e.key)
	if cur := s.pending[e.key]; cur != e {
		// Set again while it ran (SetAlarm scheduled the new one): push it.
		if cur != nil && cur.index < 0 {
			s.push(cur)
		}
		return
	}
	delete(s.pending, e.key)
	switch {
	case errors.Is(r.Err, ErrClosed):
		// Shutting down: the alarm stays in the index and fires after the
		// restart.
	case r.Err != nil:
		s.h.log.Error("alarm not delivered; retrying", "class", e.key.class, "id", e.key.id.String(), "error", r.Err)
		s.schedule(e.key, e.name, e.sched, time.Now().Add(s.retryBase), e.retry)
	case r.Failed && r.Next.IsZero() || r.Failed && r.Next.UnixMilli() == e.sched:
		if e.retry >= maxAlarmRetries {
			s.h.log.Error("alarm failed too often; giving up", "class", e.key.class, "id", e.key.id.String(), "retries", e.retry)
			go s.forget(e.key, e.sched)
			return
		}
		delay := s.retryBase << e.retry
		delay += time.Duration((rand.Float64()*0.5 - 0.25) * float64(delay)) // ±25 %
		s.schedule(e.key, e.name, e.sched, time.Now().Add(delay), e.retry+1)
	case !r.Next.IsZero():
		s.schedule(e.key, e.name, r.Next.UnixMilli(), r.Next, 0)
	default:
		go s.forget(e.key, e.sched)
	}
}

// close stops the scheduler and closes the index.
func (s *alarmScheduler) close() error {
	close(s.stop)
	<-s.done
	// Checkpoint here, where an error is seen, not in SQLite's close.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.checkpointNow("TRUNCATE")
	if err = errors.Join(err, s.db.Close()); err != nil || s.rec == nil {
		return err
	}
	return s.rec.Closed()
}

// deliverAlarm activates the object and hands it the alarm.
func (h *Host) deliverAlarm(k alarmKey, name string, sched int64, retry int, done func(AlarmResult)) {
	for {
		o, err := h.activate(k.class, k.id, name)
		if err != nil {
			done(AlarmResult{Err: err})
			return
		}
		t, ok := o.inst.(AlarmTaker)
		if !ok {
			done(AlarmResult{Err: fmt.Errorf("class %s does not take alarms", k.class)})
			return
		}
		ch := make(chan AlarmResult, 1)
		t.Alarm(sched, retry, func(r AlarmResult) { ch <- r })
		r := <-ch
		if errors.Is(r.Err, ErrEvicted) {
			continue
		}
		done(r)
		return
	}
}
