package commit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// History is the record store of one database: append-only segment files
// of Records and snapshots of the database at some of their sequence
// numbers, in one directory:
//
//	seg-<first seq, 16 hex>.log   "CAIRNHS1", first seq (u64), then records:
//	                              length (u32), CRC-32C of the payload (u32),
//	                              payload (Record.MarshalBinary)
//	snap-<seq, 16 hex>.db         the database file as it was after record seq
//	restoring                     a restore under way (see Restore)
//
// A segment is rolled (a new file started) past SegmentBytes. The state at
// any sequence number from the oldest snapshot on is that snapshot plus the
// records after it (Build). Compact keeps the history to its retention
// window: it folds the oldest segments into a snapshot and removes them,
// and takes a snapshot after every SnapshotBytes of records so that a
// restore replays a bounded amount.
//
// Append and Sync are called in Seq order by the database's owner and the
// Log; the readers (Build, SeqAt, Records) may run on any goroutine.
type History struct {
	dir  string
	name string
	opts HistoryOptions

	mu      sync.Mutex
	segs    []*segment     // sorted by first seq; the last is the one appended to
	cur     *os.File       // the last segment, open for appending; nil until the first Append
	alloc   int64          // bytes written to cur's file, records and the zeros after them
	pending []byte         // records appended to the current segment, not yet written (flushLocked)
	snaps   []uint64       // sequence numbers of the snapshots, sorted
	last    Record         // the last record (without frames)
	any     bool           // there is a last record
	dirty   bool           // appended since the last Sync
	newFile bool           // a segment was created since the last Sync: sync the directory too
	failed  error          // a failed write or sync: the history cannot be trusted after it
	since   int64          // bytes of records appended since the latest snapshot
	compact bool           // a compaction is running
	bg      sync.WaitGroup // background compactions
}

// segment is one segment file and what is known of its records.
type segment struct {
	first, last uint64    // sequence numbers of its first and last record (see index for none)
	firstTime   time.Time // of the first record
	lastTime    time.Time // of its last record
	size        int64
	index       []entry // every record's seq, time and offset; nil until loaded
}

type entry struct {
	seq          uint64
	time         time.Time
	kind         RecordKind
	off          int64
	salt1, salt2 uint32 // the WAL generation of the record's frames (Reconcile)
	walOff       bool   // the record has a WAL position
}

// HistoryOptions configure a History.
type HistoryOptions struct {
	// Retention is how long records are kept (default 30 days): every
	// moment in the window can be restored.
	Retention time.Duration
	// SegmentBytes is the size past which a new segment is started
	// (default 16 MiB).
	SegmentBytes int64
	// SnapshotBytes is the amount of records after which Compact takes a
	// snapshot (default 64 MiB).
	SnapshotBytes int64
	// Logger receives problems of background compaction. Nil: slog.Default().
	Logger *slog.Logger
}

