package d1

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// Time Travel (spec 3.6, 70): with a history (Options.History), every
// commit is handed to the commit log as a record of the pages it wrote,
// numbered with the database's commit sequence, so the bookmarks of
// sessions and of Time Travel are one ordering. BookmarkAt finds the
// bookmark of a past moment; Restore brings the database back to it.

// Errors of Time Travel.
var (
	// ErrNoTimeTravel is returned when the database keeps no history
	// (cairn runs with history off, or without a commit log).
	ErrNoTimeTravel = &Error{Kind: KindError, Msg: "Time Travel is not enabled for this database: cairn keeps history only with history on (the default)"}
	// ErrTimeTravelWindow is returned for a moment or bookmark outside the
	// history the database keeps (older than its retention window, from
	// before its history began, or in the future).
	ErrTimeTravelWindow = &Error{Kind: KindError, Msg: "the requested point in time is outside the Time Travel window of this database"}
)

// historyName is the database's name in the history store.
func historyName(id string) string { return "d1/" + id }

// startHistory connects the database to its history after Open: it
// completes a restore a crash interrupted (before the file was opened, in
// Open), resumes reading the WAL after the last record, or saves a base
// snapshot when the history is empty or does not match the file (diverged:
// commit.History.Reconcile found it written outside the history).
func (db *DB) startHistory(h *commit.History, diverged bool) error {
	db.hist, db.tail = h, commit.NewWALTail(db.path)
	seq := db.seq.Load()
	if !h.Empty() {
		last := h.Last()
		// Every recorded state carries the database's commit_seq, so a
		// database written without recording (by a process with history
		// off, or a crash between the WAL's sync and the record's) has
		// another one than the last record.
		err := db.tail.Resume(last.WAL)
		if err == nil && last.Seq == seq && !diverged {
			return nil
		}
		db.log.Warn("d1: the database was changed outside its history (written with history off, or a crash between their syncs); the history continues from a snapshot of the current state",
			"path", db.path, "history_seq", last.Seq, "commit_seq", seq, "err", err)
		if last.Seq >= seq {
			// Keep the ordering: the database's next states come after
			// every recorded one.
			seq = last.Seq + 1
			if err := db.w.exec(`UPDATE `+metaTable+` SET value = ? WHERE key = 'commit_seq'`, int64(seq)); err != nil {
				return err
			}
			db.seq.Store(seq)
		}
	}
	if err := db.checkpoint("TRUNCATE"); err != nil {
		return err
	}
	db.tail.Reset()
	return h.SaveBase(db.path, seq, time.Now())
}

// record hands the commit just made (sequence seq) to the commit log as a
// record. The write lock is held.
func (db *DB) record(seq uint64) error {
	frames, size, page, ok, err := db.tail.Next()
	if err != nil || !ok {
		return err
	}
	return db.durable.Record(&commit.Record{
		Kind: commit.KindCommit, DB: db.hist.Name(), Seq: seq, Time: time.Now(),
		PageSize: page, DBSize: size, Frames: frames, WAL: db.tail.Pos(),
	})
}

// BookmarkAt returns the bookmark of the database's state at t: that of
// the last commit at or before t. A zero t means now (the latest commit).
func (db *DB) BookmarkAt(t time.Time) (string, error) {
	if db.hist == nil {
		return "", ErrNoTimeTravel
	}
	if t.IsZero() {
		return db.Bookmark(), nil
	}
	if t.After(time.Now()) {
		return "", timeTravelError(fmt.Errorf("%s is in the future", t.UTC().Format(time.RFC3339Nano)))
	}
	seq, err := db.hist.SeqAt(t)
	if err != nil {
		return "", timeTravelError(err)
	}
	return db.bookmark(seq), nil
}

func timeTravelError(err error) error {
	if errors.Is(err, commit.ErrNoHistory) {
		return ErrNoTimeTravel
	}
	return &Error{Kind: KindError, Msg: ErrTimeTravelWindow.Msg + ": " + err.Error()}
}

