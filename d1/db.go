package d1

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/commit"
)

// Statement is one SQL statement with its positional parameters: nil,
// int64, float64, string, []byte (BLOB), bool (stored 1/0) or int.
type Statement struct {
	SQL    string
	Params []any
}

// Result is the outcome of one Statement: the rows of its last SQL
// statement and the meta D1 reports (spec 7.3).
type Result struct {
	Columns []string
	Rows    [][]any // values are nil, int64, float64, string or []byte
	Meta    Meta
}

// Meta is D1's per-statement meta. RowsRead is an approximation: rows
// returned plus rows changed. RowsWritten follows D1's count of b-tree
// entries written (see indexesWritten and schemaRowsWritten): rows inserted
// with their index entries, rows updated with the entries of the indexes on
// the columns set, rows deleted, and the sqlite_schema rows a schema change
// writes; rows changed by triggers and cascades are not counted.
type Meta struct {
	Duration    float64 // milliseconds spent in SQLite
	Changes     int64   // rows inserted, updated or deleted
	LastRowID   int64   // the connection's last inserted rowid
	ChangedDB   bool    // changes != 0, last_row_id moved or the size changed
	SizeAfter   int64   // database bytes after the statement
	RowsRead    int64
	RowsWritten int64
}

// DB is one D1 database: a SQLite file in WAL mode. Writes (any batch with a
// statement that is not read-only) run one at a time on the writer
// connection, each batch in one transaction that ends in a durable commit;
// read-only batches run concurrently on reader connections, each seeing a
// committed snapshot. Every commit advances the database's commit sequence,
// which bookmarks are made of.
type DB struct {
	path string
	log  *slog.Logger
	tag  string // bookmark suffix: identifies the database

	wmu sync.Mutex // held for a write batch; guards w
	w   *conn

	rsem chan struct{} // one token per reader connection in use
	rmu  sync.Mutex    // guards idle
	idle []*conn

	limit time.Duration // of one batch

	seq  atomic.Uint64 // latest commit sequence known to be durable
	size atomic.Int64  // bytes after the latest commit

	durable *commit.Shared // with Options.Commit: makes commits durable

	hist *commit.History // with Options.History: Time Travel (timetravel.go)
	tail *commit.WALTail // reads each commit's frames for its record; guarded by wmu

	closed atomic.Bool
	done   chan struct{} // closed by Close: stops waits for a reader
}

// Options configure a DB.
type Options struct {
	Logger *slog.Logger // nil: slog.Default()
	// Readers bounds the read-only connections used at once; default 4.
	Readers int
	// Name is recorded as the database's name when the file is created.
	Name string
	// Commit, if set, makes writes durable through this commit log (group
	// commit shared with other databases and objects): a write batch
	// resolves, and a read hands out data, only once the commits involved
	// are durable. Nil: SQLite fsyncs each commit itself.
	Commit commit.Log
	// History, if set with Commit, keeps the database's history: every
	// commit is handed to Commit as a record (Commit must keep records in
	// this same store: commit.Local.SetHistories), and Time Travel can
	// restore any state in its window. Nil: no history.
	History *commit.History
	// QueryLimit bounds the time of one Batch (D1: 30 s, spec 7.9);
	// default 30 s.
	QueryLimit time.Duration
}

// ErrQueryLimit is returned (inside a *BatchError) when a batch runs past
// Options.QueryLimit; SQLite was interrupted and the batch rolled back.
var ErrQueryLimit = &Error{Kind: KindError, Msg: "D1 DB's query exceeded its duration limit and was interrupted: SQLITE_INTERRUPT", Code: 9}

// metaTable holds the database's own state (commit sequence, name, uuid).
// User SQL cannot read or write _cf_ tables, and export leaves them out.
const metaTable = "_cf_METADATA"

