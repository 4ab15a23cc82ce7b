// Package versions keeps the deployed versions of one Worker and the record
// of which version is deployed, on disk under the Worker's state directory.
//
// A version is what `cairn deploy` (or the Workers Versions API) uploads:
// the bundled script, the resolved config and metadata (id, number, time,
// message, source). A deployment says which version serves (cairn serves
// one version at 100%). Both survive restarts and crashes:
//
//	DIR/<version id>/version.json   the Version
//	DIR/<version id>/<file>         its files (worker.js, config.json, …)
//	DIR/deployments.json            every Deployment, oldest first
//
// A version directory is written under a temporary name, each file fsynced,
// then renamed into place and the parent fsynced, so a version is either
// wholly there or absent. deployments.json is replaced the same way (temp
// file, fsync, rename, fsync of the directory): after a crash the active
// deployment is the last one acknowledged.
package versions

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// ErrNotFound is returned for a version id the store does not hold.
var ErrNotFound = errors.New("version not found")

// ErrNoDeployment is returned by Active when no version was ever deployed.
var ErrNoDeployment = errors.New("no version is deployed")

// ErrBadFileName is returned by Add for a file name that is not a
// relative path inside the version ("", absolute, with a "." or ".."
// element or a backslash, or version.json).
var ErrBadFileName = errors.New("bad version file name")

// Version describes one uploaded version of a Worker.
type Version struct {
	ID      string    `json:"id"`     // a random (v4) UUID
	Number  int       `json:"number"` // 1, 2, … in upload order
	Created time.Time `json:"created_on"`
	Message string    `json:"message,omitempty"` // the annotation workers/message
	Tag     string    `json:"tag,omitempty"`     // the annotation workers/tag
	Source  string    `json:"source,omitempty"`  // who uploaded it: "cairn deploy", "api", …
	Author  string    `json:"author,omitempty"`
	Files   []string  `json:"files"` // the names of its files, sorted
}

// Split is one version's share of a deployment's traffic.
type Split struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

// Deployment records that versions were deployed, at a time.
type Deployment struct {
	ID       string    `json:"id"`
	Created  time.Time `json:"created_on"`
	Source   string    `json:"source,omitempty"`
	Message  string    `json:"message,omitempty"`
	Author   string    `json:"author,omitempty"`
	Versions []Split   `json:"versions"`
}

// Store keeps a Worker's versions and deployments in one directory. It is
// safe for concurrent use within one process (the server's state lock keeps
// other processes out).
type Store struct {
	dir string
	mu  sync.Mutex
}

const (
	versionFile     = "version.json"
	deploymentsFile = "deployments.json"
	tmpPrefix       = ".tmp-"
)

// Open returns the store in dir, creating the directory if needed and
// removing what an interrupted Add left behind.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open versions: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("open versions: %w", err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, fmt.Errorf("open versions: remove unfinished upload: %w", err)
			}
		}
	}
	return &Store{dir: dir}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Add stores a new version with files (name → contents) and returns it with
// its number, time and file list set, and its id unless v has one (made by
// NewID: a caller may need the version's directory before it is added). It
// is durable when Add returns.
func (s *Store) Add(v Version, files map[string][]byte) (Version, error) {
	for name := range files {
		if err := checkName(name); err != nil {
			return Version{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	list, err := s.list()
	if err != nil {
		return Version{}, err
	}
	if v.ID == "" {
		v.ID = NewID()
	} else if !validID(v.ID) {
		return Version{}, fmt.Errorf("add version: id %q is not a UUID", v.ID)
	} else if _, err := os.Stat(filepath.Join(s.dir, v.ID)); err == nil {
		return Version{}, fmt.Errorf("add version: %s exists already", v.ID)
	}
	v.Number = 1
	if len(list) > 0 {
		v.Number = list[0].Number + 1
	}
	v.Created = time.Now().UTC()
	v.Files = slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if !yield(name) {
				return
			}
		}
	})
	meta, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return Version{}, fmt.Errorf("add version: %w", err)
	}
	tmp := filepath.Join(s.dir, tmpPrefix+v.ID)
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return Version{}, fmt.Errorf("add version: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	dirs := map[string]bool{tmp: true}
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if d := filepath.Dir(p); !dirs[d] {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return Version{}, fmt.Errorf("add version: %w", err)
			}
			for ; !dirs[d]; d = filepath.Dir(d) {
				dirs[d] = true
			}
		}
		if err := writeFileSync(p, b); err != nil {
			return Version{}, fmt.Errorf("add version: %w", err)
		}
	}
	if err := writeFileSync(filepath.Join(tmp, versionFile), meta); err != nil {
		return Version{}, fmt.Errorf("add version: %w", err)
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return Version{}, fmt.Errorf("add version: %w", err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, v.ID)); err != nil {
		return Version{}, fmt.Errorf("add version: %w", err)
	}
	done = true
	if err := syncDir(s.dir); err != nil {
		return Version{}, fmt.Errorf("add version: %w", err)
	}
	return v, nil
}

