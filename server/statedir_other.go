//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package server

import "os"

// lockFile does nothing where flock is not available: the state directory
// is then not protected against a second server.
func lockFile(f *os.File) error { return nil }
