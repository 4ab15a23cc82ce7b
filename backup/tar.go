package backup

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"
)

// TarWriter is a Target that writes the backup as a tar stream (what a
// server's POST /client/v4/cairn/backup answers). Get is not supported.
type TarWriter struct {
	tw *tar.Writer
	// Started, if set, is called before the first file is written (the
	// server sends its response headers then).
	Started func()
	started bool
}

// NewTarWriter returns a TarWriter writing to w.
func NewTarWriter(w io.Writer) *TarWriter { return &TarWriter{tw: tar.NewWriter(w)} }

// Put writes one tar entry.
func (t *TarWriter) Put(ctx context.Context, name string, r io.Reader, size int64) error {
	if !t.started {
		t.started = true
		if t.Started != nil {
			t.Started()
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Now()}
	if err := t.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if n, err := io.Copy(t.tw, io.LimitReader(r, size)); err != nil {
		return err
	} else if n != size {
		return fmt.Errorf("tar %s: %d bytes, expected %d", name, n, size)
	}
	return t.tw.Flush()
}

// Get finds nothing: a tar stream is written, not read.
func (t *TarWriter) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("tar stream: %w", ErrNotFound)
}

// Began reports whether the first file was written.
func (t *TarWriter) Began() bool { return t.started }

// Close ends the tar stream.
func (t *TarWriter) Close() error { return t.tw.Close() }

// ReadTar copies a backup streamed as tar (by TarWriter) into t, checking
// each file against the manifest that ends the stream, and writes the
// manifest into t last. A stream that ends before its manifest fails with
// an error wrapping ErrNoManifest, and leaves t without one.
func ReadTar(ctx context.Context, r io.Reader, t Target) (*Manifest, error) {
	tr := tar.NewReader(r)
	type got struct {
		size int64
		sum  string
	}
	seen := map[string]got{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("backup stream: %w", ErrNoManifest)
		} else if err != nil {
			return nil, fmt.Errorf("backup stream: %w", err)
		}
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if hdr.Name == ManifestName {
			b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
			if err != nil {
				return nil, fmt.Errorf("backup stream: %w", err)
			}
			m, err := readManifest(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
			for _, f := range m.Files {
				g, ok := seen[f.Path]
				if !ok {
					return nil, fmt.Errorf("%s: %w: not in the stream", f.Path, ErrChecksum)
				}
				if g.size != f.Size || g.sum != f.SHA256 {
					return nil, fmt.Errorf("%s: %w", f.Path, ErrChecksum)
				}
			}
			if err := t.Put(ctx, ManifestName, bytes.NewReader(b), int64(len(b))); err != nil {
				return nil, err
			}
			return m, nil
		}
		if err := checkPath(hdr.Name); err != nil {
			return nil, fmt.Errorf("backup stream: %w", err)
		}
		h := sha256.New()
		cr := &countReader{r: io.TeeReader(tr, h)}
		if err := t.Put(ctx, hdr.Name, cr, hdr.Size); err != nil {
			return nil, fmt.Errorf("%s: %w", hdr.Name, err)
		}
		if cr.n != hdr.Size {
			return nil, fmt.Errorf("backup stream: %s: %w", hdr.Name, io.ErrUnexpectedEOF)
		}
		seen[hdr.Name] = got{cr.n, hex.EncodeToString(h.Sum(nil))}
	}
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
