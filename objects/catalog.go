package objects

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/cairn-dev/cairn/config"
)

// Catalog is what a Worker's data directory remembers about its Durable
// Object classes: a secret per class (so names map to the same ids forever),
// where each class keeps its objects, and which migrations have been
// applied. It lives in DIR/catalog.json; objects live in DIR/do/<random>/.
type Catalog struct {
	dir string

	mu   sync.Mutex
	data catalogData
}

type catalogData struct {
	Classes map[string]*classEntry `json:"classes"`
	Applied []string               `json:"applied"` // migration tags, in order
}

type classEntry struct {
	Secret string `json:"secret"` // hex; the namespace key is SHA-256 of it
	Dir    string `json:"dir"`    // relative to the catalog dir
	SQLite bool   `json:"sqlite"`
}

// OpenCatalog reads DIR/catalog.json, creating DIR if needed.
func OpenCatalog(dir string) (*Catalog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	c := &Catalog{dir: dir, data: catalogData{Classes: make(map[string]*classEntry)}}
	b, err := os.ReadFile(c.file())
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := json.Unmarshal(b, &c.data); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", c.file(), err)
	}
	if c.data.Classes == nil {
		c.data.Classes = make(map[string]*classEntry)
	}
	return c, nil
}

func (c *Catalog) file() string { return filepath.Join(c.dir, "catalog.json") }

// Apply applies migrations in order, skipping tags already applied, and
// saves the result. Deleted classes lose their objects' data.
func (c *Catalog) Apply(migrations []config.Migration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	var doomed []string // storage dirs to remove once the catalog is saved
	for _, m := range migrations {
		if slices.Contains(c.data.Applied, m.Tag) {
			continue
		}
		for _, name := range m.NewClasses {
			if err := c.create(m.Tag, name, false); err != nil {
				return err
			}
		}
		for _, name := range m.NewSQLiteClasses {
			if err := c.create(m.Tag, name, true); err != nil {
				return err
			}
		}
		for _, r := range m.RenamedClasses {
			e, ok := c.data.Classes[r.From]
			if !ok {
				return fmt.Errorf("migration %q: cannot rename class %q: it does not exist", m.Tag, r.From)
			}
			if _, ok := c.data.Classes[r.To]; ok {
				return fmt.Errorf("migration %q: cannot rename class %q to %q: %q already exists", m.Tag, r.From, r.To, r.To)
			}
			delete(c.data.Classes, r.From)
			c.data.Classes[r.To] = e
		}
		for _, name := range m.DeletedClasses {
			e, ok := c.data.Classes[name]
			if !ok {
				return fmt.Errorf("migration %q: cannot delete class %q: it does not exist", m.Tag, name)
			}
			delete(c.data.Classes, name)
			doomed = append(doomed, filepath.Join(c.dir, e.Dir))
		}
		c.data.Applied = append(c.data.Applied, m.Tag)
		changed = true
	}
	if !changed {
		return nil
	}
	if err := c.save(); err != nil {
		return err
	}
	for _, dir := range doomed {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("delete class storage: %w", err)
		}
	}
	return nil
}

// create adds a class entry with a fresh secret and storage directory.
func (c *Catalog) create(tag, name string, sqlite bool) error {
	if _, ok := c.data.Classes[name]; ok {
		if tag == "" {
			return nil
		}
		return fmt.Errorf("migration %q: cannot create class %q: it already exists", tag, name)
	}
	secret := make([]byte, 32)
	dir := make([]byte, 8)
	_, _ = rand.Read(secret)
	_, _ = rand.Read(dir)
	c.data.Classes[name] = &classEntry{
		Secret: hex.EncodeToString(secret),
		Dir:    filepath.Join("do", hex.EncodeToString(dir)),
		SQLite: sqlite,
	}
	return nil
}

// Class returns the namespace and absolute storage directory of a class.
// A class no migration declared (wrangler dev runs such projects) is added
// on first use, as SQLite-backed.
func (c *Catalog) Class(name string) (*Namespace, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.data.Classes[name]
	if !ok {
		if err := c.create("", name, true); err != nil {
			return nil, "", err
		}
		if err := c.save(); err != nil {
			return nil, "", err
		}
		e = c.data.Classes[name]
	}
	secret, err := hex.DecodeString(e.Secret)
	if err != nil {
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

// save writes the catalog atomically: temp file, fsync, rename, fsync dir.
func (c *Catalog) save() error {
	b, err := json.MarshalIndent(c.data, "", "  ")
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
