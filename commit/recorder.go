package commit

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// A Recorder turns the commits of a database synced through a Shared (a KV
// namespace, the alarm index) into the records of its History: after each
// commit, under the database's write lock, Record reads the frames SQLite
// appended to the WAL (WALTail) and hands them to the Log, numbered one
// after the history's last record. D1 numbers its records with its own
// commit sequence instead, and objects record through storage.DB.
//
// Such a database may be written by a process that keeps no history (the
// `cairn kv` commands, which open it without a commit log): Start must then
// notice that the file is no longer the state of the last record. A WAL of
// the recorded generation, holding the recorded position, proves it is; so
// does, when the WAL is gone, the size and modification time the file had
// when its owner last closed it after a full checkpoint (Closed). Anything
// else starts the history again from a snapshot of the file (a KindBase
// record): the states before stay restorable.
//
// Two owners may have the same database open for a moment (a reload's old
// and new App): the recorders Histories.Recorder returns for one database
// share a lock (Lock), which the owner holds from before its transaction
// begins until it was recorded, so that their records follow the order of
// their commits.
type Recorder struct {
	h    *History
	path string
	tail *WALTail
	mu   *sync.Mutex // shared by the recorders of one database
}

// Recorder returns a recorder of the database at dbPath into the history
// name (see Recorder).
func (hs *Histories) Recorder(name, dbPath string) (*Recorder, error) {
	h, err := hs.Open(name)
	if err != nil {
		return nil, err
	}
	hs.mu.Lock()
	if hs.writers == nil {
		hs.writers = map[string]*sync.Mutex{}
	}
	mu := hs.writers[name]
	if mu == nil {
		mu = new(sync.Mutex)
		hs.writers[name] = mu
	}
	hs.mu.Unlock()
	return &Recorder{h: h, path: dbPath, tail: NewWALTail(dbPath), mu: mu}, nil
}

// Lock takes the database's write lock shared by its recorders: hold it
// from before a write transaction begins until Record returned.
func (r *Recorder) Lock() { r.mu.Lock() }

// Unlock releases what Lock took.
func (r *Recorder) Unlock() { r.mu.Unlock() }

// closedFile, in a history's directory, holds the database file's size and
// modification time when its owner closed it, fully checkpointed.
const closedFile = "closed.json"

type closedStamp struct {
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime_ns"`
	Seq     uint64
}

// History returns the history records go to.
func (r *Recorder) History() *History { return r.h }

// Start connects the freshly opened database to its history: it resumes
// after the last record when the file is that record's state, and
// otherwise runs checkpoint (a TRUNCATE checkpoint, through
// Shared.Checkpoint) and saves the file as a base snapshot. Call it before
// the first commit, with no write running.
func (r *Recorder) Start(checkpoint func() error, log func(msg string, args ...any)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, stampErr := r.readStamp()
	// A stamp describes the file only until the next write: forget it now.
	if err := os.Remove(r.h.Path(closedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("history %s: %w", r.h.Name(), err)
	}
	if !r.h.Empty() {
		last := r.h.Last()
		err := r.tail.Resume(last.WAL)
		if err == nil {
			if r.tail.Pos().Offset != 0 {
				return nil // the WAL holds the last record's frames
			}
			if stampErr == nil && stamp.Seq == last.Seq && r.matches(stamp) {
				return nil // closed after a full checkpoint, untouched since
			}
			err = errors.New("the file changed since its last record")
		}
		if log != nil {
			log("commit: the database was changed outside its history (written by a process keeping none, or a crash between their syncs); the history continues from a snapshot of the current state",
				"history", r.h.Name(), "err", err)
		}
	}
	if err := checkpoint(); err != nil {
		return err
	}
	r.tail.Reset()
	seq := uint64(0)
	if !r.h.Empty() {
		seq = r.h.Last().Seq + 1
	}
	return r.h.SaveBase(r.path, seq, time.Now())
}

func (r *Recorder) readStamp() (closedStamp, error) {
	var s closedStamp
	b, err := os.ReadFile(r.h.Path(closedFile))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (r *Recorder) matches(s closedStamp) bool {
	info, err := os.Stat(r.path)
	if err != nil {
		return false
	}
	if n, _ := (WAL{Path: r.path}).Size(); n > 0 {
		return false // a WAL of another generation: it was written since
	}
	return info.Size() == s.Size && info.ModTime().UnixNano() == s.ModTime
}

// Record hands the commit just made to s's Log as the history's next
// record. Call it under Lock, right after the commit
// (and Shared.Committed), before any checkpoint. An error means the commit
// has no record: fail it (Shared.Fail).
func (r *Recorder) Record(s *Shared) error {
	frames, size, page, ok, err := r.tail.Next()
	if err != nil || !ok {
		return err
	}
	return s.Record(&Record{
		Kind: KindCommit, DB: r.h.Name(), Seq: r.h.Last().Seq + 1, Time: time.Now(),
		PageSize: page, DBSize: size, Frames: frames, WAL: r.tail.Pos(),
	})
}

// Reset tells the recorder the WAL was emptied (a TRUNCATE checkpoint):
// the next transaction starts it again.
func (r *Recorder) Reset() { r.tail.Reset() }

// Closed notes the file's size and modification time after its owner
// closed it with every commit recorded and the WAL checkpointed away, so
// that the next Start can tell the file was not written meanwhile. Without
// it, the next Start saves a base snapshot.
func (r *Recorder) Closed() error {
	r.tail.Close()
	if err := r.h.Sync(); err != nil {
		return err
	}
	info, err := os.Stat(r.path)
	if err != nil {
		return fmt.Errorf("history %s: %w", r.h.Name(), err)
	}
	if n, _ := (WAL{Path: r.path}).Size(); n > 0 {
		return nil // not fully checkpointed: Start will resume or rebase
	}
	b, err := json.Marshal(closedStamp{Size: info.Size(), ModTime: info.ModTime().UnixNano(), Seq: r.h.Last().Seq})
	if err != nil {
		return err
	}
	if err := writeFileDurably(r.h.Path(closedFile), b); err != nil {
		return fmt.Errorf("history %s: %w", r.h.Name(), err)
	}
	return nil
}
