package commit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// A WALTail reads the transactions a SQLite database in WAL mode appends to
// its -wal file, so that its owner can turn each into a Record right after
// committing it. The WAL format (sqlite.org/fileformat2.html#walformat): a
// 32-byte header (magic, version, page size, checkpoint count, two salts,
// a checksum), then frames of a 24-byte header (page number, database size
// in pages for the last frame of a transaction else 0, the salts, a
// checksum running over every frame since the header) and a page. When the
// WAL restarts after a checkpoint SQLite writes a new header with new salts
// and overwrites the file from the start; frames whose salts or checksum do
// not follow are left over from before and are not part of the log.
//
// The owner must read the tail before every checkpoint that may restart the
// WAL (it owns the checkpoints; SQLite's automatic one is off), so that no
// committed frame is folded into the database file unread.
type WALTail struct {
	path string   // the -wal file
	f    *os.File // open on path while it exists: one fstat and one read per transaction
	pos  WALPos
	be   bool // checksums over big-endian words
	page uint32
}

// NewWALTail returns a tail of the WAL of the database at dbPath that
// starts with the next transaction after the WAL's current end: call it
// with the WAL empty or fully recorded (after a checkpoint, or Resume it).
func NewWALTail(dbPath string) *WALTail { return &WALTail{path: dbPath + "-wal"} }

// Pos returns the position after the last transaction read.
func (t *WALTail) Pos() WALPos { return t.pos }

// Reset forgets the position (and closes the file): the next Next reads
// the WAL from its start. Call it when the WAL was emptied (a TRUNCATE
// checkpoint) or replaced.
func (t *WALTail) Reset() {
	t.pos = WALPos{}
	t.Close()
}

// ErrWALMismatch is returned by Resume when the WAL holds the generation of
// the position but not the frame it names: the history is ahead of the
// database (its last records were made durable, the WAL's frames were not).
var ErrWALMismatch = errors.New("commit: WAL does not hold the recorded position")

// Resume continues after pos, the WAL position of the last record of the
// database's history, after a restart. If the WAL is of another generation
// (it was checkpointed and restarted since, or removed), every frame in it
// is new and Next reads it from the start.
func (t *WALTail) Resume(pos WALPos) error {
	t.pos = WALPos{}
	if pos.Offset == 0 {
		return nil
	}
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	defer f.Close()
	var hdr [32]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil // no header: nothing in the WAL
	}
	if !t.header(hdr[:]) || binary.BigEndian.Uint32(hdr[16:]) != pos.Salt1 || binary.BigEndian.Uint32(hdr[20:]) != pos.Salt2 {
		t.pos = WALPos{}
		return nil
	}
	var fh [24]byte
	if pos.Offset < 32+24+int64(t.page) {
		return ErrWALMismatch
	}
	if _, err := f.ReadAt(fh[:], pos.Offset-24-int64(t.page)); err != nil {
		return ErrWALMismatch
	}
	if binary.BigEndian.Uint32(fh[16:]) != pos.Ck1 || binary.BigEndian.Uint32(fh[20:]) != pos.Ck2 || binary.BigEndian.Uint32(fh[4:]) == 0 {
		return ErrWALMismatch
	}
	t.pos = pos
	return nil
}

// open returns the WAL file, open, and its size: the one already open
// unless it was removed (SQLite deletes the WAL when its last connection
// closes) and another may have taken its name. nil if there is none.
func (t *WALTail) open() (*os.File, os.FileInfo, error) {
	if t.f != nil {
		info, err := t.f.Stat()
		if err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); !ok || st.Nlink > 0 {
				return t.f, info, nil
			}
		}
		t.f.Close()
		t.f = nil
	}
	f, err := os.Open(t.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("read WAL: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("read WAL: %w", err)
	}
	t.f = f
	return f, info, nil
}