// Restore brings the database back to the state of bookmark b (one of
// this database's, inside its window). The restore is a commit of its own:
// it returns its bookmark and the bookmark of the state before it, to which
// a restore undoes this one (D1's previous_bookmark). Batches wait while it
// runs; nothing changes if it fails.
func (db *DB) Restore(ctx context.Context, b string) (bookmark, previous string, err error) {
	if db.hist == nil {
		return "", "", ErrNoTimeTravel
	}
	target, err := db.ParseBookmark(b)
	if err != nil {
		return "", "", &Error{Kind: KindError, Msg: fmt.Sprintf("invalid bookmark %q: not a bookmark of this database", b)}
	}
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.closed.Load() {
		return "", "", ErrClosed
	}
	// Quiesce: every reader back, so the file can be swapped.
	for range cap(db.rsem) {
		select {
		case db.rsem <- struct{}{}:
		case <-ctx.Done():
			db.drainTokens()
			return "", "", ctx.Err()
		}
	}
	defer db.drainTokens()
	cur, err := db.w.queryInt(`SELECT value FROM ` + metaTable + ` WHERE key = 'commit_seq'`)
	if err != nil {
		return "", "", sqlError(err)
	}
	prev := uint64(cur)
	if err := db.hist.Check(target); err != nil || target > prev {
		if err == nil {
			err = fmt.Errorf("%d is after the latest commit %d", target, prev)
		}
		return "", "", timeTravelError(err)
	}
	// Every commit (each recorded when made) durable, the WAL folded into
	// the file.
	if err := db.durable.Visible(ctx); err != nil {
		return "", "", fmt.Errorf("d1: restore: %w", err)
	}
	if err := db.checkpoint("TRUNCATE"); err != nil {
		return "", "", fmt.Errorf("d1: restore: %w", err)
	}
	db.rmu.Lock()
	for _, c := range db.idle {
		c.close()
	}
	db.idle = nil
	db.rmu.Unlock()
	if err := db.w.close(); err != nil {
		return "", "", fmt.Errorf("d1: restore: %w", err)
	}
	seq := prev + 1
	fix := func(path string) error { // the restored state continues the sequence
		c, err := openConn(path, true, false)
		if err != nil {
			return err
		}
		err = c.exec(`UPDATE `+metaTable+` SET value = ? WHERE key = 'commit_seq'`, int64(seq))
		if err == nil {
			err = c.query("PRAGMA wal_checkpoint(TRUNCATE)", nil, func([]driver.Value) error { return nil })
		}
		return errors.Join(err, c.close())
	}
	rerr := db.hist.Restore(target, seq, time.Now(), db.path, fix)
	// Reopen whichever file is now in place: the old one if the restore
	// failed before its record, else the restored one.
	w, err := openConn(db.path, true, true)
	if err != nil {
		db.closed.Store(true)
		return "", "", fmt.Errorf("d1: restore: reopen: %w", errors.Join(rerr, err))
	}
	db.w = w
	db.tail.Reset()
	if err := db.hist.FinishRestore(db.path); err != nil && rerr == nil {
		rerr = err
	}
	n, err := w.queryInt(`SELECT value FROM ` + metaTable + ` WHERE key = 'commit_seq'`)
	if err != nil {
		return "", "", sqlError(err)
	}
	db.seq.Store(uint64(n))
	if size, err := w.size(); err == nil {
		db.size.Store(size)
	}
	if rerr != nil {
		return "", "", fmt.Errorf("d1: restore: %w", rerr)
	}
	db.log.Info("d1: restored", "path", db.path, "to", b, "bookmark", db.bookmark(seq), "previous", db.bookmark(prev))
	return db.bookmark(seq), db.bookmark(prev), nil
}

// drainTokens gives back the reader tokens Restore took.
func (db *DB) drainTokens() {
	for {
		select {
		case <-db.rsem:
		default:
			return
		}
	}
}
