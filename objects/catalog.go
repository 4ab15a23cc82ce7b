package objects

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cairn-dev/cairn/commit"
	"github.com/cairn-dev/cairn/config"
)

// Catalog is what a Worker's data directory remembers about its Durable
// Object classes, across restarts: a secret per class (so names map to the
// same ids forever), whether the class is SQLite-backed, where the class
// keeps its objects, and which migration tags have been applied.
//
// Layout of the data directory DIR (one per Worker, e.g.
// .cairn/state/<worker-name>/):
//
//	DIR/catalog.json        this catalog, replaced atomically on every change
//	DIR/do/<16 hex>/        one directory per class, named at random so that a
//	                        rename keeps it and a deleted-then-recreated class
//	                        does not find old data
//	DIR/do/<16 hex>/<id>.sqlite   an object's database (written by the Host)
type Catalog struct {
	dir string

	mu      sync.Mutex
	data    catalogData
	pending *MigrationPlan // staged by Plan; nil without
}

type catalogData struct {
	Classes map[string]classEntry `json:"classes"`
	Applied []string              `json:"applied"` // migration tags, in order
}

type classEntry struct {
	Secret string `json:"secret"` // hex; the namespace key is SHA-256 of its bytes
	Dir    string `json:"dir"`    // relative to the catalog dir
	SQLite bool   `json:"sqlite"`
	// Implicit marks a class created on first use because no migration
	// declared it; a later new_classes / new_sqlite_classes adopts it.
	Implicit bool `json:"implicit,omitempty"`
}

func (d catalogData) clone() catalogData {
	return catalogData{Classes: maps.Clone(d.Classes), Applied: slices.Clone(d.Applied)}
}

// ErrCatalogMissing is returned by OpenCatalog when a data directory holds
// Durable Object files but no catalog.json: starting afresh would give every
// class a new secret and directory, so every object would silently get a new
// id and lose its data.
var ErrCatalogMissing = errors.New("catalog.json is missing but Durable Object data is present")

// OpenCatalog reads DIR/catalog.json if it exists, creating DIR (durably:
// the objects' files go under it) if needed.
// A DIR without a catalog but with object files (under DIR/do) is refused
// with ErrCatalogMissing.
func OpenCatalog(dir string) (*Catalog, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := commit.MkdirAll(dir); err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	c := &Catalog{dir: dir, data: catalogData{Classes: make(map[string]classEntry)}}
	b, err := os.ReadFile(c.file())
	if errors.Is(err, os.ErrNotExist) {
		if n, err := countObjectFiles(filepath.Join(dir, "do")); err != nil {
			return nil, fmt.Errorf("open catalog: %w", err)
		} else if n > 0 {
			return nil, fmt.Errorf("%s: %w (%d object files under %s): restore catalog.json from a backup, or move the do directory away to start with no objects", c.file(), ErrCatalogMissing, n, filepath.Join(dir, "do"))
		}
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := json.Unmarshal(b, &c.data); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", c.file(), err)
	}
	if c.data.Classes == nil {
		c.data.Classes = make(map[string]classEntry)
	}
	return c, nil
}

// countObjectFiles counts the files in the class directories under doDir.
func countObjectFiles(doDir string) (int, error) {
	classes, err := os.ReadDir(doDir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cd := range classes {
		if !cd.IsDir() {
			n++
			continue
		}
		files, err := os.ReadDir(filepath.Join(doDir, cd.Name()))
		if err != nil {
			return 0, err
		}
		n += len(files)
	}
	return n, nil
}

func (c *Catalog) file() string { return filepath.Join(c.dir, "catalog.json") }

// Apply applies migrations in order, skipping tags already applied, and
// saves the result atomically. Within one migration, new classes are created
// first, then renames, then deletions (the order config validates them in).
//
//   - new_classes / new_sqlite_classes create a class with a fresh secret and
//     storage directory (or adopt one created on first use, keeping its ids
//     and data);
//   - renamed_classes move a class to its new name with its secret and
//     storage directory, so ids and data survive;
//   - deleted_classes remove a class and delete its storage directory.
//
// Creating a class that exists, renaming a missing class or onto an existing
// one, or deleting a missing class is an error naming the migration tag; then
// nothing is applied, in memory or on disk. Call Apply before any object of
// the Worker runs: deleted storage goes away under running objects. A crash
// after the catalog is saved but before a deleted class's directory is
// removed leaves an orphaned directory, never a class pointing at lost data.
func (c *Catalog) Apply(migrations []config.Migration) error {
	p, err := c.Plan(migrations)
	if err != nil {
		return err
	}
	if err := p.Commit(); err != nil {
		p.Discard()
		return err
	}
	return p.RemoveDeleted()
}

// MigrationPlan is the change migrations make to a Catalog, checked but not
// yet saved (see Plan).
type MigrationPlan struct {
	c       *Catalog
	next    catalogData
	changed bool     // next differs from what is saved
	doomed  []string // storage dirs of deleted classes
	removed bool     // RemoveDeleted may act: Commit saved next
}

// Plan checks migrations against the catalog as Apply does (the same
// errors, naming the tag) and stages the result without saving it. Until
// Commit or Discard, the catalog answers Class from the staged state, in
// memory (a class used without a migration is added there too): a new
// version of a Worker loads against the classes its migrations make, and
// if it fails to load, Discard leaves the catalog on disk as it was.
func (c *Catalog) Plan(migrations []config.Migration) (*MigrationPlan, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, doomed, err := c.data.migrate(c.dir, migrations)
	if err != nil {
		return nil, err
	}
	p := &MigrationPlan{c: c, next: next, doomed: doomed, changed: len(next.Applied) != len(c.data.Applied)}
	c.pending = p
	return p, nil
}

// Commit saves the staged catalog atomically; on an error nothing changed.
func (p *MigrationPlan) Commit() error {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending != p {
		return errors.New("commit migrations: the plan was discarded or replaced")
	}
	if p.changed {
		if err := c.save(p.next); err != nil {
			return err
		}
	}
	c.data = p.next
	c.pending = nil
	p.removed = true
	return nil
}

// Discard drops the staged catalog: the catalog is again what is saved.
func (p *MigrationPlan) Discard() {
	c := p.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending == p {
		c.pending = nil
	}
}

// RemoveDeleted deletes the storage of the classes the committed migrations
// deleted. Call it once no object of theirs runs: after Commit when no
// object has run yet, or once the previous version of the Worker stopped.
// Before Commit it does nothing.
func (p *MigrationPlan) RemoveDeleted() error {
	if !p.removed {
		return nil
	}
	for _, dir := range p.doomed {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("delete storage of a deleted class: %w", err)
		}
	}
	p.doomed = nil
	return nil
}

