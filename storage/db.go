package storage

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	commitlog "github.com/cairn-dev/cairn/commit"
)

// Options configure a DB.
type Options struct {
	// Logger receives problems that have no caller to return to (failed clean-ups).
	// Nil means slog.Default().
	Logger *slog.Logger
	// Scratch, if set, answers reads made before the file exists, instead of an
	// in-memory database of the DB's own.
	Scratch *Scratch
	// History, with Log, keeps the object's history (history.go): each
	// commit is handed to Log as a record (Log must keep records in this
	// same store), and bookmarks name the states. Nil: no history.
	History *commitlog.History
	Log     commitlog.Log
}

// DB is the SQLite database of one Durable Object. It is used from one goroutine at a time
// (the object's) and does no locking of its own, except Sync, which another goroutine may
// call at any time.
type DB struct {
	path string
	log  *slog.Logger

	conn    *sqlite3.SQLiteConn            // the file; nil until first needed
	mem     *sqlite3.SQLiteConn            // empty in-memory db for reads before the file exists
	scratch *Scratch                       // shared instead of mem, if set
	noFile  bool                           // known: the file does not exist
	stmts   map[string]*sqlite3.SQLiteStmt // this package's own statements on conn
	auth    map[*sqlite3.SQLiteConn]uint64 // authorizer keys of conn and mem (authorizer.go)

	inTx    bool             // the implicit transaction is open
	wrote   bool             // the implicit transaction may have written
	kv      kvState          // whether _cf_KV exists
	indexes map[string]int64 // table → number of indexes, for RowsWritten

	trusted  bool        // running this package's own SQL: the authorizer allows everything
	readOnly bool        // Inspect in read-only mode: a statement that writes is refused
	pc       prepContext // what the authorizer saw while preparing the current user statement

	savepoints int   // open savepoints (transactionSync, transaction), innermost last
	maxPages   int64 // SetMaxPageCount's bound; 0: MaxSize

	broken error // sticky critical error; see Broken
	closed bool

	sync syncState

	hist           *commitlog.History // see Options.History; nil: no history
	commitLog      commitlog.Log
	tail           *commitlog.WALTail // reads each commit's frames; nil until the file is open
	restorePending bool               // RestoreOnNextOpen was called
	diverged       bool               // the file was written outside its history: startHistory saves a base
}

// syncState is what Sync needs; it has its own lock because Sync runs on the commit
// layer's goroutines.
type syncState struct {
	mu      sync.Mutex
	walSeen bool     // a Sync found the -wal file (its directory entry is then synced once)
	newDirs []string // directories created with the file whose entries are not yet durable
	newFile bool     // the file was created (or reopened for writing): sync it once too
	closed  bool
	// failed is the first failed sync or checkpoint: the commits since the last good
	// sync may not be on disk, and the kernel reports a write-back error only once, so
	// a later fsync would succeed without making them durable. Every later Sync
	// returns it (see Sync).
	failed error

	checkpoint atomic.Bool // the WAL has grown past walCheckpointBytes: checkpoint after the next commit
}

// walCheckpointBytes is the WAL size from which the object's thread checkpoints it
// into the database file after a commit: about SQLite's own automatic checkpoint (1000
// pages of 4 KiB), which cairn turns off to run checkpoints itself (see checkpointWAL).
const walCheckpointBytes = 4 << 20

// walSizeLimit is the object's journal_size_limit: when the WAL restarts
// after a checkpoint, SQLite truncates the file to it. Without it the file
// keeps its largest size, every Sync sees it past walCheckpointBytes, and
// every commit checkpoints.
const walSizeLimit = walCheckpointBytes / 4

type kvState int

const (
	kvUnknown kvState = iota
	kvAbsent
	kvPresent
)

// Open returns a DB for the file at path without touching the disk. The file (and its
// directory) is created on the first write; reads before that behave as on an empty
// database.
func Open(path string, opts Options) *DB {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	db := &DB{path: path, log: log, scratch: opts.Scratch, stmts: map[string]*sqlite3.SQLiteStmt{}, indexes: map[string]int64{}}
	if opts.History != nil && opts.Log != nil {
		db.hist, db.commitLog = opts.History, opts.Log
	}
	return db
}

// InSavepoint reports whether a savepoint (transaction, transactionSync) is open, so a
// Commit would do nothing.
func (db *DB) InSavepoint() bool { return db.savepoints > 0 }

