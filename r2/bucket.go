package r2

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"

	"github.com/cairn-dev/cairn/commit"
)

// Limits, as documented for R2 (MaxObjectSize is cairn's, see the package
// doc).
const (
	MaxKeySize            = 1024      // bytes of UTF-8
	MaxCustomMetadataSize = 2048      // bytes of keys and values
	MaxListLimit          = 1000      // objects and prefixes per List page (also the default)
	MaxDeleteKeys         = 1000      // keys per Delete
	DefaultMaxObjectSize  = 100 << 20 // bytes
	DefaultMinPartSize    = 5 << 20   // bytes; every part of a multipart upload but the last
	MaxPartNumber         = 10000
)

const schema = `
CREATE TABLE IF NOT EXISTS objects (
	key             TEXT PRIMARY KEY,
	version         TEXT NOT NULL,
	size            INTEGER NOT NULL,
	etag            TEXT NOT NULL,
	uploaded        INTEGER NOT NULL, -- milliseconds since the epoch
	http_metadata   TEXT NOT NULL,    -- JSON HTTPMetadata
	custom_metadata TEXT NOT NULL,    -- JSON object of strings
	checksums       TEXT NOT NULL,    -- JSON Checksums
	body            BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
	id              TEXT PRIMARY KEY,
	key             TEXT NOT NULL,
	http_metadata   TEXT NOT NULL,
	custom_metadata TEXT NOT NULL,
	created         INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS parts (
	upload_id   TEXT NOT NULL,
	part_number INTEGER NOT NULL,
	etag        TEXT NOT NULL,
	size        INTEGER NOT NULL,
	body        BLOB NOT NULL,
	PRIMARY KEY (upload_id, part_number)
);
`

