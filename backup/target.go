package backup

import (
	"context"
	"io"
)

// Target is where backups are written and read: a directory (package
// backup/file), an S3-compatible bucket (backup/s3), or a tar stream
// (TarWriter). Names are slash-separated paths relative to the backup's
// root.
type Target interface {
	// Put stores the size bytes of r under name, replacing any file of
	// that name. A Put that fails may leave a partial file.
	Put(ctx context.Context, name string, r io.Reader, size int64) error
	// Get opens the file name; a missing one gives an error wrapping
	// ErrNotFound.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
}