// InTx reports whether the implicit transaction is open: a statement ran since the last
// Commit or Rollback.
func (db *DB) InTx() bool { return db.inTx }

// Broken returns the critical error that broke the DB, or nil. A DB breaks when SQLite
// rolls back the implicit transaction by itself (SQLITE_FULL, I/O errors, a RAISE(ROLLBACK)
// or INSERT OR ROLLBACK conflict) or when Commit fails: the writes of the batch are gone,
// so every later call returns the same error, and the owner must discard the object
// (Close, then Open again).
func (db *DB) Broken() error { return db.broken }

// Commit commits the implicit transaction, if one is open, and reports whether it wrote
// anything (so needs Sync). The commit is atomic and visible to later reads, and it survives the process being
// killed, but it is durable (survives power loss) only once Sync returns. A failed commit
// rolls back and breaks the DB. Commit does nothing while a savepoint is open.
func (db *DB) Commit() (bool, error) {
	if err := db.usable(); err != nil {
		return false, err
	}
	if !db.inTx || db.savepoints > 0 {
		return false, nil
	}
	wrote := db.wrote
	db.inTx, db.wrote = false, false
	if _, err := db.execInternal("COMMIT"); err != nil {
		err = toError(err)
		if !db.conn.AutoCommit() {
			if _, rerr := db.execInternal("ROLLBACK"); rerr != nil {
				db.log.Error("storage: rollback after failed commit", "path", db.path, "err", rerr)
			}
		}
		db.rolledBack()
		db.broken = err
		return false, err
	}
	if wrote {
		db.recordCommit()
	}
	if db.sync.checkpoint.Load() {
		_ = db.checkpointWAL("PASSIVE") // a failure is kept: every later Sync returns it
	}
	return wrote, nil
}

// checkpointWAL copies the WAL into the database file (mode PASSIVE, as SQLite's
// automatic checkpoint, or TRUNCATE). cairn turns the automatic checkpoint off
// (wal_autocheckpoint=0) because SQLite ignores its errors: a checkpoint fsyncs the WAL
// through SQLite's own descriptor, and if that fsync consumed a write-back error, a
// later Sync would succeed and acknowledge commits that never reached the disk. Here
// the checkpoint runs under the sync lock, so no Sync runs between its fsync and the
// recording of its failure, which every later Sync then returns. It runs on the
// object's thread, between commits.
func (db *DB) checkpointWAL(mode string) error {
	db.recordCommit() // nothing may be folded into the file unrecorded
	if db.hist != nil && db.tail != nil {
		// Nor before its record is durable: the Log syncs the WAL and the
		// history in parallel, and a checkpoint may restart the WAL, after
		// which a commit only the WAL held could not be recorded at open
		// (Reconcile).
		if err := db.hist.Sync(); err != nil {
			s := &db.sync
			s.mu.Lock()
			if s.failed == nil {
				s.failed = fmt.Errorf("checkpoint %s: %w", db.path, err)
			}
			s.mu.Unlock()
			return err
		}
	}
	s := &db.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkpoint.Store(false)
	if s.failed != nil {
		return s.failed
	}
	var busy int64
	err := db.queryInternal("PRAGMA wal_checkpoint("+mode+")", nil, func(row []driver.Value) { busy, _ = row[0].(int64) })
	if err != nil {
		s.failed = fmt.Errorf("checkpoint %s: %w", db.path, toError(err))
		db.log.Error("storage: checkpoint failed; the object's commits since its last sync will not be acknowledged", "path", db.path, "err", err)
		return s.failed
	}
	if busy != 0 { // not expected with one exclusive connection: try again later
		s.checkpoint.Store(true)
	}
	return nil
}