// Open opens (creating if needed) the database file at path. uuid
// identifies the database in bookmarks and the REST API; it is recorded in
// the file on creation and the recorded one wins afterwards.
func Open(path, uuid string, opts Options) (*DB, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Readers <= 0 {
		opts.Readers = 4
	}
	if opts.QueryLimit <= 0 {
		opts.QueryLimit = 30 * time.Second
	}
	if err := commit.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("d1: %w", err)
	}
	diverged := false // written outside the history: startHistory saves a base
	if opts.History != nil && opts.Commit != nil {
		// A restore a crash interrupted is completed before the file is
		// opened.
		if err := opts.History.FinishRestore(path); err != nil {
			return nil, fmt.Errorf("d1: %w", err)
		}
		// The WAL and the history are synced in parallel: after a crash
		// either may hold commits the other lacks.
		rc, err := opts.History.Reconcile(path, time.Now())
		if err != nil {
			return nil, fmt.Errorf("d1: %w", err)
		}
		if rc.Changed() {
			opts.Logger.Info("d1: the database and its history reconciled after a crash", "path", path,
				"recorded", rc.Recorded, "rolled_forward", rc.RolledForward, "dropped_wal", rc.DroppedWAL, "diverged", rc.Diverged)
		}
		diverged = rc.Diverged
	}
	w, err := openConn(path, true, opts.Commit != nil)
	if err != nil {
		return nil, fmt.Errorf("d1: %w", err)
	}
	db := &DB{path: path, log: opts.Logger, w: w, rsem: make(chan struct{}, opts.Readers), limit: opts.QueryLimit, done: make(chan struct{})}
	if opts.Commit != nil {
		// The file and its directory entry must be durable before a
		// commit the log syncs (only the WAL) counts as durable.
		if err := commit.SyncFileAndDir(path); err != nil {
			w.close()
			return nil, fmt.Errorf("d1: open %s: %w", path, err)
		}
		db.durable = commit.NewShared(opts.Commit, commit.WAL{Path: path})
	}
	if err := db.init(uuid, opts.Name); err != nil {
		w.close()
		return nil, fmt.Errorf("d1: open %s: %w", path, err)
	}
	if opts.History != nil && db.durable != nil {
		if err := db.startHistory(opts.History, diverged); err != nil {
			w.close()
			return nil, fmt.Errorf("d1: open %s: history: %w", path, err)
		}
	}
	return db, nil
}

func (db *DB) init(uuid, name string) error {
	// Write only what is missing: reopening a database (a reload) must not
	// wait for the write lock another connection may hold for long (an
	// import).
	exists, err := db.w.queryInt(`SELECT count(*) FROM sqlite_schema WHERE name = '` + metaTable + `'`)
	if err != nil {
		return err
	}
	have := map[string]any{}
	if exists > 0 {
		if have, err = db.w.readMeta(); err != nil {
			return err
		}
	}
	want := map[string]string{"uuid": uuid, "name": name, "created_at": time.Now().UTC().Format(time.RFC3339Nano)}
	missing := exists == 0 || have["commit_seq"] == nil
	for k, v := range want {
		missing = missing || (v != "" && have[k] == nil)
	}
	if missing {
		err := db.w.execScript(`CREATE TABLE IF NOT EXISTS ` + metaTable + ` (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
			INSERT OR IGNORE INTO ` + metaTable + ` VALUES ('commit_seq', 0);`)
		if err != nil {
			return err
		}
		for k, v := range want {
			if v == "" {
				continue
			}
			if err := db.w.exec(`INSERT OR IGNORE INTO `+metaTable+` VALUES (?, ?)`, k, v); err != nil {
				return err
			}
		}
	}
	info, err := db.w.readMeta()
	if err != nil {
		return err
	}
	db.tag = bookmarkTag(info["uuid"])
	seq, _ := info["commit_seq"].(int64)
	db.seq.Store(uint64(seq))
	size, err := db.w.size()
	if err != nil {
		return err
	}
	db.size.Store(size)
	return nil
}

// readMeta returns the rows of the metadata table.
func (c *conn) readMeta() (map[string]any, error) {
	m := map[string]any{}
	err := c.query(`SELECT key, value FROM `+metaTable, nil, func(r []driver.Value) error {
		k, _ := r[0].(string)
		m[k] = r[1]
		return nil
	})
	return m, err
}

func (c *conn) size() (int64, error) {
	return c.queryInt(`SELECT (SELECT page_count FROM pragma_page_count()) * (SELECT page_size FROM pragma_page_size())`)
}

// Path returns the database file.
func (db *DB) Path() string { return db.path }

// Size returns the database's size in bytes after the latest commit.
func (db *DB) Size() int64 { return db.size.Load() }

