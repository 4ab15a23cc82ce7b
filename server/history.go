package server

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cairn-dev/cairn/commit"
)

// HistoryDir is where a Worker's history store lives: one directory per
// database (d1/<id>, objects/<class>/<id>) of segment files and snapshots
// (package commit, History).
func HistoryDir(persist, worker string) string {
	return filepath.Join(persist, worker, "history")
}

// DefaultHistoryRetention is how long history is kept by default: 30 days,
// as Cloudflare keeps it for D1 and SQLite-backed Durable Objects.
const DefaultHistoryRetention = 30 * 24 * time.Hour

// NewHistories returns the history store of a Worker's state directory,
// each database's history kept as long as r says.
func NewHistories(persist, worker string, r Retentions, log *slog.Logger) *commit.Histories {
	return commit.NewHistories(HistoryDir(persist, worker), r.options(log))
}

// histories returns the history store of the locked directory, made once
// and shared by every App loaded on it (a reload's new App and the old one
// serving its last requests append to the same files, so they must share
// what the store knows of them). Each call sets the retentions: those of
// the config loaded last.
func (l *StateLocks) histories(s *stateLock, persist, worker string, r Retentions, log *slog.Logger) *commit.Histories {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.hist == nil {
		s.hist = NewHistories(persist, worker, r, log)
	} else {
		s.hist.SetOptions(r.options(log))
	}
	return s.hist
}

// setAsideHistory moves a Worker's history out of the way when cairn runs
// with history off: the writes made meanwhile are in no record, so the
// history would no longer describe the objects' files. D1 databases would
// notice it themselves (their commit sequence), objects could not. The
// old history is kept under history.off-<unix time> for inspection.
func setAsideHistory(persist, worker string, log *slog.Logger) error {
	dir := HistoryDir(persist, worker)
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	aside := fmt.Sprintf("%s.off-%d", dir, time.Now().Unix())
	if err := os.Rename(dir, aside); err != nil {
		return fmt.Errorf("history off: set the history aside: %w", err)
	}
	log.Warn("history is off: the existing history no longer matches what will be written and was set aside; delete it when it is not needed", "dir", aside)
	return nil
}

// Lock takes the lock of the state directory dir (a Worker's directory
// under the state directory), as Load does: ErrStateLocked if another
// process serves it. Close releases it.
func (l *StateLocks) Lock(dir string) error {
	_, err := l.lock(dir)
	return err
}
