package commit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// restoringFile marks a restore under way in a history directory: it holds
// the sequence number of the restore's record.
const restoringFile = "restoring"

// Restore makes the database at dbPath the state it had after record
// target, and records that as record seq (KindRestore, From target), so the
// restore is itself in the history and can be undone by restoring to
// seq-1. fix, if set, may change the built file before it is used (D1 sets
// its commit sequence to seq). The database must be closed by its owner,
// with every commit recorded and durable.
//
// Crash safety: the restored state is built beside the history and made
// durable as snapshot seq; the record is the commit point. A crash before
// the record is durable leaves the old database (OpenHistory removes the
// orphan snapshot); after it, FinishRestore (which the owner calls before
// opening the database) completes the swap of the file. The swap itself is
// a rename, so the database file is always either the old one or the
// restored one.
func (h *History) Restore(target, seq uint64, now time.Time, dbPath string, fix func(path string) error) error {
	if err := h.Check(target); err != nil {
		return err
	}
	if last := h.Last().Seq; seq <= last && h.Empty() == false {
		return fmt.Errorf("history %s: restore record %d after %d", h.name, seq, last)
	}
	tmp := filepath.Join(h.dir, "tmp-restore.db")
	defer os.Remove(tmp)
	if err := h.Build(target, tmp); err != nil {
		return err
	}
	if fix != nil {
		if err := fix(tmp); err != nil {
			return fmt.Errorf("history %s: restore: %w", h.name, err)
		}
		for _, suffix := range []string{"-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}
	if err := h.adoptSnapshot(seq, tmp); err != nil {
		return err
	}
	if err := writeFileDurably(filepath.Join(h.dir, restoringFile), []byte(strconv.FormatUint(seq, 10))); err != nil {
		return fmt.Errorf("history %s: restore: %w", h.name, err)
	}
	if err := h.Append(&Record{Kind: KindRestore, DB: h.name, Seq: seq, Time: now, From: target}); err != nil {
		return err
	}
	if err := h.Sync(); err != nil {
		return err
	}
	return h.FinishRestore(dbPath)
}

// adoptSnapshot makes the built file path snapshot seq: synced, renamed
// into place, the directory synced (no copy: a restore of a large database
// copies it once less).
func (h *History) adoptSnapshot(seq uint64, path string) error {
	if err := syncPath(path); err != nil {
		return fmt.Errorf("history %s: snapshot %d: %w", h.name, seq, err)
	}
	return h.placeSnapshot(seq, path)
}

// placeSnapshot renames the synced file path into place as snapshot seq,
// syncs the directory and adds seq to the snapshots.
func (h *History) placeSnapshot(seq uint64, path string) error {
	err := os.Rename(path, h.snapPath(seq))
	if err == nil {
		err = syncPath(h.dir)
	}
	if err != nil {
		return fmt.Errorf("history %s: snapshot %d: %w", h.name, seq, err)
	}
	h.mu.Lock()
	if i, found := slices.BinarySearch(h.snaps, seq); !found {
		h.snaps = slices.Insert(h.snaps, i, seq)
	}
	if seq >= h.last.Seq {
		h.since = 0
	}
	h.mu.Unlock()
	return nil
}

// FinishRestore completes a restore a crash interrupted (see Restore):
// call it before opening the database at dbPath. It does nothing if no
// restore is under way.
func (h *History) FinishRestore(dbPath string) error {
	marker := filepath.Join(h.dir, restoringFile)
	b, err := os.ReadFile(marker)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("history %s: %w", h.name, err)
	}
	seq, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	last := h.Last()
	if err == nil && last.Seq == seq && last.Kind == KindRestore {
		if err := h.swapIn(seq, dbPath); err != nil {
			return fmt.Errorf("history %s: restore: %w", h.name, err)
		}
	}
	// Otherwise the record never became durable: the database is the old
	// one, and OpenHistory removed the snapshot.
	if err := os.Remove(marker); err != nil {
		return fmt.Errorf("history %s: %w", h.name, err)
	}
	return syncPath(h.dir)
}

// swapIn replaces the database at dbPath with snapshot seq: a copy made
// durable beside it, the old WAL removed, then a rename.
func (h *History) swapIn(seq uint64, dbPath string) error {
	tmp := dbPath + ".restore"
	out, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	err = copyFileTo(h.snapPath(seq), out)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	// The old WAL's frames belong to the old file: they must not be
	// replayed into the new one.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := syncPath(filepath.Dir(dbPath)); err != nil {
		return err
	}
	if err := os.Rename(tmp, dbPath); err != nil {
		return err
	}
	return syncPath(filepath.Dir(dbPath))
}