// Seq returns the latest commit sequence number.
func (db *DB) Seq() uint64 { return db.seq.Load() }

// Close closes the database; queries in flight finish first.
func (db *DB) Close() error {
	if db.closed.Swap(true) {
		return nil
	}
	close(db.done)
	db.wmu.Lock()
	defer db.wmu.Unlock()
	// Take every reader token: no reader is in use after this.
	for range cap(db.rsem) {
		db.rsem <- struct{}{}
	}
	var errs []error
	db.rmu.Lock()
	for _, c := range db.idle {
		errs = append(errs, c.close())
	}
	db.idle = nil
	db.rmu.Unlock()
	if db.durable != nil {
		// Checkpoint here, where an error is seen, not in SQLite's close.
		errs = append(errs, db.checkpoint("TRUNCATE"))
	}
	errs = append(errs, db.w.close())
	if db.tail != nil {
		db.tail.Close()
	}
	return errors.Join(errs...)
}

// errNeedsWriter reports that a batch tried on a reader holds a statement
// that writes; it is run again on the writer.
var errNeedsWriter = errors.New("d1: statement needs the writer")

// Batch runs stmts as one atomic unit and returns one Result per statement,
// with the bookmark of the state the batch saw or made. session is "" (no
// session), "first-primary", "first-unconstrained" or a bookmark this
// database returned: the batch then sees at least that state. If a statement
// fails, nothing of the batch is kept and the error is a *BatchError.
func (db *DB) Batch(ctx context.Context, stmts []Statement, session string) ([]Result, string, error) {
	if db.closed.Load() {
		return nil, "", ErrClosed
	}
	if err := db.awaitSession(ctx, session); err != nil {
		return nil, "", err
	}
	if len(stmts) == 0 {
		return []Result{}, db.Bookmark(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, db.limit)
	defer cancel()
	res, bm, err := db.read(ctx, stmts)
	if errors.Is(err, errNeedsWriter) {
		res, bm, err = db.write(ctx, stmts)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		var be *BatchError
		if errors.As(err, &be) {
			be.Err = ErrQueryLimit
		}
	}
	return res, bm, err
}

// Query runs one statement (see Batch).
func (db *DB) Query(ctx context.Context, stmt Statement, session string) (Result, string, error) {
	res, bm, err := db.Batch(ctx, []Statement{stmt}, session)
	if err != nil {
		var be *BatchError
		if errors.As(err, &be) {
			err = be.Err
		}
		return Result{}, "", err
	}
	return res[0], bm, nil
}

// read runs stmts on a reader connection if they are all read-only.
func (db *DB) read(ctx context.Context, stmts []Statement) ([]Result, string, error) {
	c, err := db.reader()
	if err != nil {
		return nil, "", err
	}
	defer db.release(c)
	// The snapshot the reads see holds at least every commit up to seq.
	seq := db.seq.Load()
	// Several statements see one snapshot.
	multi := len(stmts) > 1 || strings.Contains(stmts[0].SQL, ";")
	if multi {
		if err := c.exec("BEGIN"); err != nil {
			return nil, "", sqlError(err)
		}
	}
	res, err := c.runAll(ctx, stmts, false)
	if multi {
		if cerr := c.exec("COMMIT"); cerr != nil && err == nil {
			err = sqlError(cerr)
		}
	}
	if err != nil {
		return nil, "", err
	}
	if db.durable != nil {
		// The snapshot may hold commits not yet durable: hand nothing out
		// before they are.
		if err := db.durable.Visible(ctx); err != nil {
			return nil, "", fmt.Errorf("d1: %w", err)
		}
	}
	size := db.size.Load()
	for i := range res {
		res[i].Meta.SizeAfter = size
	}
	return res, db.bookmark(seq), nil
}

// write runs stmts on the writer in one transaction, commits it and waits
// until the commit is durable.
func (db *DB) write(ctx context.Context, stmts []Statement) ([]Result, string, error) {
	res, c, err := db.writeLocked(ctx, stmts)
	if err != nil {
		return nil, "", err
	}
	if err := db.settle(ctx, c); err != nil {
		return nil, "", err
	}
	return res, db.bookmark(c.seq), nil
}

// committed is a commit made, not yet known durable: its sequence and its
// ticket with the commit log (0 without one).
type committed struct {
	seq    uint64
	ticket uint64
}

// settle waits until commit c is durable, then publishes its sequence
// (bookmarks, sessions).
func (db *DB) settle(ctx context.Context, c committed) error {
	if db.durable != nil {
		if err := db.durable.Durable(ctx, c.ticket); err != nil {
			return fmt.Errorf("d1: commit not durable: %w", err)
		}
	}
	for {
		cur := db.seq.Load()
		if cur >= c.seq || db.seq.CompareAndSwap(cur, c.seq) {
			return nil
		}
	}
}

// writeLocked runs stmts on the writer in one transaction and commits it,
// holding the write lock.
func (db *DB) writeLocked(ctx context.Context, stmts []Statement) ([]Result, committed, error) {
	db.wmu.Lock()
	defer db.wmu.Unlock()
	if db.closed.Load() {
		return nil, committed{}, ErrClosed
	}
	c := db.w
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		return nil, committed{}, sqlError(err)
	}
	lastID := c.lastRowID
	res, err := c.runAll(ctx, stmts, true)
	if err != nil {
		db.rollback(c)
		db.resetPragmas(c)
		return nil, committed{}, err
	}
	made, size, err := db.commit(c)
	db.resetPragmas(c)
	if err != nil {
		return nil, committed{}, err
	}
	// Each statement's meta compares with the state before it, as D1's
	// does: its own size after it (step measured it) and its rowid.
	prev := db.size.Swap(size)
	for i := range res {
		m := &res[i].Meta
		m.ChangedDB = m.Changes != 0 || m.LastRowID != lastID || m.SizeAfter != prev
		lastID, prev = m.LastRowID, m.SizeAfter
	}
	return res, made, nil
}

