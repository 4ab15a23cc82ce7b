package kv

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/commit"
)

// Limits, as documented for Workers KV.
const (
	MaxKeySize       = 512      // bytes of UTF-8
	MaxValueSize     = 25 << 20 // bytes
	MaxMetadataSize  = 1024     // bytes of serialized JSON
	MinExpirationTTL = 60       // seconds
	MaxListLimit     = 1000     // keys per List page (also the default)
	MaxBulkGet       = 100      // keys per GetMany
	MaxBulkWrite     = 10000    // pairs per PutMany / keys per DeleteMany
	MinCacheTTL      = 30       // seconds; the smallest cacheTtl a get accepts
)

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	key        TEXT PRIMARY KEY,
	value      BLOB NOT NULL,
	expiration INTEGER,
	metadata   TEXT
);
CREATE INDEX IF NOT EXISTS entries_expiration ON entries(expiration) WHERE expiration IS NOT NULL;
`

// Options tune a Namespace. The zero value is ready to use.
type Options struct {
	// Now is the clock; default time.Now. Tests move it to expire keys.
	Now func() time.Time
	// SweepInterval is how often expired entries are purged from the file;
	// default one minute, negative disables the background sweep.
	SweepInterval time.Duration
	// SweepBatch bounds the rows one sweep step deletes; default 500.
	SweepBatch int
	Logger     *slog.Logger
	// Commit, if set, makes writes durable through this commit log (group
	// commit, shared with the Durable Objects): SQLite then commits without
	// its own fsync, and no write is acknowledged, nor read by anyone,
	// before the log has synced it. Nil: SQLite fsyncs each commit itself.
	Commit commit.Log
	// Recorder, if set with Commit, keeps the namespace's history: every
	// commit is handed to the commit log as a record (which must keep
	// records in the same store: commit.Local.SetHistories), so the
	// namespace can be rebuilt as it was at any moment of the retention
	// window. It must record this namespace's file. Nil: no history.
	Recorder *commit.Recorder
}

// Namespace is one KV namespace, open on its SQLite file. Its methods are
// safe for concurrent use.
type Namespace struct {
	path    string
	db      *sql.DB
	opts    Options
	log     *slog.Logger
	writeMu sync.Mutex       // serializes writers within this process
	durable *commit.Shared   // nil without Options.Commit
	rec     *commit.Recorder // with Options.History: records each commit; guarded by writeMu
	getStmt *sql.Stmt
	putStmt *sql.Stmt
	delStmt *sql.Stmt
	closed  atomic.Bool
	stop    chan struct{}
	done    chan struct{}
}

// maxConns bounds the SQLite connections of one namespace; readers beyond
// it wait for one to be free.
const maxConns = 16

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// Path returns the file of namespace id for the Worker named worker under
// the state directory persist: <persist>/<worker>/kv/<id>.sqlite.
func Path(persist, worker, id string) (string, error) {
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return "", fmt.Errorf("%w %q", ErrNamespaceID, id)
	}
	return filepath.Join(persist, worker, "kv", id+".sqlite"), nil
}

// Namespaces lists the ids of the namespaces that have a file under the
// state directory of the Worker named worker, sorted.
func Namespaces(persist, worker string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(persist, worker, "kv"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list kv namespaces: %w", err)
	}
	var ids []string
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".sqlite"); ok && !de.IsDir() {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// Open opens (creating if needed) the namespace stored at path and starts
// its expiration sweep.
func Open(path string, opts Options) (*Namespace, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.SweepBatch <= 0 {
		opts.SweepBatch = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := commit.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open kv namespace: %w", err)
	}
	sync := "FULL"
	if opts.Commit != nil {
		sync = "NORMAL"
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_journal_mode=WAL&_synchronous=" + sync + "&_busy_timeout=10000&_txlock=immediate"
	drv := &sqlite3.SQLiteDriver{}
	if opts.Commit != nil {
		// The namespace checkpoints itself, to see the errors (commit.Shared).
		drv.ConnectHook = func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint=0; PRAGMA journal_size_limit="+strconv.Itoa(commit.WALSizeLimit), nil)
			return err
		}
	}
	db := sql.OpenDB(connector{dsn, drv})
	// Keep connections (each with its prepared statements) instead of
	// reopening the file under load; database/sql keeps 2 idle by default.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open kv namespace %s: %w", path, err)
	}
	n := &Namespace{path: path, db: db, opts: opts, log: opts.Logger.With("kv", filepath.Base(path)),
		stop: make(chan struct{}), done: make(chan struct{})}
	if opts.Commit != nil {
		// The file and its directory entry must be durable before any
		// commit the log syncs (only the WAL) can count as durable.
		if err := commit.SyncFileAndDir(path); err != nil {
			db.Close()
			return nil, fmt.Errorf("open kv namespace %s: %w", path, err)
		}
		n.durable = commit.NewShared(opts.Commit, commit.WAL{Path: path})
		if opts.Recorder != nil {
			n.rec = opts.Recorder
			err := n.rec.Start(func() error { return n.checkpoint("TRUNCATE") }, n.log.Warn)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("open kv namespace %s: history: %w", path, err)
			}
		}
	}
	var err error
	for dst, q := range map[**sql.Stmt]string{
		&n.getStmt: "SELECT value, expiration, metadata FROM entries WHERE key = ? AND (expiration IS NULL OR expiration > ?)",
		&n.putStmt: "INSERT OR REPLACE INTO entries (key, value, expiration, metadata) VALUES (?, ?, ?, ?)",
		&n.delStmt: "DELETE FROM entries WHERE key = ?",
	} {
		if *dst, err = db.Prepare(q); err != nil {
			db.Close()
			return nil, fmt.Errorf("open kv namespace %s: %w", path, err)
		}
	}
	if opts.SweepInterval > 0 {
		go n.sweepLoop()
	} else {
		close(n.done)
	}
	return n, nil
}

// Path returns the namespace's file.
func (n *Namespace) Path() string { return n.path }

// Close stops the sweep and closes the file.
func (n *Namespace) Close() error {
	if n.closed.Swap(true) {
		return nil
	}
	close(n.stop)
	<-n.done
	if n.durable != nil {
		// Checkpoint here, where an error is seen, not in SQLite's close.
		n.writeMu.Lock()
		err := n.checkpoint("TRUNCATE")
		n.writeMu.Unlock()
		if err != nil {
			n.db.Close()
			return fmt.Errorf("close kv namespace %s: %w", n.path, err)
		}
	}
	if err := n.db.Close(); err != nil {
		return fmt.Errorf("close kv namespace %s: %w", n.path, err)
	}
	if n.rec != nil {
		if err := n.rec.Closed(); err != nil {
			return fmt.Errorf("close kv namespace %s: %w", n.path, err)
		}
	}
	return nil
}

// Entry is a stored value with its expiration and metadata.
type Entry struct {
	Key        string
	Value      []byte
	Expiration int64           // seconds since the epoch; 0: never expires
	Metadata   json.RawMessage // JSON; nil when the entry has none
}

// PutOptions are the options of Put. Nil fields are not set.
type PutOptions struct {
	Expiration    *int64          // absolute, seconds since the epoch
	ExpirationTTL *int64          // seconds from now; wins over Expiration
	Metadata      json.RawMessage // JSON value; nil for none
}

// ValidateKey reports whether key may name an entry.
func ValidateKey(key string) error {
	switch key {
	case "":
		return badRequest("Key names must not be empty")
	case ".", "..":
		return badRequest("Illegal key name %q. Please use a different name.", key)
	}
	return validateKeyLength(key)
}

func validateKeyLength(key string) error {
	if len(key) > MaxKeySize {
		return &Error{Status: 414, Message: fmt.Sprintf("UTF-8 encoded length of %d exceeds key length limit of %d.", len(key), MaxKeySize)}
	}
	return nil
}

func (n *Namespace) now() int64 { return n.opts.Now().Unix() }

func (n *Namespace) check() error {
	if n.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Get returns the entry stored under key, or false if there is none or it
// has expired.
func (n *Namespace) Get(ctx context.Context, key string) (Entry, bool, error) {
	if err := n.check(); err != nil {
		return Entry{}, false, err
	}
	if err := ValidateKey(key); err != nil {
		return Entry{}, false, err
	}
	e := Entry{Key: key}
	var exp sql.NullInt64
	var meta sql.NullString
	err := n.getStmt.QueryRowContext(ctx, key, n.now()).Scan(&e.Value, &exp, &meta)
	if errors.Is(err, sql.ErrNoRows) {
		// Not there may be news too (a delete not yet durable).
		return Entry{}, false, n.visible(ctx)
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("kv get: %w", err)
	}
	if err := n.visible(ctx); err != nil {
		return Entry{}, false, err
	}
	if e.Value == nil {
		e.Value = []byte{}
	}
	e.Expiration = exp.Int64
	if meta.Valid {
		e.Metadata = json.RawMessage(meta.String)
	}
	return e, true, nil
}

// GetMany returns the entries of 1 to MaxBulkGet keys, in the order of
// keys; found[i] tells whether keys[i] has an entry.
func (n *Namespace) GetMany(ctx context.Context, keys []string) (entries []Entry, found []bool, err error) {
	if err := n.check(); err != nil {
		return nil, nil, err
	}
	if len(keys) > MaxBulkGet {
		return nil, nil, badRequest("You can request a maximum of %d keys", MaxBulkGet)
	}
	if len(keys) < 1 {
		return nil, nil, badRequest("You must request a minimum of 1 key")
	}
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			return nil, nil, err
		}
	}
	entries = make([]Entry, len(keys))
	found = make([]bool, len(keys))
	total := 0
	for i, k := range keys {
		e, ok, err := n.Get(ctx, k)
		if err != nil {
			return nil, nil, err
		}
		entries[i], found[i] = e, ok
		total += len(e.Value)
	}
	if total > MaxValueSize {
		return nil, nil, &Error{Status: 413, Message: fmt.Sprintf("Total size of request exceeds the limit of %dMB", MaxValueSize>>20)}
	}
	return entries, found, nil
}

// Write is one pair of PutMany.
type Write struct {
	Key   string
	Value []byte
	PutOptions
}

// Put stores value under key.
func (n *Namespace) Put(ctx context.Context, key string, value []byte, opts PutOptions) error {
	return n.PutMany(ctx, []Write{{Key: key, Value: value, PutOptions: opts}})
}

// PutMany stores up to MaxBulkWrite pairs in one transaction: all of them,
// or none if one is invalid.
func (n *Namespace) PutMany(ctx context.Context, writes []Write) error {
	if err := n.check(); err != nil {
		return err
	}
	if len(writes) > MaxBulkWrite {
		return &Error{Status: 413, Message: fmt.Sprintf("You can write a maximum of %d pairs at once", MaxBulkWrite)}
	}
	now := n.now()
	rows := make([]row, len(writes))
	for i, w := range writes {
		r, err := validatePut(w, now)
		if err != nil {
			return err
		}
		rows[i] = r
	}
	return n.commit(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, n.putStmt)
		for _, r := range rows {
			if _, err := stmt.ExecContext(ctx, r.key, r.value, r.expiration, r.metadata); err != nil {
				return err
			}
		}
		return nil
	})
}

// row is a validated write.
type row struct {
	key        string
	value      []byte
	expiration sql.NullInt64
	metadata   sql.NullString
}

// validatePut checks a write in Miniflare's order: key, expiration,
// metadata, value size.
func validatePut(w Write, now int64) (row, error) {
	r := row{key: w.Key, value: w.Value}
	if r.value == nil {
		r.value = []byte{}
	}
	if err := ValidateKey(w.Key); err != nil {
		return r, err
	}
	switch {
	case w.ExpirationTTL != nil:
		ttl := *w.ExpirationTTL
		if ttl <= 0 {
			return r, badRequest("Invalid expiration_ttl of %d. Please specify integer greater than 0.", ttl)
		}
		if ttl < MinExpirationTTL {
			return r, badRequest("Invalid expiration_ttl of %d. Expiration TTL must be at least %d.", ttl, MinExpirationTTL)
		}
		r.expiration = sql.NullInt64{Int64: now + ttl, Valid: true}
	case w.Expiration != nil:
		exp := *w.Expiration
		if exp <= now {
			return r, badRequest("Invalid expiration of %d. Please specify integer greater than the current number of seconds since the UNIX epoch.", exp)
		}
		if exp < now+MinExpirationTTL {
			return r, badRequest("Invalid expiration of %d. Expiration times must be at least %d seconds in the future.", exp, MinExpirationTTL)
		}
		r.expiration = sql.NullInt64{Int64: exp, Valid: true}
	}
	if w.Metadata != nil {
		if len(w.Metadata) > MaxMetadataSize {
			return r, &Error{Status: 413, Message: fmt.Sprintf("Metadata length of %d exceeds limit of %d.", len(w.Metadata), MaxMetadataSize)}
		}
		if !json.Valid(w.Metadata) {
			return r, badRequest("Metadata is not valid JSON.")
		}
		if !bytes.Equal(bytes.TrimSpace(w.Metadata), []byte("null")) {
			r.metadata = sql.NullString{String: string(w.Metadata), Valid: true}
		}
	}
	if len(r.value) > MaxValueSize {
		return r, &Error{Status: 413, Message: fmt.Sprintf("Value length of %d exceeds limit of %d.", len(r.value), MaxValueSize)}
	}
	return r, nil
}

// Delete removes key; deleting a missing key is not an error.
func (n *Namespace) Delete(ctx context.Context, key string) error {
	return n.DeleteMany(ctx, []string{key})
}

// DeleteMany removes up to MaxBulkWrite keys in one transaction.
func (n *Namespace) DeleteMany(ctx context.Context, keys []string) error {
	if err := n.check(); err != nil {
		return err
	}
	if len(keys) > MaxBulkWrite {
		return &Error{Status: 413, Message: fmt.Sprintf("You can delete a maximum of %d keys at once", MaxBulkWrite)}
	}
	for _, k := range keys {
		if err := ValidateKey(k); err != nil {
			return err
		}
	}
	return n.commit(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, n.delStmt)
		for _, k := range keys {
			if _, err := stmt.ExecContext(ctx, k); err != nil {
				return err
			}
		}
		return nil
	})
}

// connector opens the namespace's connections with drv (sql.OpenDB).
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// checkpoint copies the WAL into the database file once it has grown (see
// commit.Shared), under the write lock. mode is PASSIVE, or TRUNCATE on
// Close.
func (n *Namespace) checkpoint(mode string) error {
	return n.durable.Checkpoint(func() error {
		_, err := n.db.Exec("PRAGMA wal_checkpoint(" + mode + ")")
		return err
	})
}

// commit runs fn in one write transaction and commits it durably before
// returning. Every write to the file goes through here.
func (n *Namespace) commit(ctx context.Context, fn func(tx *sql.Tx) error) error {
	seq, err := n.apply(ctx, fn)
	if err != nil || n.durable == nil {
		return err
	}
	if err := n.durable.Durable(ctx, seq); err != nil {
		return fmt.Errorf("kv commit %s: %w", filepath.Base(n.path), err)
	}
	return nil
}

// apply runs fn in a write transaction and commits it, one writer at a time.
func (n *Namespace) apply(ctx context.Context, fn func(tx *sql.Tx) error) (uint64, error) {
	n.writeMu.Lock()
	defer n.writeMu.Unlock()
	if n.rec != nil { // ordered with another owner's writes (a reload's)
		n.rec.Lock()
		defer n.rec.Unlock()
	}
	tx, err := n.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("kv write %s: %w", filepath.Base(n.path), err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return 0, fmt.Errorf("kv write %s: %w", filepath.Base(n.path), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("kv commit %s: %w", filepath.Base(n.path), err)
	}
	if n.durable == nil {
		return 0, nil
	}
	seq := n.durable.Committed()
	if n.rec != nil {
		if err := n.rec.Record(n.durable); err != nil {
			// The commit is applied but has no record: it is not
			// acknowledged, and neither is any later one.
			n.log.Error("commit not recorded; the namespace fails its commits from now on", "err", err)
			n.durable.Fail(fmt.Errorf("record commit: %w", err))
		}
	}
	if n.durable.CheckpointDue() {
		if err := n.checkpoint("PASSIVE"); err != nil {
			// The commit is applied but will not be acknowledged: Durable fails.
			n.log.Error("checkpoint failed; commits not yet durable will fail", "err", err)
		}
	}
	return seq, nil
}

// visible waits until what a read may have seen is durable.
func (n *Namespace) visible(ctx context.Context) error {
	if n.durable == nil {
		return nil
	}
	if err := n.durable.Visible(ctx); err != nil {
		return fmt.Errorf("kv read %s: %w", filepath.Base(n.path), err)
	}
	return nil
}

// ListOptions select a page of keys.
type ListOptions struct {
	Prefix string
	Limit  int    // 1..MaxListLimit; 0 means MaxListLimit
	Cursor string // from the previous page's ListResult
}

// Key is one listed key.
type Key struct {
	Name       string          `json:"name"`
	Expiration int64           `json:"expiration,omitempty"` // seconds since the epoch
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// ListResult is one page of keys. Cursor is set when Complete is false.
type ListResult struct {
	Keys     []Key
	Complete bool
	Cursor   string
}

// List returns the live keys starting with opts.Prefix in UTF-8 byte
// order, a page at a time.
func (n *Namespace) List(ctx context.Context, opts ListOptions) (ListResult, error) {
	if err := n.check(); err != nil {
		return ListResult{}, err
	}
	limit := opts.Limit
	switch {
	case limit < 0:
		return ListResult{}, badRequest("Invalid key_count_limit of %d. Please specify an integer greater than 0.", limit)
	case limit == 0:
		limit = MaxListLimit
	case limit > MaxListLimit:
		return ListResult{}, badRequest("Invalid key_count_limit of %d. Please specify an integer less than %d.", limit, MaxListLimit)
	}
	if err := validateKeyLength(opts.Prefix); err != nil {
		return ListResult{}, err
	}
	after := ""
	if opts.Cursor != "" {
		var err error
		if after, err = decodeCursor(opts.Cursor, opts.Prefix); err != nil {
			return ListResult{}, err
		}
	}
	start := max(opts.Prefix, after)
	q := "SELECT key, expiration, metadata FROM entries WHERE key >= ? AND key != ? AND (expiration IS NULL OR expiration > ?)"
	args := []any{start, after, n.now()}
	if end, ok := prefixEnd(opts.Prefix); ok {
		q += " AND key < ?"
		args = append(args, end)
	}
	q += " ORDER BY key LIMIT ?"
	args = append(args, limit+1)
	rs, err := n.db.QueryContext(ctx, q, args...)
	if err != nil {
		return ListResult{}, fmt.Errorf("kv list: %w", err)
	}
	defer rs.Close()
	res := ListResult{Keys: []Key{}}
	for rs.Next() {
		var k Key
		var exp sql.NullInt64
		var meta sql.NullString
		if err := rs.Scan(&k.Name, &exp, &meta); err != nil {
			return ListResult{}, fmt.Errorf("kv list: %w", err)
		}
		k.Expiration = exp.Int64
		if meta.Valid {
			k.Metadata = json.RawMessage(meta.String)
		}
		res.Keys = append(res.Keys, k)
	}
	if err := rs.Err(); err != nil {
		return ListResult{}, fmt.Errorf("kv list: %w", err)
	}
	res.Complete = len(res.Keys) <= limit
	if !res.Complete {
		res.Keys = res.Keys[:limit]
		res.Cursor = encodeCursor(opts.Prefix, res.Keys[limit-1].Name)
	}
	if err := n.visible(ctx); err != nil {
		return ListResult{}, err
	}
	return res, nil
}

// prefixEnd returns the smallest string greater than every string starting
// with prefix, if there is one. UTF-8 never contains 0xff, so bumping the
// last byte is enough.
func prefixEnd(prefix string) (string, bool) {
	if prefix == "" || prefix[len(prefix)-1] == 0xff {
		return "", false
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b), true
}

// A cursor names the prefix it was made for and the last key returned; the
// next page starts after that key, so keys added in between are not missed.
func encodeCursor(prefix, last string) string {
	b := binary.AppendUvarint(nil, uint64(len(prefix)))
	b = append(b, prefix...)
	b = append(b, last...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor, prefix string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return "", badRequest("Invalid cursor %q.", cursor)
	}
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)-w) {
		return "", badRequest("Invalid cursor %q.", cursor)
	}
	if string(b[w:w+int(n)]) != prefix {
		return "", badRequest("Invalid cursor: it was returned by a list with prefix %q, not %q.", b[w:w+int(n)], prefix)
	}
	return string(b[w+int(n):]), nil
}
