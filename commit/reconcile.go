package commit

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Reconciliation at open. The Log syncs a database's WAL and its history
// in parallel (one round of group commit waits for both, not one after the
// other), so a crash can leave either ahead of the other:
//
//   - the history behind: the WAL holds committed frames no durable record
//     holds (a SIGKILL before the round wrote the records, or a power cut
//     that kept the WAL's sync and not the segment's). Owners checkpoint
//     only once every record is durable (History.Sync before a checkpoint
//     that may fold, restart or remove the WAL), so the missing commits are
//     still in the WAL: Reconcile records them from it, one record each.
//   - the history ahead: durable records whose frames did not survive (a
//     power cut that kept the segment's sync and not the WAL's). Neither
//     was acknowledged, but the record is durable: Reconcile rebuilds the
//     database as the history's latest state (Build) and swaps it in.
//
// Both prefixes are of the same sequence of commits (SQLite appends a
// transaction's frames after the previous one's, chained by checksums; the
// history appends records in order), so only one of the two can happen.

// Reconciliation says what Reconcile found and did.
type Reconciliation struct {
	// Recorded is the number of commits found in the WAL that no record
	// held, now recorded.
	Recorded int
	// RolledForward is set when the database lacked the last records'
	// commits and was rebuilt from the history.
	RolledForward bool
	// DroppedWAL is set when the WAL was of a generation already folded
	// into the database file, and was removed.
	DroppedWAL bool
	// Diverged is set when the database is neither a state of the history
	// nor one it can be rolled forward from: it was written outside the
	// history. Nothing was changed; the owner must save a base of it
	// (SaveBase) before recording more.
	Diverged bool
}

// Changed reports whether Reconcile changed anything or found the
// database diverged.
func (r Reconciliation) Changed() bool {
	return r.Recorded > 0 || r.RolledForward || r.DroppedWAL || r.Diverged
}

// Reconcile makes the database at dbPath and the history agree, so that
// the database is the state of the history's last record: call it before
// opening the database (and after FinishRestore), with no connection open
// on it. It records the WAL's commits the history lacks (their time is
// now) and rebuilds the database when the history holds commits the
// database lost. An empty history is left alone: the owner saves a base.
func (h *History) Reconcile(dbPath string, now time.Time) (Reconciliation, error) {
	var rc Reconciliation
	if h.Empty() {
		return rc, nil
	}
	last := h.Last()
	wal, err := readWAL(dbPath + "-wal")
	if err != nil {
		return rc, fmt.Errorf("history %s: reconcile: %w", h.name, err)
	}
	if last.Kind == KindCommit && last.WAL.Offset != 0 && wal.valid && wal.salt1 == last.WAL.Salt1 && wal.salt2 == last.WAL.Salt2 {
		// The WAL is of the last record's generation: it either holds the
		// last record's commit (and maybe more) or ends before it.
		for i, c := range wal.commits {
			if c.end == last.WAL {
				rc.Recorded, err = h.recordWAL(wal.commits[i+1:], wal.page, last.Seq, now)
				return rc, err
			}
		}
		return h.rollForward(dbPath, last.Seq)
	}
	if len(wal.commits) > 0 {
		same, err := wal.inFile(dbPath)
		if err != nil {
			return rc, fmt.Errorf("history %s: reconcile: %w", h.name, err)
		}
		if !same {
			// A generation started after the last recorded one was
			// checkpointed: every commit in it is new.
			rc.Recorded, err = h.recordWAL(wal.commits, wal.page, last.Seq, now)
			return rc, err
		}
		// A generation already folded into the file (a power cut lost the
		// header of the next one): reading it again as new would record
		// old pages over newer ones.
		if err := removeWAL(dbPath); err != nil {
			return rc, fmt.Errorf("history %s: reconcile: %w", h.name, err)
		}
		rc.DroppedWAL = true
	}
	// The database is its file alone: it must be the last record's state,
	// or the state before the last generation (whose frames a power cut
	// took from the WAL) to be rolled forward. Anything else was written
	// outside the history (with history off: cairn d1 execute): it is
	// kept, and the owner starts the history again from it.
	ok, err := h.fileMatches(dbPath, last)
	if err != nil || ok {
		return rc, err
	}
	before, err := h.fileBeforeGeneration(dbPath, last)
	if err != nil {
		return rc, err
	}
	if !before {
		rc.Diverged = true
		return rc, nil
	}
	rc2, err := h.rollForward(dbPath, last.Seq)
	rc2.DroppedWAL = rc.DroppedWAL
	return rc2, err
}