func (o *HistoryOptions) defaults() {
	if o.Retention <= 0 {
		o.Retention = 30 * 24 * time.Hour
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 16 << 20
	}
	if o.SnapshotBytes <= 0 {
		o.SnapshotBytes = 64 << 20
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Errors of History.
var (
	// ErrOutsideWindow is returned for a sequence number or time the history
	// does not hold: older than its oldest snapshot (past the retention
	// window, or before the history began) or newer than its last record.
	ErrOutsideWindow = errors.New("outside the history's window")
	// ErrNoHistory is returned for a database whose history is empty.
	ErrNoHistory = errors.New("no history")
)

var segMagic = []byte("CAIRNHS1")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// OpenHistory opens (creating it if needed) the history in dir. The last
// segment is read to find the last record; a torn record at its end (a
// crash during an append that was never acknowledged) is cut off.
func OpenHistory(dir, name string, opts HistoryOptions) (*History, error) {
	opts.defaults()
	if err := MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("history %s: %w", dir, err)
	}
	h := &History{dir: dir, name: name, opts: opts}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("history %s: %w", dir, err)
	}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, "seg-") && strings.HasSuffix(n, ".log"):
			seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, "seg-"), ".log"), 16, 64)
			if err == nil {
				h.segs = append(h.segs, &segment{first: seq})
			}
		case strings.HasPrefix(n, "snap-") && strings.HasSuffix(n, ".db"):
			seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(n, "snap-"), ".db"), 16, 64)
			if err == nil {
				h.snaps = append(h.snaps, seq)
			}
		case strings.HasPrefix(n, "tmp-"):
			os.Remove(filepath.Join(dir, n)) // an unfinished snapshot
		}
	}
	slices.SortFunc(h.segs, func(a, b *segment) int { return cmpUint(a.first, b.first) })
	slices.Sort(h.snaps)
	if len(h.segs) > 0 {
		s := h.segs[len(h.segs)-1]
		if err := h.loadIndex(s, true); err != nil {
			return nil, err
		}
		if len(s.index) == 0 && len(h.segs) > 1 { // an empty last segment: the one before holds the last record
			if err := h.loadIndex(h.segs[len(h.segs)-2], false); err != nil {
				return nil, err
			}
		}
		for i := len(h.segs) - 1; i >= 0; i-- {
			if len(h.segs[i].index) > 0 {
				r, err := h.read(h.segs[i], h.segs[i].index[len(h.segs[i].index)-1].off)
				if err != nil {
					return nil, err
				}
				r.Frames = nil
				h.last, h.any = *r, true
				break
			}
		}
	}
	// A snapshot after the last record is left from a restore that did not
	// commit (see Restore).
	for len(h.snaps) > 0 && h.snaps[len(h.snaps)-1] > h.last.Seq {
		os.Remove(h.snapPath(h.snaps[len(h.snaps)-1]))
		h.snaps = h.snaps[:len(h.snaps)-1]
	}
	return h, nil
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (h *History) segPath(first uint64) string {
	return filepath.Join(h.dir, fmt.Sprintf("seg-%016x.log", first))
}

func (h *History) snapPath(seq uint64) string {
	return filepath.Join(h.dir, fmt.Sprintf("snap-%016x.db", seq))
}

// loadIndex reads segment s's records' headers. With repair (the last
// segment), a torn or corrupt tail is truncated away.
func (h *History) loadIndex(s *segment, repair bool) error {
	path := h.segPath(s.first)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var hdr [16]byte
	good := int64(0)
	s.index, s.last = []entry{}, 0
	if _, err := io.ReadFull(r, hdr[:]); err == nil && string(hdr[:8]) == string(segMagic) {
		good = 16
		var lenCRC [8]byte
		var payload []byte
		for {
			if _, err := io.ReadFull(r, lenCRC[:]); err != nil {
				break
			}
			n := binary.LittleEndian.Uint32(lenCRC[:])
			if n < recordHeader || n > 1<<30 {
				break
			}
			if cap(payload) < int(n) {
				payload = make([]byte, n)
			}
			payload = payload[:n]
			if _, err := io.ReadFull(r, payload); err != nil {
				break
			}
			if crc32.Checksum(payload, crcTable) != binary.LittleEndian.Uint32(lenCRC[4:]) {
				break
			}
			le := binary.LittleEndian
			e := entry{kind: RecordKind(payload[0] &^ compressedFrames), seq: le.Uint64(payload[1:]), time: time.Unix(0, int64(le.Uint64(payload[9:]))), off: good,
				salt1: le.Uint32(payload[33:]), salt2: le.Uint32(payload[37:]), walOff: le.Uint64(payload[41:]) != 0}
			if len(s.index) == 0 {
				s.firstTime = e.time
			}
			s.index = append(s.index, e)
			s.last, s.lastTime = e.seq, e.time
			good += 8 + int64(n)
		}
	} else if !repair {
		return fmt.Errorf("history %s: %w: bad segment header", path, ErrCorrupt)
	}
	info, err := f.Stat()
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if good < info.Size() && !repair && zeros(f, good, info.Size()) {
		// The preallocated tail of a segment sealed by a crash's restart.
		s.size = good
		return nil
	}
	if good < info.Size() {
		if !repair {
			return fmt.Errorf("history %s: %w at offset %d", path, ErrCorrupt, good)
		}
		if good < 16 {
			// Not even a header survived: start the segment again.
			if _, err := f.WriteAt(segHeader(s.first), 0); err != nil {
				return fmt.Errorf("history: %w", err)
			}
			good = 16
		}
		if err := f.Truncate(good); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("history: %w", err)
		}
	}
	s.size = good
	return nil
}

