package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// RestoreOptions say which backup Restore reads and where it writes.
type RestoreOptions struct {
	// Source holds the backup.
	Source Target
	// Dir is the Worker's state directory to restore into:
	// <persist-to>/<worker>. It must not be in use by a server.
	Dir string
	// Worker, if set, must be the manifest's Worker.
	Worker string
	// Force lets Restore replace a state directory that holds state.
	Force bool
	// beforeSwap, if set, runs once the new directory is complete and
	// durable, before it replaces Dir (tests use it).
	beforeSwap func(tmp string)
}

// Restore replaces the state directory with the backup, atomically: it
// writes the backup into a new directory beside Dir, checking every file
// against the manifest, makes it durable, and only then swaps it with Dir
// in one rename. Any error before the swap leaves Dir as it was.
func Restore(ctx context.Context, opts RestoreOptions) (*Manifest, error) {
	m, err := ReadManifest(ctx, opts.Source)
	if err != nil {
		return nil, err
	}
	if opts.Worker != "" && m.Worker != opts.Worker {
		return nil, fmt.Errorf("restore: the backup is of Worker %q, not %q", m.Worker, opts.Worker)
	}
	dir := filepath.Clean(opts.Dir)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	old, err := lockState(dir)
	if err != nil {
		return nil, fmt.Errorf("restore: %w: stop it first", err)
	}
	defer unlockState(old)
	if old != nil && !opts.Force {
		if used, err := holdsState(dir); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		} else if used {
			return nil, fmt.Errorf("restore: %s: %w (use --force to replace it)", dir, ErrExists)
		}
	}
	// Directories left by a restore that crashed: before its swap a partial
	// copy, after it the old state.
	leftovers, _ := filepath.Glob(filepath.Join(parent, "."+base+".restore-*"))
	for _, l := range leftovers {
		if err := os.RemoveAll(l); err != nil {
			return nil, fmt.Errorf("restore: remove %s, left by an earlier restore: %w", l, err)
		}
	}

	tmp, err := os.MkdirTemp(parent, "."+base+".restore-")
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	swapped := false
	defer func() {
		if !swapped {
			os.RemoveAll(tmp)
		}
	}()
	dirs := map[string]bool{tmp: true}
	for _, f := range m.Files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		for d := filepath.Dir(dst); d != tmp && !dirs[d]; d = filepath.Dir(d) {
			dirs[d] = true
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if err := fetchFile(ctx, opts.Source, f, dst); err != nil {
			return nil, fmt.Errorf("restore: %s: %w", f.Path, err)
		}
	}
	// The new directory's lock, held until we are done, so no server
	// starts on it before it is complete.
	lock, err := lockState(tmp)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	defer unlockState(lock)
	if err := syncDirs(dirs); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if opts.beforeSwap != nil {
		opts.beforeSwap(tmp)
	}
	if old == nil {
		if err := os.Rename(tmp, dir); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
	} else if err := exchange(tmp, dir); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	swapped = true
	if err := syncDir(parent); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if old != nil {
		// tmp now holds the old state.
		if err := os.RemoveAll(tmp); err != nil {
			return nil, fmt.Errorf("restore: remove the old state (now %s): %w", tmp, err)
		}
	}
	return m, nil
}

// ReadManifest reads and checks the manifest of the backup in t.
func ReadManifest(ctx context.Context, t Target) (*Manifest, error) {
	rc, err := t.Get(ctx, ManifestName)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNoManifest
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", ManifestName, err)
	}
	defer rc.Close()
	return readManifest(rc)
}

// Verify checks every file of the backup in t against its manifest,
// reading each one whole.
func Verify(ctx context.Context, t Target) (*Manifest, error) {
	m, err := ReadManifest(ctx, t)
	if err != nil {
		return nil, err
	}
	for _, f := range m.Files {
		if err := checkFile(ctx, t, f, io.Discard); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Path, err)
		}
	}
	return m, nil
}

// holdsState reports whether dir holds anything but its lock file.
func holdsState(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ents, func(e fs.DirEntry) bool { return e.Name() != lockFileName }), nil
}

// fetchFile copies file f of the backup to dst, checking it, and syncs it.
func fetchFile(ctx context.Context, t Target, f File, dst string) error {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := checkFile(ctx, t, f, out); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// checkFile copies file f of the backup to w and fails with ErrChecksum if
// its size or checksum differs from the manifest's.
func checkFile(ctx context.Context, t Target, f File, w io.Writer) error {
	rc, err := t.Get(ctx, f.Path)
	if errors.Is(err, ErrNotFound) {
		return fmt.Errorf("%w: the file is missing", ErrChecksum)
	} else if err != nil {
		return err
	}
	defer rc.Close()
	h := sha256.New()
	// One byte more than expected, to notice a file that is too long.
	n, err := io.Copy(io.MultiWriter(w, h), io.LimitReader(rc, f.Size+1))
	if err != nil {
		return err
	}
	if n != f.Size {
		return fmt.Errorf("%w: %d bytes, the manifest says %d", ErrChecksum, n, f.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, f.SHA256) {
		return fmt.Errorf("%w: sha256 %s, the manifest says %s", ErrChecksum, sum, f.SHA256)
	}
	return nil
}

// syncDirs fsyncs each directory, deepest first, so every entry is
// durable before the directory holding it.
func syncDirs(dirs map[string]bool) error {
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	slices.SortFunc(list, func(a, b string) int { return len(b) - len(a) })
	for _, d := range list {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs a directory, making the entries in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
