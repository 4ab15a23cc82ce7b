package assets

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// MaxFileSize is the largest asset Cloudflare accepts (25 MiB); a larger
// file is skipped with a warning.
const MaxFileSize = 25 << 20

// inMemoryMax is the largest file kept in memory; larger ones are read from
// disk for each request. memoryBudget bounds the memory all of them take.
const (
	inMemoryMax  = 1 << 20
	memoryBudget = 64 << 20
)

// A file is one asset.
type file struct {
	abs         string // path on disk
	etag        string // hex content hash, without quotes
	contentType string
	size        int64
	data        []byte // the content, if small enough to keep in memory
}

// open returns the file's content.
func (f *file) open() (io.ReadCloser, error) {
	if f.data != nil {
		return io.NopCloser(bytes.NewReader(f.data)), nil
	}
	r, err := os.Open(f.abs)
	if err != nil {
		return nil, fmt.Errorf("asset %s: %w", f.abs, err)
	}
	return r, nil
}

// scan reads dir into a map from URL path ("/a/b.html") to file. The
// special files _headers, _redirects and .assetsignore are not assets, nor
// is what .assetsignore lists. warn is told about skipped files.
func scan(dir string, warn func(string)) (map[string]*file, error) {
	ignore, err := readIgnore(filepath.Join(dir, ".assetsignore"))
	if err != nil {
		return nil, err
	}
	files := make(map[string]*file)
	budget := int64(memoryBudget)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignored(ignore, rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		switch rel {
		case "_headers", "_redirects", ".assetsignore":
			return nil
		}
		fi, err := os.Stat(p) // follows symlinks
		if err != nil {
			return fmt.Errorf("asset %s: %w", p, err)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		if fi.Size() > MaxFileSize {
			warn(fmt.Sprintf("asset %s is larger than %d MiB (Cloudflare's limit); not served", p, MaxFileSize>>20))
			return nil
		}
		f := &file{abs: p, size: fi.Size(), contentType: contentType(rel)}
		keep := fi.Size() <= inMemoryMax && budget >= fi.Size()
		if err := f.hash(keep); err != nil {
			return err
		}
		if keep {
			budget -= fi.Size()
		}
		files["/"+rel] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan assets: %w", err)
	}
	return files, nil
}

// hash computes the file's ETag, keeping its content if keep.
func (f *file) hash(keep bool) error {
	r, err := os.Open(f.abs)
	if err != nil {
		return fmt.Errorf("asset %s: %w", f.abs, err)
	}
	defer r.Close()
	h := sha256.New()
	var w io.Writer = h
	var buf bytes.Buffer
	if keep {
		w = io.MultiWriter(h, &buf)
	}
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("asset %s: %w", f.abs, err)
	}
	// As Cloudflare: the hash covers the content and the extension, so
	// the same bytes under another type get another ETag.
	io.WriteString(h, path.Ext(f.abs))
	f.etag = hex.EncodeToString(h.Sum(nil)[:16])
	if keep {
		f.data = buf.Bytes()
	}
	return nil
}

// readIgnore reads the patterns of an .assetsignore file (gitignore-like:
// one glob a line, # comments); a missing file has none.
func readIgnore(p string) ([]string, error) {
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	var pats []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pats = append(pats, line)
	}
	return pats, sc.Err()
}

// ignored reports whether rel (slash-separated, relative to the asset
// directory) matches one of the patterns: a pattern with a slash matches
// the whole path (a leading slash anchors it), one without matches any
// path element; a trailing slash matches directories only.
func ignored(pats []string, rel string, dir bool) bool {
	for _, p := range pats {
		dirOnly := strings.HasSuffix(p, "/")
		p = strings.TrimSuffix(p, "/")
		if dirOnly && !dir {
			continue
		}
		if strings.Contains(p, "/") {
			if ok, _ := path.Match(strings.TrimPrefix(p, "/"), rel); ok {
				return true
			}
			continue
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok {
			return true
		}
	}
	return false
}

// contentType is the Content-Type Cloudflare gives a file by its name:
// text types carry charset=utf-8; unknown ones are application/octet-stream.
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	t, ok := mimeTypes[ext]
	if !ok {
		t = mime.TypeByExtension(ext)
		if i := strings.IndexByte(t, ';'); i >= 0 {
			t = t[:i]
		}
	}
	if t == "" {
		return "application/octet-stream"
	}
	if strings.HasPrefix(t, "text/") || t == "application/javascript" || t == "application/json" ||
		t == "application/xml" || t == "image/svg+xml" || t == "application/manifest+json" {
		t += "; charset=utf-8"
	}
	return t
}

// mimeTypes fixes the types of common web files, so they do not depend on
// the machine's mime.types.
var mimeTypes = map[string]string{
	".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "application/javascript",
	".mjs": "application/javascript", ".cjs": "application/javascript", ".json": "application/json",
	".map": "application/json", ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
	".xml": "application/xml", ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg",
	".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif",
	".ico": "image/x-icon", ".wasm": "application/wasm", ".woff": "font/woff", ".woff2": "font/woff2",
	".ttf": "font/ttf", ".otf": "font/otf", ".pdf": "application/pdf", ".mp4": "video/mp4",
	".webm": "video/webm", ".mp3": "audio/mpeg", ".webmanifest": "application/manifest+json",
	".wav": "audio/wav", ".zip": "application/zip",
}
