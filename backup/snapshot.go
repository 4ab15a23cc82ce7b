package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // the "sqlite3" database/sql driver
)

// SnapshotOptions say what Snapshot copies and where.
type SnapshotOptions struct {
	// Dir is the Worker's state directory: <persist-to>/<worker>.
	Dir string
	// Worker is the Worker's name, recorded in the manifest.
	Worker string
	// Target receives the files, then the manifest.
	Target Target
	// Pause, if set, is called before the files are copied and the
	// function it returns after: a server serving Dir holds back the
	// acknowledgements of commits meanwhile, which makes the backup a
	// consistent cut (see the package documentation). Without it,
	// Snapshot takes the state directory's lock if it is free (a
	// "stopped" backup) and otherwise copies each database on its own
	// ("per-database").
	Pause func() (resume func())
	// TempDir holds the copies until they are checked and sent; default:
	// the directory holding Dir (the same file system, with room for it).
	TempDir string
	// Logger receives progress and retries; nil: slog.Default().
	Logger *slog.Logger
}

// copyAttempts bounds how often Snapshot copies a database that changed
// in a way that made the copy unusable (its WAL restarted meanwhile).
const copyAttempts = 50

// Snapshot copies the state directory to the target and writes the
// manifest last. It returns the manifest.
func Snapshot(ctx context.Context, opts SnapshotOptions) (*Manifest, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	info, err := os.Stat(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("backup: state directory: %w", err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("backup: state directory %s is not a directory", opts.Dir)
	}
	if rc, err := opts.Target.Get(ctx, ManifestName); err == nil {
		rc.Close()
		return nil, fmt.Errorf("backup: %w", ErrTargetUsed)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("backup: %w", err)
	}
	m := &Manifest{Format: FormatVersion, CairnVersion: cairnVersion(), Worker: opts.Worker}
	resume := func() {}
	if opts.Pause != nil {
		m.Consistency = ConsistencyCut
	} else {
		switch lock, err := lockState(opts.Dir); {
		case err == nil:
			defer unlockState(lock)
			m.Consistency = ConsistencyStopped
		case errors.Is(err, ErrLocked):
			m.Consistency = ConsistencyPerDatabase
		default:
			return nil, fmt.Errorf("backup: %w", err)
		}
	}
	tempDir := opts.TempDir
	if tempDir == "" {
		tempDir = filepath.Dir(filepath.Clean(opts.Dir))
	}
	tmp, err := os.MkdirTemp(tempDir, ".cairn-backup-")
	if err != nil {
		return nil, fmt.Errorf("backup: temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)

	start := time.Now()
	// A stopped backup reads files at rest in place; the others copy
	// every file first. With a pause, a first pass copies everything
	// while the server runs on; the second, paused, copies again only
	// what changed since: the WALs of the databases written meanwhile,
	// and the files that are new or were replaced.
	var prev map[string]*entry
	if opts.Pause != nil {
		first, err := copyTree(ctx, opts.Dir, tmp, false, nil, log)
		if err != nil {
			return nil, err
		}
		prev = make(map[string]*entry, len(first))
		for i := range first {
			prev[first[i].Path] = &first[i]
		}
		log.Debug("backup: first pass", "files", len(first), "took", time.Since(start))
		resume = opts.Pause()
		start = time.Now()
	}
	entries, err := copyTree(ctx, opts.Dir, tmp, m.Consistency == ConsistencyStopped, prev, log)
	resume()
	if err != nil {
		return nil, err
	}
	for p, e := range prev {
		if !slices.ContainsFunc(entries, func(n entry) bool { return n.Path == p }) {
			os.Remove(e.local) // gone by the cut
			os.Remove(e.local + "-wal")
		}
	}
	m.Created = start.UTC()
	log.Debug("backup: files copied", "files", len(entries), "took", time.Since(start), "paused", opts.Pause != nil)

	var settling, sending time.Duration
	files := make([]File, len(entries))
	for i, e := range entries {
		f := &files[i]
		*f = e.File
		t0 := time.Now()
		if e.settle {
			if f.Pages, err = settleDB(e.local); err != nil {
				return nil, fmt.Errorf("backup: %s: %w", f.Path, err)
			}
		} else if f.Kind == KindSQLite {
			f.Pages = pageCount(e.local)
		}
		t1 := time.Now()
		if err := putFile(ctx, opts.Target, e.local, f); err != nil {
			return nil, fmt.Errorf("backup: %s: %w", f.Path, err)
		}
		if e.direct {
			// Read in place: it must not have changed meanwhile (nothing
			// writes a stopped state directory but cairn, which we locked out).
			if info, err := os.Stat(e.local); err != nil || info.Size() != f.Size {
				return nil, fmt.Errorf("backup: %s changed while it was read", f.Path)
			}
		} else if err := os.Remove(e.local); err != nil {
			return nil, fmt.Errorf("backup: %w", err)
		}
		settling += t1.Sub(t0)
		sending += time.Since(t1)
	}
	log.Debug("backup: files checked and sent", "settling", settling, "sending", sending)
	m.Files = files
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	b = append(b, '\n')
	if err := opts.Target.Put(ctx, ManifestName, bytes.NewReader(b), int64(len(b))); err != nil {
		return nil, fmt.Errorf("backup: %s: %w", ManifestName, err)
	}
	return m, nil
}

// entry is a file of the backup being taken.
type entry struct {
	File
	local  string // where it is read from: a copy in the temporary directory, or the file itself
	direct bool   // local is the state directory's own file
	settle bool   // a database copied with its WAL: settleDB must fold it in

	// What the copy was checked against, for a second pass to tell
	// whether it is still current.
	wal  []byte      // the WAL header throughout the copy of a database (nil: it had none)
	stat os.FileInfo // of the file before it was copied (plain files and databases at rest)
}

// copyTree copies every file of dir that a backup holds into tmp, under
// the same relative paths, and returns them sorted by path (without sizes
// and checksums yet). With direct (the state directory is locked: nothing
// changes) files at rest are not copied but read in place later: any
// file but a database with a WAL. With prev (the entries of a first pass)
// a copy that is still current is kept: a database whose WAL was not
// restarted since gets only its WAL copied again, a file at rest that did
// not change is not copied.
func copyTree(ctx context.Context, dir, tmp string, direct bool, prev map[string]*entry, log *slog.Logger) ([]entry, error) {
	var entries []entry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p != dir {
				return nil // removed while we walked (an object's storage deleted)
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() || skipName(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ManifestName {
			return nil
		}
		e := entry{File: File{Path: rel, Kind: KindFile}}
		if isSQLite(p) {
			e.Kind = KindSQLite
		}
		if direct {
			if e.Kind == KindFile {
				e.local, e.direct = p, true
			} else if h, err := walHeader(p); err == nil && h == nil {
				e.local, e.direct = p, true
			}
		}
		if pe := prev[rel]; pe != nil && pe.Kind == e.Kind {
			if ok, err := stillCurrent(p, pe); err != nil {
				return fmt.Errorf("backup: copy %s: %w", rel, err)
			} else if ok {
				entries = append(entries, *pe)
				return nil
			}
		}
		if !e.direct {
			e.local = filepath.Join(tmp, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(e.local), 0o755); err != nil {
				return err
			}
			if e.Kind == KindSQLite {
				e.wal, e.stat, err = copyDB(p, e.local, log)
				if _, werr := os.Stat(e.local + "-wal"); werr == nil {
					e.settle = true
				}
			} else if e.stat, err = os.Stat(p); err == nil {
				err = copyFile(p, e.local)
			}
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed while we walked
			} else if err != nil {
				return fmt.Errorf("backup: copy %s: %w", rel, err)
			}
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.Path, b.Path) })
	return entries, nil
}

// pageCount returns the page count a database file's header records (0 if
// it cannot be read).
func pageCount(p string) int64 {
	f, err := os.Open(p)
	if err != nil {
		return 0
	}
	defer f.Close()
	h := make([]byte, 100)
	if _, err := io.ReadFull(f, h); err != nil {
		return 0
	}
	return int64(binary.BigEndian.Uint32(h[28:32]))
}

// sqliteHeader starts every SQLite database file.
var sqliteHeader = []byte("SQLite format 3\x00")

// isSQLite reports whether the file at p is a SQLite database: it starts
// with SQLite's header, or has a WAL beside it (a new database whose
// header is still only in its WAL).
func isSQLite(p string) bool {
	if _, err := os.Stat(p + "-wal"); err == nil {
		return true
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(sqliteHeader))
	_, err = io.ReadFull(f, b)
	return err == nil && bytes.Equal(b, sqliteHeader)
}

// walHeaderSize is the size of a WAL file's header. It holds the
// checkpoint sequence number and the salts, which change every time the
// WAL restarts from its beginning.
const walHeaderSize = 32

// walHeader returns the header of the WAL of the database at p, or nil if
// it has none (no file, or an empty one).
func walHeader(p string) ([]byte, error) {
	f, err := os.Open(p + "-wal")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, walHeaderSize)
	n, err := io.ReadFull(f, b)
	if n < walHeaderSize {
		return nil, nil
	}
	return b, err
}

// copyDB copies the database at src and its WAL to dst and dst-wal, again
// until a copy is usable: the WAL was not restarted between the copy of
// the file and the end of the copy of the WAL (see the package
// documentation for why that makes the copy a committed state).
// It returns the WAL's header (nil if there was none) and the file's
// stat from before the copy.
func copyDB(src, dst string, log *slog.Logger) ([]byte, os.FileInfo, error) {
	for attempt := 1; ; attempt++ {
		wal, st, ok, err := copyDBOnce(src, dst)
		if err != nil || ok {
			return wal, st, err
		}
		if attempt == copyAttempts {
			return nil, nil, fmt.Errorf("%w (%d attempts)", ErrChanging, attempt)
		}
		log.Debug("backup: database changed while copied; copying again", "path", src, "attempt", attempt)
		time.Sleep(time.Duration(attempt) * time.Millisecond)
	}
}

func copyDBOnce(src, dst string) ([]byte, os.FileInfo, bool, error) {
	before, err := walHeader(src)
	if err != nil {
		return nil, nil, false, err
	}
	st0, err := os.Stat(src)
	if err != nil {
		return nil, nil, false, err
	}
	if err := copyFile(src, dst); err != nil {
		return nil, nil, false, err
	}
	os.Remove(dst + "-wal")
	if before != nil {
		// The WAL was there throughout and never restarted: the copied WAL
		// holds every frame a checkpoint may have written into the file.
		ok, err := copyWAL(src, dst, before)
		return before, st0, ok, err
	}
	// No WAL before: the database was at rest. It still is if it has no
	// WAL now and the file did not change.
	after, err := walHeader(src)
	if err != nil || after != nil {
		return nil, nil, false, err
	}
	st1, err := os.Stat(src)
	if err != nil {
		return nil, nil, false, err
	}
	return nil, st0, sameFile(st0, st1), nil
}

// copyWAL copies the WAL of src to dst-wal and reports whether its header
// was want before, throughout and after the copy: the WAL was not
// restarted.
func copyWAL(src, dst string, want []byte) (bool, error) {
	if err := copyFile(src+"-wal", dst+"-wal"); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	after, err := walHeader(src)
	if err != nil {
		return false, err
	}
	copied, err := walHeader(dst)
	if err != nil {
		return false, err
	}
	return bytes.Equal(want, after) && bytes.Equal(want, copied), nil
}

// sameFile reports whether two stats are of the same, unchanged file.
func sameFile(a, b os.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// stillCurrent reports whether the copy of a first pass still holds the
// file at p, after copying a database's WAL again if it was not restarted
// since.
func stillCurrent(p string, pe *entry) (bool, error) {
	if pe.Kind == KindSQLite && pe.wal != nil {
		h, err := walHeader(p)
		if err != nil || !bytes.Equal(h, pe.wal) {
			return false, err
		}
		return copyWAL(p, pe.local, pe.wal)
	}
	if pe.Kind == KindSQLite {
		if h, err := walHeader(p); err != nil || h != nil {
			return false, err
		}
	}
	st, err := os.Stat(p)
	if err != nil {
		return false, err
	}
	return sameFile(pe.stat, st), nil
}

// copyFile copies src to a new file dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// settleDB opens the copy of a database, which replays its WAL, checks
// it, folds the WAL into the file and returns its page count: the file is
// then a database on its own.
func settleDB(p string) (int64, error) {
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: p}).EscapedPath())
	if err != nil {
		return 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var res string
	if err := db.QueryRow("PRAGMA quick_check").Scan(&res); err != nil {
		return 0, fmt.Errorf("check the copy: %w", err)
	}
	if res != "ok" {
		return 0, fmt.Errorf("the copy fails PRAGMA quick_check: %s", res)
	}
	var busy, logged, done int64
	if err := db.QueryRow("PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done); err != nil {
		return 0, fmt.Errorf("checkpoint the copy: %w", err)
	}
	if busy != 0 {
		return 0, fmt.Errorf("checkpoint the copy: busy")
	}
	var pages int64
	if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		return 0, err
	}
	if err := db.Close(); err != nil {
		return 0, err
	}
	if err := os.Remove(p + "-wal"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	os.Remove(p + "-shm")
	return pages, nil
}

// putFile sends the local file to the target as f.Path, filling in its
// size and checksum.
func putFile(ctx context.Context, t Target, local string, f *File) error {
	in, err := os.Open(local)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	h := sha256.New()
	if err := t.Put(ctx, f.Path, io.TeeReader(in, h), info.Size()); err != nil {
		return err
	}
	f.Size = info.Size()
	f.SHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// cairnVersion returns the version of the running binary, as far as the
// build recorded it.
func cairnVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			if v == "" || v == "(devel)" {
				return s.Value
			}
			return v + " " + s.Value
		}
	}
	return v
}
