package backup

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"
)

// ManifestName is the name of the manifest in a backup. It is written last.
const ManifestName = "manifest.json"

// FormatVersion is the version of the backup layout this package writes
// and reads.
const FormatVersion = 1

// Kinds of File.
const (
	KindSQLite = "sqlite" // a SQLite database, stored with its WAL folded in
	KindFile   = "file"   // any other file, copied as bytes
)

// Consistency values of a Manifest (see the package documentation).
const (
	ConsistencyStopped     = "stopped"
	ConsistencyCut         = "cut"
	ConsistencyPerDatabase = "per-database"
)

// Manifest describes a complete backup.
type Manifest struct {
	Format       int       `json:"format"`
	CairnVersion string    `json:"cairnVersion,omitempty"`
	Created      time.Time `json:"created"`
	Worker       string    `json:"worker"`
	Consistency  string    `json:"consistency"`
	Files        []File    `json:"files"`
}

// File is one file of a backup.
type File struct {
	// Path is the file's path under the Worker's state directory, with
	// forward slashes; it is also its name in the Target.
	Path   string `json:"path"`
	Kind   string `json:"kind"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex
	// Pages is the database's page count, for SQLite files.
	Pages int64 `json:"pages,omitempty"`
}

// Bytes returns the total size of the backup's files.
func (m *Manifest) Bytes() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// readManifest decodes and checks a manifest.
func readManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadManifest, ManifestName, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: format %d, this cairn reads format %d", ErrBadManifest, m.Format, FormatVersion)
	}
	if m.Worker == "" {
		return nil, fmt.Errorf("%w: no worker name", ErrBadManifest)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if err := checkPath(f.Path); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
		}
		if seen[f.Path] {
			return nil, fmt.Errorf("%w: %s listed twice", ErrBadManifest, f.Path)
		}
		seen[f.Path] = true
		if f.Size < 0 || len(f.SHA256) != 64 {
			return nil, fmt.Errorf("%w: %s: bad size or checksum", ErrBadManifest, f.Path)
		}
	}
	return &m, nil
}

// checkPath refuses file names that would leave the state directory or
// that a backup never holds.
func checkPath(p string) error {
	if p == "" || path.IsAbs(p) || strings.Contains(p, "\\") || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("file path %q is not a plain relative path", p)
	}
	if p == ManifestName || skipName(path.Base(p)) {
		return fmt.Errorf("file path %q is reserved", p)
	}
	return nil
}

// skipName reports whether a file of the state directory is left out of
// backups: the server's lock, and SQLite's side files (a database's WAL is
// folded into its copy).
func skipName(name string) bool {
	if name == lockFileName {
		return true
	}
	for _, s := range []string{"-wal", "-shm", "-journal"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}