// Sync makes every transaction committed so far durable: it fsyncs the write-ahead log
// (and, the first time, the directories created for the file). It is safe to call from
// any goroutine, concurrently with the DB's use; the commit layer calls it.
//
// Sync fsyncs a descriptor of its own, not the one SQLite wrote through. That sees every
// write-back error: Linux (4.16 and later) reports an error no descriptor has seen yet
// to one opened after it, and the only other fsyncs of the WAL are the checkpoints,
// which cairn runs itself under the same lock and whose errors it keeps (checkpointWAL).
// Once a sync or checkpoint failed, Sync keeps failing: the kernel reports an error
// once and may have dropped the data, so a retried fsync would succeed and acknowledge
// commits that are not on disk.
func (db *DB) Sync() error {
	s := &db.sync
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed != nil {
		return s.failed
	}
	if s.closed {
		return nil // Close checkpointed and synced everything
	}
	// The WAL is opened for each sync rather than kept open: a live object
	// already holds three files, and the process's open-file limit bounds
	// how many objects can be live.
	wal, err := os.OpenFile(db.path+"-wal", os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // nothing committed since the last checkpoint removed it
	} else if err != nil {
		return fmt.Errorf("sync %s: %w", db.path, err)
	}
	defer wal.Close()
	if err := db.syncWAL(wal); err != nil {
		s.failed = fmt.Errorf("sync %s: %w", db.path, err)
		return s.failed
	}
	return nil
}

// syncWAL is Sync with the lock held and the WAL open.
func (db *DB) syncWAL(wal *os.File) error {
	s := &db.sync
	if !s.walSeen {
		// The WAL was created after the file's directory entry was synced.
		s.walSeen = true
		s.newDirs = append(s.newDirs, filepath.Dir(db.path))
	}
	if s.newFile {
		if err := syncFile(db.path); err != nil {
			return err
		}
		s.newFile = false
	}
	if err := fdatasync(wal); err != nil {
		return err
	}
	if info, err := wal.Stat(); err == nil && info.Size() >= walCheckpointBytes {
		s.checkpoint.Store(true)
	}
	for len(s.newDirs) > 0 {
		if err := syncDir(s.newDirs[0]); err != nil {
			return err
		}
		s.newDirs = s.newDirs[1:]
	}
	return nil
}

// Savepoint opens a nested transaction inside the implicit one (transactionSync and
// transaction): RollbackSavepoint undoes what was done since, ReleaseSavepoint keeps it.
// While one is open, Commit does nothing.
func (db *DB) Savepoint() error {
	if err := db.usable(); err != nil {
		return err
	}
	if _, err := db.openFile(true); err != nil {
		return err
	}
	if err := db.begin(); err != nil {
		return err
	}
	db.wrote = true
	if _, err := db.execInternal(fmt.Sprintf("SAVEPOINT _cf_sp%d", db.savepoints)); err != nil {
		return db.fail(err)
	}
	db.savepoints++
	return nil
}

// ReleaseSavepoint closes the innermost savepoint, keeping its writes in the implicit
// transaction.
func (db *DB) ReleaseSavepoint() error {
	return db.endSavepoint("RELEASE _cf_sp%d")
}

// RollbackSavepoint undoes the writes made since the innermost savepoint and closes it.
func (db *DB) RollbackSavepoint() error {
	return db.endSavepoint("ROLLBACK TO _cf_sp%d", "RELEASE _cf_sp%d")
}

func (db *DB) endSavepoint(queries ...string) error {
	if err := db.usable(); err != nil {
		return err
	}
	if db.savepoints == 0 {
		return errors.New("storage: no savepoint open")
	}
	db.savepoints--
	for _, q := range queries {
		if _, err := db.execInternal(fmt.Sprintf(q, db.savepoints)); err != nil {
			return db.fail(err)
		}
	}
	// What the rolled-back writes created (the KV table, indexes) may be gone.
	db.rolledBack()
	return nil
}

// Rollback discards the implicit transaction, if one is open.
func (db *DB) Rollback() error {
	if err := db.usable(); err != nil {
		return err
	}
	if !db.inTx {
		return nil
	}
	db.inTx, db.wrote = false, false
	db.savepoints = 0
	db.rolledBack()
	if _, err := db.execInternal("ROLLBACK"); err != nil {
		err = toError(err)
		db.broken = err
		return err
	}
	return nil
}

// Close closes the database. An open implicit transaction is discarded: call Commit first.
// It checkpoints the WAL into the database file and empties it, durably, so what was
// committed is durable once Close returns nil.
func (db *DB) Close() error {
	if db.closed {
		return nil
	}
	var cerr error
	if db.conn != nil && db.broken == nil {
		if db.inTx {
			if err := db.Rollback(); err != nil {
				cerr = err
			}
		}
		if cerr == nil {
			cerr = db.checkpointWAL("TRUNCATE")
		}
		if cerr == nil {
			// The emptied WAL must reach the disk too: after a power cut SQLite would
			// replay the frames left in an old one over the checkpointed file.
			cerr = db.Sync()
		}
	}
	db.closed = true
	err := errors.Join(cerr, db.closeConns())
	s := &db.sync
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return err
}

