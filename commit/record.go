package commit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// A Record is one committed transaction of one database, as its owner hands
// it to the Log: which database, its place in the database's history (Seq,
// one more than the record before it), when, and what it changed, as the
// pages it wrote (the WAL frames SQLite appended for it, the last version of
// each page kept) and the database's size in pages after it. Applying the
// pages of every record after a snapshot, in order, each followed by a
// truncation to its DBSize, gives the database as it was after any of them:
// this is what a checkpoint does, and what History.Build does.
//
// The format is the one a cluster would replicate (each database a subject
// of a stream, records in Seq order); the local Log writes it to segment
// files (History).
type Record struct {
	Kind     RecordKind
	DB       string    // the database's name in the history store, e.g. "d1/<id>"
	Seq      uint64    // 1, 2, …: one more than the previous record of DB
	Time     time.Time // when the transaction committed (wall clock)
	PageSize uint32
	DBSize   uint32  // pages in the database after the transaction; 0: no database
	Frames   []Frame // pages written, each page once, in the order first written
	// WAL is where the record's frames end in the database's WAL: a
	// reopened database resumes reading its WAL there (WALTail.Resume).
	WAL WALPos
	// From is, for a KindRestore record, the sequence number whose state the
	// database was restored to.
	From uint64
}

// RecordKind says what a Record holds.
type RecordKind uint8

const (
	// KindCommit is a transaction: pages written.
	KindCommit RecordKind = iota + 1
	// KindBase marks a snapshot taken when a database's history began (the
	// database existed before, or its history was found unusable): its
	// state is the snapshot of the same Seq.
	KindBase
	// KindRestore is a restore: the database became the state of Seq From;
	// the snapshot of the record's own Seq holds it.
	KindRestore
)

func (k RecordKind) String() string {
	switch k {
	case KindCommit:
		return "commit"
	case KindBase:
		return "base"
	case KindRestore:
		return "restore"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// A Frame is one page of a Record: its number (1-based) and content.
type Frame struct {
	Pgno uint32
	Data []byte
}

// WALPos is a position in a SQLite WAL: the WAL's generation (its salts),
// the offset after the last frame read, and the running checksum there.
type WALPos struct {
	Salt1, Salt2 uint32
	Offset       int64 // 0: unknown
	Ck1, Ck2     uint32
}

// ErrCorrupt is returned for a record or segment that fails its checksum or
// cannot be decoded.
var ErrCorrupt = errors.New("commit: corrupt history record")

const recordHeader = 1 + 8 + 8 + 4 + 4 + 8 + 4 + 4 + 8 + 4 + 4 + 2 + 4

// compressedFrames, set in an encoded record's kind byte, says its frames
// (page numbers and pages) are compressed with zstd.
const compressedFrames = 0x80

// maxRecord bounds an encoded record and its decompressed frames.
const maxRecord = 1 << 30

// compressMin is the size of frames from which they are compressed.
const compressMin = 512

// zstd codecs, shared: EncodeAll and DecodeAll are safe for concurrent
// use, and creating them costs more than a record.
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only for bad options
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxRecord))
		if err != nil {
			panic(err) // only for bad options
		}
		return d
	})
)

// MarshalBinary encodes r: little-endian fields, then the frames (page
// number and page each), compressed with zstd when that makes them
// smaller (pages of a B-tree are mostly free space and repeated values:
// typically a fraction of their size).
func (r *Record) MarshalBinary() ([]byte, error) {
	if len(r.DB) > 0xffff {
		return nil, fmt.Errorf("commit: database name of %d bytes", len(r.DB))
	}
	n := recordHeader + len(r.DB)
	for _, f := range r.Frames {
		n += 4 + len(f.Data)
	}
	b := make([]byte, 0, n)
	le := binary.LittleEndian
	b = append(b, byte(r.Kind))
	b = le.AppendUint64(b, r.Seq)
	b = le.AppendUint64(b, uint64(r.Time.UnixNano()))
	b = le.AppendUint32(b, r.PageSize)
	b = le.AppendUint32(b, r.DBSize)
	b = le.AppendUint64(b, r.From)
	b = le.AppendUint32(b, r.WAL.Salt1)
	b = le.AppendUint32(b, r.WAL.Salt2)
	b = le.AppendUint64(b, uint64(r.WAL.Offset))
	b = le.AppendUint32(b, r.WAL.Ck1)
	b = le.AppendUint32(b, r.WAL.Ck2)
	b = le.AppendUint16(b, uint16(len(r.DB)))
	b = le.AppendUint32(b, uint32(len(r.Frames)))
	b = append(b, r.DB...)
	for _, f := range r.Frames {
		if uint32(len(f.Data)) != r.PageSize {
			return nil, fmt.Errorf("commit: page %d of %d bytes in a record of %d-byte pages", f.Pgno, len(f.Data), r.PageSize)
		}
		b = le.AppendUint32(b, f.Pgno)
		b = append(b, f.Data...)
	}
	head := recordHeader + len(r.DB)
	if len(b)-head < compressMin {
		return b, nil
	}
	z := zstdEncoder().EncodeAll(b[head:], make([]byte, head, head+(len(b)-head)/2))
	if len(z) >= len(b) {
		return b, nil
	}
	copy(z, b[:head])
	z[0] |= compressedFrames
	return z, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded. The frames' Data
// alias b (or, if they were compressed, a buffer of their own).
func (r *Record) UnmarshalBinary(b []byte) error {
	if len(b) < recordHeader {
		return fmt.Errorf("%w: %d bytes", ErrCorrupt, len(b))
	}
	le := binary.LittleEndian
	r.Kind = RecordKind(b[0] &^ compressedFrames)
	r.Seq = le.Uint64(b[1:])
	r.Time = time.Unix(0, int64(le.Uint64(b[9:])))
	r.PageSize = le.Uint32(b[17:])
	r.DBSize = le.Uint32(b[21:])
	r.From = le.Uint64(b[25:])
	r.WAL = WALPos{Salt1: le.Uint32(b[33:]), Salt2: le.Uint32(b[37:]), Offset: int64(le.Uint64(b[41:])), Ck1: le.Uint32(b[49:]), Ck2: le.Uint32(b[53:])}
	kindByte := b[0]
	nameLen := int(le.Uint16(b[57:]))
	nFrames := int(le.Uint32(b[59:]))
	b = b[recordHeader:]
	if len(b) < nameLen || r.Kind < KindCommit || r.Kind > KindRestore {
		return fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	r.DB = string(b[:nameLen])
	b = b[nameLen:]
	if kindByte&compressedFrames != 0 {
		size := int64(nFrames) * (4 + int64(r.PageSize))
		if r.PageSize > 65536 || size > maxRecord {
			return fmt.Errorf("%w: %d frames of %d bytes", ErrCorrupt, nFrames, r.PageSize)
		}
		var err error
		if b, err = zstdDecoder().DecodeAll(b, make([]byte, 0, size)); err != nil {
			return fmt.Errorf("%w: frames: %w", ErrCorrupt, err)
		}
	}
	if nFrames > 0 && (r.PageSize == 0 || len(b) != nFrames*(4+int(r.PageSize))) {
		return fmt.Errorf("%w: %d frames of %d bytes in %d bytes", ErrCorrupt, nFrames, r.PageSize, len(b))
	}
	r.Frames = make([]Frame, nFrames)
	for i := range r.Frames {
		r.Frames[i] = Frame{Pgno: le.Uint32(b), Data: b[4 : 4+r.PageSize]}
		b = b[4+r.PageSize:]
	}
	return nil
}
