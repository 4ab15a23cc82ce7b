package kv

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/cairn-dev/cairn/commit"
)

// ErrTitleExists is returned by Catalog.Create and Catalog.Rename for a
// title another namespace has.
var ErrTitleExists = errors.New("kv: a namespace with this title already exists")

// ErrNotFound is returned by Catalog methods for a namespace that has no
// file and no title.
var ErrNotFound = errors.New("kv: namespace not found")

// Catalog is the set of KV namespaces under one Worker's state directory,
// <persist>/<worker>/kv: a namespace exists when it has a file there (one
// bound in the config gets its file when the Worker starts) or a title.
// Titles, which Cloudflare's API lets clients create and rename, are kept in
// titles.json in the same directory; a namespace without one has a title
// the caller derives (cairn uses <worker>-<binding>). Catalog's methods are
// safe for concurrent use within a process.
type Catalog struct {
	dir   string
	mu    sync.Mutex   // serializes changes to titles.json
	inUse sync.RWMutex // held shared by Use, exclusively by Delete
}

// NamespaceInfo is a namespace of a Catalog. Title is "" when the
// namespace was never given one.
type NamespaceInfo struct {
	ID    string
	Title string
}

// NewCatalog returns the catalog of the Worker named worker under the state
// directory persist.
func NewCatalog(persist, worker string) *Catalog {
	return &Catalog{dir: filepath.Join(persist, worker, "kv")}
}

// Path returns the file of namespace id (see Path).
func (c *Catalog) Path(id string) (string, error) {
	if !idPattern.MatchString(id) || id == "." || id == ".." {
		return "", fmt.Errorf("%w %q", ErrNamespaceID, id)
	}
	return filepath.Join(c.dir, id+".sqlite"), nil
}

func (c *Catalog) titlesPath() string { return filepath.Join(c.dir, "titles.json") }

func (c *Catalog) readTitles() (map[string]string, error) {
	b, err := os.ReadFile(c.titlesPath())
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kv catalog: %w", err)
	}
	m := map[string]string{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("kv catalog %s: %w", c.titlesPath(), err)
	}
	return m, nil
}

// writeTitles replaces titles.json atomically and durably (write, fsync,
// rename, fsync of the directory: the rename survives a power cut only
// once the directory is synced).
func (c *Catalog) writeTitles(m map[string]string) error {
	if err := commit.MkdirAll(c.dir); err != nil {
		return fmt.Errorf("kv catalog: %w", err)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("kv catalog: %w", err)
	}
	tmp, err := os.CreateTemp(c.dir, "titles-*.json")
	if err != nil {
		return fmt.Errorf("kv catalog: %w", err)
	}
	_, err = tmp.Write(b)
	err = errors.Join(err, tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), c.titlesPath())
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("kv catalog: %w", err)
	}
	if err := syncDir(c.dir); err != nil {
		return fmt.Errorf("kv catalog: sync %s: %w", c.dir, err)
	}
	return nil
}

// syncDir fsyncs the directory dir, making its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// List returns the namespaces, sorted by id.
func (c *Catalog) List() ([]NamespaceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.list()
}

func (c *Catalog) list() ([]NamespaceInfo, error) {
	titles, err := c.readTitles()
	if err != nil {
		return nil, err
	}
	des, err := os.ReadDir(c.dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("list kv namespaces: %w", err)
	}
	ids := map[string]bool{}
	for _, de := range des {
		if id, ok := strings.CutSuffix(de.Name(), ".sqlite"); ok && !de.IsDir() {
			ids[id] = true
		}
	}
	for id := range titles {
		ids[id] = true
	}
	out := make([]NamespaceInfo, 0, len(ids))
	for id := range ids {
		out = append(out, NamespaceInfo{ID: id, Title: titles[id]})
	}
	slices.SortFunc(out, func(a, b NamespaceInfo) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Get returns namespace id, or ErrNotFound.
func (c *Catalog) Get(id string) (NamespaceInfo, error) {
	list, err := c.List()
	if err != nil {
		return NamespaceInfo{}, err
	}
	for _, ns := range list {
		if ns.ID == id {
			return ns, nil
		}
	}
	return NamespaceInfo{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

// Create makes a namespace titled title with a new id (32 hex digits, as
// Cloudflare's), creating its file.
func (c *Catalog) Create(title string) (NamespaceInfo, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	titles, err := c.readTitles()
	if err != nil {
		return NamespaceInfo{}, err
	}
	for _, t := range titles {
		if t == title {
			return NamespaceInfo{}, ErrTitleExists
		}
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	ns := NamespaceInfo{ID: hex.EncodeToString(b), Title: title}
	path, _ := c.Path(ns.ID)
	db, err := Open(path, Options{SweepInterval: -1})
	if err != nil {
		return NamespaceInfo{}, err
	}
	if err := db.Close(); err != nil {
		return NamespaceInfo{}, err
	}
	titles[ns.ID] = title
	if err := c.writeTitles(titles); err != nil {
		return NamespaceInfo{}, err
	}
	return ns, nil
}

// Rename gives namespace id the title title.
func (c *Catalog) Rename(id, title string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	list, err := c.list()
	if err != nil {
		return err
	}
	found := false
	for _, ns := range list {
		if ns.ID != id && ns.Title == title {
			return ErrTitleExists
		}
		found = found || ns.ID == id
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	titles, err := c.readTitles()
	if err != nil {
		return err
	}
	titles[id] = title
	return c.writeTitles(titles)
}

// Use calls fn with the file of namespace id, which exists (or
// ErrNotFound); Delete waits until fn returns.
func (c *Catalog) Use(id string, fn func(ns NamespaceInfo, path string) error) error {
	c.inUse.RLock()
	defer c.inUse.RUnlock()
	ns, err := c.Get(id)
	if err != nil {
		return err
	}
	path, err := c.Path(id)
	if err != nil {
		return err
	}
	return fn(ns, path)
}

// Delete removes namespace id: its title and its files. It waits for the
// calls of Use; the caller makes sure no one else has the namespace open
// (a namespace bound in the config is open while its Worker runs).
func (c *Catalog) Delete(id string) error {
	path, err := c.Path(id)
	if err != nil {
		return err
	}
	c.inUse.Lock()
	defer c.inUse.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	titles, err := c.readTitles()
	if err != nil {
		return err
	}
	_, titled := titles[id]
	_, statErr := os.Stat(path)
	if !titled && statErr != nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	var errs []error
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete kv namespace %s: %w", id, err)
	}
	if titled {
		delete(titles, id)
		return c.writeTitles(titles)
	}
	return nil
}
