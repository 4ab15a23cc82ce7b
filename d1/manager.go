package d1

import (
	"github.com/cairn-dev/cairn/commit"

	"context"
	"crypto/rand"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Info describes a database as the REST API and the CLI list it.
type Info struct {
	UUID      string    `json:"uuid"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	Version   string    `json:"version"`
	NumTables int64     `json:"num_tables"`
	FileSize  int64     `json:"file_size"`
	// ReadReplication is the read replication setting (spec 7.5); cairn
	// records it, and serves every query from the primary for now.
	ReadReplication ReadReplication `json:"read_replication"`
}

// ReadReplication is a database's read replication setting.
type ReadReplication struct {
	Mode string `json:"mode"` // "auto" or "disabled"
}

// SetReadReplication records the read replication mode, "auto" or
// "disabled".
func (db *DB) SetReadReplication(mode string) error {
	if mode != "auto" && mode != "disabled" {
		return &Error{Kind: KindError, Msg: fmt.Sprintf("read_replication.mode must be \"auto\" or \"disabled\", not %q", mode)}
	}
	// A commit like a batch's: it advances the commit sequence and, with a
	// history, is recorded.
	db.wmu.Lock()
	if db.closed.Load() {
		db.wmu.Unlock()
		return ErrClosed
	}
	c := db.w
	if err := c.exec("BEGIN IMMEDIATE"); err != nil {
		db.wmu.Unlock()
		return sqlError(err)
	}
	if err := c.exec(`INSERT OR REPLACE INTO `+metaTable+` VALUES ('read_replication', ?)`, mode); err != nil {
		db.rollback(c)
		db.wmu.Unlock()
		return sqlError(err)
	}
	made, _, err := db.commit(c)
	db.wmu.Unlock()
	if err != nil {
		return err
	}
	return db.settle(context.Background(), made)
}

// Info returns the database's identity, table count and size.
func (db *DB) Info() (Info, error) {
	c, err := db.reader()
	if err != nil {
		return Info{}, err
	}
	defer db.release(c)
	m, err := c.readMeta()
	if err != nil {
		return Info{}, sqlError(err)
	}
	info := Info{Version: "production", FileSize: db.size.Load()}
	info.UUID, _ = m["uuid"].(string)
	info.ReadReplication.Mode, _ = m["read_replication"].(string)
	if info.ReadReplication.Mode == "" {
		info.ReadReplication.Mode = "disabled"
	}
	info.Name, _ = m["name"].(string)
	if s, ok := m["created_at"].(string); ok {
		info.CreatedAt, _ = time.Parse(time.RFC3339Nano, s)
	}
	info.NumTables, err = c.queryInt(`SELECT count(*) FROM sqlite_schema WHERE type = 'table'
		AND name NOT LIKE 'sqlite\_%' ESCAPE '\' AND name NOT LIKE '\_cf\_%' ESCAPE '\'`)
	return info, sqlError(err)
}

// Manager owns the D1 databases of one Worker: the files
// <dir>/<id>.sqlite, where id is the database_id from the config (or its
// database_name when it has no id) or the uuid of a database created with
// Create. It opens each database once and shares it.
type Manager struct {
	// Commit, if set before the first Open, makes the databases' writes
	// durable through this commit log (see Options.Commit).
	Commit commit.Log
	// Histories, if set with Commit, keeps each database's history in this
	// store (the one Commit keeps records in): Time Travel.
	Histories *commit.Histories

	dir  string
	log  *slog.Logger
	mu   sync.Mutex
	open map[string]*DB // by id
	done bool
}

// NewManager returns a Manager of the databases in dir (created on the
// first database).
func NewManager(dir string, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	return &Manager{dir: dir, log: log, open: map[string]*DB{}}
}

// Dir returns the directory holding the database files.
func (m *Manager) Dir() string { return m.dir }

// ValidID reports whether id can name a database file: 1–128 letters,
// digits, '.', '_' or '-', not starting with '.'.
func ValidID(id string) bool {
	if id == "" || len(id) > 128 || id[0] == '.' {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Open returns the database with this id, creating its file if needed.
// name is recorded as its name on creation.
func (m *Manager) Open(id, name string) (*DB, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("d1: invalid database id %q (letters, digits, '.', '_' and '-' only)", id)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.done {
		return nil, ErrClosed
	}
	if db := m.open[id]; db != nil {
		return db, nil
	}
	opts := Options{Logger: m.log, Name: cmpOr(name, id), Commit: m.Commit}
	if m.Histories != nil && m.Commit != nil {
		h, err := m.Histories.Open(historyName(id))
		if err != nil {
			return nil, fmt.Errorf("d1: %w", err)
		}
		opts.History = h
	}
	db, err := Open(m.path(id), id, opts)
	if err != nil {
		return nil, err
	}
	m.open[id] = db
	return db, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (m *Manager) path(id string) string { return filepath.Join(m.dir, id+".sqlite") }

// Create makes a new database named name with a fresh uuid.
func (m *Manager) Create(name string) (Info, error) {
	if strings.TrimSpace(name) == "" {
		return Info{}, errors.New("d1: a database needs a name")
	}
	if _, err := m.Lookup(name); err == nil {
		return Info{}, fmt.Errorf("%w: %s", ErrExists, name)
	} else if !errors.Is(err, ErrNotFound) {
		return Info{}, err
	}
	db, err := m.Open(newUUID(), name)
	if err != nil {
		return Info{}, err
	}
	return db.Info()
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// List returns every database in the directory, by name.
func (m *Manager) List() ([]Info, error) {
	entries, err := os.ReadDir(m.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Info{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("d1: %w", err)
	}
	out := []Info{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".sqlite")
		if !ok || e.IsDir() || !ValidID(id) {
			continue
		}
		db, err := m.Open(id, "")
		if err != nil {
			return nil, err
		}
		info, err := db.Info()
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Lookup returns the database whose file id, uuid or name is idOrName, or
// ErrNotFound.
func (m *Manager) Lookup(idOrName string) (*DB, error) {
	if ValidID(idOrName) {
		if _, err := os.Stat(m.path(idOrName)); err == nil {
			return m.Open(idOrName, "")
		}
	}
	infos, err := m.List()
	if err != nil {
		return nil, err
	}
	for _, want := range []func(Info) bool{
		func(i Info) bool { return i.UUID == idOrName },
		func(i Info) bool { return i.Name == idOrName },
	} {
		for _, i := range infos {
			if want(i) {
				return m.Lookup(m.idOf(i.UUID))
			}
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrNotFound, idOrName)
}

// idOf returns the file id of the open database with this uuid.
func (m *Manager) idOf(uuid string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, db := range m.open {
		if db.uuid() == uuid {
			return id
		}
	}
	return uuid
}

func (db *DB) uuid() string {
	c, err := db.reader()
	if err != nil {
		return ""
	}
	defer db.release(c)
	var u string
	_ = c.query(`SELECT value FROM `+metaTable+` WHERE key = 'uuid'`, nil, func(r []driver.Value) error {
		u, _ = r[0].(string)
		return nil
	})
	return u
}

// Delete closes the database and removes its files.
func (m *Manager) Delete(idOrName string) error {
	db, err := m.Lookup(idOrName)
	if err != nil {
		return err
	}
	var ids []string
	m.mu.Lock()
	for id, d := range m.open {
		if d == db {
			delete(m.open, id)
			ids = append(ids, id)
		}
	}
	m.mu.Unlock()
	if err := db.Close(); err != nil {
		return err
	}
	if m.Histories != nil {
		// A database made again with this id starts a history of its own.
		for _, id := range ids {
			if err := m.Histories.Remove(historyName(id)); err != nil {
				return fmt.Errorf("d1: delete: %w", err)
			}
		}
	}
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(db.path + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("d1: delete: %w", err)
		}
	}
	return nil
}

// Close closes every open database.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done = true
	var errs []error
	for id, db := range m.open {
		errs = append(errs, db.Close())
		delete(m.open, id)
	}
	return errors.Join(errs...)
}