// Remove deletes version id (one that failed to load after Add), unless a
// deployment names it.
func (s *Store) Remove(id string) error {
	if _, err := s.Get(id); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.deployments()
	if err != nil {
		return err
	}
	for _, d := range all {
		for _, sp := range d.Versions {
			if sp.VersionID == id {
				return fmt.Errorf("remove version %s: deployment %s uses it", id, d.ID)
			}
		}
	}
	// Renamed out of sight first: a crash midway leaves what Open removes.
	tmp := filepath.Join(s.dir, tmpPrefix+id)
	if err := os.Rename(filepath.Join(s.dir, id), tmp); err != nil {
		return fmt.Errorf("remove version: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		return fmt.Errorf("remove version: %w", err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("remove version: %w", err)
	}
	return nil
}

// List returns every version, newest (highest number) first.
func (s *Store) List() ([]Version, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list()
}

func (s *Store) list() ([]Version, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	var out []Version
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		v, err := s.read(e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b Version) int { return b.Number - a.Number })
	return out, nil
}

// Get returns the version id, or ErrNotFound.
func (s *Store) Get(id string) (Version, error) {
	if !validID(id) {
		return Version{}, fmt.Errorf("version %q: %w", id, ErrNotFound)
	}
	return s.read(id)
}

func (s *Store) read(id string) (Version, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, id, versionFile))
	if errors.Is(err, os.ErrNotExist) {
		return Version{}, fmt.Errorf("version %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Version{}, fmt.Errorf("read version %s: %w", id, err)
	}
	var v Version
	if err := json.Unmarshal(b, &v); err != nil {
		return Version{}, fmt.Errorf("read version %s: %w", id, err)
	}
	return v, nil
}

// ReadFile returns the contents of one of version id's files.
func (s *Store) ReadFile(id, name string) ([]byte, error) {
	if !validID(id) {
		return nil, fmt.Errorf("version %q: %w", id, ErrNotFound)
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.dir, id, name))
	if errors.Is(err, os.ErrNotExist) {
		if _, verr := s.read(id); verr != nil {
			return nil, verr
		}
		return nil, fmt.Errorf("version %s has no file %q: %w", id, name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("read version %s: %w", id, err)
	}
	return b, nil
}

// VersionDir returns the directory holding version id's files.
func (s *Store) VersionDir(id string) string { return filepath.Join(s.dir, id) }

// Deploy records d (its id and time are set here) as the newest
// deployment, durably, and returns it. Every version it names must exist.
func (s *Store) Deploy(d Deployment) (Deployment, error) {
	if len(d.Versions) == 0 {
		return Deployment{}, errors.New("deploy: no versions")
	}
	for _, sp := range d.Versions {
		if _, err := s.Get(sp.VersionID); err != nil {
			return Deployment{}, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.deployments()
	if err != nil {
		return Deployment{}, err
	}
	d.ID = NewID()
	d.Created = time.Now().UTC()
	all = append(all, d)
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return Deployment{}, fmt.Errorf("deploy: %w", err)
	}
	if err := replaceFile(filepath.Join(s.dir, deploymentsFile), b); err != nil {
		return Deployment{}, fmt.Errorf("deploy: %w", err)
	}
	return d, nil
}

// Deployments returns every deployment, newest first.
func (s *Store) Deployments() ([]Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.deployments()
	slices.Reverse(all)
	return all, err
}

// Active returns the newest deployment, or ErrNoDeployment.
func (s *Store) Active() (Deployment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.deployments()
	if err != nil {
		return Deployment{}, err
	}
	if len(all) == 0 {
		return Deployment{}, ErrNoDeployment
	}
	return all[len(all)-1], nil
}

// deployments reads deployments.json, oldest first.
func (s *Store) deployments() ([]Deployment, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, deploymentsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read deployments: %w", err)
	}
	var all []Deployment
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("read deployments %s: %w", filepath.Join(s.dir, deploymentsFile), err)
	}
	return all, nil
}

// NewID returns a random version 4 UUID, the form of Cloudflare's version
// and deployment ids.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// validID reports whether id has the form NewID returns, so that it can
// name a directory.
func validID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i, c := range id {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// checkName accepts a slash-separated relative path whose every element
// is a plain name.
func checkName(name string) error {
	bad := name == "" || name == versionFile || strings.ContainsAny(name, "\\\x00") || len(name) > 1024
	for _, el := range strings.Split(name, "/") {
		if el == "" || el == "." || el == ".." || len(el) > 255 {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%w: %q", ErrBadFileName, name)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// replaceFile replaces path with b atomically and durably: temp file,
// fsync, rename, fsync of the directory.
func replaceFile(path string, b []byte) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := writeFileSync(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