// Size returns the bytes in use, as sql.databaseSize reports them:
// (page_count - freelist_count) * page_size, including uncommitted writes; 0 if there is no
// file yet (or on error, which is logged).
func (db *DB) Size() int64 {
	if db.usable() != nil {
		return 0
	}
	if ok, err := db.openFile(false); !ok {
		if err != nil {
			db.log.Error("storage: size", "path", db.path, "err", err)
		}
		return 0
	}
	var n int64
	err := db.queryInternal(`SELECT ((SELECT * FROM pragma_page_count) - (SELECT * FROM pragma_freelist_count))
		* (SELECT * FROM pragma_page_size)`, nil, func(row []driver.Value) { n, _ = row[0].(int64) })
	if err != nil {
		db.log.Error("storage: size", "path", db.path, "err", err)
	}
	return n
}

// DeleteAll wipes the database: SQL tables and KV, including the writes of the open
// implicit transaction. It removes the file, so the object is back to "no file" until its
// next write.
func (db *DB) DeleteAll() error {
	if err := db.usable(); err != nil {
		return err
	}
	if ok, err := db.openFile(false); !ok || err != nil {
		return err
	}
	if db.inTx {
		db.inTx, db.wrote = false, false
		db.savepoints = 0
		if _, err := db.execInternal("ROLLBACK"); err != nil {
			return toError(err)
		}
	}
	// Fold the WAL into the file first (a connection that never read the file would leave
	// it as is), so no WAL with frames of the old database can be left behind to be replayed
	// into the next one if we crash half-way.
	if err := db.checkpointWAL("TRUNCATE"); err != nil {
		return err
	}
	if err := db.closeConns(); err != nil {
		return err
	}
	// Removing the main file is the atomic point; what follows is clean-up.
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	db.rolledBack()
	db.noFile = true
	db.sync.mu.Lock()
	db.sync.walSeen = false
	db.sync.mu.Unlock()
	if err := syncDir(filepath.Dir(db.path)); err != nil {
		return err
	}
	if db.hist != nil && db.tail != nil {
		db.recordDeleted()
		return db.hist.Sync()
	}
	return nil
}

func (db *DB) usable() error {
	if db.closed {
		return ErrClosed
	}
	return db.broken
}

// rolledBack forgets what the discarded transaction may have created.
func (db *DB) rolledBack() {
	db.kv = kvUnknown
	clear(db.indexes)
}

// fail converts err and notices when SQLite rolled back the implicit transaction on its
// own, which breaks the DB.
func (db *DB) fail(err error) error {
	if err == nil {
		return nil
	}
	err = toError(err)
	if db.inTx && db.conn.AutoCommit() {
		db.inTx, db.wrote = false, false
		db.rolledBack()
		db.broken = err
	}
	return err
}

// openFile opens the database file, creating it (and its directory) if create is set.
// It reports false when there is no file and create is not set.
func (db *DB) openFile(create bool) (bool, error) {
	if db.conn != nil {
		return true, nil
	}
	if db.hist != nil {
		// A restore a crash interrupted is completed before the file is
		// opened.
		if err := db.hist.FinishRestore(db.path); err != nil {
			return false, err
		}
		// The WAL and the history are synced in parallel: after a crash
		// either may hold commits the other lacks.
		rc, err := db.hist.Reconcile(db.path, time.Now())
		if err != nil {
			return false, fmt.Errorf("storage: %w", err)
		}
		if rc.Changed() {
			db.log.Info("storage: the object's file and its history reconciled after a crash", "path", db.path,
				"recorded", rc.Recorded, "rolled_forward", rc.RolledForward, "dropped_wal", rc.DroppedWAL, "diverged", rc.Diverged)
		}
		db.diverged = rc.Diverged
	}
	ok, err := db.openFileConn(create)
	if !ok || err != nil || db.hist == nil {
		return ok, err
	}
	if err := db.startHistory(); err != nil {
		db.closeConns()
		return false, fmt.Errorf("storage: history of %s: %w", db.path, err)
	}
	return true, nil
}