func writeFileDurably(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return syncPath(filepath.Dir(path))
}

// Compact keeps the history to its retention window and bounds the work of
// a restore: the sealed segments whose records are all older than now
// minus the retention are folded into a snapshot of their last record and
// removed (with the snapshots before it), and a snapshot is taken at the
// end of the sealed segments once SnapshotBytes of records have been
// written since the latest one. The segment being appended to is never
// touched. It runs after a segment is sealed and may be called at any time.
func (h *History) Compact(now time.Time) error {
	h.mu.Lock()
	if h.compact || len(h.segs) < 2 || len(h.snaps) == 0 {
		h.mu.Unlock()
		return nil
	}
	h.compact = true
	defer func() {
		h.mu.Lock()
		h.compact = false
		h.mu.Unlock()
	}()
	if err := h.indexLocked(); err != nil {
		h.mu.Unlock()
		return err
	}
	sealed := h.segs[:len(h.segs)-1]
	cutoff := now.Add(-h.opts.Retention)
	k := -1
	for i, s := range sealed {
		if len(s.index) > 0 && !s.lastTime.After(cutoff) {
			k = i
		}
	}
	latest := h.snaps[len(h.snaps)-1]
	var since int64
	for _, s := range sealed {
		if s.first > latest {
			since += s.size
		}
	}
	var wants []uint64
	var foldAt uint64
	if k >= 0 {
		foldAt = sealed[k].last
		wants = append(wants, foldAt)
	}
	if end := sealed[len(sealed)-1].last; since >= h.opts.SnapshotBytes && end > latest {
		wants = append(wants, end)
	}
	h.mu.Unlock()

	for _, seq := range wants {
		if _, err := os.Stat(h.snapPath(seq)); err == nil {
			continue
		}
		tmp := filepath.Join(h.dir, fmt.Sprintf("tmp-build-%016x.db", seq))
		err := h.Build(seq, tmp)
		if err == nil {
			err = h.adoptSnapshot(seq, tmp)
		}
		os.Remove(tmp) // on failure
		if err != nil {
			return err
		}
	}
	if k < 0 {
		return nil
	}
	// Remove what the snapshot at foldAt replaces: segments up to sealed[k]
	// and older snapshots. Records after foldAt start the next segment.
	h.mu.Lock()
	defer h.mu.Unlock()
	var remove []string
	n := 0
	for _, s := range h.segs {
		if len(s.index) > 0 && s.last <= foldAt && s != h.segs[len(h.segs)-1] {
			remove = append(remove, h.segPath(s.first))
			n++
			continue
		}
		break
	}
	h.segs = h.segs[n:]
	keep := h.snaps[:0]
	for _, seq := range h.snaps {
		if seq < foldAt {
			remove = append(remove, h.snapPath(seq))
		} else {
			keep = append(keep, seq)
		}
	}
	h.snaps = keep
	for _, p := range remove {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("history %s: compact: %w", h.name, err)
		}
	}
	return syncPath(h.dir)
}

// compactBackground runs Compact, logging its failure.
func (h *History) compactBackground() {
	defer h.bg.Done()
	if err := h.Compact(time.Now()); err != nil {
		h.opts.Logger.Error("history: compaction failed", "db", h.name, "err", err)
	}
}