// commit ends the writer's open transaction: it advances the commit
// sequence inside the transaction, then commits. It is durable on return
// with synchronous=FULL; with a commit log, once settle returns. This is
// the one place a D1 commit happens. On failure the transaction is rolled
// back. The write lock is held.
func (db *DB) commit(c *conn) (made committed, size int64, err error) {
	n, err := c.queryInt(`UPDATE ` + metaTable + ` SET value = value + 1 WHERE key = 'commit_seq' RETURNING value`)
	if err == nil {
		size, err = c.size()
	}
	if err == nil {
		err = c.exec("COMMIT")
	}
	if err != nil {
		// A deferred foreign key still violated fails the COMMIT and leaves the transaction open.
		db.rollback(c)
		return committed{}, 0, sqlError(err)
	}
	made.seq = uint64(n)
	if db.durable != nil {
		made.ticket = db.durable.Committed()
		if db.hist != nil {
			if err := db.record(made.seq); err != nil {
				// The commit is applied but has no record: it is not
				// acknowledged, and neither is any later one.
				db.log.Error("d1: commit not recorded; the database fails its commits from now on", "path", db.path, "err", err)
				db.durable.Fail(fmt.Errorf("record commit: %w", err))
			}
		}
		if db.durable.CheckpointDue() {
			if err := db.checkpoint("PASSIVE"); err != nil {
				// The commit is applied but will not be acknowledged: settle fails.
				db.log.Error("d1: checkpoint failed; commits not yet durable will fail", "path", db.path, "err", err)
			}
		}
	}
	return made, size, nil
}

// checkpoint copies the WAL into the database file on the writer (see
// commit.Shared: with a commit log, SQLite's automatic checkpoint is off).
// mode is PASSIVE after a commit, TRUNCATE on Close. The write lock is held.
func (db *DB) checkpoint(mode string) error {
	return db.durable.Checkpoint(func() error {
		if db.hist != nil {
			// Every record durable first: the Log syncs the WAL and the
			// history in parallel, and a commit only the WAL held could not
			// be recorded at open once the WAL restarts (commit.Reconcile).
			if err := db.hist.Sync(); err != nil {
				return err
			}
		}
		// A query, read to the end, so the statement is reset after its row.
		return db.w.query("PRAGMA wal_checkpoint("+mode+")", nil, func([]driver.Value) error { return nil })
	})
}