// recordWAL appends a record for each of commits (numbered after seq) and
// syncs them.
func (h *History) recordWAL(commits []walCommit, page uint32, seq uint64, now time.Time) (int, error) {
	if len(commits) == 0 {
		return 0, nil
	}
	for _, c := range commits {
		seq++
		rec := &Record{Kind: KindCommit, DB: h.name, Seq: seq, Time: now, PageSize: page, DBSize: c.dbSize, Frames: c.frames, WAL: c.end}
		if err := h.Append(rec); err != nil {
			return 0, err
		}
	}
	if err := h.Sync(); err != nil {
		return 0, err
	}
	return len(commits), nil
}

// rollForward replaces the database with the history's state at seq.
func (h *History) rollForward(dbPath string, seq uint64) (Reconciliation, error) {
	tmp := dbPath + ".reconcile"
	defer os.Remove(tmp)
	if err := h.Build(seq, tmp); err != nil {
		return Reconciliation{}, fmt.Errorf("history %s: reconcile: %w", h.name, err)
	}
	if err := installDB(tmp, dbPath); err != nil {
		return Reconciliation{}, fmt.Errorf("history %s: reconcile: %w", h.name, err)
	}
	return Reconciliation{RolledForward: true}, nil
}

// installDB replaces the database at dbPath with the complete, synced file
// src: its WAL removed (its frames belong to the old file), then a rename,
// each step durable. A crash in between leaves the old file without its
// WAL, which the next Reconcile rolls forward again.
func installDB(src, dbPath string) error {
	if err := removeWAL(dbPath); err != nil {
		return err
	}
	if err := os.Rename(src, dbPath); err != nil {
		return err
	}
	return syncPath(filepath.Dir(dbPath))
}