// zeros reports whether f holds only zero bytes in [from, to).
func zeros(f *os.File, from, to int64) bool {
	buf := make([]byte, 64<<10)
	for off := from; off < to; {
		n, err := f.ReadAt(buf[:min(int64(len(buf)), to-off)], off)
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		if err != nil && n == 0 {
			return false
		}
		off += int64(n)
	}
	return true
}

func segHeader(first uint64) []byte {
	return binary.LittleEndian.AppendUint64(append([]byte(nil), segMagic...), first)
}

// read returns the record at offset off of segment s.
func (h *History) read(s *segment, off int64) (*Record, error) {
	f, err := os.Open(h.segPath(s.first))
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	var lenCRC [8]byte
	if _, err := f.ReadAt(lenCRC[:], off); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	payload := make([]byte, binary.LittleEndian.Uint32(lenCRC[:]))
	if _, err := f.ReadAt(payload, off+8); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return decodeRecord(payload, binary.LittleEndian.Uint32(lenCRC[4:]))
}

func decodeRecord(payload []byte, crc uint32) (*Record, error) {
	if crc32.Checksum(payload, crcTable) != crc {
		return nil, fmt.Errorf("history: %w: checksum", ErrCorrupt)
	}
	r := &Record{}
	if err := r.UnmarshalBinary(payload); err != nil {
		return nil, err
	}
	return r, nil
}

// Path returns the path of a file named name in the history's directory
// (its owner may keep small files of its own there).
func (h *History) Path(name string) string { return filepath.Join(h.dir, name) }

// Name returns the database's name in the store.
func (h *History) Name() string { return h.name }

// Retention returns the retention window.
func (h *History) Retention() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.opts.Retention
}

// Last returns the last record appended (without its frames); its Seq is 0
// if there is none.
func (h *History) Last() Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// Empty reports whether the history has no snapshot, so no state can be
// built from it: the owner must save a base (SaveBase) before recording.
func (h *History) Empty() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.snaps) == 0
}

// Append adds rec to the current segment without writing or syncing it
// (Sync does both).
// rec.Seq must follow the last record's.
func (h *History) Append(rec *Record) error {
	b, err := rec.MarshalBinary()
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed != nil {
		return h.failed
	}
	if h.any && rec.Seq <= h.last.Seq {
		return fmt.Errorf("history %s: record %d after %d", h.name, rec.Seq, h.last.Seq)
	}
	if err := h.appendLocked(rec, b); err != nil {
		h.failed = fmt.Errorf("history %s: %w", h.name, err)
		return h.failed
	}
	return nil
}