// resetPragmas undoes connection settings a batch made (PRAGMA effects last
// for the batch only, spec 7.10). foreign_keys cannot change inside a
// transaction and defer_foreign_keys ends with it.
func (db *DB) resetPragmas(c *conn) {
	if !c.pragmaSet {
		return
	}
	c.pragmaSet = false
	err := c.execScript(`PRAGMA case_sensitive_like = OFF; PRAGMA ignore_check_constraints = OFF;
		PRAGMA legacy_alter_table = OFF; PRAGMA recursive_triggers = OFF; PRAGMA reverse_unordered_selects = OFF`)
	if err != nil {
		db.log.Error("d1: reset pragmas", "path", db.path, "error", err)
	}
}

func (db *DB) rollback(c *conn) {
	if c.c.AutoCommit() {
		return // SQLite already rolled back
	}
	if err := c.exec("ROLLBACK"); err != nil {
		db.log.Error("d1: rollback", "path", db.path, "error", err)
	}
}

// reader returns an idle reader connection or opens one, waiting while
// Options.Readers are in use.
func (db *DB) reader() (*conn, error) {
	select {
	case db.rsem <- struct{}{}:
	case <-db.done:
		return nil, ErrClosed
	}
	if db.closed.Load() {
		<-db.rsem
		return nil, ErrClosed
	}
	db.rmu.Lock()
	if n := len(db.idle); n > 0 {
		c := db.idle[n-1]
		db.idle = db.idle[:n-1]
		db.rmu.Unlock()
		return c, nil
	}
	db.rmu.Unlock()
	c, err := openConn(db.path, false, false)
	if err != nil {
		<-db.rsem
		return nil, &Error{Kind: KindError, Msg: err.Error()}
	}
	return c, nil
}

func (db *DB) release(c *conn) {
	if !c.c.AutoCommit() {
		// A failed multi-statement read left its transaction open.
		_ = c.exec("ROLLBACK")
	}
	db.rmu.Lock()
	db.idle = append(db.idle, c)
	db.rmu.Unlock()
	<-db.rsem
}

// runAll runs stmts in order. On a reader (write false) it stops with
// errNeedsWriter at the first statement that is not read-only. A failing
// statement gives a *BatchError.
func (c *conn) runAll(ctx context.Context, stmts []Statement, write bool) ([]Result, error) {
	res := make([]Result, len(stmts))
	for i, st := range stmts {
		r, err := c.run(ctx, st, write)
		if errors.Is(err, errNeedsWriter) {
			return nil, err
		}
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				de = &Error{Kind: KindError, Msg: err.Error()}
			}
			return nil, &BatchError{Index: i, Err: de}
		}
		res[i] = r
	}
	return res, nil
}

// run executes one Statement, whose SQL may hold several statements:
// parameters are handed out to them in order, and the result is the last
// one's, with changes and durations summed.
func (c *conn) run(ctx context.Context, stmt Statement, write bool) (Result, error) {
	args, err := bindValues(stmt.Params)
	if err != nil {
		return Result{}, err
	}
	sql := stmt.SQL
	var out Result
	for first := true; ; first = false {
		st, cached, tail, err := c.prepare(sql)
		if err == ErrNoStatement && !first {
			break // only comments after the last statement
		}
		if err != nil {
			return Result{}, err
		}
		done := func() {
			if !cached {
				st.Close()
			}
		}
		pc := c.pc
		if !write && (!st.Readonly() || pc.pragmaSet) {
			done()
			return Result{}, errNeedsWriter
		}
		c.pragmaSet = c.pragmaSet || pc.pragmaSet
		n := st.NumInput()
		if n > len(args) || (tail == "" && n < len(args)) {
			done()
			return Result{}, ErrBindings
		}
		r, err := c.step(ctx, st, args[:n], write, pc)
		done()
		if err != nil {
			return Result{}, sqlError(err)
		}
		args = args[n:]
		r.Meta.Changes += out.Meta.Changes
		r.Meta.RowsRead += out.Meta.RowsRead
		r.Meta.RowsWritten += out.Meta.RowsWritten
		r.Meta.Duration += out.Meta.Duration
		out = r
		if tail == "" {
			break
		}
		sql = tail
	}
	return out, nil
}

