package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	commitlog "github.com/cairn-dev/cairn/commit"
)

// An object's history (Options.History): each commit becomes a record
// (commitlog.Record) handed to the commit log with the DB as its file, so the
// log makes the WAL and the record durable together. Bookmarks name the
// states (Bookmark, BookmarkForTime), and RestoreOnNextOpen brings the
// object back to one the next time its file is opened: after ctx.abort()
// or an eviction, as Cloudflare's onNextSessionRestoreBookmark.

// Errors of the history API.
var (
	// ErrNoHistory is returned when the object keeps no history (cairn
	// runs with history off).
	ErrNoHistory = errors.New("point-in-time recovery is not enabled: cairn keeps history only with history on (the default)")
	// ErrBookmark is returned for a string that is not a bookmark of this
	// object.
	ErrBookmark = errors.New("invalid bookmark: not a bookmark of this Durable Object")
	// ErrOutsideWindow is returned for a bookmark or time the object's
	// history does not hold (older than its retention window, before the
	// object's history began, or in the future).
	ErrOutsideWindow = errors.New("the requested point in time is outside the history of this Durable Object")
)

// restoreFile, in the history directory, holds the sequence number an
// object restores to when it next opens its file.
const restoreFile = "restore-on-open"

// bookmark formats seq in D1's bookmark shape, 8-8-8-32 hex digits, so
// that string order is history order; the last group identifies the object.
func (db *DB) bookmark(seq uint64) string {
	sum := sha256.Sum256([]byte("cairn-do:" + db.hist.Name()))
	return fmt.Sprintf("%08x-%08x-00000000-%s", seq>>32, seq&0xffffffff, hex.EncodeToString(sum[:16]))
}

func (db *DB) parseBookmark(b string) (uint64, error) {
	parts := strings.Split(b, "-")
	if len(parts) != 4 || len(parts[0]) != 8 || len(parts[1]) != 8 || len(parts[2]) != 8 || len(parts[3]) != 32 {
		return 0, ErrBookmark
	}
	hi, err1 := strconv.ParseUint(parts[0], 16, 32)
	lo, err2 := strconv.ParseUint(parts[1], 16, 32)
	if err1 != nil || err2 != nil || db.bookmark(0)[27:] != parts[3] {
		return 0, ErrBookmark
	}
	return hi<<32 | lo, nil
}

// Bookmark returns the bookmark of the latest committed state (the writes
// of the open implicit transaction are not in it).
func (db *DB) Bookmark() (string, error) {
	if db.hist == nil {
		return "", ErrNoHistory
	}
	if err := db.ensureHistory(); errors.Is(err, ErrOutsideWindow) {
		return db.bookmark(0), nil // nothing written yet: the first state
	} else if err != nil {
		return "", err
	}
	return db.bookmark(db.hist.Last().Seq), nil
}

// BookmarkForTime returns the bookmark of the state current at t.
func (db *DB) BookmarkForTime(t time.Time) (string, error) {
	if db.hist == nil {
		return "", ErrNoHistory
	}
	if err := db.ensureHistory(); err != nil {
		return "", err
	}
	if t.After(time.Now()) {
		return "", fmt.Errorf("%w: %s is in the future", ErrOutsideWindow, t.UTC().Format(time.RFC3339Nano))
	}
	seq, err := db.hist.SeqAt(t)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrOutsideWindow, err)
	}
	return db.bookmark(seq), nil
}

// RestoreOnNextOpen makes the object's storage become the state of
// bookmark b the next time its file is opened (the object restarts: after
// ctx.abort(), a reset or an eviction). It returns the bookmark of the
// state now, to which a later restore undoes this one.
func (db *DB) RestoreOnNextOpen(b string) (string, error) {
	if db.hist == nil {
		return "", ErrNoHistory
	}
	if err := db.ensureHistory(); err != nil {
		return "", err
	}
	seq, err := db.parseBookmark(b)
	if err != nil {
		return "", err
	}
	if err := db.hist.Check(seq); err != nil {
		return "", fmt.Errorf("%w: %w", ErrOutsideWindow, err)
	}
	dir := filepath.Dir(db.hist.Path(restoreFile))
	if err := commitlog.MkdirAll(dir); err != nil {
		return "", err
	}
	if err := os.WriteFile(db.hist.Path(restoreFile), []byte(strconv.FormatUint(seq, 10)), 0o644); err != nil {
		return "", fmt.Errorf("storage: %w", err)
	}
	db.restorePending = true
	return db.bookmark(db.hist.Last().Seq), nil
}