// removeWAL removes the database's WAL, shared-memory index and rollback
// journal, durably.
func removeWAL(dbPath string) error {
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(dbPath + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return syncPath(filepath.Dir(dbPath))
}

// fileMatches reports whether the database file holds, for every page the
// records of last's WAL generation wrote, that page's last version: the
// file is then the state of last (pages they did not write are the same in
// every state since the generation began). A generation begins after a
// checkpoint that every earlier record waited for, so the file is at least
// the state before it.
func (h *History) fileMatches(dbPath string, last Record) (bool, error) {
	if last.Kind != KindCommit || last.WAL.Offset == 0 {
		return true, nil
	}
	gen, err := h.generation(last)
	if err != nil {
		return false, err
	}
	pages := map[uint32][]byte{}
	for _, r := range gen {
		for _, f := range r.Frames {
			pages[f.Pgno] = f.Data
		}
	}
	f, err := os.Open(dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return len(pages) == 0, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, last.PageSize)
	for pgno, data := range pages {
		if pgno > last.DBSize {
			continue // truncated away by a later record
		}
		n, err := f.ReadAt(buf, int64(pgno-1)*int64(last.PageSize))
		if n < len(buf) || !bytes.Equal(buf, data) {
			if n < len(buf) || err == nil {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}

// fileBeforeGeneration reports whether the database file holds, for every
// page the records of last's WAL generation wrote, the page as it was
// before the generation began: the file is then the state a power cut
// leaves when it took the whole generation from the WAL, and rolling it
// forward loses nothing. It builds that state from the history (a rare
// case: a crash, or a database written outside the history).
func (h *History) fileBeforeGeneration(dbPath string, last Record) (bool, error) {
	if last.Kind != KindCommit || last.WAL.Offset == 0 {
		return false, nil
	}
	gen, err := h.generation(last)
	if err != nil || len(gen) == 0 {
		return false, err
	}
	before := gen[0].Seq - 1
	if h.Check(before) != nil {
		return false, nil // not buildable: cannot tell
	}
	tmp := dbPath + ".reconcile"
	defer os.Remove(tmp)
	if err := h.Build(before, tmp); err != nil {
		return false, err
	}
	pages := map[uint32]bool{}
	for _, r := range gen {
		for _, f := range r.Frames {
			pages[f.Pgno] = true
		}
	}
	a, err := os.Open(dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		// No file: the state before is the empty one only if the built
		// one is empty too.
		info, err := os.Stat(tmp)
		return err == nil && info.Size() == 0, err
	} else if err != nil {
		return false, err
	}
	defer a.Close()
	b, err := os.Open(tmp)
	if err != nil {
		return false, err
	}
	defer b.Close()
	pa, pb := make([]byte, last.PageSize), make([]byte, last.PageSize)
	for pgno := range pages {
		off := int64(pgno-1) * int64(last.PageSize)
		na, _ := a.ReadAt(pa, off)
		nb, _ := b.ReadAt(pb, off)
		if na != nb || !bytes.Equal(pa[:na], pb[:nb]) {
			return false, nil
		}
	}
	return true, nil
}

// generation returns the records of last's WAL generation, in order: the
// longest run of commit records ending with last whose WAL positions have
// last's salts. The segments' indexes find where the run starts, so only
// its records are read (an object's run is typically its commits since it
// was last opened).
func (h *History) generation(last Record) ([]*Record, error) {
	in := func(e entry) bool {
		return e.kind == KindCommit && e.walOff && e.salt1 == last.WAL.Salt1 && e.salt2 == last.WAL.Salt2
	}
	h.mu.Lock()
	if err := h.flushLocked(); err != nil {
		h.mu.Unlock()
		return nil, err
	}
	type part struct {
		seg *segment
		off int64
	}
	var parts []part // segments holding the run, latest first
	for i := len(h.segs) - 1; i >= 0; i-- {
		s := h.segs[i]
		if s.index == nil {
			if err := h.loadIndex(s, i == len(h.segs)-1); err != nil {
				h.mu.Unlock()
				return nil, err
			}
		}
		k := len(s.index)
		for k > 0 && (s.index[k-1].seq > last.Seq || in(s.index[k-1])) {
			k--
		}
		if k < len(s.index) {
			parts = append(parts, part{&segment{first: s.first, size: s.size}, s.index[k].off})
		}
		if k > 0 {
			break // the run starts in this segment
		}
	}
	h.mu.Unlock()
	var run []*Record
	for i := len(parts) - 1; i >= 0; i-- {
		if err := h.scanFrom(parts[i].seg, parts[i].off, func(r *Record) error {
			if r.Seq <= last.Seq {
				run = append(run, r)
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// walLog is what a WAL file holds: its generation and its committed
// transactions, in order.
type walLog struct {
	valid        bool // the file has a valid header
	salt1, salt2 uint32
	page         uint32
	commits      []walCommit
}

// walCommit is one transaction of a WAL: the pages it wrote (each once, its
// last version), the database size after it and the position after it.
type walCommit struct {
	frames []Frame
	dbSize uint32
	end    WALPos
}

// readWAL reads the WAL file at path (none: an empty walLog).
func readWAL(path string) (walLog, error) {
	var w walLog
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return w, nil
	} else if err != nil {
		return w, err
	}
	var t WALTail
	if len(b) < 32 || !t.header(b[:32]) {
		return w, nil
	}
	be := binary.BigEndian
	w.valid, w.page = true, t.page
	w.salt1, w.salt2 = be.Uint32(b[16:]), be.Uint32(b[20:])
	c1, c2 := be.Uint32(b[24:]), be.Uint32(b[28:])
	frameSize := 24 + int(t.page)
	start := 32
	for off := 32; off+frameSize <= len(b); off += frameSize {
		fh := b[off : off+24]
		if be.Uint32(fh[8:]) != w.salt1 || be.Uint32(fh[12:]) != w.salt2 {
			break
		}
		c1, c2 = walChecksum(t.be, c1, c2, fh[:8])
		c1, c2 = walChecksum(t.be, c1, c2, b[off+24:off+frameSize])
		if c1 != be.Uint32(fh[16:]) || c2 != be.Uint32(fh[20:]) {
			break
		}
		if size := be.Uint32(fh[4:]); size != 0 {
			end := off + frameSize
			w.commits = append(w.commits, walCommit{
				frames: committedPages(b[start:end], frameSize),
				dbSize: size,
				end:    WALPos{Salt1: w.salt1, Salt2: w.salt2, Offset: int64(end), Ck1: c1, Ck2: c2},
			})
			start = end
		}
	}
	return w, nil
}

// inFile reports whether the database file already holds the last version
// of every page the WAL's commits wrote (up to the database's size after
// them): the WAL is then of a generation checkpointed into the file.
func (w walLog) inFile(dbPath string) (bool, error) {
	if len(w.commits) == 0 {
		return true, nil
	}
	size := w.commits[len(w.commits)-1].dbSize
	pages := map[uint32][]byte{}
	for _, c := range w.commits {
		for _, f := range c.frames {
			pages[f.Pgno] = f.Data
		}
	}
	f, err := os.Open(dbPath)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	defer f.Close()
	buf := make([]byte, w.page)
	for pgno, data := range pages {
		if pgno > size {
			continue
		}
		n, err := f.ReadAt(buf, int64(pgno-1)*int64(w.page))
		if n < len(buf) || !bytes.Equal(buf, data) {
			if n < len(buf) || err == nil {
				return false, nil
			}
			return false, err
		}
	}
	return true, nil
}