// openConnOnly opens the existing file without connecting its history.
func (db *DB) openConnOnly() (bool, error) { return db.openFileConn(false) }

// openFileConn is openFile without the history.
func (db *DB) openFileConn(create bool) (bool, error) {
	if db.conn != nil {
		return true, nil
	}
	dir := filepath.Dir(db.path)
	if !create {
		if db.noFile {
			return false, nil
		}
		if _, err := os.Stat(db.path); errors.Is(err, fs.ErrNotExist) {
			db.noFile = true
			return false, nil
		} else if err != nil {
			return false, err
		}
	} else {
		created, err := mkdirs(dir)
		if err != nil {
			return false, err
		}
		db.sync.mu.Lock()
		db.sync.newDirs = append(db.sync.newDirs, created...)
		db.sync.mu.Unlock()
	}
	// locking_mode=EXCLUSIVE: the object is this connection's alone, so the WAL index
	// lives in memory instead of a -shm file: one open file less per live object.
	// synchronous=NORMAL: a commit appends to the WAL without fsync, so it survives the
	// process being killed but not power loss until Sync (called by the commit layer,
	// which shares fsyncs between commits) has run. Checkpoints still sync the WAL before
	// copying it into the file. Switching a new file to WAL writes its header; that write
	// is not synced here (synchronous=OFF) but by the first Sync, before the WAL's, so a
	// file never lies empty on disk next to a synced WAL (SQLite would discard that WAL).
	// wal_autocheckpoint=0: cairn checkpoints itself, to see the errors (checkpointWAL).
	pragmas := "PRAGMA locking_mode=EXCLUSIVE; PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit=" + strconv.Itoa(walSizeLimit) + "; PRAGMA foreign_keys=ON"
	if create {
		pragmas = "PRAGMA synchronous=OFF; " + pragmas
		db.sync.mu.Lock()
		db.sync.newFile = true
		db.sync.mu.Unlock()
	}
	conn, err := db.openConn("file:"+(&url.URL{Path: db.path}).EscapedPath(), pragmas)
	if err != nil {
		return false, err
	}
	db.conn, db.noFile, db.kv = conn, false, kvUnknown
	if err := db.applyMaxPages(); err != nil {
		db.closeConn(conn)
		db.conn = nil
		return false, err
	}
	if db.mem != nil {
		db.closeConn(db.mem) // only ever served reads before the file existed
		db.mem = nil
	}
	return true, nil
}

// memConn returns the empty in-memory database that serves reads before the file exists.
// A Scratch must be locked for db (see Exec).
func (db *DB) memConn() (*sqlite3.SQLiteConn, error) {
	if db.scratch != nil {
		return db.scratch.connFor(db)
	}
	if db.mem == nil {
		c, err := db.openConn(":memory:", "PRAGMA foreign_keys=ON")
		if err != nil {
			return nil, err
		}
		db.mem = c
	}
	return db.mem, nil
}

func (db *DB) openConn(dsn, pragmas string) (*sqlite3.SQLiteConn, error) {
	dc, err := (&sqlite3.SQLiteDriver{}).Open(dsn)
	if err != nil {
		return nil, toError(err)
	}
	c := dc.(*sqlite3.SQLiteConn)
	if _, err := c.Exec(pragmas, nil); err != nil {
		c.Close()
		return nil, toError(err)
	}
	for _, l := range limits {
		c.SetLimit(l.id, l.val)
	}
	key, err := setAuthorizer(c, db.authorize)
	if err != nil {
		c.Close()
		return nil, err
	}
	if db.auth == nil {
		db.auth = make(map[*sqlite3.SQLiteConn]uint64, 2)
	}
	db.auth[c] = key
	return c, nil
}

// closeConn closes a connection opened by openConn.
func (db *DB) closeConn(c *sqlite3.SQLiteConn) error {
	err := c.Close()
	clearAuthorizer(db.auth[c])
	delete(db.auth, c)
	return err
}

func (db *DB) closeConns() error {
	var errs []error
	for q, st := range db.stmts {
		errs = append(errs, st.Close())
		delete(db.stmts, q)
	}
	if db.conn != nil {
		errs = append(errs, db.closeConn(db.conn))
		db.conn = nil
	}
	if db.tail != nil {
		db.tail.Close() // the WAL's descriptor (history.go); reopened when needed
	}
	if db.mem != nil {
		errs = append(errs, db.closeConn(db.mem))
		db.mem = nil
	}
	db.inTx, db.wrote = false, false
	return errors.Join(errs...)
}