// migrate returns d with migrations applied (skipping applied tags) and the
// storage directories of the classes they delete, or the first error.
func (d catalogData) migrate(dir string, migrations []config.Migration) (catalogData, []string, error) {
	next := d.clone()
	var doomed []string
	for _, m := range migrations {
		if slices.Contains(next.Applied, m.Tag) {
			continue
		}
		for _, name := range m.NewClasses {
			if err := next.declare(m.Tag, name, false); err != nil {
				return catalogData{}, nil, err
			}
		}
		for _, name := range m.NewSQLiteClasses {
			if err := next.declare(m.Tag, name, true); err != nil {
				return catalogData{}, nil, err
			}
		}
		for _, r := range m.RenamedClasses {
			e, ok := next.Classes[r.From]
			if !ok {
				return catalogData{}, nil, fmt.Errorf("migration %q: cannot rename class %q: it does not exist", m.Tag, r.From)
			}
			if _, ok := next.Classes[r.To]; ok {
				return catalogData{}, nil, fmt.Errorf("migration %q: cannot rename class %q to %q: %q already exists", m.Tag, r.From, r.To, r.To)
			}
			delete(next.Classes, r.From)
			next.Classes[r.To] = e
		}
		for _, name := range m.DeletedClasses {
			e, ok := next.Classes[name]
			if !ok {
				return catalogData{}, nil, fmt.Errorf("migration %q: cannot delete class %q: it does not exist", m.Tag, name)
			}
			delete(next.Classes, name)
			doomed = append(doomed, filepath.Join(dir, e.Dir))
		}
		next.Applied = append(next.Applied, m.Tag)
	}
	return next, doomed, nil
}

// declare creates class name for migration tag, or adopts the entry that
// first use created for it.
func (d catalogData) declare(tag, name string, sqlite bool) error {
	if e, ok := d.Classes[name]; ok {
		if !e.Implicit {
			return fmt.Errorf("migration %q: cannot create class %q: it already exists", tag, name)
		}
		e.Implicit, e.SQLite = false, sqlite
		d.Classes[name] = e
		return nil
	}
	d.Classes[name] = newClassEntry(sqlite)
	return nil
}

// newClassEntry returns an entry with a fresh random secret and storage dir.
func newClassEntry(sqlite bool) classEntry {
	secret := make([]byte, 32)
	dir := make([]byte, 8)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails
	_, _ = rand.Read(dir)
	return classEntry{
		Secret: hex.EncodeToString(secret),
		Dir:    filepath.Join("do", hex.EncodeToString(dir)),
		SQLite: sqlite,
	}
}

// Class returns the namespace and absolute storage directory of a class. A
// class no migration declared (wrangler dev runs such projects) is added on
// first use as SQLite-backed and saved, so its ids stay the same after a
// restart and after a migration declares it.
func (c *Catalog) Class(name string) (ns *Namespace, storageDir string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.pending; p != nil {
		e, ok := p.next.Classes[name]
		if !ok { // staged with the plan, saved by its Commit
			e = newClassEntry(true)
			e.Implicit = true
			p.next.Classes[name] = e
			p.changed = true
		}
		return c.namespace(name, e)
	}
	e, ok := c.data.Classes[name]
	if !ok {
		next := c.data.clone()
		e = newClassEntry(true)
		e.Implicit = true
		next.Classes[name] = e
		if err := c.save(next); err != nil {
			return nil, "", err
		}
		c.data = next
	}
	return c.namespace(name, e)
}

// namespace returns the namespace and storage directory of entry e of
// class name.
func (c *Catalog) namespace(name string, e classEntry) (*Namespace, string, error) {
	secret, err := hex.DecodeString(e.Secret)
	if err != nil || len(secret) == 0 {
		return nil, "", fmt.Errorf("catalog %s: class %q has a corrupt secret", c.file(), name)
	}
	return NewNamespace(name, secret), filepath.Join(c.dir, e.Dir), nil
}

// Applied returns the migration tags applied so far, in order.
func (c *Catalog) Applied() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.data.Applied)
}

// save writes data as the catalog atomically: temp file, fsync, rename,
// fsync dir.
func (c *Catalog) save(data catalogData) error {
	b, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(c.dir, "catalog-*.tmp")
	if err != nil {
		return fmt.Errorf("save catalog: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), c.file())
	}
	if err == nil {
		err = syncDir(c.dir)
	}
	if err != nil {
		return fmt.Errorf("save catalog: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