func (h *History) appendLocked(rec *Record, b []byte) error {
	var s *segment
	if len(h.segs) > 0 {
		s = h.segs[len(h.segs)-1]
	}
	if s == nil || s.size >= h.opts.SegmentBytes {
		if err := h.flushLocked(); err != nil {
			return err
		}
		if h.cur != nil {
			// The sealed segment loses its preallocated tail and must be
			// durable before the next one holds later records: Sync syncs
			// only the current one.
			if err := h.cur.Truncate(s.size); err != nil {
				return err
			}
			if err := h.cur.Sync(); err != nil {
				return err
			}
			h.cur.Close()
			h.cur = nil
		}
		f, err := os.OpenFile(h.segPath(rec.Seq), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return err
		}
		if _, err := f.Write(segHeader(rec.Seq)); err != nil {
			f.Close()
			return err
		}
		s = &segment{first: rec.Seq, size: 16, index: []entry{}}
		h.segs = append(h.segs, s)
		h.cur, h.alloc, h.newFile = f, 16, true
		if len(h.segs) > 1 {
			h.bg.Add(1)
			go h.compactBackground()
		}
	}
	if h.cur == nil {
		f, err := os.OpenFile(h.segPath(s.first), os.O_RDWR, 0)
		if err != nil {
			return err
		}
		info, err := f.Stat()
		if err != nil {
			f.Close()
			return err
		}
		h.cur, h.alloc = f, info.Size()
	}
	// Records wait in memory for the next Sync (one write per round of
	// group commit, not one per commit): nothing is acknowledged before.
	var hdr [8]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(b)))
	binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(b, crcTable))
	h.pending = append(append(h.pending, hdr[:]...), b...)
	if s.index != nil {
		if len(s.index) == 0 {
			s.firstTime = rec.Time
		}
		s.index = append(s.index, entry{seq: rec.Seq, time: rec.Time, kind: rec.Kind, off: s.size, salt1: rec.WAL.Salt1, salt2: rec.WAL.Salt2, walOff: rec.WAL.Offset != 0})
	}
	s.size += int64(8 + len(b))
	s.last, s.lastTime = rec.Seq, rec.Time
	h.since += int64(8 + len(b))
	h.last, h.any = *rec, true
	h.last.Frames = nil
	h.dirty = true
	return nil
}

// flushLocked writes the pending records to the current segment file.
func (h *History) flushLocked() error {
	if len(h.pending) == 0 {
		return nil
	}
	if h.failed != nil {
		return h.failed
	}
	end := h.segs[len(h.segs)-1].size
	off := end - int64(len(h.pending))
	err := h.prealloc(end)
	if err == nil {
		_, err = h.cur.WriteAt(h.pending, off)
	}
	if err != nil {
		h.failed = fmt.Errorf("history %s: write: %w", h.name, err)
		return h.failed
	}
	h.pending = h.pending[:0]
	return nil
}

// prealloc makes the current segment file at least need bytes long by
// writing zeros past its end, in steps that double from 64 KiB up to 256 KiB:
// appending a record then overwrites allocated blocks, and its sync
// (fdatasync) needs no journal commit for a new size or new blocks, which
// costs as much CPU as the rest of a commit. Readers stop at the first
// record of length 0.
func (h *History) prealloc(need int64) error {
	if need <= h.alloc {
		return nil
	}
	step := min(max(h.alloc, 64<<10), int64(len(zeroBlock)))
	end := h.alloc + step
	for end < need {
		end += step
	}
	for off := h.alloc; off < end; off += step {
		if _, err := h.cur.WriteAt(zeroBlock[:step], off); err != nil {
			return err
		}
	}
	h.alloc = end
	return nil
}

// zeroBlock is the largest step of prealloc, zeros; never written to.
var zeroBlock = make([]byte, 256<<10)

// Sync makes every record appended so far durable. Like a failed fsync of
// a WAL, a failure is kept: every later Sync and Append returns it.
func (h *History) Sync() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failed != nil {
		return h.failed
	}
	if !h.dirty {
		return nil
	}
	if err := h.flushLocked(); err != nil {
		return err
	}
	f := h.cur
	if f == nil { // Close ran since the last Append
		var err error
		if f, err = os.OpenFile(h.segPath(h.segs[len(h.segs)-1].first), os.O_RDWR, 0); err != nil {
			h.failed = fmt.Errorf("history %s: sync: %w", h.name, err)
			return h.failed
		}
		defer f.Close()
	}
	if err := fdatasync(f); err != nil {
		h.failed = fmt.Errorf("history %s: sync: %w", h.name, err)
		return h.failed
	}
	if h.newFile {
		if err := syncPath(h.dir); err != nil {
			h.failed = fmt.Errorf("history %s: sync: %w", h.name, err)
			return h.failed
		}
		h.newFile = false
	}
	h.dirty = false
	return nil
}