// step runs a prepared statement to completion.
func (c *conn) step(ctx context.Context, st *sqlite3.SQLiteStmt, args []driver.Value, write bool, pc prepContext) (Result, error) {
	start := time.Now()
	var r Result
	var schemaRows int64 // sqlite_schema rows before a schema change
	if pc.ddl && write {
		schemaRows, _ = c.queryInt(`SELECT count(*) FROM sqlite_schema`)
	}
	{
		named := make([]driver.NamedValue, len(args))
		for i, a := range args {
			named[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		}
		dr, err := st.QueryContext(ctx, named)
		if err != nil {
			return r, err
		}
		rows := dr.(*sqlite3.SQLiteRows)
		r.Columns = rows.Columns()
		n := len(r.Columns)
		rawColumns(rows, n)
		r.Rows = [][]any{}
		capped, _ := ctx.Value(rowCapKey{}).(*rowCap) // set by Inspect
		for {
			row := make([]driver.Value, n)
			err := rows.Next(row)
			if err == io.EOF {
				break
			}
			if err != nil {
				rows.Close()
				return r, err
			}
			if capped != nil && len(r.Rows) >= capped.max {
				capped.truncated = true
				if !write {
					break // a read stops here; a write runs to its end
				}
				continue
			}
			vals := make([]any, n)
			for i, v := range row {
				vals[i] = v
			}
			r.Rows = append(r.Rows, vals)
		}
		if err := rows.Close(); err != nil {
			return r, err
		}
		if write {
			err := c.query(`SELECT changes(), last_insert_rowid()`, nil, func(v []driver.Value) error {
				if pc.dml && !pc.ddl {
					r.Meta.Changes, _ = v[0].(int64)
				}
				r.Meta.LastRowID, _ = v[1].(int64)
				return nil
			})
			if err != nil {
				return r, err
			}
		}
	}
	if write {
		c.lastRowID = r.Meta.LastRowID
		size, err := c.size()
		if err != nil {
			return r, err
		}
		r.Meta.SizeAfter = size
	}
	r.Meta.Duration = float64(time.Since(start).Microseconds()) / 1000
	r.Meta.RowsRead = int64(len(r.Rows)) + r.Meta.Changes
	r.Meta.RowsWritten = r.Meta.Changes
	switch {
	case pc.ddl:
		clear(c.indexes)
		if write {
			r.Meta.RowsWritten = c.schemaRowsWritten(pc, schemaRows)
		}
	case r.Meta.Changes > 0 && pc.target != "":
		r.Meta.RowsWritten = r.Meta.Changes * (1 + c.indexesWritten(pc))
	}
	return r, nil
}

// Rows written, as D1 counts them (workerd counts the b-tree entries a
// statement inserts or overwrites; deletions are not writes): an INSERT
// writes each row and its entry in every index, an UPDATE the row and its
// entry in each index on a column it sets, a DELETE only the rows.

// indexesWritten returns the index entries a changed row of pc's statement
// writes besides the row itself.
func (c *conn) indexesWritten(pc prepContext) int64 {
	key := pc.target
	switch pc.op {
	case sqlite3.SQLITE_DELETE:
		return 0
	case sqlite3.SQLITE_UPDATE:
		key += "\x00" + strings.Join(pc.setCols, "\x00")
	}
	if n, ok := c.indexes[key]; ok {
		return n
	}
	// The PRIMARY KEY of a WITHOUT ROWID table is the table itself.
	q := `SELECT count(*) FROM pragma_index_list(?1) AS il
		WHERE (il.origin != 'pk' OR NOT coalesce((SELECT wr FROM pragma_table_list(?1)), 0))`
	args := []driver.Value{pc.target}
	if pc.op == sqlite3.SQLITE_UPDATE {
		// An index whose columns (or expressions) include a column set,
		// or every index if the rowid itself is set.
		cols, _ := json.Marshal(pc.setCols)
		q += ` AND (EXISTS (SELECT 1 FROM pragma_index_info(il.name) AS ii
				WHERE ii.name IS NULL OR ii.name IN (SELECT value FROM json_each(?2)))
			OR EXISTS (SELECT 1 FROM pragma_table_info(?1) AS ti WHERE ti.pk = 1 AND upper(ti.type) = 'INTEGER'
				AND ti.name IN (SELECT value FROM json_each(?2))
				AND (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1))`
		args = append(args, string(cols))
	}
	var n int64
	_ = c.query(q, args, func(v []driver.Value) error {
		n, _ = v[0].(int64)
		return nil
	})
	c.indexes[key] = n
	return n
}

// schemaRowsWritten returns the rows a schema change wrote, given the
// number of sqlite_schema rows before it: D1 counts the rows of
// sqlite_schema written (CREATE TABLE writes its row twice, once as a
// placeholder, and one row per automatic index), and the entries a new
// index is built with. Drops write nothing; an ALTER TABLE counts one row.
func (c *conn) schemaRowsWritten(pc prepContext, before int64) int64 {
	after, err := c.queryInt(`SELECT count(*) FROM sqlite_schema`)
	if err != nil {
		return 0
	}
	added := after - before
	switch pc.ddlOp {
	case sqlite3.SQLITE_CREATE_TABLE, sqlite3.SQLITE_CREATE_VIEW:
		if added > 0 {
			return 2 + added - 1
		}
	case sqlite3.SQLITE_CREATE_VTABLE:
		if added > 0 {
			return 2
		}
	case sqlite3.SQLITE_CREATE_TRIGGER:
		if added > 0 {
			return 1
		}
	case sqlite3.SQLITE_CREATE_INDEX:
		if added > 0 {
			rows, _ := c.countRows(pc.ddlTable)
			return 1 + rows
		}
	case sqlite3.SQLITE_ALTER_TABLE:
		return 1
	}
	return 0
}

// countRows returns the number of rows of table (not a cached statement:
// the SQL names the table).
func (c *conn) countRows(table string) (int64, error) {
	c.trusted = true
	defer func() { c.trusted = false }()
	ds, err := c.c.Prepare(`SELECT count(*) FROM "` + strings.ReplaceAll(table, `"`, `""`) + `"`)
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	dr, err := ds.(*sqlite3.SQLiteStmt).Query(nil)
	if err != nil {
		return 0, err
	}
	defer dr.Close()
	row := make([]driver.Value, 1)
	if err := dr.Next(row); err != nil {
		return 0, err
	}
	n, _ := row[0].(int64)
	return n, nil
}

// bindValues converts parameters to driver values.
func bindValues(params []any) ([]driver.Value, error) {
	vals := make([]driver.Value, len(params))
	for i, p := range params {
		switch v := p.(type) {
		case nil, int64, string:
			vals[i] = v
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				vals[i] = nil // JSON has no NaN/Infinity; D1 receives null
			} else {
				vals[i] = v
			}
		case []byte:
			if v == nil {
				v = []byte{}
			}
			vals[i] = v
		case int:
			vals[i] = int64(v)
		case bool:
			vals[i] = int64(0)
			if v {
				vals[i] = int64(1)
			}
		default:
			return nil, &Error{Kind: KindError, Msg: fmt.Sprintf("Type '%T' not supported for parameter %d", p, i+1)}
		}
	}
	return vals, nil
}

// Exec runs sql line by line, as the binding's exec does (spec 65): every
// line is its own query (it may hold several statements), blank lines are
// skipped, and the first failing line stops it with an *ExecError. It
// returns the number of lines run and their total duration in ms.
func (db *DB) Exec(ctx context.Context, sql string) (count int, duration float64, err error) {
	for i, line := range strings.Split(strings.TrimSpace(sql), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		res, _, err := db.Query(ctx, Statement{SQL: line}, "")
		if err != nil {
			var de *Error
			if !errors.As(err, &de) {
				de = &Error{Kind: KindError, Msg: err.Error()}
			}
			return count, duration, &ExecError{Line: i + 1, Text: line, Err: de}
		}
		count++
		duration += res.Meta.Duration
	}
	return count, duration, nil
}

// Serialize returns the database file's bytes as of the latest commit (the
// binding's deprecated dump()).
func (db *DB) Serialize() ([]byte, error) {
	c, err := db.reader()
	if err != nil {
		return nil, err
	}
	defer db.release(c)
	b, err := c.c.Serialize("main")
	if err != nil {
		return nil, &Error{Kind: KindDump, Msg: "Database dump error: " + err.Error()}
	}
	return b, nil
}