// RestorePending reports whether RestoreOnNextOpen was called: the owner
// reopens the storage when the object restarts.
func (db *DB) RestorePending() bool { return db.restorePending }

// ensureHistory opens the file if it exists, so its history is connected
// (a base saved for an object that had none).
func (db *DB) ensureHistory() error {
	if db.conn != nil {
		return nil
	}
	_, err := db.openFile(false)
	if err != nil {
		return err
	}
	if db.conn == nil && db.hist.Empty() {
		return ErrOutsideWindow // no file, no history yet: no state to name
	}
	return nil
}

// startHistory connects a newly opened file to its history: it saves a
// base when the history is empty (or does not match the file), resumes
// reading the WAL after the last record otherwise, and runs a restore
// asked for by RestoreOnNextOpen.
func (db *DB) startHistory() error {
	h := db.hist
	db.tail = commitlog.NewWALTail(db.path)
	rebase := h.Empty() || db.diverged
	if db.diverged {
		db.log.Warn("storage: the object's file was written outside its history; the history continues from a snapshot of the current state", "path", db.path)
	}
	db.diverged = false
	if !rebase {
		if err := db.tail.Resume(h.Last().WAL); err != nil {
			db.log.Warn("storage: the object's file does not match its history; the history continues from a snapshot of the current state", "path", db.path, "err", err)
			rebase = true
		}
	}
	if rebase {
		if err := db.checkpointWAL("TRUNCATE"); err != nil {
			return err
		}
		db.tail.Reset()
		seq := uint64(0)
		if !h.Empty() {
			seq = h.Last().Seq + 1
		}
		if err := h.SaveBase(db.path, seq, time.Now()); err != nil {
			return err
		}
	}
	b, err := os.ReadFile(h.Path(restoreFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	target, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err == nil {
		err = db.restoreNow(target)
	}
	if err != nil {
		return fmt.Errorf("storage: restore on open: %w", err)
	}
	db.restorePending = false
	if err := os.Remove(h.Path(restoreFile)); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	return nil
}

// restoreNow makes the file the state of record target, as a record of its
// own, with the connection open and nothing uncommitted.
func (db *DB) restoreNow(target uint64) error {
	if err := db.checkpointWAL("TRUNCATE"); err != nil {
		return err
	}
	// The commits before must be durable before the restore's record.
	if err := db.Sync(); err != nil {
		return err
	}
	if err := db.hist.Sync(); err != nil {
		return err
	}
	if err := db.closeConns(); err != nil {
		return err
	}
	seq := db.hist.Last().Seq + 1
	err := db.hist.Restore(target, seq, time.Now(), db.path, nil)
	db.tail.Reset()
	// Reopen whichever file is in place (the old one if the restore failed
	// before its record).
	if _, oerr := db.openConnOnly(); oerr != nil {
		return errors.Join(err, oerr)
	}
	if err != nil {
		return err
	}
	db.log.Info("storage: object restored", "path", db.path, "to", db.bookmark(target), "bookmark", db.bookmark(seq))
	return nil
}

// recordCommit hands the commit just made to the commit log as a record.
// A failure fails every later Sync: the commit cannot be acknowledged.
func (db *DB) recordCommit() {
	if db.hist == nil || db.tail == nil {
		return
	}
	frames, size, page, ok, err := db.tail.Next()
	if err == nil && ok {
		err = db.commitLog.Record(db, &commitlog.Record{
			Kind: commitlog.KindCommit, DB: db.hist.Name(), Seq: db.hist.Last().Seq + 1, Time: time.Now(),
			PageSize: page, DBSize: size, Frames: frames, WAL: db.tail.Pos(),
		})
	}
	if err != nil {
		s := &db.sync
		s.mu.Lock()
		if s.failed == nil {
			s.failed = fmt.Errorf("record commit of %s: %w", db.path, err)
		}
		s.mu.Unlock()
		db.log.Error("storage: commit not recorded; the object's commits will not be acknowledged", "path", db.path, "err", err)
	}
}

// recordDeleted records that the file was removed (DeleteAll): the empty
// state.
func (db *DB) recordDeleted() {
	if db.hist == nil || db.tail == nil {
		return
	}
	if err := db.commitLog.Record(db, &commitlog.Record{Kind: commitlog.KindCommit, DB: db.hist.Name(), Seq: db.hist.Last().Seq + 1, Time: time.Now(), PageSize: 4096}); err != nil {
		s := &db.sync
		s.mu.Lock()
		if s.failed == nil {
			s.failed = fmt.Errorf("record deletion of %s: %w", db.path, err)
		}
		s.mu.Unlock()
	}
	db.tail = nil // the next file starts a new WAL, read from its start
}