// Close waits for background compactions and closes the current segment
// file. It does not sync. The History stays usable (Append reopens it).
func (h *History) Close() error {
	h.bg.Wait()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.flushLocked(); err != nil {
		return err
	}
	if h.cur != nil {
		err := h.cur.Close()
		h.cur = nil
		return err
	}
	return nil
}

// SaveBase makes the database file at dbPath, in its current state, the
// history's state at seq (a KindBase record, durable on return). The
// database must be quiet and its WAL checkpointed into the file. seq must
// follow the last record.
func (h *History) SaveBase(dbPath string, seq uint64, now time.Time) error {
	if err := h.writeSnapshot(seq, func(dst *os.File) error { return copyFileTo(dbPath, dst) }); err != nil {
		return err
	}
	if err := h.Append(&Record{Kind: KindBase, DB: h.name, Seq: seq, Time: now}); err != nil {
		return err
	}
	return h.Sync()
}

// writeSnapshot writes snap-seq durably through a temporary file.
func (h *History) writeSnapshot(seq uint64, fill func(*os.File) error) error {
	tmp, err := os.CreateTemp(h.dir, "tmp-snap-*")
	if err != nil {
		return fmt.Errorf("history %s: snapshot: %w", h.name, err)
	}
	defer os.Remove(tmp.Name())
	err = fill(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("history %s: snapshot %d: %w", h.name, seq, err)
	}
	return h.placeSnapshot(seq, tmp.Name())
}

func copyFileTo(src string, dst *os.File) error {
	f, err := os.Open(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no database: the empty state
	} else if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(dst, f)
	return err
}

// Window returns the oldest and newest sequence numbers (and the time of
// the newest) the history can build; ok is false if it is empty.
func (h *History) Window() (oldest, newest uint64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.snaps) == 0 {
		return 0, 0, false
	}
	return h.snaps[0], h.last.Seq, true
}

// indexLocked loads every segment's index (records' seq and time).
func (h *History) indexLocked() error {
	for i, s := range h.segs {
		if s.index == nil {
			if err := h.loadIndex(s, i == len(h.segs)-1); err != nil {
				return err
			}
		}
	}
	return nil
}

// SeqAt returns the sequence number of the state current at t: the last
// record committed at or before t. ErrOutsideWindow if t is before the
// oldest state the history can build.
func (h *History) SeqAt(t time.Time) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.snaps) == 0 {
		return 0, ErrNoHistory
	}
	if err := h.indexLocked(); err != nil {
		return 0, err
	}
	var (
		found  uint64
		ok     bool
		oldest time.Time
	)
	for _, s := range h.segs {
		for _, e := range s.index {
			if e.seq == h.snaps[0] {
				oldest = e.time
			}
			if !e.time.After(t) {
				found, ok = e.seq, true
			}
		}
	}
	if !ok || found < h.snaps[0] {
		return 0, fmt.Errorf("%w: %s is before the oldest restorable moment (%s)", ErrOutsideWindow, t.UTC().Format(time.RFC3339Nano), oldest.UTC().Format(time.RFC3339Nano))
	}
	return found, nil
}

// TimeOf returns the commit time of record seq.
func (h *History) TimeOf(seq uint64) (time.Time, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.indexLocked(); err != nil {
		return time.Time{}, err
	}
	for _, s := range h.segs {
		if len(s.index) > 0 && seq >= s.first && seq <= s.last {
			for _, e := range s.index {
				if e.seq == seq {
					return e.time, nil
				}
			}
		}
	}
	return time.Time{}, fmt.Errorf("%w: no record %d", ErrOutsideWindow, seq)
}

// Check returns ErrOutsideWindow unless the history can build seq.
func (h *History) Check(seq uint64) error {
	oldest, newest, ok := h.Window()
	if !ok {
		return ErrNoHistory
	}
	if seq < oldest || seq > newest {
		return fmt.Errorf("%w: %d is not in [%d, %d]", ErrOutsideWindow, seq, oldest, newest)
	}
	return nil
}

