//go:build !linux

package commit

import "os"

// fdatasync flushes f.
func fdatasync(f *os.File) error { return f.Sync() }