// Options tune a Bucket. The zero value is ready to use.
type Options struct {
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Commit, if set, makes writes durable through this commit log (group
	// commit, shared with the Durable Objects); nil: SQLite fsyncs each
	// commit itself.
	Commit commit.Log
	// MaxObjectSize bounds an object; default DefaultMaxObjectSize.
	MaxObjectSize int64
	// MinPartSize bounds every part of a multipart upload but the last from
	// below; default DefaultMinPartSize (tests lower it).
	MinPartSize int64
}

// Bucket is one R2 bucket, open on its SQLite file. Its methods are safe
// for concurrent use.
type Bucket struct {
	path    string
	db      *sql.DB
	opts    Options
	log     *slog.Logger
	writeMu sync.Mutex     // serializes writers within this process
	durable *commit.Shared // nil without Options.Commit
	closed  atomic.Bool
}

var namePattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,128}$`)

// Path returns the file of bucket name for the Worker named worker under
// the state directory persist: <persist>/<worker>/r2/<name>.sqlite.
func Path(persist, worker, name string) (string, error) {
	if !namePattern.MatchString(name) || name == "." || name == ".." {
		return "", fmt.Errorf("%w %q", ErrBucketName, name)
	}
	return filepath.Join(persist, worker, "r2", name+".sqlite"), nil
}

// Buckets lists the names of the buckets that have a file under the state
// directory of the Worker named worker, sorted.
func Buckets(persist, worker string) ([]string, error) {
	des, err := os.ReadDir(filepath.Join(persist, worker, "r2"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list r2 buckets: %w", err)
	}
	var names []string
	for _, de := range des {
		if n, ok := strings.CutSuffix(de.Name(), ".sqlite"); ok && !de.IsDir() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// connector opens the bucket's connections with drv (sql.OpenDB).
type connector struct {
	dsn string
	drv *sqlite3.SQLiteDriver
}

func (c connector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c connector) Driver() driver.Driver                        { return c.drv }

// Open opens (creating if needed) the bucket stored at path.
func Open(path string, opts Options) (*Bucket, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxObjectSize <= 0 {
		opts.MaxObjectSize = DefaultMaxObjectSize
	}
	if opts.MinPartSize <= 0 {
		opts.MinPartSize = DefaultMinPartSize
	}
	if err := commit.MkdirAll(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open r2 bucket: %w", err)
	}
	syncMode := "FULL"
	if opts.Commit != nil {
		syncMode = "NORMAL"
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_journal_mode=WAL&_synchronous=" + syncMode + "&_busy_timeout=10000&_txlock=immediate"
	drv := &sqlite3.SQLiteDriver{}
	if opts.Commit != nil {
		// The bucket checkpoints itself, to see the errors (commit.Shared).
		drv.ConnectHook = func(c *sqlite3.SQLiteConn) error {
			_, err := c.Exec("PRAGMA wal_autocheckpoint=0", nil)
			return err
		}
	}
	db := sql.OpenDB(connector{dsn, drv})
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("open r2 bucket %s: %w", path, err)
	}
	b := &Bucket{path: path, db: db, opts: opts, log: opts.Logger.With("r2", filepath.Base(path))}
	if opts.Commit != nil {
		if err := commit.SyncFileAndDir(path); err != nil {
			db.Close()
			return nil, fmt.Errorf("open r2 bucket %s: %w", path, err)
		}
		b.durable = commit.NewShared(opts.Commit, commit.WAL{Path: path})
	}
	return b, nil
}

// Path returns the bucket's file.
func (b *Bucket) Path() string { return b.path }

// Close closes the file.
func (b *Bucket) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	if b.durable != nil {
		b.writeMu.Lock()
		err := b.checkpoint("TRUNCATE")
		b.writeMu.Unlock()
		if err != nil {
			b.db.Close()
			return fmt.Errorf("close r2 bucket %s: %w", b.path, err)
		}
	}
	if err := b.db.Close(); err != nil {
		return fmt.Errorf("close r2 bucket %s: %w", b.path, err)
	}
	return nil
}

func (b *Bucket) check() error {
	if b.closed.Load() {
		return ErrClosed
	}
	return nil
}

func (b *Bucket) checkpoint(mode string) error {
	return b.durable.Checkpoint(func() error {
		_, err := b.db.Exec("PRAGMA wal_checkpoint(" + mode + ")")
		return err
	})
}

// commit runs fn in one write transaction and returns once it is durable.
// Every write to the file goes through here.
func (b *Bucket) commit(ctx context.Context, fn func(tx *sql.Tx) error) error {
	seq, err := b.apply(ctx, fn)
	if err != nil || b.durable == nil {
		return err
	}
	if err := b.durable.Durable(ctx, seq); err != nil {
		return fmt.Errorf("r2 commit %s: %w", filepath.Base(b.path), err)
	}
	return nil
}

func (b *Bucket) apply(ctx context.Context, fn func(tx *sql.Tx) error) (uint64, error) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("r2 write %s: %w", filepath.Base(b.path), err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		var re *Error
		if errors.As(err, &re) {
			return 0, err
		}
		return 0, fmt.Errorf("r2 write %s: %w", filepath.Base(b.path), err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("r2 commit %s: %w", filepath.Base(b.path), err)
	}
	if b.durable == nil {
		return 0, nil
	}
	seq := b.durable.Committed()
	if b.durable.CheckpointDue() {
		if err := b.checkpoint("PASSIVE"); err != nil {
			b.log.Error("checkpoint failed; commits not yet durable will fail", "err", err)
		}
	}
	return seq, nil
}

// visible waits until what a read may have seen is durable.
func (b *Bucket) visible(ctx context.Context) error {
	if b.durable == nil {
		return nil
	}
	if err := b.durable.Visible(ctx); err != nil {
		return fmt.Errorf("r2 read %s: %w", filepath.Base(b.path), err)
	}
	return nil
}

func newID() string {
	p := make([]byte, 16)
	_, _ = rand.Read(p)
	return hex.EncodeToString(p)
}

// validateKey reports whether key may name an object.
func validateKey(key string) error {
	if len(key) > MaxKeySize {
		return ErrInvalidObjectName
	}
	return nil
}

func validateCustom(m map[string]string) error {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	if n > MaxCustomMetadataSize {
		return ErrMetadataTooLarge
	}
	return nil
}

func marshal(v any) string {
	b, _ := json.Marshal(v) // only maps of strings and structs of strings
	return string(b)
}