// Build writes the database as it was after record seq to the file dst
// (created or truncated, synced): the latest snapshot at or before seq,
// with the pages of every record after it up to seq applied in order.
func (h *History) Build(seq uint64, dst string) error {
	if err := h.Check(seq); err != nil {
		return err
	}
	h.mu.Lock()
	i, found := slices.BinarySearch(h.snaps, seq)
	if !found {
		i--
	}
	base := h.snaps[i]
	h.mu.Unlock()
	out, err := os.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("history %s: build: %w", h.name, err)
	}
	defer out.Close()
	if err := copyFileTo(h.snapPath(base), out); err != nil {
		return fmt.Errorf("history %s: build: %w", h.name, err)
	}
	err = h.Records(base+1, seq, func(r *Record) error {
		if r.Kind != KindCommit {
			return fmt.Errorf("%w: record %d is a %s without its snapshot", ErrCorrupt, r.Seq, r.Kind)
		}
		return applyRecord(out, r)
	})
	if err == nil {
		err = out.Sync()
	}
	if err != nil {
		return fmt.Errorf("history %s: build %d: %w", h.name, seq, err)
	}
	return nil
}

// applyRecord writes r's pages into the database file f and truncates it to
// r's size, as a checkpoint does.
func applyRecord(f *os.File, r *Record) error {
	for _, fr := range r.Frames {
		if _, err := f.WriteAt(fr.Data, int64(fr.Pgno-1)*int64(r.PageSize)); err != nil {
			return err
		}
	}
	if r.PageSize != 0 {
		return f.Truncate(int64(r.DBSize) * int64(r.PageSize))
	}
	return nil
}

// Records calls fn for each record with a sequence number in [from, to], in
// order.
func (h *History) Records(from, to uint64, fn func(*Record) error) error {
	h.mu.Lock()
	if err := h.flushLocked(); err != nil {
		h.mu.Unlock()
		return err
	}
	var segs []*segment
	for i, s := range h.segs {
		next := ^uint64(0)
		if i+1 < len(h.segs) {
			next = h.segs[i+1].first
		}
		if s.first <= to && next > from {
			if s.index == nil {
				// A sealed segment not read since the history was
				// opened: its size is not known yet.
				if err := h.loadIndex(s, i == len(h.segs)-1); err != nil {
					h.mu.Unlock()
					return err
				}
			}
			segs = append(segs, &segment{first: s.first, size: s.size})
		}
	}
	h.mu.Unlock()
	for _, s := range segs {
		if err := h.scan(s, func(r *Record) error {
			if r.Seq < from || r.Seq > to {
				return nil
			}
			return fn(r)
		}); err != nil {
			return err
		}
	}
	return nil
}

// scan reads segment s (up to its known size) and calls fn for each record.
func (h *History) scan(s *segment, fn func(*Record) error) error {
	return h.scanFrom(s, 16, fn)
}

// scanFrom is scan from the record at offset off.
func (h *History) scanFrom(s *segment, off int64, fn func(*Record) error) error {
	f, err := os.Open(h.segPath(s.first))
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if s.size < off {
		return fmt.Errorf("history: %w: segment %d of %d bytes read from %d", ErrCorrupt, s.first, s.size, off)
	}
	r := bufio.NewReaderSize(io.LimitReader(f, s.size-off), 1<<20)
	var lenCRC [8]byte
	for {
		if _, err := io.ReadFull(r, lenCRC[:]); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("history: %w", err)
		}
		payload := make([]byte, binary.LittleEndian.Uint32(lenCRC[:]))
		if _, err := io.ReadFull(r, payload); err != nil {
			return fmt.Errorf("history: %w", err)
		}
		rec, err := decodeRecord(payload, binary.LittleEndian.Uint32(lenCRC[4:]))
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Bytes returns the size of the history on disk: segments and snapshots.
func (h *History) Bytes() (int64, error) {
	ents, err := os.ReadDir(h.dir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			n += info.Size()
		}
	}
	return n, nil
}
