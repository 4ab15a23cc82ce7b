//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package backup

import "os"

// tryLock cannot lock here: it reports success, as the server's lock on
// these systems does nothing either.
func tryLock(f *os.File) (bool, error) { return true, nil }