// Close closes the WAL file the tail keeps open. The tail stays usable.
func (t *WALTail) Close() error {
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

// header reads a WAL header into t (byte order, page size); false if it is
// not one.
func (t *WALTail) header(h []byte) bool {
	magic := binary.BigEndian.Uint32(h)
	if magic&^1 != 0x377f0682 {
		return false
	}
	t.be = magic&1 == 1
	t.page = binary.BigEndian.Uint32(h[8:])
	if t.page == 1 {
		t.page = 65536
	}
	if t.page < 512 || t.page > 65536 || t.page&(t.page-1) != 0 {
		return false
	}
	c1, c2 := walChecksum(t.be, 0, 0, h[:24])
	return c1 == binary.BigEndian.Uint32(h[24:]) && c2 == binary.BigEndian.Uint32(h[28:])
}

// Next returns the transactions committed to the WAL since the last call,
// as the pages they wrote (each page once, its last version) and the
// database size in pages after the last of them. ok is false if there were
// none. The position moves past them.
func (t *WALTail) Next() (frames []Frame, dbSize uint32, pageSize uint32, ok bool, err error) {
	f, info, err := t.open()
	if err != nil || f == nil {
		return nil, 0, 0, false, err
	}
	size := info.Size()
	if size < 32 {
		return nil, 0, 0, false, nil
	}
	var hdr [32]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil {
		return nil, 0, 0, false, fmt.Errorf("read WAL header: %w", err)
	}
	salt1, salt2 := binary.BigEndian.Uint32(hdr[16:]), binary.BigEndian.Uint32(hdr[20:])
	if t.pos.Offset == 0 || salt1 != t.pos.Salt1 || salt2 != t.pos.Salt2 {
		// A new generation: read it from its first frame.
		if !t.header(hdr[:]) {
			return nil, 0, 0, false, nil
		}
		t.pos = WALPos{Salt1: salt1, Salt2: salt2, Offset: 32, Ck1: binary.BigEndian.Uint32(hdr[24:]), Ck2: binary.BigEndian.Uint32(hdr[28:])}
	}
	if size <= t.pos.Offset {
		return nil, 0, 0, false, nil
	}
	// Find the end of the last committed transaction (checksums chained,
	// salts of this generation), then take the pages before it: frames after
	// it belong to a transaction still open or rolled back. The file is read
	// in growing chunks: after a restart it still holds the frames of the
	// generation before, which must not be read at every commit.
	frameSize := 24 + int(t.page)
	var (
		c1, c2 = t.pos.Ck1, t.pos.Ck2
		pos    = t.pos
		end    = 0
		buf    []byte
		chunk  = 4
	)
	avail := int((size - t.pos.Offset) / int64(frameSize))
scan:
	for off := 0; len(buf)/frameSize < avail; chunk = min(chunk*2, 256) {
		n := min(chunk, avail-len(buf)/frameSize)
		buf = append(buf, make([]byte, n*frameSize)...)
		got, err := f.ReadAt(buf[off:], t.pos.Offset+int64(off))
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, 0, false, fmt.Errorf("read WAL: %w", err)
		}
		buf = buf[:off+got-got%frameSize]
		for ; off+frameSize <= len(buf); off += frameSize {
			fh := buf[off : off+24]
			if binary.BigEndian.Uint32(fh[8:]) != salt1 || binary.BigEndian.Uint32(fh[12:]) != salt2 {
				break scan
			}
			c1, c2 = walChecksum(t.be, c1, c2, fh[:8])
			c1, c2 = walChecksum(t.be, c1, c2, buf[off+24:off+frameSize])
			if c1 != binary.BigEndian.Uint32(fh[16:]) || c2 != binary.BigEndian.Uint32(fh[20:]) {
				break scan
			}
			if commitSize := binary.BigEndian.Uint32(fh[4:]); commitSize != 0 {
				dbSize, end = commitSize, off+frameSize
				pos.Offset, pos.Ck1, pos.Ck2 = t.pos.Offset+int64(end), c1, c2
			}
		}
		if got < n*frameSize {
			break
		}
	}
	if end == 0 {
		return nil, 0, 0, false, nil
	}
	t.pos = pos
	return committedPages(buf[:end], frameSize), dbSize, t.page, true, nil
}

// committedPages returns the pages of buf (whole frames), each once with
// its last version, in the order first written.
func committedPages(buf []byte, frameSize int) []Frame {
	index := map[uint32]int{}
	var out []Frame
	for off := 0; off+frameSize <= len(buf); off += frameSize {
		pgno := binary.BigEndian.Uint32(buf[off:])
		page := buf[off+24 : off+frameSize]
		if i, seen := index[pgno]; seen {
			out[i].Data = page
		} else {
			index[pgno] = len(out)
			out = append(out, Frame{Pgno: pgno, Data: page})
		}
	}
	return out
}

// walChecksum continues SQLite's WAL checksum (s1, s2) over b, a multiple
// of 8 bytes, read as 32-bit words of the WAL's byte order.
func walChecksum(be bool, s1, s2 uint32, b []byte) (uint32, uint32) {
	var order binary.ByteOrder = binary.LittleEndian
	if be {
		order = binary.BigEndian
	}
	for i := 0; i+8 <= len(b); i += 8 {
		s1 += order.Uint32(b[i:]) + s2
		s2 += order.Uint32(b[i+4:]) + s1
	}
	return s1, s2
}