// begin opens the implicit transaction on the file if it is not open yet. BEGIN is
// deferred: the write lock is taken by the first write, and there is only one writer.
func (db *DB) begin() error {
	if db.inTx {
		return nil
	}
	if _, err := db.execInternal("BEGIN"); err != nil {
		return toError(err)
	}
	db.inTx = true
	return nil
}

// stmt returns this package's cached statement for query on the file connection.
func (db *DB) stmt(query string) (*sqlite3.SQLiteStmt, error) {
	if st := db.stmts[query]; st != nil {
		return st, nil
	}
	ds, err := db.conn.Prepare(query)
	if err != nil {
		return nil, err
	}
	st := ds.(*sqlite3.SQLiteStmt)
	db.stmts[query] = st
	return st, nil
}

// execInternal runs one of this package's statements (authorizer bypassed) on the file and
// returns the number of rows changed. Errors are returned unconverted.
func (db *DB) execInternal(query string, args ...driver.Value) (int64, error) {
	db.trusted = true
	defer func() { db.trusted = false }()
	st, err := db.stmt(query)
	if err != nil {
		return 0, err
	}
	res, err := st.Exec(args)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// queryInternal runs one of this package's queries on the file and calls fn for each row.
// The row slice is reused between calls.
func (db *DB) queryInternal(query string, args []driver.Value, fn func([]driver.Value)) error {
	db.trusted = true
	defer func() { db.trusted = false }()
	st, err := db.stmt(query)
	if err != nil {
		return err
	}
	dr, err := st.Query(args)
	if err != nil {
		return err
	}
	rows := dr.(*sqlite3.SQLiteRows)
	defer rows.Close()
	n := len(rows.Columns())
	rawColumns(rows, n)
	row := make([]driver.Value, n)
	for {
		if err := rows.Next(row); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		fn(row)
	}
}

// mkdirs creates dir and its missing parents, and returns the parents whose new entries
// must be synced: the parent of each directory it created.
func mkdirs(dir string) ([]string, error) {
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		created = append(created, filepath.Dir(d))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return created, nil
}

// syncFile fsyncs the file at path.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Scratch is an empty in-memory SQLite database shared by many DBs (those of one Host):
// it answers their reads before their files exist. Sharing it matters beyond memory:
// go-sqlite3 keeps the callbacks of every connection in one process-wide table that it
// scans whenever any connection closes, so a connection per object opened and closed on
// its first write makes creating objects cost O(live objects).
type Scratch struct {
	mu   sync.Mutex
	conn *sqlite3.SQLiteConn
	user *DB    // whose statement is running: its authorizer applies
	auth uint64 // its authorizer's key (authorizer.go)
}

// NewScratch returns a Scratch; its connection opens on first use.
func NewScratch() *Scratch { return &Scratch{} }

// lock reserves the scratch database for db's statements until unlock.
func (s *Scratch) lock(db *DB) {
	s.mu.Lock()
	s.user = db
}

func (s *Scratch) unlock() {
	s.user = nil
	s.mu.Unlock()
}

// connFor returns the connection, opening it if needed. s is locked for db.
func (s *Scratch) connFor(db *DB) (*sqlite3.SQLiteConn, error) {
	if s.conn != nil {
		return s.conn, nil
	}
	dc, err := (&sqlite3.SQLiteDriver{}).Open(":memory:")
	if err != nil {
		return nil, toError(err)
	}
	c := dc.(*sqlite3.SQLiteConn)
	if _, err := c.Exec("PRAGMA foreign_keys=ON", nil); err != nil {
		c.Close()
		return nil, toError(err)
	}
	for _, l := range limits {
		c.SetLimit(l.id, l.val)
	}
	key, err := setAuthorizer(c, func(op int, a1, a2, dbName string) int { return s.user.authorize(op, a1, a2, dbName) })
	if err != nil {
		c.Close()
		return nil, err
	}
	s.conn, s.auth = c, key
	return c, nil
}

// Close closes the connection. DBs using s must be closed first.
func (s *Scratch) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	clearAuthorizer(s.auth)
	s.conn, s.auth = nil, 0
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
